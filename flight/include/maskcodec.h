/* maskcodec flight core, C99: the pixel mask of spec/format.md section 5 and the pixel keys of 6.5, the
 * adaptive range coder and the ranked survivor coder (maskcodec/entropy/range_coder.py, survivors/ranked.py), and
 * the single container of format 1.0 around them (sections 3-4, 8-9: maskcodec/framing/container.py,
 * modes/mask/container.py): header checks, decoding and encoding of ranked mask-mode files, chains.
 *
 * Integers only, libc only (<stddef.h>, <stdint.h>, <string.h>), no allocation: every buffer is the caller's, its
 * size given by a function of the parameters or of the parsed header (zlib-style).
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
/* Refusals of a file (spec section 8); mc_error_class names the Python decoder's error class of each: */
#define MC_ERR_FILE_TRUNCATED (-9)         /* TruncatedError: the file ends early (checks 1, 2, 4, 8) */
#define MC_ERR_CHECKSUM (-10)              /* ChecksumError: the header's or the payload's CRC32 (checks 4, 9) */
#define MC_ERR_VERSION (-11)               /* UnsupportedVersionError: major version, mode, mask kind, latent coder 1,
                                              the retired 2.0 stream (checks 1, 3, 7) */
#define MC_ERR_LIMIT (-12)                 /* LimitExceededError: beyond the caller's mc_limits (checks 5-7) */
#define MC_ERR_FORMAT (-13)                /* FormatError: any other field (checks 1, 4-8), or the mask keeps another
                                              number of pixels than the header says (check 11) */
#define MC_ERR_CHAIN (-14)                 /* ChainError: a refinement decoded alone, a first file given a prior, or a
                                              broken link of a chain (section 6.6) */
#define MC_ERR_UNSUPPORTED (-15)           /* a file this core does not decode (no error class): a segmented
                                              stream, or after checks 1-9 passed, scan coding (zstd), predictive Rice
                                              coding, latent mode, or more than 255 channels */

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

/* A short name of an MC_OK / MC_ERR_* code ("ok", "arg", ..., "trailing", "file-truncated", ..., "unsupported");
 * "unknown" for others. */
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

/* ---- The single container, format 1.0 (spec sections 3, 4, 8, 9; maskcodec/framing/container.py) ------------
 *
 * mc_parse_header runs the checks 1-7 of section 8, mc_parse checks 1-9, in the spec's order, on every 1.0 single
 * container (mask and latent mode: the latent block's checks of 12.8 included), and stops at the first failure with
 * the code of its error class (mc_error_class). What the checks read:
 *   - the metadata block (check 6) is empty or a JSON object in strict UTF-8, as Python's json.loads reads it
 *     (NaN, Infinity and -Infinity accepted, any number size), nested at most MC_JSON_DEPTH deep: the C core's own
 *     limit (Python's json stops near 1000 levels with a RecursionError, and at integers of over 4300 digits with
 *     a ValueError, neither a FormatError). Its keys and values are not looked at;
 *   - the model id is ASCII and named together with a non-zero hash; which model it is, is not checked (a
 *     ModelError is the ground's);
 *   - a refinement's predecessor hash is checked by mc_chain_link against the SHA-256 of the file before it.
 * mc_decode then decodes a mask-mode file with ranked coding (flag bits 1 and 2) of at most 255 channels: the mask
 * (check 11) and the ranked payload (check 12, section 6.7.3). Every other valid file is MC_ERR_UNSUPPORTED there.
 *
 * Nothing is allocated and nothing is copied: mc_header points into the caller's bytes, which must outlive it. */

#define MC_JSON_DEPTH 1024            /* the deepest nesting of arrays and objects the metadata check accepts */
#define MC_CODING_SCAN 0              /* flags bits 1, 2 clear: scan order and zstd (sections 6.1-6.4) */
#define MC_CODING_PREDICTIVE 1        /* flag bit 1: Rice codes (section 6.5) */
#define MC_CODING_RANKED 3            /* flag bits 1 and 2: the ranked code (section 6.7) */
#define MC_TRANSFORM_AUTO (-1)        /* mc_encode_params.transform: as the reference encoder chooses */

/* A decoder's limits (spec section 9); mc_limits_default gives the reference decoder's. */
typedef struct {
    uint64_t max_side, max_pixels, max_channels, max_samples, max_metadata, max_payload_raw, max_latent_pixels;
} mc_limits;

/* A parsed header: the fields of section 4 (and 4.2, 12.2), with pointers into the file. */
typedef struct {
    uint32_t version_major, version_minor, flags, mode, sample_format, bits, transform, channels, mask_kind;
    uint32_t height, width, seed, keep_threshold, survivors;
    const unsigned char *model_id;      /* model_id_length ASCII bytes (not NUL-terminated) */
    const unsigned char *model_sha256;  /* 32 bytes */
    const unsigned char *metadata;      /* metadata_length bytes: empty, or a JSON object in UTF-8 */
    uint32_t model_id_length, metadata_length;
    int coding;                         /* mask mode: MC_CODING_*; -1 in latent mode */
    uint32_t max_error, refines, previous_threshold;  /* the coding block (flag bit 1), else 0 */
    const unsigned char *predecessor;   /* a refinement's 32 bytes, else NULL */
    uint32_t latent_channels, latent_height, latent_width, factor, quantization, coder;  /* latent mode, else 0 */
    uint64_t payload_raw_size, payload_size;
    size_t header_size;                 /* header_length + 4: the bytes before the payload */
    const unsigned char *payload;       /* payload_size bytes, set by mc_parse (checks 8-9); NULL until then */
    const char *check;                  /* after a refusal: the check that failed, a short phrase; else NULL */
} mc_header;

/* The CRC32 of section 2 (zlib's): mc_crc32("123456789", 9) = 0xCBF43926. */
uint32_t mc_crc32(const unsigned char *data, size_t len);

/* The SHA-256 of data (FIPS 180-4), the hash that links a refinement to the file before it (section 6.6). */
void mc_sha256(const unsigned char *data, size_t len, unsigned char out[32]);

void mc_limits_default(mc_limits *limits);

/* MC_OK when metadata[0..len) is a valid metadata block (empty, or what the check above reads), else MC_ERR_FORMAT. */
int mc_metadata_check(const unsigned char *metadata, size_t len);

/* Checks 1-7 on the first len bytes of a file (a prefix holding the header and its checksum is enough); limits NULL
 * for the defaults. MC_OK, or the refusal (h->check says which check). */
int mc_parse_header(const unsigned char *data, size_t len, const mc_limits *limits, mc_header *h);

/* Checks 1-9 on a whole file of len bytes: mc_parse_header, then the file's exact size and the payload's CRC32;
 * sets h->payload. */
int mc_parse(const unsigned char *data, size_t len, const mc_limits *limits, mc_header *h);

/* The error class of the Python decoder for a refusal ("FormatError", "TruncatedError", "ChecksumError",
 * "UnsupportedVersionError", "LimitExceededError", "ChainError"); NULL for MC_OK, MC_ERR_UNSUPPORTED and the
 * caller's mistakes (MC_ERR_ARG, MC_ERR_RANKS, MC_ERR_OUTPUT). */
const char *mc_error_class(int err);

/* A chain (section 6.6): MC_OK when h may follow `before` (NULL: h is the chain's first file), whose SHA-256 is
 * before_sha256; else MC_ERR_CHAIN (a first file that is a refinement, a first file after the first, another image,
 * a link missing, another predecessor). Each file's own checks (mc_parse_header) come first. */
int mc_chain_link(const mc_header *before, const unsigned char before_sha256[32], const mc_header *h);

/* Bytes of the workspace mc_decode needs for a parsed header (any alignment); 0 when this core does not decode the
 * file (MC_ERR_UNSUPPORTED) or the size does not fit a size_t. The outputs: h->survivors indices (uint32_t) and
 * h->survivors * h->channels values (uint16_t). */
size_t mc_decode_workspace_size(const mc_header *h);

/* Decodes a file that mc_parse accepted: the flat indices (y * W + x, ascending) of the pixels it codes (for a
 * refinement, those it adds) into idx, and their values (pixel-major, channels together) into values, within the
 * file's max_error of what was encoded. prior: NULL for a file decoded alone; for a refinement, every pixel of the
 * files before it with their decoded values (indices ascending; mc_chain_link checks the link). ranks: the rank
 * table (mask kind 1; may be NULL for kind 0). MC_OK; MC_ERR_CHAIN (a refinement without prior, a first file with
 * a non-empty prior); MC_ERR_UNSUPPORTED; MC_ERR_RANKS; MC_ERR_ARG (a NULL pointer, a small workspace, a prior
 * out of order); MC_ERR_FORMAT (check 11); or a refusal of the ranked payload (MC_ERR_SHORT ... MC_ERR_TRAILING).
 * On a refusal idx and values are partly written. */
int mc_decode(const mc_header *h, const mc_prior *prior, const uint16_t *ranks, void *ws, size_t ws_size,
              uint32_t *idx, uint16_t *values);

/* Bytes of the whole image a header describes: H * W * C samples of 1 (uint8) or 2 (uint16) bytes; 0 if it does
 * not fit a size_t. */
size_t mc_image_size(const mc_header *h);

/* Writes n decoded pixels (idx, values as mc_decode gives them) into image (H x W x C samples, pixel-major, uint8_t
 * or uint16_t as the header's sample format); the other pixels are left as they are (the caller's fill value:
 * inpainting them is the ground's job). MC_OK or MC_ERR_ARG (an index outside the image). */
int mc_paste(const mc_header *h, const uint32_t *idx, const uint16_t *values, size_t n, void *image);

/* What mc_encode writes: the file maskcodec.encode(image, keep, seed=seed, mask=kind, max_error=max_error,
 * bits=bits, coding="ranked") writes (with the model and metadata given here as stored: the reference writes the
 * metadata as section 4.1 says, nothing for none or {}, and a refinement with the model id of the file before it
 * and no metadata). */
typedef struct {
    uint32_t height, width, channels;  /* the image, H x W x C samples, pixel-major; channels 1..255 */
    uint32_t channel_axis;             /* 1: the image is (H, W, C) (flag bit 0; needed when C > 1); 0: (H, W) */
    uint32_t sample_format;            /* 1: the image is uint8_t, 2: uint16_t */
    uint32_t bits;                     /* significant bits, 1..8 or 1..16; every sample, kept or not, must be
                                          below 2^bits (as maskcodec.encode checks) */
    int transform;                     /* MC_TRANSFORM_AUTO: 1 for 3 channels, 0 for 1, else the smaller payload of 0
                                          and 2 (0 on a tie), as the reference; a refinement gives its chain's */
    uint32_t mask_kind, seed, threshold, max_error;
    const unsigned char *model_id;     /* model_id_length (at most 64) ASCII bytes, or NULL */
    const unsigned char *model_sha256; /* 32 bytes, not all zero, when there is a model id */
    const unsigned char *metadata;     /* metadata_length bytes as stored (mc_metadata_check), or NULL */
    uint32_t model_id_length, metadata_length;
    uint32_t refines;                  /* 1: a refinement of a chain that ends at previous_threshold */
    uint32_t previous_threshold;
    const unsigned char *predecessor;  /* a refinement: the SHA-256 of the chain's last file */
} mc_encode_params;

/* Checks the parameters as a decoder with the default limits checks a header (MC_ERR_ARG if it would refuse the
 * file, MC_ERR_RANKS for a bad table) and counts the pixels the file codes, *n (one pass over the keys). */
int mc_encode_count(const mc_encode_params *e, const uint16_t *ranks, size_t *n);

/* Bytes of the workspace mc_encode needs for the n pixels of mc_encode_count (any alignment), and a bound of the
 * file's size; 0 for invalid parameters or a size that does not fit a size_t. */
size_t mc_encode_workspace_size(const mc_encode_params *e, size_t n);
size_t mc_encode_bound(const mc_encode_params *e, size_t n);

/* Encodes image (uint8_t or uint16_t as e->sample_format says) whose file codes the n pixels of mc_encode_count into
 * out[0..cap); *out_len = the file's size (with MC_ERR_OUTPUT, the size it needs). prior: NULL for a first file;
 * for a refinement, the chain's pixels with their decoded values (the input's own values when every file before
 * had max_error 0). MC_OK, MC_ERR_ARG (parameters, another n, a sample of 2^bits or more, a NULL pointer, a small
 * workspace), MC_ERR_RANKS or MC_ERR_OUTPUT. */
int mc_encode(const mc_encode_params *e, size_t n, const void *image, const mc_prior *prior, const uint16_t *ranks,
              void *ws, size_t ws_size, unsigned char *out, size_t cap, size_t *out_len);

/* ==== Segment survivor coding, format 4.0 (spec 11.3; maskcodec/survivors/segment_coding.py) ================
 * (section of src/segment.c)
 *
 * A segment's survivors, in stream order (by window y / B, then lane (y mod B) mod G, then scan order), each
 * predicted from the survivors of the same segment before it: the one just before it in its row (left), then
 * in the rows y - dy, dy in {1, 2, 3, G, 2G, 3G} (distinct, ascending), that come before it, the last survivor
 * left of its column and the first at or right of it; weights floor(2^30 / d2^2) (0 for d2 > 2^15); with no
 * weight, the nearest candidate's value, else the survivor just before it, else 2^(bits-1). Then section 6.5's
 * planes and quantizer, and each code as a token (6.7.3) under the model of its plane (C models, fresh in every
 * segment), range coded (6.7.2). A body is payload_size (u16, little-endian), the range code, then the segment's
 * zero padding (the caller's).
 *
 * The encoder codes one survivor at a time (mc_segment_push) and keeps each one whose body still fits, finished,
 * in the room (2 + the finished range code's size <= room); the first that does not fit is taken back (the range
 * coder's registers and the C models it touched restored) and ends the segment: the encoder's rule of spec 11.3,
 * byte for byte numpy's pack(quantized_run(...)). Finding a survivor's candidates costs amortized O(1): the rows of
 * a segment are consecutive in stream order, a table of B + 3G entries keyed by y mod (B + 3G) holds each recent
 * row's positions, and a cursor per dy walks the row above as x grows.
 *
 * Nothing is allocated: one workspace of mc_segment_workspace_size(p, max_n) bytes (any alignment) holds the
 * coder (mc_segment_init) for segments of up to max_n survivors: about max_n (8 + 2 C) + 200 C + 12 (B + 3G)
 * bytes. One workspace per thread. */

#define MC_SEGMENT_MAX_RUN 65535u   /* the most survivors a segment holds (its count is a u16) */
#define MC_SEGMENT_MAX_ROOM 65537u  /* the largest room: payload_size is a u16 */
#define MC_SEGMENT_FULL 1           /* mc_segment_push: the survivor does not fit (or 65535 are coded): the segment
                                       ends before it, and every later push says so too */
/* Refusals of a segment's body (each a FormatError of the Python decoder), beside MC_ERR_SHORT ... TRAILING: */
#define MC_ERR_BODY (-20)           /* a body under 2 bytes: no room for its payload_size */
#define MC_ERR_PAYLOAD_SIZE (-21)   /* payload_size runs past the body */
#define MC_ERR_PADDING (-22)        /* a byte after the payload is not zero */

typedef struct {
    uint32_t width;       /* W >= 1: a flat index is y * W + x */
    uint32_t channels;    /* C, 1..65535 */
    uint32_t bits;        /* 1..16 */
    uint32_t transform;   /* 0, 1 (C = 3) or 2 (C >= 2) */
    uint32_t max_error;   /* d, at most 2^(bits-1) - 1 */
    uint32_t lanes;       /* G, 1..255 */
    uint32_t window;      /* B, G..65535 */
} mc_segment_params;

typedef struct mc_segment_coder mc_segment_coder;  /* lives in the caller's workspace */

/* MC_OK when the parameters are valid, else MC_ERR_ARG. */
int mc_segment_check(const mc_segment_params *p);

/* Bytes of the workspace for segments of up to max_n (<= 65535) survivors; 0 for invalid parameters. */
size_t mc_segment_workspace_size(const mc_segment_params *p, size_t max_n);

/* The coder in ws (ws_size >= mc_segment_workspace_size(p, max_n)); NULL for invalid arguments. */
mc_segment_coder *mc_segment_init(const mc_segment_params *p, size_t max_n, void *ws, size_t ws_size);

/* Starts a segment whose body goes to body[0..room): 6 <= room <= MC_SEGMENT_MAX_ROOM (MC_ERR_ARG otherwise). */
int mc_segment_begin(mc_segment_coder *s, unsigned char *body, size_t room);

/* Codes the next survivor, pixel (y, x) (x < W) with values[0..C) (each at most 2^bits - 1), which must come after
 * the segment's last one in stream order: MC_OK (it fits), MC_SEGMENT_FULL (it does not, or the segment holds 65535
 * or max_n survivors: nothing changed), or MC_ERR_ARG (out of order, a value too large, no segment begun). */
int mc_segment_push(mc_segment_coder *s, uint32_t y, uint32_t x, const uint16_t *values);

/* The survivors the segment holds, and their reconstructed values (n x C, what the decoder will decode: the
 * values themselves when max_error = 0; valid until the next begin). */
size_t mc_segment_count(const mc_segment_coder *s);
const uint16_t *mc_segment_recon(const mc_segment_coder *s);

/* Finishes the range code and writes payload_size: *body_len = 2 + its size (<= room). MC_OK or MC_ERR_ARG. */
int mc_segment_end(mc_segment_coder *s, size_t *body_len);

/* A whole run: the body of the longest prefix of the n survivors idx (flat, in stream order) with values (n x C)
 * that fits in room bytes, into body[0..room); *count its survivors, *body_len its bytes; recon (may be NULL)
 * receives their reconstructed values (count x C). MC_OK or MC_ERR_ARG. */
int mc_segment_encode(const mc_segment_params *p, const uint32_t *idx, const uint16_t *values, size_t n, size_t room,
                      void *ws, size_t ws_size, unsigned char *body, size_t *body_len, size_t *count,
                      uint16_t *recon);

/* Decodes a body of len bytes (payload_size, range code, zero padding) of the n <= max_n survivors idx (flat, in
 * stream order) into values (n x C). MC_OK; MC_ERR_ARG (a NULL pointer, n > max_n, idx out of stream order); or,
 * the first the Python decoder meets, MC_ERR_BODY, MC_ERR_PAYLOAD_SIZE, MC_ERR_PADDING, MC_ERR_SHORT,
 * MC_ERR_INTERVAL or MC_ERR_TRUNCATED (at the symbol), MC_ERR_RESIDUAL (at the code), MC_ERR_TRAILING. Never reads
 * body[len] or beyond; on an error, values is partly written. */
int mc_segment_decode(mc_segment_coder *s, const unsigned char *body, size_t len, const uint32_t *idx, size_t n,
                      uint16_t *values);

/* A short name of an MC_* code, mc_error_name's and this section's ("body", "payload-size", "padding"). */
const char *mc_segment_error_name(int err);

/* ==== end of the segment coder's section ==================================================================== */

/* ==== Segmented streams, format 4.0: writer and reader (spec 11; maskcodec/modes/mask/stream.py, framing/stream.py)
 * (section of src/stream.c; uses the segment coder above, the mask of section 5 and container.c's mc_crc32,
 * mc_metadata_check and mc_limits)
 *
 * The writer is maskcodec.StreamEncoder byte for byte: segments of S bytes (head, the description block in segments
 * 0, 1 and every R-th, body, zero padding, CRC32), each holding the longest run of survivors, in stream order, whose
 * range code fits (spec 11.3). It is fed any number of rows at a time; it holds one window of B rows' survivors
 * (no more than the mask keeps in any window of the image) and one segment: its workspace, whatever the rows per
 * call. mc_stream_write consumes rows while its window has room and writes each segment as it is decided; when
 * `out` has no room for the next segment it stops (MC_ERR_OUTPUT) and says how many rows it took (*rows_used): call
 * it again with the rest of the rows and room. mc_stream_end writes the last segments (MC_ERR_OUTPUT likewise).
 *
 * The readers take a whole stream (the caller's bytes, which the info's pointers point into): mc_stream_read is the
 * strict decoding of spec 11.4 (checks in maskcodec's order, stopping at the first failure), mc_stream_salvage the
 * salvage decoding of 11.5 with its report. Refusals are MC_ERR_FILE_TRUNCATED, MC_ERR_CHECKSUM, MC_ERR_VERSION,
 * MC_ERR_LIMIT, MC_ERR_FORMAT and the body refusals of the segment coder; mc_stream_error_class names the Python
 * error class of each. Neither reader looks at the first bytes to tell a stream from a 1.0 file (the caller's
 * dispatch, spec 8 check 1 and 11.5). */

#define MC_STREAM_HEAD 23u          /* a segment's head */
#define MC_STREAM_REPEAT 8u         /* the reference encoder's R, G and B */
#define MC_STREAM_LANES 4u
#define MC_STREAM_WINDOW 64u

/* What the writer writes: maskcodec.StreamEncoder(shape, dtype, keep, seed=seed, bits=bits, mask=kind,
 * max_error=max_error, segment_size=S, metadata=..., model=...) with R, G, B as given (the reference's 8, 4, 64).
 * The transform is fixed by C (spec 11.2): 1 for 3 channels, 0 for 1, else 2. */
typedef struct {
    uint32_t height, width, channels;  /* the frame, within the default limits of spec section 9; C 1..1024 */
    uint32_t channel_axis;             /* 1: (H, W, C), flag bit 0 (needed when C > 1); 0: (H, W) */
    uint32_t sample_format;            /* 1: rows of uint8_t, 2: of uint16_t (pixel-major, C samples a pixel) */
    uint32_t bits;                     /* significant bits; every sample of every row must be below 2^bits */
    uint32_t mask_kind, seed, threshold, max_error;
    uint32_t segment_size;             /* S, 128..65535, room for the head, the description and one survivor */
    uint32_t repeat, lanes, window;    /* R >= 1; 1 <= G <= 255; G <= B <= 65535 */
    const unsigned char *model_id;     /* model_id_length (at most 64) ASCII bytes, or NULL */
    const unsigned char *model_sha256; /* 32 bytes when there is a model id */
    const unsigned char *metadata;     /* metadata_length (< 65536) bytes as stored (section 4.1), or NULL */
    uint32_t model_id_length, metadata_length;
} mc_stream_params;

typedef struct mc_stream_encoder mc_stream_encoder;  /* lives in the caller's workspace */

/* Workspace bytes for a writer (one pass over the mask's keys: the survivors of the frame and of its fullest
 * window); 0 for invalid parameters or rank table (kind 1). */
size_t mc_stream_workspace_size(const mc_stream_params *p, const uint16_t *ranks);

/* Starts a writer in ws; *enc points into it. MC_OK, MC_ERR_ARG (parameters, a small workspace, metadata that is
 * not a JSON object) or MC_ERR_RANKS. */
int mc_stream_init(const mc_stream_params *p, const uint16_t *ranks, void *ws, size_t ws_size,
                   mc_stream_encoder **enc);

/* Feeds the next nrows rows (W * C samples each); writes the segments they decide into out[0..cap) (*written
 * bytes, a multiple of S). MC_OK (every row taken), MC_ERR_OUTPUT (out is full: *rows_used rows taken), MC_ERR_ARG
 * (rows past the frame's last, a sample of 2^bits or more: *rows_used rows taken before it). */
int mc_stream_write(mc_stream_encoder *enc, const void *rows, uint32_t nrows, unsigned char *out, size_t cap,
                    size_t *written, uint32_t *rows_used);

/* After the frame's last row: the last segments (an image without kept pixels: one segment of none). MC_OK,
 * MC_ERR_OUTPUT (call again with more room), MC_ERR_ARG (rows missing). */
int mc_stream_end(mc_stream_encoder *enc, unsigned char *out, size_t cap, size_t *written);

/* The stream's survivor count N and segments written so far. */
uint32_t mc_stream_survivors(const mc_stream_encoder *enc);
uint32_t mc_stream_segments(const mc_stream_encoder *enc);

/* A stream's image description (spec 11.2) as read; pointers into the stream's bytes. */
typedef struct {
    uint32_t version_minor, flags, sample_format, bits, transform, channels, mask_kind;
    uint32_t height, width, seed, threshold, survivors;
    uint32_t max_error, repeat, lanes, window;
    const unsigned char *model_id, *model_sha256, *metadata;  /* model_sha256 NULL without a model id */
    uint32_t model_id_length, metadata_length;
    const unsigned char *description;  /* the D bytes of the block */
    uint32_t description_size, stream_id;
    uint32_t segment_size;             /* of the segment it was read from */
} mc_stream_info;

/* Salvage's report (spec 11.5; the keys of the salvage vectors' NAME.json). The lost segments are the indices
 * below segments_expected that are not in used[0..segments_received) (ascending; into the workspace). */
typedef struct {
    uint32_t segments_expected, segments_received, survivors_expected, survivors_recovered;
    uint64_t bytes_skipped;
    const uint32_t *used;
} mc_salvage_report;

/* Strict (11.4): segment 0's head and description with its mode fields (maskcodec's describe). */
int mc_stream_describe(const unsigned char *data, size_t len, const mc_limits *limits, mc_stream_info *info);

/* Workspace bytes for reading the stream info describes (strict or, with mc_stream_salvage_workspace_size, salvage);
 * 0 if it does not fit a size_t. */
size_t mc_stream_read_workspace_size(const mc_stream_info *info);

/* Strict decoding of a whole stream (limits NULL: the defaults): every check of 11.4 in the reference's order, then
 * the mask (N kept pixels) and every body. Outputs, in scan order: idx[N] flat indices and values[N * C]. */
int mc_stream_read(const unsigned char *data, size_t len, const mc_limits *limits, const uint16_t *ranks, void *ws,
                   size_t ws_size, mc_stream_info *info, uint32_t *idx, uint16_t *values);

/* Salvage (11.5): the intact segments of data and the description salvage uses. scan_ws holds
 * mc_stream_scan_workspace_size(len) bytes. MC_ERR_FORMAT when no intact segment carries a description. */
size_t mc_stream_scan_workspace_size(size_t len);
int mc_stream_salvage_describe(const unsigned char *data, size_t len, const mc_limits *limits, void *scan_ws,
                               size_t scan_ws_size, mc_stream_info *info);

/* Workspace bytes for mc_stream_salvage: the scan's and the reader's. */
size_t mc_stream_salvage_workspace_size(size_t len, const mc_stream_info *info);

/* Salvage decoding: every run of the chosen stream that decodes, in scan order into idx[N], values[N * C] and
 * known[N] (1 for a recovered survivor, else 0; the others' idx and values are left as they are), and the report.
 * MC_OK, MC_ERR_FORMAT (no description; the mask keeps another number of pixels than N), MC_ERR_RANKS, MC_ERR_ARG. */
int mc_stream_salvage(const unsigned char *data, size_t len, const mc_limits *limits, const uint16_t *ranks, void *ws,
                      size_t ws_size, mc_stream_info *info, uint32_t *idx, uint16_t *values, unsigned char *known,
                      mc_salvage_report *report);

/* The Python error class of a refusal ("FormatError", "TruncatedError", "ChecksumError", "UnsupportedVersionError",
 * "LimitExceededError"); NULL for MC_OK and the caller's mistakes. */
const char *mc_stream_error_class(int err);

/* ==== end of the segmented streams' section ================================================================= */

/* ==== The predictor fill (src/fill.c; maskcodec/inpainting/predictor_fill.py, the "predictor" inpainter) =======
 *
 * Fills the missing pixels of an image with the survivor coder's prediction (spec 6.5), coarse to fine: the level of
 * pixel (y, x) is the number of trailing zero bits of y | x ((0, 0): the top level, bit_length(max(H, W) - 1)); a
 * level's missing pixels are predicted together from the kept pixels and every pixel of the levels above, at cells
 * of side 2^min(level + 1, s_d) (s_d >= 1 the smallest shift with kept * 4^s_d >= H W), each offering its first 3
 * known pixels in scan order, the 3 x 3 cells around the target's giving the candidates, each weighing
 * max(1, 2^30 / d2^2); the prediction is the rounded weighted mean. A target with no candidate takes its lattice
 * parent's value (y and x with their low level + 1 bits cleared); (0, 0) then takes the mean of the first 3 kept
 * pixels so weighted. No kept pixel: every sample becomes MC_FILL_MID. Integers only: byte for byte
 * predictor_fill_reference. */

#define MC_FILL_MID 32768u         /* every sample of an image without a kept pixel */

/* Workspace bytes for mc_fill on an image of height x width pixels (about 5 bytes a pixel: a grid of cells of side 2,
 * 20 bytes each, and 45 KB of weight tables); 0 when height or width is 0 or H W > 2^32 - 1. */
size_t mc_fill_workspace_size(uint32_t height, uint32_t width);

/* Fills values (H x W x C uint16, pixel-major) in place: the samples of the pixels with known[y * W + x] != 0 are
 * read and kept, every other pixel's are written (their input is never read). ws: mc_fill_workspace_size(H, W) bytes
 * or more, any alignment; one per thread. MC_OK, or MC_ERR_ARG (a NULL pointer, channels 0, a small workspace, a
 * size mc_fill_workspace_size refuses or H W C samples beyond size_t). Work: a pass over known per cell side used
 * (s_d of them) and, per missing pixel, about one multiply-add per candidate and channel (9 to 27 candidates). */
int mc_fill(uint32_t height, uint32_t width, uint32_t channels, const unsigned char *known, uint16_t *values,
            void *ws, size_t ws_size);

/* ==== end of the predictor fill's section =================================================================== */

#ifdef __cplusplus
}
#endif

#endif /* MASKCODEC_H */
