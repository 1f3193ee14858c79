"""Survivor layout: kept pixel values <-> the byte string that zstd compresses.

Specified in ``spec/format.md`` section "Survivor layout". Steps, all in
integer arithmetic modulo ``2**bits``:

1. gather the kept pixels in scan order (row-major), giving ``(N, C)`` values;
2. transform ``1`` (green difference, 3 channels only): channels become
   ``G, R-G, B-G``; transform ``2`` (band difference, 2 or more channels):
   band ``c`` becomes ``band[c] - band[c-1]`` (band 0 unchanged);
3. planar: channel by channel, a delta against the previous survivor of the
   same channel (the first against 0);
4. zigzag: the delta, read as a signed ``bits``-bit number, is mapped to
   ``0, -1, 1, -2, ...  ->  0, 1, 2, 3, ...``;
5. bytes: one byte per value for ``bits <= 8`` (uint16 samples included); for
   ``bits > 8`` a plane of all low bytes followed by a plane of all high bytes.
"""
from __future__ import annotations

import numpy as np

from .errors import FormatError

__all__ = ["TRANSFORM_NONE", "TRANSFORM_GREEN_DIFF", "TRANSFORM_BAND_DIFF", "TRANSFORMS", "candidate_transforms",
           "check_transform", "value_bytes", "pack", "unpack"]

TRANSFORM_NONE = 0
TRANSFORM_GREEN_DIFF = 1
TRANSFORM_BAND_DIFF = 2
TRANSFORMS = (TRANSFORM_NONE, TRANSFORM_GREEN_DIFF, TRANSFORM_BAND_DIFF)


def candidate_transforms(channels: int) -> tuple[int, ...]:
    """Transforms the encoder tries (keeping the one that compresses best).

    Green difference for 3 channels (RGB); for other multi-band images none
    and band difference, since neighbouring bands of a spectral cube are
    often, but not always, correlated.

    Examples
    --------
    >>> candidate_transforms(1), candidate_transforms(3), candidate_transforms(8)
    ((0,), (1,), (0, 2))
    """
    if channels == 3:
        return (TRANSFORM_GREEN_DIFF,)
    return (TRANSFORM_NONE,) if channels == 1 else (TRANSFORM_NONE, TRANSFORM_BAND_DIFF)


def check_transform(transform: int, channels: int) -> None:
    """Refuse a transform the spec does not define for ``channels`` (spec section 6.2)."""
    if transform not in TRANSFORMS:
        raise FormatError(f"transform {transform} is unknown; expected one of {TRANSFORMS}")
    if transform == TRANSFORM_GREEN_DIFF and channels != 3:
        raise FormatError(f"transform 1 (green difference) needs 3 channels, header has {channels}")
    if transform == TRANSFORM_BAND_DIFF and channels < 2:
        raise FormatError(f"transform 2 (band difference) needs 2 or more channels, header has {channels}")


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
    >>> raw = pack(v, 8, TRANSFORM_GREEN_DIFF)
    >>> bool((unpack(raw, 2, 3, 8, TRANSFORM_GREEN_DIFF) == v).all())
    True
    """
    n, c = values.shape
    wd = _work_dtype(bits)
    mod_mask = wd((1 << bits) - 1)
    planes = np.ascontiguousarray(values.T, dtype=wd)  # (C, N)
    if transform == TRANSFORM_GREEN_DIFF:
        g = planes[1]
        planes = np.stack([g, planes[0] - g, planes[2] - g])  # G, R-G, B-G
    elif transform == TRANSFORM_BAND_DIFF:
        planes[1:] = planes[1:] - planes[:-1]
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
    if transform == TRANSFORM_GREEN_DIFF:
        g = planes[0].copy()
        planes = np.stack([(planes[1] + g) & mod_mask, g, (planes[2] + g) & mod_mask])
    elif transform == TRANSFORM_BAND_DIFF:
        planes = np.cumsum(planes, axis=0, dtype=wd) & mod_mask
    return np.ascontiguousarray(planes.T)
