/* The adaptive range coder of maskcodec/entropy/range_coder.py (spec 6.7.2-6.7.3), C99, integers only.
 * The steps are in rc_inline.h (shared with ranked.c); these are the checked public entry points. */
#include "rc_inline.h"

const char *mc_error_name(int err)
{
    switch (err) {
    case MC_OK: return "ok";
    case MC_ERR_ARG: return "arg";
    case MC_ERR_RANKS: return "ranks";
    case MC_ERR_OUTPUT: return "output";
    case MC_ERR_SHORT: return "short";
    case MC_ERR_INTERVAL: return "interval";
    case MC_ERR_TRUNCATED: return "truncated";
    case MC_ERR_RESIDUAL: return "residual";
    case MC_ERR_TRAILING: return "trailing";
    case MC_ERR_FILE_TRUNCATED: return "file-truncated";
    case MC_ERR_CHECKSUM: return "checksum";
    case MC_ERR_VERSION: return "version";
    case MC_ERR_LIMIT: return "limit";
    case MC_ERR_FORMAT: return "format";
    case MC_ERR_CHAIN: return "chain";
    case MC_ERR_UNSUPPORTED: return "unsupported";
    default: return "unknown";
    }
}

void mc_rc_encoder_init(mc_rc_encoder *enc, unsigned char *out, size_t cap)
{
    if (enc) rc_enc_init(enc, out, cap);
}

void mc_rc_encode(mc_rc_encoder *enc, uint32_t start, uint32_t freq, uint32_t total)
{
    if (!enc) return;
    if (total == 0 || total > 65536u || freq == 0 || freq > total || start > total - freq) {
        enc->err = MC_ERR_ARG;
        return;
    }
    rc_encode(enc, start, freq, total);
}

void mc_rc_encode_raw(mc_rc_encoder *enc, uint32_t value, unsigned n)
{
    if (!enc) return;
    if (n > 16u) {
        enc->err = MC_ERR_ARG;
        return;
    }
    rc_encode_raw(enc, value & ((1u << n) - 1u), n);
}

int mc_rc_encoder_finish(mc_rc_encoder *enc, size_t *len)
{
    if (!enc) return MC_ERR_ARG;
    rc_enc_flush(enc);
    if (len) *len = enc->len;
    if (enc->err) return enc->err;
    return enc->len > enc->cap ? MC_ERR_OUTPUT : MC_OK;
}

int mc_rc_decoder_init(mc_rc_decoder *dec, const unsigned char *data, size_t len)
{
    if (!dec || (!data && len)) return MC_ERR_ARG;
    return rc_dec_init(dec, data, len);
}

int mc_rc_decode_target(mc_rc_decoder *dec, uint32_t total, uint32_t *v)
{
    if (!dec || !v || total == 0 || total > 65536u || dec->range < RC_TOP) return MC_ERR_ARG;
    return rc_target(dec, total, v);
}

int mc_rc_decode_consume(mc_rc_decoder *dec, uint32_t start, uint32_t freq)
{
    uint32_t v;
    if (!dec || dec->r == 0 || freq == 0) return MC_ERR_ARG;
    v = dec->code / dec->r;  /* the target: start <= v < start + freq */
    if (start > v || v - start >= freq) return MC_ERR_ARG;
    return rc_consume(dec, start, freq);
}

int mc_rc_decode_raw(mc_rc_decoder *dec, unsigned n, uint32_t *v)
{
    if (!dec || !v || n > 16u || dec->range < RC_TOP) return MC_ERR_ARG;
    return rc_decode_raw(dec, n, v);
}

int mc_rc_decoder_finish(const mc_rc_decoder *dec)
{
    if (!dec) return MC_ERR_ARG;
    return dec->pos == dec->len ? MC_OK : MC_ERR_TRAILING;
}

int mc_model_init(mc_model *m, uint32_t symbols)
{
    if (!m || symbols == 0 || symbols > MC_MODEL_MAX_SYMBOLS) return MC_ERR_ARG;
    model_init(m, symbols);
    return MC_OK;
}

void mc_model_encode(mc_model *m, mc_rc_encoder *enc, uint32_t s)
{
    if (!enc) return;
    if (!m || s >= m->symbols || m->symbols > MC_MODEL_MAX_SYMBOLS) {
        enc->err = MC_ERR_ARG;
        return;
    }
    model_encode(m, enc, s);
}

int mc_model_decode(mc_model *m, mc_rc_decoder *dec, uint32_t *s)
{
    if (!m || !dec || !s || m->symbols == 0 || m->symbols > MC_MODEL_MAX_SYMBOLS || dec->range < RC_TOP
        || m->total == 0) return MC_ERR_ARG;
    return model_decode(m, dec, s);
}
