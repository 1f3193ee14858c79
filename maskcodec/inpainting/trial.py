"""Held-back survivors: which inpainter fills a file best, and how good the result is.

The decoder knows the kept pixels exactly, so it can test an inpainter on
them: it sets aside the survivors of highest rank (the last ``1/HOLD_BACK``
share the mask would add: the threshold lowered by ``1/HOLD_BACK``, so what
stays is a mask of the same kind, only a little sparser), fills the image from
the rest with each candidate, and measures the error where the set-aside
values are known. ``auto`` decodes with the candidate of smallest error; the
error becomes an estimated PSNR of the whole image.

The trial fills cover enough of the image for about ``TARGET_HELD_BACK``
held-back pixels, at most ``TRIAL_PIXELS``: a small image whole, a larger
one in ``WINDOW``-pixel windows spread over it, with the held-back pixels
within ``MARGIN`` of a window's inner edges left out of the count (a
window's fill there lacks the context a whole-image fill has). ``linear``
is evaluated at the held-back pixels only
(:data:`maskcodec.inpainting.classical.AT_POINTS`): its cost grows with the pixels it
fills.

Set-aside pixels of a blue-noise mask lie where the sparser mask has its
largest holes, farther from the nearest survivor than an average missing
pixel, so their error overstates the image's (those of a hash mask lie
anywhere). Each mask kind's ``trial_offsets_db`` corrects that on average; it
was measured on training frames (the ``true - raw estimate`` column of
``maskcodec bench-auto``), never on the validation frames.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from .. import masks
from ..records import MaskHeader

__all__ = ["HOLD_BACK", "TRIAL_PIXELS", "WINDOW", "MARGIN", "MIN_HELD_BACK", "TARGET_HELD_BACK",
           "estimate_offset",
           "held_back", "windows", "trial"]

HOLD_BACK = 20            # one survivor in this many (by rank) is set aside for the trial
WINDOW = 256              # side of the trial windows on a large image
TRIAL_PIXELS = 4 * WINDOW * WINDOW  # pixels the trial fills cover at most
TARGET_HELD_BACK = 4000   # held-back pixels the trial area is sized for
MARGIN = 16               # held-back pixels this close to a window's inner edge are not counted
MIN_HELD_BACK = 16        # fewer counted held-back pixels: no choice and no estimate
def estimate_offset(kind: str, keep: float) -> float:
    """The correction (dB) added to a held-back PSNR for mask ``kind`` at ``keep``: the kind's
    ``trial_offsets_db`` (:mod:`maskcodec.masks`), interpolated in log(keep) and held constant beyond its ends.

    >>> estimate_offset("hash", 0.3), estimate_offset("bluenoise", 0.1)
    (0.0, 1.2)
    """
    points = masks.kind_of(kind).trial_offsets_db
    return float(np.interp(math.log(max(keep, 1e-9)), [math.log(k) for k, _ in points], [d for _, d in points]))


def held_back(header: MaskHeader, known: np.ndarray) -> np.ndarray:
    """The survivors set aside for the trial: those of ``known`` outside the mask of a threshold lowered by
    ``1/HOLD_BACK`` (the same kind and seed, so what stays is a sparser mask of the same kind)."""
    lower = header.keep_threshold - header.keep_threshold // HOLD_BACK
    return known & ~masks.mask_from_threshold(known.shape, lower, header.seed, masks.KINDS[header.mask_kind].name)


def windows(height: int, width: int, area: int = TRIAL_PIXELS) -> list[tuple[slice, slice, slice, slice]]:
    """The trial windows of an image: ``(rows, cols, counted rows, counted cols)`` slices.

    An image of at most ``area`` pixels is one window counted whole; a
    larger one gets as many ``WINDOW``-sided windows (shorter along a short
    side) as ``area`` holds, at least one, picked evenly from the grid that
    tiles it, with ``MARGIN`` left out of the count along every edge that is
    not the image's.

    >>> [(r.start, r.stop, c.start, c.stop) for r, c, *_ in windows(1000, 1200)][:2]
    [(0, 256, 0, 256), (248, 504, 236, 492)]
    >>> len(windows(1000, 1200, area=70000))
    1
    """
    if height * width <= area:
        return [(slice(0, height), slice(0, width), slice(0, height), slice(0, width))]
    wh, ww = min(height, WINDOW), min(width, WINDOW)
    gy, gx = math.ceil(height / wh), math.ceil(width / ww)
    n = max(1, min(gy * gx, area // (wh * ww)))
    out = []
    for k in sorted({round(i * (gy * gx - 1) / max(n - 1, 1)) for i in range(n)}):
        y0 = (height - wh) * (k // gx) // max(gy - 1, 1)
        x0 = (width - ww) * (k % gx) // max(gx - 1, 1)
        cy = slice(y0 + (MARGIN if y0 else 0), y0 + wh - (MARGIN if y0 + wh < height else 0))
        cx = slice(x0 + (MARGIN if x0 else 0), x0 + ww - (MARGIN if x0 + ww < width else 0))
        out.append((slice(y0, y0 + wh), slice(x0, x0 + ww), cy, cx))
    return out


def trial(header: MaskHeader, image: np.ndarray, known: np.ndarray,
          candidates: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]],
          at_points: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] | None = None
          ) -> tuple[dict[str, float], int]:
    """Estimated PSNR of each candidate inpainter, and the number of held-back survivors counted.

    ``image`` is the float32 ``(H, W, C)`` image on [0, 1] with the kept
    values at ``known``. ``at_points`` gives, for some candidates, a function
    ``f(image, known, where) -> (N, C)`` that fills only the pixels of
    ``where`` (it must agree with the candidate there). Returns
    ``({}, count)`` when fewer than ``MIN_HELD_BACK`` survivors are counted.
    """
    h, w = known.shape
    hold = held_back(header, known)
    stay = known & ~hold
    share = max(float(np.count_nonzero(hold)) / hold.size, 1e-9)
    parts = []
    for rows, cols, crows, ccols in windows(h, w, min(TRIAL_PIXELS, math.ceil(TARGET_HELD_BACK / share))):
        counted = np.zeros((rows.stop - rows.start, cols.stop - cols.start), bool)
        counted[crows.start - rows.start:crows.stop - rows.start, ccols.start - cols.start:ccols.stop - cols.start] = True
        counted &= hold[rows, cols]
        if counted.any():
            parts.append((rows, cols, counted))
    count = sum(int(c.sum()) for *_, c in parts)
    if count < MIN_HELD_BACK:
        return {}, count
    missing = 1.0 - float(np.count_nonzero(known)) / known.size  # only these pixels carry error
    offset = estimate_offset(masks.KINDS[header.mask_kind].name, 1.0 - missing)
    if missing == 0:
        return {name: math.inf for name in candidates}, count
    estimates = {}
    at_points = at_points or {}
    for name, inpaint in candidates.items():
        sq = 0.0
        for rows, cols, counted in parts:
            sub_known = stay[rows, cols]
            sub = np.where(sub_known[..., None], image[rows, cols], 0).astype(np.float32)
            if name in at_points:
                est = np.clip(at_points[name](sub, sub_known, counted), 0, 1)
            else:
                est = np.clip(inpaint(sub, sub_known), 0, 1)[counted]
            sq += float(np.sum((est - image[rows, cols][counted]) ** 2, dtype=np.float64))
        mse = sq / (count * image.shape[2]) * missing
        estimates[name] = math.inf if mse == 0 else 10 * math.log10(1 / mse) + offset
    return estimates, count
