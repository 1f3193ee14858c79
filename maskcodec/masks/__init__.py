"""The pixel mask: which pixels travel, defined by integers alone.

The mask is specified in ``spec/format.md`` section 5 so that flight software in
C reproduces it bit for bit. The kinds (the header's ``mask_kind``) are the
registry :data:`KINDS`, each a class with the :class:`MaskKind` methods in a
module of its own (a new kind is a module and one line in :data:`KINDS`):

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

import math
from typing import Protocol

import numpy as np

from ..errors import InvalidInputError
from .bluenoise import BlueNoiseMask
from .hashed import HashMask
from .integers import fmix32

__all__ = ["MaskKind", "KINDS", "KIND_IDS", "DEFAULT_KIND", "settle", "kind_of", "mask", "mask_from_threshold", "kept_indices",
           "kept", "kept_rows", "keys_at", "keep_to_threshold", "threshold_to_keep", "fmix32", "check_seed", "check_kind"]

_TWO32 = 1 << 32


class MaskKind(Protocol):
    """What a mask kind provides (spec section 5): its header id and name, and, for a 32-bit ``threshold`` and
    ``seed``, the kept pixels (scan-order indices ``y * width + x``, ascending), those of some rows only (for a
    streaming encoder, in memory that follows the rows), the 32-bit key of any pixel (kept when its key is at
    most the threshold; keys order a nested mask's pixels coarse to fine, spec 6.5), the boolean mask, and the
    calibration of the decoder's held-back trial (the offset it adds to its estimate and its 90% interval, dB)."""

    id: int
    name: str
    trial_calibration_db: tuple[float, float, float]

    def kept_indices(self, height: int, width: int, threshold: int, seed: int) -> np.ndarray: ...
    def kept_rows(self, start: int, stop: int, width: int, threshold: int, seed: int) -> np.ndarray: ...
    def keys_at(self, idx: np.ndarray, width: int, seed: int) -> np.ndarray: ...
    def mask(self, h: int, w: int, threshold: int, seed: int) -> np.ndarray: ...


KINDS: dict[int, MaskKind] = {k.id: k for k in (HashMask(), BlueNoiseMask())}  # header id -> kind
KIND_IDS = {k.name: i for i, k in KINDS.items()}                                # name -> header id
DEFAULT_KIND = "bluenoise"  # measured best (docs, "Where the samples fall"); new files use it


def check_kind(name: str) -> str:
    """``name`` if it names a mask kind (``"hash"`` or ``"bluenoise"``); else an InvalidInputError."""
    if name not in KIND_IDS:
        raise InvalidInputError(f"mask kind (--mask) must be one of {', '.join(KIND_IDS)}, got {name!r}")
    return name


def settle(keep: float, seed: int, kind: str) -> tuple[int, int, str]:
    """The mask an encoder is asked for, checked: ``(threshold, seed, kind)`` of a keep fraction, a 32-bit seed
    and a kind name."""
    return keep_to_threshold(keep), check_seed(seed), check_kind(kind)


def kind_of(name: str) -> MaskKind:
    """The mask kind called ``name`` (checked)."""
    return KINDS[KIND_IDS[check_kind(name)]]


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
    return kind_of(kind).kept_indices(height, width, threshold, check_seed(seed))


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
    return kind_of(kind).kept_rows(start, stop, width, threshold, check_seed(seed))


def kept(height: int, width: int, threshold: int, seed: int, kind: str = DEFAULT_KIND, keys: bool = False
         ) -> tuple[np.ndarray, np.ndarray | None]:
    """:func:`kept_indices` and, with ``keys``, their :func:`keys_at` (else None): what an encoder gathers.

    >>> idx, k = kept(30, 40, keep_to_threshold(0.1), 7, keys=True)
    >>> bool((k <= keep_to_threshold(0.1)).all()), idx.size == k.size
    (True, True)
    """
    mask_kind, seed = kind_of(kind), check_seed(seed)
    idx = mask_kind.kept_indices(height, width, threshold, seed)
    return idx, mask_kind.keys_at(idx, width, seed) if keys else None


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
    return kind_of(kind).keys_at(np.asarray(idx, np.int64), width, check_seed(seed))


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
    return kind_of(kind).mask(h, w, threshold, check_seed(seed))
