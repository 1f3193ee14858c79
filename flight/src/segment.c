/* Segment survivor coding of format 4.0 (spec 11.3), C99, integers only, no allocation: byte for byte the bodies
 * of maskcodec/survivors/segment_coding.py (pack(quantized_run(...)) and decode_run).
 *
 * A segment's survivors arrive in stream order, one at a time. Each is predicted from up to 13 candidates among
 * the survivors before it in the segment: the left one (the survivor just before, if in the same row) and, for
 * each dy of rows_above(G), the two survivors of row y - dy that bracket its column. A row's survivors are
 * consecutive in stream order, so a row is a range [start, end) of segment positions: a table keyed by y mod
 * (B + 3G) holds the range of each row met (no row between a candidate row and the row it predicts has the same
 * key: rows come window by window), and a cursor per dy walks the candidate row as x grows along the row, so the
 * search costs amortized O(1) a survivor. The planes, quantizer and tokens are the ranked coder's
 * (survivor_inline.h), the range coder and models rc_inline.h's with one model per plane.
 *
 * The encoder keeps a survivor only when the body still fits once finished: before coding one it copies the
 * range coder's registers, and for each plane it notes the token (or, when the update halves the counts, copies
 * the model), so a survivor that does not fit is taken back exactly. */
#include <string.h>

#include "rc_inline.h"
#include "survivor_inline.h"

#define SIZE_FIELD 2u             /* payload_size, u16 */
#define LEAST_PAYLOAD 4u          /* the empty range code */
#define ROWS_ABOVE 3u             /* dy = 1..3 and 1..3 lanes up */
#define MAX_DY 6u
#define MAX_CANDIDATES (1u + 2u * MAX_DY)
#define WEIGHT_ONE (1u << 30)     /* a candidate weighs 2^30 // d2^2 ... */
#define LIMIT_D2 (1u << 15)       /* ... and 0 beyond d2 = 2^15 */
#define ALIGN 16u

typedef struct {
    uint32_t y, start, end;       /* row y's survivors are the segment positions start .. end - 1 */
} row_entry;

struct mc_segment_coder {
    mc_segment_params p;
    quant qz;
    unsigned c, ndy, tokens;
    uint32_t dys[MAX_DY];         /* rows_above(G): distinct, ascending */
    uint32_t mid, nrows;          /* 2^(bits-1); entries of the row table, B + 3G */
    size_t max_n, n;              /* capacity; survivors of the current segment */
    mc_model *models, *backup;    /* model of plane p; a copy taken before a halving update */
    unsigned char *undo_tok, *undo_halved;
    uint16_t *ch, *ref1;          /* plane p codes channel ch[p] against channel ref1[p] - 1 (0: none) */
    uint64_t *acc;                /* weighted sums per channel */
    uint16_t *pred;               /* spatial predictions per channel */
    uint32_t *ys, *xs;            /* the segment's survivors */
    uint16_t *recon;              /* their reconstructed values, n x C (the decoder's output) */
    row_entry *rows;
    /* the current row and its candidate rows */
    int in_row;
    uint32_t cur_y, cur_x, cur_win, cur_lane;
    row_entry *cur;
    size_t lo[MAX_DY], hi[MAX_DY], at[MAX_DY];
    /* the encoder */
    int begun, full;
    mc_rc_encoder enc;
    unsigned char *body;
    size_t room;
    unsigned char bitlen8[256];
};

/* ---- parameters and workspace ---- */

typedef struct {
    size_t models, backup, undo_tok, undo_halved, ch, ref1, acc, pred, ys, xs, recon, rows, total;
} layout;

static int add_part(uint64_t *at, size_t *off, uint64_t bytes)
{
    *at = (*at + ALIGN - 1u) & ~(uint64_t)(ALIGN - 1u);
    *off = (size_t)*at;
    *at += bytes;
    return *at <= ((uint64_t)1 << 62) && *at <= (uint64_t)(size_t)-1;
}

int mc_segment_check(const mc_segment_params *p)
{
    if (!p || p->width == 0 || p->channels < 1 || p->channels > 65535u || p->bits < 1 || p->bits > 16) return MC_ERR_ARG;
    if (p->max_error > (1u << (p->bits - 1)) - 1u) return MC_ERR_ARG;
    if (p->transform > 2 || (p->transform == 1 && p->channels != 3) || (p->transform == 2 && p->channels < 2))
        return MC_ERR_ARG;
    if (p->lanes < 1 || p->lanes > 255u || p->window < p->lanes || p->window > 65535u) return MC_ERR_ARG;
    return MC_OK;
}

static int make_layout(const mc_segment_params *p, size_t max_n, layout *L)
{
    uint64_t at = sizeof(struct mc_segment_coder), c;  /* the coder itself comes first */
    int ok = 1;
    if (mc_segment_check(p) != MC_OK || max_n > MC_SEGMENT_MAX_RUN) return 0;
    c = p->channels;
    ok &= add_part(&at, &L->models, c * sizeof(mc_model));
    ok &= add_part(&at, &L->backup, c * sizeof(mc_model));
    ok &= add_part(&at, &L->undo_tok, c);
    ok &= add_part(&at, &L->undo_halved, c);
    ok &= add_part(&at, &L->ch, c * 2u);
    ok &= add_part(&at, &L->ref1, c * 2u);
    ok &= add_part(&at, &L->acc, c * 8u);
    ok &= add_part(&at, &L->pred, c * 2u);
    ok &= add_part(&at, &L->ys, (uint64_t)max_n * 4u);
    ok &= add_part(&at, &L->xs, (uint64_t)max_n * 4u);
    ok &= add_part(&at, &L->recon, (uint64_t)max_n * c * 2u);
    ok &= add_part(&at, &L->rows, ((uint64_t)p->window + 3u * p->lanes) * sizeof(row_entry));
    ok &= add_part(&at, &L->total, ALIGN);  /* room to align the caller's pointer */
    if (!ok) return 0;
    L->total = (size_t)at;
    return 1;
}

size_t mc_segment_workspace_size(const mc_segment_params *p, size_t max_n)
{
    layout L;
    return make_layout(p, max_n, &L) ? L.total : 0;
}

mc_segment_coder *mc_segment_init(const mc_segment_params *p, size_t max_n, void *ws, size_t ws_size)
{
    layout L;
    unsigned char *base;
    mc_segment_coder *s;
    unsigned pl, m, k;
    if (!make_layout(p, max_n, &L) || !ws || ws_size < L.total) return NULL;
    base = (unsigned char *)ws + ((ALIGN - (size_t)((uintptr_t)ws % ALIGN)) % ALIGN);
    s = (mc_segment_coder *)(void *)base;
    memset(s, 0, sizeof *s);
    s->p = *p;
    s->qz = quant_init(p->bits, p->max_error);
    s->c = p->channels;
    s->tokens = tokens_for(p->bits);
    s->mid = 1u << (p->bits - 1u);
    s->nrows = p->window + 3u * p->lanes;
    s->max_n = max_n;
    s->models = (mc_model *)(void *)(base + L.models);
    s->backup = (mc_model *)(void *)(base + L.backup);
    s->undo_tok = base + L.undo_tok;
    s->undo_halved = base + L.undo_halved;
    s->ch = (uint16_t *)(void *)(base + L.ch);
    s->ref1 = (uint16_t *)(void *)(base + L.ref1);
    s->acc = (uint64_t *)(void *)(base + L.acc);
    s->pred = (uint16_t *)(void *)(base + L.pred);
    s->ys = (uint32_t *)(void *)(base + L.ys);
    s->xs = (uint32_t *)(void *)(base + L.xs);
    s->recon = (uint16_t *)(void *)(base + L.recon);
    s->rows = (row_entry *)(void *)(base + L.rows);
    memset(s->rows, 0xFF, (size_t)s->nrows * sizeof(row_entry));  /* no row: start > end */
    for (pl = 0; pl < s->c; pl++) {
        unsigned ch, ref1;
        plane_of(p->transform, pl, &ch, &ref1);
        s->ch[pl] = (uint16_t)ch;
        s->ref1[pl] = (uint16_t)ref1;
    }
    /* rows_above(G): {m, m G : m = 1..3}, distinct, ascending */
    for (m = 1; m <= ROWS_ABOVE; m++) {
        uint32_t cand[2];
        cand[0] = m;
        cand[1] = m * p->lanes;
        for (k = 0; k < 2; k++) {
            unsigned i = 0, j;
            while (i < s->ndy && s->dys[i] < cand[k]) i++;
            if (i < s->ndy && s->dys[i] == cand[k]) continue;
            for (j = s->ndy; j > i; j--) s->dys[j] = s->dys[j - 1];
            s->dys[i] = cand[k];
            s->ndy++;
        }
    }
    bitlen8_init(s->bitlen8);
    return s;
}

/* ---- the survivors of a segment, one at a time ---- */

static void segment_reset(mc_segment_coder *s)
{
    unsigned pl;
    s->n = 0;
    s->in_row = 0;
    s->cur = NULL;
    s->full = 0;
    for (pl = 0; pl < s->c; pl++) model_init(&s->models[pl], s->tokens);
}

/* Survivor (y, x) may follow the segment's last one: after it in stream order (window y / B, lane (y mod B) mod G,
 * then scan order). On a new row, sets up the row's table entry and its candidate rows. MC_OK or MC_ERR_ARG. */
static int enter(mc_segment_coder *s, uint32_t y, uint32_t x)
{
    uint32_t win, lane;
    unsigned k;
    if (x >= s->p.width) return MC_ERR_ARG;
    if (s->in_row && y == s->cur_y) {
        if (x <= s->cur_x) return MC_ERR_ARG;
        s->cur_x = x;
        return MC_OK;
    }
    win = y / s->p.window;
    lane = (y - win * s->p.window) % s->p.lanes;
    if (s->in_row && (win < s->cur_win || (win == s->cur_win && (lane < s->cur_lane
                                                                 || (lane == s->cur_lane && y < s->cur_y)))))
        return MC_ERR_ARG;
    s->in_row = 1;
    s->cur_y = y;
    s->cur_x = x;
    s->cur_win = win;
    s->cur_lane = lane;
    for (k = 0; k < s->ndy; k++) {
        const row_entry *e;
        uint32_t r;
        s->lo[k] = s->hi[k] = s->at[k] = 0;
        if (y < s->dys[k]) continue;
        r = y - s->dys[k];
        e = &s->rows[r % s->nrows];
        /* an entry of this segment: a row met before this one (entries of earlier segments fail the test) */
        if (e->y == r && e->start < e->end && e->end <= s->n && s->ys[e->start] == r) {
            s->lo[k] = s->at[k] = e->start;
            s->hi[k] = e->end;
        }
    }
    s->cur = &s->rows[y % s->nrows];
    s->cur->y = y;
    s->cur->start = s->cur->end = (uint32_t)s->n;  /* its survivors join as they are kept */
    return MC_OK;
}

/* The spatial predictions s->pred[0..C) of survivor n = s->n at (y, x) (spec 11.3, "Prediction"). */
HOT void predict(mc_segment_coder *s, uint32_t y, uint32_t x, const unsigned c)
{
    size_t cand[MAX_CANDIDATES], n = s->n, best = 0;
    uint64_t d2s[MAX_CANDIDATES], total = 0, bestd = 0;
    uint32_t w[MAX_CANDIDATES];
    const uint16_t *recon = s->recon;
    unsigned k, m = 0, i, ch;
    if (n && s->ys[n - 1] == y) {
        uint64_t dx = x - s->xs[n - 1];  /* x grows along a row */
        cand[m] = n - 1;
        d2s[m++] = dx * dx;
    }
    for (k = 0; k < s->ndy; k++) {
        size_t at = s->at[k];
        const size_t lo = s->lo[k], hi = s->hi[k];
        const uint64_t dy2 = (uint64_t)s->dys[k] * s->dys[k];
        if (lo == hi) continue;
        while (at < hi && s->xs[at] < x) at++;
        s->at[k] = at;
        if (at > lo) {
            uint64_t dx = x - s->xs[at - 1];
            cand[m] = at - 1;
            d2s[m++] = dx * dx + dy2;
        }
        if (at < hi) {
            uint64_t dx = s->xs[at] - x;
            cand[m] = at;
            d2s[m++] = dx * dx + dy2;
        }
    }
    for (i = 0; i < m; i++) {
        uint64_t d2 = d2s[i];
        w[i] = d2 <= LIMIT_D2 ? WEIGHT_ONE / (uint32_t)(d2 * d2) : 0u;
        total += w[i];
        if (i == 0 || d2 < bestd) {
            bestd = d2;
            best = cand[i];
        }
    }
    if (total) {
        uint64_t *acc = s->acc;
        for (ch = 0; ch < c; ch++) acc[ch] = 0;
        for (i = 0; i < m; i++) {
            const uint16_t *v = recon + cand[i] * c;
            const uint64_t wi = w[i];
            if (!wi) continue;
            for (ch = 0; ch < c; ch++) acc[ch] += wi * v[ch];
        }
        for (ch = 0; ch < c; ch++) s->pred[ch] = (uint16_t)((acc[ch] + (total >> 1)) / total);
    } else if (m || n) {
        const uint16_t *v = recon + (m ? best : n - 1) * c;  /* the nearest candidate, else the survivor before */
        for (ch = 0; ch < c; ch++) s->pred[ch] = v[ch];
    } else
        for (ch = 0; ch < c; ch++) s->pred[ch] = (uint16_t)s->mid;
}

/* The bytes the range code would have if finished now (RangeEncoder.finished_size); the encoder is unchanged. */
static size_t finished_size(const mc_rc_encoder *e)
{
    uint64_t low = e->low;
    size_t pending = e->pending, size = e->len;
    int first = e->first, i;
    for (i = 0; i < 5; i++) {
        if (low < 0xFF000000u || low > 0xFFFFFFFFu) {
            size += pending - (first ? 1u : 0u);
            first = 0;
            pending = 0;
        }
        pending++;
        low = (low & 0x00FFFFFFu) << 8;
    }
    return size;
}

int mc_segment_begin(mc_segment_coder *s, unsigned char *body, size_t room)
{
    if (!s || !body || room < SIZE_FIELD + LEAST_PAYLOAD || room > MC_SEGMENT_MAX_ROOM) return MC_ERR_ARG;
    segment_reset(s);
    s->body = body;
    s->room = room;
    rc_enc_init(&s->enc, body + SIZE_FIELD, room - SIZE_FIELD);
    s->begun = 1;
    return MC_OK;
}

HOT int push(mc_segment_coder *s, uint32_t y, uint32_t x, const uint16_t *values, const unsigned c)
{
    const quant qz = s->qz;
    mc_rc_encoder saved;
    uint16_t *rec;
    unsigned pl;
    int err;
    if (s->full) return MC_SEGMENT_FULL;
    if (s->n >= MC_SEGMENT_MAX_RUN || s->n >= s->max_n) {
        s->full = 1;
        return MC_SEGMENT_FULL;
    }
    for (pl = 0; pl < c; pl++)
        if (values[pl] > (uint32_t)qz.maxval) return MC_ERR_ARG;
    if ((err = enter(s, y, x)) != MC_OK) return err;
    predict(s, y, x, c);
    saved = s->enc;
    rec = s->recon + s->n * c;
    for (pl = 0; pl < c; pl++) {
        const unsigned ch = s->ch[pl];
        mc_model *model = &s->models[pl];
        int32_t base = plane_prediction(&qz, s->pred, rec, ch, s->ref1[pl]);
        int32_t q = quantize(&qz, (int32_t)values[ch] - base);
        uint32_t z = zigzag(q), tok = z;
        unsigned nraw = 0;
        rec[ch] = reconstruct(&qz, base, q);
        if (z >= SMALL) tok = token_of(z, s->bitlen8, &nraw);
        s->undo_tok[pl] = (unsigned char)tok;
        s->undo_halved[pl] = model->total + MC_MODEL_INCREMENT > MC_MODEL_LIMIT;
        if (s->undo_halved[pl]) s->backup[pl] = *model;
        model_encode(model, &s->enc, tok);
        rc_encode_raw(&s->enc, z & ((1u << nraw) - 1u), nraw);
    }
    if (SIZE_FIELD + finished_size(&s->enc) > s->room) {  /* take it back: the segment ends before it */
        s->enc = saved;
        for (pl = 0; pl < c; pl++) {
            mc_model *model = &s->models[pl];
            if (s->undo_halved[pl]) *model = s->backup[pl];
            else {
                model->freq[s->undo_tok[pl]] = (uint16_t)(model->freq[s->undo_tok[pl]] - MC_MODEL_INCREMENT);
                model->total -= MC_MODEL_INCREMENT;
            }
        }
        s->full = 1;
        return MC_SEGMENT_FULL;
    }
    s->ys[s->n] = y;
    s->xs[s->n] = x;
    s->n++;
    s->cur->end = (uint32_t)s->n;
    return MC_OK;
}

int mc_segment_push(mc_segment_coder *s, uint32_t y, uint32_t x, const uint16_t *values)
{
    if (!s || !s->begun || !values) return MC_ERR_ARG;
    if (s->c == 3) return push(s, y, x, values, 3);
    if (s->c == 1) return push(s, y, x, values, 1);
    return push(s, y, x, values, s->c);
}

size_t mc_segment_count(const mc_segment_coder *s)
{
    return s ? s->n : 0;
}

const uint16_t *mc_segment_recon(const mc_segment_coder *s)
{
    return s ? s->recon : NULL;
}

int mc_segment_end(mc_segment_coder *s, size_t *body_len)
{
    size_t len;
    if (!s || !s->begun || !body_len) return MC_ERR_ARG;
    rc_enc_flush(&s->enc);
    len = s->enc.len;
    s->begun = 0;
    if (SIZE_FIELD + len > s->room) return MC_ERR_ARG;  /* cannot happen: every survivor kept fits, room >= 6 */
    s->body[0] = (unsigned char)(len & 0xFFu);
    s->body[1] = (unsigned char)(len >> 8);
    *body_len = SIZE_FIELD + len;
    return MC_OK;
}

int mc_segment_encode(const mc_segment_params *p, const uint32_t *idx, const uint16_t *values, size_t n, size_t room,
                      void *ws, size_t ws_size, unsigned char *body, size_t *body_len, size_t *count,
                      uint16_t *recon)
{
    size_t max_n = n < MC_SEGMENT_MAX_RUN ? n : MC_SEGMENT_MAX_RUN, i;
    mc_segment_coder *s;
    int err;
    if (!body_len || !count || (n && (!idx || !values))) return MC_ERR_ARG;
    *body_len = *count = 0;
    if (!(s = mc_segment_init(p, max_n, ws, ws_size))) return MC_ERR_ARG;
    if ((err = mc_segment_begin(s, body, room)) != MC_OK) return err;
    for (i = 0; i < max_n; i++) {
        err = mc_segment_push(s, idx[i] / p->width, idx[i] % p->width, values + i * s->c);
        if (err == MC_SEGMENT_FULL) break;
        if (err != MC_OK) return err;
    }
    if ((err = mc_segment_end(s, body_len)) != MC_OK) return err;
    *count = s->n;
    if (recon && s->n) memcpy(recon, s->recon, s->n * s->c * sizeof *recon);
    return MC_OK;
}

/* ---- the decoder ---- */

HOT int decode(mc_segment_coder *s, mc_rc_decoder *dec, const uint32_t *idx, size_t n, const unsigned c)
{
    const quant qz = s->qz;
    const uint32_t w = s->p.width;
    size_t i;
    unsigned pl;
    int err;
    for (i = 0; i < n; i++) {
        uint32_t y = idx[i] / w, x = idx[i] - y * w;
        uint16_t *rec = s->recon + i * c;
        if ((err = enter(s, y, x)) != MC_OK) return err;
        predict(s, y, x, c);
        for (pl = 0; pl < c; pl++) {
            const unsigned ch = s->ch[pl];
            uint32_t tok, z, raw;
            if ((err = model_decode(&s->models[pl], dec, &tok)) != MC_OK) return err;
            if (tok < SMALL) z = tok;
            else {
                if ((err = rc_decode_raw(dec, token_raw_bits(tok), &raw)) != MC_OK) return err;
                z = code_of(tok, raw);
            }
            if (z >= (uint32_t)qz.rng) return MC_ERR_RESIDUAL;
            rec[ch] = reconstruct(&qz, plane_prediction(&qz, s->pred, rec, ch, s->ref1[pl]), unzigzag(z));
        }
        s->ys[i] = y;
        s->xs[i] = x;
        s->n = i + 1;
        s->cur->end = (uint32_t)s->n;
    }
    return MC_OK;
}

int mc_segment_decode(mc_segment_coder *s, const unsigned char *body, size_t len, const uint32_t *idx, size_t n,
                      uint16_t *values)
{
    mc_rc_decoder dec;
    uint16_t *own;
    size_t size, i;
    int err;
    if (!s || (!body && len) || (n && (!idx || !values)) || n > s->max_n) return MC_ERR_ARG;
    if (len < SIZE_FIELD) return MC_ERR_BODY;
    size = (size_t)body[0] | (size_t)body[1] << 8;
    if (size > len - SIZE_FIELD) return MC_ERR_PAYLOAD_SIZE;
    for (i = SIZE_FIELD + size; i < len; i++)
        if (body[i]) return MC_ERR_PADDING;
    if ((err = rc_dec_init(&dec, body + SIZE_FIELD, size)) != MC_OK) return err;
    segment_reset(s);
    s->begun = 0;
    own = s->recon;
    s->recon = values;  /* predictions read the values decoded so far */
    if (s->c == 3) err = decode(s, &dec, idx, n, 3);
    else if (s->c == 1) err = decode(s, &dec, idx, n, 1);
    else err = decode(s, &dec, idx, n, s->c);
    s->recon = own;
    if (err != MC_OK) return err;
    return dec.pos == dec.len ? MC_OK : MC_ERR_TRAILING;
}

const char *mc_segment_error_name(int err)
{
    switch (err) {
    case MC_SEGMENT_FULL: return "full";
    case MC_ERR_BODY: return "body";
    case MC_ERR_PAYLOAD_SIZE: return "payload-size";
    case MC_ERR_PADDING: return "padding";
    default: return mc_error_name(err);
    }
}
