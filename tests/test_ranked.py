"""Ranked coding (spec section 6.7): the adaptive range coder, tokens, rank order, and the coder on real images.

The scalar decoder written from the spec text, which decodes the ``r_*`` vectors, is in test_predictive.py beside
section 6.5's (they share the levels and predictions).
"""
import imagecodecs
import numpy as np
import pytest

import maskcodec
from maskcodec import errors
from maskcodec.entropy import range_coder
from maskcodec.entropy.range_coder import AdaptiveDecoder, AdaptiveEncoder, RangeDecoder, RangeEncoder
from maskcodec.masks import keep_to_threshold, keys_at, kept_indices
from maskcodec.survivors import ranked
from maskcodec.survivors.predictive import Prior


# ------------------------------------------------------------------ the range coder (6.7.2) and models (6.7.3)

class CountingEncoder(RangeEncoder):
    carries = 0

    def _shift_low(self):
        self.carries += self.low > 0xFFFFFFFF
        super()._shift_low()


@pytest.mark.parametrize("seed", range(4))
def test_range_coder_round_trips_symbols_of_any_total_with_carries(seed):
    rng = np.random.default_rng(seed)
    totals = rng.integers(2, 1 << 16, 20000).tolist()
    symbols = []
    for total in totals:
        start = int(rng.integers(0, total))
        freq = int(rng.integers(1, total - start + 1)) if rng.random() < 0.5 else 1
        symbols.append((start, freq, total))
    enc = CountingEncoder()
    for s in symbols:
        enc.encode(*s)
    data = enc.finish()
    assert enc.carries > 0  # the carry into bytes already settled was exercised
    dec = RangeDecoder(data, "a test stream")
    for start, freq, total in symbols:
        v = dec.target(total)
        assert start <= v < start + freq
        dec.consume(start, freq)
    dec.finish()


def test_an_empty_range_code_is_four_zero_bytes_and_the_first_byte_is_never_written():
    assert RangeEncoder().finish() == bytes(4)
    enc = RangeEncoder()
    enc.encode(0xFFFE, 1, 0xFFFF)  # the top of the interval: the first byte (0) is not written, the next are 0xFF
    data = enc.finish()
    assert data[0] == 0xFF
    dec = RangeDecoder(data, "a test stream")
    assert dec.target(0xFFFF) == 0xFFFE
    dec.consume(0xFFFE, 1)
    dec.finish()


def test_models_learn_and_halve_within_sixteen_bits():
    model = range_coder.AdaptiveModel(18)
    assert model.freq[:3] == [12, 11, 10] and model.total == sum(range_coder.initial_counts(18))
    enc = RangeEncoder()
    for _ in range(2000):
        model.encode(enc, 0)
        assert model.total <= range_coder.LIMIT
    assert model.freq[0] > 0.95 * model.total and min(model.freq) >= 1
    assert len(enc.finish()) < 2000 * 0.02  # a certain symbol costs a few hundredths of a bit


@pytest.mark.parametrize("bits", [1, 2, 3, 8, 12, 16])
def test_every_code_has_a_token_below_the_alphabet_and_comes_back(bits):
    codes = sorted({*range(min(1 << bits, 300)), (1 << bits) - 1, (1 << bits) - 2, 1 << (bits - 1)})
    for z in codes:
        t, raw, n = ranked.token_of(z)
        assert 0 <= t < ranked.tokens(bits) and 0 <= raw < 1 << max(n, 1) and n == ranked.raw_bits(t)
        assert ranked.code_of(t, raw) == z


def test_adaptive_coder_with_raw_bits_round_trips():
    rng = np.random.default_rng(5)
    items = [(int(m), *ranked.token_of(int(z))) for m, z in zip(rng.integers(0, 27, 5000), rng.geometric(0.05, 5000))]
    enc = AdaptiveEncoder(27, ranked.tokens(12))
    for item in items:
        enc.code(*item)
    dec = AdaptiveDecoder(enc.finish(), 27, ranked.tokens(12), "a test stream")
    assert [(m, dec.symbol(m), dec.raw(n), n) for m, _, _, n in items] == items
    dec.finish()


@pytest.mark.parametrize("damage", ["truncate", "extend", "ones"])
def test_a_damaged_range_code_is_a_format_error(damage):
    enc = AdaptiveEncoder(1, 18)
    for z in range(200):
        enc.code(0, *ranked.token_of(z % 40))
    data = enc.finish()
    data = {"truncate": data[:-1], "extend": data + b"\0", "ones": b"\xff" * len(data)}[damage]
    dec = AdaptiveDecoder(data, 1, 18, "a test stream")
    with pytest.raises(errors.FormatError):
        for _ in range(200):
            dec.raw(ranked.raw_bits(dec.symbol(0)))
        dec.finish()


# ------------------------------------------------------------------ rank order (6.7.1)

@pytest.mark.parametrize("kind", ["bluenoise", "hash"])
def test_a_rank_order_prefix_is_the_file_of_a_smaller_keep(kind):
    img = maskcodec.sample_image("mastcam")[:96, :128]
    h, w = img.shape[:2]
    big, small = keep_to_threshold(0.4), keep_to_threshold(0.1)
    small = small | ((1 << 18) - 1) if kind == "bluenoise" else small  # a rank boundary for kind 1
    args = (Prior.empty(3), (h, w), 8, 1, 0)

    def flat(threshold):
        idx = kept_indices(h, w, threshold, 3, kind)
        keys = keys_at(idx, w, 3, kind)
        levels, _ = ranked.codes(idx, keys, img.reshape(-1, 3)[idx], *args)
        return [(int(x), tuple(c)) for ctx, codes in levels for x, c in zip(ctx, codes.tolist())]

    whole, part = flat(big), flat(small)
    assert 0 < len(part) < len(whole)
    assert whole[:len(part)] == part  # the same contexts and codes: a ranked file cut here is the smaller keep's


# ------------------------------------------------------------------ the coder on real images

@pytest.mark.parametrize("sample,bits,bands", [("mastcam", None, None), ("navcam", None, None),
                                               ("navcam12", 12, None), ("mastcam", None, [0, 1]),
                                               ("mastcam", None, [0, 1, 2, 1])])
@pytest.mark.parametrize("max_error", [0, 1, 4])
def test_ranked_files_round_trip_within_their_error(sample, bits, bands, max_error):
    img = maskcodec.sample_image(sample)[:120, :150]
    img = np.ascontiguousarray(img[..., bands]) if bands else img
    data = maskcodec.encode(img, keep=0.3, seed=9, bits=bits, max_error=max_error)
    h, m, values = maskcodec.survivors(data)
    assert h.coding == "ranked" and h.max_error == max_error
    err = np.abs(values.astype(np.int64).reshape(img[m].shape) - img[m])
    assert err.max() <= max_error and (max_error == 0 or err.max() == max_error)


def test_sixteen_bit_values_round_trip():
    img = (maskcodec.sample_image("navcam12")[:64, :80].astype(np.uint32) * 13 + 7).astype(np.uint16)
    data = maskcodec.encode(img, keep=0.5, seed=2, bits=16)
    _, m, values = maskcodec.survivors(data)
    assert np.array_equal(values.reshape(img[m].shape), img[m])


@pytest.mark.parametrize("middle_error", [0, 2])
def test_ranked_refinements_chain_up_to_lossless(middle_error):
    img = maskcodec.sample_image("mastcam")[:80, :100]
    files = [maskcodec.encode(img, keep=0.05, seed=4)]
    files.append(maskcodec.refine(img, files, 0.3, max_error=middle_error))
    files.append(maskcodec.refine(img, files, 1.0))
    assert [maskcodec.inspect(f).coding for f in files] == ["ranked"] * 3
    err = np.abs(maskcodec.decode(files).astype(np.int64) - img)
    assert err.max() == middle_error  # lossless when every file is exact; else the middle file's pixels within 2


@pytest.mark.parametrize("max_error", [0, 2, 8])
def test_ranked_beats_rice_and_jpeg_ls_at_keep_one_on_real_images(max_error):
    # keep 1.0 on the bundled Mastcam crop (measured 0.56-0.61 of JPEG-LS on training crops, spec 6.7.4)
    img = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(img, keep=1.0, seed=1, max_error=max_error)
    rice = maskcodec.encode(img, keep=1.0, seed=1, max_error=max_error, coding="predictive")
    jpegls = imagecodecs.jpegls_encode(img, level=max_error)
    assert len(data) < 0.97 * len(rice)
    assert len(data) < 0.8 * len(jpegls)
