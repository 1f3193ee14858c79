/* maskcodec flight core, C99: the pixel mask of spec/format.md section 5 and the pixel keys of 6.5, the
 * adaptive range coder and the ranked survivor coder (maskcodec/entropy/range_coder.py, survivors/ranked.py).
 *
 * Integers only, libc only (<stddef.h>, <stdint.h>), no allocation: every buffer is the caller's.
 *
 * A pixel (y, x) of an image W pixels wide has a 32-bit key (spec 6.5) and is kept exactly when
 * key <= T, the 32-bit threshold stored in the header:
 *   kind 0 (hash):       key = fmix32((y * W + x) * 0x9E3779B9 + fmix32(seed))      (mod 2^32)
 *   kind 1 (blue noise): key = R[(y + oy) & 127][(x + ox) & 127] << 18,
 *                        s = fmix32(seed), ox = s & 127, oy = (s >> 7) & 127
 * For kind 1, key <= T exactly when R[..][..] <= T >> 18 (section 5.2), since R < 2^14.
 *
 * The rank table R is not compiled in: the caller loads spec/bluenoise128.u16 (32768 bytes,
 * little-endian u16, R[r][c] at byte 2 * (128 * r + c)) into 16384 uint16_t, row-major, and may
 * convert and check it with mc_ranks_from_le_bytes(). Kind 0 ignores `ranks` (may be NULL).
 */
#ifndef MASKCODEC_H
#define MASKCODEC_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define MC_MASK_HASH 0        /* header mask_kind 0 */
#define MC_MASK_BLUENOISE 1   /* header mask_kind 1 */

#define MC_TILE 128u                       /* side of the blue-noise rank tile */
#define MC_TILE_RANKS 16384u               /* MC_TILE * MC_TILE ranks, 0..16383 once each */
#define MC_TILE_BYTES 32768u               /* size of bluenoise128.u16 */
#define MC_RANK_SHIFT 18                   /* kind 1: key = rank << 18 */

#define MC_OK 0
#define MC_ERR_ARG (-1)                    /* a NULL pointer, unknown kind or too small a workspace */
#define MC_ERR_RANKS (-2)                  /* the rank table is not a permutation of 0..16383 */
#define MC_ERR_OUTPUT (-3)                 /* the caller's output buffer is too small */
/* Refusals of a range-coded payload (each a FormatError of the Python decoder): */
#define MC_ERR_SHORT (-4)                  /* fewer than 4 bytes ("a range-coded stream has at least 4") */
#define MC_ERR_INTERVAL (-5)               /* a code lies outside its interval (v >= total) */
#define MC_ERR_TRUNCATED (-6)              /* the stream ends early (a byte is needed past its end) */
#define MC_ERR_RESIDUAL (-7)               /* a residual code z >= RANGE ("out of range") */
#define MC_ERR_TRAILING (-8)               /* bytes left after the last symbol */

#define MC_MASK_ERROR ((size_t)-1)         /* mc_mask_row*: unknown kind or a NULL pointer */

/* MurmurHash3's 32-bit finalizer (spec 5). */
uint32_t mc_fmix32(uint32_t x);

/* 1 if kind is MC_MASK_HASH or MC_MASK_BLUENOISE, else 0. */
int mc_mask_kind_valid(int kind);

/* Kind 1: the tile's seeded shift, oy = bits 7-13 and ox = bits 0-6 of fmix32(seed). Either pointer may be NULL. */
void mc_bluenoise_shift(uint32_t seed, uint32_t *oy, uint32_t *ox);

/* MC_OK if ranks[0..16383] is a permutation of 0..16383, else MC_ERR_RANKS (MC_ERR_ARG for NULL). */
int mc_ranks_check(const uint16_t *ranks);

/* Decodes the 32768 bytes of bluenoise128.u16 (little-endian u16) into ranks[16384] and checks them
 * (mc_ranks_check). The file's SHA-256 (spec 5.2) is not checked here. */
int mc_ranks_from_le_bytes(const unsigned char *bytes, uint16_t *ranks);

/* The 32-bit key of pixel (y, x) of an image `width` wide (spec 6.5, the number maskcodec.masks.keys_at
 * gives): the pixel is kept when key <= threshold. Kind 0 uses the flat index y * width + x modulo 2^32
 * (images have fewer than 2^32 pixels); kind 1 reads `ranks`. Preconditions: x < width, a valid kind, and
 * for kind 1 a checked rank table; an unknown kind or a NULL table gives 0xFFFFFFFF. */
uint32_t mc_mask_key(int kind, uint32_t y, uint32_t x, uint32_t width, uint32_t seed, const uint16_t *ranks);

/* The kept columns of row y (ascending; the pixels with key <= threshold), written to cols_out, which
 * must hold `width` entries; returns their number, or MC_MASK_ERROR. Kind 0 hashes every pixel of the
 * row; kind 1 reads the 128 ranks of the row's tile row once and repeats the pattern along the row, so
 * the work is 128 + the kept pixels, whatever the width. */
size_t mc_mask_row(int kind, uint32_t y, uint32_t width, uint32_t threshold, uint32_t seed,
                   const uint16_t *ranks, uint32_t *cols_out);

/* Bytes of the workspace mc_mask_row_ws needs for `kind`: 16384 for kind 1 (each tile row's columns
 * in rank order, one byte each; no alignment needed), 0 for kind 0 and for an unknown kind. */
size_t mc_mask_workspace_size(int kind);

/* Fills a workspace of ws_size >= mc_mask_workspace_size(kind) bytes from `ranks` (checked first);
 * MC_OK, MC_ERR_ARG or MC_ERR_RANKS. Kind 0 needs none: MC_OK with ws NULL. The workspace depends on
 * the table only (not on seed, threshold or size) and is read-only afterwards: one serves every row,
 * image and thread. */
int mc_mask_workspace_init(int kind, const uint16_t *ranks, void *ws, size_t ws_size);

/* mc_mask_row with the workspace of mc_mask_workspace_init (the same `ranks`): for kind 1 the positions
 * of ranks 0..K of the tile row (K = threshold >> 18) are found by a binary search in the row's rank
 * order, so the work is log2(128) + the kept pixels. Kind 0: as mc_mask_row (ws may be NULL). */
size_t mc_mask_row_ws(int kind, uint32_t y, uint32_t width, uint32_t threshold, uint32_t seed,
                      const uint16_t *ranks, const void *ws, uint32_t *cols_out);

/* A short name of an MC_OK / MC_ERR_* code ("ok", "arg", ..., "trailing"); "unknown" for others. */
const char *mc_error_name(int err);

/* ---- The adaptive range coder (spec 6.7.2; maskcodec/entropy/range_coder.py) -------------------------------
 *
 * LZMA's byte-oriented range coder with carry propagation, on multi-symbol frequency tables: the encoder narrows
 * range to freq * (range / total) and moves a byte out while range < 2^24; the first byte out (always 0) is not
 * written; finishing shifts the interval out 5 times. Raw bits are a symbol of frequency 1 out of 2^n. The decoder
 * reads the first 4 bytes big-endian and must end having read every byte. Totals are 1..2^16.
 *
 * The encoder writes into the caller's buffer; bytes past its capacity are counted but not written, and
 * mc_rc_encoder_finish reports MC_ERR_OUTPUT with the size needed. */
typedef struct {
    uint64_t low;          /* 33 bits used */
    uint32_t range;
    uint32_t cache;        /* the byte held back for a carry */
    size_t pending;        /* 1 + the 0xFF bytes waiting behind cache */
    int first;             /* the first byte out is not written */
    int err;               /* MC_ERR_ARG after a call with a bad symbol */
    unsigned char *out;
    size_t cap, len;       /* len: bytes produced so far (may pass cap) */
} mc_rc_encoder;

typedef struct {
    const unsigned char *data;
    size_t len, pos;
    uint32_t code, range, r;  /* r: range / total of the last target */
} mc_rc_decoder;

#define MC_MODEL_MAX_SYMBOLS 34   /* tokens of 16-bit codes: 2 * 16 + 2 */
#define MC_MODEL_INCREMENT 24     /* a coded symbol's frequency grows by this */
#define MC_MODEL_LIMIT 8192       /* when the total passes it, every f becomes (f + 1) >> 1 */

/* The adaptive model (spec 6.7.3): counts max(1, 12 - s), raised by 24 per coded symbol, halved past 2^13. */
typedef struct {
    uint32_t symbols, total;
    uint16_t freq[MC_MODEL_MAX_SYMBOLS];
} mc_model;

void mc_rc_encoder_init(mc_rc_encoder *enc, unsigned char *out, size_t cap);
/* Codes the symbol [start, start + freq) of total (1 <= freq, start + freq <= total <= 2^16; else err = MC_ERR_ARG). */
void mc_rc_encode(mc_rc_encoder *enc, uint32_t start, uint32_t freq, uint32_t total);
/* value (its low n bits, n <= 16) as a symbol of frequency 1 out of 2^n; nothing for n = 0. */
void mc_rc_encode_raw(mc_rc_encoder *enc, uint32_t value, unsigned n);
/* Flushes; *len = the stream's size. MC_OK, MC_ERR_OUTPUT (it did not fit: *len is the size needed) or MC_ERR_ARG. */
int mc_rc_encoder_finish(mc_rc_encoder *enc, size_t *len);

/* MC_OK, or MC_ERR_SHORT for a stream under 4 bytes (MC_ERR_ARG for NULL). */
int mc_rc_decoder_init(mc_rc_decoder *dec, const unsigned char *data, size_t len);
/* The position v in [0, total) of the next symbol coded under total (1..2^16); MC_ERR_INTERVAL when v >= total. */
int mc_rc_decode_target(mc_rc_decoder *dec, uint32_t total, uint32_t *v);
/* Removes the symbol [start, start + freq) that contains the last target; MC_ERR_TRUNCATED past the end. */
int mc_rc_decode_consume(mc_rc_decoder *dec, uint32_t start, uint32_t freq);
/* n raw bits (n <= 16; 0 for n = 0). */
int mc_rc_decode_raw(mc_rc_decoder *dec, unsigned n, uint32_t *v);
/* MC_OK when every byte was read, else MC_ERR_TRAILING. */
int mc_rc_decoder_finish(const mc_rc_decoder *dec);

/* symbols 1..MC_MODEL_MAX_SYMBOLS (MC_ERR_ARG otherwise). */
int mc_model_init(mc_model *m, uint32_t symbols);
void mc_model_encode(mc_model *m, mc_rc_encoder *enc, uint32_t s);   /* s < symbols, else enc->err = MC_ERR_ARG */
int mc_model_decode(mc_model *m, mc_rc_decoder *dec, uint32_t *s);

/* ---- Ranked survivor coding (maskcodec/survivors/ranked.py; predictor of spec 6.5) ---------------------------
 *
 * The survivors (flat indices idx = y * W + x, strictly ascending, below H * W, with their 32-bit mask keys) are
 * predicted level by level (level 0: key < 2^22, else bit_length(key) - 22) from the known pixels: the prior (the
 * pixels of the files before this one in a chain, with their decoded values) and the survivors of lower levels;
 * within a level they travel in rank order (ascending key, ties in scan order), each pixel's planes together,
 * each code z (zigzagged JPEG-LS near-lossless error) as a token under the adaptive model of its plane and
 * context, and for z >= 8 the bit_length(z) - 2 bits below its two leading bits, raw.
 *
 * Values are uint16, pixel-major (n x channels). Nothing is allocated: the caller passes a workspace of
 * mc_ranked_workspace_size() bytes (any alignment) and the output buffers. The workspace is about
 * 16 n + (4 channels + 1) n + (7 + channels) H W bytes (the survivors in key order, their predictions, and the
 * grid of known pixels at cells of side 2), plus about 250 KB of tables. One workspace per thread. */
typedef struct {
    uint32_t height, width;  /* 1.., H * W <= 2^32 */
    uint32_t channels;       /* 1..255 */
    uint32_t bits;           /* 1..16: samples 0..2^bits - 1 */
    uint32_t transform;      /* 0 none, 1 green difference (3 channels), 2 band difference (2+ channels) */
    uint32_t max_error;      /* 0..2^(bits-1) - 1 */
} mc_ranked_params;

/* The pixels known before the file's first survivor (a refinement's chain); n = 0 (or a NULL pointer to the
 * struct) for a first file. Indices strictly ascending, below H * W; values n x channels, at most 2^bits - 1. */
typedef struct {
    const uint32_t *idx;
    const uint16_t *values;
    size_t n;
} mc_prior;

/* MC_OK when the parameters are valid, else MC_ERR_ARG. */
int mc_ranked_check(const mc_ranked_params *p);

/* Workspace bytes for encoding or decoding n survivors with a prior of prior_n pixels; 0 for invalid
 * parameters or when the size does not fit a size_t. */
size_t mc_ranked_workspace_size(const mc_ranked_params *p, size_t n, size_t prior_n);

/* A safe upper bound of the payload's size for n survivors: ceil(n * channels * max(bits + 12, 14) / 8) + 8 (a code
 * spends at most max(bits + 11, 13) + 0.01 bits of range; the flush adds 4 bytes); 0 for invalid parameters. */
size_t mc_ranked_payload_bound(const mc_ranked_params *p, size_t n);

/* Encodes values (n x channels) of the survivors idx with keys into out[0..cap); *out_len = the payload's size
 * (with MC_ERR_OUTPUT, the size it needs). recon (n x channels) receives what the decoder will reconstruct
 * (values itself when max_error = 0); it may not be NULL. MC_OK, MC_ERR_ARG (parameters, a NULL pointer,
 * indices not ascending or out of the image, a value above 2^bits - 1, a small workspace) or MC_ERR_OUTPUT. */
int mc_ranked_encode(const mc_ranked_params *p, const uint32_t *idx, const uint32_t *keys, const uint16_t *values,
                     size_t n, const mc_prior *prior, void *ws, size_t ws_size,
                     unsigned char *out, size_t cap, size_t *out_len, uint16_t *recon);

/* Decodes a payload of len bytes into values (n x channels). MC_OK; MC_ERR_ARG (as for encoding); or a refusal
 * of the payload, the first the Python decoder meets: MC_ERR_SHORT (before anything else, after the arguments),
 * MC_ERR_INTERVAL or MC_ERR_TRUNCATED (at the symbol), MC_ERR_RESIDUAL (once the level holding the code is read:
 * predictive.reconstructed checks a level's codes together), MC_ERR_TRAILING (at the end). Never reads
 * payload[len] or beyond; on an error, values is partly written. */
int mc_ranked_decode(const mc_ranked_params *p, const unsigned char *payload, size_t len, const uint32_t *idx,
                     const uint32_t *keys, size_t n, const mc_prior *prior, void *ws, size_t ws_size,
                     uint16_t *values);

#ifdef __cplusplus
}
#endif

#endif /* MASKCODEC_H */
