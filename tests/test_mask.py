"""The mask as spec/format.md section 5 defines it."""
import numpy as np
import pytest

import hashlib
from pathlib import Path

import maskcodec

from maskcodec.masks.bluenoise import TILE_SHA256, rank_tile
from maskcodec.masks import fmix32, kept_indices, keep_to_threshold, mask_from_threshold, threshold_to_keep
from maskcodec.masks.hashed import HashMask
pixel_hash = HashMask.pixel_hash

SPEC = Path(__file__).resolve().parent.parent / "spec"


def test_spec_test_values():
    assert [int(v) for v in fmix32(np.array([0, 1, 2, 0xFFFFFFFF], np.uint32))] == \
        [0, 0x514E28B7, 0x30F4C306, 0x81F16F39]
    assert [int(v) for v in pixel_hash(4, 0)] == [0, 0x92CA2F0E, 0x3CD6E3F3, 0x1B147DCC]
    assert [int(v) for v in pixel_hash(4, 7)] == [0x674F1CBE, 0x12EAEC12, 0xAE6AB5C2, 0x6F091601]
    assert [keep_to_threshold(k) for k in (1.0, 0.5, 0.1, 0.01)] == [2**32 - 1, 2147483647, 429496729, 42949672]
    rows = ["11010000", "10000010", "00010100", "00110110"]
    assert ["".join(str(int(b)) for b in r) for r in maskcodec.mask((4, 8), 0.5, 7, kind="hash")] == rows


def _fmix(x: int) -> int:
    """fmix32 of spec section 5, transcribed in scalar Python."""
    x ^= x >> 16
    x = (x * 0x85EBCA6B) & 0xFFFFFFFF
    x ^= x >> 13
    x = (x * 0xC2B2AE35) & 0xFFFFFFFF
    return x ^ (x >> 16)


def _reference_hash(i: int, seed: int) -> int:
    """Scalar pure-Python transcription of the spec's C code (section 5.1)."""
    return _fmix((i * 0x9E3779B9 + _fmix(seed)) & 0xFFFFFFFF)


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 - 1])
def test_vectorized_hash_matches_scalar_spec(seed):
    idx = [0, 1, 2, 999, 65535, 65536, 10**6 + 7]
    h = pixel_hash(max(idx) + 1, seed)
    assert [int(h[i]) for i in idx] == [_reference_hash(i, seed) for i in idx]


@pytest.mark.parametrize("kind", ["hash", "bluenoise"])
def test_masks_are_nested_and_fractions_right(kind):
    shape = (500, 561)
    prev = None
    for keep in (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0):
        m = maskcodec.mask(shape, keep, 99, kind)
        assert m.shape == shape and m.dtype == bool
        assert abs(m.mean() - keep) < 0.005
        if prev is not None:
            assert not (prev & ~m).any()
        prev = m
    assert prev.all()


@pytest.mark.parametrize("kind", ["hash", "bluenoise"])
def test_channels_share_the_mask_and_seeds_differ(kind):
    a = maskcodec.mask((50, 60, 3), 0.3, 1, kind)
    assert a.shape == (50, 60)
    assert (a == maskcodec.mask((50, 60), 0.3, 1, kind)).all()
    assert (a != maskcodec.mask((50, 60), 0.3, 2, kind)).any()


def _reference_bluenoise(y: int, x: int, seed: int, threshold: int, table: bytes) -> bool:
    """Scalar pure-Python transcription of spec section 5.2, on the table file's bytes."""
    s = _fmix(seed)
    ox, oy = s & 127, (s >> 7) & 127
    r, c = (y + oy) & 127, (x + ox) & 127
    rank = table[2 * (r * 128 + c)] | table[2 * (r * 128 + c) + 1] << 8
    return rank <= threshold >> 18


@pytest.mark.parametrize("seed,keep", [(0, 0.1), (7, 0.02), (2**32 - 1, 0.5), (123456789, 1.0)])
def test_bluenoise_matches_scalar_spec(seed, keep):
    table = (SPEC / "bluenoise128.u16").read_bytes()
    t = keep_to_threshold(keep)
    shape = (131, 259)  # partial tiles at the bottom and right
    m = mask_from_threshold(shape, t, seed, "bluenoise")
    expected = np.array([[_reference_bluenoise(y, x, seed, t, table) for x in range(shape[1])]
                         for y in range(shape[0])])
    assert (m == expected).all()
    assert np.array_equal(kept_indices(*shape, t, seed, "bluenoise"), np.flatnonzero(expected))


def test_the_rank_tile_is_the_specs():
    data = (SPEC / "bluenoise128.u16").read_bytes()
    assert hashlib.sha256(data).hexdigest() == TILE_SHA256 and TILE_SHA256 in (SPEC / "format.md").read_text()
    assert rank_tile().tobytes() == data and len(data) == 2 * 128 * 128
    assert sorted(rank_tile().ravel().tolist()) == list(range(128 * 128))  # every rank once


def test_bluenoise_spreads_kept_pixels_evenly():
    """The largest hole (distance of an unkept pixel to the nearest kept one) is well below a random mask's."""
    from scipy import ndimage
    for keep, ratio in ((0.02, 0.8), (0.1, 0.6)):
        blue, rand = (maskcodec.mask((512, 512), keep, 3, kind) for kind in ("bluenoise", "hash"))
        holes = [ndimage.distance_transform_edt(~m).max() for m in (blue, rand)]
        assert holes[0] < ratio * holes[1], (keep, holes)


def test_threshold_round_trip():
    for t in (0, 1, 42949672, 2**31, 2**32 - 1):
        assert keep_to_threshold(threshold_to_keep(t)) == t


@pytest.mark.parametrize("keep", [0, -0.1, 1.0001, float("nan"), "0.1", None, True])
def test_bad_keep(keep):
    with pytest.raises(maskcodec.InvalidInputError, match="keep"):
        maskcodec.mask((4, 4), keep, 1)


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, None])
def test_bad_seed(seed):
    with pytest.raises(maskcodec.InvalidInputError, match="seed"):
        maskcodec.mask((4, 4), 0.5, seed)


@pytest.mark.parametrize("shape", [(4,), (0, 4), (4, 4, 3, 1), (-1, 3)])
def test_bad_shape(shape):
    with pytest.raises(maskcodec.InvalidInputError, match="shape"):
        maskcodec.mask(shape, 0.5, 1)


def test_bad_kind():
    with pytest.raises(maskcodec.InvalidInputError, match="mask kind"):
        maskcodec.mask((4, 4), 0.5, 1, kind="random")
    with pytest.raises(maskcodec.InvalidInputError, match="mask kind"):
        maskcodec.encode(maskcodec.sample_image("navcam"), 0.1, mask="poisson")


def test_bluenoise_spec_test_values():
    from maskcodec.masks.bluenoise import shift
    assert shift(0) == (0, 0) and shift(7) == (93, 68)
    assert rank_tile()[:2, :4].tolist() == [[5801, 15741, 4609, 11346], [962, 8540, 3029, 14036]]
    rows = ["11101011", "10010100", "10100101", "01101001"]
    assert ["".join(str(int(b)) for b in r) for r in maskcodec.mask((4, 8), 0.5, 7)] == rows


def test_bluenoise_indices_past_int32_in_very_wide_images():
    # 128 rows of a width above 2**24 hold offsets past 2**31 (found by the C core's comparison): every kept
    # index is the one the keys say, none wrapped negative
    from maskcodec.masks import keys_at
    w, t = (1 << 24) + 1000, keep_to_threshold(0.0005)
    idx = kept_indices(1, w, t, 3, "bluenoise")
    every = np.arange(w, dtype=np.int64)
    assert np.array_equal(idx, every[keys_at(every, w, 3, "bluenoise") <= t])
