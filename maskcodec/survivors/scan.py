"""Scan coding of the kept values (spec section 6): scan-order deltas, zigzag, bytes, one zstd frame.

The cheapest coding, exact values only. Steps, in integer arithmetic modulo ``2**bits``:

1. gather the kept pixels in scan order (row-major), giving ``(N, C)`` values;
2. the transform (:mod:`maskcodec.survivors.transform`), modulo ``2**bits``;
3. planar: channel by channel, a delta against the previous survivor of the
   same channel (the first against 0);
4. zigzag: the delta, read as a signed ``bits``-bit number, is mapped to
   ``0, -1, 1, -2, ...  ->  0, 1, 2, 3, ...``;
5. bytes: one byte per value for ``bits <= 8`` (uint16 samples included); for
   ``bits > 8`` a plane of all low bytes followed by a plane of all high bytes.
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError
from .transform import forward, inverse

__all__ = ["value_bytes", "pack", "unpack"]


def value_bytes(bits: int) -> int:
    """Bytes per survivor value in the layout: 1 for ``bits <= 8`` (whatever the sample format), else 2.

    >>> value_bytes(8), value_bytes(12)
    (1, 2)
    """
    return 1 if bits <= 8 else 2


def _work_dtype(bits: int) -> type:
    return np.uint8 if bits <= 8 else np.uint16


def pack(values: np.ndarray, bits: int, transform: int) -> bytes:
    """Lay out survivor values ``(N, C)`` as bytes (before zstd).

    Examples
    --------
    >>> v = np.array([[10, 20, 30], [11, 20, 29]], dtype=np.uint8)
    >>> raw = pack(v, 8, 1)
    >>> bool((unpack(raw, 2, 3, 8, 1) == v).all())
    True
    """
    wd = _work_dtype(bits)
    mod_mask = wd((1 << bits) - 1)
    planes = forward(values.astype(np.int64), transform, 1 << bits).astype(wd)  # (C, N)
    delta = planes.copy()
    delta[:, 1:] -= planes[:, :-1]
    delta &= mod_mask
    # zigzag within `bits`: d < 2**(bits-1) -> 2d ; else -> 2(2**bits - d) - 1 == ~(2d) mod 2**bits
    sign = delta >> wd(bits - 1)
    zz = ((delta << wd(1)) ^ (wd(0) - sign)) & mod_mask
    if wd is np.uint8:
        return zz.tobytes()
    return np.ascontiguousarray(zz.astype("<u2").view(np.uint8).reshape(-1, 2).T).tobytes()


def unpack(raw: bytes, n: int, channels: int, bits: int, transform: int) -> np.ndarray:
    """Invert :func:`pack`: bytes -> survivor values ``(N, C)`` of dtype uint8/uint16."""
    wd = _work_dtype(bits)
    nbytes = np.dtype(wd).itemsize
    if len(raw) != n * channels * nbytes:
        raise FormatError(f"survivor payload holds {len(raw)} bytes, expected {n * channels * nbytes} "
                          f"({n} pixels x {channels} channel(s) x {nbytes} byte(s))")
    buf = np.frombuffer(raw, dtype=np.uint8)
    if wd is np.uint8:
        zz = buf.reshape(channels, n).copy()
    else:
        zz = np.ascontiguousarray(buf.reshape(2, -1).T).view("<u2").astype(np.uint16).reshape(channels, n)
    mod_mask = wd((1 << bits) - 1)
    if ((zz & ~mod_mask) != 0).any():
        raise FormatError(f"survivor payload holds values wider than the header's {bits} bits")
    delta = ((zz >> wd(1)) ^ (wd(0) - (zz & wd(1)))) & mod_mask  # odd codes: -(k+1) mod 2**bits
    planes = np.cumsum(delta, axis=1, dtype=wd) & mod_mask
    return np.ascontiguousarray(inverse(planes.astype(np.int64), transform, 1 << bits), dtype=wd)
