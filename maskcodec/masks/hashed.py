"""Mask kind 0, the hash mask (spec section 5.1): every pixel kept when its seeded hash is at most the threshold.

    s    = fmix32(seed)
    h(i) = fmix32((i * 0x9E3779B9 + s) mod 2**32)      for pixel index i = y*W + x
    kept(i) = h(i) <= threshold
"""
from __future__ import annotations

import numpy as np

from .integers import BLOCK, GOLDEN, U32, fmix32_inplace, seed_mix

__all__ = ["HashMask"]


def _hash_range(start: int, stop: int, mix: np.uint32) -> np.ndarray:
    x = np.arange(start, stop, dtype=U32)
    x *= GOLDEN
    x += mix
    return fmix32_inplace(x)


def _blocks(n_pixels: int, seed: int):
    """(start, hashes) for consecutive blocks of pixel indices."""
    mix = seed_mix(seed)
    for start in range(0, n_pixels, BLOCK):
        yield start, _hash_range(start, min(n_pixels, start + BLOCK), mix)


class HashMask:
    """The seeded pseudo-random mask of format 1.0's first files (kind 0)."""

    id, name = 0, "hash"
    trial_calibration_db = (0.4, -0.75, 0.9)  # as BlueNoiseMask's (benchmarks/results/auto_fit_train_hash)

    @staticmethod
    def pixel_hash(n_pixels: int, seed: int) -> np.ndarray:
        """The 32-bit hash of every pixel index ``0 .. n_pixels-1`` for ``seed``."""
        return _hash_range(0, n_pixels, seed_mix(seed))

    @staticmethod
    def kept_indices(height: int, width: int, threshold: int, seed: int) -> np.ndarray:
        t = U32(threshold)
        parts = [np.flatnonzero(h <= t) + start for start, h in _blocks(height * width, seed)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    @staticmethod
    def kept_rows(start: int, stop: int, width: int, threshold: int, seed: int) -> np.ndarray:
        mix, t = seed_mix(seed), U32(threshold)
        parts = [np.flatnonzero(_hash_range(a, min(stop * width, a + BLOCK), mix) <= t) + a
                 for a in range(start * width, stop * width, BLOCK)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)

    @staticmethod
    def keys_at(idx: np.ndarray, width: int, seed: int) -> np.ndarray:
        x = idx.astype(U32)
        x *= GOLDEN
        x += seed_mix(seed)
        return fmix32_inplace(x)

    @staticmethod
    def mask(h: int, w: int, threshold: int, seed: int) -> np.ndarray:
        out = np.empty(h * w, bool)
        t = U32(threshold)
        for start, hashes in _blocks(h * w, seed):
            np.less_equal(hashes, t, out=out[start:start + hashes.size])
        return out.reshape(h, w)
