/* The single container of format 1.0 (spec sections 3, 4, 8, 9) around the mask (mask.c) and the ranked coder
 * (ranked.c): the header's checks in section 8's order, the decoding and encoding of ranked mask-mode files, the
 * CRC32, SHA-256 and metadata checks they need, and chain links (6.6). C99, integers only, no allocation.
 * Reference: maskcodec/framing/fixed.py and container.py, maskcodec/modes/mask/container.py and chains.py, the
 * latent block's checks of maskcodec/modes/latent.py (_fields). */
#include <string.h>

#include "../include/maskcodec.h"

#define FIXED_SIZE 36u
#define CRC_SIZE 4u
#define FLAG_AXIS 1u
#define FLAG_PREDICTIVE 2u
#define FLAG_RANKED 4u
#define MAX_MODEL_ID 64u        /* the longest model id an encoder writes */
#define RANKED_CHANNELS 255u    /* the most channels of the C ranked coder */
#define ALIGN 16u

static const unsigned char magic[4] = {0x89, 'M', 'C', 'X'};
static const unsigned char magic_stream[4] = {0x89, 'M', 'C', 'L'};   /* a segmented stream (section 11) */
static const unsigned char magic_retired[4] = {0x89, 'M', 'C', 'S'};  /* the retired 2.0 stream (section 13) */
static const unsigned char no_hash[32];

/* ---- checksums ---- */

static const uint32_t crc_nibble[16] = {  /* the reflected polynomial 0xEDB88320, four bits at a time */
    0x00000000u, 0x1DB71064u, 0x3B6E20C8u, 0x26D930ACu, 0x76DC4190u, 0x6B6B51F4u, 0x4DB26158u, 0x5005713Cu,
    0xEDB88320u, 0xF00F9344u, 0xD6D6A3E8u, 0xCB61B38Cu, 0x9B64C2B0u, 0x86D3D2D4u, 0xA00AE278u, 0xBDBDF21Cu};

uint32_t mc_crc32(const unsigned char *data, size_t len)
{
    uint32_t crc = 0xFFFFFFFFu;
    size_t i;
    for (i = 0; i < len; i++) {
        crc ^= data[i];
        crc = (crc >> 4) ^ crc_nibble[crc & 15u];
        crc = (crc >> 4) ^ crc_nibble[crc & 15u];
    }
    return ~crc;
}

static const uint32_t sha_k[64] = {
    0x428A2F98u, 0x71374491u, 0xB5C0FBCFu, 0xE9B5DBA5u, 0x3956C25Bu, 0x59F111F1u, 0x923F82A4u, 0xAB1C5ED5u,
    0xD807AA98u, 0x12835B01u, 0x243185BEu, 0x550C7DC3u, 0x72BE5D74u, 0x80DEB1FEu, 0x9BDC06A7u, 0xC19BF174u,
    0xE49B69C1u, 0xEFBE4786u, 0x0FC19DC6u, 0x240CA1CCu, 0x2DE92C6Fu, 0x4A7484AAu, 0x5CB0A9DCu, 0x76F988DAu,
    0x983E5152u, 0xA831C66Du, 0xB00327C8u, 0xBF597FC7u, 0xC6E00BF3u, 0xD5A79147u, 0x06CA6351u, 0x14292967u,
    0x27B70A85u, 0x2E1B2138u, 0x4D2C6DFCu, 0x53380D13u, 0x650A7354u, 0x766A0ABBu, 0x81C2C92Eu, 0x92722C85u,
    0xA2BFE8A1u, 0xA81A664Bu, 0xC24B8B70u, 0xC76C51A3u, 0xD192E819u, 0xD6990624u, 0xF40E3585u, 0x106AA070u,
    0x19A4C116u, 0x1E376C08u, 0x2748774Cu, 0x34B0BCB5u, 0x391C0CB3u, 0x4ED8AA4Au, 0x5B9CCA4Fu, 0x682E6FF3u,
    0x748F82EEu, 0x78A5636Fu, 0x84C87814u, 0x8CC70208u, 0x90BEFFFAu, 0xA4506CEBu, 0xBEF9A3F7u, 0xC67178F2u};

static uint32_t rotr(uint32_t x, unsigned n)
{
    return (uint32_t)((x >> n) | (x << (32u - n)));
}

static void sha256_block(uint32_t st[8], const unsigned char *b)
{
    uint32_t w[64], v[8], t1, t2;
    unsigned i;
    for (i = 0; i < 16; i++)
        w[i] = (uint32_t)b[4 * i] << 24 | (uint32_t)b[4 * i + 1] << 16 | (uint32_t)b[4 * i + 2] << 8 | b[4 * i + 3];
    for (i = 16; i < 64; i++)
        w[i] = (uint32_t)((rotr(w[i - 2], 17) ^ rotr(w[i - 2], 19) ^ (w[i - 2] >> 10)) + w[i - 7]
                          + (rotr(w[i - 15], 7) ^ rotr(w[i - 15], 18) ^ (w[i - 15] >> 3)) + w[i - 16]);
    memcpy(v, st, sizeof v);
    for (i = 0; i < 64; i++) {
        t1 = (uint32_t)(v[7] + (rotr(v[4], 6) ^ rotr(v[4], 11) ^ rotr(v[4], 25))
                        + ((v[4] & v[5]) ^ ((uint32_t)~v[4] & v[6])) + sha_k[i] + w[i]);
        t2 = (uint32_t)((rotr(v[0], 2) ^ rotr(v[0], 13) ^ rotr(v[0], 22))
                        + ((v[0] & v[1]) ^ (v[0] & v[2]) ^ (v[1] & v[2])));
        memmove(v + 1, v, 7 * sizeof *v);  /* h = g, ..., b = a */
        v[4] = (uint32_t)(v[4] + t1);
        v[0] = (uint32_t)(t1 + t2);
    }
    for (i = 0; i < 8; i++) st[i] = (uint32_t)(st[i] + v[i]);
}

void mc_sha256(const unsigned char *data, size_t len, unsigned char out[32])
{
    uint32_t st[8] = {0x6A09E667u, 0xBB67AE85u, 0x3C6EF372u, 0xA54FF53Au,
                      0x510E527Fu, 0x9B05688Cu, 0x1F83D9ABu, 0x5BE0CD19u};
    unsigned char last[128];
    uint64_t bits = (uint64_t)len << 3;
    size_t i, rest = len % 64u, tail = rest < 56u ? 64u : 128u;
    for (i = 0; i + 64u <= len; i += 64u) sha256_block(st, data + i);
    memset(last, 0, sizeof last);
    if (rest) memcpy(last, data + (len - rest), rest);
    last[rest] = 0x80;
    for (i = 0; i < 8; i++) last[tail - 1u - i] = (unsigned char)(bits >> (8u * i));
    sha256_block(st, last);
    if (tail == 128u) sha256_block(st, last + 64);
    for (i = 0; i < 32; i++) out[i] = (unsigned char)(st[i / 4u] >> (24u - 8u * (i % 4u)));
}

/* ---- the metadata block: empty, or a JSON object in strict UTF-8 (Python's json.loads of raw.decode()) ---- */

static int digit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static size_t json_space(const unsigned char *s, size_t n, size_t i)
{
    while (i < n && (s[i] == ' ' || s[i] == '\t' || s[i] == '\n' || s[i] == '\r')) i++;
    return i;
}

/* The length of the UTF-8 sequence at s[i] as Python's strict decoder reads it (no overlong form, no surrogate,
 * nothing above U+10FFFF); 0 when invalid. */
static size_t utf8_length(const unsigned char *s, size_t n, size_t i)
{
    unsigned c = s[i], lo = 0x80, hi = 0xBF;
    size_t len, k;
    if (c < 0x80) return 1;
    if (c >= 0xC2 && c <= 0xDF) len = 2;
    else if (c >= 0xE0 && c <= 0xEF) {
        len = 3;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
    } else if (c >= 0xF0 && c <= 0xF4) {
        len = 4;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
    } else return 0;
    if (n - i < len) return 0;
    for (k = 1; k < len; k++, lo = 0x80, hi = 0xBF)
        if (s[i + k] < lo || s[i + k] > hi) return 0;
    return len;
}

/* Just past the string whose quote is at s[i]; 0 when invalid (strict: no raw control character). */
static size_t json_string(const unsigned char *s, size_t n, size_t i)
{
    static const char escapes[] = "\"\\/bfnrt";
    for (i++; i < n;) {
        unsigned char c = s[i];
        size_t k, len;
        if (c == '"') return i + 1;
        if (c < 0x20) return 0;
        if (c != '\\') {
            if (!(len = utf8_length(s, n, i))) return 0;
            i += len;
            continue;
        }
        if (n - i < 2) return 0;
        c = s[i + 1];
        if (c == 'u') {
            if (n - i < 6) return 0;
            for (k = 2; k < 6; k++) {
                unsigned char x = (unsigned char)(s[i + k] | 0x20);
                if (!digit(s[i + k]) && !(x >= 'a' && x <= 'f')) return 0;
            }
            i += 6;
        } else {
            for (k = 0; k < sizeof escapes - 1u && escapes[k] != (char)c; k++) continue;
            if (k == sizeof escapes - 1u) return 0;
            i += 2;
        }
    }
    return 0;
}

/* Just past the number or literal at s[i] (Python's json also reads NaN, Infinity and -Infinity); 0 if none. */
static size_t json_scalar(const unsigned char *s, size_t n, size_t i)
{
    static const char *const words[] = {"true", "false", "null", "NaN", "Infinity", "-Infinity"};
    size_t k, j;
    for (k = 0; k < sizeof words / sizeof *words; k++) {
        size_t len = strlen(words[k]);
        if (n - i >= len && memcmp(s + i, words[k], len) == 0) return i + len;
    }
    if (s[i] == '-') i++;
    if (i >= n || !digit(s[i])) return 0;
    if (s[i] == '0') i++;
    else
        while (i < n && digit(s[i])) i++;
    if (n - i >= 2 && s[i] == '.' && digit(s[i + 1]))
        for (i += 2; i < n && digit(s[i]); i++) continue;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {  /* an exponent without digits is not part of the number */
        j = i + 1;
        if (j < n && (s[j] == '+' || s[j] == '-')) j++;
        if (j < n && digit(s[j]))
            for (i = j; i < n && digit(s[i]); i++) continue;
    }
    return i;
}

int mc_metadata_check(const unsigned char *m, size_t n)
{
    unsigned char object[MC_JSON_DEPTH / 8];  /* bit d: whether nesting level d is an object (else an array) */
    size_t depth = 0, i, next;
    enum { VALUE, KEY, AFTER } state = VALUE;
    if (n == 0) return MC_OK;
    if (!m) return MC_ERR_ARG;
    i = json_space(m, n, 0);
    if (i == n || m[i] != '{') return MC_ERR_FORMAT;
    for (;;) {
        int obj;
        i = json_space(m, n, i);
        if (state == AFTER && depth == 0) return i == n ? MC_OK : MC_ERR_FORMAT;
        if (i == n) return MC_ERR_FORMAT;
        obj = depth && object[(depth - 1u) / 8u] >> ((depth - 1u) % 8u) & 1u;
        if (state == AFTER) {  /* after a value: the next one, or the end of its container */
            if (m[i] == ',') state = obj ? KEY : VALUE;
            else if (m[i] == (obj ? '}' : ']')) depth--;
            else return MC_ERR_FORMAT;
            i++;
        } else if (state == KEY) {
            if (m[i] != '"' || !(next = json_string(m, n, i))) return MC_ERR_FORMAT;
            i = json_space(m, n, next);
            if (i == n || m[i] != ':') return MC_ERR_FORMAT;
            i++;
            state = VALUE;
        } else if (m[i] == '{' || m[i] == '[') {
            unsigned char bit = (unsigned char)(1u << (depth % 8u));
            if (depth == MC_JSON_DEPTH) return MC_ERR_FORMAT;
            obj = m[i] == '{';
            object[depth / 8u] = (unsigned char)(obj ? object[depth / 8u] | bit : object[depth / 8u] & ~bit);
            depth++;
            i = json_space(m, n, i + 1);
            if (i < n && m[i] == (obj ? '}' : ']')) {  /* empty */
                depth--;
                i++;
                state = AFTER;
            } else state = obj ? KEY : VALUE;
        } else {
            next = m[i] == '"' ? json_string(m, n, i) : json_scalar(m, n, i);
            if (!next) return MC_ERR_FORMAT;
            i = next;
            state = AFTER;
        }
    }
}

/* ---- the header: checks 1-7 ---- */

static uint64_t le(const unsigned char *b, unsigned n)
{
    uint64_t v = 0;
    while (n--) v = v << 8 | b[n];
    return v;
}

static size_t put(unsigned char *b, uint64_t v, unsigned n)
{
    unsigned i;
    for (i = 0; i < n; i++) b[i] = (unsigned char)(v >> (8u * i));
    return n;
}

static int ascii(const unsigned char *s, size_t n)
{
    while (n--)
        if (s[n] >= 0x80) return 0;
    return 1;
}

void mc_limits_default(mc_limits *l)
{
    if (!l) return;
    l->max_side = (uint64_t)1 << 16;
    l->max_pixels = (uint64_t)1 << 28;
    l->max_channels = 1024;
    l->max_samples = (uint64_t)1 << 28;
    l->max_metadata = (uint64_t)1 << 20;
    l->max_payload_raw = (uint64_t)1 << 31;
    l->max_latent_pixels = (uint64_t)1 << 24;
}

static int refuse(mc_header *h, int err, const char *check)
{
    h->check = check;
    return err;
}

static int binary32_finite(uint32_t u)
{
    return (u >> 23 & 0xFFu) != 0xFFu;
}

static int binary32_whole(uint32_t u)  /* a finite binary32 without a fraction */
{
    uint32_t e = u >> 23 & 0xFFu;
    if ((u & 0x7FFFFFFFu) == 0) return 1;
    if (e < 127u) return 0;   /* 0 < |x| < 1 */
    if (e >= 150u) return 1;  /* |x| >= 2^23: no fraction bits */
    return (u & ((1u << (150u - e)) - 1u)) == 0;
}

/* Check 7 in mask mode (maskcodec/modes/mask/fields.py and container.describe). */
static int mask_fields(mc_header *h)
{
    uint64_t least, value_bytes = h->bits > 8 ? 2u : 1u;
    if (h->mask_kind > 1) return refuse(h, MC_ERR_VERSION, "mask kind");
    if (h->transform > 2 || (h->transform == 1 && h->channels != 3) || (h->transform == 2 && h->channels < 2))
        return refuse(h, MC_ERR_FORMAT, "transform for the channels");
    if (h->survivors > (uint64_t)h->height * h->width) return refuse(h, MC_ERR_FORMAT, "survivors above the pixels");
    h->coding = (int)(h->flags >> 1 & 3u);
    if (h->coding == 2) return refuse(h, MC_ERR_FORMAT, "flag bit 2 (ranked) without bit 1");
    if (h->coding != MC_CODING_SCAN) {
        if (h->max_error > (1u << (h->bits - 1u)) - 1u) return refuse(h, MC_ERR_FORMAT, "max_error for the bits");
        if (h->refines > 1) return refuse(h, MC_ERR_FORMAT, "refines is 0 or 1");
        if (h->refines && h->previous_threshold >= h->keep_threshold)
            return refuse(h, MC_ERR_FORMAT, "previous_threshold below keep_threshold");
        least = h->coding == MC_CODING_RANKED ? 4u  /* Rice: parameters, unary_size, a unary bit per code */
                : 9u * h->channels + 4u + ((uint64_t)h->survivors * h->channels + 7u) / 8u;
        if (h->payload_size < least) return refuse(h, MC_ERR_FORMAT, "payload_size too small for its codes");
    }
    if (h->payload_raw_size != (uint64_t)h->survivors * h->channels * value_bytes)
        return refuse(h, MC_ERR_FORMAT, "payload_raw_size");
    return MC_OK;
}

/* Check 7 in latent mode (spec 12.8, maskcodec/modes/latent.py _fields). The offsets and steps of coder 0 follow
 * the 14 bytes of the latent block, right after the metadata. */
static int latent_fields(mc_header *h, const mc_limits *l)
{
    uint32_t c, f = h->factor;
    const unsigned char *offsets = h->metadata + h->metadata_length + 14;  /* steps follow them (coder 0) */
    if (h->transform || h->seed || h->keep_threshold || h->survivors || h->mask_kind)
        return refuse(h, MC_ERR_FORMAT, "latent mode has no mask");
    if (!h->model_id_length) return refuse(h, MC_ERR_FORMAT, "latent mode names its model");
    if (!h->latent_channels || !h->latent_height || !h->latent_width || !f)
        return refuse(h, MC_ERR_FORMAT, "a zero latent dimension");
    if (h->latent_channels > l->max_channels) return refuse(h, MC_ERR_LIMIT, "latent channels");
    if (h->latent_height != h->height / f + (h->height % f != 0)
        || h->latent_width != h->width / f + (h->width % f != 0))
        return refuse(h, MC_ERR_FORMAT, "latent size for the image");
    /* (h f)(w f) < (H + f)(W + f) < 2^50, as H W < 2^32 (check 5) */
    if ((uint64_t)h->latent_height * f * ((uint64_t)h->latent_width * f) > l->max_latent_pixels)
        return refuse(h, MC_ERR_LIMIT, "padded image");
    if (h->quantization > 1) return refuse(h, MC_ERR_FORMAT, "quantization kind");
    if (h->coder == 1) return refuse(h, MC_ERR_VERSION, "latent coder 1 (retired)");
    if (h->coder != 0 && h->coder != 3) return refuse(h, MC_ERR_FORMAT, "latent coder");
    if (h->coder == 3 && h->quantization != 1) return refuse(h, MC_ERR_FORMAT, "coder 3 needs integer quantization");
    for (c = 0; h->coder == 0 && c < h->latent_channels; c++) {
        uint32_t o = (uint32_t)le(offsets + 4u * c, 4), s = (uint32_t)le(offsets + 4u * (h->latent_channels + c), 4);
        if (!binary32_finite(o) || !binary32_finite(s) || s >> 31 || !(s & 0x7FFFFFFFu))
            return refuse(h, MC_ERR_FORMAT, "latent offsets finite, steps finite and positive");
        if (h->quantization == 1 && (s != 0x3F800000u || !binary32_whole(o)))
            return refuse(h, MC_ERR_FORMAT, "integer quantization: steps 1.0, whole offsets");
    }
    if (h->payload_raw_size != (uint64_t)h->latent_channels * h->latent_height * h->latent_width)
        return refuse(h, MC_ERR_FORMAT, "payload_raw_size");
    return MC_OK;
}

/* Checks 5-7 on the fields of a header (maskcodec/framing/fixed.py check_image, container.parse_header). */
static int check_fields(mc_header *h, uint32_t reserved, const mc_limits *l)
{
    uint64_t pixels = (uint64_t)h->height * h->width;
    uint32_t defined = FLAG_AXIS | (h->mode == 0 ? FLAG_PREDICTIVE | FLAG_RANKED : 0u);
    if (h->flags & ~defined || reserved) return refuse(h, MC_ERR_FORMAT, "reserved bits");
    if (h->sample_format != 1 && h->sample_format != 2) return refuse(h, MC_ERR_FORMAT, "sample format");
    if (h->bits < 1 || h->bits > 8u * h->sample_format) return refuse(h, MC_ERR_FORMAT, "bits for the sample format");
    if (!h->height || !h->width || !h->channels) return refuse(h, MC_ERR_FORMAT, "a zero dimension");
    if (h->channels > 1 && !(h->flags & FLAG_AXIS)) return refuse(h, MC_ERR_FORMAT, "channels without CHANNEL_AXIS");
    if (h->height > l->max_side || h->width > l->max_side) return refuse(h, MC_ERR_LIMIT, "image side");
    if (pixels > l->max_pixels) return refuse(h, MC_ERR_LIMIT, "pixels");
    if (h->channels > l->max_channels) return refuse(h, MC_ERR_LIMIT, "channels");
    if (h->channels > l->max_samples / pixels) return refuse(h, MC_ERR_LIMIT, "samples");
    if (pixels >> 32) return refuse(h, MC_ERR_FORMAT, "height x width below 2^32");
    /* check 6 */
    if ((h->model_id_length == 0) != (memcmp(h->model_sha256, no_hash, 32) == 0))
        return refuse(h, MC_ERR_FORMAT, "model id and hash both present or both absent");
    if (h->metadata_length > l->max_metadata) return refuse(h, MC_ERR_LIMIT, "metadata length");
    if (mc_metadata_check(h->metadata, h->metadata_length) != MC_OK)
        return refuse(h, MC_ERR_FORMAT, "metadata is a JSON object in UTF-8");
    if (h->payload_raw_size > l->max_payload_raw) return refuse(h, MC_ERR_LIMIT, "payload_raw_size");
    return h->mode == 0 ? mask_fields(h) : latent_fields(h, l);
}

int mc_parse_header(const unsigned char *data, size_t len, const mc_limits *limits, mc_header *h)
{
    mc_limits defaults;
    size_t pos = FIXED_SIZE, head = len < 4u ? len : 4u;
    if (!h) return MC_ERR_ARG;
    memset(h, 0, sizeof *h);
    h->coding = -1;
    if (!data && len) return MC_ERR_ARG;
    if (!limits) {
        mc_limits_default(&defaults);
        limits = &defaults;
    }
    /* checks 1-3: the magic number, the fixed part, the version and the mode */
    if (len >= 4 && memcmp(data, magic_retired, 4) == 0) return refuse(h, MC_ERR_VERSION, "the retired 2.0 stream");
    if (len >= 4 && memcmp(data, magic_stream, 4) == 0)
        return refuse(h, MC_ERR_UNSUPPORTED, "a segmented stream (section 11)");
    if (head && memcmp(data, magic, head) != 0) return refuse(h, MC_ERR_FORMAT, "magic number");
    if (len < FIXED_SIZE) return refuse(h, MC_ERR_FILE_TRUNCATED, "the fixed header");
    h->version_major = data[4];
    h->version_minor = data[5];
    h->flags = (uint32_t)le(data + 6, 2);
    h->mode = data[8];
    h->sample_format = data[9];
    h->bits = data[10];
    h->transform = data[11];
    h->channels = (uint32_t)le(data + 12, 2);
    h->mask_kind = data[14];
    h->height = (uint32_t)le(data + 16, 4);
    h->width = (uint32_t)le(data + 20, 4);
    h->seed = (uint32_t)le(data + 24, 4);
    h->keep_threshold = (uint32_t)le(data + 28, 4);
    h->survivors = (uint32_t)le(data + 32, 4);
    if (h->version_major != 1) return refuse(h, MC_ERR_VERSION, "major version");
    if (h->mode > 1) return refuse(h, MC_ERR_VERSION, "mode");
    /* check 4: the variable part, field by field (a model id that is not ASCII is met before what follows it) */
    if (len - pos < 1 || len - pos - 1 < data[pos]) return refuse(h, MC_ERR_FILE_TRUNCATED, "the header");
    h->model_id_length = data[pos];
    h->model_id = data + pos + 1;
    pos += 1u + h->model_id_length;
    if (!ascii(h->model_id, h->model_id_length)) return refuse(h, MC_ERR_FORMAT, "model id is ASCII");
    if (len - pos < 36) return refuse(h, MC_ERR_FILE_TRUNCATED, "the header");
    h->model_sha256 = data + pos;
    h->metadata_length = (uint32_t)le(data + pos + 32, 4);
    pos += 36;
    if (len - pos < h->metadata_length) return refuse(h, MC_ERR_FILE_TRUNCATED, "the header");
    h->metadata = data + pos;
    pos += h->metadata_length;
    if (h->mode == 1) {  /* the latent block: offsets and steps for every coder but 1 and 3 (section 12.2) */
        if (len - pos < 14) return refuse(h, MC_ERR_FILE_TRUNCATED, "the header");
        h->latent_channels = (uint32_t)le(data + pos, 2);
        h->latent_height = (uint32_t)le(data + pos + 2, 4);
        h->latent_width = (uint32_t)le(data + pos + 6, 4);
        h->factor = (uint32_t)le(data + pos + 10, 2);
        h->quantization = data[pos + 12];
        h->coder = data[pos + 13];
        pos += 14;
        if (h->coder != 1 && h->coder != 3) {
            if ((len - pos) / 8u < h->latent_channels) return refuse(h, MC_ERR_FILE_TRUNCATED, "the header");
            pos += 8u * h->latent_channels;
        }
    } else if (h->flags & FLAG_PREDICTIVE) {  /* the coding block (section 4.2) */
        if (len - pos < 3) return refuse(h, MC_ERR_FILE_TRUNCATED, "the header");
        h->max_error = (uint32_t)le(data + pos, 2);
        h->refines = data[pos + 2];
        pos += 3;
        if (h->refines == 1) {
            if (len - pos < 36) return refuse(h, MC_ERR_FILE_TRUNCATED, "the header");
            h->previous_threshold = (uint32_t)le(data + pos, 4);
            h->predecessor = data + pos + 4;
            pos += 36;
        }
    }
    if (len - pos < 16) return refuse(h, MC_ERR_FILE_TRUNCATED, "the header");
    h->payload_raw_size = le(data + pos, 8);
    h->payload_size = le(data + pos + 8, 8);
    pos += 16;
    if (len - pos < CRC_SIZE) return refuse(h, MC_ERR_FILE_TRUNCATED, "the header checksum");
    if (le(data + pos, 4) != mc_crc32(data, pos)) return refuse(h, MC_ERR_CHECKSUM, "the header checksum");
    h->header_size = pos + CRC_SIZE;
    return check_fields(h, data[15], limits);
}

int mc_parse(const unsigned char *data, size_t len, const mc_limits *limits, mc_header *h)
{
    int err = mc_parse_header(data, len, limits, h);
    size_t left;
    const unsigned char *payload;
    if (err != MC_OK) return err;
    /* check 8: the size, compared with what is there (a payload_size near 2^64 is never added to an offset) */
    left = len - h->header_size;
    if (left < CRC_SIZE || h->payload_size > left - CRC_SIZE) return refuse(h, MC_ERR_FILE_TRUNCATED, "the payload");
    if (h->payload_size < left - CRC_SIZE) return refuse(h, MC_ERR_FORMAT, "nothing after the payload checksum");
    /* check 9 */
    payload = data + h->header_size;
    if (le(payload + (size_t)h->payload_size, 4) != mc_crc32(payload, (size_t)h->payload_size))
        return refuse(h, MC_ERR_CHECKSUM, "the payload checksum");
    h->payload = payload;
    return MC_OK;
}

const char *mc_error_class(int err)
{
    switch (err) {
    case MC_ERR_FILE_TRUNCATED: return "TruncatedError";
    case MC_ERR_CHECKSUM: return "ChecksumError";
    case MC_ERR_VERSION: return "UnsupportedVersionError";
    case MC_ERR_LIMIT: return "LimitExceededError";
    case MC_ERR_CHAIN: return "ChainError";
    case MC_ERR_FORMAT: case MC_ERR_SHORT: case MC_ERR_INTERVAL: case MC_ERR_TRUNCATED: case MC_ERR_RESIDUAL:
    case MC_ERR_TRAILING: return "FormatError";
    default: return NULL;
    }
}

int mc_chain_link(const mc_header *before, const unsigned char before_sha256[32], const mc_header *h)
{
    if (!h) return MC_ERR_ARG;
    if (h->mode != 0) return MC_ERR_CHAIN;  /* only mask-mode files form chains */
    if (!before) return h->refines == 1 ? MC_ERR_CHAIN : MC_OK;
    if (h->refines != 1) return MC_ERR_CHAIN;
    if (h->height != before->height || h->width != before->width || (h->flags ^ before->flags) & FLAG_AXIS
        || h->sample_format != before->sample_format || h->bits != before->bits || h->channels != before->channels
        || h->transform != before->transform || h->seed != before->seed || h->mask_kind != before->mask_kind)
        return MC_ERR_CHAIN;  /* another image */
    if (h->previous_threshold != before->keep_threshold) return MC_ERR_CHAIN;  /* a link missing */
    if (!before_sha256 || memcmp(h->predecessor, before_sha256, 32) != 0) return MC_ERR_CHAIN;
    return MC_OK;
}

/* ---- the pixels a file codes, workspaces ---- */

/* The flat indices and keys of the pixels kept at h's threshold (above its previous threshold for a refinement),
 * found row by row with mc_mask_row into cols (width entries); at most cap of them: cap + 1 when there are more. */
static size_t coded_pixels(const mc_header *h, const uint16_t *ranks, uint32_t *cols, uint32_t *idx, uint32_t *keys,
                           size_t cap)
{
    size_t n = 0, m, j;
    uint32_t y;
    for (y = 0; y < h->height; y++) {
        m = mc_mask_row((int)h->mask_kind, y, h->width, h->keep_threshold, h->seed, ranks, cols);
        for (j = 0; j < m; j++) {
            uint32_t key = mc_mask_key((int)h->mask_kind, y, cols[j], h->width, h->seed, ranks);
            if (h->refines == 1 && key <= h->previous_threshold) continue;
            if (n == cap) return cap + 1u;
            idx[n] = y * h->width + cols[j];
            keys[n++] = key;
        }
    }
    return n;
}

/* Parts of a workspace, each 16-aligned from a 16-aligned base; with base NULL only the size is counted. */
typedef struct {
    unsigned char *base;
    uint64_t size;
} arena;

static void *take(arena *a, uint64_t bytes)
{
    unsigned char *p = a->base ? a->base + (size_t)a->size : NULL;
    a->size += (bytes + ALIGN - 1u) & ~(uint64_t)(ALIGN - 1u);
    return p;
}

static unsigned char *aligned(void *ws)
{
    return (unsigned char *)ws + (ALIGN - (size_t)((uintptr_t)ws % ALIGN)) % ALIGN;
}

static size_t arena_total(const arena *a)
{
    uint64_t total = a->size + ALIGN;  /* room to align the caller's pointer */
    return a->size > ((uint64_t)1 << 62) || total > (uint64_t)(size_t)-1 ? 0 : (size_t)total;
}

static void ranked_params(const mc_header *h, mc_ranked_params *p)
{
    p->height = h->height;
    p->width = h->width;
    p->channels = h->channels;
    p->bits = h->bits;
    p->transform = h->transform;
    p->max_error = h->max_error;
}

/* ---- decoding ---- */

typedef struct {
    uint32_t *keys, *cols;
    void *coder;
    size_t coder_size;
} decode_parts;

static size_t decode_layout(const mc_header *h, unsigned char *base, decode_parts *d)
{
    arena a;
    mc_ranked_params p;
    if (!h || h->mode != 0 || h->coding != MC_CODING_RANKED || h->channels > RANKED_CHANNELS) return 0;
    ranked_params(h, &p);
    if (!(d->coder_size = mc_ranked_workspace_size(&p, h->survivors, 0))) return 0;
    a.base = base;
    a.size = 0;
    d->keys = (uint32_t *)take(&a, 4u * (uint64_t)h->survivors);
    d->cols = (uint32_t *)take(&a, 4u * (uint64_t)h->width);
    d->coder = take(&a, d->coder_size);
    return arena_total(&a);
}

size_t mc_decode_workspace_size(const mc_header *h)
{
    decode_parts d;
    return decode_layout(h, NULL, &d);
}

int mc_decode(const mc_header *h, const mc_prior *prior, const uint16_t *ranks, void *ws, size_t ws_size,
              uint32_t *idx, uint16_t *values)
{
    decode_parts d;
    mc_ranked_params p;
    size_t need;
    int err;
    if (!h || !h->payload) return MC_ERR_ARG;
    if (h->mode != 0) return MC_ERR_UNSUPPORTED;
    /* as maskcodec: a refinement alone is a ChainError, before its payload is looked at */
    if (h->refines == 1 ? !prior : prior && prior->n) return MC_ERR_CHAIN;
    if (h->coding != MC_CODING_RANKED || h->channels > RANKED_CHANNELS) return MC_ERR_UNSUPPORTED;
    if (h->mask_kind == MC_MASK_BLUENOISE && (err = mc_ranks_check(ranks)) != MC_OK) return err;
    need = mc_decode_workspace_size(h);
    if (!need || !ws || ws_size < need || (h->survivors && (!idx || !values))) return MC_ERR_ARG;
    decode_layout(h, aligned(ws), &d);
    /* check 11: the mask keeps (adds) exactly the survivors the header counts */
    if (coded_pixels(h, ranks, d.cols, idx, d.keys, h->survivors) != h->survivors) return MC_ERR_FORMAT;
    ranked_params(h, &p);
    return mc_ranked_decode(&p, h->payload, (size_t)h->payload_size, idx, d.keys, h->survivors, prior, d.coder,
                            d.coder_size, values);
}

size_t mc_image_size(const mc_header *h)
{
    uint64_t bytes;
    if (!h) return 0;
    bytes = (uint64_t)h->height * h->width * h->channels * (h->sample_format == 2 ? 2u : 1u);
    return bytes > (uint64_t)(size_t)-1 ? 0 : (size_t)bytes;
}

int mc_paste(const mc_header *h, const uint32_t *idx, const uint16_t *values, size_t n, void *image)
{
    size_t i, c, ch;
    if (!h || (n && (!idx || !values || !image))) return MC_ERR_ARG;
    ch = h->channels;
    for (i = 0; i < n; i++) {
        size_t at = (size_t)idx[i] * ch;
        if ((uint64_t)idx[i] >= (uint64_t)h->height * h->width) return MC_ERR_ARG;
        for (c = 0; c < ch; c++) {
            if (h->sample_format == 2) ((uint16_t *)image)[at + c] = values[i * ch + c];
            else ((unsigned char *)image)[at + c] = (unsigned char)values[i * ch + c];
        }
    }
    return MC_OK;
}

/* ---- encoding ---- */

/* The header a file of these parameters will have for n pixels (payload_size 4 until the payload is known),
 * checked as a decoder with the default limits checks it: MC_ERR_ARG if it would refuse it. */
static int encode_header(const mc_encode_params *e, size_t n, mc_header *h)
{
    mc_limits defaults;
    int transform;
    if (!e || (e->model_id_length && !e->model_id) || (e->metadata_length && !e->metadata)
        || (e->refines && !e->predecessor) || e->refines > 1 || e->channels > RANKED_CHANNELS
        || e->model_id_length > MAX_MODEL_ID || (e->model_id_length && !e->model_sha256)
        || !ascii(e->model_id, e->model_id_length) || (uint64_t)n > (uint64_t)e->height * e->width)
        return MC_ERR_ARG;
    transform = e->transform;
    if (transform == MC_TRANSFORM_AUTO) {
        if (e->refines) return MC_ERR_ARG;  /* a refinement keeps its chain's transform */
        transform = e->channels == 3 ? 1 : 0;
    }
    if (transform < 0) return MC_ERR_ARG;
    memset(h, 0, sizeof *h);
    h->version_major = 1;
    h->flags = (e->channel_axis ? FLAG_AXIS : 0u) | FLAG_PREDICTIVE | FLAG_RANKED;
    h->sample_format = e->sample_format;
    h->bits = e->bits;
    h->transform = (uint32_t)transform;
    h->channels = e->channels;
    h->mask_kind = e->mask_kind;
    h->height = e->height;
    h->width = e->width;
    h->seed = e->seed;
    h->keep_threshold = e->threshold;
    h->survivors = (uint32_t)n;
    h->model_id = e->model_id;
    h->model_id_length = e->model_id_length;
    h->model_sha256 = e->model_id_length ? e->model_sha256 : no_hash;
    h->metadata = e->metadata;
    h->metadata_length = e->metadata_length;
    h->max_error = e->max_error;
    h->refines = e->refines;
    h->previous_threshold = e->refines ? e->previous_threshold : 0u;
    h->predecessor = e->refines ? e->predecessor : NULL;
    h->payload_raw_size = (uint64_t)n * e->channels * (e->bits > 8 ? 2u : 1u);
    h->payload_size = 4;
    h->header_size = 89u + e->model_id_length + e->metadata_length + (e->refines ? 39u : 3u) + CRC_SIZE;
    mc_limits_default(&defaults);
    return check_fields(h, 0, &defaults) == MC_OK ? MC_OK : MC_ERR_ARG;
}

/* The header's bytes and checksum (section 4) into b[0..h->header_size). */
static void write_header(const mc_header *h, unsigned char *b)
{
    size_t at = 4;
    memcpy(b, magic, 4);
    b[at++] = (unsigned char)h->version_major;
    b[at++] = (unsigned char)h->version_minor;
    at += put(b + at, h->flags, 2);
    b[at++] = (unsigned char)h->mode;
    b[at++] = (unsigned char)h->sample_format;
    b[at++] = (unsigned char)h->bits;
    b[at++] = (unsigned char)h->transform;
    at += put(b + at, h->channels, 2);
    b[at++] = (unsigned char)h->mask_kind;
    b[at++] = 0;
    at += put(b + at, h->height, 4);
    at += put(b + at, h->width, 4);
    at += put(b + at, h->seed, 4);
    at += put(b + at, h->keep_threshold, 4);
    at += put(b + at, h->survivors, 4);
    b[at++] = (unsigned char)h->model_id_length;
    if (h->model_id_length) memcpy(b + at, h->model_id, h->model_id_length);
    at += h->model_id_length;
    memcpy(b + at, h->model_sha256, 32);
    at += 32;
    at += put(b + at, h->metadata_length, 4);
    if (h->metadata_length) memcpy(b + at, h->metadata, h->metadata_length);
    at += h->metadata_length;
    at += put(b + at, h->max_error, 2);
    b[at++] = (unsigned char)h->refines;
    if (h->refines) {
        at += put(b + at, h->previous_threshold, 4);
        memcpy(b + at, h->predecessor, 32);
        at += 32;
    }
    at += put(b + at, h->payload_raw_size, 8);
    at += put(b + at, h->payload_size, 8);
    put(b + at, mc_crc32(b, at), 4);
}

int mc_encode_count(const mc_encode_params *e, const uint16_t *ranks, size_t *n)
{
    mc_header h;
    uint32_t y, x;
    int err;
    if (!n) return MC_ERR_ARG;
    *n = 0;
    if ((err = encode_header(e, 0, &h)) != MC_OK) return err;
    if (h.mask_kind == MC_MASK_BLUENOISE && (err = mc_ranks_check(ranks)) != MC_OK) return err;
    for (y = 0; y < h.height; y++)
        for (x = 0; x < h.width; x++) {
            uint32_t key = mc_mask_key((int)h.mask_kind, y, x, h.width, h.seed, ranks);
            *n += key <= h.keep_threshold && !(h.refines && key <= h.previous_threshold);
        }
    return MC_OK;
}

typedef struct {
    uint32_t *idx, *keys, *cols;
    uint16_t *values, *recon;
    unsigned char *spare;  /* the payload of a second transform tried */
    void *coder;
    size_t coder_size, payload_bound;
} encode_parts;

/* Whether the reference tries transforms 0 and 2 (images of 2 or 4+ channels, spec 6.2). */
static int two_transforms(const mc_encode_params *e)
{
    return e->transform == MC_TRANSFORM_AUTO && e->channels != 1 && e->channels != 3;
}

static size_t encode_layout(const mc_encode_params *e, size_t n, unsigned char *base, encode_parts *d, mc_header *h)
{
    arena a;
    mc_ranked_params p;
    uint64_t values = 2u * (uint64_t)n * (e ? e->channels : 0u);
    if (encode_header(e, n, h) != MC_OK) return 0;
    ranked_params(h, &p);
    if (!(d->coder_size = mc_ranked_workspace_size(&p, n, 0)) || !(d->payload_bound = mc_ranked_payload_bound(&p, n)))
        return 0;
    a.base = base;
    a.size = 0;
    d->idx = (uint32_t *)take(&a, 4u * (uint64_t)n);
    d->keys = (uint32_t *)take(&a, 4u * (uint64_t)n);
    d->cols = (uint32_t *)take(&a, 4u * (uint64_t)e->width);
    d->values = (uint16_t *)take(&a, values);
    d->recon = (uint16_t *)take(&a, values);
    d->spare = (unsigned char *)take(&a, two_transforms(e) ? d->payload_bound : 0u);
    d->coder = take(&a, d->coder_size);
    return arena_total(&a);
}

size_t mc_encode_workspace_size(const mc_encode_params *e, size_t n)
{
    encode_parts d;
    mc_header h;
    return encode_layout(e, n, NULL, &d, &h);
}

size_t mc_encode_bound(const mc_encode_params *e, size_t n)
{
    encode_parts d;
    mc_header h;
    uint64_t bound;
    if (!encode_layout(e, n, NULL, &d, &h)) return 0;
    bound = (uint64_t)h.header_size + d.payload_bound + CRC_SIZE;
    return bound > (uint64_t)(size_t)-1 ? 0 : (size_t)bound;
}

int mc_encode(const mc_encode_params *e, size_t n, const void *image, const mc_prior *prior, const uint16_t *ranks,
              void *ws, size_t ws_size, unsigned char *out, size_t cap, size_t *out_len)
{
    encode_parts d;
    mc_header h;
    mc_ranked_params p;
    size_t need, i, c, len, len2, room, total, samples;
    unsigned char *payload;
    int err;
    if (!out_len) return MC_ERR_ARG;
    *out_len = 0;
    need = encode_layout(e, n, NULL, &d, &h);
    if (!need || !ws || ws_size < need || !image || (!out && cap) || (h.refines ? !prior : prior && prior->n))
        return MC_ERR_ARG;
    if (h.mask_kind == MC_MASK_BLUENOISE && (err = mc_ranks_check(ranks)) != MC_OK) return err;
    samples = (size_t)h.height * h.width * h.channels;
    for (i = 0; i < samples; i++)  /* as the reference, every sample of the image, kept or not, fits in bits */
        if ((h.sample_format == 2 ? ((const uint16_t *)image)[i] : ((const unsigned char *)image)[i]) >> h.bits)
            return MC_ERR_ARG;
    encode_layout(e, n, aligned(ws), &d, &h);
    if (coded_pixels(&h, ranks, d.cols, d.idx, d.keys, n) != n) return MC_ERR_ARG;  /* not mc_encode_count's n */
    for (i = 0; i < n; i++)
        for (c = 0; c < h.channels; c++) {
            size_t at = (size_t)d.idx[i] * h.channels + c;
            d.values[i * h.channels + c] = h.sample_format == 2 ? ((const uint16_t *)image)[at]
                                                                : ((const unsigned char *)image)[at];
        }
    /* the payload, written in place after the header (bytes past cap are counted, not written) */
    room = cap >= h.header_size + CRC_SIZE ? cap - h.header_size - CRC_SIZE : 0;
    payload = room ? out + h.header_size : NULL;
    ranked_params(&h, &p);
    err = mc_ranked_encode(&p, d.idx, d.keys, d.values, n, prior, d.coder, d.coder_size, payload, room, &len, d.recon);
    if (two_transforms(e) && (err == MC_OK || err == MC_ERR_OUTPUT)) {  /* transform 2 if its payload is smaller */
        p.transform = 2;
        if (mc_ranked_encode(&p, d.idx, d.keys, d.values, n, prior, d.coder, d.coder_size, d.spare,
                             d.payload_bound, &len2, d.recon) == MC_OK && len2 < len) {
            h.transform = 2;
            len = len2;
            err = len <= room ? MC_OK : MC_ERR_OUTPUT;
            if (err == MC_OK) memcpy(payload, d.spare, len);
        }
    }
    if (err != MC_OK && err != MC_ERR_OUTPUT) return err;
    total = h.header_size + len + CRC_SIZE;
    *out_len = total;
    if (total > cap) return MC_ERR_OUTPUT;
    h.payload_size = len;
    write_header(&h, out);
    put(out + h.header_size + len, mc_crc32(out + h.header_size, len), 4);
    return MC_OK;
}
