/* mcx: maskcodec files (.mcx) with the flight core alone: encode a Netpbm image, decode a file or a chain, verify
 * files, and check the conformance vectors of spec/vectors without Python. `mcx --help` says how; each command is
 * also an example of the library's calls (maskcodec.h): mc_encode_count / mc_encode_workspace_size /
 * mc_encode_bound / mc_encode to write, mc_parse / mc_chain_link / mc_decode_workspace_size / mc_decode / mc_paste
 * to read; `check` also reads and writes the format 4.0 segmented streams (mc_stream_describe / mc_stream_read,
 * mc_stream_salvage_describe / mc_stream_salvage, mc_stream_init / mc_stream_write / mc_stream_end).
 *
 * Exit status: 0 ok; 1 `check` found a vector that does not behave; 2 usage, input or output error; 3 a file was
 * refused (decode) or is not decoded here. */
#define _POSIX_C_SOURCE 200809L  /* opendir and readdir, for check */
#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../include/maskcodec.h"

#define TOOL "mcx"
#include "tool_io.h"

#ifndef MCX_RANKS
#define MCX_RANKS "spec/bluenoise128.u16"  /* the Makefile compiles in the absolute path of its RANKS */
#endif
#define RANKS_SHA256 "753955614a7be77ccdb7bddab4132206776ca23112f0d30ab3e1052c4ac94968"  /* spec 5.2 */
#define MAX_CHAIN 64

static const char *ranks_path = MCX_RANKS;
static uint16_t ranks[MC_TILE_RANKS];

static void hex(const unsigned char *b, size_t n, char *out)
{
    size_t i;
    for (i = 0; i < n; i++) sprintf(out + 2 * i, "%02x", b[i]);
}

static int parse_u32(const char *s, uint32_t *v)
{
    char *end;
    unsigned long long x = strtoull(s, &end, 10);
    if (!*s || *end || *s == '-' || x > 0xFFFFFFFFull) return 0;
    *v = (uint32_t)x;
    return 1;
}

static int load_ranks(void)
{
    size_t len;
    unsigned char *b = read_all(ranks_path, &len), digest[32];
    char text[65];
    int ok;
    if (!b) return 0;
    mc_sha256(b, len, digest);
    hex(digest, 32, text);
    ok = len == MC_TILE_BYTES && strcmp(text, RANKS_SHA256) == 0 && mc_ranks_from_le_bytes(b, ranks) == MC_OK;
    if (!ok) fprintf(stderr, "mcx: %s is not the rank table of spec 5.2 (32768 bytes, SHA-256 %s)\n", ranks_path,
                     RANKS_SHA256);
    free(b);
    return ok;
}

/* ---- Netpbm P5 (gray) and P6 (RGB), maxval up to 65535 (two bytes a sample, big-endian, above 255) ---- */

typedef struct {
    uint32_t width, height, channels, channel_axis, sample_format, bits;  /* bits: the default of --bits */
    void *samples;  /* uint8_t (sample format 1) or uint16_t (2), pixel-major */
} image;

static int pnm_number(const unsigned char *b, size_t len, size_t *at, uint32_t *v)
{
    for (;;) {
        while (*at < len && strchr(" \t\n\r\v\f", b[*at]) && b[*at]) ++*at;
        if (*at < len && b[*at] == '#')
            while (*at < len && b[*at] != '\n') ++*at;
        else break;
    }
    if (*at >= len || b[*at] < '0' || b[*at] > '9') return 0;
    for (*v = 0; *at < len && b[*at] >= '0' && b[*at] <= '9'; ++*at) {
        if (*v > 0x0FFFFFFFu) return 0;
        *v = *v * 10u + (uint32_t)(b[*at] - '0');
    }
    return 1;
}

/* A P5 image is (H, W), a P6 image (H, W, 3); uint16 samples above maxval 255, bits those of maxval. */
static int read_pnm(const char *path, image *img)
{
    size_t len, at = 2, count, i, wide;
    uint32_t maxval = 0;
    unsigned char *b = read_all(path, &len);
    int ok;
    if (!b) return 0;
    ok = len >= 2 && b[0] == 'P' && (b[1] == '5' || b[1] == '6') && pnm_number(b, len, &at, &img->width)
         && pnm_number(b, len, &at, &img->height) && pnm_number(b, len, &at, &maxval) && img->width
         && img->height && maxval >= 1 && maxval <= 65535 && at < len && strchr(" \t\n\r\v\f", b[at]) && b[at];
    img->channels = len >= 2 && b[1] == '6' ? 3 : 1;
    img->channel_axis = img->channels > 1;
    img->sample_format = maxval > 255 ? 2 : 1;
    for (img->bits = 0; maxval >> img->bits; img->bits++) continue;
    /* images beyond the decoders' default sample limit (spec 9) are refused before anything is allocated */
    ok = ok && (uint64_t)img->width * img->height * img->channels <= ((uint64_t)1 << 28);
    wide = maxval > 255;
    count = ok ? (size_t)img->width * img->height * img->channels : 0;
    ok = ok && (len - at - 1) / (1u + wide) >= count && (img->samples = malloc(count * (1u + wide) + 1u)) != NULL;
    for (i = 0, at++; ok && i < count; i++) {
        uint32_t v = wide ? (uint32_t)b[at + 2 * i] << 8 | b[at + 2 * i + 1] : b[at + i];
        if (v > maxval) ok = 0;
        else if (wide) ((uint16_t *)img->samples)[i] = (uint16_t)v;
        else ((unsigned char *)img->samples)[i] = (unsigned char)v;
    }
    if (!ok) fprintf(stderr, "mcx: %s is not a P5 or P6 Netpbm image (maxval 1..65535, samples within it) of at "
                     "most 2^28 samples\n", path);
    free(b);
    return ok;
}

/* The image of a header (its sample format), samples 0..2^bits - 1, as P5 (1 channel) or P6 (3). */
static int write_pnm(const char *path, const mc_header *h, const void *samples)
{
    uint32_t maxval = (1u << h->bits) - 1u;
    size_t count = (size_t)h->width * h->height * h->channels, i, head, wide = maxval > 255;
    unsigned char *b = malloc(64 + count * (1u + wide));
    int ok;
    if (!b) return 0;
    head = (size_t)sprintf((char *)b, "P%c\n%lu %lu\n%lu\n", h->channels == 3 ? '6' : '5', (unsigned long)h->width,
                           (unsigned long)h->height, (unsigned long)maxval);
    for (i = 0; i < count; i++) {
        unsigned v = h->sample_format == 2 ? ((const uint16_t *)samples)[i] : ((const unsigned char *)samples)[i];
        if (wide) {
            b[head + 2 * i] = (unsigned char)(v >> 8);
            b[head + 2 * i + 1] = (unsigned char)v;
        } else b[head + i] = (unsigned char)v;
    }
    ok = write_all(path, b, head + count * (1u + wide));
    free(b);
    return ok;
}

/* ---- decoding: a file alone, or a chain (a first file and its refinements, in order) ---- */

typedef struct {   /* every pixel decoded so far: indices ascending, values pixel-major */
    size_t n;
    uint32_t *idx;
    uint16_t *values;
} known;

/* Merges m decoded pixels into k (the files of a chain code disjoint pixels), indices ascending. */
static int merge(known *k, const uint32_t *idx, const uint16_t *values, size_t m, size_t c)
{
    size_t i = k->n, j = m, o = k->n + m;
    uint32_t *ki = realloc(k->idx, 4 * o + 4);
    uint16_t *kv;
    if (ki) k->idx = ki;
    if (!ki || !(kv = realloc(k->values, 2 * o * c + 2))) return 0;
    k->values = kv;
    while (j > 0) {
        int old = i > 0 && k->idx[i - 1] > idx[j - 1];
        const uint32_t from = old ? k->idx[--i] : idx[--j];
        const uint16_t *v = old ? k->values + i * c : values + j * c;
        o--;
        k->idx[o] = from;
        memmove(k->values + o * c, v, 2 * c);
    }
    k->n += m;
    return 1;
}

static const char *unsupported_reason(const mc_header *h)
{
    if (h->check) return h->check;  /* a segmented stream, refused at the magic number */
    if (h->mode == 1) return "latent mode (section 12)";
    if (h->channels > 255) return "more than 255 channels";
    return h->coding == MC_CODING_SCAN ? "scan coding (a zstd payload, sections 6.1-6.4)"
                                       : "predictive coding (Rice codes, section 6.5)";
}

/* Decodes the pixels of one parsed file given what the chain before it holds (NULL: the file alone) into k. */
static int decode_file(const mc_header *h, known *k, int alone)
{
    mc_prior prior;
    size_t ws_size = mc_decode_workspace_size(h), n = h->survivors, c = h->channels;
    void *ws = ws_size ? malloc(ws_size) : NULL;
    uint32_t *idx = malloc(4 * n + 4);
    uint16_t *values = malloc(2 * n * c + 2);
    int err = MC_ERR_ARG;
    prior.idx = k->idx;
    prior.values = k->values;
    prior.n = k->n;
    if (idx && values && (ws || !ws_size)) {  /* without a workspace, mc_decode says why (chain, unsupported) */
        err = mc_decode(h, alone ? NULL : &prior, ranks, ws, ws_size, idx, values);
        if (err == MC_OK && !merge(k, idx, values, n, c)) err = MC_ERR_ARG;
    }
    free(ws);
    free(idx);
    free(values);
    return err;
}

typedef struct {
    int failed;         /* the file (from 0) that was refused or not decoded */
    const char *why;    /* the check, or why it is not decoded */
    mc_header last;     /* the last file's header (pointing into its bytes) */
} outcome;

/* Reads a chain as maskcodec.decode([...]) does, each file in turn: its header checks, its link to the file before
 * it (for two files or more), its size and payload checks, its pixels (into k). MC_OK; a refusal; or
 * MC_ERR_UNSUPPORTED when a file is not decoded here (the files after it are still checked, not decoded). */
static int read_chain(unsigned char *const *data, const size_t *len, int count, known *k, outcome *o)
{
    unsigned char digest[32];
    mc_header before;
    int i, err, result = MC_OK, undecoded = 0;
    memset(o, 0, sizeof *o);
    for (i = 0; i < count; i++) {
        mc_header *h = &o->last;
        o->failed = i;
        if ((err = mc_parse_header(data[i], len[i], NULL, h)) != MC_OK) {
            o->why = h->check;
            return err;
        }
        if (count > 1 && (err = mc_chain_link(i ? &before : NULL, digest, h)) != MC_OK) {
            o->why = "the chain's link (section 6.6)";
            return err;
        }
        if ((err = mc_parse(data[i], len[i], NULL, h)) != MC_OK) {
            o->why = h->check;
            return err;
        }
        if (result == MC_OK) {
            err = decode_file(h, k, i == 0);
            if (err == MC_ERR_UNSUPPORTED) {
                result = err;
                undecoded = i;
                o->why = unsupported_reason(h);
            } else if (err != MC_OK) {
                o->why = err == MC_ERR_FORMAT ? "the mask keeps the survivors (check 11)"
                       : err == MC_ERR_CHAIN ? "a refinement is decoded after the files it refines"
                       : err == MC_ERR_ARG ? "out of memory" : mc_error_name(err);
                return err;
            }
        }
        mc_sha256(data[i], len[i], digest);
        before = *h;
    }
    o->failed = undecoded;
    return result;
}

/* ---- encoding ---- */

/* The file of an image under e (its sizes and the image's filled in by the caller); *out malloc'd. */
static int encode(mc_encode_params *e, const void *samples, const mc_prior *prior, unsigned char **out, size_t *len)
{
    size_t n, ws_size, bound;
    void *ws;
    int err;
    *out = NULL;
    if ((err = mc_encode_count(e, ranks, &n)) != MC_OK) return err;
    ws_size = mc_encode_workspace_size(e, n);
    bound = mc_encode_bound(e, n);
    ws = ws_size ? malloc(ws_size) : NULL;
    *out = bound ? malloc(bound) : NULL;
    err = ws && *out ? mc_encode(e, n, samples, prior, ranks, ws, ws_size, *out, bound, len) : MC_ERR_ARG;
    free(ws);
    return err;
}

/* ---- what the vectors are made of: JSON descriptions and .npy arrays ---- */

/* What the project's JSON files (NAME.json, index.json) say: members of objects, read without a parser beyond what
 * valid JSON needs. */
static const char *skip_space(const char *s)
{
    while (*s == ' ' || *s == '\n' || *s == '\r' || *s == '\t') s++;
    return s;
}

static const char *skip_value(const char *s)  /* just past the JSON value at s */
{
    int depth = 0;
    do {
        if (*s == '"') {
            for (s++; *s && *s != '"'; s++)
                if (*s == '\\' && s[1]) s++;
            if (*s) s++;
        } else if (*s == '{' || *s == '[') depth++, s++;
        else if (*s == '}' || *s == ']') depth--, s++;
        else if (depth == 0)
            while (*s && !strchr(",}] \n\r\t", *s)) s++;
        else s++;
    } while (depth > 0 && *s);
    return s;
}

/* The next member of the object whose '{' or previous member *at points at: its name (cut to cap - 1 characters)
 * and where its value starts; 0 at the end. */
static int json_next(const char **at, char *name, size_t cap, const char **value)
{
    const char *s = skip_space(*at), *end;
    size_t n;
    if (*s == '{' || *s == ',') s = skip_space(s + 1);
    if (*s != '"') return 0;
    end = skip_value(s);
    n = (size_t)(end - s) - 2;
    if (n >= cap) n = cap - 1;
    memcpy(name, s + 1, n);
    name[n] = 0;
    s = skip_space(end);
    if (*s != ':') return 0;
    *value = skip_space(s + 1);
    *at = skip_value(*value);
    return 1;
}

static const char *json_member(const char *obj, const char *key)
{
    char name[256];
    const char *value;
    while (obj && json_next(&obj, name, sizeof name, &value))
        if (strcmp(name, key) == 0) return value;
    return NULL;
}

static int json_u32(const char *obj, const char *key, uint32_t *v)
{
    const char *s = json_member(obj, key);
    char digits[16];
    size_t n = s ? strspn(s, "0123456789") : 0;
    if (!n || n >= sizeof digits) return 0;
    memcpy(digits, s, n);
    digits[n] = 0;
    return parse_u32(digits, v);
}

/* The string value of key, copied into out (cap bytes); "" when absent or not a string. */
static const char *json_text(const char *obj, const char *key, char *out, size_t cap)
{
    const char *s = json_member(obj, key);
    size_t n = s && *s == '"' ? strcspn(s + 1, "\"") : 0;
    if (n >= cap) n = cap - 1;
    if (n) memcpy(out, s + 1, n);
    out[n] = 0;
    return out;
}

/* The JSON array of unsigned integers at key into v[0..cap): its length, or -1 (absent, not such an array, longer
 * than cap). */
static int json_u32s(const char *obj, const char *key, uint32_t *v, int cap)
{
    const char *s = json_member(obj, key);
    int n = 0;
    if (!s || *s != '[') return -1;
    for (s = skip_space(s + 1); *s != ']'; n++) {
        char *end;
        unsigned long x = *s >= '0' && *s <= '9' ? strtoul(s, &end, 10) : 0;
        if (*s < '0' || *s > '9' || x > 0xFFFFFFFFul || n == cap) return -1;
        v[n] = (uint32_t)x;
        s = skip_space(end);
        if (*s == ',') s = skip_space(s + 1);
        else if (*s != ']') return -1;
    }
    return n;
}

/* A .npy array (numpy format 1-3) of little-endian uint8 or uint16 in C order: what the vectors hold. */
typedef struct {
    unsigned char *file;
    const unsigned char *data;
    unsigned itemsize, ndim;
    uint32_t shape[3];
    size_t count;
} npy;

static int read_npy(const char *path, npy *a)
{
    size_t len, start, hlen, k;
    char *head = NULL;
    const char *s;
    int ok;
    memset(a, 0, sizeof *a);
    if (!(a->file = read_all(path, &len))) return 0;
    ok = len >= 12 && memcmp(a->file, "\x93NUMPY", 6) == 0 && a->file[6] >= 1 && a->file[6] <= 3;
    start = ok && a->file[6] == 1 ? 10 : 12;
    hlen = !ok ? 0 : a->file[6] == 1 ? (size_t)(a->file[8] | a->file[9] << 8)
         : (size_t)a->file[8] | (size_t)a->file[9] << 8 | (size_t)a->file[10] << 16 | (size_t)a->file[11] << 24;
    ok = ok && hlen <= len - start && (head = malloc(hlen + 1)) != NULL;
    if (ok) {
        memcpy(head, a->file + start, hlen);
        head[hlen] = 0;
        s = strstr(head, "'descr':");
        s = s ? skip_space(s + 8) : NULL;
        a->itemsize = !s ? 0 : strncmp(s, "'|u1'", 5) == 0 ? 1 : strncmp(s, "'<u2'", 5) == 0 ? 2 : 0;
        s = strstr(head, "'fortran_order':");
        ok = a->itemsize && s && strncmp(skip_space(s + 16), "False", 5) == 0 && (s = strstr(head, "'shape':"));
        s = ok ? skip_space(s + 8) : NULL;
        ok = ok && *s == '(';
        for (a->count = 1, s = ok ? s + 1 : s; ok && *(s = skip_space(s)) != ')'; s = skip_space(s)) {
            char *end;
            unsigned long v = strtoul(s, &end, 10);
            ok = end != s && a->ndim < 3 && v <= 0xFFFFFFFFul;
            if (ok) a->shape[a->ndim++] = (uint32_t)v, a->count *= v, s = end;
            if (*skip_space(s) == ',') s = skip_space(s) + 1;
        }
    }
    k = start + hlen;
    ok = ok && (len - k) / a->itemsize == a->count && (len - k) % a->itemsize == 0;
    if (ok) a->data = a->file + k;
    else fprintf(stderr, "mcx: %s is not a C-order .npy array of uint8 or little-endian uint16\n", path);
    free(head);
    return ok;
}

static unsigned npy_at(const npy *a, size_t i)
{
    return a->itemsize == 1 ? a->data[i] : (unsigned)(a->data[2 * i] | a->data[2 * i + 1] << 8);
}

/* The samples of a as the library takes them (uint8_t, or uint16_t in the machine's order; malloc'd), or NULL. */
static void *npy_samples(const npy *a)
{
    void *s = malloc(a->count * a->itemsize + 1);
    size_t i;
    for (i = 0; s && i < a->count; i++) {
        if (a->itemsize == 2) ((uint16_t *)s)[i] = (uint16_t)npy_at(a, i);
        else ((unsigned char *)s)[i] = a->data[i];
    }
    return s;
}

/* An image from a .npy array (H, W) or (H, W, C) of uint8 or uint16 (bits: the dtype's, as maskcodec.encode's
 * default), else from a Netpbm file. */
static int read_image(const char *path, image *img)
{
    npy a;
    size_t n = strlen(path);
    int ok;
    memset(img, 0, sizeof *img);
    if (n < 4 || strcmp(path + n - 4, ".npy") != 0) return read_pnm(path, img);
    ok = read_npy(path, &a) && (a.ndim == 2 || a.ndim == 3) && a.count && a.count <= ((size_t)1 << 28)
         && (img->samples = npy_samples(&a)) != NULL;
    if (ok) {
        img->height = a.shape[0];
        img->width = a.shape[1];
        img->channels = a.ndim == 3 ? a.shape[2] : 1;
        img->channel_axis = a.ndim == 3;
        img->sample_format = a.itemsize;
        img->bits = 8 * a.itemsize;
    } else fprintf(stderr, "mcx: %s: an image is (H, W) or (H, W, C), at most 2^28 samples\n", path);
    free(a.file);
    return ok;
}

/* ---- the commands ---- */

static int usage(int status)
{
    fputs(
"usage: mcx encode IN.pgm|IN.ppm|IN.npy OUT.mcx [--keep F] [--seed N] [--mask bluenoise|hash]\n"
"                  [--max-error D] [--bits B] [--refine CHAIN.mcx ...]\n"
"       mcx decode IN.mcx [REFINEMENT.mcx ...] OUT.pgm|OUT.ppm\n"
"       mcx verify [FILE.mcx ...]     (no FILE: one path a line on standard input)\n"
"       mcx check DIR                 (DIR: spec/vectors)\n"
"       --ranks FILE, with any command: the blue-noise rank table spec/bluenoise128.u16\n"
"       (default " MCX_RANKS ")\n"
"\n"
"mcx reads and writes maskcodec files (format 1.0, spec/format.md) with the C99 flight core alone.\n"
"\n"
"encode  keeps a seeded subset of the pixels of an image (Netpbm P5 gray or P6 RGB, maxval up to 65535,\n"
"        or a .npy array of uint8 or uint16) and codes their values coarse to fine (ranked coding, spec\n"
"        6.7): byte for byte the file maskcodec.encode(image, keep, seed=N, mask=..., max_error=D, bits=B)\n"
"        writes. --keep F: the fraction of pixels kept, in (0, 1] (default 0.1; the header stores the\n"
"        threshold min(2^32 - 1, ceil(F * 2^32) - 1)); --seed N: the mask's 32-bit seed (default 0);\n"
"        --mask: the blue-noise tile (default) or the hash; --max-error D: every kept value decodes within\n"
"        +-D (default 0: exactly); --bits B: significant bits (default: those of maxval, or of the .npy\n"
"        dtype). A P5 image is coded as (H, W), a P6 as (H, W, 3), a .npy array with its shape.\n"
"        --refine CHAIN.mcx, once per file of a chain, in order: a refinement of that chain (spec 6.6), the\n"
"        pixels --keep adds to it, predicted from what it holds; maskcodec.refine(image, chain, keep,\n"
"        max_error=D). Its mask, bits and model are the chain's.\n"
"decode  writes the kept pixels of a file, or of a chain (a first file and its refinements, in the order\n"
"        written), into a P5 or P6 image of maxval 2^bits - 1. The pixels not kept are 0: filling them\n"
"        (inpainting) is the ground's job (maskcodec decode). Refuses what maskcodec refuses.\n"
"verify  decodes each file alone; prints a line a file, tab-separated: PATH ok N SHA-256 (N pixels; the\n"
"        hash of their values as u16 little-endian, pixel-major), PATH refused CLASS CHECK (CLASS: the\n"
"        maskcodec error class), or PATH unsupported WHY (a file this core does not decode: a segmented\n"
"        stream, latent mode, scan or predictive coding, more than 255 channels).\n"
"check   every conformance vector under DIR: each ranked file of DIR/valid decodes to its .survivors.npy\n"
"        and encodes from its .input.npy to its exact bytes, and so does each ranked chain of DIR/chains;\n"
"        each segmented stream (format 4.0, section 11) of DIR/valid is read strictly to its\n"
"        .survivors.npy, with the description its .json gives, and written from its .input.npy to its\n"
"        exact bytes; every other valid file passes the header checks (section 8, checks 1-9); each\n"
"        failing chain and each file or stream of DIR/errors is refused with the error class its\n"
"        index.json names, or is reported \"unsupported\" where this core does not decode it (after the\n"
"        checks it does); each stream of DIR/salvage is refused strictly and salvaged (section 11.5) with\n"
"        the report its .json gives. Exit status 0 when every vector behaves so.\n"
"\n"
"exit status: 0 ok, 1 a vector misbehaves (check), 2 usage or input error, 3 a file refused or not\n"
"decoded here (decode)\n", status ? stderr : stdout);
    return status;
}

/* With --refine: the chain's pixels (its files decoded in order) and the refinement's fields, from its last file. */
static int refine(mc_encode_params *e, unsigned char **chain, size_t *chain_len, int links, known *k,
                  unsigned char digest[32])
{
    outcome o;
    int err = read_chain(chain, chain_len, links, k, &o);
    const mc_header *h = &o.last;
    if (err != MC_OK) {
        fprintf(stderr, "mcx: --refine: file %d: %s (%s)\n", o.failed + 1, mc_error_name(err), o.why);
        return 0;
    }
    if (h->height != e->height || h->width != e->width || h->channels != e->channels
        || (h->flags & 1u) != e->channel_axis || h->sample_format != e->sample_format) {
        fprintf(stderr, "mcx: --refine: the chain holds another image shape or sample type\n");
        return 0;
    }
    mc_sha256(chain[links - 1], chain_len[links - 1], digest);
    e->refines = 1;  /* as maskcodec.refine: the chain's mask, bits, transform and model, no metadata */
    e->previous_threshold = h->keep_threshold;
    e->predecessor = digest;
    e->seed = h->seed;
    e->mask_kind = h->mask_kind;
    e->bits = h->bits;
    e->transform = (int)h->transform;
    e->model_id = h->model_id;
    e->model_id_length = h->model_id_length;
    e->model_sha256 = h->model_sha256;
    return 1;
}

static int cmd_encode(int argc, char **argv)
{
    mc_encode_params e;
    mc_prior prior;
    image img = {0, 0, 0, 0, 0, 0, NULL};
    known k = {0, NULL, NULL};
    unsigned char *out = NULL, *chain[MAX_CHAIN] = {NULL}, digest[32];
    size_t len = 0, chain_len[MAX_CHAIN];
    double keep = 0.1, t;
    int i, err, links = 0, status = 2;
    memset(&e, 0, sizeof e);
    e.mask_kind = MC_MASK_BLUENOISE;
    e.transform = MC_TRANSFORM_AUTO;
    for (i = 2; i + 1 < argc; i += 2) {
        const char *o = argv[i], *v = argv[i + 1];
        char *end;
        if (strcmp(o, "--keep") == 0) {
            keep = strtod(v, &end);
            if (*end || !(keep > 0.0 && keep <= 1.0)) return usage(2);
        } else if (strcmp(o, "--seed") == 0) {
            if (!parse_u32(v, &e.seed)) return usage(2);
        } else if (strcmp(o, "--mask") == 0) {
            if (strcmp(v, "hash") == 0) e.mask_kind = MC_MASK_HASH;
            else if (strcmp(v, "bluenoise") != 0) return usage(2);
        } else if (strcmp(o, "--max-error") == 0) {
            if (!parse_u32(v, &e.max_error)) return usage(2);
        } else if (strcmp(o, "--bits") == 0) {
            if (!parse_u32(v, &e.bits) || e.bits < 1 || e.bits > 16) return usage(2);
        } else if (strcmp(o, "--refine") == 0 && links < MAX_CHAIN) {
            if (!(chain[links] = read_all(v, &chain_len[links]))) goto done;
            links++;
        } else return usage(2);
    }
    if (i != argc) return usage(2);
    t = keep * 4294967296.0;  /* exact: a power of two */
    e.threshold = t >= 4294967296.0 ? 0xFFFFFFFFu : (uint32_t)((uint64_t)t - ((double)(uint64_t)t == t));
    if (!load_ranks() || !read_image(argv[0], &img)) goto done;
    e.height = img.height;
    e.width = img.width;
    e.channels = img.channels;
    e.channel_axis = img.channel_axis;
    e.sample_format = img.sample_format;
    if (!e.bits) e.bits = img.bits;
    if (links && !refine(&e, chain, chain_len, links, &k, digest)) goto done;
    prior.idx = k.idx;
    prior.values = k.values;
    prior.n = k.n;
    if ((err = encode(&e, img.samples, links ? &prior : NULL, &out, &len)) != MC_OK)
        fprintf(stderr, "mcx: encode: %s (bits %u: the samples, max_error and sizes must fit, spec section 9; a "
                "refinement keeps more than its chain)\n", mc_error_name(err), (unsigned)e.bits);
    else if (write_all(argv[1], out, len)) {
        printf("%s: %lu x %lu x %lu, threshold %lu, %lu bytes\n", argv[1], (unsigned long)e.height,
               (unsigned long)e.width, (unsigned long)e.channels, (unsigned long)e.threshold, (unsigned long)len);
        status = 0;
    }
done:
    for (i = 0; i < links; i++) free(chain[i]);
    free(k.idx);
    free(k.values);
    free(out);
    free(img.samples);
    return status;
}

static int cmd_decode(int argc, char **argv)
{
    unsigned char *data[MAX_CHAIN] = {NULL};
    size_t len[MAX_CHAIN];
    known k = {0, NULL, NULL};
    outcome o;
    void *samples = NULL;
    int i, count = argc - 1, err, status = 2;
    if (count < 1 || count > MAX_CHAIN) return usage(2);
    for (i = 0; i < count; i++)
        if (!(data[i] = read_all(argv[i], &len[i]))) goto done;
    if (!load_ranks()) goto done;
    err = read_chain(data, len, count, &k, &o);
    if (err != MC_OK) {
        fprintf(stderr, "mcx: %s: %s %s (%s)\n", argv[o.failed], err == MC_ERR_UNSUPPORTED ? "not decoded here:"
                : "refused:", mc_error_class(err) ? mc_error_class(err) : "", o.why);
        status = 3;
    } else if (o.last.channels != 1 && o.last.channels != 3)
        fprintf(stderr, "mcx: %lu channels: Netpbm P5 and P6 hold 1 and 3\n", (unsigned long)o.last.channels);
    else if (!(samples = calloc(mc_image_size(&o.last) + 1, 1)))
        fprintf(stderr, "mcx: out of memory\n");
    else if (mc_paste(&o.last, k.idx, k.values, k.n, samples) == MC_OK && write_pnm(argv[count], &o.last, samples)) {
        fprintf(stderr, "mcx: %s: %lu of %lu pixels kept; the others are 0: filling them (inpainting) is the "
                "ground's job (maskcodec decode)\n", argv[count], (unsigned long)k.n,
                (unsigned long)o.last.height * o.last.width);
        status = 0;
    }
done:
    for (i = 0; i < count; i++) free(data[i]);
    free(k.idx);
    free(k.values);
    free(samples);
    return status;
}

/* One file alone: a line "PATH\tok\tN\tSHA-256", "PATH\trefused\tCLASS\tCHECK" or "PATH\tunsupported\tWHY". */
static int verify_one(const char *path)
{
    size_t len, i, count;
    unsigned char *data = read_all(path, &len), *bytes = NULL, digest[32];
    known k = {0, NULL, NULL};
    outcome o;
    char text[65];
    int err, ok = data != NULL;
    err = ok ? read_chain(&data, &len, 1, &k, &o) : MC_ERR_ARG;
    count = err == MC_OK ? k.n * o.last.channels : 0;
    if (err == MC_OK && (ok = (bytes = malloc(2 * count + 1)) != NULL)) {
        for (i = 0; i < count; i++) {
            bytes[2 * i] = (unsigned char)k.values[i];
            bytes[2 * i + 1] = (unsigned char)(k.values[i] >> 8);
        }
        mc_sha256(bytes, 2 * count, digest);
        hex(digest, 32, text);
        printf("%s\tok\t%lu\t%s\n", path, (unsigned long)k.n, text);
    } else if (err == MC_ERR_UNSUPPORTED) printf("%s\tunsupported\t%s\n", path, o.why);
    else if (ok)
        printf("%s\trefused\t%s\t%s\n", path, mc_error_class(err) ? mc_error_class(err) : mc_error_name(err), o.why);
    fflush(stdout);
    free(bytes);
    free(data);
    free(k.idx);
    free(k.values);
    return ok;
}

static int cmd_verify(int argc, char **argv)
{
    char line[4096];
    int i;
    if (!load_ranks()) return 2;
    for (i = 0; i < argc; i++)
        if (!verify_one(argv[i])) return 2;
    while (argc == 0 && fgets(line, sizeof line, stdin)) {
        line[strcspn(line, "\r\n")] = 0;
        if (*line && !verify_one(line)) return 2;
    }
    return 0;
}

/* ---- check: the vectors, without Python ---- */

static int passed, skipped, undecided, failed;

static void result(const char *status, const char *fmt, ...)
{
    va_list ap;
    if (strcmp(status, "ok") == 0) passed++;
    else if (strcmp(status, "skip") == 0) skipped++;
    else if (strcmp(status, "unsupported") == 0) undecided++;
    else failed++;
    printf("%-11s ", status);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
}

/* The names in dir that end with suffix, the suffix cut, sorted; NULL when dir cannot be read. */
static int compare_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char **list_names(const char *dir, const char *suffix, size_t *count)
{
    DIR *d = opendir(dir);
    struct dirent *ent;
    char **names = NULL;
    size_t cap = 0, ls = strlen(suffix);
    *count = 0;
    if (!d) return NULL;
    while ((ent = readdir(d)) != NULL) {
        size_t n = strlen(ent->d_name);
        if (n <= ls || strcmp(ent->d_name + n - ls, suffix) != 0) continue;
        if (*count == cap) {
            char **more = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof *names);
            if (!more) break;
            names = more;
        }
        if (!(names[*count] = malloc(n - ls + 1))) break;
        memcpy(names[*count], ent->d_name, n - ls);
        names[(*count)++][n - ls] = 0;
    }
    closedir(d);
    if (names) qsort(names, *count, sizeof *names, compare_names);
    return names ? names : calloc(1, sizeof *names);
}

static void free_names(char **names, size_t count)
{
    while (count) free(names[--count]);
    free(names);
}

/* A file of dir: dir/name suffix (one of the last four paths made; "" when too long). */
static const char *path_of(const char *dir, const char *name, const char *suffix)
{
    static char path[4][4096];
    static int turn;
    size_t a = strlen(dir), b = strlen(name), c = strlen(suffix);
    char *p = path[turn = (turn + 1) % 4];
    if (a + b + c + 2 > sizeof path[0]) return "";
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b);
    memcpy(p + a + 1 + b, suffix, c + 1);
    return p;
}

/* Whether the known pixels are the values of survivors.npy (N x C, scan order). */
static int same_values(const known *k, size_t channels, const npy *expected)
{
    size_t i;
    if (expected->count != k->n * channels) return 0;
    for (i = 0; i < expected->count; i++)
        if (npy_at(expected, i) != k->values[i]) return 0;
    return 1;
}

/* Encodes file `at` of a chain (0: a first file) from the input, as its NAME.json and the header of the file
 * describe it (the model id and metadata as stored), given the pixels the chain holds before it, and compares the
 * bytes with the file's. */
static int reencodes(const npy *input, const char *json, const mc_header *h, const known *before,
                     const unsigned char *predecessor, const unsigned char *data, size_t len)
{
    mc_encode_params e;
    mc_prior prior;
    unsigned char *out = NULL;
    size_t out_len = 0;
    uint32_t transform = 0;
    int ok;
    memset(&e, 0, sizeof e);
    e.height = input->shape[0];
    e.width = input->shape[1];
    e.channels = input->ndim == 3 ? input->shape[2] : 1;
    e.channel_axis = input->ndim == 3;
    e.sample_format = input->itemsize;
    e.model_id = h->model_id;
    e.model_id_length = h->model_id_length;
    e.model_sha256 = h->model_sha256;
    e.metadata = h->metadata;
    e.metadata_length = h->metadata_length;
    e.transform = MC_TRANSFORM_AUTO;
    e.refines = predecessor != NULL;
    e.predecessor = predecessor;
    prior.idx = before->idx;
    prior.values = before->values;
    prior.n = before->n;
    ok = json_u32(json, "bits", &e.bits) && json_u32(json, "seed", &e.seed) && json_u32(json, "mask_kind", &e.mask_kind)
         && json_u32(json, "keep_threshold", &e.threshold) && json_u32(json, "max_error", &e.max_error)
         && (!e.refines || (json_u32(json, "previous_threshold", &e.previous_threshold)
                            && json_u32(json, "transform", &transform)));
    if (e.refines) e.transform = (int)transform;  /* a refinement keeps its chain's; a first file chooses */
    if (ok) {
        void *samples = npy_samples(input);
        ok = samples && encode(&e, samples, e.refines ? &prior : NULL, &out, &out_len) == MC_OK && out_len == len
             && memcmp(out, data, len) == 0;
        free(samples);
    }
    free(out);
    return ok;
}

/* A chain (one file: a vector of valid/) that must decode to survivors and encode from input to its files. */
static void check_decodes(const char *what, unsigned char **data, size_t *len, int count, const char *input_path,
                          const char *survivors_path, char **jsons)
{
    known k = {0, NULL, NULL}, before = {0, NULL, NULL};
    outcome o;
    npy input, expected;
    unsigned char digest[32];
    int i, err = read_chain(data, len, count, &k, &o), ok;
    if (err == MC_ERR_UNSUPPORTED) {
        result("skip", "%s: %s: not decoded by the C core (checks 1-9 pass%s)", what, o.why,
               count > 1 ? ", links checked" : "");
        goto done;
    }
    if (err != MC_OK) {
        result("FAIL", "%s: file %d refused: %s (%s)", what, o.failed, mc_error_name(err), o.why);
        goto done;
    }
    ok = read_npy(survivors_path, &expected);
    if (!ok || !same_values(&k, o.last.channels, &expected)) {
        result("FAIL", "%s: the decoded values are not %s", what, survivors_path);
        free(expected.file);
        goto done;
    }
    free(expected.file);
    ok = read_npy(input_path, &input);
    for (i = 0; ok && i < count; i++) {  /* file i from the input and the files before it */
        mc_header h;
        outcome ob;
        free(before.idx);
        free(before.values);
        before.n = 0;
        before.idx = NULL;
        before.values = NULL;
        ok = mc_parse(data[i], len[i], NULL, &h) == MC_OK
             && (i == 0 || read_chain(data, len, i, &before, &ob) == MC_OK);
        if (i) mc_sha256(data[i - 1], len[i - 1], digest);
        ok = ok && reencodes(&input, jsons[i], &h, &before, i ? digest : NULL, data[i], len[i]);
    }
    free(input.file);
    if (ok) result("ok", "%s: decodes to its %lu survivors; encodes to its %d file(s) byte for byte", what,
                   (unsigned long)k.n, count);
    else result("FAIL", "%s: file %d does not encode to its bytes from %s", what, i ? i - 1 : 0, input_path);
done:
    free(k.idx);
    free(k.values);
    free(before.idx);
    free(before.values);
}

/* ---- check: format 4.0 segmented streams (spec 11) with src/stream.c ---- */

static int is_stream(const unsigned char *data, size_t len)  /* the caller's dispatch (spec 8 check 1) */
{
    return len >= 4 && memcmp(data, "\x89MCL", 4) == 0;
}

typedef struct {  /* a stream read strictly (spec 11.4) or salvaged (11.5), with the default limits */
    mc_stream_info info;
    known k;                   /* its N survivors in scan order (salvage: those recovered[] marks) */
    unsigned char *recovered;
    mc_salvage_report report;  /* salvage's; report.used points into ws */
    void *ws;
} stream_read;

static void free_stream(stream_read *r)
{
    free(r->k.idx);
    free(r->k.values);
    free(r->recovered);
    free(r->ws);
    memset(r, 0, sizeof *r);
}

/* Reads a whole stream strictly (salvage 0) or salvages it into r (free_stream after): MC_OK or the refusal. */
static int read_stream(const unsigned char *data, size_t len, int salvage, stream_read *r)
{
    size_t size = salvage ? mc_stream_scan_workspace_size(len) : 0, n;
    int err = MC_ERR_ARG;
    memset(r, 0, sizeof *r);
    if (!salvage) err = mc_stream_describe(data, len, NULL, &r->info);
    else if (size && (r->ws = malloc(size)) != NULL) err = mc_stream_salvage_describe(data, len, NULL, r->ws, size, &r->info);
    free(r->ws);
    r->ws = NULL;
    if (err != MC_OK) return err;
    size = salvage ? mc_stream_salvage_workspace_size(len, &r->info) : mc_stream_read_workspace_size(&r->info);
    n = r->k.n = r->info.survivors;
    if (!size || !(r->ws = malloc(size)) || !(r->k.idx = malloc(4 * n + 4))
        || !(r->k.values = malloc(2 * n * r->info.channels + 2)) || !(r->recovered = malloc(n + 1)))
        return MC_ERR_ARG;
    return salvage ? mc_stream_salvage(data, len, NULL, ranks, r->ws, size, &r->info, r->k.idx, r->k.values,
                                       r->recovered, &r->report)
                   : mc_stream_read(data, len, NULL, ranks, r->ws, size, &r->info, r->k.idx, r->k.values);
}

/* The writer's parameters for a valid stream: its NAME.json's (the shape and sample type those of its input, R, G
 * and B the reference encoder's, S = file_size / segments), the model and the metadata as the description d stores
 * them (spec 4.1 defines their bytes). Whether d, and the stream's size, are what the .json says. */
static int stream_params(const char *json, const npy *input, const mc_stream_info *d, size_t len, mc_stream_params *p)
{
    uint32_t shape[3], channels, survivors, transform, header_size, file_size, segments = 0;
    char model[80];
    const char *meta = json_member(json, "metadata");
    int dims = json_u32s(json, "shape", shape, 3), ok;
    memset(p, 0, sizeof *p);
    p->height = input->shape[0];
    p->width = input->shape[1];
    p->channels = input->ndim == 3 ? input->shape[2] : 1;
    p->channel_axis = input->ndim == 3;
    p->sample_format = input->itemsize;
    p->repeat = MC_STREAM_REPEAT;
    p->lanes = MC_STREAM_LANES;
    p->window = MC_STREAM_WINDOW;
    p->model_id = d->model_id;
    p->model_id_length = d->model_id_length;
    p->model_sha256 = d->model_sha256;
    p->metadata = d->metadata;
    p->metadata_length = d->metadata_length;
    ok = json_u32(json, "bits", &p->bits) && json_u32(json, "seed", &p->seed)
         && json_u32(json, "mask_kind", &p->mask_kind) && json_u32(json, "keep_threshold", &p->threshold)
         && json_u32(json, "max_error", &p->max_error) && json_u32(json, "channels", &channels)
         && json_u32(json, "survivors", &survivors) && json_u32(json, "transform", &transform)
         && json_u32(json, "header_size", &header_size) && json_u32(json, "file_size", &file_size)
         && json_u32(json, "segments", &segments) && segments;
    p->segment_size = ok ? file_size / segments : 0;
    json_text(json, "model_id", model, sizeof model);
    return ok && dims == (int)input->ndim && shape[0] == p->height && shape[1] == p->width
           && (dims == 2 || shape[2] == p->channels) && channels == p->channels && d->height == p->height
           && d->width == p->width && d->channels == p->channels && (d->flags & 1u) == p->channel_axis
           && d->bits == p->bits && d->seed == p->seed && d->mask_kind == p->mask_kind && d->threshold == p->threshold
           && d->max_error == p->max_error && d->survivors == survivors && d->transform == transform
           && MC_STREAM_HEAD + d->description_size == header_size && file_size == len
           && (uint64_t)segments * p->segment_size == file_size && d->segment_size == p->segment_size
           && strlen(model) == d->model_id_length && (!d->model_id_length || !memcmp(model, d->model_id, strlen(model)))
           && meta && *meta == '{' && (*skip_space(meta + 1) == '}') == (d->metadata_length == 0);
}

/* Whether the C writer (mc_stream_init, mc_stream_write of every row at once, mc_stream_end) writes the stream's
 * bytes, data[0..len), under p from the input. */
static int stream_writes(const mc_stream_params *p, const npy *input, const unsigned char *data, size_t len)
{
    size_t ws_size = mc_stream_workspace_size(p, ranks), written = 0, last = 0;
    void *ws = ws_size ? malloc(ws_size) : NULL, *samples = npy_samples(input);
    unsigned char *out = malloc(len + 1);
    mc_stream_encoder *enc;
    uint32_t used = 0;
    int ok = ws && samples && out && mc_stream_init(p, ranks, ws, ws_size, &enc) == MC_OK
             && mc_stream_write(enc, samples, p->height, out, len, &written, &used) == MC_OK  /* no more than len */
             && mc_stream_end(enc, out + written, len - written, &last) == MC_OK && written + last == len
             && memcmp(out, data, len) == 0;
    free(ws);
    free(samples);
    free(out);
    return ok;
}

/* A stream of valid/: read strictly to its .survivors.npy, described as its .json says, and written from its
 * .input.npy byte for byte. */
static void check_valid_stream(const char *dir, const char *name, const unsigned char *data, size_t len,
                               const char *json)
{
    stream_read r;
    mc_stream_params p;
    npy input, expected;
    int err = read_stream(data, len, 0, &r);
    memset(&input, 0, sizeof input);
    memset(&expected, 0, sizeof expected);
    if (err != MC_OK)
        result("FAIL", "valid/%s: refused: %s (%s)", name, mc_stream_error_class(err) ? mc_stream_error_class(err)
               : "-", mc_segment_error_name(err));
    else if (!read_npy(path_of(dir, name, ".survivors.npy"), &expected)
             || !same_values(&r.k, r.info.channels, &expected))
        result("FAIL", "valid/%s: the values read are not its .survivors.npy", name);
    else if (!read_npy(path_of(dir, name, ".input.npy"), &input) || !stream_params(json, &input, &r.info, len, &p))
        result("FAIL", "valid/%s: the description is not the one its .json describes", name);
    else if (!stream_writes(&p, &input, data, len))
        result("FAIL", "valid/%s: the C writer does not write its bytes from its .input.npy", name);
    else result("ok", "valid/%s: a segmented stream: reads to its %lu survivors; writes its %lu segments byte for byte",
                name, (unsigned long)r.k.n, (unsigned long)(len / p.segment_size));
    free(input.file);
    free(expected.file);
    free_stream(&r);
}

/* Whether salvage's report is the one NAME.json gives: the counts, and the lost segments (ascending: the indices
 * below segments_expected that it did not use). */
static int same_report(const char *json, const mc_salvage_report *r)
{
    static const char *const keys[5] = {"segments_expected", "segments_received", "survivors_expected",
                                        "survivors_recovered", "bytes_skipped"};
    const uint64_t have[5] = {r->segments_expected, r->segments_received, r->survivors_expected,
                              r->survivors_recovered, r->bytes_skipped};
    uint32_t v, k, u = 0, *lost = malloc(4 * (size_t)r->segments_expected + 4);
    int i, n = lost ? json_u32s(json, "lost_segments", lost, (int)r->segments_expected) : -1, m = 0, ok = n >= 0;
    for (i = 0; ok && i < 5; i++) ok = json_u32(json, keys[i], &v) && v == have[i];
    for (k = 0; ok && k < r->segments_expected; k++) {
        while (u < r->segments_received && r->used[u] < k) u++;
        if (u == r->segments_received || r->used[u] != k) ok = m < n && lost[m++] == k;
    }
    free(lost);
    return ok && m == n;
}

/* Each stream of DIR/salvage: refused by the strict reader; salvaged with the report its .json gives. */
static void check_salvage(const char *dir)
{
    size_t count, i, len, jlen;
    char **names = list_names(dir, ".mcx", &count);
    for (i = 0; names && i < count; i++) {
        unsigned char *data = read_all(path_of(dir, names[i], ".mcx"), &len);
        char *json = data ? (char *)read_all(path_of(dir, names[i], ".json"), &jlen) : NULL;
        stream_read r;
        const char *cls;
        int err;
        if (!json) {
            result("FAIL", "salvage/%s: cannot read it and its .json", names[i]);
            free(data);
            continue;
        }
        cls = mc_stream_error_class(err = read_stream(data, len, 0, &r));
        free_stream(&r);
        if (!cls) result("FAIL", "salvage/%s: the strict reader does not refuse it (%s)", names[i],
                         mc_segment_error_name(err));
        else if ((err = read_stream(data, len, 1, &r)) != MC_OK)
            result("FAIL", "salvage/%s: salvage refuses it: %s", names[i], mc_segment_error_name(err));
        else if (!same_report(json, &r.report))
            result("FAIL", "salvage/%s: the report is not the one its .json gives", names[i]);
        else result("ok", "salvage/%s: refused strictly (%s); salvaged: %lu of %lu survivors from %lu of %lu "
                    "segments, %lu bytes skipped", names[i], cls, (unsigned long)r.report.survivors_recovered,
                    (unsigned long)r.report.survivors_expected, (unsigned long)r.report.segments_received,
                    (unsigned long)r.report.segments_expected, (unsigned long)r.report.bytes_skipped);
        free_stream(&r);
        free(data);
        free(json);
    }
    if (!names) result("FAIL", "%s: cannot be read", dir);
    free_names(names, count);
}

static void check_valid(const char *dir)
{
    size_t count, i;
    char **names = list_names(dir, ".mcx", &count), coding[32], mode[32];
    for (i = 0; names && i < count; i++) {
        const char *name = names[i];
        unsigned char *data = NULL;
        char *json = NULL;
        size_t len, jlen;
        uint32_t survivors = 0, header_size = 0, payload_size = 0;
        mc_header h;
        int err;
        if (!(data = read_all(path_of(dir, name, ".mcx"), &len))
            || !(json = (char *)read_all(path_of(dir, name, ".json"), &jlen)))
            result("FAIL", "valid/%s: cannot read it and its .json", name);
        else if (is_stream(data, len)) check_valid_stream(dir, name, data, len, json);
        else if ((err = mc_parse(data, len, NULL, &h)) == MC_ERR_UNSUPPORTED)
            result("skip", "valid/%s: %s: not read by the C core", name, h.check);
        else if (err != MC_OK)
            result("FAIL", "valid/%s: refused: %s (%s)", name, mc_error_class(err), h.check);
        else if (!json_u32(json, "survivors", &survivors) || !json_u32(json, "header_size", &header_size)
                 || !json_u32(json, "payload_size", &payload_size) || survivors != h.survivors
                 || header_size != h.header_size || payload_size != h.payload_size
                 || strcmp(json_text(json, "mode", mode, sizeof mode), h.mode ? "latent" : "mask") != 0)
            result("FAIL", "valid/%s: the header is not the one its .json describes", name);
        else if (strcmp(json_text(json, "coding", coding, sizeof coding), "ranked") != 0 || h.channels > 255)
            result("skip", "valid/%s: %s: not decoded by the C core (checks 1-9 pass)", name, unsupported_reason(&h));
        else {
            char what[300];
            snprintf(what, sizeof what, "valid/%s", name);
            check_decodes(what, &data, &len, 1, path_of(dir, name, ".input.npy"), path_of(dir, name, ".survivors.npy"),
                          &json);
        }
        free(data);
        free(json);
    }
    if (!names) result("FAIL", "%s: cannot be read", dir);
    free_names(names, count);
}

/* Reads the files of a chain named in the JSON array at list: dir/FILE each, with dir/FILE's .json when jsons. */
static int read_files(const char *dir, const char *list, unsigned char **data, size_t *len, char **jsons, int *count)
{
    const char *s = list ? skip_space(list) : NULL;
    char name[256];
    size_t json_len;
    *count = 0;
    if (!s || *s != '[') return 0;
    for (s = skip_space(s + 1); *s == '"' && *count < MAX_CHAIN; s = skip_space(s)) {
        size_t n = strcspn(s + 1, "\"");
        if (n >= sizeof name - 8) return 0;
        memcpy(name, s + 1, n);
        name[n] = 0;
        if (!(data[*count] = read_all(path_of(dir, name, ""), &len[*count]))) return 0;
        if (jsons) {
            strcpy(name + n - 4, ".json");  /* NAME.K.mcx -> NAME.K.json */
            if (!(jsons[*count] = (char *)read_all(path_of(dir, name, ""), &json_len))) return 0;
        }
        ++*count;
        s = skip_space(s + n + 2);
        if (*s == ',') s++;
    }
    return *count > 0 && *s == ']';
}

static void check_chains(const char *dir)
{
    unsigned char *data[MAX_CHAIN] = {NULL};
    char *jsons[MAX_CHAIN] = {NULL}, name[256], expected[64], what[300];
    size_t len[MAX_CHAIN], n;
    char *index = (char *)read_all(path_of(dir, "index", ".json"), &n);
    const char *at, *value;
    int count, i, pass;
    for (pass = 0; pass < 2; pass++) {  /* the chains, then the failures */
        at = json_member(index, pass ? "fail" : "chains");
        while (at && json_next(&at, name, sizeof name, &value)) {
            int ok = read_files(dir, json_member(value, "files"), data, len, pass ? NULL : jsons, &count);
            snprintf(what, sizeof what, "chains/%s", name);
            if (!ok) result("FAIL", "%s: cannot read its files", what);
            else if (!pass)
                check_decodes(what, data, len, count, path_of(dir, name, ".input.npy"),
                              path_of(dir, name, ".survivors.npy"), jsons);
            else {
                known k = {0, NULL, NULL};
                outcome o;
                int err = read_chain(data, len, count, &k, &o);
                const char *cls = mc_error_class(err);
                json_text(value, "error", expected, sizeof expected);
                if (cls && strcmp(cls, expected) == 0)
                    result("ok", "%s: refused: %s at file %d (%s)", what, cls, o.failed, o.why);
                else result("FAIL", "%s: %s, expected %s", what, cls ? cls : mc_error_name(err), expected);
                free(k.idx);
                free(k.values);
            }
            for (i = 0; i < MAX_CHAIN; i++) {
                free(data[i]);
                free(jsons[i]);
                data[i] = NULL;
                jsons[i] = NULL;
            }
        }
    }
    if (!index) result("FAIL", "%s/index.json: cannot be read", dir);
    free(index);
}

static void check_errors(const char *dir)
{
    size_t count, i, n;
    char **names = list_names(dir, ".mcx", &count), expected[64];
    char *index = (char *)read_all(path_of(dir, "index", ".json"), &n);
    for (i = 0; names && index && i < count; i++) {
        unsigned char *data;
        size_t len;
        known k = {0, NULL, NULL};
        outcome o;
        int err;
        const char *cls;
        json_text(json_member(index, names[i]), "error", expected, sizeof expected);
        if (!(data = read_all(path_of(dir, names[i], ".mcx"), &len))) {
            result("FAIL", "errors/%s: cannot be read", names[i]);
            continue;
        }
        if (is_stream(data, len)) {  /* strictly, as maskcodec.decode reads one (spec 11.4) */
            static char why[80];
            stream_read r;
            memset(&o, 0, sizeof o);
            cls = mc_stream_error_class(err = read_stream(data, len, 0, &r));
            snprintf(why, sizeof why, "a segmented stream, spec 11.4: %s", mc_segment_error_name(err));
            o.why = why;
            free_stream(&r);
        } else cls = mc_error_class(err = read_chain(&data, &len, 1, &k, &o));
        if (err == MC_ERR_UNSUPPORTED)  /* after checks 1-9 passed */
            result("unsupported", "errors/%s: %s%s; expected %s", names[i], o.why,
                   o.last.header_size ? ": checks 1-9 pass, not decoded here" : ": not read here", expected);
        else if (cls && strcmp(cls, expected) == 0)
            result("ok", "errors/%s: refused: %s (%s)", names[i], cls, o.why);
        else result("FAIL", "errors/%s: %s (%s), expected %s", names[i], cls ? cls : mc_error_name(err), o.why,
                    expected);
        free(data);
        free(k.idx);
        free(k.values);
    }
    if (!names || !index) result("FAIL", "%s: cannot be read", dir);
    if (names) free_names(names, count);
    free(index);
}

/* The library's own test values: CRC32 and SHA-256 (FIPS 180-4 examples), metadata blocks. */
static void check_self(void)
{
    static const char *const good[] = {"", "{}", " {\"a\" : [1, -2.5e+3, 0.5E-2, true, null, NaN, -Infinity, {}]} ",
                                       "{\"\\u00e9\\n\":\"\xc3\xa9\xf0\x9f\x9a\x80\",\"a\":{\"b\":[[]]}}"};
    static const char *const bad[] = {"[]", "{\"a\":1,}", "{'a':1}", "{\"a\":\"\x01\"}", "{\"a\":\xc3}",
                                      "{\"a\":\"\xed\xa0\x80\"}", "{\"a\":01}", "{\"a\":1.}", "{\"a\":-}", "{} {}",
                                      "\xef\xbb\xbf{}", "{\"a\":\"\\x\"}", "{\"a\":1e}"};
    static const char *const sha[3][2] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"}};
    unsigned char digest[32];
    char text[65];
    size_t i;
    int ok = mc_crc32((const unsigned char *)"123456789", 9) == 0xCBF43926u;
    for (i = 0; i < 3; i++) {
        mc_sha256((const unsigned char *)sha[i][0], strlen(sha[i][0]), digest);
        hex(digest, 32, text);
        ok &= strcmp(text, sha[i][1]) == 0;
    }
    for (i = 0; i < sizeof good / sizeof *good; i++)
        ok &= mc_metadata_check((const unsigned char *)good[i], strlen(good[i])) == MC_OK;
    for (i = 0; i < sizeof bad / sizeof *bad; i++)
        ok &= mc_metadata_check((const unsigned char *)bad[i], strlen(bad[i])) == MC_ERR_FORMAT;
    if (ok) result("ok", "CRC32, SHA-256 and metadata test values; the rank table %s", ranks_path);
    else result("FAIL", "CRC32, SHA-256 or metadata test values");
}

static int cmd_check(const char *dir)
{
    static char sub[4096];  /* path_of's paths last four calls */
    if (!load_ranks()) return 2;
    check_self();
    check_valid(strcpy(sub, path_of(dir, "valid", "")));
    check_chains(strcpy(sub, path_of(dir, "chains", "")));
    check_errors(strcpy(sub, path_of(dir, "errors", "")));
    check_salvage(strcpy(sub, path_of(dir, "salvage", "")));
    printf("mcx check: %d ok, %d skipped (not ranked: header checks only), %d not decided here (unsupported), "
           "%d failed\n", passed, skipped, undecided, failed);
    return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
    int i, n = 0;
    for (i = 1; i < argc; i++) {  /* --ranks FILE, anywhere */
        if (strcmp(argv[i], "--ranks") == 0 && i + 1 < argc) ranks_path = argv[++i];
        else if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) return usage(0);
        else argv[++n] = argv[i];
    }
    argc = n + 1;
    if (argc >= 4 && strcmp(argv[1], "encode") == 0) return cmd_encode(argc - 2, argv + 2);
    if (argc >= 4 && strcmp(argv[1], "decode") == 0) return cmd_decode(argc - 2, argv + 2);
    if (argc >= 2 && strcmp(argv[1], "verify") == 0) return cmd_verify(argc - 2, argv + 2);
    if (argc == 3 && strcmp(argv[1], "check") == 0) return cmd_check(argv[2]);
    return usage(2);
}
