"""The pixel mask: which pixels travel, defined by integers alone.

The mask is specified in ``spec/format.md`` section 5 so that flight software in
C reproduces it bit for bit. Two kinds (the header's ``mask_kind``):

- ``"hash"`` (kind 0), a seeded pseudo-random mask::

      s    = fmix32(seed)
      h(i) = fmix32((i * 0x9E3779B9 + s) mod 2**32)      for pixel index i = y*W + x
      kept(i) = h(i) <= threshold

- ``"bluenoise"`` (kind 1, the default for new files), a blue-noise rank tile
  ``R`` (128 x 128, every rank 0..16383 once, ``bluenoise128.u16``) laid over
  the image with a seeded shift::

      s = fmix32(seed);  ox = s mod 128;  oy = (s >> 7) mod 128
      kept(y, x) = R[(y + oy) mod 128][(x + ox) mod 128] <= threshold >> 18

  Kept pixels are spread evenly, without the clusters and holes of a random
  mask, and finding them costs work in proportion to their number.

``fmix32`` is the MurmurHash3 32-bit finalizer. ``threshold`` is a 32-bit
integer stored in the header; :func:`keep_to_threshold` derives it from a keep
fraction. Both kinds are nested: a larger keep keeps a superset of pixels.
"""
from __future__ import annotations

import hashlib
import math
from functools import lru_cache
from importlib import resources

import numpy as np

from .errors import InvalidInputError, MaskcodecError

__all__ = ["mask", "mask_from_threshold", "kept_indices", "keys_at", "keep_to_threshold", "threshold_to_keep", "pixel_hash",
           "fmix32", "check_seed", "check_kind", "MASK_KINDS", "MASK_KIND_IDS", "DEFAULT_KIND", "rank_tile",
           "TILE_SHA256"]

MASK_KINDS = {0: "hash", 1: "bluenoise"}
MASK_KIND_IDS = {v: k for k, v in MASK_KINDS.items()}
DEFAULT_KIND = "bluenoise"  # measured best (README, "Where the samples fall"); new files use it
TILE = 128
TILE_SHA256 = "753955614a7be77ccdb7bddab4132206776ca23112f0d30ab3e1052c4ac94968"  # spec section 5.2
_RANK_SHIFT = 18  # 2**32 / (TILE * TILE) = 2**18: threshold >> 18 is the highest rank kept
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


def check_kind(kind: str) -> str:
    """``kind`` if it names a mask kind (``"hash"`` or ``"bluenoise"``); else an InvalidInputError."""
    if kind not in MASK_KIND_IDS:
        raise InvalidInputError(f"mask kind (--mask) must be one of {', '.join(MASK_KIND_IDS)}, got {kind!r}")
    return kind


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


def _shift(seed: int) -> tuple[int, int]:
    """The tile's seeded shift ``(oy, ox)``: bits 7-13 and 0-6 of ``fmix32(seed)``."""
    s = int(fmix32(np.array([check_seed(seed)], dtype=_U32))[0])
    return (s >> 7) & (TILE - 1), s & (TILE - 1)


@lru_cache(maxsize=2)
def _band(width: int, threshold: int, seed: int) -> np.ndarray:
    """Sorted offsets ``y * width + x`` of the kept pixels of a 128-row band of the image (kind 1), read-only
    (cached: a streaming encoder asks for it at every write).

    Work in proportion to the band's kept pixels: the positions of ranks 0..K are the
    first K + 1 entries of the rank order, repeated along the row of tiles."""
    oy, ox = _shift(seed)
    pos = _rank_order()[:(threshold >> _RANK_SHIFT) + 1]
    yi, xi = ((pos >> 7) - oy) & (TILE - 1), ((pos & (TILE - 1)) - ox) & (TILE - 1)
    x = (np.arange(0, width, TILE, dtype=np.int64)[:, None] + xi[None, :]).ravel()
    y = np.broadcast_to(yi, (-(-width // TILE), yi.size)).ravel()
    inside = x < width
    band = np.sort(y[inside] * width + x[inside]).astype(np.int32)  # offsets below 128 * width < 2**31
    band.flags.writeable = False
    return band


def kept_indices(height: int, width: int, threshold: int, seed: int, kind: str = DEFAULT_KIND) -> np.ndarray:
    """Scan-order indices ``y * width + x`` of the kept pixels (what the encoder gathers).

    For the hash kind every pixel is hashed; for the blue-noise kind the kept
    positions come from the rank tile's order, so the work follows the kept pixels.

    Examples
    --------
    >>> kept_indices(4, 8, keep_to_threshold(0.5), 7, "hash")[:6].tolist()
    [0, 1, 3, 8, 14, 19]
    >>> idx = kept_indices(300, 400, keep_to_threshold(0.1), 7)
    >>> bool((np.diff(idx) > 0).all()), bool(np.array_equal(np.flatnonzero(mask((300, 400), 0.1, 7)), idx))
    (True, True)
    """
    if check_kind(kind) == "hash":
        t = _U32(threshold)
        parts = [np.flatnonzero(h <= t) + start for start, h in _blocks(height * width, seed)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)
    band = _band(width, threshold, seed)
    bands = np.arange(-(-height // TILE), dtype=np.int64)[:, None] * (TILE * width)
    idx = (bands + band[None, :]).ravel()
    return idx[idx < height * width]  # rows past the image's last in its last band


def kept_rows(start: int, stop: int, width: int, threshold: int, seed: int, kind: str = DEFAULT_KIND) -> np.ndarray:
    """The kept pixels of rows ``start .. stop-1`` only, as :func:`kept_indices` numbers them: what a
    streaming encoder gathers as the rows arrive, in memory that follows those rows.

    Examples
    --------
    >>> t = keep_to_threshold(0.1)
    >>> parts = [kept_rows(y, min(y + 70, 300), 400, t, 7, k) for k in ("hash", "bluenoise") for y in (0, 70, 140, 210, 280)]
    >>> all(np.array_equal(np.concatenate(parts[5 * i:5 * i + 5]), kept_indices(300, 400, t, 7, k))
    ...     for i, k in enumerate(("hash", "bluenoise")))
    True
    """
    if check_kind(kind) == "hash":
        seed_mix, t = fmix32(np.array([check_seed(seed)], dtype=_U32))[0], _U32(threshold)
        parts = [np.flatnonzero(_hash_range(a, min(stop * width, a + _BLOCK), seed_mix) <= t) + a
                 for a in range(start * width, stop * width, _BLOCK)]
        return np.concatenate(parts) if parts else np.zeros(0, np.int64)
    first, last = start // TILE, -(-stop // TILE)  # the 128-row bands these rows lie in
    band = _band(width, threshold, seed)
    lo, hi = np.searchsorted(band, [(start - first * TILE) * width, (stop - (last - 1) * TILE) * width])
    if last - first == 1:
        return band[lo:hi].astype(np.int64) + first * TILE * width
    return np.concatenate([band[lo:].astype(np.int64) + first * TILE * width,
                           (np.arange(first + 1, last - 1, dtype=np.int64)[:, None] * (TILE * width) + band).ravel(),
                           band[:hi].astype(np.int64) + (last - 1) * TILE * width])


def keys_at(idx: np.ndarray, width: int, seed: int, kind: str = DEFAULT_KIND) -> np.ndarray:
    """The 32-bit key of each pixel ``idx = y * width + x``: a pixel is kept when its key <= the threshold.

    Kind 0: the hash ``h(i)``; kind 1: the tile's rank shifted up, ``R[...] << 18`` (spec section 5).
    The key orders a nested mask's pixels coarse to fine (spec section 6.5).

    Examples
    --------
    >>> t = keep_to_threshold(0.1)
    >>> idx = np.arange(300 * 400)
    >>> bool(np.array_equal(keys_at(idx, 400, 7) <= t, mask((300, 400), 0.1, 7).ravel()))
    True
    """
    idx = np.asarray(idx, np.int64)
    if check_kind(kind) == "hash":
        x = idx.astype(_U32)
        x *= _GOLDEN
        x += fmix32(np.array([check_seed(seed)], dtype=_U32))[0]
        return _fmix32_inplace(x)
    oy, ox = _shift(seed)
    y, x = idx // width, idx % width
    return rank_tile()[(y + oy) & (TILE - 1), (x + ox) & (TILE - 1)].astype(_U32) << _U32(_RANK_SHIFT)


def mask(shape: tuple[int, ...], keep: float, seed: int, kind: str = DEFAULT_KIND) -> np.ndarray:
    """The boolean mask (True = kept) of an image of ``shape`` as the spec defines it.

    Parameters
    ----------
    shape : tuple of int
        ``(H, W)`` or ``(H, W, C)``; channels share the mask.
    keep : float
        Fraction of pixels kept, in (0, 1].
    seed : int
        32-bit seed, in [0, 2**32).
    kind : {"bluenoise", "hash"}
        The mask kind (default ``"bluenoise"``, what :func:`maskcodec.encode` uses).

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
    >>> round(float(mask((500, 561), 0.1, seed=7, kind="hash").mean()), 2)
    0.1
    """
    return mask_from_threshold(shape, keep_to_threshold(keep), seed, kind)


def mask_from_threshold(shape: tuple[int, ...], threshold: int, seed: int, kind: str = DEFAULT_KIND) -> np.ndarray:
    """The mask for a threshold as stored in a header (see :func:`mask`)."""
    if len(shape) not in (2, 3) or any(int(n) <= 0 for n in shape):
        raise InvalidInputError(f"shape must be (H, W) or (H, W, C) with positive sizes, got {tuple(shape)}")
    h, w = int(shape[0]), int(shape[1])
    if h * w >= _TWO32:
        raise InvalidInputError(f"an image may have at most 2**32 - 1 pixels, got {h}x{w}")
    if check_kind(kind) == "bluenoise":
        oy, ox = _shift(seed)
        rows, cols = (np.arange(h) + oy) & (TILE - 1), (np.arange(w) + ox) & (TILE - 1)
        return rank_tile()[rows[:, None], cols[None, :]] <= (threshold >> _RANK_SHIFT)
    out = np.empty(h * w, bool)
    t = _U32(threshold)
    for start, hashes in _blocks(h * w, seed):
        np.less_equal(hashes, t, out=out[start:start + hashes.size])
    return out.reshape(h, w)
