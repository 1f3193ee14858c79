"""Segment coding (spec section 11.3): the kept values of one segment of a lean stream, coded alone.

The survivors are put in *stream order* (by window of 64 rows, then lane:
rows 0, 4, 8, ... of the window, then 1, 5, 9, ...) and cut into consecutive
runs, one per segment (:mod:`maskcodec.modes.mask.stream` frames them). Within
a segment every survivor is predicted from the survivors before it in the
segment: its left neighbour in the row and the two survivors bracketing its
column in the rows 1, 2, 3 and 1, 2, 3 lanes above, weighed as the single
container weighs its candidates (``2**30 // d**4``). From there on it is the
single container's survivor coder: the planes and the near-lossless quantizer
of section 6.5 (every kept value within ``max_error``) and the tokens, adaptive
models and range coder of section 6.7, one model per plane, starting afresh in
every segment. A segment holds the longest run whose range code fits in it.

:func:`encode_run` and :func:`decode_run` run the flight core's C coder (``flight/src/segment.c``, through the
extension ``maskcodec.survivors._flight``) when it loads, else the numpy reference :func:`encode_run_reference`
(:func:`pack` of :func:`quantized_run`) and :func:`decode_run_reference`, saying so once (as
:mod:`.ranked` does); both give the same bytes and values and refuse the same bodies with a
:class:`~maskcodec.errors.FormatError`.

Examples
--------
>>> import maskcodec
>>> from maskcodec.masks import keep_to_threshold, kept_indices
>>> img = maskcodec.sample_image("mastcam")[:64, :96]
>>> idx = kept_indices(64, 96, keep_to_threshold(0.2), 5)
>>> idx = idx[stream_order(idx, 96, LANES, WINDOW)]
>>> values = img.reshape(-1, 3)[idx]
>>> n, body = encode_run(idx, values, 96, 8, 1, 2, LANES, WINDOW, 200)
>>> 0 < n <= idx.size, len(body) <= 200
(True, True)
>>> decoded = decode_run(body, idx[:n], 96, 8, 1, 2, 3, LANES, WINDOW, "a segment")
>>> bool(np.abs(decoded - values[:n]).max() <= 2)
True
>>> (n, body) == encode_run_reference(idx, values, 96, 8, 1, 2, LANES, 200)   # whichever coder ran
True
>>> bool(np.array_equal(decode_run_reference(body, idx[:n], 96, 8, 1, 2, 3, LANES, "a segment"), decoded))
True
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ..entropy.range_coder import AdaptiveDecoder, AdaptiveEncoder
from ..errors import FormatError
from .predictive import quantizer
from .ranked import _reference_runs, _uint, code_of, raw_bits, token_of, tokens
from .transform import TRANSFORM_BAND_DIFF, TRANSFORM_GREEN_DIFF, TRANSFORM_NONE, order as transform_order

try:
    from ._flight import segment_decode as _c_decode, segment_encode as _c_encode
except ImportError:  # not built: ranked.IMPLEMENTATION says why, and the reference runs
    _c_encode = _c_decode = None

__all__ = ["LANES", "WINDOW", "SIZE_FIELD", "MAX_RUN", "Run", "transform_for", "stream_order", "rows_above",
           "candidates", "predictors", "weights", "encode_run", "decode_run", "encode_run_reference",
           "decode_run_reference", "quantized_run", "pack", "least_size"]

LANES, WINDOW = 4, 64  # the reference encoder's survivor order: in windows of 64 rows, rows 0, 4, 8, ..., then 1, 5, 9, ...
ROWS_ABOVE = 3     # rows above a survivor whose survivors may predict it: dy = 1..3 and 1..3 lanes up
_FAR = 1 << 62     # the distance of a missing candidate
MAX_RUN = 65535    # the most survivors a segment holds (its count is a u16)
SIZE_FIELD = 2     # bytes of the body's payload_size (u16)
WEIGHT_ONE = 1 << 30  # a candidate weighs 2**30 // d2**2 ...
LIMIT_D2 = 1 << 15    # ... which is 0 beyond d2 = 2**15


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


def stream_order(idx: np.ndarray, width: int, lanes: int, window: int) -> np.ndarray:
    """The survivors' *stream order* (spec section 11.3): positions in ``idx`` (ascending scan-order pixel
    indices) sorted by window of ``window`` rows, then lane (row within the window modulo ``lanes``), then
    scan order. Runs of it make the segments, so a lost segment thins rows instead of blanking a band."""
    y = idx // width
    return np.lexsort((idx, (y % window) % lanes, y // window))


def candidates(idx: np.ndarray, width: int, lanes: int) -> tuple[np.ndarray, np.ndarray]:
    """The candidates of each survivor of one segment, ``idx[i]`` (pixel indices in stream order): positions in
    ``idx`` ``(K, n)`` and squared distances ``(K, n)`` (a huge distance where there is none), in the spec's
    order: the survivor just before it if in its row, then in each of the rows :func:`rows_above` it the last
    survivor left of its column and the first at or right of it, when that row's survivors come before it.
    A candidate's position depends on the survivors before it only, so a prefix of a run has the same ones."""
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
    return np.stack(cands), np.stack(dists)


def predictors(cands: np.ndarray, dists: np.ndarray) -> np.ndarray:
    """For each survivor, the position of the survivor that predicts it: its nearest candidate (the first in
    order among equals); without a candidate the survivor just before it (-1, predicted by mid-range, for the
    segment's first)."""
    at = np.arange(cands.shape[1])
    best = np.argmin(dists, axis=0)
    return np.where(dists[best, at] < _FAR, cands[best, at], at - 1)


class Run(NamedTuple):
    """One segment's survivors coded: codes ``(n, planes)`` (planes in coding order) and the values the decoder
    reconstructs ``(n, C)``."""

    codes: np.ndarray
    recon: np.ndarray


class _Walk:
    """The survivors of a run one at a time, as encoder and decoder both see them: each survivor's spatial
    prediction per channel from the values reconstructed before it."""

    def __init__(self, idx: np.ndarray, width: int, bits: int, channels: int, lanes: int):
        self.cands, dists = candidates(idx, width, lanes)
        self.parent = predictors(self.cands, dists)
        self.weights = weights(dists)
        self.mid = [1 << (bits - 1)] * channels

    def prediction(self, i: int, recon: np.ndarray) -> list[int]:
        """Survivor ``i``'s spatial prediction per channel."""
        w = self.weights[:, i]
        total = int(w.sum())
        if total:
            return (((w[:, None] * recon[self.cands[:, i]]).sum(axis=0) + total // 2) // total).tolist()
        j = int(self.parent[i])
        return recon[j].tolist() if j >= 0 else self.mid


def weights(dists: np.ndarray) -> np.ndarray:
    """The candidates' weights ``floor(2**30 / d2**2)`` (0 for d2 > 2**15, and for a missing candidate).

    >>> weights(np.array([1, 2, 5, 32768, 32769, 1 << 62])).tolist()
    [1073741824, 268435456, 42949672, 1, 0, 0]
    """
    d2 = np.minimum(dists, LIMIT_D2 + 1)
    return np.where(d2 <= LIMIT_D2, WEIGHT_ONE // (d2 * d2), 0)


def _plane_prediction(pred: list[int], recon_row: np.ndarray, ch: int, ref: int | None, maxval: int) -> int:
    """Section 6.5's plane prediction: the channel's spatial prediction, corrected by its reference's error."""
    if ref is None:
        return pred[ch]
    return min(max(pred[ch] + int(recon_row[ref]) - pred[ref], 0), maxval)


def _quantize(e: int, step: int, rng: int) -> int:
    d = step >> 1
    q = (e + d) // step if e >= 0 else -((d - e) // step)
    if q < 0:
        q += rng
    return q - rng if q >= (rng + 1) >> 1 else q


def _reconstruct(pred: int, q: int, step: int, rng: int, maxval: int) -> int:
    d = step >> 1
    r = pred + q * step
    if r < -d:
        r += rng * step
    elif r > maxval + d:
        r -= rng * step
    return min(max(r, 0), maxval)


def quantized_run(idx: np.ndarray, values: np.ndarray, width: int, bits: int, transform: int, max_error: int,
                  lanes: int) -> Run:
    """The codes and reconstructed values of the survivors ``idx`` (stream order) of one segment with
    ``values`` ``(n, C)``: every prediction from the values reconstructed before it (spec 11.3)."""
    n, channels = values.shape
    walk = _Walk(idx, width, bits, channels, lanes)
    planes = transform_order(channels, transform)
    step, rng, maxval = quantizer(bits, max_error)
    values = values.astype(np.int64)
    recon = np.zeros((n, channels), np.int64)
    codes = np.zeros((n, len(planes)), np.int64)
    for i in range(n):
        pred = walk.prediction(i, recon)
        row = recon[i]
        for p, (ch, ref) in enumerate(planes):
            base = _plane_prediction(pred, row, ch, ref, maxval)
            q = _quantize(int(values[i, ch]) - base, step, rng)
            row[ch] = _reconstruct(base, q, step, rng, maxval)
            codes[i, p] = 2 * q if q >= 0 else -2 * q - 1
    return Run(codes, recon)


def pack(run: Run, bits: int, room: int) -> tuple[int, bytes]:
    """The longest prefix of ``run`` whose body fits in ``room`` bytes (spec 11.3, the encoder's rule: the
    first survivor that does not fit ends it; at most 65535), and that body: ``payload_size`` (u16) and the
    range code of its codes, each survivor's planes in turn, plane p under model p."""
    n = min(run.codes.shape[0], MAX_RUN)
    planes = run.codes.shape[1]
    enc = AdaptiveEncoder(planes, tokens(bits))
    fits = 0
    for i, row in enumerate(run.codes[:n].tolist()):
        for p, z in enumerate(row):
            enc.code(p, *token_of(z))
        if SIZE_FIELD + enc.enc.finished_size() > room:
            break
        fits = i + 1
    enc = AdaptiveEncoder(planes, tokens(bits))
    for row in run.codes[:fits].tolist():
        for p, z in enumerate(row):
            enc.code(p, *token_of(z))
    payload = enc.finish()
    return fits, len(payload).to_bytes(SIZE_FIELD, "little") + payload


def encode_run(idx: np.ndarray, values: np.ndarray, width: int, bits: int, transform: int, max_error: int, lanes: int,
               window: int, room: int) -> tuple[int, bytes]:
    """The longest prefix of a segment's survivors ``idx`` (stream order, lanes ``lanes`` in windows of ``window``
    rows) with ``values`` ``(n, C)`` whose body fits in ``room`` bytes: its length and its body (spec 11.3, the
    encoder's rule). :func:`encode_run_reference`'s, by the C coder where it is built."""
    if _c_encode is None:
        _reference_runs()
        return encode_run_reference(idx, values, width, bits, transform, max_error, lanes, room)
    values = np.asarray(values)
    return _c_encode(int(width), values.shape[1], int(bits), int(transform), int(max_error), int(lanes), int(window),
                     int(room), _uint(idx, np.uint32, "survivor indices"), _uint(values, np.uint16, "values"))


def encode_run_reference(idx: np.ndarray, values: np.ndarray, width: int, bits: int, transform: int, max_error: int,
                         lanes: int, room: int) -> tuple[int, bytes]:
    """:func:`encode_run` in numpy, :func:`pack` of :func:`quantized_run`: the reference the C coder matches byte
    for byte."""
    return pack(quantized_run(idx, values, width, bits, transform, max_error, lanes), bits, room)


def decode_run(body: bytes, idx: np.ndarray, width: int, bits: int, transform: int, max_error: int, channels: int,
               lanes: int, window: int, where: str) -> np.ndarray:
    """The values ``(n, C)`` (int64) of one segment's survivors ``idx`` (stream order) from its body, checked as
    :func:`decode_run_reference` checks it (a :class:`~maskcodec.errors.FormatError` naming ``where``); by the C
    coder where it is built."""
    if _c_decode is None:
        _reference_runs()
        return decode_run_reference(body, idx, width, bits, transform, max_error, channels, lanes, where)
    out = _c_decode(int(width), int(channels), int(bits), int(transform), int(max_error), int(lanes), int(window),
                    bytes(body), _uint(idx, np.uint32, "survivor indices"), where)
    return np.frombuffer(out, np.uint16).reshape(-1, channels).astype(np.int64)


def decode_run_reference(body: bytes, idx: np.ndarray, width: int, bits: int, transform: int, max_error: int,
                         channels: int, lanes: int, where: str) -> np.ndarray:
    """:func:`decode_run` in numpy: the values ``(n, C)`` (int64) of one segment's survivors ``idx`` (stream order)
    from its body, checked (spec 11.3): the payload within the body and at least 4 bytes, zero padding after it,
    every code below RANGE, every payload byte read."""
    if len(body) < SIZE_FIELD:
        raise FormatError(f"{where} has no room for its payload size")
    size = int.from_bytes(body[:SIZE_FIELD], "little")
    if size > len(body) - SIZE_FIELD:
        raise FormatError(f"{where}: payload_size {size} runs past the {len(body) - SIZE_FIELD} bytes of its body")
    if any(body[SIZE_FIELD + size:]):
        raise FormatError(f"{where}: the bytes after its payload must be zero")
    dec = AdaptiveDecoder(body[SIZE_FIELD:SIZE_FIELD + size], channels, tokens(bits), where)
    walk = _Walk(idx, width, bits, channels, lanes)
    planes = transform_order(channels, transform)
    step, rng, maxval = quantizer(bits, max_error)
    recon = np.zeros((idx.size, channels), np.int64)
    for i in range(idx.size):
        pred = walk.prediction(i, recon)
        row = recon[i]
        for p, (ch, ref) in enumerate(planes):
            t = dec.symbol(p)
            z = code_of(t, dec.raw(raw_bits(t)))
            if z >= rng:
                raise FormatError(f"{where}: residual code {z} is out of range: codes must be below RANGE = {rng}")
            row[ch] = _reconstruct(_plane_prediction(pred, row, ch, ref, maxval), -((z + 1) >> 1) if z & 1 else z >> 1, step,
                                   rng, maxval)
    dec.finish()
    return recon


def least_size(channels: int, bits: int) -> int:
    """The most bytes one survivor's body can take: ``payload_size``, 5 bytes of range coder and ``bits + 5``
    bits a plane (a token costs at most ``log2 100`` bits under the initial counts, its raw bits ``bits - 2``):
    a segment with this much room holds at least one survivor.

    >>> least_size(3, 8), least_size(1, 16)
    (12, 10)
    """
    return SIZE_FIELD + 5 + -(-channels * (bits + 5) // 8)
