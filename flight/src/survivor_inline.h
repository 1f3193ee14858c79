/* What the ranked coder (ranked.c, spec 6.5-6.7) and the segment coder (segment.c, spec 11.3) share: the planes
 * of a transform, the JPEG-LS near-lossless quantizer of spec 6.5 and the tokens of spec 6.7.3. Private to src/,
 * static inline (each coder specializes them where it calls them). References: maskcodec/survivors/transform.py
 * (order), predictive.py (quantizer, reconstruct), ranked.py (token_of, code_of, tokens). */
#ifndef MC_SURVIVOR_INLINE_H
#define MC_SURVIVOR_INLINE_H

#include "../include/maskcodec.h"

#if defined(__GNUC__)
#define HOT static inline __attribute__((always_inline))  /* specialized per channel count where it is called */
#else
#define HOT static inline
#endif

#define SMALL 8                  /* codes below 8 are their own token */

/* Plane p of a transform (spec 6.5, "Planes"): the channel it codes and its reference channel + 1 (0: none).
 * Transform 1 (3 channels): G, then R and B against G; transform 2: band p against band p - 1; 0: channel p. */
static inline void plane_of(unsigned transform, unsigned p, unsigned *ch, unsigned *ref1)
{
    if (transform == 1) {
        *ch = p == 0 ? 1u : p == 1 ? 0u : 2u;
        *ref1 = p ? 2u : 0u;
    } else {
        *ch = p;
        *ref1 = transform == 2 && p ? p : 0u;
    }
}

/* The quantizer's numbers (spec 6.5, "Quantization"), copied into locals where codes are coded (nothing written
 * through a pointer can change them, so they stay in registers). */
typedef struct {
    int32_t d, step, rng, maxval;
    uint64_t step_inv;           /* floor(2^40 / step) + 1: floor(n / step) = n * step_inv >> 40, n < 2^18 */
} quant;

/* bits 1..16, max_error d <= 2^(bits-1) - 1: step = 2d + 1, RANGE = floor((MAXVAL + 2d) / step) + 1. */
static inline quant quant_init(unsigned bits, uint32_t max_error)
{
    quant qz;
    qz.maxval = (int32_t)((1u << bits) - 1u);
    qz.d = (int32_t)max_error;
    qz.step = 2 * qz.d + 1;
    qz.rng = (qz.maxval + 2 * qz.d) / qz.step + 1;
    qz.step_inv = ((uint64_t)1 << 40) / (uint64_t)qz.step + 1u;  /* exact for n * step < 2^40 */
    return qz;
}

/* JPEG-LS near-lossless quantization of an error e (|e| < 2^16, so (|e| + d) * step < 2^40: step_inv is exact),
 * folded into -floor(RANGE/2) .. floor((RANGE-1)/2). */
HOT int32_t quantize(const quant *qz, int32_t e)
{
    int32_t q = qz->step == 1 ? e
              : e >= 0 ? (int32_t)(((uint64_t)(e + qz->d) * qz->step_inv) >> 40)
              : -(int32_t)(((uint64_t)(qz->d - e) * qz->step_inv) >> 40);
    if (q < 0) q += qz->rng;
    if (q >= (qz->rng + 1) >> 1) q -= qz->rng;
    return q;
}

/* The value both sides reconstruct from a prediction and q: both corrections of predictive.reconstruct in turn. */
HOT uint16_t reconstruct(const quant *qz, int32_t pred, int32_t q)
{
    int32_t r = pred + q * qz->step;
    if (r < -qz->d) r += qz->rng * qz->step;
    else if (r > qz->maxval + qz->d) r -= qz->rng * qz->step;
    return (uint16_t)(r < 0 ? 0 : r > qz->maxval ? qz->maxval : r);
}

/* A plane's prediction: its channel's spatial prediction, corrected by the reference channel's error
 * (ref1 = reference channel + 1, 0 for none; rec holds the reference's reconstructed value). */
HOT int32_t plane_prediction(const quant *qz, const uint16_t *pred, const uint16_t *rec, unsigned ch, unsigned ref1)
{
    int32_t base = pred[ch];
    if (ref1) {
        base += (int32_t)rec[ref1 - 1u] - (int32_t)pred[ref1 - 1u];
        base = base < 0 ? 0 : base > qz->maxval ? qz->maxval : base;
    }
    return base;
}

/* The zigzag code of q (0, -1, 1, -2, ... -> 0, 1, 2, 3, ...) and back. */
HOT uint32_t zigzag(int32_t q)
{
    return q >= 0 ? 2u * (uint32_t)q : 2u * (uint32_t)(-q) - 1u;
}

HOT int32_t unzigzag(uint32_t z)
{
    return z & 1u ? -(int32_t)((z + 1u) >> 1) : (int32_t)(z >> 1);
}

/* The number of tokens of codes of `bits` bits: max(8, 2 bits + 2) (ranked.tokens). */
static inline uint32_t tokens_for(unsigned bits)
{
    return 2u * bits + 2u < SMALL ? SMALL : 2u * bits + 2u;
}

/* bitlen8[v] = bit_length(v) for v < 256. */
static inline void bitlen8_init(unsigned char *bitlen8)
{
    unsigned v, b = 0;
    for (v = 0; v < 256u; v++) {
        while ((1u << b) <= v) b++;
        bitlen8[v] = (unsigned char)b;
    }
}

/* The token of a code z >= SMALL (z < 2^16) and its count of raw bits, z's low *nraw bits (ranked.token_of). */
HOT uint32_t token_of(uint32_t z, const unsigned char *bitlen8, unsigned *nraw)
{
    unsigned bl = z >> 8 ? 8u + bitlen8[z >> 8] : bitlen8[z];
    *nraw = bl - 2u;
    return SMALL + 2u * (bl - 4u) + ((z >> *nraw) & 1u);
}

/* The raw bits that follow a token >= SMALL, and the code of such a token and its raw bits (ranked.code_of). */
HOT unsigned token_raw_bits(uint32_t tok)
{
    return (tok - SMALL) / 2u + 2u;
}

HOT uint32_t code_of(uint32_t tok, uint32_t raw)
{
    unsigned n = token_raw_bits(tok);
    return (1u << (n + 1u)) | ((tok & 1u) << n) | raw;
}

#endif /* MC_SURVIVOR_INLINE_H */
