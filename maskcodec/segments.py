"""The lean segmented stream (format 3.0) of mask mode: written as the rows arrive, decodable segment by segment.

``spec/format.md`` section 11. The survivors are put in *stream order* (by
window of 64 rows, then lane: rows 0, 4, 8, ... of the window, then 1, 5, 9,
...) and cut into consecutive runs, one per segment, each run as long as fits
in the segment: an encoder holds at most a window's and a segment's survivors,
and a lost segment thins rows instead of blanking a band. Within a segment
every survivor is predicted from one survivor before it in the segment: the
nearest (squared distance) of its left neighbour in the row and the two
survivors bracketing its column in the rows 1, 2, 3 and 1, 2, 3 lanes above;
its residual is coded with a Rice parameter per plane (:mod:`maskcodec.rice`).
With ``max_error`` d the values are first quantized to steps of 2d + 1, so
every kept value comes back within d.

:class:`StreamEncoder` is the encoder (``encode(..., segment_size=S)`` feeds it
the whole frame); :func:`read_all` and :func:`scan` read a stream strictly or
for salvage, :func:`codes` and :func:`values_of` decode the segments
(:mod:`maskcodec.mask_mode` puts them together).
"""
from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterator

import numpy as np

from . import rice
from .errors import FormatError, InvalidInputError, TruncatedError
from .format import lean_segments as lean
from .format.header import CRC_SIZE, MODE_MASK, Limits, build_fixed, fail_if
from .layout import TRANSFORM_BAND_DIFF, TRANSFORM_GREEN_DIFF, TRANSFORM_NONE
from .mask import MASK_KIND_IDS, kept_rows
from .options import check_frame, check_max_error, resolve

__all__ = ["StreamEncoder", "REPEAT", "LANES", "WINDOW", "transform_for", "stream_order", "rows_above", "predictors",
           "least_segment", "codes", "values_of", "read_all", "intact", "scan"]

REPEAT = 8         # the reference encoder's description repeat: segments 0, 1, 8, 16, ...
LANES, WINDOW = 4, 64  # the reference encoder's survivor order: in windows of 64 rows, rows 0, 4, 8, ..., then 1, 5, 9, ...
ROWS_ABOVE = 3     # rows above a survivor whose survivors may predict it: dy = 1..3 and 1..3 lanes up
_FAR = 1 << 62     # the distance of a missing candidate
_UNARY_SIZE = 2    # the u16 unary stream length


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


def _range(bits: int, max_error: int) -> tuple[int, int]:
    """(step, RANGE): values are quantized to ``v' = (v + d) // step`` with ``0 <= v' < RANGE``."""
    step = 2 * max_error + 1
    return step, ((1 << bits) - 1 + max_error) // step + 1


def _planes(values: np.ndarray, bits: int, transform: int, max_error: int) -> np.ndarray:
    """Quantized, transformed planes ``(C, n)`` (int32, each below RANGE) of values ``(n, C)``."""
    step, rng = _range(bits, max_error)
    q = (values.astype(np.int32).T + max_error) // step
    if transform == TRANSFORM_GREEN_DIFF:
        return np.stack([q[1], (q[0] - q[1]) % rng, (q[2] - q[1]) % rng])
    if transform == TRANSFORM_BAND_DIFF:
        q[1:] = (q[1:] - q[:-1]) % rng
    return q


def _values(planes: np.ndarray, bits: int, transform: int, max_error: int) -> np.ndarray:
    """Invert :func:`_planes`: the reconstructed values ``(n, C)`` (within ``max_error`` of the input)."""
    step, rng = _range(bits, max_error)
    if transform == TRANSFORM_GREEN_DIFF:
        g = planes[0]
        q = np.stack([(planes[1] + g) % rng, g, (planes[2] + g) % rng])
    elif transform == TRANSFORM_BAND_DIFF:
        q = np.cumsum(planes, axis=0) % rng
    else:
        q = planes
    return np.minimum(q * step, (1 << bits) - 1).T


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


def _codes(planes: np.ndarray, idx: np.ndarray, width: int, rng: int, lanes: int) -> np.ndarray:
    """The codes ``(C, n)`` of one segment's planes."""
    j = predictors(idx, width, lanes)
    pred = np.where(j >= 0, planes[:, np.maximum(j, 0)], 0)
    e = (planes - pred) % rng
    return rice.zigzag(np.where(e >= (rng + 1) >> 1, e - rng, e))  # reduced modulo RANGE as in JPEG-LS


def least_segment(description: int, channels: int, bits: int) -> int:
    """The smallest segment size an encoder accepts: head, description, CRC and one kept pixel's longest codes
    (every plane an escape), so that every segment holds at least one survivor."""
    return lean.HEAD_SIZE + description + CRC_SIZE + channels + _UNARY_SIZE + -(-channels * (bits + rice.QMAX + 1) // 8)


def _fit(z: np.ndarray, bits: int, room: int) -> tuple[int, np.ndarray]:
    """How many of the codes ``z`` ``(C, M)`` fit in ``room`` bytes (spec section 11.3: the longest prefix
    before the first that does not), and each plane's Rice parameter for that prefix."""
    ks = np.arange(bits + 1, dtype=np.int32)[:, None, None]
    q = z[None] >> ks  # int32 throughout: a segment holds fewer than 2**19 bits
    unary = np.cumsum(np.minimum(q, rice.QMAX) + 1, axis=2, dtype=np.int32)
    fixed = np.cumsum(np.where(q >= rice.QMAX, bits, ks), axis=2, dtype=np.int32)
    choice = np.argmin(unary + fixed, axis=0)  # a plane's parameter for a prefix: the fewest bits, ties to the smallest
    unary, fixed = (np.take_along_axis(a, choice[None], 0)[0] for a in (unary, fixed))
    planes, m = z.shape
    size = planes + _UNARY_SIZE + (unary.sum(axis=0) + 7) // 8 + (fixed.sum(axis=0) + 7) // 8
    n = int(np.argmin(size <= room)) if not (size <= room).all() else m
    return n, choice[:, n - 1]  # n >= 1: least_segment leaves room for one survivor's longest codes


def _body(z: np.ndarray, k: np.ndarray, bits: int) -> bytes:
    """A segment's codes: the Rice parameters, the unary stream's length, the unary and fixed-width streams."""
    unary, fixed = rice.streams(z.ravel(), np.repeat(k, z.shape[1]), bits)
    return k.astype(np.uint8).tobytes() + len(unary).to_bytes(_UNARY_SIZE, "little") + unary + fixed


@dataclass
class _Pending:
    """Survivors gathered and not yet written: pixel indices and their planes ``(C, n)``."""

    idx: np.ndarray
    planes: np.ndarray


class StreamEncoder:
    """Encode a frame into a lean segmented stream (format 3.0) as its rows arrive.

    Memory stays bounded by the rows handed to :meth:`write`, the survivors of
    one 64-row window and one segment's, whatever the frame's height; the bytes are identical to
    ``maskcodec.encode(frame, ..., segment_size=...)`` with the same arguments.

    Parameters
    ----------
    shape : tuple of int
        The frame's ``(H, W)`` or ``(H, W, C)``.
    dtype : numpy dtype
        ``uint8`` or ``uint16``.
    keep, seed, bits, mask, max_error, metadata, model
        As for :func:`maskcodec.encode`. ``bits`` defaults to the dtype's width (the frame's maximum is
        not known before its rows arrive).
    segment_size : int
        Bytes per segment (128 .. 65535; e.g. 1024, a transfer frame). Default 1024.

    Examples
    --------
    >>> import maskcodec
    >>> img = maskcodec.sample_image("mastcam")
    >>> enc = maskcodec.StreamEncoder(img.shape, img.dtype, keep=0.1, seed=3)
    >>> stream = b"".join(enc.write(img[y:y + 16]) for y in range(0, img.shape[0], 16)) + enc.close()
    >>> stream == maskcodec.encode(img, 0.1, seed=3, segment_size=1024)
    True
    >>> len(stream) % 1024, maskcodec.decode(stream).shape
    (0, (251, 317, 3))
    """

    def __init__(self, shape: tuple[int, ...], dtype, keep: float | None = None, *, seed: int | None = None,
                 bits: int | None = None, mask: str | None = None, max_error: int = 0, segment_size: int = 1024,
                 metadata: dict | None = None, model: str | None = None) -> None:
        self._start(shape, dtype, resolve("mask", keep=keep, seed=seed, bits=bits, metadata=metadata, model=model,
                                          mask=mask, max_error=max_error, segment_size=segment_size))

    @classmethod
    def from_options(cls, shape: tuple[int, ...], dtype, opts) -> StreamEncoder:
        """An encoder under resolved options (:func:`maskcodec.options.resolve`, with a segment size)."""
        encoder = cls.__new__(cls)
        encoder._start(shape, dtype, opts)
        return encoder

    def _start(self, shape, dtype, opts) -> None:
        self._opts = opts
        self._shape, self._dtype = check_frame(shape, dtype)
        self._bits = opts.bits_for_dtype(self._dtype)
        self._max_error = check_max_error(opts.max_error, self._bits)
        h, w = self._shape[:2]
        channels = self._shape[2] if len(self._shape) == 3 else 1
        self._transform = transform_for(channels)
        survivors = sum(kept_rows(y, min(h, y + 128), w, opts.threshold, opts.seed, opts.mask).size
                        for y in range(0, h, 128))
        fixed = build_fixed(lean.DESCRIPTION_MAGIC, lean.VERSION, shape=self._shape, dtype=self._dtype,
                            mode=MODE_MASK, bits=self._bits, transform=self._transform, seed=opts.seed,
                            keep_threshold=opts.threshold, survivors=survivors, mask_kind=MASK_KIND_IDS[opts.mask])
        self._lanes, self._window_rows = LANES, WINDOW
        self._description = lean.description_bytes(fixed, max_error=self._max_error, repeat=REPEAT,
                                                   lanes=self._lanes, window=self._window_rows,
                                                   model_id=opts.model_id, model_sha256=opts.model_sha256,
                                                   metadata=opts.metadata)
        self._stream_id = zlib.crc32(self._description)
        self._size = opts.segment_size
        if least_segment(len(self._description), channels, self._bits) > self._size:
            raise InvalidInputError(
                f"segment_size (--segment-size) {self._size} is too small for this image's description "
                f"({len(self._description)} bytes with the metadata and model id) and one kept pixel of "
                f"{channels} channel(s); give a larger segment size or less metadata")
        self._row = 0
        self._index = 0
        self._first = 0
        self._pending = _Pending(np.zeros(0, np.int64), np.zeros((channels, 0), np.int32))
        self._window = _Pending(np.zeros(0, np.int64), np.zeros((channels, 0), np.int32))  # rows of an open window
        self._tried = 0  # pending survivors the last undecided fit looked at
        self._last = 128  # survivors of the last segment written

    def write(self, rows: np.ndarray) -> bytes:
        """Add the next rows ``(r, W[, C])`` of the frame; the segments completed by them (maybe none)."""
        h, w = self._shape[:2]
        rows = self._check_rows(rows)
        start, stop = self._row, self._row + rows.shape[0]
        opts = self._opts
        idx = kept_rows(start, stop, w, opts.threshold, opts.seed, opts.mask)
        values = rows.reshape(-1, rows.shape[2] if rows.ndim == 3 else 1)[idx - start * w]
        self._row = stop
        b = self._window
        b = _Pending(np.concatenate([b.idx, idx]),
                     np.concatenate([b.planes, _planes(values, self._bits, self._transform, self._max_error)], axis=1))
        done = int(np.searchsorted(b.idx, (h if stop == h else stop - stop % self._window_rows) * w))  # whole windows
        order = stream_order(b.idx[:done], w, self._lanes, self._window_rows)
        p = self._pending
        self._pending = _Pending(np.concatenate([p.idx, b.idx[:done][order]]),
                                 np.concatenate([p.planes, b.planes[:, :done][:, order]], axis=1))
        self._window = _Pending(b.idx[done:], b.planes[:, done:])
        return self._emit(final=False)

    def close(self) -> bytes:
        """The last segments; every row must have been written."""
        h = self._shape[0]
        if self._row != h:
            raise InvalidInputError(f"the stream holds {self._row} of the frame's {h} rows; write the rest "
                                    f"before close()")
        out = self._emit(final=True)
        if self._index == 0:  # an image without kept pixels: one segment says so
            channels = self._pending.planes.shape[0]
            out += self._segment(np.zeros((channels, 0), np.int64), np.zeros(channels, np.int64))
        return out

    def _check_rows(self, rows) -> np.ndarray:
        rows = np.asarray(rows)
        h, w = self._shape[:2]
        want = (w,) + self._shape[2:]
        if rows.dtype != self._dtype or rows.ndim != len(self._shape) or rows.shape[1:] != want:
            raise InvalidInputError(f"rows must be a {self._dtype} array of shape (r, {', '.join(map(str, want))}), "
                                    f"got {rows.dtype} {rows.shape}")
        if self._row + rows.shape[0] > h:
            raise InvalidInputError(f"{rows.shape[0]} rows after row {self._row} run past the frame's {h} rows")
        if rows.size and int(rows.max()) >> self._bits:
            raise InvalidInputError(f"rows hold the value {int(rows.max())}, which does not fit in bits={self._bits}")
        return rows

    def _room(self) -> int:
        carries = lean.carries_description(self._index, REPEAT)
        return self._size - lean.HEAD_SIZE - CRC_SIZE - (len(self._description) if carries else 0)

    def _emit(self, final: bool) -> bytes:
        """The segments the pending survivors decide: a segment is decided once a survivor is found that no
        longer fits, or it holds the most a segment may, or the frame is complete."""
        out = []
        width, rng = self._shape[1], _range(self._bits, self._max_error)[1]
        while self._pending.idx.size:
            p = self._pending
            room = self._room()
            cap = min(lean.MAX_RUN, 8 * room // p.planes.shape[0])  # every code takes at least one bit
            limit = min(p.idx.size, cap)
            if not final and limit < cap and limit < 2 * self._tried:
                break  # too few new survivors since the last look to decide anything
            m = min(limit, 2 * self._last)
            while True:  # look at twice the last segment's survivors, and further only when they all fit
                z = _codes(p.planes[:, :m], p.idx[:m], width, rng, self._lanes)
                n, k = _fit(z, self._bits, room)
                if n < m or m == limit:
                    break
                m = min(limit, 2 * m)
            if n == m and m < cap and not final:
                self._tried = m
                break  # every pending survivor fits: the segment may hold more
            out.append(self._segment(z[:, :n], k))
            self._pending = _Pending(p.idx[n:], p.planes[:, n:])
            self._tried, self._last = 0, n
        return b"".join(out)

    def _segment(self, z: np.ndarray, k: np.ndarray) -> bytes:
        n = z.shape[1]
        carries = lean.carries_description(self._index, REPEAT)
        data = lean.build(size=self._size, stream_id=self._stream_id, index=self._index, first=self._first, count=n,
                          description=self._description if carries else None, body=_body(z, k, self._bits))
        self._index += 1
        self._first += n
        return data


# ---------------------------------------------------------------- decoding

def codes(desc: lean.Description, s: lean.Segment) -> np.ndarray:
    """The codes ``(C, n)`` of one segment's body, checked (spec section 11.3): its run within the survivors,
    Rice parameters, stream lengths, codes below RANGE, zero padding."""
    f = desc.fixed
    channels, bits, (_, rng) = f.channels, f.bits, _range(f.bits, desc.max_error)
    body, n = s.body, s.count
    where = f"segment {s.index} at byte {s.start}"
    fail_if(s.first + n > f.survivors, FormatError,
            f"{where} holds survivors {s.first}..{s.first + n - 1}, the image has {f.survivors}")
    fail_if(n > lean.MAX_RUN or n * channels > 8 * len(body), FormatError,
            f"{where} claims {n} survivors, more than its {len(body)} bytes can code")
    fail_if(len(body) < channels + _UNARY_SIZE, FormatError,
            f"{where}: {len(body)} bytes after its head, fewer than its {channels} Rice parameters and unary length")
    k = np.frombuffer(body, np.uint8, channels).astype(np.int64)
    fail_if(bool((k > bits).any()), FormatError, f"{where}: Rice parameter {int(k.max())} exceeds bits={bits}")
    size = int.from_bytes(body[channels:channels + _UNARY_SIZE], "little")
    rest = len(body) - channels - _UNARY_SIZE
    fail_if(size > rest, FormatError, f"{where}: unary stream of {size} bytes runs past the segment ({rest} left)")
    q = rice.quotients(np.frombuffer(body, np.uint8, size, channels + _UNARY_SIZE), n * channels).reshape(channels, n)
    fixed = np.frombuffer(body, np.uint8, offset=channels + _UNARY_SIZE + size)
    stream = np.concatenate([fixed, np.zeros(3, np.uint8)]).astype(np.int64)
    escape = q == rice.QMAX
    kk = np.broadcast_to(k[:, None], q.shape)
    field, pos = rice.fields(stream, fixed.size, 0, np.where(escape, bits, kk).ravel(), f"the codes of {where}")
    z = np.where(escape, field.reshape(q.shape), (q << kk) | field.reshape(q.shape))
    fail_if(bool((z >= rng).any()), FormatError,
            f"{where}: residual code {int(z.max()) if z.size else 0} is out of range: codes must be below "
            f"RANGE = {rng}")
    used = (pos + 7) // 8
    fail_if(bool(fixed[used:].any()), FormatError, f"{where}: padding after the codes is not zero")
    rice.check_fixed_end(stream, used, pos)
    return z


def values_of(desc: lean.Description, segs: list[tuple[lean.Segment, np.ndarray]], kept: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``kept`` (the image's survivors, scan order) and values ``(n, C)`` of the survivors held by
    the segments ``segs`` with their :func:`codes` (runs of the stream order that do not overlap)."""
    f = desc.fixed
    if not segs:
        return np.zeros(0, np.int64), np.zeros((0, f.channels), np.int64)
    _, rng = _range(f.bits, desc.max_error)
    order = stream_order(kept, f.width, desc.lanes, desc.window)
    at = order[np.concatenate([np.arange(s.first, s.first + s.count) for s, _ in segs])]
    parent, offset = [], 0
    for s, _ in segs:  # each segment's predictors from its own survivors
        j = predictors(kept[at[offset:offset + s.count]], f.width, desc.lanes)
        parent.append(np.where(j >= 0, j + offset, -1))
        offset += s.count
    parent = np.concatenate(parent)
    acc = rice.unzigzag(np.concatenate([z for _, z in segs], axis=1)) % rng
    while (parent >= 0).any():  # pointer jumping: every value is its residual plus its predictor's value
        up = np.maximum(parent, 0)
        acc = np.where(parent >= 0, acc + acc[:, up], acc) % rng
        parent = np.where(parent >= 0, parent[up], -1)
    return at, _values(acc, f.bits, f.transform, desc.max_error)


def read_all(data: bytes, limits: Limits, check: Callable[[lean.Description], object]
             ) -> tuple[lean.Description, list[lean.Segment]]:
    """Strict reading of a lean stream's framing (spec section 11.4): segments 0, 1, ... back to back from
    byte 0, of one size and one stream, their runs consecutive from survivor 0 to the last, the description
    where the repeat puts it and nowhere else, nothing after the last run. ``check(description)`` (the
    mode's checks, raising a FormatError) runs on segment 0's description before the next segment is read."""
    data = bytes(data)
    s = lean.parse(data, 0, limits)
    fail_if(s.description is None, FormatError, "segment 0 does not carry the image description")
    desc = s.description
    check(desc)
    segs: list[lean.Segment] = []
    held, total, size = 0, desc.fixed.survivors, s.size
    while True:
        where = f"segment {s.index} at byte {s.start}"
        fail_if(s.index != len(segs), FormatError, f"{where} where segment {len(segs)} was expected")
        fail_if(s.stream_id != desc.stream_id or s.size != size, FormatError,
                f"{where} belongs to another stream (stream id or size differs from segment 0's)")
        fail_if((s.description is not None) != lean.carries_description(s.index, desc.repeat), FormatError,
                f"{where}: the description must be in segments 0, 1 and every {desc.repeat}-th, and only there")
        fail_if(s.description is not None and s.description.raw != desc.raw, FormatError,
                f"{where}: its description differs from segment 0's")
        fail_if(s.first != held, FormatError, f"{where} starts at survivor {s.first}, expected {held}")
        fail_if(s.count == 0 and total != 0, FormatError, f"{where} holds no survivors")
        fail_if(held + s.count > total, FormatError,
                f"{where} holds survivors up to {held + s.count - 1}, its description says {total}")
        segs.append(s)
        held += s.count
        end = s.start + s.size
        if held == total:
            fail_if(end != len(data), FormatError,
                    f"{len(data) - end} bytes after the last segment, which ends at survivor {total - 1}")
            return desc, segs
        fail_if(end == len(data), TruncatedError,
                f"stream holds survivors 0..{held - 1} of {total}: its last segments are missing")
        s = lean.parse(data, end, limits)


def intact(data: bytes, limits: Limits, check: Callable[[lean.Description], object]) -> Iterator[lean.Segment]:
    """The segments of ``data`` that pass their framing checks and ``check`` on the description they carry,
    in byte order, found by searching for the sync marker (after a segment, or a byte after a failed one)."""
    pos = data.find(lean.SYNC)
    while pos >= 0:
        try:
            s = lean.parse(data, pos, limits)
            if s.description is not None:
                check(s.description)
        except FormatError:
            pos = data.find(lean.SYNC, pos + 1)
            continue
        yield s
        pos = data.find(lean.SYNC, pos + s.size)


def scan(data: bytes, limits: Limits, check: Callable[[lean.Description], object]
         ) -> tuple[lean.Description | None, list[lean.Segment], int]:
    """Salvage reading (spec section 11.5): every lean segment whose CRC32, head and description pass their
    checks (``check(description)``: the mode's), found by searching for the sync marker; the stream with a
    description that most of them belong to (ties: the one met first), its segments (the first copy of each
    index, in order of their runs) and the bytes outside the segments found."""
    data = bytes(data)
    found = list(intact(data, limits, check))
    skipped = len(data) - sum(s.size for s in found)
    descs = {s.stream_id: s.description for s in found if s.description is not None}
    if not descs:
        return None, [], skipped
    stream_id = Counter(s.stream_id for s in found if s.stream_id in descs).most_common(1)[0][0]
    by_index: dict[int, lean.Segment] = {}
    for s in found:
        if s.stream_id == stream_id:
            by_index.setdefault(s.index, s)
    return descs[stream_id], sorted(by_index.values(), key=lambda s: s.first), skipped
