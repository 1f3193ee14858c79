"""Segment coding (spec section 11.3): the kept values of one segment of a lean stream, coded alone.

The survivors are put in *stream order* (by window of 64 rows, then lane:
rows 0, 4, 8, ... of the window, then 1, 5, 9, ...) and cut into consecutive
runs, one per segment (:mod:`maskcodec.modes.mask.stream` frames them). Within
a segment every survivor is predicted from one survivor before it in the
segment: the nearest (squared distance) of its left neighbour in the row and
the two survivors bracketing its column in the rows 1, 2, 3 and 1, 2, 3 lanes
above; its residual is coded in the Rice block (:mod:`maskcodec.survivors.rice`)
with a parameter per plane. With ``max_error`` d the values are first
quantized to steps of 2d + 1, so every kept value comes back within d.
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError
from . import rice
from .transform import TRANSFORM_BAND_DIFF, TRANSFORM_GREEN_DIFF, TRANSFORM_NONE, forward, inverse

__all__ = ["LANES", "WINDOW", "UNARY_SIZE", "transform_for", "quantized_range", "planes_of", "values_of_planes",
           "stream_order", "rows_above", "predictors", "residual_codes", "least_size", "fit", "block", "codes",
           "values_of"]

LANES, WINDOW = 4, 64  # the reference encoder's survivor order: in windows of 64 rows, rows 0, 4, 8, ..., then 1, 5, 9, ...
ROWS_ABOVE = 3     # rows above a survivor whose survivors may predict it: dy = 1..3 and 1..3 lanes up
_FAR = 1 << 62     # the distance of a missing candidate
UNARY_SIZE = 2     # bytes of the Rice block's unary size (u16)


def rows_above(lanes: int) -> tuple[int, ...]:
    """The row offsets dy whose survivors may predict a survivor: 1, 2, 3 and G, 2G, 3G (a lane's own rows).

    >>> rows_above(1), rows_above(4)
    ((1, 2, 3), (1, 2, 3, 4, 8, 12))
    """
    return tuple(sorted({d * m for d in (1, lanes) for m in range(1, ROWS_ABOVE + 1)}))


def transform_for(channels: int) -> int:
    """The survivor transform of a lean stream: green difference for 3 channels, band difference for 2 or 4+,
    none for one (fixed by the channel count, since a streaming encoder cannot try both on the whole frame)."""
    return TRANSFORM_GREEN_DIFF if channels == 3 else TRANSFORM_NONE if channels == 1 else TRANSFORM_BAND_DIFF


def quantized_range(bits: int, max_error: int) -> tuple[int, int]:
    """(step, RANGE): values are quantized to ``v' = (v + d) // step`` with ``0 <= v' < RANGE``."""
    step = 2 * max_error + 1
    return step, ((1 << bits) - 1 + max_error) // step + 1


def planes_of(values: np.ndarray, bits: int, transform: int, max_error: int) -> np.ndarray:
    """Quantized, transformed planes ``(C, n)`` (int32, each below RANGE) of values ``(n, C)``."""
    step, rng = quantized_range(bits, max_error)
    return forward((values.astype(np.int32) + max_error) // step, transform, rng)


def values_of_planes(planes: np.ndarray, bits: int, transform: int, max_error: int) -> np.ndarray:
    """Invert :func:`planes_of`: the reconstructed values ``(n, C)`` (within ``max_error`` of the input)."""
    step, rng = quantized_range(bits, max_error)
    return np.minimum(inverse(planes, transform, rng) * step, (1 << bits) - 1)


def stream_order(idx: np.ndarray, width: int, lanes: int, window: int) -> np.ndarray:
    """The survivors' *stream order* (spec section 11.3): positions in ``idx`` (ascending scan-order pixel
    indices) sorted by window of ``window`` rows, then lane (row within the window modulo ``lanes``), then
    scan order. Runs of it make the segments, so a lost segment thins rows instead of blanking a band."""
    y = idx // width
    return np.lexsort((idx, (y % window) % lanes, y // window))


def predictors(idx: np.ndarray, width: int, lanes: int) -> np.ndarray:
    """For each survivor of one segment, ``idx[i]`` (pixel indices in stream order), the position in ``idx`` of
    the survivor that predicts it, or -1 (predicted by 0). Candidates come before it in the segment: the
    survivor just before it if in its row, and in each of the rows :func:`rows_above` it the last survivor
    left of its column and the first at or right of it; the nearest (squared distance) wins, ties in that
    order. Without a candidate: the survivor just before it (-1 for the segment's first)."""
    n = idx.size
    y, x = idx // width, idx % width
    at = np.arange(n)
    order = np.argsort(idx, kind="stable")
    by_pixel = idx[order]
    cands, dists = [], []

    def offer(c: np.ndarray, dy: int, sorted_positions: bool) -> None:
        inside = (c >= 0) & (c < n)
        c = np.clip(c, 0, max(n - 1, 0))
        if sorted_positions:
            c = order[c]
        ok = inside & (c < at) & (y[c] == y - dy)  # a row's survivors all precede a survivor, or none do
        cands.append(c)
        dists.append(np.where(ok, (x - x[c]) ** 2 + dy * dy, _FAR))

    offer(at - 1, 0, False)
    for dy in rows_above(lanes):
        right = np.searchsorted(by_pixel, (y - dy) * width + x)
        offer(right - 1, dy, True)
        offer(right, dy, True)
    d = np.stack(dists)
    best = np.argmin(d, axis=0)
    return np.where(d[best, at] < _FAR, np.stack(cands)[best, at], at - 1)


def residual_codes(planes: np.ndarray, idx: np.ndarray, width: int, rng: int, lanes: int) -> np.ndarray:
    """The codes ``(C, n)`` of one segment's planes."""
    j = predictors(idx, width, lanes)
    pred = np.where(j >= 0, planes[:, np.maximum(j, 0)], 0)
    e = (planes - pred) % rng
    return rice.zigzag(np.where(e >= (rng + 1) >> 1, e - rng, e))  # reduced modulo RANGE as in JPEG-LS


def least_size(channels: int, bits: int) -> int:
    """The most bytes one survivor's codes can take in a segment (every plane an escape), with the block's
    Rice parameters and unary size: a segment with this much room holds at least one survivor."""
    return rice.least_block_size(channels, 0, UNARY_SIZE) + -(-channels * (bits + rice.QMAX + 1) // 8)


def fit(z: np.ndarray, bits: int, room: int) -> tuple[int, np.ndarray]:
    """How many of the codes ``z`` ``(C, M)`` fit in ``room`` bytes (spec section 11.3: the longest prefix
    before the first that does not), and each plane's Rice parameter for that prefix."""
    ks = np.arange(bits + 1, dtype=np.int32)[:, None, None]
    q = z[None] >> ks  # int32 throughout: a segment holds fewer than 2**19 bits
    unary = np.cumsum(np.minimum(q, rice.QMAX) + 1, axis=2, dtype=np.int32)
    fixed = np.cumsum(np.where(q >= rice.QMAX, bits, ks), axis=2, dtype=np.int32)
    choice = np.argmin(unary + fixed, axis=0)  # a plane's parameter for a prefix: the fewest bits, ties to the smallest
    unary, fixed = (np.take_along_axis(a, choice[None], 0)[0] for a in (unary, fixed))
    planes, m = z.shape
    size = planes + UNARY_SIZE + (unary.sum(axis=0) + 7) // 8 + (fixed.sum(axis=0) + 7) // 8
    n = int(np.argmin(size <= room)) if not (size <= room).all() else m
    return n, choice[:, n - 1]  # n >= 1: least_segment leaves room for one survivor's longest codes


def block(z: np.ndarray, k: np.ndarray, bits: int) -> bytes:
    """A segment's codes ``(C, n)`` as one Rice block, a parameter per plane."""
    return rice.block(z.ravel(), np.repeat(np.arange(z.shape[0]), z.shape[1]), k, bits, UNARY_SIZE)


def codes(body: bytes, count: int, channels: int, bits: int, max_error: int, where: str) -> np.ndarray:
    """The ``count`` codes ``(C, count)`` of one segment's body, checked (spec section 11.3): Rice parameters,
    stream lengths, codes below RANGE, zero padding."""
    rng = quantized_range(bits, max_error)[1]
    if count * channels > 8 * len(body):
        raise FormatError(f"{where} claims {count} survivors, more than its {len(body)} bytes can code")
    reader = rice.BlockReader(body, channels, count * channels, bits, UNARY_SIZE, where)
    z = reader.take(count * channels, np.repeat(reader.table, count)).reshape(channels, count)
    if bool((z >= rng).any()):
        raise FormatError(f"{where}: residual code {int(z.max())} is out of range: codes must be below RANGE = {rng}")
    reader.finish(padded=True)
    return z


def values_of(runs: list[tuple[int, np.ndarray]], kept: np.ndarray, width: int, bits: int, transform: int,
              max_error: int, lanes: int, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``kept`` (the image's survivors, scan order) and values ``(n, C)`` of the survivors held by
    the runs ``(first, codes)`` of the stream order (runs that do not overlap, each with its :func:`codes`)."""
    if not runs:
        return np.zeros(0, np.int64), np.zeros((0, 0), np.int64)
    rng = quantized_range(bits, max_error)[1]
    order = stream_order(kept, width, lanes, window)
    at = order[np.concatenate([np.arange(first, first + z.shape[1]) for first, z in runs])]
    parent, offset = [], 0
    for _, z in runs:  # each segment's predictors from its own survivors
        j = predictors(kept[at[offset:offset + z.shape[1]]], width, lanes)
        parent.append(np.where(j >= 0, j + offset, -1))
        offset += z.shape[1]
    parent = np.concatenate(parent)
    acc = rice.unzigzag(np.concatenate([z for _, z in runs], axis=1)) % rng
    while (parent >= 0).any():  # pointer jumping: every value is its residual plus its predictor's value
        up = np.maximum(parent, 0)
        acc = np.where(parent >= 0, acc + acc[:, up], acc) % rng
        parent = np.where(parent >= 0, parent[up], -1)
    return at, values_of_planes(acc, bits, transform, max_error)
