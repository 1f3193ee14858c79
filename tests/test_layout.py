"""Survivor layout (spec section 6)."""
import numpy as np
import pytest

from maskcodec.errors import FormatError
from maskcodec.survivors.transform import TRANSFORM_GREEN_DIFF, TRANSFORM_NONE
from maskcodec.survivors.scan import pack, unpack


@pytest.mark.parametrize("bits,channels,transform", [
    (8, 1, TRANSFORM_NONE), (8, 3, TRANSFORM_GREEN_DIFF), (8, 3, TRANSFORM_NONE), (1, 2, TRANSFORM_NONE),
    (12, 1, TRANSFORM_NONE), (12, 3, TRANSFORM_GREEN_DIFF), (16, 5, TRANSFORM_NONE), (9, 16, TRANSFORM_NONE),
])
def test_round_trip_extremes(bits, channels, transform):
    rng = np.random.default_rng(bits * 100 + channels)
    dtype = np.uint8 if bits <= 8 else np.uint16
    top = (1 << bits) - 1
    v = rng.integers(0, top + 1, (777, channels)).astype(dtype)
    v[:3] = top  # wrap-around deltas
    v[3:6] = 0
    raw = pack(v, bits, transform)
    assert len(raw) == v.size * np.dtype(dtype).itemsize
    back = unpack(raw, 777, channels, bits, transform)
    assert back.dtype == dtype and (back == v).all()


def test_layout_by_hand():
    # G, R-G, B-G planes; delta; zigzag (0,-1,1,-2 -> 0,1,2,3)
    v = np.array([[10, 20, 30], [11, 19, 29]], np.uint8)
    # planes G, R-G, B-G (mod 256): [20, 19], [246, 248], [10, 10]
    # deltas: [20, 255], [246, 2], [10, 0]  ->  zigzag:
    zz = [[40, 1], [19, 4], [20, 0]]
    assert list(pack(v, 8, TRANSFORM_GREEN_DIFF)) == sum(zz, [])


def test_sixteen_bit_byte_planes():
    v = np.array([[0x0102], [0x0105]], np.uint16)  # deltas 0x0102, 3 -> zigzag 0x0204, 6
    assert list(pack(v, 16, TRANSFORM_NONE)) == [0x04, 0x06, 0x02, 0x00]


def test_unpack_rejects_wrong_size_and_wide_codes():
    with pytest.raises(FormatError, match="expected 6"):
        unpack(b"\0" * 5, 2, 3, 8, 0)
    with pytest.raises(FormatError, match="wider"):
        unpack(bytes([0, 0, 0, 0x10]), 2, 1, 12, 0)
