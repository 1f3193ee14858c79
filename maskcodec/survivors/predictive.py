"""Predictive survivor coding (``spec/format.md`` section 6.5): coarse to fine, each survivor predicted.

A nested mask gives every pixel a 32-bit key (:func:`maskcodec.masks.keys_at`); the
survivors are coded level by level, a level being a range of keys
(:func:`levels`: level 0 below ``2**22``, then one level per power of two), so
the first levels are a sparse, even sample of the image and each later level
fills in between. Every survivor of level ``j`` is predicted from the pixels
already known to the decoder: the survivors of levels below ``j`` and every
pixel of the files this one refines (:mod:`maskcodec.modes.mask`'s chains). The
predictor is integer arithmetic with bounded work:

- the known pixels fall into square cells of side ``2**s`` (``s`` from the level);
  the candidates of a target are the first 2 known pixels, in scan order, of
  each of the 3 x 3 cells around its own;
- each candidate weighs ``2**30 // d**4`` (``d**2 = dy**2 + dx**2``; at least 1
  within the 3 x 3 cells), and the prediction is the rounded weighted mean; with
  no candidate it is ``2**(bits-1)``;
- colour: the error of the reference channel's spatial prediction (G for the
  green-difference transform, the previous band for the band difference) is
  added to the other channels' predictions, clamped to the sample range.

The prediction error is quantized with step ``2 * max_error + 1`` inside the
loop (JPEG-LS near-lossless, with its modular reduction), so every kept value
decodes within ``max_error`` (exactly at 0) and later predictions use what the
decoder will have. The codes are Rice codes whose parameter the encoder picks
per plane and per context (9 contexts: 8 of local activity, the spread of the
candidates' values, and one for pixels with no prediction), in two bit
streams: the unary parts, then the fixed-width parts.

Everything is numpy on whole levels; nothing depends on floating point.

Examples
--------
>>> import maskcodec
>>> from maskcodec.masks import keep_to_threshold, keys_at, kept_indices
>>> img = maskcodec.sample_image("navcam")
>>> h, w = img.shape
>>> idx = kept_indices(h, w, keep_to_threshold(0.1), 7)
>>> keys = keys_at(idx, w, 7)
>>> values = img.reshape(-1, 1)[idx]
>>> payload, recon = encode(idx, keys, values, Prior.empty(1), (h, w), 8, 0, 0)
>>> bool(np.array_equal(recon, values)), 8 * len(payload) < 6 * values.size   # under 6 bits a value
(True, True)
>>> bool(np.array_equal(decode(payload, idx, keys, Prior.empty(1), (h, w), 8, 0, 0, 1), values))
True
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Callable, NamedTuple

import numpy as np

from . import rice
from ..errors import FormatError
from .transform import order as transform_order

__all__ = ["Prior", "Level", "flight_fill", "levels", "least_payload_size", "max_error_limit", "quantized_levels", "reconstructed",
           "encode", "decode", "quantizer", "LEVEL_BASE", "CONTEXTS", "UNARY_SIZE"]

LEVEL_BASE = 22         # keys below 2**22 are level 0; key k >= 2**22 is level bit_length(k) - 22 (1..10)
CANDIDATES_PER_CELL = 2
WEIGHT_ONE = 1 << 30    # candidate weight 2**30 // d**4
ACTIVITY = (3, 6, 10, 16, 25, 40, 64)  # context thresholds on the candidates' spread, scaled to 8 bits
CONTEXTS = len(ACTIVITY) + 2           # 8 activity contexts and one for "no prediction"
NO_PREDICTION = CONTEXTS - 1
UNARY_SIZE = 4  # bytes of the Rice block's unary size (u32)
_ROWS = np.array([-1, -1, -1, 0, 0, 0, 1, 1, 1])  # the 3 x 3 cells around a target's, in scan order
_COLS = np.array([-1, 0, 1, -1, 0, 1, -1, 0, 1])
_SLOT = np.arange(2)[None, :]


@dataclass(frozen=True)
class Prior:
    """Pixels the decoder already has when a file's first survivor is decoded: flat indices (ascending)
    and their decoded values ``(n, C)``; empty for a chain's first file."""

    idx: np.ndarray
    values: np.ndarray

    @staticmethod
    def empty(channels: int) -> Prior:
        return Prior(np.zeros(0, np.int64), np.zeros((0, channels), np.int64))


def levels(keys: np.ndarray) -> np.ndarray:
    """The coding level (0..10) of each 32-bit key: 0 below ``2**22``, else ``bit_length(key) - 22``.

    >>> levels(np.array([0, 2**22 - 1, 2**22, 2**31, 2**32 - 1], np.uint32)).tolist()
    [0, 0, 1, 10, 10]
    """
    _, exponent = np.frexp(np.asarray(keys, np.uint32).astype(np.float64))  # exact: bit_length of each key
    return np.maximum(0, exponent - LEVEL_BASE).astype(np.int64)


def cell_shift(level: int) -> int:
    """log2 of the cell side at ``level``: cells hold one or two known pixels of a blue-noise mask."""
    return max(1, (12 - level) >> 1)


def least_payload_size(pixels: int, channels: int) -> int:
    """The fewest bytes a payload coding ``pixels`` x ``channels`` codes can have: the Rice parameters, the
    unary stream's size and one unary bit per code (a header can be checked against it before any decoding).

    >>> least_payload_size(100, 3)
    69
    """
    return rice.least_block_size(CONTEXTS * channels, pixels * channels, UNARY_SIZE)


def max_error_limit(bits: int) -> int:
    """The largest ``max_error`` allowed at ``bits`` significant bits: ``2**(bits-1) - 1``.

    >>> max_error_limit(8), max_error_limit(12)
    (127, 2047)
    """
    return (1 << (bits - 1)) - 1


_FAR = -(1 << 20)  # the row of an empty candidate slot: its distance gives it weight 0


def _slots(known_y, known_x, known_idx, known_values, shift: int, cells_w: int, rows: int):
    """Each cell's 2 candidate slots (the first 2 known pixels of the cell in scan order): the rows, columns and
    values ``(C, slots)`` of the pixels in them, empty slots at row ``_FAR`` (weight 0)."""
    cell = ((known_y >> shift) + 1) * cells_w + (known_x >> shift) + 1
    order = np.lexsort((known_idx, cell))
    sorted_cells = cell[order]
    rank = np.arange(order.size) - np.searchsorted(sorted_cells, sorted_cells, side="left")
    first = rank < CANDIDATES_PER_CELL
    slot = sorted_cells[first] * CANDIDATES_PER_CELL + rank[first]
    chosen = order[first]
    size = rows * cells_w * CANDIDATES_PER_CELL
    slot_y = np.full(size, _FAR, np.int32)
    slot_x = np.zeros(size, np.int32)
    slot_v = np.zeros((known_values.shape[1], size), np.int64)
    slot_y[slot], slot_x[slot] = known_y[chosen], known_x[chosen]
    slot_v[:, slot] = known_values[chosen].T
    return slot_y, slot_x, slot_v


@lru_cache(maxsize=None)
def _weights(shift: int) -> np.ndarray:
    """``2**30 // d2**2`` for every squared distance ``d2`` up to what a candidate can have at cell side
    ``2**shift``, and a last entry 0 that farther (empty) slots are clipped to."""
    d2 = np.arange(2 * (2 << shift) ** 2 + 1, dtype=np.int64)
    return np.append(WEIGHT_ONE // np.maximum(d2 * d2, 1), 0)


def _predict(known_idx, known_values, target_idx, width: int, level: int, bits: int, lead: int
             ) -> tuple[np.ndarray, np.ndarray]:
    """Spatial predictions ``(T, C)`` of the targets from the known pixels, and each target's context:
    the candidates are the 2 slots of each of the 3 x 3 cells of side ``2**shift`` around the target's."""
    n, channels = target_idx.size, known_values.shape[1]
    mid = 1 << (bits - 1)
    if known_idx.size == 0:
        return np.full((n, channels), mid, np.int64), np.full(n, NO_PREDICTION, np.int64)
    shift = cell_shift(level)
    ky, kx = (known_idx // width).astype(np.int32), (known_idx % width).astype(np.int32)
    ty, tx = (target_idx // width).astype(np.int32), (target_idx % width).astype(np.int32)
    cells_w = (width >> shift) + 3  # one spare column each side: neighbours of edge cells stay in the grid
    rows = int(max(ty.max(initial=0), ky.max(initial=0)) >> shift) + 3
    slot_y, slot_x, slot_v = _slots(ky, kx, known_idx, known_values, shift, cells_w, rows)
    home = (((ty >> shift) + 1) * cells_w + (tx >> shift) + 1) * CANDIDATES_PER_CELL
    offsets = (((_ROWS * cells_w + _COLS) * CANDIDATES_PER_CELL)[:, None] + _SLOT).ravel()
    at = home.astype(np.intp)[:, None] + offsets[None, :]  # (T, 18) slot numbers
    # |dy| and |dx| of a real candidate are below 2**(shift + 1) <= 128; 256 keeps the far slot's square in int32
    dy = np.minimum(np.abs(slot_y[at] - ty[:, None]), 256)
    dx = np.minimum(np.abs(slot_x[at] - tx[:, None]), 256)
    lut = _weights(shift)
    weight = lut[np.minimum(dy * dy + dx * dx, lut.size - 1)]
    total = weight.sum(axis=1)
    has = total > 0
    safe, half = np.maximum(total, 1), total >> 1
    pred = np.empty((n, channels), np.int64)
    for c in range(channels):  # a gather per channel from contiguous columns (whole-pixel gathers are slower)
        pred[:, c] = (np.einsum("ij,ij->i", weight, slot_v[c][at]) + half) // safe
    pred[~has] = mid
    lead_values = slot_v[lead][at]
    used = weight > 0
    spread = np.maximum(np.where(used, lead_values, -1).max(axis=1) - np.where(used, lead_values, 1 << 20).min(axis=1),
                        0)
    ctx = np.searchsorted(np.array(ACTIVITY), (spread << 8) >> bits, side="right")
    return pred, np.where(has, ctx, NO_PREDICTION)


def flight_fill(image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """This predictor run over every missing pixel by the flight core (``mc_fill``, ``flight/src/fill.c``; the
    rules and the numpy reference are :mod:`maskcodec.inpainting.predictor_fill`'s): ``image`` float32
    ``(H, W, C)`` on [0, 1], C-contiguous, read at the ``known`` pixels only (bool ``(H, W)``); returns the
    filled float32 image."""
    from ._flight import fill_unit
    out = np.empty(image.shape, np.float32)
    fill_unit(*image.shape, known, image, out)  # to 16 bits, mc_fill, and back, all in C
    return out


def quantize(e: np.ndarray, step: int, rng: int) -> np.ndarray:
    """The quantized, range-reduced error of JPEG-LS near-lossless (T.87 A.4.4 and A.4.5)."""
    d = step >> 1
    q = np.where(e >= 0, (e + d) // step, -((d - e) // step))
    q = np.where(q < 0, q + rng, q)
    return np.where(q >= (rng + 1) >> 1, q - rng, q)


def reconstruct(pred: np.ndarray, q: np.ndarray, step: int, rng: int, maxval: int) -> np.ndarray:
    d = step >> 1
    r = pred + q * step
    r = np.where(r < -d, r + rng * step, np.where(r > maxval + d, r - rng * step, r))  # one or the other (6.5)
    return np.clip(r, 0, maxval)


def quantizer(bits: int, max_error: int) -> tuple[int, int, int]:
    """(step, RANGE, MAXVAL): quantization step, number of quantized error values, largest sample."""
    maxval, step = (1 << bits) - 1, 2 * max_error + 1
    return step, (maxval + 2 * max_error) // step + 1, maxval


def _level_slices(keys: np.ndarray) -> list[tuple[int, np.ndarray]]:
    lv = levels(keys)
    return [(int(j), np.flatnonzero(lv == j)) for j in np.unique(lv)]


def walk(prior: Prior, idx: np.ndarray, keys: np.ndarray, recon: np.ndarray, width: int, bits: int, lead: int):
    """Level by level, lowest first: the level, the positions of its pixels in ``idx``, their spatial
    predictions ``(T, C)`` and contexts, from what is known when the level starts (``recon`` of the
    lower levels, filled in by the caller before it asks for the next level)."""
    done = np.zeros(idx.size, bool)
    for level, at in _level_slices(keys):
        known_idx = np.concatenate([prior.idx, idx[done]])
        known_values = np.concatenate([prior.values, recon[done]])
        yield level, at, *_predict(known_idx, known_values, idx[at], width, level, bits, lead)
        done[at] = True


def plane_prediction(pred: np.ndarray, recon: np.ndarray, ch: int, ref: int | None, maxval: int) -> np.ndarray:
    """A plane's prediction: its channel's spatial prediction, corrected by the reference channel's error."""
    if ref is None:
        return pred[:, ch]
    return np.clip(pred[:, ch] + recon[:, ref] - pred[:, ref], 0, maxval)


class Level(NamedTuple):
    """One level's pixels (their positions in ``idx``, scan order), contexts ``(T,)`` and codes ``(T, planes)``:
    the zigzagged quantized errors, planes in coding order."""

    level: int
    at: np.ndarray
    contexts: np.ndarray
    codes: np.ndarray


def quantized_levels(idx: np.ndarray, keys: np.ndarray, values: np.ndarray, prior: Prior, shape: tuple[int, int],
                     bits: int, transform: int, max_error: int) -> tuple[list[Level], np.ndarray]:
    """Every level's codes of ``values`` ``(N, C)`` at the flat indices ``idx`` (ascending) with their mask
    ``keys``, and the values the decoder will reconstruct (``values`` itself when ``max_error`` is 0): what
    predictive and ranked coding both code (spec 6.5)."""
    n, channels = values.shape
    order = transform_order(channels, transform)
    step, rng, maxval = quantizer(bits, max_error)
    values = values.astype(np.int64)
    recon = np.zeros((n, channels), np.int64)
    levels = []
    for level, at, pred, ctx in walk(prior, idx, keys, recon, shape[1], bits, order[0][0]):
        level_recon = recon[at]
        codes = np.empty((at.size, len(order)), np.int64)
        for p, (ch, ref) in enumerate(order):
            base = plane_prediction(pred, level_recon, ch, ref, maxval)
            q = quantize(values[at, ch] - base, step, rng)
            level_recon[:, ch] = reconstruct(base, q, step, rng, maxval)
            codes[:, p] = rice.zigzag(q)
        recon[at] = level_recon
        levels.append(Level(level, at, ctx, codes))
    return levels, recon


def reconstructed(idx: np.ndarray, keys: np.ndarray, prior: Prior, shape: tuple[int, int], bits: int, transform: int,
                  max_error: int, channels: int, read: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """The values ``(N, C)`` (int64) of the pixels ``idx`` whose codes ``read(at, contexts)`` gives level by level
    (``(T, planes)`` for the level's pixels ``at``, scan order), each checked below RANGE."""
    order = transform_order(channels, transform)
    step, rng, maxval = quantizer(bits, max_error)
    recon = np.zeros((idx.size, channels), np.int64)
    for level, at, pred, ctx in walk(prior, idx, keys, recon, shape[1], bits, order[0][0]):
        z = read(at, ctx)
        if bool((z >= rng).any()):
            raise FormatError(f"residual code {int(z.max())} in level {level} is out of range: codes must be "
                              f"below RANGE = {rng} (bits={bits}, max_error={max_error})")
        level_recon = recon[at]
        for p, (ch, ref) in enumerate(order):
            level_recon[:, ch] = reconstruct(plane_prediction(pred, level_recon, ch, ref, maxval),
                                             rice.unzigzag(z[:, p]), step, rng, maxval)
        recon[at] = level_recon
    return recon


def encode(idx: np.ndarray, keys: np.ndarray, values: np.ndarray, prior: Prior, shape: tuple[int, int], bits: int,
           transform: int, max_error: int) -> tuple[bytes, np.ndarray]:
    """The payload coding ``values`` ``(N, C)`` at the flat indices ``idx`` (ascending) with their mask
    ``keys`` as Rice codes, and the values the decoder will reconstruct."""
    levels, recon = quantized_levels(idx, keys, values, prior, shape, bits, transform, max_error)
    planes = values.shape[1]
    z = np.concatenate([lv.codes.T.ravel() for lv in levels] or [np.zeros(0, np.int64)])  # level, plane, pixel
    group = np.concatenate([(np.arange(planes)[:, None] * CONTEXTS + lv.contexts).ravel() for lv in levels]
                           or [np.zeros(0, np.int64)])
    k = _choose_k(z, group, planes, bits, quantizer(bits, max_error)[1])
    return rice.block(z, group, k, bits, UNARY_SIZE), recon


def _choose_k(z: np.ndarray, group: np.ndarray, planes: int, bits: int, rng: int) -> np.ndarray:
    """The Rice parameter of each (plane, context) that codes its values in the fewest bits (ties: smallest)."""
    groups = planes * CONTEXTS
    hist = np.bincount(group * rng + z, minlength=groups * rng).reshape(groups, rng).astype(np.float64)
    cost = np.stack([sum(rice.code_costs(np.arange(rng), k, bits)) for k in range(bits + 1)])
    return np.argmin(hist @ cost.T, axis=1).astype(np.int64)  # exact: integer counts times small integers


def decode(payload: bytes, idx: np.ndarray, keys: np.ndarray, prior: Prior, shape: tuple[int, int], bits: int,
           transform: int, max_error: int, channels: int) -> np.ndarray:
    """The values ``(N, C)`` (int64) a predictive payload codes for the pixels ``idx`` with ``keys``
    (spec section 6.5), checked: Rice parameters, stream lengths and padding, every code below RANGE."""
    reader = rice.BlockReader(payload, channels * CONTEXTS, idx.size * channels, bits, UNARY_SIZE,
                              "the predictive payload")
    recon = reconstructed(idx, keys, prior, shape, bits, transform, max_error, channels, lambda at, ctx: np.stack(
        [reader.take(at.size, reader.table[p * CONTEXTS + ctx]) for p in range(channels)], axis=1))
    reader.finish()
    return recon
