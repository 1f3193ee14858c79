"""Mask kind 1, the blue-noise mask (spec section 5.2, the default for new files).

A blue-noise rank tile ``R`` (128 x 128, every rank 0..16383 once,
``bluenoise128.u16``) laid over the image with a seeded shift::

    s = fmix32(seed);  ox = s mod 128;  oy = (s >> 7) mod 128
    kept(y, x) = R[(y + oy) mod 128][(x + ox) mod 128] <= threshold >> 18

Kept pixels are spread evenly, without the clusters and holes of a random
mask, and finding them costs work in proportion to their number.
"""
from __future__ import annotations

import hashlib
from functools import lru_cache
from importlib import resources

import numpy as np

from ..errors import MaskcodecError
from .integers import U32, seed_mix

__all__ = ["BlueNoiseMask", "TILE", "TILE_SHA256", "rank_tile", "shift"]

TILE = 128
TILE_SHA256 = "753955614a7be77ccdb7bddab4132206776ca23112f0d30ab3e1052c4ac94968"  # spec section 5.2
RANK_SHIFT = 18  # 2**32 / (TILE * TILE) = 2**18: threshold >> 18 is the highest rank kept


@lru_cache(maxsize=1)
def rank_tile() -> np.ndarray:
    """The blue-noise rank tile ``R`` of mask kind 1, ``(128, 128)`` uint16, checked against its SHA-256."""
    data = resources.files(__package__).joinpath("bluenoise128.u16").read_bytes()
    if hashlib.sha256(data).hexdigest() != TILE_SHA256:
        raise MaskcodecError(f"the blue-noise tile bluenoise128.u16 of this installation hashes to "
                             f"{hashlib.sha256(data).hexdigest()[:16]}..., not the spec's {TILE_SHA256[:16]}...: "
                             f"reinstall maskcodec")
    return np.frombuffer(data, "<u2").reshape(TILE, TILE)


@lru_cache(maxsize=1)
def _rank_order() -> np.ndarray:
    """Flat tile positions sorted by rank: the first ``K + 1`` are the positions of ranks 0..K."""
    order = np.empty(TILE * TILE, np.int64)
    order[rank_tile().ravel()] = np.arange(TILE * TILE)
    return order


def shift(seed: int) -> tuple[int, int]:
    """The tile's seeded shift ``(oy, ox)``: bits 7-13 and 0-6 of ``fmix32(seed)``."""
    s = int(seed_mix(seed))
    return (s >> 7) & (TILE - 1), s & (TILE - 1)


@lru_cache(maxsize=2)
def _band(width: int, threshold: int, seed: int) -> np.ndarray:
    """Sorted offsets ``y * width + x`` of the kept pixels of a 128-row band of the image, read-only
    (cached: a streaming encoder asks for it at every write).

    Work in proportion to the band's kept pixels: the positions of ranks 0..K are the
    first K + 1 entries of the rank order, repeated along the row of tiles."""
    oy, ox = shift(seed)
    pos = _rank_order()[:(threshold >> RANK_SHIFT) + 1]
    yi, xi = ((pos >> 7) - oy) & (TILE - 1), ((pos & (TILE - 1)) - ox) & (TILE - 1)
    x = (np.arange(0, width, TILE, dtype=np.int64)[:, None] + xi[None, :]).ravel()
    y = np.broadcast_to(yi, (-(-width // TILE), yi.size)).ravel()
    inside = x < width
    offsets = y[inside].astype(np.int64) * width + x[inside]
    band = np.sort(offsets).astype(np.int32 if TILE * width < 1 << 31 else np.int64)  # int32 for common widths
    band.flags.writeable = False
    return band


class BlueNoiseMask:
    """The blue-noise rank tile mask (kind 1)."""

    id, name = 1, "bluenoise"
    # the decoder's held-back trial (maskcodec.inpainting.trial): (offset added to its estimate, low and high ends
    # of the 90% interval around it), dB, measured on training frames (benchmarks/results/auto_fit_train)
    trial_calibration_db = (0.8, -1.0, 1.35)

    @staticmethod
    def kept_indices(height: int, width: int, threshold: int, seed: int) -> np.ndarray:
        band = _band(width, threshold, seed)
        bands = np.arange(-(-height // TILE), dtype=np.int64)[:, None] * (TILE * width)
        idx = (bands + band[None, :]).ravel()
        return idx[idx < height * width]  # rows past the image's last in its last band

    @staticmethod
    def kept_rows(start: int, stop: int, width: int, threshold: int, seed: int) -> np.ndarray:
        first, last = start // TILE, -(-stop // TILE)  # the 128-row bands these rows lie in
        band = _band(width, threshold, seed)
        lo, hi = np.searchsorted(band, [(start - first * TILE) * width, (stop - (last - 1) * TILE) * width])
        if last - first == 1:
            return band[lo:hi].astype(np.int64) + first * TILE * width
        return np.concatenate([band[lo:].astype(np.int64) + first * TILE * width,
                               (np.arange(first + 1, last - 1, dtype=np.int64)[:, None] * (TILE * width) + band).ravel(),
                               band[:hi].astype(np.int64) + (last - 1) * TILE * width])

    @staticmethod
    def keys_at(idx: np.ndarray, width: int, seed: int) -> np.ndarray:
        oy, ox = shift(seed)
        y, x = idx // width, idx % width
        return rank_tile()[(y + oy) & (TILE - 1), (x + ox) & (TILE - 1)].astype(U32) << U32(RANK_SHIFT)

    @staticmethod
    def mask(h: int, w: int, threshold: int, seed: int) -> np.ndarray:
        oy, ox = shift(seed)
        rows, cols = (np.arange(h) + oy) & (TILE - 1), (np.arange(w) + ox) & (TILE - 1)
        return rank_tile()[rows[:, None], cols[None, :]] <= (threshold >> RANK_SHIFT)
