"""Byte budgets: a file that never exceeds a stated size, with the keep and ``max_error`` that spend it best.

``maskcodec.encode(image, max_bytes=N)`` (or ``bpp=``, ``ratio=``; ``--max-bytes``,
``--bpp``, ``--ratio``) works as JPEG2000's rate control does:

- mask mode: the *frontier* (``budget_frontier.json``, measured on training
  frames by ``maskcodec bench-frontier``) gives, for the image's kind (colour or
  gray, 8 or more bits) and the budget's bits per pixel, the pair (keep,
  ``max_error``) whose default decode was best at that rate; then the largest
  keep with that ``max_error`` whose file fits is found by bisection (ranked
  coding is embedded: a smaller keep's file is a prefix of the survivors, so the
  size grows with keep); when every pixel fits with bytes to spare, the
  smallest ``max_error`` that fits instead. A ``max_error`` given with the budget
  is kept and only the keep is chosen. With ``segment_size`` the same search sizes the stream;
- latent mode: the best installed quality level whose file fits.

A budget below the smallest file (the header, the metadata and an empty
payload; the latent mode's lowest level) is refused with that size.

Examples
--------
>>> import maskcodec
>>> img = maskcodec.sample_image("mastcam")
>>> data = maskcodec.encode(img, max_bytes=6000, seed=1)
>>> len(data) <= 6000, maskcodec.inspect(data).keep > 0
(True, True)
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from .errors import InvalidInputError
from . import options
from .options import EncodeOptions, installed_levels

__all__ = ["Budget", "check_budget", "resolve", "image_kind", "frontier", "choose", "FRONTIER_FILE", "encode_within"]

FRONTIER_FILE = Path(__file__).with_name("budget_frontier.json")
SEARCH_STEPS = 24  # bisection steps on the keep: a keep within 2**-24 of the largest that fits
SMALLEST_KEEP = 2.0 ** -32  # threshold 0: no survivor, or the one pixel of key 0


@dataclass(frozen=True)
class Budget:
    """At most ``max_bytes``, or ``bpp`` bits per pixel, or a compression ``ratio`` (raw bytes over file bytes);
    exactly one is set."""

    max_bytes: int | None = None
    bpp: float | None = None
    ratio: float | None = None

    def bytes_for(self, image: np.ndarray) -> int:
        """The budget in bytes for ``image``."""
        if self.max_bytes is not None:
            return self.max_bytes
        if self.bpp is not None:
            return int(self.bpp * image.shape[0] * image.shape[1] // 8)
        return int(image.nbytes // self.ratio)

    def describe(self, limit: int) -> str:
        """The budget as asked, with its bytes."""
        return (f"{limit} bytes" if self.max_bytes is not None else
                f"{self.bpp:g} bits/pixel ({limit} bytes)" if self.bpp is not None else
                f"ratio {self.ratio:g} ({limit} bytes)")


def check_budget(max_bytes=None, bpp=None, ratio=None) -> Budget | None:
    """The budget asked for (None for none), checked: at most one of the three, each positive."""
    given = {name: value for name, value in (("max_bytes (--max-bytes)", max_bytes), ("bpp (--bpp)", bpp),
                                             ("ratio (--ratio)", ratio)) if value is not None}
    if not given:
        return None
    if len(given) > 1:
        raise InvalidInputError(f"give one byte budget, not {' and '.join(given)}")
    (name, value), = given.items()
    integer = name.startswith("max_bytes")
    if isinstance(value, bool) or not isinstance(value, (int, float) if not integer else int) or not value > 0 \
            or not np.isfinite(value):
        raise InvalidInputError(f"{name} must be a positive {'whole number of bytes' if integer else 'number'}, "
                                f"got {value!r}")
    return Budget(max_bytes=int(value) if integer else None, bpp=float(value) if name.startswith("bpp") else None,
                  ratio=float(value) if name.startswith("ratio") else None)


def resolve(mode: str, budget: Budget | None, *, keep=None, quality=None, model=None, max_error=None,
            **others) -> EncodeOptions:
    """:func:`maskcodec.options.resolve` under a budget, which chooses the keep (and ``max_error`` unless it is
    given) in mask mode, the quality level in latent mode: giving those as well is refused."""
    if budget is not None:
        chosen = [name for name, value in (("keep (--keep)", keep), ("quality (--quality)", quality),
                                           ("model (--model)", model if mode == "latent" else None))
                  if value is not None]
        if chosen:
            raise InvalidInputError(f"a byte budget chooses the {' and '.join(chosen)}; give the budget or "
                                    f"{' and '.join(chosen)}, not both")
        if mode == "latent":
            quality = 1  # a placeholder: the budget chooses the level
    return options.resolve(mode, keep=keep, quality=quality, model=model, max_error=max_error or 0, **others)


def image_kind(channels: int, bits: int) -> str:
    """The frontier an image uses: ``rgb8``/``rgb16`` for 3 channels, else ``gray8``/``gray16`` (every band of a
    multi-band image coded like a gray one), 16 for more than 8 significant bits.

    >>> image_kind(3, 8), image_kind(1, 12), image_kind(5, 8)
    ('rgb8', 'gray16', 'gray8')
    """
    return ("rgb" if channels == 3 else "gray") + ("8" if bits <= 8 else "16")


@lru_cache(maxsize=1)
def _frontiers() -> dict:
    if not FRONTIER_FILE.is_file():
        raise InvalidInputError(f"no budget frontier is installed ({FRONTIER_FILE} is missing: reinstall maskcodec, "
                                f"or measure one with maskcodec bench-frontier --install)")
    return json.loads(FRONTIER_FILE.read_text())["kinds"]


def frontier(kind: str) -> list[dict]:
    """The measured frontier of ``kind``: points ``{keep, max_error, bpp, psnr_db}`` by rising bpp (the same depth
    of the other layout, then any, where a kind was not measured)."""
    kinds = _frontiers()
    for name in (kind, ("gray" if kind.startswith("rgb") else "rgb") + kind.lstrip("grayb"), *kinds):
        if name in kinds:
            return kinds[name]["frontier"]
    raise InvalidInputError(f"the budget frontier {FRONTIER_FILE} holds no kind of image")


def choose(kind: str, bpp: float) -> tuple[float, int]:
    """(keep, max_error on the 8-bit scale) of the frontier point of ``kind`` with the most bpp at most ``bpp``
    (the first point when even it spends more).

    >>> choose("rgb8", 100.0)[0] <= 1.0
    True
    """
    points = frontier(kind)
    fits = [p for p in points if p["bpp"] <= bpp] or points[:1]
    return fits[-1]["keep"], fits[-1]["max_error"]


def _largest_keep(encode_at: Callable[[float], tuple[bytes, EncodeOptions]], budget: int, start: float
                  ) -> tuple[bytes, EncodeOptions] | None:
    """The file (and options) of the largest keep whose bytes are within ``budget``, by bisection on the keep
    from ``start``; None when even the smallest keep's file is over it."""
    first = encode_at(start)
    if len(first[0]) <= budget:
        top = encode_at(1.0) if start < 1.0 else first
        if len(top[0]) <= budget:
            return top
        best, lo, hi = first, start, 1.0
    else:
        best, lo, hi = None, 0.0, start
    for _ in range(SEARCH_STEPS):
        found = encode_at((lo + hi) / 2)
        if len(found[0]) <= budget:
            best, lo = found, (lo + hi) / 2
        else:
            hi = (lo + hi) / 2
    if best is None:
        least = encode_at(SMALLEST_KEEP)
        best = least if len(least[0]) <= budget else None
    return best


def encode_within(image: np.ndarray, opts: EncodeOptions, budget: Budget, max_error_given: bool,
                  encode_with: Callable[[np.ndarray, EncodeOptions], bytes]) -> tuple[bytes, EncodeOptions]:
    """The file of ``image`` within ``budget`` and the options that made it (see the module's text).
    ``encode_with`` encodes under options (:func:`maskcodec.codec.encode_with`)."""
    limit = budget.bytes_for(image)
    channels = image.shape[2] if image.ndim == 3 else 1
    if opts.mode == "latent":
        return _latent_within(image, opts, budget, limit, channels, encode_with)
    bits = opts.bits_for(image)
    keep, max_error = choose(image_kind(channels, bits), 8 * limit / (image.shape[0] * image.shape[1]))
    max_error <<= max(0, bits - 8)  # the frontier's errors are on the 8-bit scale
    max_error = min(opts.max_error if max_error_given else max_error, (1 << (bits - 1)) - 1)

    def encode_at(k: float) -> tuple[bytes, EncodeOptions]:
        o = replace(opts.with_keep(min(k, 1.0)), max_error=max_error)
        return encode_with(image, o), o

    found = _largest_keep(encode_at, limit, keep)
    if found is None:
        raise InvalidInputError(f"the budget of {budget.describe(limit)} is below the smallest file of this image "
                                f"({len(encode_at(SMALLEST_KEEP)[0])} bytes: header, metadata and at most one kept "
                                f"pixel); give at least that")
    if found[1].keep < 1.0 or max_error_given:
        return found
    return _smallest_error(image, found, limit, encode_with)


def _smallest_error(image: np.ndarray, found: tuple[bytes, EncodeOptions], limit: int, encode_with
                    ) -> tuple[bytes, EncodeOptions]:
    """Every pixel kept with bytes to spare: the smallest ``max_error`` whose file still fits (bisection; the
    file shrinks as the error grows)."""
    lo, hi = -1, found[1].max_error  # hi fits; lo does not (or is below 0)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        o = replace(found[1], max_error=mid)
        data = encode_with(image, o)
        if len(data) <= limit:
            found, hi = (data, o), mid
        else:
            lo = mid
    return found


def _latent_within(image, opts: EncodeOptions, budget: Budget, limit: int, channels: int, encode_with
                   ) -> tuple[bytes, EncodeOptions]:
    """The best installed quality level whose file fits."""
    sizes = []
    for level in sorted(installed_levels(channels), reverse=True):
        level_opts = opts.with_quality(level)
        data = encode_with(image, level_opts)
        if len(data) <= limit:
            return data, level_opts
        sizes.append(len(data))
    raise InvalidInputError(f"the budget of {budget.describe(limit)} is below the lowest latent level's file "
                            f"({min(sizes, default=0)} bytes); give at least that, or use mask mode")
