/* Ranked survivor coding, C99, integers only, no allocation: byte for byte the payload of
 * maskcodec/survivors/ranked.py with the predictor of maskcodec/survivors/predictive.py (spec 6.5).
 *
 * One stable LSD radix sort of all survivors by key (ties in scan order) gives the levels in order (the level is
 * monotone in the key) and, within each level, the rank order. The known pixels live in a grid of cells of side
 * 2^s, each holding its first 2 known pixels in scan order (position and values); the grid is rebuilt when s
 * changes and otherwise takes each finished level's pixels. Pixels of a level are never used for each other, so
 * a level is done in three passes: predictions in scan order (the grid is read in order) into the level's slots in
 * rank order, then the codes in rank order (each slot's values become the reconstructed ones), then the
 * reconstructed values back in scan order. */
#include <string.h>

#include "rc_inline.h"
#include "survivor_inline.h"

#define CONTEXTS 9               /* 8 of activity, 1 for no prediction */
#define NO_PREDICTION 8
#define LEVEL_BASE 22
#define LEVELS 11
#define WEIGHT_ONE (1u << 30)    /* a candidate weighs 2^30 // d2^2 */
#define MAX_D 127u               /* 2^(6 + 1) - 1, cell_shift(0) = 6: a candidate's farthest row or column */
#define LUT_SIZE (2u * MAX_D * MAX_D + 1u)
#define RADIX_BITS 11
#define RADIX (1u << RADIX_BITS)
#define MAX_PASSES 3
#define ALIGN 16u
/* A grid cell: u16 hi, nlo (the largest lead-channel value of its known pixels and 0xFFFF - the smallest; 0 when
 * it has none), then 2 slots: u32 y, x, valid (all ones when it holds a known pixel, else 0), u16 values. */
#define SLOT_BYTES(c) (12u + ((2u * (c) + 3u) & ~3u))
#define CELL_BYTES(c) (4u + 2u * SLOT_BYTES(c))

static const unsigned char activity[7] = {3, 6, 10, 16, 25, 40, 64};

/* ---- parameters and workspace ---- */

/* Offsets of the workspace's parts (bytes from its 16-aligned start). */
typedef struct {
    size_t models, recip, lut, hist, acc, items_a, items_b, slot_pred, slot_val, slot_ctx, slots, total;
} layout;

static int add_part(uint64_t *at, size_t *off, uint64_t bytes)
{
    *at = (*at + ALIGN - 1u) & ~(uint64_t)(ALIGN - 1u);
    *off = (size_t)*at;
    if (bytes > ((uint64_t)1 << 62)) return 0;
    *at += bytes;
    return *at <= ((uint64_t)1 << 62) && *at <= (uint64_t)(size_t)-1;
}

int mc_ranked_check(const mc_ranked_params *p)
{
    if (!p || p->height == 0 || p->width == 0 || (uint64_t)p->height * p->width > ((uint64_t)1 << 32))
        return MC_ERR_ARG;
    if (p->channels < 1 || p->channels > 255 || p->bits < 1 || p->bits > 16) return MC_ERR_ARG;
    if (p->max_error > (1u << (p->bits - 1)) - 1u) return MC_ERR_ARG;
    if (p->transform > 2 || (p->transform == 1 && p->channels != 3) || (p->transform == 2 && p->channels < 2))
        return MC_ERR_ARG;
    return MC_OK;
}

static int make_layout(const mc_ranked_params *p, size_t n, size_t prior_n, layout *L)
{
    uint64_t at = 0, c, cells, pixels;
    int ok = 1;
    if (mc_ranked_check(p) != MC_OK) return 0;
    c = p->channels;
    pixels = (uint64_t)p->height * p->width;
    if ((uint64_t)n > pixels || (uint64_t)prior_n > pixels) return 0;
    cells = ((uint64_t)((p->height - 1u) >> 1) + 3u) * ((uint64_t)((p->width - 1u) >> 1) + 3u);  /* s = 1 */
    ok &= add_part(&at, &L->models, c * CONTEXTS * sizeof(mc_model));
    ok &= add_part(&at, &L->recip, (uint64_t)RC_RECIPS * 8u);
    ok &= add_part(&at, &L->lut, (uint64_t)LUT_SIZE * 4u);
    ok &= add_part(&at, &L->hist, (uint64_t)MAX_PASSES * RADIX * sizeof(size_t));
    ok &= add_part(&at, &L->acc, c * 8u);
    ok &= add_part(&at, &L->items_a, (uint64_t)n * 8u);
    ok &= add_part(&at, &L->items_b, (uint64_t)n * 8u);
    ok &= add_part(&at, &L->slot_pred, (uint64_t)n * c * 2u);
    ok &= add_part(&at, &L->slot_val, (uint64_t)n * c * 2u);
    ok &= add_part(&at, &L->slot_ctx, (uint64_t)n);
    ok &= add_part(&at, &L->slots, cells * CELL_BYTES(c));
    ok &= add_part(&at, &L->total, ALIGN);  /* room to align the caller's pointer */
    if (!ok) return 0;
    L->total = (size_t)at;
    return 1;
}

size_t mc_ranked_workspace_size(const mc_ranked_params *p, size_t n, size_t prior_n)
{
    layout L;
    return make_layout(p, n, prior_n, &L) ? L.total : 0;
}

size_t mc_ranked_payload_bound(const mc_ranked_params *p, size_t n)
{
    /* Renormalizing moves a byte out per 8 bits of range spent: a token costs at most log2(8192) + 0.001 bits
     * (totals <= 8192, range >= 2^24), its raw bits (at most bits - 2) as many + 0.001; so every code at most
     * max(bits + 11, 13) + 0.01 bits, and the stream floor(all / 8) + 4 bytes. */
    uint64_t per, codes;
    if (mc_ranked_check(p) != MC_OK || (uint64_t)n > (uint64_t)p->height * p->width) return 0;
    per = p->bits + 12u < 14u ? 14u : p->bits + 12u;
    codes = (uint64_t)n * p->channels;
    codes = (codes * per + 7u) / 8u + 8u;
    return codes > (uint64_t)(size_t)-1 ? 0 : (size_t)codes;
}

static int check_pixels(const uint32_t *idx, const uint16_t *values, size_t n, unsigned c, uint64_t pixels,
                        uint32_t maxval)
{
    size_t i;
    for (i = 0; i < n; i++)
        if ((uint64_t)idx[i] >= pixels || (i && idx[i] <= idx[i - 1])) return MC_ERR_ARG;
    if (values)
        for (i = 0; i < n * c; i++)
            if (values[i] > maxval) return MC_ERR_ARG;
    return MC_OK;
}

/* ---- small helpers ---- */

static unsigned bit_length(uint32_t v)
{
    unsigned b = 0;
    while (v) {
        v >>= 1;
        b++;
    }
    return b;
}

HOT void copy_values(uint16_t *dst, const uint16_t *src, unsigned c)
{
    unsigned i;
    if (c == 3) {
        dst[0] = src[0];
        dst[1] = src[1];
        dst[2] = src[2];
    } else if (c == 1) dst[0] = src[0];
    else
        for (i = 0; i < c; i++) dst[i] = src[i];
}

/* Row and column of ascending flat indices, a division only where rows are skipped. */
typedef struct {
    uint64_t start, end;
    uint32_t y, w;
} rowpos;

static void rowpos_init(rowpos *rp, uint32_t w)
{
    rp->start = 0;
    rp->end = w;
    rp->y = 0;
    rp->w = w;
}

HOT uint32_t rowpos_at(rowpos *rp, uint32_t v, uint32_t *x)
{
    if (v >= rp->end) {
        if (v - rp->end < rp->w) {
            rp->y++;
            rp->start = rp->end;
        } else {
            rp->y = v / rp->w;
            rp->start = (uint64_t)rp->y * rp->w;
        }
        rp->end = rp->start + rp->w;
    }
    *x = (uint32_t)(v - rp->start);
    return rp->y;
}

/* ---- the survivors in key order ---- */

/* Stable LSD radix sort of the items key << 32 | position (position 0..n-1 in scan order) by key, on the bits
 * where the keys differ, at most 3 passes of at most 11 bits; returns a or b, whichever holds the result. */
static uint64_t *sort_keys(const uint32_t *keys, size_t n, uint64_t *a, uint64_t *b, size_t *hist)
{
    uint32_t varying = 0, mask;
    unsigned lo = 0, span, passes, width, pass, shift[MAX_PASSES];
    uint64_t *src = a, *dst = b, *t;
    size_t i;
    for (i = 0; i < n; i++) {
        a[i] = (uint64_t)keys[i] << 32 | (uint32_t)i;
        varying |= keys[i] ^ keys[0];
    }
    if (varying == 0) return a;
    while (!((varying >> lo) & 1u)) lo++;
    span = bit_length(varying) - lo;
    passes = (span + RADIX_BITS - 1u) / RADIX_BITS;
    width = (span + passes - 1u) / passes;
    mask = (1u << width) - 1u;
    for (pass = 0; pass < passes; pass++) shift[pass] = 32u + lo + pass * width;
    memset(hist, 0, (size_t)MAX_PASSES * RADIX * sizeof *hist);
    if (passes == 1)
        for (i = 0; i < n; i++) hist[(a[i] >> shift[0]) & mask]++;
    else if (passes == 2)
        for (i = 0; i < n; i++) {
            hist[(a[i] >> shift[0]) & mask]++;
            hist[RADIX + ((a[i] >> shift[1]) & mask)]++;
        }
    else
        for (i = 0; i < n; i++) {
            hist[(a[i] >> shift[0]) & mask]++;
            hist[RADIX + ((a[i] >> shift[1]) & mask)]++;
            hist[2u * RADIX + ((a[i] >> shift[2]) & mask)]++;
        }
    for (pass = 0; pass < passes; pass++) {
        size_t sum = 0, *h = hist + pass * RADIX, j;
        for (j = 0; j <= mask; j++) {
            size_t count = h[j];
            h[j] = sum;
            sum += count;
        }
    }
    for (pass = 0; pass < passes; pass++) {
        size_t *h = hist + pass * RADIX;
        unsigned sh = shift[pass];
        for (i = 0; i < n; i++) {
            uint64_t item = src[i];
            dst[h[(item >> sh) & mask]++] = item;
        }
        t = src, src = dst, dst = t;
    }
    return src;
}

/* ---- the cell grid of known pixels ---- */

typedef struct {
    unsigned s;
    size_t cols;            /* cells per row, with a spare column each side */
    unsigned char *cells;   /* CELL_BYTES each, slot 0 before slot 1 in scan order */
    unsigned lead;
} grid;

#define SLOT_Y(p) (((uint32_t *)(void *)(p))[0])
#define SLOT_X(p) (((uint32_t *)(void *)(p))[1])
#define SLOT_VALID(p) (((uint32_t *)(void *)(p))[2])
#define SLOT_V(p) ((uint16_t *)(void *)((p) + 12))

/* An empty grid of cells of side 2^s (every slot zeroed: not valid). */
static void grid_reset(grid *g, unsigned s, uint32_t h, uint32_t w, unsigned c)
{
    g->s = s;
    g->cols = (size_t)((w - 1u) >> s) + 3u;
    memset(g->cells, 0, ((size_t)((h - 1u) >> s) + 3u) * g->cols * CELL_BYTES(c));
}

HOT void slot_set(unsigned char *sl, uint32_t y, uint32_t x, const uint16_t *v, unsigned c)
{
    SLOT_Y(sl) = y;
    SLOT_X(sl) = x;
    SLOT_VALID(sl) = 0xFFFFFFFFu;
    copy_values(SLOT_V(sl), v, c);
}

/* Keeps each cell's first 2 known pixels in scan order; a pixel already there keeps its place on a tie (the
 * prior's pixels go in first: numpy's stable lexsort puts the prior first too). */
HOT void grid_insert(grid *g, uint32_t y, uint32_t x, const uint16_t *v, unsigned c)
{
    const size_t stride = SLOT_BYTES(c);
    unsigned char *cell = g->cells + (((size_t)(y >> g->s) + 1u) * g->cols + (x >> g->s) + 1u) * CELL_BYTES(c);
    unsigned char *s0 = cell + 4, *s1 = s0 + stride;
    uint16_t *range = (uint16_t *)(void *)cell;
    unsigned l0, l1;
    if (!SLOT_VALID(s0) || y < SLOT_Y(s0) || (y == SLOT_Y(s0) && x < SLOT_X(s0))) {
        if (SLOT_VALID(s0)) memcpy(s1, s0, stride);
        slot_set(s0, y, x, v, c);
    } else if (!SLOT_VALID(s1) || y < SLOT_Y(s1) || (y == SLOT_Y(s1) && x < SLOT_X(s1)))
        slot_set(s1, y, x, v, c);
    else return;
    l0 = SLOT_V(s0)[g->lead];
    l1 = SLOT_VALID(s1) ? SLOT_V(s1)[g->lead] : l0;
    range[0] = (uint16_t)(l0 > l1 ? l0 : l1);
    range[1] = (uint16_t)(0xFFFFu - (l0 < l1 ? l0 : l1));
}

/* Inserts the pixels idx[list[0..n)] (ascending) with their values (values + at * c). */
HOT void grid_insert_list(grid *g, const uint32_t *idx, const uint32_t *list, size_t n, const uint16_t *values,
                          uint32_t w, const unsigned c)
{
    rowpos rp;
    size_t t;
    rowpos_init(&rp, w);
    for (t = 0; t < n; t++) {
        uint32_t at = list ? list[t] : (uint32_t)t, x, y = rowpos_at(&rp, idx[at], &x);
        grid_insert(g, y, x, values + (size_t)at * c, c);
    }
}

/* log2 of the cell side at a level (predictive.cell_shift). */
static unsigned cell_shift(unsigned level)
{
    return level >= 10u ? 1u : (12u - level) >> 1;  /* max(1, (12 - level) >> 1), levels 0..10 */
}

/* A coded level's reconstructed values (slots in rank order) back into recon (scan order), each pixel into the
 * grid as well (for the next level, of the same cells). */
HOT void back_level(grid *g, const uint32_t *idx, const uint32_t *list, size_t n, const uint32_t *rank, uint32_t w,
                    const uint16_t *slot_val, uint16_t *recon, const unsigned c)
{
    rowpos rp;
    size_t t;
    rowpos_init(&rp, w);
    for (t = 0; t < n; t++) {
        uint32_t at = list[t], x, y = rowpos_at(&rp, idx[at], &x);
        uint16_t *rec = recon + (size_t)at * c;
        copy_values(rec, slot_val + (size_t)rank[at] * c, c);
        grid_insert(g, y, x, rec, c);
    }
}

/* ---- the coder ---- */

typedef struct {
    unsigned c, bits, lead;
    uint32_t maxval, mid;
    quant qz;                            /* the quantizer of spec 6.5 (survivor_inline.h) */
    unsigned char ch[255], ref[255];     /* plane p codes channel ch[p], against channel ref[p] - 1 (0: none) */
    unsigned char ctx_of[256];           /* context of a = floor(spread * 256 / 2^bits) */
    unsigned char bitlen8[256];
    const uint32_t *lut;                 /* 2^30 // max(d2^2, 1) */
    uint64_t *acc;                       /* channels 3.. of a weighted sum */
    mc_model *models;                    /* plane p, context x: models[CONTEXTS * p + x] */
    const uint64_t *recip;               /* rc_div's reciprocals of the model totals */
} coder;

/* The spatial predictions pred[0..c) of pixel (y, x) and its context (spec 6.5): the first 2 known pixels of each
 * of the 3 x 3 cells around the pixel's, weighing 2^30 // d2^2 each. The 18 slots are read whether they hold a
 * pixel or not, an empty slot under a zero mask (no branch); up to 3 channels sum in registers. d2 is computed
 * modulo 2^32 from unsigned differences: exact, since |dy|, |dx| < 2^7 for a real candidate. */
HOT unsigned predict(const coder *k, const grid *g, uint32_t y, uint32_t x, uint16_t *pred, const unsigned c)
{
    const size_t stride = SLOT_BYTES(c), rowskip = (g->cols - 3u) * CELL_BYTES(c);
    const uint32_t *lut = k->lut;
    /* the top left cell of the 3 x 3 */
    const unsigned char *cell = g->cells + ((size_t)(y >> g->s) * g->cols + (x >> g->s)) * CELL_BYTES(c);
    uint64_t total = 0, a0 = 0, a1 = 0, a2 = 0, *acc = k->acc;
    uint32_t hi = 0, nlo = 0;
    unsigned i, a, r, j, m;
    if (c > 3)
        for (i = 3; i < c; i++) acc[i] = 0;
    for (r = 0; r < 3; r++, cell += rowskip) {
        for (m = 0; m < 3; m++, cell += CELL_BYTES(c)) {
            const uint16_t *range = (const uint16_t *)(const void *)cell;
            const unsigned char *sl = cell + 4;
            hi = range[0] > hi ? range[0] : hi;
            nlo = range[1] > nlo ? range[1] : nlo;
            for (j = 0; j < 2; j++, sl += stride) {
                const uint32_t *w = (const uint32_t *)(const void *)sl;
                const uint16_t *v = (const uint16_t *)(const void *)(sl + 12);
                uint32_t valid = w[2], dy = w[0] - y, dx = w[1] - x;
                uint64_t wgt = lut[(dy * dy + dx * dx) & valid] & valid;
                total += wgt;
                a0 += wgt * v[0];
                if (c > 1) a1 += wgt * v[1];
                if (c > 2) a2 += wgt * v[2];
                if (c > 3)
                    for (i = 3; i < c; i++) acc[i] += wgt * v[i];
            }
        }
    }
    if (total == 0) {
        for (i = 0; i < c; i++) pred[i] = (uint16_t)k->mid;
        return NO_PREDICTION;
    }
    pred[0] = (uint16_t)((a0 + (total >> 1)) / total);
    if (c > 1) pred[1] = (uint16_t)((a1 + (total >> 1)) / total);
    if (c > 2) pred[2] = (uint16_t)((a2 + (total >> 1)) / total);
    if (c > 3)
        for (i = 3; i < c; i++) pred[i] = (uint16_t)((acc[i] + (total >> 1)) / total);
    a = ((hi + nlo - 0xFFFFu) << 8) >> k->bits;  /* spread = hi - lo, lo = 0xFFFF - nlo */
    return k->ctx_of[a > 255u ? 255u : a];
}

/* A level's predictions, in scan order (the grid is read in order), into its slots in rank order; the encoder's
 * values go into the slots too. */
HOT void predict_level(const coder *k, const grid *g, const uint32_t *idx, const uint32_t *list, size_t n,
                       const uint32_t *rank, uint32_t w, const uint16_t *values, uint16_t *slot_pred,
                       uint16_t *slot_val, unsigned char *slot_ctx, const unsigned c)
{
    rowpos rp;
    size_t t;
    rowpos_init(&rp, w);
    for (t = 0; t < n; t++) {
        uint32_t at = list[t], r = rank[at], x, y = rowpos_at(&rp, idx[at], &x);
        slot_ctx[r] = (unsigned char)predict(k, g, y, x, slot_pred + (size_t)r * c, c);
        if (values) copy_values(slot_val + (size_t)r * c, values + (size_t)at * c, c);
    }
}

/* A level's codes in rank order; each slot's values become the reconstructed values. The coder's state is
 * a local copy for the level. */
HOT void encode_level(const coder *k, mc_rc_encoder *encp, size_t n, const uint16_t *slot_pred, uint16_t *slot_val,
                      const unsigned char *slot_ctx, const unsigned c)
{
    const quant qz = k->qz;
    const uint64_t *recip = k->recip;
    mc_model *const all = k->models;
    unsigned char ch[255], ref[255], bitlen8[256];
    mc_rc_encoder enc = *encp;
    size_t t;
    unsigned pl;
    memcpy(ch, k->ch, c);
    memcpy(ref, k->ref, c);
    memcpy(bitlen8, k->bitlen8, sizeof bitlen8);
    for (t = 0; t < n; t++) {
        const uint16_t *pred = slot_pred + t * c;
        uint16_t *val = slot_val + t * c;
        mc_model *models = all + slot_ctx[t];
        for (pl = 0; pl < c; pl++, models += CONTEXTS) {
            int32_t base = plane_prediction(&qz, pred, val, ch[pl], ref[pl]);
            int32_t q = quantize(&qz, (int32_t)val[ch[pl]] - base);
            uint32_t z = zigzag(q);
            val[ch[pl]] = reconstruct(&qz, base, q);
            if (z < SMALL) model_encode_t(models, &enc, z, recip);
            else {
                unsigned nraw;
                model_encode_t(models, &enc, token_of(z, bitlen8, &nraw), recip);
                rc_encode_raw(&enc, z & ((1u << nraw) - 1u), nraw);
            }
        }
    }
    *encp = enc;
}

/* The decoder's, with every check of ranked.decode in its order: the range coder's at once, a code z >= RANGE
 * once the level's codes are all read (predictive.reconstructed checks a level's codes together). */
HOT int decode_level(const coder *k, mc_rc_decoder *decp, size_t n, const uint16_t *slot_pred, uint16_t *slot_val,
                     const unsigned char *slot_ctx, const unsigned c)
{
    const quant qz = k->qz;
    const uint64_t *recip = k->recip;
    mc_model *const all = k->models;
    unsigned char ch[255], ref[255];
    mc_rc_decoder dec = *decp;
    size_t t;
    unsigned pl;
    int err = MC_OK, overflow = 0;
    memcpy(ch, k->ch, c);
    memcpy(ref, k->ref, c);
    for (t = 0; t < n && err == MC_OK; t++) {
        const uint16_t *pred = slot_pred + t * c;
        uint16_t *val = slot_val + t * c;
        mc_model *models = all + slot_ctx[t];
        for (pl = 0; pl < c; pl++, models += CONTEXTS) {
            uint32_t tok, z, raw;
            int32_t q;
            if ((err = model_decode_t(models, &dec, &tok, recip)) != MC_OK) break;
            if (tok < SMALL) z = tok;
            else {
                if ((err = rc_decode_raw(&dec, token_raw_bits(tok), &raw)) != MC_OK) break;
                z = code_of(tok, raw);
            }
            if (z >= (uint32_t)qz.rng) {
                overflow = 1;  /* the level's values are not used: refused after its last code */
                continue;
            }
            q = unzigzag(z);
            val[ch[pl]] = reconstruct(&qz, plane_prediction(&qz, pred, val, ch[pl], ref[pl]), q);
        }
    }
    *decp = dec;
    return err != MC_OK ? err : overflow ? MC_ERR_RESIDUAL : MC_OK;
}

static int run(const mc_ranked_params *p, const uint32_t *idx, const uint32_t *keys, const uint16_t *values,
               size_t n, const mc_prior *prior, void *ws, size_t ws_size, mc_rc_encoder *enc, mc_rc_decoder *dec,
               uint16_t *recon)
{
    layout L;
    coder k;
    grid g;
    unsigned char *base, *slot_ctx;
    uint64_t *items, pixels;
    uint32_t *rank, *scan;
    uint16_t *slot_pred, *slot_val;
    size_t prior_n = prior ? prior->n : 0, bound[LEVELS + 1], i;
    unsigned j, pl, cur_s = 0, in_grid = 0, lut_filled = 0, c = p ? p->channels : 0;
    int err;

    if (!make_layout(p, n, prior_n, &L) || !ws || ws_size < L.total) return MC_ERR_ARG;
    if (n && (!idx || !keys || !recon || (enc && !values))) return MC_ERR_ARG;
    if (prior_n && (!prior->idx || !prior->values)) return MC_ERR_ARG;
    k.c = c;
    k.bits = p->bits;
    k.maxval = (1u << p->bits) - 1u;
    k.mid = 1u << (p->bits - 1u);
    k.qz = quant_init(p->bits, p->max_error);
    pixels = (uint64_t)p->height * p->width;
    if ((err = check_pixels(idx, enc ? values : NULL, n, c, pixels, k.maxval)) != MC_OK) return err;
    if (prior_n && (err = check_pixels(prior->idx, prior->values, prior_n, c, pixels, k.maxval)) != MC_OK)
        return err;
    if (dec && (err = rc_dec_init(dec, dec->data, dec->len)) != MC_OK) return err;  /* the arguments come first */

    base = (unsigned char *)ws + ((ALIGN - (size_t)((uintptr_t)ws % ALIGN)) % ALIGN);
    k.models = (mc_model *)(void *)(base + L.models);
    rc_recip_init((uint64_t *)(void *)(base + L.recip));
    k.recip = (const uint64_t *)(void *)(base + L.recip);
    k.lut = (const uint32_t *)(void *)(base + L.lut);
    k.acc = (uint64_t *)(void *)(base + L.acc);
    slot_pred = (uint16_t *)(void *)(base + L.slot_pred);
    slot_val = (uint16_t *)(void *)(base + L.slot_val);
    slot_ctx = base + L.slot_ctx;
    g.s = 0;
    g.cols = 0;
    g.cells = base + L.slots;

    /* planes (transform.order), lead channel, contexts, models */
    for (pl = 0; pl < c; pl++) {
        unsigned ch, ref1;
        plane_of(p->transform, pl, &ch, &ref1);
        k.ch[pl] = (unsigned char)ch;
        k.ref[pl] = (unsigned char)ref1;  /* reference channel + 1, 0: none */
    }
    k.lead = k.ch[0];
    g.lead = k.lead;
    for (i = 0; i < 256; i++) {
        unsigned t = 0;
        while (t < 7 && activity[t] <= i) t++;
        k.ctx_of[i] = (unsigned char)t;
    }
    bitlen8_init(k.bitlen8);
    for (i = 0; i < (size_t)c * CONTEXTS; i++) model_init(&k.models[i], tokens_for(p->bits));

    /* the survivors in key order, the level bounds, each survivor's rank and each level's survivors in scan order */
    items = sort_keys(keys, n, (uint64_t *)(void *)(base + L.items_a), (uint64_t *)(void *)(base + L.items_b),
                      (size_t *)(void *)(base + L.hist));
    bound[0] = 0;
    for (j = 0; j < LEVELS; j++) {  /* level j: sorted positions [bound[j], bound[j + 1]) */
        size_t lo = bound[j], hi = n;
        if (j + 1 == LEVELS) lo = n;
        else {
            uint64_t top = (uint64_t)1 << (LEVEL_BASE + j + 32u);  /* keys of levels <= j are below 2^(22 + j) */
            while (lo < hi) {
                size_t mid = lo + (hi - lo) / 2;
                if (items[mid] < top) lo = mid + 1;
                else hi = mid;
            }
        }
        bound[j + 1] = lo;
    }
    rank = (uint32_t *)(void *)(base + (items == (uint64_t *)(void *)(base + L.items_a) ? L.items_b : L.items_a));
    scan = rank + n;
    for (i = 0; i < n; i++) rank[(uint32_t)items[i]] = (uint32_t)i;
    {
        size_t cursor[LEVELS];
        for (j = 0; j < LEVELS; j++) cursor[j] = bound[j];
        for (i = 0; i < n; i++) {
            uint32_t key = keys[i];
            unsigned lv = key < (1u << LEVEL_BASE) ? 0u
                        : (key >> 24 ? 24u + k.bitlen8[key >> 24] : 16u + k.bitlen8[key >> 16]) - LEVEL_BASE;
            scan[cursor[lv]++] = (uint32_t)i;
        }
    }

    for (j = 0; j < LEVELS; j++) {
        unsigned s = cell_shift(j);
        size_t b = bound[j], e = bound[j + 1], t;
        if (b == e) continue;
        if (!lut_filled) {  /* 2^30 // max(d2^2, 1) up to the farthest candidate of the first (widest) level */
            uint32_t side = (2u << s) - 1u, dy = p->height - 1u < side ? p->height - 1u : side;
            uint32_t dx = p->width - 1u < side ? p->width - 1u : side, d2, top = dy * dy + dx * dx;
            uint32_t *lut = (uint32_t *)(void *)(base + L.lut);
            lut[0] = WEIGHT_ONE;
            for (d2 = 1; d2 <= top; d2++) lut[d2] = WEIGHT_ONE / (d2 * d2);
            lut_filled = 1;
        }
        /* the grid of the known pixels: the prior and the levels below j */
        if (s != cur_s) {
            cur_s = s;
            grid_reset(&g, s, p->height, p->width, c);
            if (c == 3) grid_insert_list(&g, prior ? prior->idx : NULL, NULL, prior_n, prior ? prior->values : NULL,
                                         p->width, 3);
            else grid_insert_list(&g, prior ? prior->idx : NULL, NULL, prior_n, prior ? prior->values : NULL,
                                  p->width, c);
            in_grid = 0;
        }
        for (; in_grid < j; in_grid++) {
            const uint32_t *list = scan + bound[in_grid];
            size_t count = bound[in_grid + 1] - bound[in_grid];
            if (c == 3) grid_insert_list(&g, idx, list, count, recon, p->width, 3);
            else grid_insert_list(&g, idx, list, count, recon, p->width, c);
        }
        /* predictions in scan order, into the slots of their ranks (slot t holds sorted position t) */
        {
            const uint16_t *vals = enc ? values : NULL;
            const uint32_t *list = scan + b;
            uint16_t *sp = slot_pred, *sv = slot_val;
            unsigned char *sc = slot_ctx;
            if (c == 3) predict_level(&k, &g, idx, list, e - b, rank, p->width, vals, sp, sv, sc, 3);
            else if (c == 1) predict_level(&k, &g, idx, list, e - b, rank, p->width, vals, sp, sv, sc, 1);
            else predict_level(&k, &g, idx, list, e - b, rank, p->width, vals, sp, sv, sc, c);
        }
        /* codes in rank order */
        {
            const uint16_t *sp = slot_pred + b * c;
            uint16_t *sv = slot_val + b * c;
            const unsigned char *sc = slot_ctx + b;
            if (enc) {
                if (c == 3) encode_level(&k, enc, e - b, sp, sv, sc, 3);
                else if (c == 1) encode_level(&k, enc, e - b, sp, sv, sc, 1);
                else encode_level(&k, enc, e - b, sp, sv, sc, c);
            } else {
                if (c == 3) err = decode_level(&k, dec, e - b, sp, sv, sc, 3);
                else if (c == 1) err = decode_level(&k, dec, e - b, sp, sv, sc, 1);
                else err = decode_level(&k, dec, e - b, sp, sv, sc, c);
                if (err != MC_OK) return err;
            }
        }
        /* the reconstructed values back in scan order, and into the grid when the next level uses it */
        {
            unsigned next = j + 1;
            while (next < LEVELS && bound[next] == bound[next + 1]) next++;
            if (next < LEVELS && cell_shift(next) == s) {
                if (c == 3) back_level(&g, idx, scan + b, e - b, rank, p->width, slot_val, recon, 3);
                else back_level(&g, idx, scan + b, e - b, rank, p->width, slot_val, recon, c);
                in_grid = j + 1;
            } else
                for (t = b; t < e; t++) {
                    uint32_t at = scan[t];
                    copy_values(recon + (size_t)at * c, slot_val + (size_t)rank[at] * c, c);
                }
        }
    }
    return MC_OK;
}

int mc_ranked_encode(const mc_ranked_params *p, const uint32_t *idx, const uint32_t *keys, const uint16_t *values,
                     size_t n, const mc_prior *prior, void *ws, size_t ws_size,
                     unsigned char *out, size_t cap, size_t *out_len, uint16_t *recon)
{
    mc_rc_encoder enc;
    int err;
    if (!out_len || (!out && cap)) return MC_ERR_ARG;
    *out_len = 0;
    rc_enc_init(&enc, out, cap);
    if ((err = run(p, idx, keys, values, n, prior, ws, ws_size, &enc, NULL, recon)) != MC_OK) return err;
    rc_enc_flush(&enc);
    *out_len = enc.len;
    return enc.len > cap ? MC_ERR_OUTPUT : MC_OK;
}

int mc_ranked_decode(const mc_ranked_params *p, const unsigned char *payload, size_t len, const uint32_t *idx,
                     const uint32_t *keys, size_t n, const mc_prior *prior, void *ws, size_t ws_size,
                     uint16_t *values)
{
    mc_rc_decoder dec;
    int err;
    if (!payload && len) return MC_ERR_ARG;
    dec.data = payload;
    dec.len = len;
    if ((err = run(p, idx, keys, NULL, n, prior, ws, ws_size, NULL, &dec, values)) != MC_OK) return err;
    return dec.pos == dec.len ? MC_OK : MC_ERR_TRAILING;
}
