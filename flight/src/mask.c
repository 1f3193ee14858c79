/* The pixel mask of spec/format.md section 5 and the keys of 6.5. C99, integers only, no allocation.
 * Reference: maskcodec/masks/ (hashed.py, bluenoise.py, integers.py). */
#include "../include/maskcodec.h"

#define GOLDEN 0x9E3779B9u
#define TILE_MASK 127u

uint32_t mc_fmix32(uint32_t x)
{
    x ^= x >> 16;
    x = (uint32_t)(x * 0x85EBCA6Bu);
    x ^= x >> 13;
    x = (uint32_t)(x * 0xC2B2AE35u);
    x ^= x >> 16;
    return x;
}

int mc_mask_kind_valid(int kind)
{
    return kind == MC_MASK_HASH || kind == MC_MASK_BLUENOISE;
}

void mc_bluenoise_shift(uint32_t seed, uint32_t *oy, uint32_t *ox)
{
    uint32_t s = mc_fmix32(seed);
    if (oy) *oy = (s >> 7) & TILE_MASK;
    if (ox) *ox = s & TILE_MASK;
}

int mc_ranks_check(const uint16_t *ranks)
{
    uint32_t seen[MC_TILE_RANKS / 32u];
    uint32_t i;
    if (!ranks) return MC_ERR_ARG;
    for (i = 0; i < MC_TILE_RANKS / 32u; i++) seen[i] = 0;
    for (i = 0; i < MC_TILE_RANKS; i++) {
        uint32_t r = ranks[i], bit;
        if (r >= MC_TILE_RANKS) return MC_ERR_RANKS;
        bit = (uint32_t)1u << (r & 31u);
        if (seen[r >> 5] & bit) return MC_ERR_RANKS;  /* 16384 values in range, none twice: a permutation */
        seen[r >> 5] |= bit;
    }
    return MC_OK;
}

int mc_ranks_from_le_bytes(const unsigned char *bytes, uint16_t *ranks)
{
    uint32_t i;
    if (!bytes || !ranks) return MC_ERR_ARG;
    for (i = 0; i < MC_TILE_RANKS; i++)
        ranks[i] = (uint16_t)((unsigned)bytes[2u * i] | ((unsigned)bytes[2u * i + 1u] << 8));
    return mc_ranks_check(ranks);
}

uint32_t mc_mask_key(int kind, uint32_t y, uint32_t x, uint32_t width, uint32_t seed, const uint16_t *ranks)
{
    if (kind == MC_MASK_HASH) {
        uint32_t i = (uint32_t)((uint32_t)(y * width) + x);  /* scan index, mod 2^32 */
        return mc_fmix32((uint32_t)((uint32_t)(i * GOLDEN) + mc_fmix32(seed)));
    }
    if (kind == MC_MASK_BLUENOISE && ranks) {
        uint32_t oy, ox;
        mc_bluenoise_shift(seed, &oy, &ox);
        return (uint32_t)ranks[MC_TILE * ((y + oy) & TILE_MASK) + ((x + ox) & TILE_MASK)] << MC_RANK_SHIFT;
    }
    return 0xFFFFFFFFu;
}

/* Kind 0: every pixel of the row hashed; i * GOLDEN + s advances by GOLDEN per column. */
static size_t hash_row(uint32_t y, uint32_t width, uint32_t threshold, uint32_t seed, uint32_t *cols)
{
    uint32_t v = (uint32_t)((uint32_t)((uint32_t)(y * width) * GOLDEN) + mc_fmix32(seed));
    uint32_t x;
    size_t n = 0;
    for (x = 0; x < width; x++) {
        if (mc_fmix32(v) <= threshold) cols[n++] = x;
        v = (uint32_t)(v + GOLDEN);
    }
    return n;
}

/* Bit index of the lowest set bit of a power of two (de Bruijn), portable C99. */
static const unsigned char debruijn32[32] = {
    0, 1, 28, 2, 29, 14, 24, 3, 30, 22, 20, 15, 25, 17, 4, 8,
    31, 27, 13, 23, 21, 19, 16, 7, 26, 12, 18, 6, 11, 5, 10, 9
};

/* Kind 1: `bits` marks the kept columns b (0..127) of one tile, already shifted (image column
 * x = 128 t + b). Lists them in ascending order once, then repeats them along the row up to width. */
static size_t tile_row_emit(const uint32_t bits[4], uint32_t width, uint32_t *cols)
{
    unsigned char list[MC_TILE];
    size_t m = 0, n = 0, j;
    uint32_t wi, base = 0;
    for (wi = 0; wi < 4u; wi++) {
        uint32_t w = bits[wi];
        while (w) {
            uint32_t low = w & (uint32_t)(~w + 1u);
            list[m++] = (unsigned char)(32u * wi + debruijn32[(uint32_t)(low * 0x077CB531u) >> 27]);
            w ^= low;
        }
    }
    if (m == 0) return 0;
    for (;;) {
        uint32_t rem = width - base;  /* base < width: no wrap */
        for (j = 0; j < m; j++) {
            if (list[j] >= rem) return n;
            cols[n++] = base + list[j];
        }
        if (rem <= MC_TILE) return n;
        base += MC_TILE;
    }
}

static void mark(uint32_t bits[4], uint32_t c, uint32_t ox)
{
    uint32_t b = (c - ox) & TILE_MASK;  /* tile column c lies at image columns x with (x + ox) & 127 == c */
    bits[b >> 5] |= (uint32_t)1u << (b & 31u);
}

size_t mc_mask_row(int kind, uint32_t y, uint32_t width, uint32_t threshold, uint32_t seed,
                   const uint16_t *ranks, uint32_t *cols_out)
{
    if (!cols_out && width) return MC_MASK_ERROR;
    if (kind == MC_MASK_HASH) return hash_row(y, width, threshold, seed, cols_out);
    if (kind == MC_MASK_BLUENOISE && ranks) {
        uint32_t oy, ox, c, k = threshold >> MC_RANK_SHIFT;
        uint32_t bits[4] = {0, 0, 0, 0};
        const uint16_t *row;
        mc_bluenoise_shift(seed, &oy, &ox);
        row = ranks + MC_TILE * ((y + oy) & TILE_MASK);
        for (c = 0; c < MC_TILE; c++)
            if (row[c] <= k) mark(bits, c, ox);
        return tile_row_emit(bits, width, cols_out);
    }
    return MC_MASK_ERROR;
}

size_t mc_mask_workspace_size(int kind)
{
    return kind == MC_MASK_BLUENOISE ? (size_t)MC_TILE_RANKS : 0;
}

int mc_mask_workspace_init(int kind, const uint16_t *ranks, void *ws, size_t ws_size)
{
    unsigned char *order = (unsigned char *)ws;
    uint32_t r, j;
    int err;
    if (kind == MC_MASK_HASH) return MC_OK;
    if (kind != MC_MASK_BLUENOISE || !ranks || !ws || ws_size < MC_TILE_RANKS) return MC_ERR_ARG;
    if ((err = mc_ranks_check(ranks)) != MC_OK) return err;
    for (r = 0; r < MC_TILE; r++) {  /* each tile row's columns by rank: insertion sort, once */
        const uint16_t *row = ranks + MC_TILE * r;
        unsigned char *ord = order + MC_TILE * r;
        for (j = 0; j < MC_TILE; j++) {
            uint32_t i = j;
            while (i > 0 && row[ord[i - 1]] > row[j]) {
                ord[i] = ord[i - 1];
                i--;
            }
            ord[i] = (unsigned char)j;
        }
    }
    return MC_OK;
}

size_t mc_mask_row_ws(int kind, uint32_t y, uint32_t width, uint32_t threshold, uint32_t seed,
                      const uint16_t *ranks, const void *ws, uint32_t *cols_out)
{
    if (!cols_out && width) return MC_MASK_ERROR;
    if (kind == MC_MASK_HASH) return hash_row(y, width, threshold, seed, cols_out);
    if (kind == MC_MASK_BLUENOISE && ranks && ws) {
        uint32_t oy, ox, tr, k = threshold >> MC_RANK_SHIFT, lo = 0, hi = MC_TILE, j;
        uint32_t bits[4] = {0, 0, 0, 0};
        const uint16_t *row;
        const unsigned char *ord;
        mc_bluenoise_shift(seed, &oy, &ox);
        tr = (y + oy) & TILE_MASK;
        row = ranks + MC_TILE * tr;
        ord = (const unsigned char *)ws + MC_TILE * tr;
        while (lo < hi) {  /* lo = how many of the row's ranks are <= k */
            uint32_t mid = (lo + hi) >> 1;
            if (row[ord[mid]] <= k) lo = mid + 1;
            else hi = mid;
        }
        for (j = 0; j < lo; j++) mark(bits, ord[j], ox);
        return tile_row_emit(bits, width, cols_out);
    }
    return MC_MASK_ERROR;
}
