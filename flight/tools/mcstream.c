/* mcstream: the flight core's format 4.0 segmented stream (src/stream.c, spec 11) from the command line, for
 * comparing with maskcodec.StreamEncoder and maskcodec's read() and salvage(), and for running the readers under
 * sanitizers.
 *
 *   mcstream encode RANKS CASE OUT   writes the stream of the case's frame to OUT, fed in the case's row chunks
 *                                    (cycled) with an output buffer of the case's size (a write that fills it is
 *                                    called again with the rows it did not take); prints "ok SEGMENTS",
 *                                    or "refused NAME" (exit 3)
 *   mcstream batch RANKS FILE        reads records back to back from FILE ("-": stdin), a line each:
 *                                      strict:  "ok CRC" or "refused CLASS NAME"
 *                                      salvage: "ok EXPECTED RECEIVED SURVIVORS RECOVERED SKIPPED LOST CRC" (LOST:
 *                                               the lost indices, comma-separated, or "-") or "refused CLASS NAME"
 *                                    CRC: the CRC32 (hex) of the kept (strict) or recovered (salvage) pixels' flat
 *                                    indices (u32) then their values (u16, C a pixel), little-endian, in scan order
 *   mcstream selftest RANKS          round trips of synthetic frames (1, 3, 4 channels, both mask kinds, several
 *                                    segment sizes and row chunks, an output buffer of one segment), each read back
 *                                    strictly and, without one of its segments, salvaged
 *
 * RANKS is spec/bluenoise128.u16. CASE (little-endian): "MCSE", u32 height, width, channels, channel_axis,
 * sample_format, bits, mask_kind, seed, threshold, max_error, segment_size, repeat, lanes, window, model_id_length,
 * metadata_length, out_cap, nchunks; the model id, its SHA-256 (32 bytes, only with a model id), the metadata; u32
 * chunks[nchunks]; the frame's samples (u8 or u16 each). A batch record: "MCSB", u32 op (0 strict, 1 salvage), u32
 * max_side, max_pixels, max_channels, max_samples, max_metadata, u32 len, the stream's len bytes.
 *
 * Exit status: 0 ok, 1 a self-test check failed, 2 usage or input error, 3 refused.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/maskcodec.h"

#define TOOL "mcstream"
#include "tool_io.h"

static int load_ranks(const char *path, uint16_t *ranks)
{
    size_t len = 0;
    unsigned char *b = read_all(path, &len);
    int ok = b && len == MC_TILE_BYTES && mc_ranks_from_le_bytes(b, ranks) == MC_OK;
    free(b);
    if (!ok) fprintf(stderr, "mcstream: %s is not the rank table\n", path);
    return ok;
}

/* Encodes a frame (uint8 or uint16 samples) fed in chunks of rows (cycled) with an output buffer of out_cap bytes;
 * *stream (malloc'd) and *len. MC_OK or the writer's error. */
static int encode_frame(const mc_stream_params *p, const uint16_t *ranks, const void *frame, const uint32_t *chunks,
                        size_t nchunks, size_t out_cap, unsigned char **stream, size_t *len)
{
    size_t ws_size = mc_stream_workspace_size(p, ranks), cap = 0, row_bytes, written, k = 0;
    unsigned char *ws = NULL, *out = NULL, *all = NULL, *more;
    mc_stream_encoder *enc = NULL;
    uint32_t y = 0;
    int err = MC_ERR_ARG;
    *stream = NULL;
    *len = 0;
    if (!ws_size || !(ws = malloc(ws_size)) || !(out = malloc(out_cap ? out_cap : 1))) goto done;
    if ((err = mc_stream_init(p, ranks, ws, ws_size, &enc)) != MC_OK) goto done;
    row_bytes = (size_t)p->width * p->channels * p->sample_format;
    for (;;) {
        uint32_t want = 0, used = 0;
        int last = y == p->height;
        if (!last) {
            want = chunks[k++ % nchunks];
            if (want > p->height - y) want = p->height - y;
            err = mc_stream_write(enc, (const unsigned char *)frame + y * row_bytes, want, out, out_cap, &written, &used);
        } else err = mc_stream_end(enc, out, out_cap, &written);
        if (err != MC_OK && err != MC_ERR_OUTPUT) goto done;
        if (err == MC_ERR_OUTPUT && written == 0 && used == 0) goto done;  /* out holds no segment: no progress */
        if (*len + written > cap) {
            cap = 2 * (*len + written) + 65536;
            if (!(more = realloc(all, cap))) {
                err = MC_ERR_ARG;
                goto done;
            }
            all = more;
        }
        if (written) memcpy(all + *len, out, written);
        *len += written;
        y += used;
        if (last && err == MC_OK) break;
    }
    err = MC_OK;
done:
    free(ws);
    free(out);
    if (err != MC_OK) {
        free(all);
        all = NULL;
        *len = 0;
    }
    *stream = all;
    return err;
}

static int encode_case(const char *ranks_path, const char *case_path, const char *out_path)
{
    static uint16_t ranks[MC_TILE_RANKS];
    size_t len = 0, at = 76, nchunks, samples, i, slen = 0;
    unsigned char *b, *stream = NULL;
    mc_stream_params p;
    uint32_t *chunks = NULL, out_cap;
    void *frame = NULL;
    int err, rc = 2;
    FILE *f;
    if (!load_ranks(ranks_path, ranks) || !(b = read_all(case_path, &len))) return 2;
    if (len < at || memcmp(b, "MCSE", 4) != 0) goto done;
    p.height = le32(b + 4);
    p.width = le32(b + 8);
    p.channels = le32(b + 12);
    p.channel_axis = le32(b + 16);
    p.sample_format = le32(b + 20);
    p.bits = le32(b + 24);
    p.mask_kind = le32(b + 28);
    p.seed = le32(b + 32);
    p.threshold = le32(b + 36);
    p.max_error = le32(b + 40);
    p.segment_size = le32(b + 44);
    p.repeat = le32(b + 48);
    p.lanes = le32(b + 52);
    p.window = le32(b + 56);
    p.model_id_length = le32(b + 60);
    p.metadata_length = le32(b + 64);
    out_cap = le32(b + 68);
    nchunks = le32(b + 72);
    if (p.model_id_length > 255 || p.metadata_length > 65535 || nchunks == 0 || nchunks > 1000000) goto done;
    if (len - at < p.model_id_length + (p.model_id_length ? 32u : 0u) + p.metadata_length) goto done;
    p.model_id = b + at;
    at += p.model_id_length;
    p.model_sha256 = p.model_id_length ? b + at : NULL;
    at += p.model_id_length ? 32u : 0u;
    p.metadata = b + at;
    at += p.metadata_length;
    if ((len - at) / 4u < nchunks || !(chunks = malloc(nchunks * 4u))) goto done;
    for (i = 0; i < nchunks; i++) chunks[i] = le32(b + at + 4u * i);
    at += 4u * nchunks;
    samples = (size_t)p.height * p.width * p.channels;
    if (p.sample_format < 1 || p.sample_format > 2 || (len - at) / p.sample_format < samples) goto done;
    if (!(frame = malloc(samples * p.sample_format + 2u))) goto done;
    if (p.sample_format == 1) memcpy(frame, b + at, samples);
    else
        for (i = 0; i < samples; i++) ((uint16_t *)frame)[i] = (uint16_t)(b[at + 2 * i] | (b[at + 2 * i + 1] << 8));
    err = encode_frame(&p, ranks, frame, chunks, nchunks, out_cap, &stream, &slen);
    if (err != MC_OK) {
        printf("refused %s\n", mc_segment_error_name(err));
        rc = 3;
        goto done;
    }
    f = fopen(out_path, "wb");
    if (!f || fwrite(stream, 1, slen, f) != slen) {
        if (f) fclose(f);
        goto done;
    }
    if (fclose(f) != 0) goto done;
    printf("ok %lu\n", (unsigned long)(slen / p.segment_size));
    rc = 0;
done:
    if (rc == 2) fprintf(stderr, "mcstream: bad case %s\n", case_path);
    free(b);
    free(chunks);
    free(frame);
    free(stream);
    return rc;
}

/* The CRC32 of idx[k] (u32) for the pixels with keep[k] (all when keep is NULL), then of their values (u16). */
static int crc_of(const uint32_t *idx, const uint16_t *values, const unsigned char *keep, size_t n, uint32_t c,
                  uint32_t *crc)
{
    size_t i, m = 0, at = 0;
    uint32_t ch;
    unsigned char *buf;
    for (i = 0; i < n; i++) m += !keep || keep[i];
    if (!(buf = malloc(m * (4u + 2u * c) + 1u))) return 0;
    for (i = 0; i < n; i++)
        if (!keep || keep[i]) {
            buf[at++] = (unsigned char)(idx[i] & 0xFF);
            buf[at++] = (unsigned char)((idx[i] >> 8) & 0xFF);
            buf[at++] = (unsigned char)((idx[i] >> 16) & 0xFF);
            buf[at++] = (unsigned char)(idx[i] >> 24);
        }
    for (i = 0; i < n; i++)
        if (!keep || keep[i])
            for (ch = 0; ch < c; ch++) {
                buf[at++] = (unsigned char)(values[i * c + ch] & 0xFF);
                buf[at++] = (unsigned char)(values[i * c + ch] >> 8);
            }
    *crc = mc_crc32(buf, at);
    free(buf);
    return 1;
}

static void refused(int err)
{
    const char *cls = mc_stream_error_class(err);
    printf("refused %s %s\n", cls ? cls : "-", mc_segment_error_name(err));
}

/* One strict or salvage read; prints its line. 0 when memory ran out. */
static int read_one(int op, const unsigned char *data, size_t len, const mc_limits *limits, const uint16_t *ranks)
{
    mc_stream_info info;
    mc_salvage_report report;
    size_t ws_size, scan_size, n;
    unsigned char *ws = NULL, *known = NULL;
    uint32_t *idx = NULL, crc;
    uint16_t *values = NULL;
    int err, ok = 0;
    if (op == 0) {
        if ((err = mc_stream_describe(data, len, limits, &info)) != MC_OK) {
            refused(err);
            return 1;
        }
        ws_size = mc_stream_read_workspace_size(&info);
    } else {
        scan_size = mc_stream_scan_workspace_size(len);
        if (!scan_size || !(ws = malloc(scan_size))) return 0;
        err = mc_stream_salvage_describe(data, len, limits, ws, scan_size, &info);
        free(ws);
        ws = NULL;
        if (err != MC_OK) {
            refused(err);
            return 1;
        }
        ws_size = mc_stream_salvage_workspace_size(len, &info);
    }
    n = info.survivors;
    if (!ws_size || !(ws = malloc(ws_size)) || !(idx = malloc(n * 4u + 4u))
        || !(values = malloc(n * info.channels * 2u + 2u)) || !(known = malloc(n + 1u))) goto done;
    if (op == 0) err = mc_stream_read(data, len, limits, ranks, ws, ws_size, &info, idx, values);
    else err = mc_stream_salvage(data, len, limits, ranks, ws, ws_size, &info, idx, values, known, &report);
    if (err != MC_OK) refused(err);
    else if (!crc_of(idx, values, op ? known : NULL, n, info.channels, &crc)) goto done;
    else if (op == 0) printf("ok %08lx\n", (unsigned long)crc);
    else {
        uint32_t k, u = 0;
        int any = 0;
        printf("ok %lu %lu %lu %lu %lu ", (unsigned long)report.segments_expected,
               (unsigned long)report.segments_received, (unsigned long)report.survivors_expected,
               (unsigned long)report.survivors_recovered, (unsigned long)report.bytes_skipped);
        for (k = 0; k < report.segments_expected; k++) {
            while (u < report.segments_received && report.used[u] < k) u++;
            if (u < report.segments_received && report.used[u] == k) continue;
            printf(any ? ",%lu" : "%lu", (unsigned long)k);
            any = 1;
        }
        printf("%s %08lx\n", any ? "" : "-", (unsigned long)crc);
    }
    ok = 1;
done:
    free(ws);
    free(idx);
    free(values);
    free(known);
    return ok;
}

static int batch(const char *ranks_path, const char *path)
{
    static uint16_t ranks[MC_TILE_RANKS];
    size_t len = 0, at = 0;
    unsigned char *data;
    if (!load_ranks(ranks_path, ranks)) return 2;
    if (!(data = read_all(path, &len))) {
        fprintf(stderr, "mcstream: cannot read %s\n", path);
        return 2;
    }
    while (at < len) {
        const unsigned char *b = data + at;
        mc_limits limits;
        uint32_t op, n;
        unsigned char *copy;
        if (len - at < 32 || memcmp(b, "MCSB", 4) != 0 || (op = le32(b + 4)) > 1 || len - at - 32 < (n = le32(b + 28)))
            break;
        mc_limits_default(&limits);
        limits.max_side = le32(b + 8);
        limits.max_pixels = le32(b + 12);
        limits.max_channels = le32(b + 16);
        limits.max_samples = le32(b + 20);
        limits.max_metadata = le32(b + 24);
        if (!(copy = malloc(n + 1u))) break;
        memcpy(copy, b + 32, n);  /* its own buffer: the sanitizer sees a read past the stream */
        if (!read_one((int)op, copy, n, &limits, ranks)) {
            free(copy);
            break;
        }
        free(copy);
        at += 32u + n;
    }
    free(data);
    if (at != len) {
        fprintf(stderr, "mcstream: malformed record at byte %lu\n", (unsigned long)at);
        return 2;
    }
    return fflush(stdout) == 0 ? 0 : 2;
}

/* ---- self-test ---- */

#define FAIL(...) do { fprintf(stderr, "mcstream selftest: " __VA_ARGS__); fputc('\n', stderr); goto fail; } while (0)

static uint32_t lcg(uint32_t *state)
{
    *state = *state * 1664525u + 1013904223u;
    return *state >> 8;
}

static int selftest_case(const uint16_t *ranks, uint32_t h, uint32_t w, uint32_t c, uint32_t sf, uint32_t bits,
                         uint32_t kind, uint32_t threshold, uint32_t d, uint32_t size, uint32_t chunk, size_t out_cap)
{
    mc_stream_params p;
    mc_stream_info info;
    mc_salvage_report report;
    mc_limits limits;
    const unsigned char meta[] = "{\"sol\":7}";
    size_t samples = (size_t)h * w * c, i, len = 0, ws_size, n, seen = 0;
    unsigned char *frame = malloc(samples * sf + 2u), *stream = NULL, *ws = NULL, *cut = NULL, *known = NULL;
    uint32_t state = h * 31u + w, *idx = NULL, chunks[3];
    uint16_t *values = NULL;
    int ok = 0;
    memset(&p, 0, sizeof p);
    p.height = h;
    p.width = w;
    p.channels = c;
    p.channel_axis = c > 1;
    p.sample_format = sf;
    p.bits = bits;
    p.mask_kind = kind;
    p.seed = 77;
    p.threshold = threshold;
    p.max_error = d;
    p.segment_size = size;
    p.repeat = MC_STREAM_REPEAT;
    p.lanes = MC_STREAM_LANES;
    p.window = MC_STREAM_WINDOW;
    p.metadata = meta;
    p.metadata_length = (uint32_t)strlen((const char *)meta);
    chunks[0] = chunk;
    chunks[1] = 1;
    chunks[2] = 2 * chunk + 3;
    mc_limits_default(&limits);
    if (!frame) FAIL("memory");
    for (i = 0; i < samples; i++) {
        uint32_t px = (uint32_t)(i / c), y = px / w, x = px % w, v = (x * 3u + y * 5u + (uint32_t)(i % c) * 50u
                                                                       + lcg(&state) % 7u) << (bits > 8 ? bits - 8 : 0);
        v &= (1u << bits) - 1u;
        if (sf == 1) frame[i] = (unsigned char)v;
        else ((uint16_t *)(void *)frame)[i] = (uint16_t)v;
    }
    if (encode_frame(&p, ranks, frame, chunks, 3, out_cap, &stream, &len) != MC_OK || len == 0 || len % size)
        FAIL("encode %ux%ux%u", h, w, c);
    if (mc_stream_describe(stream, len, NULL, &info) != MC_OK || !(ws_size = mc_stream_read_workspace_size(&info)))
        FAIL("describe");
    n = info.survivors;
    if (!(ws = malloc(ws_size)) || !(idx = malloc(4u * n + 4u)) || !(values = malloc(2u * n * c + 2u))
        || !(known = malloc(n + 1u))) FAIL("memory");
    if (mc_stream_read(stream, len, NULL, ranks, ws, ws_size, &info, idx, values) != MC_OK) FAIL("read");
    for (i = 0; i < n; i++) {  /* every kept pixel within max_error, in scan order */
        uint32_t ch;
        if (i && idx[i] <= idx[i - 1]) FAIL("not in scan order");
        if (mc_mask_key((int)kind, idx[i] / w, idx[i] % w, w, p.seed, ranks) > threshold) FAIL("a pixel not kept");
        for (ch = 0; ch < c; ch++) {
            int in = sf == 1 ? frame[(size_t)idx[i] * c + ch] : ((uint16_t *)(void *)frame)[(size_t)idx[i] * c + ch];
            int diff = (int)values[i * c + ch] - in;
            if (diff > (int)d || diff < -(int)d) FAIL("pixel %u decodes %u, was %d", idx[i], values[i * c + ch], in);
        }
    }
    /* strict refuses a stream without its last byte; salvage recovers it without its segment 1 */
    if (mc_stream_read(stream, len - 1, NULL, ranks, ws, ws_size, &info, idx, values) == MC_OK) FAIL("cut read");
    free(ws);
    ws = NULL;
    if (len >= 3u * size) {
        if (!(cut = malloc(len))) FAIL("memory");
        memcpy(cut, stream, size);
        memcpy(cut + size, stream + 2u * size, len - 2u * size);
        ws_size = mc_stream_salvage_workspace_size(len - size, &info);
        if (!ws_size || !(ws = malloc(ws_size))) FAIL("memory");
        if (mc_stream_salvage(cut, len - size, &limits, ranks, ws, ws_size, &info, idx, values, known, &report)
            != MC_OK) FAIL("salvage");
        for (i = 0; i < n; i++) seen += known[i];
        if (report.segments_received + 1u != len / size || report.survivors_recovered != seen
            || report.survivors_recovered >= n || report.bytes_skipped != 0) FAIL("salvage report");
    }
    ok = 1;
fail:
    free(frame);
    free(stream);
    free(ws);
    free(cut);
    free(idx);
    free(values);
    free(known);
    return ok;
}

static int selftest(const char *ranks_path)
{
    static uint16_t ranks[MC_TILE_RANKS];
    if (!load_ranks(ranks_path, ranks)) return 2;
    if (!selftest_case(ranks, 150, 97, 3, 1, 8, 1, 0x19999999u, 0, 256, 7, 256)
        || !selftest_case(ranks, 70, 130, 1, 2, 12, 0, 0x40000000u, 2, 200, 64, 4000)
        || !selftest_case(ranks, 40, 33, 4, 1, 8, 0, 0xFFFFFFFFu, 1, 300, 1, 600)
        || !selftest_case(ranks, 130, 20, 1, 1, 8, 0, 0, 0, 128, 5, 128)       /* no kept pixel: one segment */
        || !selftest_case(ranks, 66, 260, 2, 2, 16, 1, 0x80000000u, 0, 1024, 200, 65536)) return 1;
    printf("mcstream selftest: segmented streams ok\n");
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && strcmp(argv[1], "encode") == 0) return encode_case(argv[2], argv[3], argv[4]);
    if (argc == 4 && strcmp(argv[1], "batch") == 0) return batch(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "selftest") == 0) return selftest(argv[2]);
    fprintf(stderr, "usage: mcstream encode RANKS CASE OUT\n       mcstream batch RANKS FILE|-\n"
                    "       mcstream selftest RANKS\n");
    return 2;
}
