"""The mask as spec/format.md section 5 defines it."""
import numpy as np
import pytest

import maskcodec
from maskcodec.mask import fmix32, keep_to_threshold, pixel_hash, threshold_to_keep


def test_spec_test_values():
    assert [int(v) for v in fmix32(np.array([0, 1, 2, 0xFFFFFFFF], np.uint32))] == \
        [0, 0x514E28B7, 0x30F4C306, 0x81F16F39]
    assert [int(v) for v in pixel_hash(4, 0)] == [0, 0x92CA2F0E, 0x3CD6E3F3, 0x1B147DCC]
    assert [int(v) for v in pixel_hash(4, 7)] == [0x674F1CBE, 0x12EAEC12, 0xAE6AB5C2, 0x6F091601]
    assert [keep_to_threshold(k) for k in (1.0, 0.5, 0.1, 0.01)] == [2**32 - 1, 2147483647, 429496729, 42949672]
    rows = ["11010000", "10000010", "00010100", "00110110"]
    assert ["".join(str(int(b)) for b in r) for r in maskcodec.mask((4, 8), 0.5, 7)] == rows


def _reference_hash(i: int, seed: int) -> int:
    """Scalar pure-Python transcription of the spec's C code."""
    def fmix(x):
        x ^= x >> 16
        x = (x * 0x85EBCA6B) & 0xFFFFFFFF
        x ^= x >> 13
        x = (x * 0xC2B2AE35) & 0xFFFFFFFF
        return x ^ (x >> 16)
    return fmix((i * 0x9E3779B9 + fmix(seed)) & 0xFFFFFFFF)


@pytest.mark.parametrize("seed", [0, 1, 12345, 2**32 - 1])
def test_vectorized_hash_matches_scalar_spec(seed):
    idx = [0, 1, 2, 999, 65535, 65536, 10**6 + 7]
    h = pixel_hash(max(idx) + 1, seed)
    assert [int(h[i]) for i in idx] == [_reference_hash(i, seed) for i in idx]


def test_masks_are_nested_and_fractions_right():
    shape = (500, 561)
    prev = None
    for keep in (0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1.0):
        m = maskcodec.mask(shape, keep, 99)
        assert m.shape == shape and m.dtype == bool
        assert abs(m.mean() - keep) < 0.005
        if prev is not None:
            assert not (prev & ~m).any()
        prev = m
    assert prev.all()


def test_channels_share_the_mask_and_seeds_differ():
    a = maskcodec.mask((50, 60, 3), 0.3, 1)
    assert a.shape == (50, 60)
    assert (a == maskcodec.mask((50, 60), 0.3, 1)).all()
    assert (a != maskcodec.mask((50, 60), 0.3, 2)).any()


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
