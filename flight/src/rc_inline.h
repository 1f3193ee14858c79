/* The adaptive range coder's inner steps, static inline so that ranked.c codes without calls.
 * Private to src/ (range_coder.c wraps them as the public API). Reference: maskcodec/entropy/range_coder.py. */
#ifndef MC_RC_INLINE_H
#define MC_RC_INLINE_H

#include "../include/maskcodec.h"

#define RC_TOP (1u << 24)            /* a byte moves while range < 2^24 */

static inline void rc_enc_init(mc_rc_encoder *e, unsigned char *out, size_t cap)
{
    e->low = 0;
    e->range = 0xFFFFFFFFu;
    e->cache = 0;
    e->pending = 1;
    e->first = 1;
    e->err = MC_OK;
    e->out = out;
    e->cap = out ? cap : 0;
    e->len = 0;
}

static inline void rc_shift_low(mc_rc_encoder *e)
{
    if (e->low < 0xFF000000u || e->low > 0xFFFFFFFFu) {
        uint32_t carry = (uint32_t)(e->low >> 32), byte = e->cache;
        do {
            if (e->first) e->first = 0;
            else {
                if (e->len < e->cap) e->out[e->len] = (unsigned char)((byte + carry) & 0xFFu);
                e->len++;
            }
            byte = 0xFFu;
        } while (--e->pending);
        e->cache = (uint32_t)(e->low >> 24) & 0xFFu;
    }
    e->pending++;
    e->low = (e->low & 0x00FFFFFFu) << 8;
}

/* [start, start + freq) of total: no checks (callers pass valid symbols). */
static inline void rc_encode(mc_rc_encoder *e, uint32_t start, uint32_t freq, uint32_t total)
{
    uint32_t r = e->range / total;
    e->low += (uint64_t)start * r;
    e->range = freq * r;
    while (e->range < RC_TOP) {
        e->range <<= 8;
        rc_shift_low(e);
    }
}

static inline void rc_encode_raw(mc_rc_encoder *e, uint32_t value, unsigned n)
{
    if (n) {
        uint32_t r = e->range >> n;
        e->low += (uint64_t)value * r;
        e->range = r;
        while (e->range < RC_TOP) {
            e->range <<= 8;
            rc_shift_low(e);
        }
    }
}

static inline void rc_enc_flush(mc_rc_encoder *e)
{
    int i;
    for (i = 0; i < 5; i++) rc_shift_low(e);
}

static inline int rc_dec_init(mc_rc_decoder *d, const unsigned char *data, size_t len)
{
    d->data = data;
    d->len = len;
    d->range = 0xFFFFFFFFu;
    d->r = 0;
    d->code = 0;
    d->pos = 4;
    if (len < 4) {
        d->pos = 0;
        return MC_ERR_SHORT;
    }
    d->code = ((uint32_t)data[0] << 24) | ((uint32_t)data[1] << 16) | ((uint32_t)data[2] << 8) | data[3];
    return MC_OK;
}

/* range >= 2^24 and total <= 2^16 keep r >= 256 (no division by 0). */
static inline int rc_target(mc_rc_decoder *d, uint32_t total, uint32_t *v)
{
    d->r = d->range / total;
    *v = d->code / d->r;
    return *v >= total ? MC_ERR_INTERVAL : MC_OK;
}

/* start <= the last target (so code - start * r >= 0) and start + freq > it. */
static inline int rc_consume(mc_rc_decoder *d, uint32_t start, uint32_t freq)
{
    d->code -= start * d->r;
    d->range = freq * d->r;
    while (d->range < RC_TOP) {
        if (d->pos >= d->len) return MC_ERR_TRUNCATED;
        d->range <<= 8;
        d->code = (d->code << 8) | d->data[d->pos++];
    }
    return MC_OK;
}

static inline int rc_decode_raw(mc_rc_decoder *d, unsigned n, uint32_t *v)
{
    *v = 0;
    if (!n) return MC_OK;
    d->r = d->range >> n;
    *v = d->code / d->r;
    if (*v >> n) return MC_ERR_INTERVAL;
    d->code -= *v * d->r;
    d->range = d->r;
    while (d->range < RC_TOP) {
        if (d->pos >= d->len) return MC_ERR_TRUNCATED;
        d->range <<= 8;
        d->code = (d->code << 8) | d->data[d->pos++];
    }
    return MC_OK;
}

static inline void model_init(mc_model *m, uint32_t symbols)
{
    uint32_t s, total = 0;
    m->symbols = symbols;
    for (s = 0; s < symbols; s++) {
        m->freq[s] = (uint16_t)(s < 11u ? 12u - s : 1u);
        total += m->freq[s];
    }
    for (; s < MC_MODEL_MAX_SYMBOLS; s++) m->freq[s] = 0;
    m->total = total;
}

static inline void model_update(mc_model *m, uint32_t s)
{
    m->freq[s] = (uint16_t)(m->freq[s] + MC_MODEL_INCREMENT);
    m->total += MC_MODEL_INCREMENT;
    if (m->total > MC_MODEL_LIMIT) {
        uint32_t i, total = 0;
        for (i = 0; i < m->symbols; i++) {
            m->freq[i] = (uint16_t)((m->freq[i] + 1u) >> 1);
            total += m->freq[i];
        }
        m->total = total;
    }
}

static inline void model_encode(mc_model *m, mc_rc_encoder *e, uint32_t s)
{
    uint32_t i, start = 0;
    for (i = 0; i < s; i++) start += m->freq[i];
    rc_encode(e, start, m->freq[s], m->total);
    model_update(m, s);
}

static inline int model_decode(mc_model *m, mc_rc_decoder *d, uint32_t *sym)
{
    uint32_t v, s = 0, start = 0;
    int err = rc_target(d, m->total, &v);
    if (err) return err;
    while (start + m->freq[s] <= v) start += m->freq[s++];  /* v < total: stops at a symbol < symbols */
    err = rc_consume(d, start, m->freq[s]);
    model_update(m, s);
    *sym = s;
    return err;
}

/* ---- division-free symbol coding for the ranked coder: floor(range / total) by a table of reciprocals ----
 * Granlund and Montgomery (1994), theorem 4.2: with l = ceil(log2 d) and m = floor(2^(32 + l) / d) + 1,
 * floor(n / d) = floor((floor((m - 2^32) * n / 2^32) + n) / 2^l) for every 0 <= n < 2^32. An entry holds
 * (m - 2^32) << 8 | l. Model totals are at most MC_MODEL_LIMIT when a symbol is coded. */
#define RC_RECIPS (MC_MODEL_LIMIT + 1u)

static inline void rc_recip_init(uint64_t *tab)
{
    uint32_t d, l = 0;
    tab[0] = 0;
    for (d = 1; d < RC_RECIPS; d++) {
        uint64_t m;
        while ((1u << l) < d) l++;
        m = (((uint64_t)1 << (32 + l)) / d + 1u) - ((uint64_t)1 << 32);
        tab[d] = (m << 8) | l;
    }
}

static inline uint32_t rc_div(uint32_t n, uint64_t rec)
{
    return (uint32_t)(((((rec >> 8) * n) >> 32) + n) >> (rec & 0xFFu));
}

static inline void model_encode_t(mc_model *m, mc_rc_encoder *e, uint32_t s, const uint64_t *recip)
{
    uint32_t i, start = 0, r = rc_div(e->range, recip[m->total]);
    for (i = 0; i < s; i++) start += m->freq[i];
    e->low += (uint64_t)start * r;
    e->range = m->freq[s] * r;
    while (e->range < RC_TOP) {
        e->range <<= 8;
        rc_shift_low(e);
    }
    model_update(m, s);
}

/* As model_decode: the symbol whose [start, start + freq) * r holds code, with no division; code >= total * r
 * is the decoder's "v >= total" (v = code / r). */
static inline int model_decode_t(mc_model *m, mc_rc_decoder *d, uint32_t *sym, const uint64_t *recip)
{
    uint32_t r = rc_div(d->range, recip[m->total]), code = d->code, lo = 0, s = 0, hi;
    d->r = r;
    if (code >= m->total * r) return MC_ERR_INTERVAL;  /* total * r <= range < 2^32 */
    while (code >= (hi = lo + m->freq[s] * r)) {
        lo = hi;
        s++;
    }
    d->code = code - lo;
    d->range = m->freq[s] * r;
    model_update(m, s);
    *sym = s;
    while (d->range < RC_TOP) {
        if (d->pos >= d->len) return MC_ERR_TRUNCATED;
        d->range <<= 8;
        d->code = (d->code << 8) | d->data[d->pos++];
    }
    return MC_OK;
}

#endif /* MC_RC_INLINE_H */
