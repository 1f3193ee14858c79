/* mcfill: the flight predictor fill (src/fill.c) from the command line, for comparing with the Python reference
 * (maskcodec.inpainting.predictor_fill.predictor_fill_reference) and for timing.
 *
 *   mcfill fill CASE OUT          fills the case's image; writes OUT (u16 little-endian, H x W x C)
 *   mcfill time CASE REPEATS      fills REPEATS times; prints the best time in ms and megapixels per second
 *   mcfill selftest               synthetic images: sizes from 1 x 1, 1 to 5 channels, masks from none to all
 *                                 kept; checks the invariants (kept pixels untouched, unknown input never read,
 *                                 fills within the kept values' range, a constant image exact, a plane close,
 *                                 MC_FILL_MID without kept pixels, arguments refused)
 *
 * CASE (little-endian): "MCFL", then u32 height, width, channels; known[H * W] bytes (non-zero: kept); u16
 * values[H * W * C].
 *
 * Exit status: 0 ok, 1 a check failed, 2 usage or input error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../include/maskcodec.h"

#define TOOL "mcfill"
#include "tool_io.h"

typedef struct {
    uint32_t h, w, c;
    unsigned char *known;
    uint16_t *values;
} fcase;

static int load_case(const char *path, fcase *fc)
{
    size_t len, pixels, i;
    unsigned char *b = read_all(path, &len);
    memset(fc, 0, sizeof *fc);
    if (!b) return 0;
    if (len < 16 || memcmp(b, "MCFL", 4) != 0) goto bad;
    fc->h = le32(b + 4);
    fc->w = le32(b + 8);
    fc->c = le32(b + 12);
    pixels = (size_t)fc->h * fc->w;
    if (!mc_fill_workspace_size(fc->h, fc->w) || fc->c == 0 || fc->c > 65535u
        || (len - 16u) / (1u + 2u * (size_t)fc->c) != pixels || (len - 16u) % (1u + 2u * (size_t)fc->c))
        goto bad;
    fc->known = malloc(pixels);
    fc->values = malloc(pixels * fc->c * 2u);
    if (!fc->known || !fc->values) goto bad;
    memcpy(fc->known, b + 16, pixels);
    for (i = 0; i < pixels * fc->c; i++)
        fc->values[i] = (uint16_t)(b[16 + pixels + 2u * i] | (b[17 + pixels + 2u * i] << 8));
    free(b);
    return 1;
bad:
    fprintf(stderr, "%s: %s is not a fill case\n", TOOL, path);
    free(b);
    free(fc->known);
    free(fc->values);
    return 0;
}

static int run_fill(const fcase *fc, uint16_t *out)
{
    size_t ws_size = mc_fill_workspace_size(fc->h, fc->w);
    void *ws = malloc(ws_size);
    int err = ws ? mc_fill(fc->h, fc->w, fc->c, fc->known, out, ws, ws_size) : MC_ERR_ARG;
    free(ws);
    return err;
}

static int cmd_fill(const char *case_path, const char *out_path)
{
    fcase fc;
    size_t i, n;
    unsigned char *bytes;
    int ok;
    if (!load_case(case_path, &fc)) return 2;
    n = (size_t)fc.h * fc.w * fc.c;
    if (run_fill(&fc, fc.values) != MC_OK) {
        fprintf(stderr, "%s: the fill failed\n", TOOL);
        return 1;
    }
    bytes = malloc(2u * n + 1u);
    if (!bytes) return 2;
    for (i = 0; i < n; i++) {
        bytes[2u * i] = (unsigned char)(fc.values[i] & 0xFFu);
        bytes[2u * i + 1u] = (unsigned char)(fc.values[i] >> 8);
    }
    ok = write_all(out_path, bytes, 2u * n);
    free(bytes);
    free(fc.known);
    free(fc.values);
    return ok ? 0 : 2;
}

static double now_ms(void)
{
    return (double)clock() * 1000.0 / CLOCKS_PER_SEC;
}

static int cmd_time(const char *case_path, long repeats)
{
    fcase fc;
    size_t n, ws_size;
    uint16_t *work;
    void *ws;
    double best = 1e30;
    long r;
    if (!load_case(case_path, &fc)) return 2;
    n = (size_t)fc.h * fc.w * fc.c;
    ws_size = mc_fill_workspace_size(fc.h, fc.w);
    work = malloc(2u * n);
    ws = malloc(ws_size);
    if (!work || !ws) return 2;
    for (r = 0; r < repeats; r++) {
        double t;
        memcpy(work, fc.values, 2u * n);
        t = now_ms();
        if (mc_fill(fc.h, fc.w, fc.c, fc.known, work, ws, ws_size) != MC_OK) return 1;
        t = now_ms() - t;
        if (t < best) best = t;
    }
    printf("%u x %u x %u: best of %ld %.2f ms, %.1f megapixels/s\n", (unsigned)fc.h, (unsigned)fc.w, (unsigned)fc.c,
           repeats, best, (double)fc.h * fc.w / 1e3 / (best > 0 ? best : 1e-9));
    free(work);
    free(ws);
    free(fc.known);
    free(fc.values);
    return 0;
}

/* ---- selftest ---- */

static uint32_t rng_state = 12345u;

static uint32_t rnd(void)
{
    rng_state = mc_fmix32(rng_state + 0x9E3779B9u);
    return rng_state;
}

static int failures = 0;

static void expect(int cond, const char *what, uint32_t h, uint32_t w, uint32_t c, unsigned keep)
{
    if (!cond) {
        fprintf(stderr, "%s: FAIL %s (%u x %u x %u, keep %u/1000)\n", TOOL, what, (unsigned)h, (unsigned)w,
                (unsigned)c, keep);
        failures++;
    }
}

/* Kind: 0 a smooth image (a plane plus a ripple), 1 a constant, 2 noise. */
static uint16_t sample(unsigned kind, uint32_t y, uint32_t x, uint32_t ch)
{
    if (kind == 1) return (uint16_t)(1000u + 7000u * ch);
    if (kind == 2) return (uint16_t)(rnd() & 0xFFFFu);
    return (uint16_t)(3000u + 97u * y + 61u * x + 500u * ch + (((x + y) & 7u) == 0 ? 40u : 0u));
}

/* One image: kept pixels with probability keep/1000 (grid 1: in the bottom right quarter only, so that pixel (0, 0)
 * and most targets there have no candidate; grid > 1: an even lattice of that step instead). */
static void one_case(uint32_t h, uint32_t w, uint32_t c, unsigned keep, unsigned kind, unsigned grid)
{
    size_t pixels = (size_t)h * w, n = pixels * c, i, kept = 0, ws_size = mc_fill_workspace_size(h, w);
    unsigned char *known = malloc(pixels);
    uint16_t *a = malloc(2u * n), *b = malloc(2u * n), *orig = malloc(2u * n);
    void *ws = malloc(ws_size);
    uint32_t y, x, ch;
    uint16_t lo[8], hi[8];
    if (!known || !a || !b || !orig || !ws) {
        fprintf(stderr, "%s: out of memory\n", TOOL);
        exit(2);
    }
    for (ch = 0; ch < 8u; ch++) {
        lo[ch] = 0xFFFFu;
        hi[ch] = 0;
    }
    for (y = 0; y < h; y++)
        for (x = 0; x < w; x++) {
            size_t p = (size_t)y * w + x;
            known[p] = grid > 1u ? (unsigned char)(y % grid == 1u && x % grid == 0u)
                     : grid == 1u && (y < h - h / 4u || x < w - w / 4u) ? 0u
                     : (unsigned char)(rnd() % 1000u < keep);
            kept += known[p] != 0;
            for (ch = 0; ch < c; ch++) {
                uint16_t v = sample(kind, y, x, ch);
                orig[p * c + ch] = v;
                a[p * c + ch] = known[p] ? v : (uint16_t)(rnd() & 0xFFFFu);  /* garbage where unknown */
                b[p * c + ch] = known[p] ? v : (uint16_t)~a[p * c + ch];
                if (known[p] && ch < 8u) {
                    if (v < lo[ch]) lo[ch] = v;
                    if (v > hi[ch]) hi[ch] = v;
                }
            }
        }
    expect(mc_fill(h, w, c, known, a, ws, ws_size) == MC_OK, "fill", h, w, c, keep);
    expect(mc_fill(h, w, c, known, b, ws, ws_size) == MC_OK, "fill", h, w, c, keep);
    expect(memcmp(a, b, 2u * n) == 0, "unknown input is never read", h, w, c, keep);
    for (i = 0; i < pixels; i++)
        for (ch = 0; ch < c; ch++) {
            uint16_t v = a[i * c + ch];
            if (known[i]) expect(v == orig[i * c + ch], "kept pixels untouched", h, w, c, keep);
            else if (!kept) expect(v == MC_FILL_MID, "no kept pixel: MC_FILL_MID", h, w, c, keep);
            else if (ch < 8u) expect(v >= lo[ch] && v <= hi[ch], "within the kept range", h, w, c, keep);
            if (kind == 1 && kept) expect(v == orig[i * c + ch], "a constant image exactly", h, w, c, keep);
        }
    if (kind == 0 && grid > 1u && kept > 16u) {  /* a plane (97 a row, 61 a column) on an even lattice: close, inside */
        uint64_t err = 0, count = 0;
        for (y = grid; y + grid < h; y++)
            for (x = grid; x + grid < w; x++) {
                int d = (int)a[((size_t)y * w + x) * c] - (int)orig[((size_t)y * w + x) * c];
                err += (uint64_t)(d < 0 ? -d : d);
                count++;
            }
        expect(count == 0 || err < count * 64u, "a plane within 64 (2/3 of a row's step) on average", h, w, c, keep);
    }
    free(known);
    free(a);
    free(b);
    free(orig);
    free(ws);
}

static int selftest(void)
{
    static const uint32_t sizes[][2] = {{1, 1}, {1, 2}, {2, 1}, {1, 37}, {29, 1}, {2, 2}, {7, 5}, {5, 7},
                                        {16, 16}, {17, 33}, {64, 3}, {100, 129}, {257, 200}};
    static const unsigned keeps[] = {0, 1, 20, 100, 500, 900, 1000};
    size_t s, k;
    uint32_t c;
    unsigned kind, grid;
    unsigned char known1 = 0;
    uint16_t v1 = 0;
    unsigned char ws_small[16];
    for (s = 0; s < sizeof sizes / sizeof sizes[0]; s++)
        for (k = 0; k < sizeof keeps / sizeof keeps[0]; k++)
            for (c = 1; c <= 5u; c += c == 1u ? 2u : 1u)
                for (kind = 0; kind < 3u; kind++) one_case(sizes[s][0], sizes[s][1], c, keeps[k], kind, 0);
    for (grid = 2; grid <= 8u; grid++) one_case(131, 97, 3, 0, 0, grid);
    for (k = 0; k < sizeof keeps / sizeof keeps[0]; k++) {
        one_case(300, 211, 3, keeps[k], 0, 1);
        one_case(64, 1000, 1, keeps[k], 2, 1);
    }
    /* arguments */
    expect(mc_fill_workspace_size(0, 5) == 0 && mc_fill_workspace_size(5, 0) == 0, "empty images refused", 0, 0, 0, 0);
    expect(mc_fill_workspace_size(65536, 65536) == 0, "2^32 pixels refused", 0, 0, 0, 0);
    expect(mc_fill_workspace_size(1, 1) > 0, "1 x 1 accepted", 1, 1, 1, 0);
    expect(mc_fill(1, 1, 1, &known1, &v1, ws_small, sizeof ws_small) == MC_ERR_ARG, "a small workspace", 1, 1, 1, 0);
    expect(mc_fill(1, 1, 0, &known1, &v1, ws_small, sizeof ws_small) == MC_ERR_ARG, "0 channels", 1, 1, 0, 0);
    expect(mc_fill(1, 1, 1, NULL, &v1, ws_small, sizeof ws_small) == MC_ERR_ARG, "NULL known", 1, 1, 1, 0);
    if (failures) {
        fprintf(stderr, "%s: selftest: %d failures\n", TOOL, failures);
        return 1;
    }
    printf("mcfill selftest: ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && strcmp(argv[1], "selftest") == 0) return selftest();
    if (argc == 4 && strcmp(argv[1], "fill") == 0) return cmd_fill(argv[2], argv[3]);
    if (argc == 4 && strcmp(argv[1], "time") == 0) return cmd_time(argv[2], strtol(argv[3], NULL, 10));
    fprintf(stderr, "usage: %s fill CASE OUT | time CASE REPEATS | selftest\n", TOOL);
    return 2;
}
