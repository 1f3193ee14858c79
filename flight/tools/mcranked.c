/* mcranked: the flight ranked survivor coder from the command line, for comparing with the Python reference.
 *
 *   mcranked encode CASE PAYLOAD [RECON]     codes the case's values; writes the payload (and the reconstructed
 *                                            values, u16 little-endian, n x channels)
 *   mcranked decode CASE PAYLOAD VALUES      decodes the payload into VALUES (u16 little-endian, n x channels);
 *                                            a refused payload prints "refused NAME" (mc_error_name) on stdout
 *   mcranked decodes CASE PREFIX PAYLOAD...  decodes each payload i (from 0) into PREFIX.i; prints "i ok" or
 *                                            "i refused NAME", a line each (one process for many payloads)
 *   mcranked time CASE REPEATS               encodes and decodes REPEATS times; prints the best times in ms
 *   mcranked selftest                        round trips of synthetic images (every transform, several
 *                                            max_error, a refinement with a prior) and refused payloads
 *
 * CASE (little-endian): "MCRK", then u32 height, width, channels, bits, transform, max_error, n, prior_n; u32
 * idx[n]; u32 keys[n]; u16 values[n * channels] (ignored by decode); u32 prior_idx[prior_n]; u16
 * prior_values[prior_n * channels].
 *
 * Exit status: 0 ok, 1 a check failed, 2 usage or input error, 3 the payload was refused.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../include/maskcodec.h"

#define TOOL "mcranked"
#include "tool_io.h"

typedef struct {
    mc_ranked_params p;
    size_t n, prior_n;
    uint32_t *idx, *keys, *prior_idx;
    uint16_t *values, *prior_values;
} rcase;

static int take32(const unsigned char *b, size_t len, size_t *at, size_t count, uint32_t **out)
{
    size_t i;
    if (count > (len - *at) / 4u) return 0;
    *out = malloc(count ? count * 4u : 1u);
    if (!*out) return 0;
    for (i = 0; i < count; i++) (*out)[i] = le32(b + *at + 4u * i);
    *at += 4u * count;
    return 1;
}

static int take16(const unsigned char *b, size_t len, size_t *at, size_t count, uint16_t **out)
{
    size_t i;
    if (count > (len - *at) / 2u) return 0;
    *out = malloc(count ? count * 2u : 1u);
    if (!*out) return 0;
    for (i = 0; i < count; i++) (*out)[i] = (uint16_t)(b[*at + 2u * i] | (b[*at + 2u * i + 1u] << 8));
    *at += 2u * count;
    return 1;
}

static void free_case(rcase *c)
{
    free(c->idx);
    free(c->keys);
    free(c->values);
    free(c->prior_idx);
    free(c->prior_values);
}

static int load_case(const char *path, rcase *c)
{
    size_t len, at = 36;
    unsigned char *b = read_all(path, &len);
    int ok;
    memset(c, 0, sizeof *c);
    if (!b) return 0;
    ok = len >= 36 && memcmp(b, "MCRK", 4) == 0;
    if (ok) {
        c->p.height = le32(b + 4);
        c->p.width = le32(b + 8);
        c->p.channels = le32(b + 12);
        c->p.bits = le32(b + 16);
        c->p.transform = le32(b + 20);
        c->p.max_error = le32(b + 24);
        c->n = le32(b + 28);
        c->prior_n = le32(b + 32);
        ok = c->p.channels >= 1 && c->p.channels <= 255
             && take32(b, len, &at, c->n, &c->idx) && take32(b, len, &at, c->n, &c->keys)
             && take16(b, len, &at, c->n * c->p.channels, &c->values)
             && take32(b, len, &at, c->prior_n, &c->prior_idx)
             && take16(b, len, &at, c->prior_n * c->p.channels, &c->prior_values) && at == len;
    }
    free(b);
    if (!ok) {
        fprintf(stderr, "mcranked: %s is not a case file\n", path);
        free_case(c);
    }
    return ok;
}

static int write_values(const char *path, const uint16_t *v, size_t count)
{
    unsigned char *b = malloc(count ? 2u * count : 1u);
    size_t i;
    int ok;
    if (!b) return 0;
    for (i = 0; i < count; i++) {
        b[2u * i] = (unsigned char)(v[i] & 0xFFu);
        b[2u * i + 1u] = (unsigned char)(v[i] >> 8);
    }
    ok = write_all(path, b, 2u * count);
    free(b);
    return ok;
}

/* Encodes c into a fresh buffer of mc_ranked_payload_bound bytes; returns the error code. */
static int encode_case(const rcase *c, unsigned char **out, size_t *out_len, uint16_t **recon)
{
    mc_prior prior;
    size_t ws_size = mc_ranked_workspace_size(&c->p, c->n, c->prior_n);
    size_t bound = mc_ranked_payload_bound(&c->p, c->n);
    void *ws;
    int err;
    prior.idx = c->prior_idx;
    prior.values = c->prior_values;
    prior.n = c->prior_n;
    *out = NULL;
    *recon = NULL;
    if (!ws_size || !bound) return MC_ERR_ARG;
    ws = malloc(ws_size);
    *out = malloc(bound);
    *recon = malloc(c->n * c->p.channels * 2u + 2u);
    if (!ws || !*out || !*recon) {
        free(ws);
        return MC_ERR_ARG;
    }
    err = mc_ranked_encode(&c->p, c->idx, c->keys, c->values, c->n, &prior, ws, ws_size, *out, bound, out_len,
                           *recon);
    free(ws);
    return err;
}

static int decode_case(const rcase *c, const unsigned char *payload, size_t len, uint16_t *values)
{
    mc_prior prior;
    size_t ws_size = mc_ranked_workspace_size(&c->p, c->n, c->prior_n);
    void *ws;
    int err;
    prior.idx = c->prior_idx;
    prior.values = c->prior_values;
    prior.n = c->prior_n;
    if (!ws_size || !(ws = malloc(ws_size))) return MC_ERR_ARG;
    err = mc_ranked_decode(&c->p, payload, len, c->idx, c->keys, c->n, &prior, ws, ws_size, values);
    free(ws);
    return err;
}

static double now_ms(void)
{
    return 1000.0 * (double)clock() / CLOCKS_PER_SEC;
}

static int time_case(const rcase *c, long repeats)
{
    mc_prior prior;
    size_t ws_size = mc_ranked_workspace_size(&c->p, c->n, c->prior_n);
    size_t bound = mc_ranked_payload_bound(&c->p, c->n), len = 0;
    void *ws = ws_size ? malloc(ws_size) : NULL;
    unsigned char *out = bound ? malloc(bound) : NULL;
    uint16_t *recon = malloc(c->n * c->p.channels * 2u + 2u), *dec = malloc(c->n * c->p.channels * 2u + 2u);
    double best_e = 1e30, best_d = 1e30, t;
    long r;
    int err = MC_ERR_ARG;
    prior.idx = c->prior_idx;
    prior.values = c->prior_values;
    prior.n = c->prior_n;
    if (ws && out && recon && dec) {
        for (r = 0; r < repeats; r++) {
            t = now_ms();
            err = mc_ranked_encode(&c->p, c->idx, c->keys, c->values, c->n, &prior, ws, ws_size, out, bound, &len,
                                   recon);
            t = now_ms() - t;
            if (err) break;
            if (t < best_e) best_e = t;
            t = now_ms();
            err = mc_ranked_decode(&c->p, out, len, c->idx, c->keys, c->n, &prior, ws, ws_size, dec);
            t = now_ms() - t;
            if (err) break;
            if (t < best_d) best_d = t;
            if (memcmp(dec, recon, c->n * c->p.channels * 2u) != 0) {
                err = MC_ERR_ARG;
                break;
            }
        }
    }
    if (!err)
        printf("%" PRIu32 "x%" PRIu32 "x%" PRIu32 " survivors %lu payload %lu bytes (%.3f bits/sample): "
               "encode %.2f ms, decode %.2f ms (best of %ld)\n", c->p.height, c->p.width, c->p.channels,
               (unsigned long)c->n, (unsigned long)len, c->n ? 8.0 * (double)len / ((double)c->n * c->p.channels) : 0.0,
               best_e, best_d, repeats);
    else fprintf(stderr, "mcranked: time: error %d (%s)\n", err, mc_error_name(err));
    free(ws);
    free(out);
    free(recon);
    free(dec);
    return err ? 1 : 0;
}

/* ---- selftest: synthetic images through a round trip ---- */

static int failures;
#define CHECK(cond, ...) do { if (!(cond)) { failures++; fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__); \
                                 fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } } while (0)

static uint32_t rng_state = 12345u;
static uint32_t next_rand(void)
{
    rng_state = mc_fmix32(rng_state + 0x9E3779B9u);
    return rng_state;
}

/* A smooth image with noise: channel ch of pixel (y, x). */
static uint16_t synth(uint32_t y, uint32_t x, unsigned ch, unsigned bits)
{
    uint32_t maxval = (1u << bits) - 1u;
    uint32_t v = ((y * 7u + x * 3u + ch * 50u) % 512u) << (bits > 9 ? bits - 9 : 0);
    if (bits <= 9) v >>= 9 - bits;
    v += next_rand() % (1u + (maxval >> 4));
    return (uint16_t)(v > maxval ? maxval : v);
}

/* The survivors of the hash mask with key <= t (and > t0), for an H x W image of C channels. */
static size_t survivors(const mc_ranked_params *p, uint32_t t0, uint32_t t, uint32_t seed, uint32_t *idx,
                        uint32_t *keys, uint16_t *values)
{
    uint32_t y, x;
    unsigned ch;
    size_t n = 0;
    for (y = 0; y < p->height; y++)
        for (x = 0; x < p->width; x++) {
            uint32_t key = mc_mask_key(MC_MASK_HASH, y, x, p->width, seed, NULL);
            uint16_t v[255];
            for (ch = 0; ch < p->channels; ch++) v[ch] = synth(y, x, ch, p->bits);
            if (key <= t && (t0 == 0xFFFFFFFFu || key > t0)) {
                idx[n] = y * p->width + x;
                keys[n] = key;
                memcpy(values + n * p->channels, v, p->channels * sizeof *v);
                n++;
            }
        }
    return n;
}

static void round_trip(mc_ranked_params p, uint32_t t, int with_prior)
{
    static uint32_t idx[2][8192], keys[2][8192];  /* images up to 8192 pixels */
    static uint16_t values[2][8192 * 4], recon[2][8192 * 4], dec[8192 * 4];
    static unsigned char ws[1u << 21], out[1u << 18];
    size_t n0 = 0, n1, len, i, ws_size;
    mc_prior prior = {NULL, NULL, 0};
    int err;
    if (with_prior) {  /* a first file of keep ~0.1, then its refinement up to t */
        n0 = survivors(&p, 0xFFFFFFFFu, 429496729u, 7, idx[0], keys[0], values[0]);
        ws_size = mc_ranked_workspace_size(&p, n0, 0);
        CHECK(ws_size && ws_size <= sizeof ws, "workspace size");
        err = mc_ranked_encode(&p, idx[0], keys[0], values[0], n0, NULL, ws, sizeof ws, out, sizeof out, &len,
                               recon[0]);
        CHECK(err == MC_OK, "first file: %s", mc_error_name(err));
        prior.idx = idx[0];
        prior.values = recon[0];
        prior.n = n0;
    }
    n1 = survivors(&p, with_prior ? 429496729u : 0xFFFFFFFFu, t, 7, idx[1], keys[1], values[1]);
    ws_size = mc_ranked_workspace_size(&p, n1, n0);
    CHECK(ws_size && ws_size <= sizeof ws - 3, "workspace size");
    CHECK(mc_ranked_payload_bound(&p, n1) >= 4, "bound");
    err = mc_ranked_encode(&p, idx[1], keys[1], values[1], n1, &prior, ws + 3, ws_size, out, sizeof out, &len,
                           recon[1]);  /* an unaligned workspace */
    CHECK(err == MC_OK && len <= mc_ranked_payload_bound(&p, n1), "encode: %s", mc_error_name(err));
    for (i = 0; i < n1 * p.channels; i++) {
        int32_t e = (int32_t)recon[1][i] - (int32_t)values[1][i];
        if (e < -(int32_t)p.max_error || e > (int32_t)p.max_error) break;
    }
    CHECK(i == n1 * p.channels, "reconstruction outside max_error at %lu of %lu (C=%u d=%u)", (unsigned long)i,
          (unsigned long)n1, (unsigned)p.channels, (unsigned)p.max_error);
    err = mc_ranked_decode(&p, out, len, idx[1], keys[1], n1, &prior, ws, ws_size, dec);
    CHECK(err == MC_OK && memcmp(dec, recon[1], n1 * p.channels * 2u) == 0,
          "round trip %ux%u C=%u bits=%u transform %u d=%u prior %d: %s", (unsigned)p.height, (unsigned)p.width,
          (unsigned)p.channels, (unsigned)p.bits, (unsigned)p.transform, (unsigned)p.max_error, with_prior,
          mc_error_name(err));
    /* refusals: one byte short, one byte too many, too small an output */
    if (len > 4) {
        err = mc_ranked_decode(&p, out, len - 1, idx[1], keys[1], n1, &prior, ws, ws_size, dec);
        CHECK(err < MC_ERR_OUTPUT, "a truncated payload decoded: %s", mc_error_name(err));
    }
    out[len] = 0;
    err = mc_ranked_decode(&p, out, len + 1, idx[1], keys[1], n1, &prior, ws, ws_size, dec);
    CHECK(err == MC_ERR_TRAILING, "a byte after the last symbol: %s", mc_error_name(err));
    err = mc_ranked_decode(&p, out, 3, idx[1], keys[1], n1, &prior, ws, ws_size, dec);
    CHECK(err == MC_ERR_SHORT, "3 bytes: %s", mc_error_name(err));
    err = mc_ranked_encode(&p, idx[1], keys[1], values[1], n1, &prior, ws, ws_size, out, len - 1, &i, recon[1]);
    CHECK(err == MC_ERR_OUTPUT && i == len, "a small output buffer: %s", mc_error_name(err));
    err = mc_ranked_encode(&p, idx[1], keys[1], values[1], n1, &prior, ws, ws_size - 1, out, sizeof out, &i, recon[1]);
    CHECK(err == MC_ERR_ARG, "a small workspace: %s", mc_error_name(err));
}

static int selftest(void)
{
    static const uint32_t thresholds[] = {85899345u, 429496729u, 2147483647u, 0xFFFFFFFFu};
    static const unsigned char cases[][4] = {  /* channels, bits, transform, max_error */
        {1, 8, 0, 0}, {1, 8, 0, 2}, {1, 12, 0, 0}, {1, 12, 0, 8}, {1, 16, 0, 0}, {1, 1, 0, 0}, {1, 2, 0, 1},
        {3, 8, 1, 0}, {3, 8, 1, 1}, {3, 8, 0, 0}, {3, 8, 2, 2}, {2, 8, 2, 0}, {4, 10, 2, 3}, {4, 8, 0, 8}};
    mc_ranked_params p;
    size_t a, b;
    int prior;
    unsigned trips = 0;
    /* the range coder against a hand-made stream (range_coder.py's doctest) */
    {
        static const uint32_t syms[6] = {0, 0, 1, 5, 0, 2};
        unsigned char buf[64];
        mc_rc_encoder e;
        mc_rc_decoder d;
        mc_model m;
        uint32_t s, v;
        size_t len;
        mc_rc_encoder_init(&e, buf, sizeof buf);
        mc_model_init(&m, 6);
        for (a = 0; a < 6; a++) mc_model_encode(&m, &e, syms[a]);
        mc_rc_encode_raw(&e, 37, 7);
        CHECK(mc_rc_encoder_finish(&e, &len) == MC_OK, "rc finish");
        CHECK(mc_rc_decoder_init(&d, buf, len) == MC_OK, "rc init");
        mc_model_init(&m, 6);
        for (a = 0; a < 6; a++) CHECK(mc_model_decode(&m, &d, &s) == MC_OK && s == syms[a], "rc symbol %lu",
                                      (unsigned long)a);
        CHECK(mc_rc_decode_raw(&d, 7, &v) == MC_OK && v == 37, "rc raw");
        CHECK(mc_rc_decoder_finish(&d) == MC_OK, "rc end");
        CHECK(mc_rc_decoder_init(&d, buf, 3) == MC_ERR_SHORT, "rc short");
        mc_rc_encoder_init(&e, buf, sizeof buf);
        mc_rc_encode(&e, 2, 2, 4);
        CHECK(e.err == MC_OK, "rc symbol");
        mc_rc_encode(&e, 3, 2, 4);
        CHECK(e.err == MC_ERR_ARG, "rc bad symbol");
    }
    for (a = 0; a < sizeof cases / sizeof *cases; a++)
        for (b = 0; b < sizeof thresholds / sizeof *thresholds; b++)
            for (prior = 0; prior < 2; prior++) {
                if (prior && thresholds[b] <= 429496729u) continue;
                p.height = 37 + (uint32_t)(a % 3) * 11u;
                p.width = 53 + (uint32_t)(b % 2) * 17u;
                p.channels = cases[a][0];
                p.bits = cases[a][1];
                p.transform = cases[a][2];
                p.max_error = cases[a][3];
                CHECK(mc_ranked_check(&p) == MC_OK, "case %lu", (unsigned long)a);
                round_trip(p, thresholds[b], prior);
                trips++;
            }
    /* parameters refused */
    p.height = 4, p.width = 4, p.channels = 1, p.bits = 8, p.transform = 0, p.max_error = 128;
    CHECK(mc_ranked_check(&p) == MC_ERR_ARG && mc_ranked_workspace_size(&p, 1, 0) == 0, "max_error 128 at 8 bits");
    p.max_error = 0, p.transform = 1;
    CHECK(mc_ranked_check(&p) == MC_ERR_ARG, "transform 1 of 1 channel");
    p.transform = 2;
    CHECK(mc_ranked_check(&p) == MC_ERR_ARG, "transform 2 of 1 channel");
    p.transform = 0, p.bits = 17;
    CHECK(mc_ranked_check(&p) == MC_ERR_ARG, "17 bits");
    p.bits = 8, p.channels = 0;
    CHECK(mc_ranked_check(&p) == MC_ERR_ARG, "0 channels");
    p.channels = 1, p.height = 1u << 16, p.width = (1u << 16) + 1u;
    CHECK(mc_ranked_check(&p) == MC_ERR_ARG, "2^32 + 2^16 pixels");
    {
        static unsigned char ws[1u << 18];
        unsigned char out[64];
        uint32_t idx[2] = {5, 5}, keys[2] = {1, 2};
        uint16_t v[2] = {1, 300}, r[2];
        size_t len;
        p.height = 4, p.width = 4;
        CHECK(mc_ranked_encode(&p, idx, keys, v, 1, NULL, ws, sizeof ws, out, sizeof out, &len, r) == MC_OK, "1 pixel");
        CHECK(mc_ranked_encode(&p, idx, keys, v, 2, NULL, ws, sizeof ws, out, sizeof out, &len, r) == MC_ERR_ARG,
              "repeated index");
        idx[1] = 6;
        CHECK(mc_ranked_encode(&p, idx, keys, v, 2, NULL, ws, sizeof ws, out, sizeof out, &len, r) == MC_ERR_ARG,
              "value 300 at 8 bits");
        v[1] = 3, idx[1] = 16;
        CHECK(mc_ranked_encode(&p, idx, keys, v, 2, NULL, ws, sizeof ws, out, sizeof out, &len, r) == MC_ERR_ARG,
              "index 16 of 16 pixels");
        idx[1] = 15;
        CHECK(mc_ranked_encode(&p, idx, keys, v, 2, NULL, ws, sizeof ws, out, sizeof out, &len, r) == MC_OK,
              "2 pixels");
        CHECK(mc_ranked_encode(&p, idx, keys, v, 0, NULL, ws, sizeof ws, out, sizeof out, &len, r) == MC_OK && len == 4,
              "no pixel: 4 bytes");
        CHECK(mc_ranked_decode(&p, out, 4, idx, keys, 0, NULL, ws, sizeof ws, r) == MC_OK, "no pixel decoded");
    }
    if (failures) {
        fprintf(stderr, "mcranked selftest: %d checks failed\n", failures);
        return 1;
    }
    printf("mcranked selftest: ranked coder ok; %u round trips (with refusals)\n", trips);
    return 0;
}

static int usage(void)
{
    fputs("usage: mcranked encode CASE PAYLOAD [RECON]\n       mcranked decode CASE PAYLOAD VALUES\n"
          "       mcranked decodes CASE PREFIX PAYLOAD...\n       mcranked time CASE REPEATS\n"
          "       mcranked selftest\n", stderr);
    return 2;
}

int main(int argc, char **argv)
{
    rcase c;
    int err, status = 0;
    if (argc == 2 && strcmp(argv[1], "selftest") == 0) return selftest();
    if (argc < 4) return usage();
    if (strcmp(argv[1], "encode") == 0 && argc <= 5) {
        unsigned char *out;
        uint16_t *recon;
        size_t len = 0;
        if (!load_case(argv[2], &c)) return 2;
        err = encode_case(&c, &out, &len, &recon);
        if (err) {
            fprintf(stderr, "mcranked: encode: error %d (%s)\n", err, mc_error_name(err));
            status = 2;
        } else if (!write_all(argv[3], out, len) || (argc == 5 && !write_values(argv[4], recon, c.n * c.p.channels)))
            status = 2;
        free(out);
        free(recon);
        free_case(&c);
        return status;
    }
    if (strcmp(argv[1], "decode") == 0 && argc == 5) {
        size_t len;
        unsigned char *payload;
        uint16_t *values;
        if (!load_case(argv[2], &c)) return 2;
        if (!(payload = read_all(argv[3], &len))) {
            free_case(&c);
            return 2;
        }
        values = malloc(c.n * c.p.channels * 2u + 2u);
        err = values ? decode_case(&c, payload, len, values) : MC_ERR_ARG;
        if (err == MC_ERR_ARG || err == MC_ERR_OUTPUT) {
            fprintf(stderr, "mcranked: decode: error %d (%s)\n", err, mc_error_name(err));
            status = 2;
        } else if (err) {
            printf("refused %s\n", mc_error_name(err));
            status = 3;
        } else if (!write_values(argv[4], values, c.n * c.p.channels)) status = 2;
        free(values);
        free(payload);
        free_case(&c);
        return status;
    }
    if (strcmp(argv[1], "decodes") == 0 && argc >= 5) {
        int a;
        char name[4096];
        if (!load_case(argv[2], &c)) return 2;
        for (a = 4; a < argc && status == 0; a++) {
            size_t len;
            unsigned char *payload = read_all(argv[a], &len);
            uint16_t *values = malloc(c.n * c.p.channels * 2u + 2u);
            if (!payload || !values || strlen(argv[3]) > sizeof name - 16) status = 2;
            else {
                err = decode_case(&c, payload, len, values);
                sprintf(name, "%s.%d", argv[3], a - 4);
                if (err == MC_ERR_ARG || err == MC_ERR_OUTPUT) {
                    fprintf(stderr, "mcranked: decode: error %d (%s)\n", err, mc_error_name(err));
                    status = 2;
                } else if (err) printf("%d refused %s\n", a - 4, mc_error_name(err));
                else if (!write_values(name, values, c.n * c.p.channels)) status = 2;
                else printf("%d ok\n", a - 4);
            }
            free(payload);
            free(values);
        }
        free_case(&c);
        return status;
    }
    if (strcmp(argv[1], "time") == 0 && argc == 4) {
        long repeats = strtol(argv[3], NULL, 10);
        if (repeats < 1 || !load_case(argv[2], &c)) return 2;
        status = time_case(&c, repeats);
        free_case(&c);
        return status;
    }
    return usage();
}
