/* Segmented streams, format 4.0 (spec section 11), C99, integers only, no allocation: the writer of
 * maskcodec.StreamEncoder (maskcodec/modes/mask/stream.py, framing/stream.py) byte for byte, and the strict and
 * salvage readers of maskcodec's read() and salvage(), check for check.
 *
 * Writer: rows arrive in scan order; a row's kept pixels go into the window buffer (the survivors of the window's
 * B rows) and, once the window is whole (its B rows, or the frame's last), travel in stream order (lane by lane,
 * each lane's rows in order) into the segment coder (segment.c), one at a time: the first that does not fit ends the
 * segment, which is framed (head, description where R puts it, body, zero padding, CRC32) and written out.
 *
 * Readers: segments are parsed as maskcodec.framing.stream.parse parses them (head, CRC32, flags, index <= first,
 * the description block and its checks), then the mode's checks of the description (maskcodec's header_of). A pass
 * over the mask's rows counts each row's kept pixels (prefix sums, the check that the mask keeps N pixels); a run's
 * survivors in stream order are then found from those counts (the window holding survivor `first`, then lane by lane)
 * and decoded by the segment coder. Salvage keeps the intact segments found by searching for the sync marker,
 * picks the stream most of them share and decodes its runs in order, dropping overlaps and runs that fail. */
#include <string.h>

#include "../include/maskcodec.h"

#define HEAD MC_STREAM_HEAD
#define CRC 4u
#define FIXED 36u                  /* the fixed fields of the description (spec 4, offsets 0-35) */
#define TAIL 10u                   /* max_error, repeat, lanes, window, L, M: D = 46 + L (+ 32) + M */
#define MIN_SEGMENT 128u
#define MAX_SEGMENT 65535u
#define SIZE_FIELD 2u
#define ALIGN 16u
#define NONE ((size_t)-1)

static const unsigned char sync_marker[4] = {0x89, 'M', 'C', 'L'};
static const unsigned char description_magic[4] = {0x89, 'M', 'C', 'D'};

/* ---- small helpers ---- */

static uint32_t get16(const unsigned char *b)
{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8);
}

static uint32_t get32(const unsigned char *b)
{
    return (uint32_t)b[0] | ((uint32_t)b[1] << 8) | ((uint32_t)b[2] << 16) | ((uint32_t)b[3] << 24);
}

static void put16(unsigned char *b, uint32_t v)
{
    b[0] = (unsigned char)(v & 0xFFu);
    b[1] = (unsigned char)((v >> 8) & 0xFFu);
}

static void put32(unsigned char *b, uint32_t v)
{
    put16(b, v & 0xFFFFu);
    put16(b + 2, v >> 16);
}

static int add_part(uint64_t *at, size_t *off, uint64_t bytes)
{
    *at = (*at + ALIGN - 1u) & ~(uint64_t)(ALIGN - 1u);
    *off = (size_t)*at;
    if (bytes > ((uint64_t)1 << 62)) return 0;
    *at += bytes;
    return *at <= ((uint64_t)1 << 62) && *at <= (uint64_t)(size_t)-1;
}

static unsigned char *aligned(void *ws)
{
    return (unsigned char *)ws + ((ALIGN - (size_t)((uintptr_t)ws % ALIGN)) % ALIGN);
}

/* The transform of a lean stream, fixed by the channel count (segment_coding.transform_for). */
static uint32_t transform_for(uint32_t channels)
{
    return channels == 3 ? 1u : channels == 1 ? 0u : 2u;
}

/* Whether segment k carries the description: segments 0 and 1 and every R-th. */
static int carries(uint32_t k, uint32_t repeat)
{
    return k <= 1u || k % repeat == 0u;
}

/* The most bytes one survivor's body takes (segment_coding.least_size). */
static uint32_t least_size(uint32_t channels, uint32_t bits)
{
    return SIZE_FIELD + 5u + (uint32_t)(((uint64_t)channels * (bits + 5u) + 7u) / 8u);
}

const char *mc_stream_error_class(int err)
{
    switch (err) {
    case MC_ERR_FILE_TRUNCATED: return "TruncatedError";
    case MC_ERR_CHECKSUM: return "ChecksumError";
    case MC_ERR_VERSION: return "UnsupportedVersionError";
    case MC_ERR_LIMIT: return "LimitExceededError";
    case MC_ERR_FORMAT: case MC_ERR_BODY: case MC_ERR_PAYLOAD_SIZE: case MC_ERR_PADDING: case MC_ERR_SHORT:
    case MC_ERR_INTERVAL: case MC_ERR_TRUNCATED: case MC_ERR_RESIDUAL: case MC_ERR_TRAILING: return "FormatError";
    default: return NULL;
    }
}

/* ==================================================================================================== writer */

struct mc_stream_encoder {
    uint32_t h, w, c, bits, maxval, kind, seed, threshold, sample_format;
    uint32_t size, repeat, lanes, window;
    uint32_t survivors, stream_id, index, first;
    uint32_t desc_size;
    const uint16_t *ranks;
    const void *mask_ws;
    unsigned char *desc, *seg;
    uint32_t *cols;
    /* the window: its rows' kept columns and values, row r's survivors at row_start[r] .. row_start[r + 1] - 1 */
    uint32_t *wx, *row_start;
    uint16_t *wv;
    size_t wcap, wn;
    uint32_t win_y0, win_rows;
    int win_whole;
    uint32_t cur_lane, cur_row;    /* the push cursor in stream order: lane, row of the window, survivor */
    size_t cur_i;
    uint32_t next_row;
    mc_segment_coder *coder;
    uint32_t seg_desc;             /* description bytes of the open segment */
    int open, ready, ended;
};

typedef struct {
    size_t enc, desc, seg, cols, mask_ws, wx, wv, row_start, coder, total;
    size_t coder_size, most;
} writer_layout;

static int ascii(const unsigned char *b, uint32_t n)
{
    uint32_t i;
    for (i = 0; i < n; i++)
        if (b[i] > 0x7Fu) return 0;
    return 1;
}

/* The reference encoder's checks (check_frame with the default limits, bits, max_error, segment size, the
 * description's fields); the description's size into *d. */
static int check_params(const mc_stream_params *p, uint32_t *d)
{
    uint64_t pixels;
    if (!p || p->height == 0 || p->width == 0 || p->height > 65536u || p->width > 65536u) return MC_ERR_ARG;
    if (p->channels < 1 || p->channels > 1024u || p->channel_axis > 1u || (p->channels > 1 && !p->channel_axis))
        return MC_ERR_ARG;
    pixels = (uint64_t)p->height * p->width;
    if (pixels * p->channels > ((uint64_t)1 << 28)) return MC_ERR_ARG;
    if (p->sample_format < 1 || p->sample_format > 2 || p->bits < 1 || p->bits > 8u * p->sample_format)
        return MC_ERR_ARG;
    if (p->mask_kind > 1 || p->max_error > (1u << (p->bits - 1)) - 1u) return MC_ERR_ARG;
    if (p->segment_size < MIN_SEGMENT || p->segment_size > MAX_SEGMENT) return MC_ERR_ARG;
    if (p->repeat < 1 || p->repeat > 65535u || p->lanes < 1 || p->lanes > 255u || p->window < p->lanes
        || p->window > 65535u) return MC_ERR_ARG;
    if (p->model_id_length > 64u || (p->model_id_length && (!p->model_id || !p->model_sha256
                                                            || !ascii(p->model_id, p->model_id_length))))
        return MC_ERR_ARG;
    if (p->metadata_length > 65535u || (p->metadata_length && !p->metadata)) return MC_ERR_ARG;
    if (p->metadata_length && mc_metadata_check(p->metadata, p->metadata_length) != MC_OK) return MC_ERR_ARG;
    *d = FIXED + TAIL + p->model_id_length + (p->model_id_length ? 32u : 0u) + p->metadata_length;
    if (p->segment_size < HEAD + *d + CRC + least_size(p->channels, p->bits)) return MC_ERR_ARG;
    return MC_OK;
}

/* The frame's survivors and the most in any window, from the mask's keys. */
static int survey(const mc_stream_params *p, const uint16_t *ranks, uint32_t *n, size_t *most)
{
    uint64_t total = 0, win = 0, top = 0;
    uint32_t y, x;
    if (p->mask_kind == MC_MASK_BLUENOISE && mc_ranks_check(ranks) != MC_OK) return MC_ERR_RANKS;
    for (y = 0; y < p->height; y++) {
        for (x = 0; x < p->width; x++)
            win += mc_mask_key((int)p->mask_kind, y, x, p->width, p->seed, ranks) <= p->threshold;
        if ((y + 1u) % p->window == 0u || y + 1u == p->height) {
            total += win;
            top = win > top ? win : top;
            win = 0;
        }
    }
    *n = (uint32_t)total;  /* below 2^28 */
    *most = (size_t)top;
    return MC_OK;
}

static mc_segment_params segment_params(uint32_t width, uint32_t channels, uint32_t bits, uint32_t transform,
                                        uint32_t max_error, uint32_t lanes, uint32_t window)
{
    mc_segment_params sp;
    sp.width = width;
    sp.channels = channels;
    sp.bits = bits;
    sp.transform = transform;
    sp.max_error = max_error;
    sp.lanes = lanes;
    sp.window = window;
    return sp;
}

static int writer_layout_of(const mc_stream_params *p, const uint16_t *ranks, writer_layout *L, uint32_t *n,
                            uint32_t *d)
{
    uint64_t at = 0, c;
    size_t most, max_n;
    mc_segment_params sp;
    int ok = 1, err;
    if ((err = check_params(p, d)) != MC_OK) return err;
    if ((err = survey(p, ranks, n, &most)) != MC_OK) return err;
    L->most = most;
    c = p->channels;
    max_n = *n < MC_SEGMENT_MAX_RUN ? *n : MC_SEGMENT_MAX_RUN;
    sp = segment_params(p->width, p->channels, p->bits, transform_for(p->channels), p->max_error, p->lanes, p->window);
    L->coder_size = mc_segment_workspace_size(&sp, max_n);
    if (!L->coder_size) return MC_ERR_ARG;
    ok &= add_part(&at, &L->enc, sizeof(struct mc_stream_encoder));
    ok &= add_part(&at, &L->desc, *d);
    ok &= add_part(&at, &L->seg, p->segment_size);
    ok &= add_part(&at, &L->cols, (uint64_t)p->width * 4u);
    ok &= add_part(&at, &L->mask_ws, mc_mask_workspace_size((int)p->mask_kind));
    ok &= add_part(&at, &L->wx, (uint64_t)most * 4u);
    ok &= add_part(&at, &L->wv, (uint64_t)most * c * 2u);
    ok &= add_part(&at, &L->row_start, ((uint64_t)p->window + 1u) * 4u);
    ok &= add_part(&at, &L->coder, L->coder_size);
    ok &= add_part(&at, &L->total, ALIGN);
    if (!ok) return MC_ERR_ARG;
    L->total = (size_t)at;
    return MC_OK;
}

size_t mc_stream_workspace_size(const mc_stream_params *p, const uint16_t *ranks)
{
    writer_layout L;
    uint32_t n, d;
    return writer_layout_of(p, ranks, &L, &n, &d) == MC_OK ? L.total : 0;
}

/* The description block (spec 11.2) of the frame p with n survivors. */
static void build_description(const mc_stream_params *p, uint32_t n, unsigned char *b)
{
    uint32_t at;
    memcpy(b, description_magic, 4);
    b[4] = 4;
    b[5] = 0;
    put16(b + 6, p->channel_axis ? 1u : 0u);
    b[8] = 0;  /* mask mode */
    b[9] = (unsigned char)p->sample_format;
    b[10] = (unsigned char)p->bits;
    b[11] = (unsigned char)transform_for(p->channels);
    put16(b + 12, p->channels);
    b[14] = (unsigned char)p->mask_kind;
    b[15] = 0;
    put32(b + 16, p->height);
    put32(b + 20, p->width);
    put32(b + 24, p->seed);
    put32(b + 28, p->threshold);
    put32(b + 32, n);
    put16(b + 36, p->max_error);
    put16(b + 38, p->repeat);
    b[40] = (unsigned char)p->lanes;
    put16(b + 41, p->window);
    b[43] = (unsigned char)p->model_id_length;
    at = 44;
    if (p->model_id_length) {
        memcpy(b + at, p->model_id, p->model_id_length);
        at += p->model_id_length;
        memcpy(b + at, p->model_sha256, 32);
        at += 32;
    }
    put16(b + at, p->metadata_length);
    if (p->metadata_length) memcpy(b + at + 2, p->metadata, p->metadata_length);
}

int mc_stream_init(const mc_stream_params *p, const uint16_t *ranks, void *ws, size_t ws_size,
                   mc_stream_encoder **enc)
{
    writer_layout L;
    mc_stream_encoder *s;
    mc_segment_params sp;
    unsigned char *base;
    uint32_t n, d;
    int err;
    if (!enc) return MC_ERR_ARG;
    *enc = NULL;
    if ((err = writer_layout_of(p, ranks, &L, &n, &d)) != MC_OK) return err;
    if (!ws || ws_size < L.total) return MC_ERR_ARG;
    base = aligned(ws);
    s = (mc_stream_encoder *)(void *)(base + L.enc);
    memset(s, 0, sizeof *s);
    s->h = p->height;
    s->w = p->width;
    s->c = p->channels;
    s->bits = p->bits;
    s->maxval = (1u << p->bits) - 1u;
    s->kind = p->mask_kind;
    s->seed = p->seed;
    s->threshold = p->threshold;
    s->sample_format = p->sample_format;
    s->size = p->segment_size;
    s->repeat = p->repeat;
    s->lanes = p->lanes;
    s->window = p->window;
    s->survivors = n;
    s->desc_size = d;
    s->ranks = ranks;
    s->desc = base + L.desc;
    s->seg = base + L.seg;
    s->cols = (uint32_t *)(void *)(base + L.cols);
    s->mask_ws = base + L.mask_ws;
    s->wx = (uint32_t *)(void *)(base + L.wx);
    s->wv = (uint16_t *)(void *)(base + L.wv);
    s->row_start = (uint32_t *)(void *)(base + L.row_start);
    s->wcap = L.most;  /* the fullest window's survivors */
    if ((err = mc_mask_workspace_init((int)p->mask_kind, ranks, base + L.mask_ws,
                                      mc_mask_workspace_size((int)p->mask_kind))) != MC_OK) return err;
    sp = segment_params(p->width, p->channels, p->bits, transform_for(p->channels), p->max_error, p->lanes, p->window);
    s->coder = mc_segment_init(&sp, n < MC_SEGMENT_MAX_RUN ? n : MC_SEGMENT_MAX_RUN, base + L.coder, L.coder_size);
    if (!s->coder) return MC_ERR_ARG;
    build_description(p, n, s->desc);
    s->stream_id = mc_crc32(s->desc, d);
    s->row_start[0] = 0;
    *enc = s;
    return MC_OK;
}

uint32_t mc_stream_survivors(const mc_stream_encoder *enc)
{
    return enc ? enc->survivors : 0;
}

uint32_t mc_stream_segments(const mc_stream_encoder *enc)
{
    return enc ? enc->index : 0;
}

static int segment_begin(mc_stream_encoder *s)
{
    s->seg_desc = carries(s->index, s->repeat) ? s->desc_size : 0u;
    s->open = 1;
    return mc_segment_begin(s->coder, s->seg + HEAD + s->seg_desc, s->size - HEAD - CRC - s->seg_desc);
}

/* Frames the open segment: head, description, body, zero padding, CRC32. */
static int segment_finish(mc_stream_encoder *s)
{
    size_t body_len, count, end;
    unsigned char *b = s->seg;
    int err;
    if ((err = mc_segment_end(s->coder, &body_len)) != MC_OK) return err;
    count = mc_segment_count(s->coder);
    memcpy(b, sync_marker, 4);
    b[4] = 4;
    b[5] = 0;
    b[6] = s->seg_desc ? 1u : 0u;
    put16(b + 7, s->size);
    put32(b + 9, s->stream_id);
    put32(b + 13, s->index);
    put32(b + 17, s->first);
    put16(b + 21, (uint32_t)count);
    if (s->seg_desc) memcpy(b + HEAD, s->desc, s->seg_desc);
    end = HEAD + s->seg_desc + body_len;
    memset(b + end, 0, s->size - CRC - end);
    put32(b + s->size - CRC, mc_crc32(b, s->size - CRC));
    s->index++;
    s->first += (uint32_t)count;
    s->open = 0;
    s->ready = 1;
    return MC_OK;
}

/* The survivor at the push cursor (1), or 0 when the window's are all pushed. */
static int cursor_at(mc_stream_encoder *s, size_t *i, uint32_t *y)
{
    while (s->cur_lane < s->lanes) {
        if (s->cur_row >= s->win_rows) {
            s->cur_lane++;
            s->cur_row = s->cur_lane;
            if (s->cur_row < s->win_rows) s->cur_i = s->row_start[s->cur_row];
            continue;
        }
        if (s->cur_i < s->row_start[s->cur_row + 1u]) {
            *i = s->cur_i;
            *y = s->win_y0 + s->cur_row;
            return 1;
        }
        s->cur_row += s->lanes;
        if (s->cur_row < s->win_rows) s->cur_i = s->row_start[s->cur_row];
    }
    return 0;
}

/* Moves the ready segment out and pushes the whole window's survivors, deciding segments; MC_ERR_OUTPUT when a
 * segment is ready and out has no room for it. */
static int pump(mc_stream_encoder *s, unsigned char *out, size_t cap, size_t *written)
{
    for (;;) {
        size_t i;
        uint32_t y;
        int r;
        if (s->ready) {
            if (cap - *written < s->size) return MC_ERR_OUTPUT;
            memcpy(out + *written, s->seg, s->size);
            *written += s->size;
            s->ready = 0;
        }
        if (!s->win_whole) return MC_OK;
        if (!cursor_at(s, &i, &y)) {  /* the window is done: the next one starts empty */
            s->win_whole = 0;
            s->win_y0 += s->win_rows;
            s->win_rows = 0;
            s->wn = 0;
            return MC_OK;
        }
        if (!s->open && (r = segment_begin(s)) != MC_OK) return r;
        r = mc_segment_push(s->coder, y, s->wx[i], s->wv + i * s->c);
        if (r == MC_OK) s->cur_i++;
        else if (r == MC_SEGMENT_FULL) {
            if (mc_segment_count(s->coder) == 0) return MC_ERR_ARG;  /* cannot happen: S holds one survivor */
            if ((r = segment_finish(s)) != MC_OK) return r;
        } else return r;
    }
}

/* Takes row y's kept pixels into the window. */
static int take_row(mc_stream_encoder *s, const void *rows, uint32_t r)
{
    const size_t samples = (size_t)s->w * s->c;
    const unsigned char *b8 = s->sample_format == 1 ? (const unsigned char *)rows + (size_t)r * samples : NULL;
    const uint16_t *b16 = s->sample_format == 2 ? (const uint16_t *)rows + (size_t)r * samples : NULL;
    uint32_t y = s->next_row, ch;
    size_t k, n, j;
    if (y >= s->h) return MC_ERR_ARG;
    for (k = 0; k < samples; k++)
        if ((b8 ? b8[k] : b16[k]) > s->maxval) return MC_ERR_ARG;
    n = mc_mask_row_ws((int)s->kind, y, s->w, s->threshold, s->seed, s->ranks, s->mask_ws, s->cols);
    if (n == MC_MASK_ERROR || s->wn + n > s->wcap) return MC_ERR_ARG;
    for (j = 0; j < n; j++) {
        size_t at = (size_t)s->cols[j] * s->c, to = (s->wn + j) * s->c;
        s->wx[s->wn + j] = s->cols[j];
        for (ch = 0; ch < s->c; ch++) s->wv[to + ch] = b8 ? b8[at + ch] : b16[at + ch];
    }
    s->wn += n;
    s->win_rows++;
    s->row_start[s->win_rows] = (uint32_t)s->wn;
    s->next_row++;
    if (s->win_rows == s->window || s->next_row == s->h) {  /* whole: push it in stream order */
        s->win_whole = 1;
        s->cur_lane = 0;
        s->cur_row = 0;
        s->cur_i = 0;
    }
    return MC_OK;
}

int mc_stream_write(mc_stream_encoder *s, const void *rows, uint32_t nrows, unsigned char *out, size_t cap,
                    size_t *written, uint32_t *rows_used)
{
    uint32_t used = 0;
    int err;
    if (!s || !written || !rows_used || (!rows && nrows) || (!out && cap) || s->ended) return MC_ERR_ARG;
    *written = 0;
    *rows_used = 0;
    for (;;) {
        if ((err = pump(s, out, cap, written)) != MC_OK) return err;  /* returns with no window whole */
        if (used == nrows) return MC_OK;
        if ((err = take_row(s, rows, used)) != MC_OK) return err;
        *rows_used = ++used;
    }
}

int mc_stream_end(mc_stream_encoder *s, unsigned char *out, size_t cap, size_t *written)
{
    int err;
    if (!s || !written || (!out && cap)) return MC_ERR_ARG;
    *written = 0;
    if (s->next_row != s->h) return MC_ERR_ARG;
    while (s->win_whole)
        if ((err = pump(s, out, cap, written)) != MC_OK) return err;
    if (!s->ended) {
        if (s->open || s->index == 0) {  /* the last run; an image without kept pixels: one segment of none */
            if (!s->open && (err = segment_begin(s)) != MC_OK) return err;
            if ((err = segment_finish(s)) != MC_OK) return err;
        }
        s->ended = 1;
    }
    return pump(s, out, cap, written);
}

/* ==================================================================================================== readers */

typedef struct {
    size_t start;                   /* the segment is data[start .. start + size) */
    uint32_t size, stream_id, index, first, count, has_desc, desc_size;
} seg_view;

static void default_limits(const mc_limits *limits, mc_limits *own)
{
    if (limits) *own = *limits;
    else mc_limits_default(own);
}

/* The description block at data[pos .. end) (framing.parse_description): fixed fields (magic, version, mode, the
 * image checks of section 8 check 5), the tail, repeat, lanes and window, the metadata's size. */
static int parse_description(const unsigned char *data, size_t pos, size_t end, const mc_limits *L,
                             mc_stream_info *d)
{
    const unsigned char *b = data + pos;
    uint64_t hw, need;
    uint32_t flags, sf, bits, h, w, c, lmodel, m;
    size_t rest;
    if (end - pos < FIXED) return MC_ERR_FORMAT;
    if (memcmp(b, description_magic, 4) != 0) return MC_ERR_FORMAT;
    if (b[4] != 4) return MC_ERR_VERSION;
    if (b[8] != 0) return MC_ERR_VERSION;  /* mask mode only */
    flags = get16(b + 6);
    sf = b[9];
    bits = b[10];
    c = get16(b + 12);
    h = get32(b + 16);
    w = get32(b + 20);
    if ((flags & ~1u) || b[15] != 0) return MC_ERR_FORMAT;
    if (sf < 1 || sf > 2) return MC_ERR_FORMAT;
    if (bits < 1 || bits > 8u * sf) return MC_ERR_FORMAT;
    if (h == 0 || w == 0 || c == 0) return MC_ERR_FORMAT;
    if (c > 1 && !(flags & 1u)) return MC_ERR_FORMAT;
    if (h > L->max_side || w > L->max_side) return MC_ERR_LIMIT;
    hw = (uint64_t)h * w;
    if (hw > L->max_pixels) return MC_ERR_LIMIT;
    if (c > L->max_channels) return MC_ERR_LIMIT;
    if (hw > UINT64_MAX / c || hw * c > L->max_samples) return MC_ERR_LIMIT;
    if (hw >= ((uint64_t)1 << 32)) return MC_ERR_FORMAT;
    /* the tail: max_error, repeat, lanes, window, the model id (ASCII) and its hash, the metadata */
    rest = end - pos - FIXED;
    if (rest < 8) return MC_ERR_FORMAT;
    lmodel = b[FIXED + 7];
    need = 8u + (uint64_t)lmodel;
    if (rest < need || !ascii(b + FIXED + 8, lmodel)) return MC_ERR_FORMAT;
    if (lmodel) need += 32u;
    if (rest < need + 2u) return MC_ERR_FORMAT;
    m = get16(b + FIXED + need);
    if (rest < need + 2u + m) return MC_ERR_FORMAT;
    d->max_error = get16(b + FIXED);
    d->repeat = get16(b + FIXED + 2);
    d->lanes = b[FIXED + 4];
    d->window = get16(b + FIXED + 5);
    if (d->repeat == 0) return MC_ERR_FORMAT;
    if (d->lanes == 0 || d->window < d->lanes) return MC_ERR_FORMAT;
    if (m > L->max_metadata) return MC_ERR_LIMIT;
    d->version_minor = b[5];
    d->flags = flags;
    d->sample_format = sf;
    d->bits = bits;
    d->transform = b[11];
    d->channels = c;
    d->mask_kind = b[14];
    d->height = h;
    d->width = w;
    d->seed = get32(b + 24);
    d->threshold = get32(b + 28);
    d->survivors = get32(b + 32);
    d->model_id_length = lmodel;
    d->model_id = b + FIXED + 8;
    d->model_sha256 = lmodel ? b + FIXED + 8 + lmodel : NULL;
    d->metadata_length = m;
    d->metadata = b + FIXED + need + 2u;
    d->description = b;
    d->description_size = (uint32_t)(FIXED + need + 2u + m);
    return MC_OK;
}

/* The mode's checks of a description (stream.header_of): mask kind, transform, N <= H W, max_error, metadata. */
static int mode_check(const mc_stream_info *d)
{
    if (d->mask_kind > 1) return MC_ERR_VERSION;
    if (d->transform > 2 || (d->transform == 1 && d->channels != 3) || (d->transform == 2 && d->channels < 2))
        return MC_ERR_FORMAT;
    if ((uint64_t)d->survivors > (uint64_t)d->height * d->width) return MC_ERR_FORMAT;
    if (d->max_error > (1u << (d->bits - 1)) - 1u) return MC_ERR_FORMAT;
    if (mc_metadata_check(d->metadata, d->metadata_length) != MC_OK) return MC_ERR_FORMAT;
    return MC_OK;
}

/* The segment at data[pos..] (framing.parse): head, size, CRC32, reserved flags, index <= first, the description it
 * carries (into *d) and its stream id. */
static int parse_segment(const unsigned char *data, size_t len, size_t pos, const mc_limits *L, seg_view *s,
                         mc_stream_info *d)
{
    const unsigned char *b = data + pos;
    uint32_t size;
    int err;
    if (len - pos < HEAD) return MC_ERR_FILE_TRUNCATED;
    if (memcmp(b, sync_marker, 4) != 0) return MC_ERR_FORMAT;
    if (b[4] != 4) return MC_ERR_VERSION;
    size = get16(b + 7);
    if (size < HEAD + CRC) return MC_ERR_FORMAT;
    if (len - pos < size) return MC_ERR_FILE_TRUNCATED;
    if (mc_crc32(b, size - CRC) != get32(b + size - CRC)) return MC_ERR_CHECKSUM;
    if (b[6] & ~1u) return MC_ERR_FORMAT;
    s->start = pos;
    s->size = size;
    s->stream_id = get32(b + 9);
    s->index = get32(b + 13);
    s->first = get32(b + 17);
    s->count = get16(b + 21);
    if (s->index > s->first) return MC_ERR_FORMAT;
    s->has_desc = b[6] & 1u;
    s->desc_size = 0;
    if (s->has_desc) {
        if ((err = parse_description(data, pos + HEAD, pos + size - CRC, L, d)) != MC_OK) return err;
        if (mc_crc32(d->description, d->description_size) != s->stream_id) return MC_ERR_FORMAT;
        d->stream_id = s->stream_id;
        d->segment_size = size;
        s->desc_size = d->description_size;
    }
    return MC_OK;
}

int mc_stream_describe(const unsigned char *data, size_t len, const mc_limits *limits, mc_stream_info *info)
{
    mc_limits L;
    seg_view s;
    int err;
    if ((!data && len) || !info) return MC_ERR_ARG;
    default_limits(limits, &L);
    memset(info, 0, sizeof *info);
    if ((err = parse_segment(data, len, 0, &L, &s, info)) != MC_OK) return err;
    if (!s.has_desc) return MC_ERR_FORMAT;
    return mode_check(info);
}

/* ---- the survivors of a run: positions in stream order from each row's count ---- */

typedef struct {
    size_t prefix, cols, mask_ws, run_idx, run_scan, run_vals, coder, total;
    size_t coder_size, max_n;
} reader_layout;

static int reader_layout_of(const mc_stream_info *d, uint64_t *at, reader_layout *L)
{
    mc_segment_params sp;
    int ok = 1;
    if (!d || d->height == 0 || d->width == 0) return 0;
    L->max_n = d->survivors < MC_SEGMENT_MAX_RUN ? d->survivors : MC_SEGMENT_MAX_RUN;
    sp = segment_params(d->width, d->channels, d->bits, d->transform, d->max_error, d->lanes, d->window);
    L->coder_size = mc_segment_workspace_size(&sp, L->max_n);
    if (!L->coder_size || d->mask_kind > 1) return 0;
    ok &= add_part(at, &L->prefix, ((uint64_t)d->height + 1u) * 4u);
    ok &= add_part(at, &L->cols, (uint64_t)d->width * 4u);
    ok &= add_part(at, &L->mask_ws, mc_mask_workspace_size((int)d->mask_kind));
    ok &= add_part(at, &L->run_idx, (uint64_t)L->max_n * 4u);
    ok &= add_part(at, &L->run_scan, (uint64_t)L->max_n * 4u);
    ok &= add_part(at, &L->run_vals, (uint64_t)L->max_n * d->channels * 2u);
    ok &= add_part(at, &L->coder, L->coder_size);
    return ok;
}

size_t mc_stream_read_workspace_size(const mc_stream_info *info)
{
    reader_layout L;
    uint64_t at = 0;
    if (!reader_layout_of(info, &at, &L) || !add_part(&at, &L.total, ALIGN)) return 0;
    return (size_t)at;
}

typedef struct {
    const mc_stream_info *d;
    const uint16_t *ranks;
    const void *mask_ws;
    uint32_t *prefix, *cols, *run_idx, *run_scan;
    uint16_t *run_vals;
    mc_segment_coder *coder;
    /* the walk: window, lane, row, the row's kept columns, the survivor's place in them */
    uint32_t win, lane, y, ncols, i;
} reader;

/* The reader's parts in ws (from `base`, mc_stream_read_workspace_size's layout), the mask's counts per row
 * (prefix[y] = survivors in rows above y) and the check that the mask keeps N pixels. */
static int reader_start(reader *r, const mc_stream_info *d, const uint16_t *ranks, unsigned char *base, uint64_t at)
{
    reader_layout L;
    uint32_t y;
    uint64_t total = 0;
    int err;
    if (!reader_layout_of(d, &at, &L)) return MC_ERR_ARG;
    r->d = d;
    r->ranks = ranks;
    r->prefix = (uint32_t *)(void *)(base + L.prefix);
    r->cols = (uint32_t *)(void *)(base + L.cols);
    r->mask_ws = base + L.mask_ws;
    r->run_idx = (uint32_t *)(void *)(base + L.run_idx);
    r->run_scan = (uint32_t *)(void *)(base + L.run_scan);
    r->run_vals = (uint16_t *)(void *)(base + L.run_vals);
    if ((err = mc_mask_workspace_init((int)d->mask_kind, ranks, base + L.mask_ws,
                                      mc_mask_workspace_size((int)d->mask_kind))) != MC_OK) return err;
    {
        mc_segment_params sp = segment_params(d->width, d->channels, d->bits, d->transform, d->max_error, d->lanes,
                                              d->window);
        r->coder = mc_segment_init(&sp, L.max_n, base + L.coder, L.coder_size);
        if (!r->coder) return MC_ERR_ARG;
    }
    for (y = 0; y < d->height; y++) {
        size_t n = mc_mask_row_ws((int)d->mask_kind, y, d->width, d->threshold, d->seed, ranks, r->mask_ws, r->cols);
        if (n == MC_MASK_ERROR) return MC_ERR_ARG;
        r->prefix[y] = (uint32_t)total;
        total += n;
    }
    r->prefix[d->height] = (uint32_t)total;
    if (total != d->survivors) return MC_ERR_FORMAT;  /* section 8 check 11 */
    return MC_OK;
}

static uint32_t row_count(const reader *r, uint32_t y)
{
    return r->prefix[y + 1u] - r->prefix[y];
}

static uint32_t window_end(const reader *r)
{
    uint64_t end = ((uint64_t)r->win + 1u) * r->d->window;
    return end < r->d->height ? (uint32_t)end : r->d->height;
}

static void load_row(reader *r)
{
    r->ncols = (uint32_t)mc_mask_row_ws((int)r->d->mask_kind, r->y, r->d->width, r->d->threshold, r->d->seed,
                                        r->ranks, r->mask_ws, r->cols);
}

/* Puts the walk at survivor t (< N) of the stream order. */
static void seek(reader *r, uint32_t t)
{
    const uint32_t B = r->d->window, G = r->d->lanes, H = r->d->height;
    uint32_t lo = 0, hi = (uint32_t)(((uint64_t)H + B - 1u) / B) - 1u, acc;
    while (lo < hi) {  /* the last window whose first survivor is at most t */
        uint32_t mid = lo + (hi - lo + 1u) / 2u;
        if (r->prefix[(uint64_t)mid * B] <= t) lo = mid;
        else hi = mid - 1u;
    }
    r->win = lo;
    acc = r->prefix[(uint64_t)lo * B];
    for (r->lane = 0; r->lane < G; r->lane++)
        for (r->y = lo * B + r->lane; r->y < window_end(r); r->y += G) {
            uint32_t n = row_count(r, r->y);
            if (t < acc + n) {
                load_row(r);
                r->i = t - acc;
                return;
            }
            acc += n;
        }
}

/* The next survivor of the stream order (there is one). */
static void advance(reader *r)
{
    const uint32_t G = r->d->lanes, B = r->d->window;
    if (++r->i < r->ncols) return;
    r->i = 0;
    for (;;) {
        if ((uint64_t)r->y + G < window_end(r)) r->y += G;
        else {  /* the lane's rows are done: the next lane's first row, or the next window's */
            if (++r->lane >= G) {
                r->lane = 0;
                r->win++;
                if ((uint64_t)r->win * B >= r->d->height) return;  /* past the last survivor: not asked for */
            }
            r->y = r->win * B + r->lane;
            if (r->y >= window_end(r)) continue;  /* a lane without rows in a short last window */
        }
        if (row_count(r, r->y)) break;
    }
    load_row(r);
}

/* Decodes the run of segment s (body of body_len bytes) into idx, values (scan order) and known. */
static int decode_run(reader *r, const unsigned char *body, size_t body_len, uint32_t first, uint32_t count,
                      uint32_t *idx, uint16_t *values, unsigned char *known)
{
    const uint32_t c = r->d->channels, w = r->d->width;
    uint32_t j, ch;
    int err;
    if (count) seek(r, first);
    for (j = 0; j < count; j++) {
        if (j) advance(r);
        r->run_idx[j] = r->y * w + r->cols[r->i];
        r->run_scan[j] = r->prefix[r->y] + r->i;
    }
    if ((err = mc_segment_decode(r->coder, body, body_len, r->run_idx, count, r->run_vals)) != MC_OK) return err;
    for (j = 0; j < count; j++) {
        uint32_t at = r->run_scan[j];
        idx[at] = r->run_idx[j];
        for (ch = 0; ch < c; ch++) values[(size_t)at * c + ch] = r->run_vals[(size_t)j * c + ch];
        if (known) known[at] = 1;
    }
    return MC_OK;
}

/* ---- strict decoding (spec 11.4; framing.read_all, stream.read) ---- */

int mc_stream_read(const unsigned char *data, size_t len, const mc_limits *limits, const uint16_t *ranks, void *ws,
                   size_t ws_size, mc_stream_info *info, uint32_t *idx, uint16_t *values)
{
    mc_limits L;
    mc_stream_info other;
    const mc_stream_info *copy = info;  /* the description of segment k (segment 0's: info itself) */
    seg_view s;
    reader r;
    uint32_t held = 0, total, size, k, segments;
    size_t end;
    int err;
    if ((!data && len) || !info || !ws) return MC_ERR_ARG;
    default_limits(limits, &L);
    memset(info, 0, sizeof *info);
    if ((err = parse_segment(data, len, 0, &L, &s, info)) != MC_OK) return err;
    if (!s.has_desc) return MC_ERR_FORMAT;
    if ((err = mode_check(info)) != MC_OK) return err;
    if (ws_size < mc_stream_read_workspace_size(info) || !mc_stream_read_workspace_size(info)
        || (info->survivors && (!idx || !values))) return MC_ERR_ARG;
    total = info->survivors;
    size = s.size;
    for (k = 0;; k++) {  /* the framing of every segment, in order */
        if (s.index != k) return MC_ERR_FORMAT;
        if (s.stream_id != info->stream_id || s.size != size) return MC_ERR_FORMAT;
        if ((int)s.has_desc != carries(s.index, info->repeat)) return MC_ERR_FORMAT;
        if (s.has_desc && (copy->description_size != info->description_size
                           || memcmp(copy->description, info->description, info->description_size) != 0))
            return MC_ERR_FORMAT;
        if (s.first != held) return MC_ERR_FORMAT;
        if (s.count == 0 && total != 0) return MC_ERR_FORMAT;
        if ((uint64_t)held + s.count > total) return MC_ERR_FORMAT;
        held += s.count;
        end = s.start + s.size;
        if (held == total) {
            if (end != len) return MC_ERR_FORMAT;
            break;
        }
        if (end == len) return MC_ERR_FILE_TRUNCATED;
        if ((err = parse_segment(data, len, end, &L, &s, &other)) != MC_OK) return err;
        copy = &other;
    }
    segments = k + 1u;
    if ((err = reader_start(&r, info, ranks, aligned(ws), 0)) != MC_OK) return err;
    for (k = 0; k < segments; k++) {  /* the bodies */
        size_t pos = (size_t)k * size, body;
        if ((err = parse_segment(data, len, pos, &L, &s, &other)) != MC_OK) return err;  /* passed above */
        body = pos + HEAD + s.desc_size;
        err = decode_run(&r, data + body, pos + s.size - CRC - body, s.first, s.count, idx, values, NULL);
        if (err != MC_OK) return err;
    }
    return MC_OK;
}

/* ---- salvage decoding (spec 11.5; framing.intact, framing.scan, stream.salvage) ---- */

typedef struct {
    uint64_t start;
    uint32_t size, stream_id, index, first, count, has_desc;
} found_seg;

typedef struct {
    size_t found, order, tmp, used, total;
    size_t cap;
} scan_layout;

static int scan_layout_of(size_t len, uint64_t *at, scan_layout *S)
{
    int ok = 1;
    S->cap = len / (HEAD + CRC) + 1u;  /* intact segments do not overlap */
    ok &= add_part(at, &S->found, (uint64_t)S->cap * sizeof(found_seg));
    ok &= add_part(at, &S->order, (uint64_t)S->cap * 4u);
    ok &= add_part(at, &S->tmp, (uint64_t)S->cap * 4u);
    ok &= add_part(at, &S->used, (uint64_t)S->cap * 4u);
    return ok;
}

size_t mc_stream_scan_workspace_size(size_t len)
{
    scan_layout S;
    uint64_t at = 0;
    if (!scan_layout_of(len, &at, &S) || !add_part(&at, &S.total, ALIGN)) return 0;
    return (size_t)at;
}

size_t mc_stream_salvage_workspace_size(size_t len, const mc_stream_info *info)
{
    scan_layout S;
    reader_layout R;
    uint64_t at = 0;
    if (!scan_layout_of(len, &at, &S) || !reader_layout_of(info, &at, &R) || !add_part(&at, &R.total, ALIGN))
        return 0;
    return (size_t)at;
}

/* The next sync marker at or after pos, or NONE. */
static size_t find_sync(const unsigned char *data, size_t len, size_t pos)
{
    while (pos < len && len - pos >= 4) {
        const unsigned char *hit = memchr(data + pos, sync_marker[0], len - pos - 3u);
        if (!hit) return NONE;
        pos = (size_t)(hit - data);
        if (memcmp(hit, sync_marker, 4) == 0) return pos;
        pos++;
    }
    return NONE;
}

typedef enum { BY_STREAM, BY_INDEX, BY_FIRST, BY_VALUE } sort_key;

static uint32_t key_of(const found_seg *f, sort_key key, uint32_t at)
{
    return key == BY_VALUE ? at : key == BY_STREAM ? f[at].stream_id : key == BY_INDEX ? f[at].index : f[at].first;
}

/* Stable bottom-up merge sort of a[0..n) by a key: positions in f by one of its fields, or (BY_VALUE, f unused)
 * the values themselves; tmp holds n. */
static void merge_sort(uint32_t *a, uint32_t *tmp, size_t n, const found_seg *f, sort_key key)
{
    size_t width, i;
    uint32_t *src = a, *dst = tmp, *t;
    for (width = 1; width < n; width *= 2) {
        for (i = 0; i < n; i += 2 * width) {
            size_t lo = i, mid = i + width < n ? i + width : n, hi = i + 2 * width < n ? i + 2 * width : n;
            size_t p = lo, q = mid, o = lo;
            while (p < mid && q < hi)
                dst[o++] = key_of(f, key, src[q]) < key_of(f, key, src[p]) ? src[q++] : src[p++];
            while (p < mid) dst[o++] = src[p++];
            while (q < hi) dst[o++] = src[q++];
        }
        t = src, src = dst, dst = t;
    }
    if (src != a) memcpy(a, src, n * sizeof *a);
}

/* a[0..n) sorted ascending (tmp holds n). */
static void sort_values(uint32_t *a, uint32_t *tmp, size_t n)
{
    merge_sort(a, tmp, n, NULL, BY_VALUE);
}

typedef struct {
    found_seg *found;
    uint32_t *order, *tmp, *used;
    size_t nfound, nruns;          /* the chosen stream's runs: order[0 .. nruns) */
    uint64_t skipped;
} scan_state;

/* framing.scan: the intact segments, the stream most of them share (ties: the one met first) with its description
 * (the last copy met, as the reference's dict keeps it) and its runs, the first copy of each index, by first. */
static int salvage_scan(const unsigned char *data, size_t len, const mc_limits *L, unsigned char *base,
                        uint64_t *at, scan_state *st, mc_stream_info *info)
{
    scan_layout S;
    mc_stream_info d;
    seg_view s;
    size_t pos, i, best_at = NONE, best_count = 0, best_first = NONE, n = 0;
    uint64_t taken = 0;
    if (!scan_layout_of(len, at, &S)) return MC_ERR_ARG;
    st->found = (found_seg *)(void *)(base + S.found);
    st->order = (uint32_t *)(void *)(base + S.order);
    st->tmp = (uint32_t *)(void *)(base + S.tmp);
    st->used = (uint32_t *)(void *)(base + S.used);
    pos = find_sync(data, len, 0);
    while (pos != NONE) {  /* framing.intact */
        int err = parse_segment(data, len, pos, L, &s, &d);
        if (err == MC_OK && s.has_desc) err = mode_check(&d);
        if (err != MC_OK) {
            pos = find_sync(data, len, pos + 1u);
            continue;
        }
        if (n >= S.cap) return MC_ERR_ARG;  /* cannot happen */
        st->found[n].start = s.start;
        st->found[n].size = s.size;
        st->found[n].stream_id = s.stream_id;
        st->found[n].index = s.index;
        st->found[n].first = s.first;
        st->found[n].count = s.count;
        st->found[n].has_desc = s.has_desc;
        taken += s.size;
        n++;
        pos = find_sync(data, len, pos + s.size);
    }
    st->nfound = n;
    st->skipped = (uint64_t)len - taken;
    st->nruns = 0;
    /* group by stream id (stable: each group in byte order) */
    for (i = 0; i < n; i++) st->order[i] = (uint32_t)i;
    merge_sort(st->order, st->tmp, n, st->found, BY_STREAM);
    for (i = 0; i < n;) {
        size_t j = i, desc_at = NONE;
        while (j < n && st->found[st->order[j]].stream_id == st->found[st->order[i]].stream_id) {
            if (st->found[st->order[j]].has_desc) desc_at = st->order[j];
            j++;
        }
        if (desc_at != NONE && (j - i > best_count || (j - i == best_count && st->order[i] < best_first))) {
            best_count = j - i;
            best_first = st->order[i];
            best_at = desc_at;
        }
        i = j;
    }
    if (best_at == NONE) return MC_ERR_FORMAT;  /* no intact segment carries the description */
    if (parse_segment(data, len, (size_t)st->found[best_at].start, L, &s, info) != MC_OK) return MC_ERR_ARG;
    /* the chosen stream's segments in byte order, the first copy of each index, sorted by first */
    for (i = 0, n = 0; i < st->nfound; i++)
        if (st->found[i].stream_id == info->stream_id) st->order[n++] = (uint32_t)i;
    merge_sort(st->order, st->tmp, n, st->found, BY_INDEX);
    for (i = 0, st->nruns = 0; i < n; i++)
        if (i == 0 || st->found[st->order[i]].index != st->found[st->order[i - 1]].index)
            st->order[st->nruns++] = st->order[i];
    sort_values(st->order, st->tmp, st->nruns);  /* back to byte order: the reference's insertion order */
    merge_sort(st->order, st->tmp, st->nruns, st->found, BY_FIRST);
    return MC_OK;
}

int mc_stream_salvage_describe(const unsigned char *data, size_t len, const mc_limits *limits, void *scan_ws,
                               size_t scan_ws_size, mc_stream_info *info)
{
    mc_limits L;
    scan_state st;
    uint64_t at = 0;
    if ((!data && len) || !info || !scan_ws || scan_ws_size < mc_stream_scan_workspace_size(len)) return MC_ERR_ARG;
    default_limits(limits, &L);
    memset(info, 0, sizeof *info);
    return salvage_scan(data, len, &L, aligned(scan_ws), &at, &st, info);
}

int mc_stream_salvage(const unsigned char *data, size_t len, const mc_limits *limits, const uint16_t *ranks, void *ws,
                      size_t ws_size, mc_stream_info *info, uint32_t *idx, uint16_t *values, unsigned char *known,
                      mc_salvage_report *report)
{
    mc_limits L;
    scan_state st;
    reader r;
    mc_stream_info d;
    seg_view s;
    unsigned char *base;
    uint64_t at = 0, end = 0;
    uint32_t good = 0, recovered = 0, top = 0, n;
    size_t i;
    int err, any = 0;
    if ((!data && len) || !info || !ws || !report || !mc_stream_scan_workspace_size(len)) return MC_ERR_ARG;
    default_limits(limits, &L);
    memset(info, 0, sizeof *info);
    memset(report, 0, sizeof *report);
    base = aligned(ws);
    if (ws_size < mc_stream_scan_workspace_size(len)) return MC_ERR_ARG;
    if ((err = salvage_scan(data, len, &L, base, &at, &st, info)) != MC_OK) return err;
    if (ws_size < mc_stream_salvage_workspace_size(len, info) || (info->survivors && (!idx || !values || !known)))
        return MC_ERR_ARG;
    n = info->survivors;
    if ((err = reader_start(&r, info, ranks, base, at)) != MC_OK) return err;
    if (n) memset(known, 0, n);
    for (i = 0; i < st.nruns; i++) {  /* in order of their runs: drop an overlap or a run whose body fails */
        const found_seg *f = &st.found[st.order[i]];
        size_t body;
        if (f->first < end || (uint64_t)f->first + f->count > n) continue;
        if (parse_segment(data, len, (size_t)f->start, &L, &s, &d) != MC_OK) return MC_ERR_ARG;  /* intact */
        body = (size_t)f->start + HEAD + s.desc_size;
        if (decode_run(&r, data + body, (size_t)f->start + f->size - CRC - body, f->first, f->count, idx, values,
                       known) != MC_OK) continue;
        st.used[good++] = f->index;
        recovered += f->count;
        end = (uint64_t)f->first + f->count;
        top = !any || f->index > top ? f->index : top;
        any = 1;
    }
    sort_values(st.used, st.tmp, good);
    report->segments_expected = (any ? top + 1u : 0u) + (!any || end < n ? 1u : 0u);
    report->segments_received = good;
    report->survivors_expected = n;
    report->survivors_recovered = recovered;
    report->bytes_skipped = st.skipped;
    report->used = st.used;
    return MC_OK;
}
