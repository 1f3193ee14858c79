"""The ``"predictor"`` inpainter: the survivor coder's own prediction (spec 6.5), run over the missing pixels.

The predictive survivor coder predicts each kept pixel, coarse to fine, from the pixels already known:
cells of side ``2**s`` each offer their first known pixels in scan order, a target's candidates are
those of the 3 x 3 cells around its own, each weighs ``2**30 // d2**2`` and the prediction is the
rounded weighted mean. This inpainter runs the same prediction over every *missing* pixel instead,
coarse to fine, so that pixels filled at a coarse level are candidates at the finer ones. It gets no
header, so the order comes from pixel positions alone:

- values are 16-bit integers, ``v = rint(image * 65535)`` (the result is divided back);
- the *level* of pixel ``(y, x)`` is the number of trailing zero bits of ``y | x`` (a dyadic lattice),
  and pixel ``(0, 0)`` has the top level ``L = bit_length(max(H, W) - 1)``; levels are filled from
  ``L`` down to 0, all missing pixels of a level together, from the kept pixels (all of them, wherever
  they lie) and every pixel of the levels above (the lattice of step ``2**(l+1)``, already filled);
- the cell side at level ``l`` is ``2**s`` with ``s = min(l + 1, s_d)``, where ``s_d >= 1`` is the
  smallest shift whose cells hold one kept pixel or more on average (``n * 4**s_d >= H * W`` for ``n``
  kept pixels): the lattice's own step at the fine levels, the survivors' spacing at the coarse ones;
- each cell offers its first :data:`CANDIDATES_PER_CELL` (3) known pixels in scan order (a lattice
  pixel always lies on a cell's corner, so it comes first); a target's candidates are those of the
  3 x 3 cells around its own; a candidate at squared distance ``d2`` weighs ``max(1, 2**30 // d2**2)``
  and the prediction of each channel is ``(sum w * v + W // 2) // W`` (``W`` the sum of the weights);
- a target with no candidate (a hole in a clustered mask) takes the value of its lattice parent,
  ``(y & -2**(l+1), x & -2**(l+1))``, known by then; pixel ``(0, 0)``, which has no parent, takes the
  prediction from the first 3 kept pixels of the image in scan order; with no kept pixel at all every
  pixel is :data:`MID` (mid-grey).

Integers only, so :func:`predictor_fill_reference` (numpy) and the flight core's ``mc_fill``
(``flight/src/fill.c``, called by :func:`predictor` through :func:`maskcodec.survivors.predictive.flight_fill`) agree
byte for byte. The choices (coarse to fine rather than from the kept pixels alone, the cell shift
rule, 3 candidates a cell rather than 2) were measured on training frames; the result against
``linear`` and ``nconv``, and its speed: ``benchmarks/predictor_fill_train.py``.
"""
from __future__ import annotations

import numpy as np

__all__ = ["predictor", "predictor_fill_reference", "cell_shift", "pixel_levels", "CANDIDATES_PER_CELL", "MID"]

CANDIDATES_PER_CELL = 3
WEIGHT_ONE = 1 << 30
MID = 1 << 15          # every pixel of an image without a kept pixel
_CHUNK = 1 << 16       # targets predicted at once by the reference (bounds its memory)
_ROWS = np.array([-1, -1, -1, 0, 0, 0, 1, 1, 1])
_COLS = np.array([-1, 0, 1, -1, 0, 1, -1, 0, 1])


def cell_shift(kept: int, pixels: int) -> int:
    """``s_d``: the smallest shift ``s >= 1`` with ``kept * 4**s >= pixels`` (cells hold one kept pixel or
    more on average); 1 when nothing is kept.

    >>> cell_shift(50, 100), cell_shift(10, 100), cell_shift(2, 100), cell_shift(1, 2**32 - 1)
    (1, 2, 3, 16)
    """
    s = 1
    while kept and (kept << (2 * s)) < pixels:
        s += 1
    return s


def pixel_levels(height: int, width: int) -> np.ndarray:
    """The level of every pixel, ``(H, W)`` int8: trailing zero bits of ``y | x``, and the top level
    ``bit_length(max(H, W) - 1)`` at ``(0, 0)``.

    >>> pixel_levels(3, 5).tolist()
    [[3, 0, 1, 0, 2], [0, 0, 0, 0, 0], [1, 0, 1, 0, 1]]
    """
    top = (max(height, width) - 1).bit_length()
    v = np.arange(height, dtype=np.int64)[:, None] | np.arange(width, dtype=np.int64)[None, :]
    low = v & -v
    lv = np.full(v.shape, top, np.int8)
    nz = v != 0
    lv[nz] = np.frexp(low[nz].astype(np.float64))[1] - 1  # exact: low is a power of two
    return lv


def _weights(d2: np.ndarray) -> np.ndarray:
    """``max(1, 2**30 // d2**2)`` (int64; ``d2 >= 1``; 1 from ``d2 >= 2**15`` on, where the square could be large)."""
    small = np.minimum(d2, 1 << 15)
    return np.maximum(1, WEIGHT_ONE // (small * small))


def _slots(known: np.ndarray, width: int, shift: int, cells_w: int, cells: int) -> np.ndarray:
    """Each cell's first CANDIDATES_PER_CELL known pixels in scan order (flat indices, -1 for none),
    ``(cells * CANDIDATES_PER_CELL,)``; cells have a border of one empty cell on every side."""
    ky, kx = known // width, known % width
    cell = ((ky >> shift) + 1) * cells_w + (kx >> shift) + 1
    order = np.argsort(cell, kind="stable")       # known is in scan order: stable keeps it within a cell
    sc = cell[order]
    rank = np.arange(order.size) - np.searchsorted(sc, sc, side="left")
    first = rank < CANDIDATES_PER_CELL
    slots = np.full(cells * CANDIDATES_PER_CELL, -1, np.int64)
    slots[sc[first] * CANDIDATES_PER_CELL + rank[first]] = known[order[first]]
    return slots


def _predict(out: np.ndarray, width: int, height: int, known: np.ndarray, targets: np.ndarray, shift: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Predictions ``(T, C)`` of the targets (flat indices) from the known pixels (flat, ascending) at cell
    side ``2**shift``, and the sums of their weights (0: no candidate, prediction undefined)."""
    cells_w = ((width - 1) >> shift) + 3
    cells = (((height - 1) >> shift) + 3) * cells_w
    slots = _slots(known, width, shift, cells_w, cells)
    offsets = (((_ROWS * cells_w + _COLS) * CANDIDATES_PER_CELL)[:, None]
               + np.arange(CANDIDATES_PER_CELL)[None, :]).ravel()
    pred = np.zeros((targets.size, out.shape[1]), np.int64)
    total = np.zeros(targets.size, np.int64)
    for a in range(0, targets.size, _CHUNK):
        t = targets[a:a + _CHUNK]
        ty, tx = t // width, t % width
        home = (((ty >> shift) + 1) * cells_w + (tx >> shift) + 1) * CANDIDATES_PER_CELL
        cand = slots[home[:, None] + offsets[None, :]]  # (T, 27) flat indices, -1 for none
        valid = cand >= 0
        c = np.where(valid, cand, 0)
        d2 = (c // width - ty[:, None]) ** 2 + (c % width - tx[:, None]) ** 2
        wt = np.where(valid, _weights(np.maximum(d2, 1)), 0)
        tw = wt.sum(axis=1)
        sums = np.einsum("tk,tkc->tc", wt, out[c])
        pred[a:a + t.size] = (sums + (tw >> 1)[:, None]) // np.maximum(tw, 1)[:, None]
        total[a:a + t.size] = tw
    return pred, total


def predictor_fill_reference(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The predictor fill of 16-bit values, numpy reference of the flight core's ``mc_fill``.

    Parameters
    ----------
    values : numpy.ndarray of uint16, shape ``(H, W, C)``
        Sample values; only those of the known pixels are read.
    known : numpy.ndarray of bool, shape ``(H, W)``
        The kept pixels.

    Returns
    -------
    numpy.ndarray of uint16, shape ``(H, W, C)``
        ``values`` at the known pixels, the prediction (module docstring) elsewhere.

    Examples
    --------
    A row with its ends kept: pixel 2 (level 1) is the mean of pixels 0 and 4, pixels 1 and 3 (level 0) the
    weighted means of the lattice pixels in the cells around theirs (pixel 3 also sees pixel 0, 3 away: weight 1/81).

    >>> v = np.array([[[100], [0], [0], [0], [500]]], np.uint16)
    >>> predictor_fill_reference(v, np.array([[True, False, False, False, True]]))[0, :, 0].tolist()
    [100, 200, 300, 398, 500]
    """
    values = np.asarray(values)
    known = np.asarray(known, bool)
    if values.dtype != np.uint16 or values.ndim != 3 or known.shape != values.shape[:2]:
        raise ValueError("values must be uint16 (H, W, C) and known bool (H, W)")
    h, w, c = values.shape
    kf = known.ravel()
    survivors = np.flatnonzero(kf)
    if survivors.size == 0:
        return np.full(values.shape, MID, np.uint16)
    out = values.reshape(-1, c).astype(np.int64)
    if survivors.size == h * w:
        return values.copy()
    s_d = cell_shift(survivors.size, h * w)
    lv = pixel_levels(h, w).ravel()
    top = int(lv[0])
    for level in range(top, -1, -1):
        targets = np.flatnonzero(~kf & (lv == level))
        if targets.size == 0:
            continue
        shift = min(level + 1, s_d)
        pred, total = _predict(out, w, h, np.flatnonzero(kf | (lv > level)), targets, shift)
        none = total == 0
        if none.any():
            if level == top:  # (0, 0): the first kept pixels in scan order (one cell holds the whole image)
                pred[none] = _predict(out, w, h, survivors, targets[none], top + 1)[0]
            else:  # the lattice parent, filled at a coarser level
                step = 1 << (level + 1)
                t = targets[none]
                pred[none] = out[((t // w) & -step) * w + ((t % w) & -step)]
        out[targets] = pred
    return out.reshape(h, w, c).astype(np.uint16)


def predictor(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The predictor fill as an inpainter: the survivor coder's coarse-to-fine prediction of every missing pixel.

    The known pixels go to 16-bit integers, ``rint(clip(image, 0, 1) * 65535)`` in float32 (NaN: 0; the
    unknown pixels are never read), the flight core's ``mc_fill`` (``flight/src/fill.c``, byte for byte
    :func:`predictor_fill_reference`) fills the missing ones, and the result comes back divided by 65535 in
    float32; all of it in C (:func:`maskcodec.survivors.predictive.flight_fill`), about 0.03 s of one core per megapixel
    of RGB.

    Parameters
    ----------
    image : numpy.ndarray of float32, shape ``(H, W, C)``
        On [0, 1] at the known pixels; the others may hold anything.
    known : numpy.ndarray of bool, shape ``(H, W)``

    Returns
    -------
    numpy.ndarray of float32, shape ``(H, W, C)``

    Examples
    --------
    >>> y, x = np.mgrid[0:64, 0:64]
    >>> img = ((y + 2 * x) / 189).astype(np.float32)[..., None]    # a plane
    >>> known = np.zeros((64, 64), bool); known[1::3, ::3] = True  # 1 pixel in 9
    >>> err = np.abs(predictor(img, known) - img)
    >>> bool(err.mean() < 0.01), bool(err.max() < 0.05)
    (True, True)
    """
    from ..survivors.predictive import flight_fill
    image = np.ascontiguousarray(image, dtype=np.float32)
    known = np.ascontiguousarray(known, dtype=bool)
    if image.ndim != 3 or known.shape != image.shape[:2]:
        raise ValueError("image must be (H, W, C) and known (H, W)")
    return flight_fill(image, known)
