/* mcmask: the flight mask from the command line, for comparing with the Python reference.
 *
 *   mcmask [-c] [-p ws|row|scan] KIND H W T SEED RANKS
 *       prints "index key" for every kept pixel of an H x W image, in scan order (index = y * W + x,
 *       key as maskcodec.masks.keys_at gives it). KIND 0 (hash) or 1 (bluenoise); T the 32-bit
 *       threshold; numbers in decimal or 0x hex; RANKS the path of bluenoise128.u16 ("-": none, kind 0).
 *       -p picks how the kept columns are found: ws (mc_mask_row_ws, the default), row (mc_mask_row)
 *       or scan (every pixel's mc_mask_key <= T). -c checks, row by row, that all three agree.
 *   mcmask selftest RANKS
 *       the test values of spec/format.md section 5 and cross-checks of the row functions.
 *
 * Exit status: 0 ok, 1 a check failed, 2 usage or input error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/maskcodec.h"

static uint16_t g_ranks[MC_TILE_RANKS];
static unsigned char g_ws[MC_TILE_RANKS];
static uint32_t g_a[1u << 16], g_b[1u << 16], g_c[1u << 16];  /* row buffers: widths up to 65536 */
#define MAX_WIDTH (1u << 16)

static int load_ranks(const char *path)
{
    static unsigned char bytes[MC_TILE_BYTES + 1];
    size_t got;
    int err;
    FILE *f = fopen(path, "rb");
    if (!f) {
        fprintf(stderr, "mcmask: cannot open %s\n", path);
        return 2;
    }
    got = fread(bytes, 1, sizeof bytes, f);
    fclose(f);
    if (got != MC_TILE_BYTES) {
        fprintf(stderr, "mcmask: %s holds %lu bytes, not %u\n", path, (unsigned long)got, MC_TILE_BYTES);
        return 2;
    }
    if ((err = mc_ranks_from_le_bytes(bytes, g_ranks)) != MC_OK) {
        fprintf(stderr, "mcmask: %s is not a rank table (error %d)\n", path, err);
        return 2;
    }
    if ((err = mc_mask_workspace_init(MC_MASK_BLUENOISE, g_ranks, g_ws, sizeof g_ws)) != MC_OK) {
        fprintf(stderr, "mcmask: workspace error %d\n", err);
        return 2;
    }
    return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
    char *end;
    unsigned long v;
    if (!s || !*s || *s == '-') return 0;
    errno = 0;
    v = strtoul(s, &end, 0);
    if (errno || *end || v > 0xFFFFFFFFul) return 0;
    *out = (uint32_t)v;
    return 1;
}

/* The kept columns of row y by every pixel's key (the definition). */
static size_t scan_row(int kind, uint32_t y, uint32_t width, uint32_t t, uint32_t seed, uint32_t *cols)
{
    uint32_t x;
    size_t n = 0;
    for (x = 0; x < width; x++)
        if (mc_mask_key(kind, y, x, width, seed, g_ranks) <= t) cols[n++] = x;
    return n;
}

static int same(const uint32_t *a, size_t na, const uint32_t *b, size_t nb)
{
    return na == nb && (na == 0 || memcmp(a, b, na * sizeof *a) == 0);
}

/* The three ways agree on row y (and list distinct ascending columns below width). */
static int row_agrees(int kind, uint32_t y, uint32_t width, uint32_t t, uint32_t seed)
{
    size_t na = mc_mask_row_ws(kind, y, width, t, seed, g_ranks, g_ws, g_a);
    size_t nb = mc_mask_row(kind, y, width, t, seed, g_ranks, g_b);
    size_t nc = scan_row(kind, y, width, t, seed, g_c), i;
    if (na == MC_MASK_ERROR || !same(g_a, na, g_c, nc) || !same(g_b, nb, g_c, nc)) return 0;
    for (i = 0; i < na; i++)
        if (g_a[i] >= width || (i && g_a[i] <= g_a[i - 1])) return 0;
    return 1;
}

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
                                 fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

/* The 4 x 8 mask rows of spec 5's table, "1" = kept. */
static void mask_4x8(int kind, uint32_t seed, uint32_t t, char rows[4][9])
{
    uint32_t y, cols[8];
    size_t n, i;
    for (y = 0; y < 4; y++) {
        memset(rows[y], '0', 8);
        rows[y][8] = 0;
        n = mc_mask_row_ws(kind, y, 8, t, seed, g_ranks, g_ws, cols);
        for (i = 0; i < n && n <= 8; i++) rows[y][cols[i]] = '1';
    }
}

/* T = min(2^32 - 1, ceil(k * 2^32) - 1) for k = num / den, in integers (spec 5; the encoder's float k). */
static uint32_t threshold_of(uint32_t num, uint32_t den)
{
    uint64_t t = ((((uint64_t)num << 32) + den - 1u) / den) - 1u;
    return t > 0xFFFFFFFFu ? 0xFFFFFFFFu : (uint32_t)t;
}

static int selftest(void)
{
    static const uint32_t fm_in[4] = {0, 1, 2, 0xFFFFFFFFu}, fm_out[4] = {0, 0x514E28B7u, 0x30F4C306u, 0x81F16F39u};
    static const uint32_t h0[4] = {0, 0x92CA2F0Eu, 0x3CD6E3F3u, 0x1B147DCCu};
    static const uint32_t h7[4] = {0x674F1CBEu, 0x12EAEC12u, 0xAE6AB5C2u, 0x6F091601u};
    static const char *hash_rows[4] = {"11010000", "10000010", "00010100", "00110110"};
    static const char *blue_rows[4] = {"11101011", "10010100", "10100101", "01101001"};
    static const uint16_t r0[4] = {5801, 15741, 4609, 11346}, r1[4] = {962, 8540, 3029, 14036};
    static const uint32_t widths[] = {1, 2, 3, 127, 128, 129, 200, 255, 256, 257, 1000};
    static const uint32_t ys[] = {0, 1, 126, 127, 128, 129, 300, 0xFFFFFF80u, 0xFFFFFFFFu};
    static const uint32_t seeds[] = {0, 1, 7, 12345, 0xFFFFFFFFu};
    static const uint32_t ts[] = {0, 0x3FFFFu, 0x40000u, 0x7FFFFu, 4294967u, 0x10000000u, 429496729u,
                                  2147483647u, 0xFFFBFFFFu, 0xFFFC0000u, 0xFFFFFFFEu, 0xFFFFFFFFu};
    char rows[4][9];
    uint32_t i, j, a, b, oy, ox, kind;
    size_t rows_checked = 0;

    /* spec 5, test values */
    for (i = 0; i < 4; i++) CHECK(mc_fmix32(fm_in[i]) == fm_out[i], "fmix32(0x%08" PRIX32 ")", fm_in[i]);
    for (i = 0; i < 4; i++) {
        CHECK(mc_mask_key(MC_MASK_HASH, 0, i, 8, 0, NULL) == h0[i], "kind 0 h(%" PRIu32 "), seed 0", i);
        CHECK(mc_mask_key(MC_MASK_HASH, 0, i, 8, 7, NULL) == h7[i], "kind 0 h(%" PRIu32 "), seed 7", i);
        CHECK(mc_mask_key(MC_MASK_HASH, i / 2, i % 2, 2, 7, NULL) == h7[i], "kind 0 h(%" PRIu32 ") as (y, x)", i);
    }
    CHECK(threshold_of(1, 2) == 2147483647u && threshold_of(1, 10) == 429496729u && threshold_of(1, 100) == 42949672u
          && threshold_of(1, 1) == 0xFFFFFFFFu, "T for k = 0.5, 0.1, 0.01, 1");
    mask_4x8(MC_MASK_HASH, 7, 2147483647u, rows);
    for (i = 0; i < 4; i++) CHECK(strcmp(rows[i], hash_rows[i]) == 0, "kind 0 4x8 row %" PRIu32 ": %s", i, rows[i]);
    mc_bluenoise_shift(0, &oy, &ox);
    CHECK(oy == 0 && ox == 0, "kind 1 shift of seed 0: (%" PRIu32 ", %" PRIu32 ")", oy, ox);
    mc_bluenoise_shift(7, &oy, &ox);
    CHECK(oy == 93 && ox == 68, "kind 1 shift of seed 7: (%" PRIu32 ", %" PRIu32 ")", oy, ox);
    for (i = 0; i < 4; i++) CHECK(g_ranks[i] == r0[i] && g_ranks[128 + i] == r1[i], "R[0..1][%" PRIu32 "]", i);
    mask_4x8(MC_MASK_BLUENOISE, 7, 2147483647u, rows);
    for (i = 0; i < 4; i++) CHECK(strcmp(rows[i], blue_rows[i]) == 0, "kind 1 4x8 row %" PRIu32 ": %s", i, rows[i]);

    /* kind 1: key <= T exactly when rank <= T >> 18 (spec 5.2 against 6.5), for every rank */
    for (i = 0; i < MC_TILE_RANKS; i++) {
        uint32_t key = i << MC_RANK_SHIFT;
        uint32_t cand[6];
        cand[0] = key; cand[1] = key - 1u; cand[2] = key | 0x3FFFFu; cand[3] = (key | 0x3FFFFu) + 1u;
        cand[4] = 0; cand[5] = 0xFFFFFFFFu;
        for (j = 0; j < 6; j++) CHECK((key <= cand[j]) == (i <= (cand[j] >> MC_RANK_SHIFT)), "rank %" PRIu32, i);
    }
    /* keys: kind 1 is the tile's rank moved up; a whole tile keeps K + 1 pixels, at least one */
    for (a = 0; a < sizeof seeds / sizeof *seeds; a++) {
        static const uint32_t ks[] = {0, 1, 2, 15, 16, 1637, 8191, 16383};
        mc_bluenoise_shift(seeds[a], &oy, &ox);
        for (j = 0; j < 300; j += 37)
            for (i = 0; i < 300; i += 41)
                CHECK(mc_mask_key(MC_MASK_BLUENOISE, j, i, 300, seeds[a], g_ranks)
                      == (uint32_t)g_ranks[128 * ((j + oy) & 127) + ((i + ox) & 127)] << 18, "kind 1 key");
        for (b = 0; b < sizeof ks / sizeof *ks; b++) {
            size_t n = 0;
            for (j = 0; j < 128; j++) n += mc_mask_row(MC_MASK_BLUENOISE, j, 128, (ks[b] << 18) | 0x3FFFFu,
                                                       seeds[a], g_ranks, g_a);
            CHECK(n == ks[b] + 1u, "kind 1 tile count at K = %" PRIu32 ": %lu", ks[b], (unsigned long)n);
        }
    }
    /* the row functions agree with the keys, both kinds */
    for (kind = 0; kind < 2; kind++)
        for (a = 0; a < sizeof widths / sizeof *widths; a++)
            for (b = 0; b < sizeof ys / sizeof *ys; b++)
                for (i = 0; i < sizeof seeds / sizeof *seeds; i++)
                    for (j = 0; j < sizeof ts / sizeof *ts; j++, rows_checked++)
                        CHECK(row_agrees((int)kind, ys[b], widths[a], ts[j], seeds[i]),
                              "kind %" PRIu32 " row y=%" PRIu32 " width %" PRIu32 " T=0x%08" PRIX32 " seed %" PRIu32,
                              kind, ys[b], widths[a], ts[j], seeds[i]);
    /* nesting along thresholds, kind 0 (kind 1 follows from the tile count) */
    for (j = 1; j < sizeof ts / sizeof *ts; j++) {
        size_t n0 = mc_mask_row(MC_MASK_HASH, 5, 1000, ts[j - 1], 7, NULL, g_a), n1, p = 0, q;
        n1 = mc_mask_row(MC_MASK_HASH, 5, 1000, ts[j], 7, NULL, g_b);
        for (q = 0; q < n1 && p < n0; q++) if (g_b[q] == g_a[p]) p++;
        CHECK(p == n0, "kind 0 nesting at T=0x%08" PRIX32, ts[j]);
    }
    /* the edges of the API */
    CHECK(mc_mask_row(MC_MASK_BLUENOISE, 0, 0, 0xFFFFFFFFu, 7, g_ranks, g_a) == 0, "width 0");
    CHECK(mc_mask_row(2, 0, 8, 0, 0, g_ranks, g_a) == MC_MASK_ERROR, "unknown kind");
    CHECK(mc_mask_row(-1, 0, 8, 0, 0, g_ranks, g_a) == MC_MASK_ERROR, "unknown kind");
    CHECK(mc_mask_row(MC_MASK_BLUENOISE, 0, 8, 0, 0, NULL, g_a) == MC_MASK_ERROR, "no table");
    CHECK(mc_mask_row_ws(MC_MASK_BLUENOISE, 0, 8, 0, 0, g_ranks, NULL, g_a) == MC_MASK_ERROR, "no workspace");
    CHECK(mc_mask_row(MC_MASK_HASH, 0, 8, 0, 0, NULL, NULL) == MC_MASK_ERROR, "no output");
    CHECK(mc_mask_key(5, 0, 0, 8, 0, g_ranks) == 0xFFFFFFFFu && !mc_mask_kind_valid(5) && mc_mask_kind_valid(1), "kinds");
    CHECK(mc_mask_workspace_size(MC_MASK_BLUENOISE) == MC_TILE_RANKS && mc_mask_workspace_size(MC_MASK_HASH) == 0,
          "workspace sizes");
    CHECK(mc_mask_workspace_init(MC_MASK_HASH, NULL, NULL, 0) == MC_OK, "kind 0 workspace");
    CHECK(mc_mask_workspace_init(MC_MASK_BLUENOISE, g_ranks, g_c, MC_TILE_RANKS - 1) == MC_ERR_ARG, "small workspace");
    {
        static uint16_t bad[MC_TILE_RANKS];
        memcpy(bad, g_ranks, sizeof bad);
        bad[5] = bad[6];
        CHECK(mc_ranks_check(bad) == MC_ERR_RANKS, "a repeated rank");
        CHECK(mc_mask_workspace_init(MC_MASK_BLUENOISE, bad, g_c, sizeof g_c) == MC_ERR_RANKS, "workspace of a bad table");
        bad[6] = MC_TILE_RANKS;
        CHECK(mc_ranks_check(bad) == MC_ERR_RANKS, "a rank out of range");
        CHECK(mc_ranks_check(g_ranks) == MC_OK && mc_ranks_check(NULL) == MC_ERR_ARG, "rank checks");
    }
    if (failures) {
        fprintf(stderr, "mcmask selftest: %d checks failed\n", failures);
        return 1;
    }
    printf("mcmask selftest: spec 5 test values ok; %lu rows cross-checked (ws, row, per-pixel keys)\n",
           (unsigned long)rows_checked);
    return 0;
}

static int usage(void)
{
    fputs("usage: mcmask [-c] [-p ws|row|scan] KIND H W T SEED RANKS\n       mcmask selftest RANKS\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    int check = 0, path = 0, argi = 1, err;
    uint32_t kind, h, w, t, seed, y;
    if (argc == 3 && strcmp(argv[1], "selftest") == 0) {
        if ((err = load_ranks(argv[2])) != 0) return err;
        return selftest();
    }
    for (; argi < argc && argv[argi][0] == '-' && argv[argi][1]; argi++) {
        if (strcmp(argv[argi], "-c") == 0) check = 1;
        else if (strcmp(argv[argi], "-p") == 0 && argi + 1 < argc) {
            const char *p = argv[++argi];
            path = strcmp(p, "ws") == 0 ? 0 : strcmp(p, "row") == 0 ? 1 : strcmp(p, "scan") == 0 ? 2 : -1;
            if (path < 0) return usage();
        } else return usage();
    }
    if (argc - argi != 6 || !parse_u32(argv[argi], &kind) || !parse_u32(argv[argi + 1], &h)
        || !parse_u32(argv[argi + 2], &w) || !parse_u32(argv[argi + 3], &t) || !parse_u32(argv[argi + 4], &seed))
        return usage();
    if (!mc_mask_kind_valid((int)kind)) {
        fprintf(stderr, "mcmask: unknown mask kind %" PRIu32 "\n", kind);
        return 2;
    }
    if (h == 0 || w == 0 || w > MAX_WIDTH || (uint64_t)h * w > 0xFFFFFFFFu) {
        fprintf(stderr, "mcmask: need 0 < H, 0 < W <= %u and H * W < 2^32\n", MAX_WIDTH);
        return 2;
    }
    if (strcmp(argv[argi + 5], "-") != 0) {
        if ((err = load_ranks(argv[argi + 5])) != 0) return err;
    } else if (kind == MC_MASK_BLUENOISE) {
        fputs("mcmask: kind 1 needs the rank table\n", stderr);
        return 2;
    }
    for (y = 0; y < h; y++) {
        size_t n, i;
        uint32_t *cols = path == 0 ? g_a : path == 1 ? g_b : g_c;
        if (check && !row_agrees((int)kind, y, w, t, seed)) {
            fprintf(stderr, "mcmask: row %" PRIu32 ": the row functions disagree with the keys\n", y);
            return 1;
        }
        n = path == 0 ? mc_mask_row_ws((int)kind, y, w, t, seed, g_ranks, g_ws, cols)
          : path == 1 ? mc_mask_row((int)kind, y, w, t, seed, g_ranks, cols)
          : scan_row((int)kind, y, w, t, seed, cols);
        if (n == MC_MASK_ERROR) return 2;
        for (i = 0; i < n; i++)
            printf("%" PRIu32 " %" PRIu32 "\n", y * w + cols[i], mc_mask_key((int)kind, y, cols[i], w, seed, g_ranks));
    }
    return fflush(stdout) == 0 ? 0 : 2;
}
