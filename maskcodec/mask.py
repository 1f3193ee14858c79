"""The pixel mask: which pixels travel, defined by integers alone.

The mask is specified in ``spec/format.md`` section "The mask" so that flight
software in C reproduces it bit for bit::

    s    = fmix32(seed)
    h(i) = fmix32((i * 0x9E3779B9 + s) mod 2**32)      for pixel index i = y*W + x
    kept(i) = h(i) <= threshold

``fmix32`` is the MurmurHash3 32-bit finalizer. ``threshold`` is a 32-bit
integer stored in the header; :func:`keep_to_threshold` derives it from a keep
fraction. Because a pixel is kept when its hash is at or below the threshold,
masks of one seed are nested: a larger keep keeps a superset of pixels.
"""
from __future__ import annotations

import math

import numpy as np

from .errors import InvalidInputError

__all__ = ["mask", "mask_from_threshold", "kept_indices", "keep_to_threshold", "threshold_to_keep", "pixel_hash",
           "fmix32", "check_seed"]

_U32 = np.uint32
_GOLDEN = _U32(0x9E3779B9)
_M1 = _U32(0x85EBCA6B)
_M2 = _U32(0xC2B2AE35)
_TWO32 = 1 << 32
_BLOCK = 1 << 14  # pixels hashed at a time: the temporaries stay in cache


def _fmix32_inplace(x: np.ndarray) -> np.ndarray:
    x ^= x >> _U32(16)
    x *= _M1
    x ^= x >> _U32(13)
    x *= _M2
    x ^= x >> _U32(16)
    return x


def fmix32(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finalizer, applied element-wise (on a copy).

    Parameters
    ----------
    x : numpy.ndarray of uint32

    Returns
    -------
    numpy.ndarray of uint32

    Examples
    --------
    >>> int(fmix32(np.array([1], dtype=np.uint32))[0])
    1364076727
    """
    return _fmix32_inplace(np.array(x, dtype=_U32, copy=True))


def check_seed(seed: int) -> int:
    """``seed`` as an int in [0, 2**32); anything else is an InvalidInputError."""
    if isinstance(seed, (bool, np.bool_)) or not isinstance(seed, (int, np.integer)):
        raise InvalidInputError(f"seed (--seed) must be an integer in [0, 2**32), got {seed!r}")
    if not 0 <= int(seed) < _TWO32:
        raise InvalidInputError(f"seed (--seed) must be in [0, 2**32), got {seed}")
    return int(seed)


def keep_to_threshold(keep: float) -> int:
    """The 32-bit mask threshold for a keep fraction in (0, 1].

    ``threshold = min(2**32 - 1, ceil(keep * 2**32) - 1)``; the header stores
    the threshold, so decoding never depends on floating point.

    Examples
    --------
    >>> keep_to_threshold(1.0)
    4294967295
    >>> keep_to_threshold(0.5)
    2147483647
    """
    if isinstance(keep, (bool, np.bool_)) or not isinstance(keep, (int, float, np.integer, np.floating)):
        raise InvalidInputError(f"keep (--keep) must be a number in (0, 1], got {keep!r}")
    keep = float(keep)
    if not (0.0 < keep <= 1.0):
        raise InvalidInputError(f"keep (--keep) must be in (0, 1] (the fraction of pixels kept), got {keep}")
    return min(_TWO32 - 1, max(0, math.ceil(keep * _TWO32) - 1))


def threshold_to_keep(threshold: int) -> float:
    """The keep fraction a threshold stands for, as the shortest decimal that gives the threshold back.

    ``(threshold + 1) / 2**32`` written with the fewest significant digits (1 to 17) whose
    :func:`keep_to_threshold` is ``threshold`` again, so that ``0.1`` reads ``0.1`` and not
    ``0.10000000009313226``; spec section 10.1.

    Examples
    --------
    >>> threshold_to_keep(429496729), threshold_to_keep(4294967295), threshold_to_keep(0)
    (0.1, 1.0, 2e-10)
    """
    exact = (int(threshold) + 1) / _TWO32
    for digits in range(1, 18):
        keep = float(f"{exact:.{digits}g}")
        if 0.0 < keep <= 1.0 and keep_to_threshold(keep) == threshold:
            return keep
    return exact


def pixel_hash(n_pixels: int, seed: int) -> np.ndarray:
    """The 32-bit hash of every pixel index ``0 .. n_pixels-1`` for ``seed``."""
    return _hash_range(0, n_pixels, fmix32(np.array([check_seed(seed)], dtype=_U32))[0])


def _hash_range(start: int, stop: int, seed_mix: np.uint32) -> np.ndarray:
    x = np.arange(start, stop, dtype=_U32)
    x *= _GOLDEN
    x += seed_mix
    return _fmix32_inplace(x)


def _blocks(n_pixels: int, seed: int):
    """(start, hashes) for consecutive blocks of pixel indices."""
    seed_mix = fmix32(np.array([check_seed(seed)], dtype=_U32))[0]
    for start in range(0, n_pixels, _BLOCK):
        yield start, _hash_range(start, min(n_pixels, start + _BLOCK), seed_mix)


def kept_indices(n_pixels: int, threshold: int, seed: int) -> np.ndarray:
    """Scan-order indices of the kept pixels (what the encoder gathers).

    Examples
    --------
    >>> kept_indices(32, keep_to_threshold(0.5), 7)[:6].tolist()
    [0, 1, 3, 8, 14, 19]
    """
    t = _U32(threshold)
    parts = [np.flatnonzero(h <= t) + start for start, h in _blocks(n_pixels, seed)]
    return np.concatenate(parts) if parts else np.zeros(0, np.int64)


def mask(shape: tuple[int, ...], keep: float, seed: int) -> np.ndarray:
    """The boolean mask (True = kept) of an image of ``shape`` as the spec defines it.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``; channels share the mask.
    keep : float
        Fraction of pixels kept, in (0, 1].
    seed : int
        32-bit seed, in [0, 2**32).

    Returns
    -------
    numpy.ndarray of bool, shape ``(H, W)``

    Examples
    --------
    >>> m = mask((500, 561), 0.1, seed=7)
    >>> m.shape, round(float(m.mean()), 2)
    ((500, 561), 0.1)
    >>> bool((mask((500, 561), 0.01, seed=7) <= m).all())   # nested
    True
    """
    return mask_from_threshold(shape, keep_to_threshold(keep), seed)


def mask_from_threshold(shape: tuple[int, ...], threshold: int, seed: int) -> np.ndarray:
    """The mask for a threshold as stored in a header (see :func:`mask`)."""
    if len(shape) not in (2, 3) or any(int(n) <= 0 for n in shape):
        raise InvalidInputError(f"shape must be (H, W) or (H, W, C) with positive sizes, got {tuple(shape)}")
    h, w = int(shape[0]), int(shape[1])
    if h * w >= _TWO32:
        raise InvalidInputError(f"an image may have at most 2**32 - 1 pixels, got {h}x{w}")
    out = np.empty(h * w, bool)
    t = _U32(threshold)
    for start, hashes in _blocks(h * w, seed):
        np.less_equal(hashes, t, out=out[start:start + hashes.size])
    return out.reshape(h, w)
