/* The predictor fill, C99, integers only, no allocation: byte for byte maskcodec.inpainting.predictor_fill's
 * predictor_fill_reference (the survivor coder's prediction of spec 6.5 run over the missing pixels, coarse to fine).
 *
 * Levels from pixel positions: the level of (y, x) is the number of trailing zero bits of y | x, (0, 0) has the top
 * level L = bit_length(max(H, W) - 1). Levels are filled from L down to 0 from the kept pixels and the lattice of
 * step 2^(l+1) (every pixel of a level above, filled by then), at cells of side 2^s, s = min(l + 1, s_d), s_d the
 * smallest s >= 1 with n 4^s >= H W (n kept pixels). Each cell offers its first 3 known pixels in scan order; a
 * target's candidates are those of the 3 x 3 cells around its own, weights max(1, 2^30 / d2^2), prediction
 * (sum w v + W / 2) / W per channel. No candidate: the lattice parent's value; (0, 0): the first 3 kept pixels.
 *
 * How. The grid holds the kept pixels only (built again when s changes: s_d, then s_d - 1 ... 1). A lattice pixel
 * always lies on a cell's corner, the cell's first pixel in scan order, so a cell offers its corner when that is a
 * lattice pixel (and not kept: then it is already the cell's first kept pixel), then its kept pixels. Values are read
 * from the caller's image, where the known ones are and the filled ones go: pixels of one level are never candidates
 * of each other, so filling in place changes no prediction. Where cells are small (s <= TAB_S, nearly every target)
 * the weights come from tables by offset, a window's candidates are gathered column by column (each column serves 3
 * windows), and at the fine levels (s = l + 1: every cell's corner a lattice pixel) the 9 corners of a window are
 * summed by a stencil that adds equal-weight corners before multiplying. Sums are integers, so the order of the
 * terms changes nothing. */
#include <string.h>

#include "../include/maskcodec.h"

#define PER_CELL 3u              /* candidates a cell offers */
#define MAX_CAND (9u * PER_CELL)
#define WEIGHT_ONE (1u << 30)
#define LUT_N 2048u              /* weights of d2 < LUT_N from a table */
#define FAR_D2 32768u            /* d2 >= 2^15: weight 1 */
#define NEAR 182u                /* |dy| or |dx| >= 182: d2 >= 33124, weight 1 */
#define ALIGN 16u
#define TAB_S 4u                 /* cells up to 2^TAB_S: the weights by the candidate's offset come from tables */
#define TAB_SPAN (3u << TAB_S)   /* rows (and columns) of the 3 x 3 cells around a target's */
#define TABLES 4u                /* targets (0, step), (step, 0), (step, step) from a cell's corner, and (0, 0) */
#define TAB_BYTES (TABLES * TAB_SPAN * TAB_SPAN * 4u)
#define ONES 0x0101010101010101u

typedef struct {
    uint32_t o[PER_CELL];        /* the cell's first kept pixels' offsets (oy, ox) from its corner as oy * W + ox */
    uint16_t r[PER_CELL];        /* and as oy * span + ox < 2304, span = 3 * 2^s (cells up to 2^TAB_S; else 0) */
    uint16_t n;                  /* how many (0..3) */
} cell;

typedef struct {
    uint32_t h, w, c, s;         /* image, channels, current cell shift */
    uint32_t rows, cols;         /* the image's cells at shift s */
    size_t gw;                   /* grid columns: the image's cells and a border cell each side */
    const unsigned char *known;
    uint16_t *v;
    const uint32_t *lut;         /* weights of d2 < LUT_N */
    uint32_t *tab;               /* TABLES tables of span x span weights (span = 3 * 2^s) */
    cell *grid;
} filler;

/* A target's candidates: rel = ry * span + rx, their row and column in the window of the 3 x 3 cells (from the
 * corner of the cell up and left of the target's), and at, the index of their first sample. */
typedef struct {
    uint64_t rel[MAX_CAND];
    size_t at[MAX_CAND];
    unsigned n;
} candidates;

/* The candidates of the 3 cells of one column of a window (cells (cy - 1 .. cy + 1, cx)): rel = ry * span + ox (the
 * column's offset b * side is added where it is used), at as above. */
typedef struct {
    uint32_t rel[3u * PER_CELL];
    size_t at[3u * PER_CELL];
    unsigned n;
} column;

static size_t grid_cells(uint32_t h, uint32_t w, unsigned s)
{
    return ((size_t)((h - 1u) >> s) + 3u) * ((size_t)((w - 1u) >> s) + 3u);
}

size_t mc_fill_workspace_size(uint32_t height, uint32_t width)
{
    size_t cells;
    if (height == 0 || width == 0 || (uint64_t)height * width > UINT32_MAX) return 0;
    cells = grid_cells(height, width, 1);
    if (cells > ((size_t)-1 - LUT_N * 4u - TAB_BYTES - 2u * ALIGN) / sizeof(cell)) return 0;
    return LUT_N * 4u + TAB_BYTES + cells * sizeof(cell) + 2u * ALIGN;
}

/* max(1, 2^30 / d2^2) for d2 = dy^2 + dx^2 >= 1. */
static inline uint32_t weight(const uint32_t *lut, uint32_t dy, uint32_t dx)
{
    uint32_t d2;
    if (dy >= NEAR || dx >= NEAR) return 1u;
    d2 = dy * dy + dx * dx;
    if (d2 < LUT_N) return lut[d2];
    return d2 < FAR_D2 ? (uint32_t)(WEIGHT_ONE / ((uint64_t)d2 * d2)) : 1u;
}

/* The number of non-zero bytes of known[0..n). */
static size_t count_kept(const unsigned char *known, size_t n)
{
    size_t i = 0, kept = 0;
    for (; i + 8u <= n; i += 8u) {
        uint64_t x;
        memcpy(&x, known + i, 8);
        x |= x >> 4;
        x |= x >> 2;
        x |= x >> 1;
        kept += (size_t)(((x & ONES) * ONES) >> 56);
    }
    for (; i < n; i++) kept += known[i] != 0;
    return kept;
}

/* The grid of the kept pixels at cells of side 2^s: each cell's first 3 in scan order. */
static void build_grid(filler *f, unsigned s)
{
    uint32_t y, x, cmask = (1u << s) - 1u, span = s <= TAB_S ? 3u << s : 0u;
    size_t i, cells = grid_cells(f->h, f->w, s);
    f->s = s;
    f->rows = ((f->h - 1u) >> s) + 1u;
    f->cols = ((f->w - 1u) >> s) + 1u;
    f->gw = (size_t)f->cols + 2u;
    for (i = 0; i < cells; i++) f->grid[i].n = 0;
    for (y = 0; y < f->h; y++) {
        const unsigned char *row = f->known + (size_t)y * f->w;
        cell *crow = f->grid + ((size_t)(y >> s) + 1u) * f->gw + 1u;
        uint32_t oy = y & cmask, ow = oy * f->w, orow = oy * span;
        x = 0;
        while (x < f->w) {
            if (x + 8u <= f->w) {    /* skip 8 unkept pixels at a time */
                uint64_t word;
                memcpy(&word, row + x, 8);
                if (!word) {
                    x += 8u;
                    continue;
                }
            }
            if (row[x]) {
                cell *g = crow + (x >> s);
                if (g->n < PER_CELL) {
                    g->o[g->n] = ow + (x & cmask);
                    g->r[g->n++] = (uint16_t)(orow + (x & cmask));
                }
            }
            x++;
        }
    }
}

/* Table t (cells up to 2^TAB_S): the weight of every window position for a target (oy, ox) from its cell's corner. */
static void make_table(filler *f, unsigned t, uint32_t oy, uint32_t ox)
{
    uint32_t side = 1u << f->s, span = 3u * side, ry, rx, ty = side + oy, tx = side + ox;
    uint32_t *tab = f->tab + (size_t)t * TAB_SPAN * TAB_SPAN;
    for (ry = 0; ry < span; ry++)
        for (rx = 0; rx < span; rx++)
            tab[ry * span + rx] = ry == ty && rx == tx ? 0u : weight(f->lut, ry > ty ? ry - ty : ty - ry,
                                                                    rx > tx ? rx - tx : tx - rx);
}

/* The candidates of the targets of cell (cy, cx). A cell offers its corner first when that is a lattice pixel
 * (a multiple of `lattice` in y and x; lattice 0: none) that is not kept, then its kept pixels, 3 in all. */
static void gather(const filler *f, uint32_t cy, uint32_t cx, uint64_t lattice, candidates *cd)
{
    unsigned s = f->s, a, b, k, n = 0;
    unsigned a0 = cy == 0, a1 = cy + 1u == f->rows ? 2u : 3u, b0 = cx == 0, b1 = cx + 1u == f->cols ? 2u : 3u;
    uint64_t side = (uint64_t)1u << s, span = 3u * side, lm = lattice - 1u;
    for (a = a0; a < a1; a++) {
        uint64_t gy = (uint64_t)(cy + a - 1u) << s;
        const cell *g = f->grid + ((size_t)cy + a) * f->gw + cx + b0;
        for (b = b0; b < b1; b++, g++) {
            uint64_t gx = (uint64_t)(cx + b - 1u) << s, base = a * side * span + b * side;
            size_t corner = (size_t)gy * f->w + (size_t)gx;
            unsigned take = g->n;
            if (lattice && !((gy | gx) & lm) && !(take && g->o[0] == 0)) {
                cd->rel[n] = base;
                cd->at[n++] = corner * f->c;
                if (take > PER_CELL - 1u) take = PER_CELL - 1u;
            }
            for (k = 0; k < take; k++, n++) {
                uint32_t oy = g->o[k] / f->w, ox = g->o[k] % f->w;
                cd->rel[n] = base + oy * span + ox;
                cd->at[n] = (corner + g->o[k]) * f->c;
            }
        }
    }
    cd->n = n;
}

/* The rounded weighted means of the candidates' values into out; 0 when there is no candidate (nothing written).
 * Weights from table t, or (tab NULL) computed for a target at (ty, tx) in the window. */
static int predict(const filler *f, const uint32_t *tab, uint64_t ty, uint64_t tx, const candidates *cd, uint16_t *out)
{
    uint32_t wt[MAX_CAND];
    uint64_t total = 0, span = (uint64_t)3u << f->s;
    unsigned k, n = cd->n;
    size_t ch, c = f->c;
    const uint16_t *v = f->v;
    for (k = 0; k < n; k++) {
        if (tab) wt[k] = tab[cd->rel[k]];
        else {
            uint64_t ry = cd->rel[k] / span, rx = cd->rel[k] % span;
            wt[k] = weight(f->lut, (uint32_t)(ry > ty ? ry - ty : ty - ry), (uint32_t)(rx > tx ? rx - tx : tx - rx));
        }
        total += wt[k];
    }
    if (!total) return 0;
    if (c == 3u) {
        uint64_t s0 = total >> 1, s1 = s0, s2 = s0;
        for (k = 0; k < n; k++) {
            const uint16_t *p = v + cd->at[k];
            s0 += (uint64_t)wt[k] * p[0];
            s1 += (uint64_t)wt[k] * p[1];
            s2 += (uint64_t)wt[k] * p[2];
        }
        out[0] = (uint16_t)(s0 / total);
        out[1] = (uint16_t)(s1 / total);
        out[2] = (uint16_t)(s2 / total);
    } else {
        for (ch = 0; ch < c; ch++) {
            uint64_t sum = total >> 1;
            for (k = 0; k < n; k++) sum += (uint64_t)wt[k] * v[cd->at[k] + ch];
            out[ch] = (uint16_t)(sum / total);
        }
    }
    return 1;
}

static int missing(const filler *f, uint64_t y, uint64_t x)
{
    return !f->known[(size_t)y * f->w + (size_t)x];
}

static inline uint16_t mean(uint64_t sum, uint64_t total)
{
    return (uint16_t)((sum + (total >> 1)) / total);
}

/* What the columns of the windows of one cell row share: for each of its 3 cell rows, the grid's row (NULL: the
 * border), the flat index of its first corner, whether its corners' row is a lattice row, its window offset. */
typedef struct {
    const cell *grid[3];
    size_t corner[3];
    int lattice_row[3];
    uint32_t base[3];
    uint32_t lm;                 /* lattice - 1 */
    int corners;                 /* 0: no corner at all, kept or not (a fine level's, which the stencil adds) */
} window_rows;

static void rows_of(const filler *f, uint32_t cy, uint32_t lm, int corners, window_rows *wr)
{
    unsigned a, side = 1u << f->s;
    for (a = 0; a < 3u; a++) {
        uint32_t gy = (cy + a - 1u) << f->s;
        wr->grid[a] = (cy == 0 && a == 0) || (a == 2u && cy + 1u == f->rows) ? NULL
                    : f->grid + ((size_t)cy + a) * f->gw + 1u;
        wr->corner[a] = (size_t)gy * f->w;
        wr->lattice_row[a] = !(gy & lm);
        wr->base[a] = a * side * 3u * side;
    }
    wr->lm = lm;
    wr->corners = corners;
}

/* The candidates of column cx of the windows of a cell row (cx >= cols: none), cells up to 2^TAB_S; corners offered
 * as in gather, or (wr->corners 0) none: each cell's first 2 kept pixels off its corner. */
static void gather_column(const filler *f, const window_rows *wr, uint32_t cx, column *col)
{
    unsigned a, k, n = 0;
    uint32_t gx = cx << f->s;
    int lattice_col = !(gx & wr->lm);
    col->n = 0;
    if (cx >= f->cols) return;
    for (a = 0; a < 3u; a++) {
        const cell *g;
        size_t corner;
        unsigned take;
        if (!wr->grid[a]) continue;
        g = wr->grid[a] + cx;
        corner = wr->corner[a] + gx;
        take = g->n;
        k = 0;
        if (!wr->corners) {
            k = take && g->o[0] == 0;
            if (take > k + PER_CELL - 1u) take = k + PER_CELL - 1u;
        } else if (lattice_col && wr->lattice_row[a] && !(take && g->o[0] == 0)) {  /* a lattice corner, not kept */
            col->rel[n] = wr->base[a];
            col->at[n++] = corner * f->c;
            if (take > PER_CELL - 1u) take = PER_CELL - 1u;
        }
        for (; k < take; k++, n++) {
            col->rel[n] = wr->base[a] + g->r[k];
            col->at[n] = (corner + g->o[k]) * f->c;
        }
    }
    col->n = n;
}

/* The last 3 columns gathered in a cell row (id: column + 2; 0 none). */
typedef struct {
    column col[3];
    uint32_t id[3];
} column_cache;

/* The columns cx - 1, cx, cx + 1 of a cell row (the cache holds that row's), gathering those it lacks. */
static void window(const filler *f, column_cache *cc, const window_rows *wr, uint32_t cx, const column *cols[3])
{
    unsigned b;
    for (b = 0; b < 3u; b++) {
        uint32_t id = cx + b + 1u, slot = id % 3u;
        if (cc->id[slot] != id) {
            cc->id[slot] = id;
            if (id == 1u) cc->col[slot].n = 0;  /* column -1: the border */
            else gather_column(f, wr, id - 2u, &cc->col[slot]);
        }
        cols[b] = &cc->col[slot];
    }
}

/* One target from the columns of its window with table t: the rounded weighted means into out; 0 when there is no
 * candidate (nothing written). */
static int predict1(const filler *f, unsigned t, const column *const cols[3], uint16_t *out)
{
    const uint32_t side = 1u << f->s, *tab = f->tab + (size_t)t * TAB_SPAN * TAB_SPAN;
    uint32_t wt[MAX_CAND];
    size_t at[MAX_CAND], ch, c = f->c;
    unsigned b, k, n = 0;
    uint64_t total = 0;
    for (b = 0; b < 3u; b++)
        for (k = 0; k < cols[b]->n; k++, n++) {
            wt[n] = tab[cols[b]->rel[k] + b * side];
            at[n] = cols[b]->at[k];
            total += wt[n];
        }
    if (!total) return 0;
    if (c == 3u) {
        uint64_t s0 = 0, s1 = 0, s2 = 0;
        for (k = 0; k < n; k++) {
            const uint16_t *p = f->v + at[k];
            s0 += (uint64_t)wt[k] * p[0];
            s1 += (uint64_t)wt[k] * p[1];
            s2 += (uint64_t)wt[k] * p[2];
        }
        out[0] = mean(s0, total);
        out[1] = mean(s1, total);
        out[2] = mean(s2, total);
        return 1;
    }
    for (ch = 0; ch < c; ch++) {
        uint64_t sum = 0;
        for (k = 0; k < n; k++) sum += (uint64_t)wt[k] * f->v[at[k] + ch];
        out[ch] = mean(sum, total);
    }
    return 1;
}

/* The weights of the 9 corners of a fine level's window (cells of side 2h, h = 2^l) for its 3 targets, grouped by
 * equal weight, and their sums. Corner (A, B) (A, B in -1..1, cells from the targets' own) lies at (2hA, 2hB) from
 * the own corner; the targets at (0, h), (h, 0), (h, h). */
typedef struct {
    uint64_t w[3][4];
    uint64_t total[3];
} stencil;

static void make_stencil(const filler *f, unsigned l, stencil *st)
{
    uint32_t h = 1u << l, h2 = 2u * h, h3 = 3u * h;
    const uint32_t *lut = f->lut;
    st->w[0][0] = weight(lut, h2, h3);   /* A = +-1, B = -1 */
    st->w[0][1] = weight(lut, h2, h);    /* A = +-1, B = 0, 1 */
    st->w[0][2] = weight(lut, 0, h3);    /* A = 0, B = -1 */
    st->w[0][3] = weight(lut, 0, h);     /* A = 0, B = 0, 1 */
    st->w[1][0] = weight(lut, h3, h2);   /* A = -1, B = +-1 */
    st->w[1][1] = weight(lut, h3, 0);    /* A = -1, B = 0 */
    st->w[1][2] = weight(lut, h, h2);    /* A = 0, 1, B = +-1 */
    st->w[1][3] = weight(lut, h, 0);     /* A = 0, 1, B = 0 */
    st->w[2][0] = weight(lut, h, h);     /* A, B in 0, 1 */
    st->w[2][1] = weight(lut, h3, h);    /* A = -1, B = 0, 1 and A = 0, 1, B = -1 */
    st->w[2][2] = weight(lut, h3, h3);   /* A = B = -1 */
    st->w[2][3] = 0;
    st->total[0] = 2u * st->w[0][0] + 4u * st->w[0][1] + st->w[0][2] + 2u * st->w[0][3];
    st->total[1] = 2u * st->w[1][0] + st->w[1][1] + 4u * st->w[1][2] + 2u * st->w[1][3];
    st->total[2] = 4u * st->w[2][0] + 4u * st->w[2][1] + st->w[2][2];
}

/* The 3 targets of an inner cell of a fine level (its 9 window cells in the image): the corners by the stencil, the
 * other candidates (the columns) by the tables; corner: the own corner's first sample. out[t] NULL for a kept one. */
static void predict_inner(const filler *f, const stencil *st, size_t corner, const column *const cols[3],
                          uint16_t *const out[3])
{
    const uint32_t side = 1u << f->s, *tab = f->tab;
    const size_t c = f->c, dr = (size_t)side * f->w * c, dc = (size_t)side * c;
    const uint16_t *r0 = f->v + corner, *rm = r0 - dr, *rp = r0 + dr;
    uint32_t u0[MAX_CAND], u1[MAX_CAND], u2[MAX_CAND];
    size_t at[MAX_CAND], ch;
    uint64_t t0 = st->total[0], t1 = st->total[1], t2 = st->total[2];
    unsigned b, k, n = 0;
    for (b = 0; b < 3u; b++)
        for (k = 0; k < cols[b]->n; k++, n++) {
            uint32_t r = cols[b]->rel[k] + b * side;
            u0[n] = tab[r];
            u1[n] = tab[r + TAB_SPAN * TAB_SPAN];
            u2[n] = tab[r + 2u * TAB_SPAN * TAB_SPAN];
            at[n] = cols[b]->at[k];
            t0 += u0[n];
            t1 += u1[n];
            t2 += u2[n];
        }
    for (ch = 0; ch < c; ch++) {
        uint64_t mm = rm[ch - dc], m0 = rm[ch], mp = rm[ch + dc], om = r0[ch - dc], oo = r0[ch], op = r0[ch + dc];
        uint64_t pm = rp[ch - dc], p0 = rp[ch], pp = rp[ch + dc];
        uint64_t s0 = st->w[0][0] * (mm + pm) + st->w[0][1] * (m0 + mp + p0 + pp) + st->w[0][2] * om
                      + st->w[0][3] * (oo + op);
        uint64_t s1 = st->w[1][0] * (mm + mp) + st->w[1][1] * m0 + st->w[1][2] * (om + op + pm + pp)
                      + st->w[1][3] * (oo + p0);
        uint64_t s2 = st->w[2][0] * (oo + op + p0 + pp) + st->w[2][1] * (m0 + mp + om + pm) + st->w[2][2] * mm;
        for (k = 0; k < n; k++) {
            uint64_t v = f->v[at[k] + ch];
            s0 += u0[k] * v;
            s1 += u1[k] * v;
            s2 += u2[k] * v;
        }
        if (out[0]) out[0][ch] = mean(s0, t0);
        if (out[1]) out[1][ch] = mean(s1, t1);
        if (out[2]) out[2][ch] = mean(s2, t2);
    }
}

/* Level l < top with cells of the lattice's own step (s = l + 1): every cell's corner is a lattice pixel and its
 * other 3 pixels, the level's, share one set of candidates (never empty: the own corner). Cells up to 2^TAB_S: the
 * window's columns (the candidates off the corners) are gathered once for the 3 cells that use them, weights come
 * from tables, and inner cells weigh the 9 corners by the stencil; border cells add the corners in the image. */
static void fill_fine(filler *f, unsigned l)
{
    uint32_t cy, cx, side = 1u << f->s, step = 1u << l, span = 3u * side;
    int tables = f->s <= TAB_S;
    size_t c = f->c, w = f->w;
    candidates cd;
    column_cache cc;
    stencil st;
    if (tables) {
        make_table(f, 0, 0, step);
        make_table(f, 1, step, 0);
        make_table(f, 2, step, step);
    }
    make_stencil(f, l, &st);  /* h <= 2^15: s = l + 1 <= s_d <= 16 */
    for (cy = 0; cy < f->rows; cy++) {
        uint64_t y0 = (uint64_t)cy << f->s, y1 = y0 + step;
        window_rows wr;
        if (tables) rows_of(f, cy, side - 1u, 0, &wr);
        cc.id[0] = cc.id[1] = cc.id[2] = 0;
        for (cx = 0; cx < f->cols; cx++) {
            uint64_t x0 = (uint64_t)cx << f->s, x1 = x0 + step;
            uint16_t *out[3];
            unsigned t, a, b, k, todo;
            out[0] = x1 < f->w && missing(f, y0, x1) ? f->v + ((size_t)y0 * w + (size_t)x1) * c : NULL;
            out[1] = y1 < f->h && missing(f, y1, x0) ? f->v + ((size_t)y1 * w + (size_t)x0) * c : NULL;
            out[2] = y1 < f->h && x1 < f->w && missing(f, y1, x1) ? f->v + ((size_t)y1 * w + (size_t)x1) * c : NULL;
            todo = (out[0] != NULL) + (out[1] != NULL) + (out[2] != NULL);
            if (!todo) continue;
            if (!tables) {
                gather(f, cy, cx, side, &cd);
                for (t = 0; t < 3u; t++)
                    if (out[t]) predict(f, NULL, side + (t ? step : 0u), side + (t != 1u ? step : 0u), &cd, out[t]);
                continue;
            }
            {
                const column *cols[3];
                window(f, &cc, &wr, cx, cols);
                if (todo > 1u && cy && cx && cy + 1u < f->rows && cx + 1u < f->cols) {
                    predict_inner(f, &st, ((size_t)y0 * w + (size_t)x0) * c, cols, out);
                    continue;
                }
                cd.n = 0;  /* a border cell or one target: the corners in the image, then the columns */
                for (a = cy == 0; a < (cy + 1u == f->rows ? 2u : 3u); a++)
                    for (b = cx == 0; b < (cx + 1u == f->cols ? 2u : 3u); b++) {
                        cd.rel[cd.n] = (uint64_t)(a * side) * span + b * side;
                        cd.at[cd.n++] = (((size_t)(cy + a - 1u) << f->s) * w + ((size_t)(cx + b - 1u) << f->s)) * c;
                    }
                for (b = 0; b < 3u; b++)
                    for (k = 0; k < cols[b]->n; k++) {
                        cd.rel[cd.n] = cols[b]->rel[k] + b * side;
                        cd.at[cd.n++] = cols[b]->at[k];
                    }
                for (t = 0; t < 3u; t++)
                    if (out[t]) predict(f, f->tab + (size_t)t * TAB_SPAN * TAB_SPAN, 0, 0, &cd, out[t]);
            }
        }
    }
}

/* Level l < top with cells smaller than the lattice's step (s <= l): a target lies on its cell's corner, one to a
 * cell at most; one without candidate takes its lattice parent's value. */
static void fill_coarse(filler *f, unsigned l)
{
    uint64_t y, x, step = (uint64_t)1u << l, lattice = step << 1, side = (uint64_t)1u << f->s;
    int tables = f->s <= TAB_S;
    candidates cd;
    column_cache cc;
    if (tables) make_table(f, 3, 0, 0);
    for (y = 0; y < f->h; y += step) {
        uint64_t inc = (y >> l) & 1u ? step : lattice;
        window_rows wr;
        if (tables) rows_of(f, (uint32_t)(y >> f->s), (uint32_t)(lattice - 1u), 1, &wr);
        cc.id[0] = cc.id[1] = cc.id[2] = 0;
        for (x = inc - step; x < f->w; x += inc) {
            uint16_t *out = f->v + ((size_t)y * f->w + (size_t)x) * f->c;
            int done;
            if (!missing(f, y, x)) continue;
            if (tables) {
                const column *cols[3];
                window(f, &cc, &wr, (uint32_t)(x >> f->s), cols);
                done = predict1(f, 3, cols, out);
            } else {
                gather(f, (uint32_t)(y >> f->s), (uint32_t)(x >> f->s), lattice, &cd);
                done = predict(f, NULL, side, side, &cd, out);
            }
            if (!done) {  /* the lattice parent, filled before */
                size_t parent = (size_t)(y & ~(lattice - 1u)) * f->w + (size_t)(x & ~(lattice - 1u));
                memcpy(out, f->v + parent * f->c, (size_t)f->c * 2u);
            }
        }
    }
}

/* Pixel (0, 0), the top level: from the kept pixels at cells of side 2^s; none: the first 3 in scan order. */
static void fill_top(filler *f)
{
    candidates cd;
    size_t i, pixels = (size_t)f->h * f->w;
    uint32_t wt[PER_CELL];
    uint64_t total = 0, sum;
    unsigned k, n = 0;
    size_t ch;
    gather(f, 0, 0, 0, &cd);
    if (predict(f, NULL, (uint64_t)1u << f->s, (uint64_t)1u << f->s, &cd, f->v)) return;
    for (i = 0; i < pixels && n < PER_CELL; i++)
        if (f->known[i]) {
            cd.at[n] = i * f->c;
            wt[n] = weight(f->lut, (uint32_t)(i / f->w), (uint32_t)(i % f->w));
            total += wt[n++];
        }
    for (ch = 0; ch < f->c; ch++) {
        for (sum = 0, k = 0; k < n; k++) sum += (uint64_t)wt[k] * f->v[cd.at[k] + ch];
        f->v[ch] = mean(sum, total);
    }
}

int mc_fill(uint32_t height, uint32_t width, uint32_t channels, const unsigned char *known, uint16_t *values,
            void *ws, size_t ws_size)
{
    filler f;
    size_t pixels, i, kept, need = mc_fill_workspace_size(height, width);
    unsigned char *base;
    uint32_t *lut;
    unsigned top, s_d, l, d2;
    if (!need || channels == 0 || !known || !values || !ws || ws_size < need) return MC_ERR_ARG;
    pixels = (size_t)height * width;
    if (pixels > (size_t)-1 / 2u / channels) return MC_ERR_ARG;
    kept = count_kept(known, pixels);
    if (kept == pixels) return MC_OK;
    if (kept == 0) {
        for (i = 0; i < pixels * channels; i++) values[i] = MC_FILL_MID;
        return MC_OK;
    }
    base = (unsigned char *)ws + ((ALIGN - (uintptr_t)ws % ALIGN) % ALIGN);
    lut = (uint32_t *)(void *)base;
    lut[0] = WEIGHT_ONE;  /* never used: a candidate is never the target */
    for (d2 = 1; d2 < LUT_N; d2++) lut[d2] = (uint32_t)(WEIGHT_ONE / ((uint64_t)d2 * d2));
    f.h = height;
    f.w = width;
    f.c = channels;
    f.known = known;
    f.v = values;
    f.lut = lut;
    f.tab = (uint32_t *)(void *)(base + LUT_N * 4u);
    f.grid = (cell *)(void *)(base + LUT_N * 4u + TAB_BYTES);
    for (s_d = 1; ((uint64_t)kept << (2u * s_d)) < (uint64_t)pixels; s_d++) {}
    for (top = 0; ((uint64_t)1 << top) < (height > width ? height : width); top++) {}
    build_grid(&f, s_d < top + 1u ? s_d : top + 1u);
    if (!known[0]) fill_top(&f);
    for (l = top; l-- > 0;) {
        unsigned s = s_d < l + 1u ? s_d : l + 1u;
        if (s != f.s) build_grid(&f, s);
        if (s == l + 1u) fill_fine(&f, l);
        else fill_coarse(&f, l);
    }
    return MC_OK;
}
