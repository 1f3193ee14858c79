"""Held-back survivors: which inpainter fills a file best, how good the result is, and how sure that is.

The decoder knows the kept pixels exactly, so it can test an inpainter on
them: it sets aside the survivors of highest rank (the last ``1/HOLD_BACK``
share the mask would add: the threshold lowered by ``1/HOLD_BACK``, so what
stays is a mask of the same kind, only sparser), fills the image from the
rest with each candidate, and measures the error where the set-aside values
are known. ``auto`` decodes with the candidate of smallest error; the error
becomes an estimated PSNR of the whole image, with an interval.

**Distance.** A held-back pixel sits farther from the survivors that stay
than a typical missing pixel sits from the survivors (for a blue-noise mask,
in the largest holes of the sparser mask), and an inpainter's error grows
with that distance, faster on a smooth image than on a textured one. So the
squared errors are modelled as ``c * r**p``, ``r`` the distance to the nearest
survivor (at least 1): ``c`` is fitted on the held-back pixels (their
distances to the survivors that stay) and the estimate is ``c`` times the
mean of ``r**p`` over the missing pixels of the file's own mask. The exponent
comes from the image: ``p = P_GAIN * beta`` (at most ``P_MAX``), ``beta`` the
log-log slope of the survivors' variogram (half the mean squared difference
of two survivors at distance ``r``) between one and three survivor
spacings. The rest, a constant per mask kind, and the 90% interval were
measured on training frames (``maskcodec bench-auto --auto-only``), never on
validation frames: each kind's ``trial_calibration_db``. With ``max_error``
d > 0, the held-back values are themselves up to d off; their quantization
noise (variance ``d (d + 1) / 3``) is taken out of the held-back errors and
put back for every kept pixel.

**Cost.** The trial fills windows covering at most ``TRIAL_SHARE`` of a large
image (at least one ``WINDOW``-sided window, and no more than about
``TARGET_HELD_BACK`` held-back pixels need), spread evenly over it; held-back
pixels within ``MARGIN`` of a window's inner edges are left out (a window's
fill there lacks the context of a whole-image fill). Candidates that can fill
chosen pixels only (:data:`maskcodec.inpainting.classical.AT_POINTS`) are
evaluated at the held-back pixels alone.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from .. import masks
from ..records import MaskHeader
from .classical import CLASSICAL

__all__ = ["HOLD_BACK", "TRIAL_SHARE", "WINDOW", "MARGIN", "MIN_HELD_BACK", "TARGET_HELD_BACK", "P_GAIN", "P_MAX",
           "Trial", "held_back", "windows", "smoothness", "trial"]

HOLD_BACK = 4             # one survivor in this many (by rank) is set aside for the trial
WINDOW = 256              # side of the trial windows on a large image
TRIAL_SHARE = 0.1         # the trial windows cover at most this share of a large image (at least one window)
TARGET_HELD_BACK = 4000   # held-back pixels the trial area is sized for
MARGIN = 16               # held-back pixels this close to a window's inner edge are not counted
MIN_HELD_BACK = 16        # fewer counted held-back pixels: no choice and no estimate
P_GAIN, P_MAX = 0.5, 1.0  # the error's distance exponent: P_GAIN times the variogram slope, at most P_MAX
BETA_DEFAULT = 1.0        # variogram slope taken when too few survivor pairs measure it
MIN_PAIRS = 200           # survivor pairs below which the slope is not measured
PROBE, PROBES = 64, 64    # the survivors' variogram is measured on this many squares of this side
REFERENCE = "predictor"   # the classical fill run over the whole image: every candidate is measured against it


class Trial(NamedTuple):
    """What the held-back trial measured: each candidate's estimated PSNR (dB), the 90% interval of the best
    one's (dB, ``None`` without an estimate), and the held-back survivors counted."""

    estimates: dict[str, float]
    interval: tuple[float, float] | None
    held_back: int


def held_back(header: MaskHeader, known: np.ndarray) -> np.ndarray:
    """The survivors set aside for the trial: those of ``known`` outside the mask of a threshold lowered by
    ``1/HOLD_BACK`` (the same kind and seed, so what stays is a sparser mask of the same kind)."""
    lower = header.keep_threshold - header.keep_threshold // HOLD_BACK
    return known & ~masks.mask_from_threshold(known.shape, lower, header.seed, masks.KINDS[header.mask_kind].name)


def windows(height: int, width: int, area: int) -> list[tuple[slice, slice, slice, slice]]:
    """The trial windows of an image: ``(rows, cols, counted rows, counted cols)`` slices.

    An image of at most ``area`` pixels is one window counted whole; a
    larger one gets as many ``WINDOW``-sided windows (shorter along a short
    side) as ``area`` holds, at least one, picked evenly from the grid that
    tiles it, with ``MARGIN`` left out of the count along every edge that is
    not the image's.

    >>> [(r.start, r.stop, c.start, c.stop) for r, c, *_ in windows(1000, 1200, 4 * 256 * 256)][:2]
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


def trial_area(height: int, width: int, held_share: float) -> int:
    """Pixels the trial windows may cover: what ``TARGET_HELD_BACK`` held-back pixels need, at most
    ``TRIAL_SHARE`` of the image, at least one window.

    >>> trial_area(1024, 1024, 0.025), trial_area(8192, 8192, 0.025), trial_area(8192, 8192, 0.0005)
    (104857, 160000, 6710886)
    """
    need = math.ceil(TARGET_HELD_BACK / max(held_share, 1e-9))
    return max(WINDOW * WINDOW, min(need, int(TRIAL_SHARE * height * width)))


def smoothness(points: np.ndarray, values: np.ndarray, spacing: float) -> float:
    """The log-log slope of the survivors' variogram between ``spacing`` and three times it: about 2 where the
    image is smooth at that scale, near 0 where it is noise-like. ``points`` ``(N, 2)`` are the survivors'
    positions, ``values`` ``(N, C)``; :data:`BETA_DEFAULT` when fewer than :data:`MIN_PAIRS` pairs measure it.

    >>> y, x = np.mgrid[0:64, 0:64]; pts = np.argwhere((y % 3 == 0) & (x % 3 == 0))
    >>> ramp = (pts[:, :1] * 2.0 + pts[:, 1:]) / 200                 # a plane: differences grow as r, squares as r**2
    >>> round(smoothness(pts, ramp, 3.0), 1), round(smoothness(pts, np.random.default_rng(0).random((len(pts), 1)), 3.0), 1)
    (2.0, 0.0)
    """
    from scipy.spatial import cKDTree
    if len(points) < 2:
        return BETA_DEFAULT
    pairs = cKDTree(points).query_pairs(3 * spacing, output_type="ndarray")
    if len(pairs) < MIN_PAIRS:
        return BETA_DEFAULT
    d = np.hypot(*(points[pairs[:, 0]] - points[pairs[:, 1]]).T.astype(np.float64))
    sq = np.mean((values[pairs[:, 0]].astype(np.float64) - values[pairs[:, 1]]) ** 2, axis=1)
    edges = np.geomspace(spacing, 3 * spacing, 7)
    b = np.digitize(d, edges) - 1
    ok = (b >= 0) & (b < 6)
    count = np.bincount(b[ok], minlength=6)
    gamma = np.bincount(b[ok], weights=sq[ok], minlength=6) / np.maximum(count, 1)
    use = (count >= 10) & (gamma > 0)
    if use.sum() < 2:
        return BETA_DEFAULT
    log_r = np.bincount(b[ok], weights=np.log(d[ok]), minlength=6) / np.maximum(count, 1)  # each bin's mean log r
    return float(np.polyfit(log_r[use], np.log(gamma[use]), 1)[0])


def _distances(mask: np.ndarray) -> np.ndarray:
    """Distance of every pixel to the nearest ``True`` pixel of ``mask`` (the window's), at least 1."""
    from scipy import ndimage
    if not mask.any():
        return np.full(mask.shape, float(max(mask.shape)))
    return np.maximum(ndimage.distance_transform_edt(~mask), 1.0)


def _probe_patches(height: int, width: int) -> list[tuple[slice, slice]]:
    """Up to ``PROBES`` squares of side ``PROBE`` spread evenly over the image (the whole image when it is
    small): where the survivors' variogram is measured."""
    if height * width <= PROBES * PROBE * PROBE:
        return [(slice(0, height), slice(0, width))]
    gy, gx = max(1, height // PROBE), max(1, width // PROBE)
    n = min(PROBES, gy * gx)
    out = []
    for k in sorted({round(i * (gy * gx - 1) / max(n - 1, 1)) for i in range(n)}):
        y0, x0 = (height - PROBE) * (k // gx) // max(gy - 1, 1), (width - PROBE) * (k % gx) // max(gx - 1, 1)
        out.append((slice(max(y0, 0), y0 + PROBE), slice(max(x0, 0), x0 + PROBE)))
    return out


def _exponent(image: np.ndarray, known: np.ndarray, kept_share: float) -> float:
    """The error's distance exponent ``p``: :data:`P_GAIN` times the survivors' variogram slope over patches
    spread across the image (:func:`smoothness`), between 0 and :data:`P_MAX`."""
    points, values = [], []
    for k, (rows, cols) in enumerate(_probe_patches(*known.shape)):
        ys, xs = np.nonzero(known[rows, cols])
        # patches set far apart (a gap wider than any pair's reach) so no pair spans two of them
        points.append(np.stack([ys + k * (2 * PROBE + 8 * WINDOW), xs], axis=1))
        values.append(image[rows, cols][ys, xs])
    beta = smoothness(np.concatenate(points), np.concatenate(values), 1 / math.sqrt(kept_share))
    return min(max(P_GAIN * beta, 0.0), P_MAX)


def trial(header: MaskHeader, image: np.ndarray, known: np.ndarray,
          candidates: dict[str, Callable[[np.ndarray, np.ndarray], np.ndarray]],
          at_points: dict[str, Callable[[np.ndarray, np.ndarray, np.ndarray], np.ndarray]] | None = None) -> Trial:
    """Estimated PSNR of each candidate inpainter, the best one's 90% interval, and the held-back count.

    ``image`` is the float32 ``(H, W, C)`` image on [0, 1] with the kept
    values at ``known``. ``at_points`` gives, for some candidates, a function
    ``f(image, known, where) -> (N, C)`` that fills only the pixels of
    ``where`` (it must agree with the candidate there). No estimates (and no
    interval) when fewer than ``MIN_HELD_BACK`` survivors are counted.
    """
    h, w = known.shape
    hold = held_back(header, known)
    stay = known & ~hold
    count = int(np.count_nonzero(hold))
    if count < MIN_HELD_BACK:
        return Trial({}, None, count)
    kept_share = float(np.count_nonzero(known)) / known.size
    scale = float((1 << header.bits) - 1)
    noise = header.max_error * (header.max_error + 1) / 3 / scale ** 2  # the kept values' quantization noise
    if kept_share == 1:  # nothing to fill: only the kept values' own error, at most max_error each
        if noise == 0:
            return Trial({name: math.inf for name in candidates}, (math.inf, math.inf), count)
        est, floor = -10 * math.log10(noise), -10 * math.log10((header.max_error / scale) ** 2)
        return Trial({name: est for name in candidates}, (floor, est + 1.0), count)
    # the reference fill, fast enough to run over the whole image: its error at every held-back pixel
    ref = CLASSICAL[REFERENCE](image, stay)  # it reads the pixels of stay only

    def ref_errors(where: np.ndarray, rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
        return np.mean((np.clip(ref[rows, cols][where], 0, 1).astype(np.float64) - image[rows, cols][where]) ** 2,
                       axis=1)

    ref_hold = ref_errors(hold)
    ref_all = float(ref_hold.mean())
    # the windows other candidates are tried in (each one's input, once), the distances there, and the
    # reference's error at their counted pixels
    parts, held_r, miss_r, ref_w = [], [], [], []
    for rows, cols, crows, ccols in windows(h, w, trial_area(h, w, count / hold.size)):
        inner = np.zeros((rows.stop - rows.start, cols.stop - cols.start), bool)
        inner[crows.start - rows.start:crows.stop - rows.start, ccols.start - cols.start:ccols.stop - cols.start] = True
        counted = inner & hold[rows, cols]
        held_r.append(_distances(stay[rows, cols])[counted])
        miss_r.append(_distances(known[rows, cols])[inner & ~known[rows, cols]])
        if counted.any():
            sub_known = stay[rows, cols]
            sub = np.where(sub_known[..., None], image[rows, cols], 0).astype(np.float32)
            parts.append((sub, sub_known, counted, image[rows, cols][counted]))
            ref_w.append(ref_errors(counted, rows, cols))
    ref_window = max(float(np.concatenate(ref_w).mean()), 1e-30) if ref_w else 1e-30
    p = _exponent(image, known, kept_share)
    held_w, miss_w = np.concatenate(held_r) ** p, np.concatenate(miss_r) ** p
    ratio = float(miss_w.mean()) / float(held_w.mean()) if miss_w.size and held_w.size else 1.0
    offset, low, high = masks.KINDS[header.mask_kind].trial_calibration_db
    estimates, spreads = {}, {}
    at_points = at_points or {}
    for name, inpaint in candidates.items():
        if name == REFERENCE:
            e = ref_hold
            held = ref_all
        else:
            errors = []
            for sub, sub_known, counted, truth in parts:
                if name in at_points:
                    est = np.clip(at_points[name](sub, sub_known, counted), 0, 1)
                else:
                    est = np.clip(inpaint(sub, sub_known), 0, 1)[counted]
                errors.append(np.mean((est.astype(np.float64) - truth) ** 2, axis=1))
            e = np.concatenate(errors)
            # the windows' error relative to the reference's there, times the reference's over the whole image
            held = float(e.mean()) / ref_window * ref_all
        held_mse = max(held - noise, 0.1 * held)
        mse = held_mse * ratio * (1 - kept_share) + noise * kept_share
        estimates[name] = math.inf if mse == 0 else 10 * math.log10(1 / mse) + offset
        # the sampling error of the mean held-back error, in dB (added to the calibrated interval)
        spreads[name] = 10 / math.log(10) * float(e.std()) / max(float(e.mean()), 1e-30) / math.sqrt(e.size)
    best = max(estimates, key=estimates.get)
    est = estimates[best]
    interval = (est + low - spreads[best], est + high + spreads[best]) if math.isfinite(est) else (est, est)
    return Trial(estimates, interval, count)
