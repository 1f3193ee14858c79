/* mcsegment: the flight segment survivor coder (src/segment.c, spec 11.3) from the command line, for comparing
 * with the Python reference (maskcodec/survivors/segment_coding.py) and for running the decoder under sanitizers.
 *
 *   mcsegment batch FILE      reads cases back to back from FILE ("-": stdin) and prints a line for each:
 *                               encode: "ok COUNT BODY RECON" (hex: the body, payload_size and range code; the
 *                                       reconstructed values, u16 little-endian, COUNT x channels)
 *                               decode: "ok VALUES" (hex, u16 little-endian, n x channels) or "refused NAME"
 *                                       (mc_segment_error_name: body, payload-size, padding, short, interval,
 *                                       truncated, residual, trailing; arg for survivors out of stream order)
 *   mcsegment selftest        round trips of synthetic images (1, 3 and 4 channels, every transform, bits 8, 12,
 *                             16, several max_error, lanes and windows): every run decodes to what the encoder
 *                             reconstructed, within max_error, a run's body is the body of exactly its survivors
 *                             (a survivor taken back leaves no trace), and damaged bodies are refused or decoded
 *
 * A case (little-endian): "MCSG", u32 op (0 encode, 1 decode), u32 width, channels, bits, transform, max_error,
 * lanes, window, room (encode's; ignored by decode), n; u32 idx[n] (flat, in stream order); then encode: u16
 * values[n * channels]; decode: u32 len and the body's len bytes.
 *
 * Exit status: 0 ok, 1 a self-test check failed, 2 usage or input error.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/maskcodec.h"

#define TOOL "mcsegment"
#include "tool_io.h"

/* ---- input ---- */

static void hex(const unsigned char *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    size_t i;
    for (i = 0; i < n; i++) {
        putchar(digits[b[i] >> 4]);
        putchar(digits[b[i] & 15]);
    }
}

static void hex16(const uint16_t *v, size_t n)
{
    size_t i;
    for (i = 0; i < n; i++) {
        unsigned char b[2];
        b[0] = (unsigned char)(v[i] & 0xFFu);
        b[1] = (unsigned char)(v[i] >> 8);
        hex(b, 2);
    }
}

/* One case at data[*at..len): prints its line; 0 when the input is malformed. */
static int one_case(const unsigned char *data, size_t len, size_t *at)
{
    const unsigned char *b = data + *at;
    mc_segment_params p;
    uint32_t op, room, i;
    size_t n, rest = len - *at, need, ws_size, c;
    uint32_t *idx = NULL;
    uint16_t *values = NULL, *out = NULL;
    unsigned char *ws = NULL, *body = NULL;
    int ok = 0, err;
    if (rest < 48 || memcmp(b, "MCSG", 4) != 0) return 0;
    op = le32(b + 4);
    p.width = le32(b + 8);
    p.channels = le32(b + 12);
    p.bits = le32(b + 16);
    p.transform = le32(b + 20);
    p.max_error = le32(b + 24);
    p.lanes = le32(b + 28);
    p.window = le32(b + 32);
    room = le32(b + 36);
    n = le32(b + 40);
    c = p.channels;
    need = 44;
    if (op > 1 || c == 0 || c > 65535u || n > MC_SEGMENT_MAX_RUN || (rest - need) / 4u < n) return 0;
    idx = malloc(n * 4u + 4u);
    if (!idx) return 0;
    for (i = 0; i < n; i++) idx[i] = le32(b + need + 4u * i);
    need += 4u * n;
    ws_size = mc_segment_workspace_size(&p, n);
    if (!ws_size) {
        printf("refused arg\n");  /* invalid parameters */
        ok = 1;
        goto skip;
    }
    if (!(ws = malloc(ws_size))) goto done;
    if (op == 0) {
        size_t body_len = 0, count = 0;
        if ((rest - need) / 2u / c < n) goto done;
        if (!(values = malloc(n * c * 2u + 2u)) || !(out = malloc(n * c * 2u + 2u))) goto done;
        for (i = 0; i < n * c; i++) values[i] = (uint16_t)(b[need + 2u * i] | (b[need + 2u * i + 1u] << 8));
        need += 2u * n * c;
        if (!(body = malloc(room + 1u))) goto done;
        err = mc_segment_encode(&p, idx, values, n, room, ws, ws_size, body, &body_len, &count, out);
        if (err != MC_OK) printf("refused %s\n", mc_segment_error_name(err));
        else {
            printf("ok %lu ", (unsigned long)count);
            hex(body, body_len);
            putchar(' ');
            hex16(out, count * c);
            putchar('\n');
        }
    } else {
        uint32_t blen;
        mc_segment_coder *s;
        if (rest - need < 4) goto done;
        blen = le32(b + need);
        need += 4;
        if (rest - need < blen) goto done;
        if (!(out = malloc(n * c * 2u + 2u)) || !(body = malloc(blen + 1u))) goto done;
        memcpy(body, b + need, blen);  /* its own buffer: the sanitizer sees a read past the body */
        need += blen;
        s = mc_segment_init(&p, n, ws, ws_size);
        err = mc_segment_decode(s, body, blen, idx, n, out);
        if (err != MC_OK) printf("refused %s\n", mc_segment_error_name(err));
        else {
            printf("ok ");
            hex16(out, n * c);
            putchar('\n');
        }
    }
    ok = 1;
    goto done;
skip:  /* a refused case's remaining bytes */
    if (op == 0) {
        if ((rest - need) / 2u / c < n) ok = 0;
        else need += 2u * n * c;
    } else if (rest - need < 4 || rest - need - 4 < le32(b + need)) ok = 0;
    else need += 4u + le32(b + need);
done:
    free(idx);
    free(values);
    free(out);
    free(ws);
    free(body);
    if (ok) *at += need;
    return ok;
}

static int batch(const char *path)
{
    size_t len = 0, at = 0;
    unsigned char *data = read_all(path, &len);
    if (!data) {
        fprintf(stderr, "mcsegment: cannot read %s\n", path);
        return 2;
    }
    while (at < len)
        if (!one_case(data, len, &at)) {
            fprintf(stderr, "mcsegment: malformed case at byte %lu\n", (unsigned long)at);
            free(data);
            return 2;
        }
    free(data);
    return fflush(stdout) == 0 ? 0 : 2;
}

/* ---- self-test ---- */

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

#define FAIL(...) do { fprintf(stderr, "mcsegment selftest: " __VA_ARGS__); fputc('\n', stderr); return 1; } while (0)

/* The kept pixels of an H x W image (kind 0 mask), in stream order: n of them into idx. */
static size_t stream_survivors(uint32_t h, uint32_t w, uint32_t threshold, uint32_t lanes, uint32_t window,
                               uint32_t *idx, uint32_t *cols)
{
    size_t n = 0;
    uint32_t y0, lane, y;
    for (y0 = 0; y0 < h; y0 += window)
        for (lane = 0; lane < lanes; lane++)
            for (y = y0 + lane; y < h && y < y0 + window; y += lanes) {
                size_t k, got = mc_mask_row(MC_MASK_HASH, y, w, threshold, 99, NULL, cols);
                for (k = 0; k < got; k++) idx[n++] = y * w + cols[k];
            }
    return n;
}

static int selftest_case(uint32_t c, uint32_t bits, uint32_t transform, uint32_t d, uint32_t lanes, uint32_t window,
                         size_t room, uint32_t seed)
{
    enum { H = 150, W = 97 };
    static uint32_t idx[H * W], cols[W];
    static uint16_t image[H * W * 4], values[H * W * 4], recon[H * W * 4], decoded[H * W * 4];
    static unsigned char body[65600], again[65600], damaged[65600];
    mc_segment_params p;
    mc_segment_coder *s;
    size_t n, first = 0, ws_size, i, k, segments = 0;
    uint32_t state = seed, maxval = (1u << bits) - 1u;
    unsigned char *ws;
    p.width = W;
    p.channels = c;
    p.bits = bits;
    p.transform = transform;
    p.max_error = d;
    p.lanes = lanes;
    p.window = window;
    for (i = 0; i < (size_t)H * W; i++)  /* smooth ramps, correlated channels, some noise */
        for (k = 0; k < c; k++) {
            uint32_t y = (uint32_t)(i / W), x = (uint32_t)(i % W);
            uint32_t v = ((x * 7u + y * 3u + 40u * (uint32_t)k) << (bits > 8 ? bits - 8 : 0)) + lcg(&state) % 9u;
            image[i * c + k] = (uint16_t)(v & maxval);
        }
    n = stream_survivors(H, W, 0x40000000u, lanes, window, idx, cols);
    for (i = 0; i < n; i++)
        for (k = 0; k < c; k++) values[i * c + k] = image[(size_t)idx[i] * c + k];
    ws_size = mc_segment_workspace_size(&p, MC_SEGMENT_MAX_RUN);
    if (!ws_size || !(ws = malloc(ws_size))) FAIL("no workspace");
    while (first < n) {
        size_t body_len, count, again_len, again_count, left = n - first;
        int err = mc_segment_encode(&p, idx + first, values + first * c, left, room, ws, ws_size, body, &body_len,
                                    &count, recon);
        if (err != MC_OK || count == 0 || body_len > room) FAIL("encode: %s, %lu survivors", mc_segment_error_name(err),
                                                                (unsigned long)count);
        /* the body of exactly these survivors, with all the room it wants: the same bytes */
        err = mc_segment_encode(&p, idx + first, values + first * c, count, MC_SEGMENT_MAX_ROOM, ws, ws_size, again,
                                &again_len, &again_count, NULL);
        if (err != MC_OK || again_count != count || again_len != body_len || memcmp(again, body, body_len))
            FAIL("a run's body differs from its survivors' own (c=%u bits=%u d=%u)", c, bits, d);
        memset(body + body_len, 0, room - body_len);
        s = mc_segment_init(&p, count, ws, ws_size);
        err = mc_segment_decode(s, body, room, idx + first, count, decoded);
        if (err != MC_OK) FAIL("decode: %s", mc_segment_error_name(err));
        for (i = 0; i < count * c; i++) {
            int diff = (int)decoded[i] - (int)values[first * c + i];
            if (decoded[i] != recon[i] || diff > (int)d || diff < -(int)d)
                FAIL("survivor %lu decodes to %u, encoded %u (recon %u)", (unsigned long)(first + i / c), decoded[i],
                     values[first * c + i], recon[i]);
        }
        /* damaged copies: refused, or decoded (the sanitizers watch) */
        for (k = 0; k < 8; k++) {
            memcpy(damaged, body, room);
            damaged[lcg(&state) % room] ^= (unsigned char)(1u << (lcg(&state) % 8u));
            s = mc_segment_init(&p, count, ws, ws_size);
            (void)mc_segment_decode(s, damaged, k < 4 ? room : (lcg(&state) % room), idx + first, count, decoded);
        }
        first += count;
        segments++;
    }
    /* out of stream order, and a value above 2^bits - 1: refused */
    if (n >= 2) {
        size_t bl, cnt;
        uint32_t swapped[2];
        swapped[0] = idx[1];
        swapped[1] = idx[0];
        if (mc_segment_encode(&p, swapped, values, 2, MC_SEGMENT_MAX_ROOM, ws, ws_size, body, &bl, &cnt, NULL)
            != MC_ERR_ARG) FAIL("survivors out of order were coded");
        if (bits < 16) {
            uint16_t keep = values[0];
            values[0] = (uint16_t)(maxval + 1u);
            if (mc_segment_encode(&p, idx, values, 2, MC_SEGMENT_MAX_ROOM, ws, ws_size, body, &bl, &cnt, NULL)
                != MC_ERR_ARG) FAIL("a value above 2^bits - 1 was coded");
            values[0] = keep;
        }
    }
    free(ws);
    return segments ? 0 : 1;
}

static int selftest(void)
{
    static const uint32_t cases[][7] = {  /* channels, bits, transform, max_error, lanes, window, room */
        {1, 8, 0, 0, 4, 64, 100}, {1, 12, 0, 3, 4, 64, 300}, {1, 16, 0, 0, 1, 1, 1000}, {3, 8, 1, 0, 4, 64, 200},
        {3, 8, 1, 2, 2, 32, 40}, {3, 16, 2, 7, 4, 64, 997}, {4, 8, 2, 0, 8, 64, 300}, {4, 12, 0, 1, 3, 10, 6000},
        {2, 8, 2, 0, 255, 255, 128}, {1, 8, 0, 127, 4, 64, 60}, {3, 8, 0, 0, 4, 64, 65537}};
    size_t i;
    uint16_t v[1] = {0};
    mc_segment_params p = {10, 1, 8, 0, 0, 4, 64};
    unsigned char ws[4096], body[16];
    mc_segment_coder *s;
    size_t body_len;
    for (i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const uint32_t *k = cases[i];
        if (selftest_case(k[0], k[1], k[2], k[3], k[4], k[5], k[6], (uint32_t)i + 1u)) {
            fprintf(stderr, "mcsegment selftest: case %lu failed\n", (unsigned long)i);
            return 1;
        }
    }
    /* an empty segment is the 4 zero bytes of an empty code; a room of 6 holds no survivor of 8 bits */
    if (mc_segment_workspace_size(&p, 1) > sizeof ws || !(s = mc_segment_init(&p, 1, ws, sizeof ws))) FAIL("init");
    if (mc_segment_begin(s, body, 6) != MC_OK || mc_segment_push(s, 0, 0, v) != MC_SEGMENT_FULL
        || mc_segment_push(s, 0, 1, v) != MC_SEGMENT_FULL || mc_segment_end(s, &body_len) != MC_OK || body_len != 6
        || memcmp(body, "\4\0\0\0\0\0", 6) != 0) FAIL("the empty segment");
    if (mc_segment_begin(s, body, 5) != MC_ERR_ARG) FAIL("a room of 5 was taken");
    p.lanes = 0;
    if (mc_segment_workspace_size(&p, 1) != 0) FAIL("lanes 0 was taken");
    printf("mcsegment selftest: segment coder ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "batch") == 0) return batch(argv[2]);
    if (argc == 2 && strcmp(argv[1], "selftest") == 0) return selftest();
    fprintf(stderr, "usage: mcsegment batch FILE|-\n       mcsegment selftest\n");
    return 2;
}
