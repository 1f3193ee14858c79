"""The classical inpainters, numpy and scipy only (no model, no onnxruntime).

Each is an inpainter as :mod:`maskcodec.inpainting` defines it,
``f(image, known) -> image`` on float32 ``(H, W, C)`` images scaled to [0, 1]:

- ``"nconv"``: multi-scale normalized convolution on an image pyramid;
  about 0.1 s per megapixel, works at any keep and any channel count.
- ``"linear"``: piecewise-linear interpolation over the Delaunay
  triangulation of the kept pixels (nearest neighbour outside their hull);
  the baseline the CAE models are measured against.
- ``"predictor"``: the survivor coder's own prediction run coarse to fine over
  the missing pixels, in the flight core's C (:mod:`.predictor_fill`); no scipy.
"""
from __future__ import annotations

import numpy as np

from .predictor_fill import predictor

__all__ = ["CLASSICAL", "AT_POINTS", "nconv", "linear", "linear_at"]

_CONF_GAIN = 3.0  # density (after a sigma=1 blur) at which a level trusts itself fully


def _blur(a: np.ndarray) -> np.ndarray:
    from scipy import ndimage  # scipy loads when a classical fill runs, not when the registry is read
    return ndimage.gaussian_filter(a, sigma=(1.0, 1.0, 0.0)[:a.ndim], mode="nearest", truncate=3.0)


def _down(a: np.ndarray) -> np.ndarray:
    """Sum over 2x2 blocks (odd edges padded by repetition of zeros)."""
    h, w = a.shape[:2]
    a = np.pad(a, ((0, h % 2), (0, w % 2)) + ((0, 0),) * (a.ndim - 2))
    return a[0::2, 0::2] + a[1::2, 0::2] + a[0::2, 1::2] + a[1::2, 1::2]


def _up(a: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Bilinear 2x upsampling to ``shape`` (pixel centres aligned)."""
    zoom = (shape[0] / a.shape[0], shape[1] / a.shape[1]) + (1.0,) * (a.ndim - 2)
    from scipy import ndimage
    out = ndimage.zoom(a, zoom, order=1, mode="nearest", grid_mode=True)
    return out[:shape[0], :shape[1]]


def nconv(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Multi-scale normalized convolution.

    At each pyramid level the kept values and their weights are blurred
    (sigma = 1 pixel of that level); where the blurred weight is high the
    level's own estimate is used, elsewhere the estimate of the next coarser
    level, upsampled, fills in.

    Examples
    --------
    >>> y, x = np.mgrid[0:64, 0:64]
    >>> img = ((y + x) / 126).astype(np.float32)[..., None]      # a smooth ramp
    >>> known = np.zeros((64, 64), bool); known[::4, ::4] = True  # 1 pixel in 16
    >>> err = np.abs(nconv(img, known) - img)
    >>> bool(err.mean() < 0.015), bool(err.max() < 0.07)           # errors grow at the borders
    (True, True)
    """
    img = np.where(known[..., None], image, 0).astype(np.float32)
    w = known.astype(np.float32)[..., None]
    if not known.any():
        return np.zeros_like(img)
    if known.all():
        return img
    values, weights = [img], [w]
    while min(weights[-1].shape[:2]) > 2 and weights[-1].sum() > 0:
        values.append(_down(values[-1]))
        weights.append(_down(weights[-1]))
    top_w = weights[-1].sum(axis=(0, 1))
    est = np.broadcast_to(values[-1].sum(axis=(0, 1)) / np.maximum(top_w, 1e-12),
                          values[-1].shape).astype(np.float32)
    for v, wt in zip(reversed(values[:-1]), reversed(weights[:-1])):
        coarse = _up(est, v.shape[:2])
        bv, bw = _blur(v), _blur(wt)
        conf = np.clip(bw * _CONF_GAIN, 0.0, 1.0)
        fine = bv / np.maximum(bw, 1e-12)
        est = conf * fine + (1.0 - conf) * coarse
    return est


def linear(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """Linear interpolation over the Delaunay triangulation of the kept pixels.

    Pixels outside the convex hull take their nearest kept neighbour's value.

    Examples
    --------
    >>> y, x = np.mgrid[0:31, 0:31]
    >>> img = ((2 * y + x) / 90).astype(np.float32)[..., None]    # a plane is interpolated exactly
    >>> known = np.zeros((31, 31), bool); known[::3, ::3] = True
    >>> bool(np.abs(linear(img, known) - img).max() < 1e-5)
    True
    """
    if known.all():
        return image.astype(np.float32)
    out = image.astype(np.float32, copy=True)
    out[~known] = linear_at(image, known, ~known)
    return out


def linear_at(image: np.ndarray, known: np.ndarray, where: np.ndarray) -> np.ndarray:
    """:func:`linear`'s values at the pixels of the boolean mask ``where`` only, ``(N, C)`` float32 in scan order.

    The triangulation is the whole image's; only the queries are fewer (what
    the held-back trial of :mod:`maskcodec.inpainting.trial` needs). Values agree with
    :func:`linear`'s to float rounding (the barycentric sums may be ordered
    differently).

    >>> img = np.arange(16, dtype=np.float32).reshape(4, 4, 1); known = np.zeros((4, 4), bool)
    >>> known[[0, 0, 3, 3], [0, 3, 0, 3]] = True
    >>> where = np.zeros((4, 4), bool); where[1, 2] = True
    >>> linear_at(img, known, where).tolist(), float(linear(img, known)[1, 2, 0])
    ([[6.0]], 6.0)
    """
    from scipy.interpolate import LinearNDInterpolator
    from scipy.spatial import QhullError, cKDTree
    from threadpoolctl import threadpool_limits
    ys, xs = np.nonzero(known)
    qy, qx = np.nonzero(where)
    c = image.shape[2]
    if ys.size == 0:
        return np.zeros((qy.size, c), np.float32)
    pts = np.stack([ys, xs], axis=1).astype(np.float64)
    vals = image[ys, xs].astype(np.float64)
    q = np.stack([qy, qx], axis=1).astype(np.float64)
    filled = np.full((q.shape[0], c), np.nan)
    if ys.size >= 3:
        try:
            # scipy's barycentric solve calls BLAS on tiny matrices: many BLAS threads only contend
            with threadpool_limits(limits=1, user_api="blas"):
                filled = LinearNDInterpolator(pts, vals)(q)
        except QhullError:  # all kept pixels on one line
            pass
    missing = np.isnan(filled[:, 0])
    if missing.any():
        _, idx = cKDTree(pts).query(q[missing])
        filled[missing] = vals[idx]
    return filled.astype(np.float32)


CLASSICAL = {"linear": linear, "nconv": nconv, "predictor": predictor}
AT_POINTS = {"linear": linear_at}  # inpainters that can fill chosen pixels only, for the held-back trial
