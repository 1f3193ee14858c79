"""The integers both mask kinds are made of: MurmurHash3's 32-bit finalizer and the seed's mix."""
from __future__ import annotations

import numpy as np

__all__ = ["U32", "GOLDEN", "BLOCK", "fmix32", "fmix32_inplace", "seed_mix"]

U32 = np.uint32
GOLDEN = U32(0x9E3779B9)
_M1 = U32(0x85EBCA6B)
_M2 = U32(0xC2B2AE35)
BLOCK = 1 << 14  # pixels hashed at a time: the temporaries stay in cache


def fmix32_inplace(x: np.ndarray) -> np.ndarray:
    x ^= x >> U32(16)
    x *= _M1
    x ^= x >> U32(13)
    x *= _M2
    x ^= x >> U32(16)
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
    return fmix32_inplace(np.array(x, dtype=U32, copy=True))


def seed_mix(seed: int) -> np.uint32:
    """``fmix32(seed)``, the seed as both kinds mix it in (the seed is checked by the caller)."""
    return fmix32(np.array([seed], dtype=U32))[0]
