"""The lean segmented stream (format 4.0) of mask mode: written as the rows arrive, read segment by segment.

``spec/format.md`` section 11. :class:`StreamEncoder` is the encoder
(``encode(..., segment_size=S)`` feeds it the whole frame): the survivors in
stream order are cut into consecutive runs, one per segment, each as long as
fits (:mod:`maskcodec.survivors.segment_coding` codes them); an encoder holds
at most a window's and a segment's survivors, and a lost segment thins rows
instead of blanking a band. :func:`read` reads a stream strictly,
:func:`salvage` keeps every intact segment of a damaged one; both check the
image description with mask mode's rules (:func:`header_of`).
"""
from __future__ import annotations

import zlib
from typing import Iterator
from dataclasses import dataclass, replace

import numpy as np

from ... import masks
from ...errors import FormatError, InvalidInputError
from ...framing import stream as framing
from ...framing.fixed import CRC_SIZE, MODE_MASK, build_fixed, decode_metadata
from ...options import check_frame, check_max_error, resolve
from ...records import Limits, MaskHeader, SalvageReport
from ...survivors import segment_coding as coding
from ...survivors.predictive import max_error_limit
from .fields import check_mask_fields, header_mask, known_mask, mask_header

__all__ = ["StreamEncoder", "REPEAT", "least_segment", "header_of", "describe", "read", "salvage", "segment_size"]

REPEAT = 8         # the reference encoder's description repeat: segments 0, 1, 8, 16, ...


def least_segment(description: int, channels: int, bits: int) -> int:
    """The smallest segment size an encoder accepts: head, description, CRC and one kept pixel's longest codes
    (every plane an escape), so that every segment holds at least one survivor."""
    return framing.HEAD_SIZE + description + CRC_SIZE + coding.least_size(channels, bits)


@dataclass
class _Pending:
    """Survivors gathered and not yet written: pixel indices and their values ``(n, C)``."""

    idx: np.ndarray
    values: np.ndarray


class StreamEncoder:
    """Encode a frame into a lean segmented stream (format 4.0) as its rows arrive.

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
        self._transform = coding.transform_for(channels)
        survivors = sum(masks.kept_rows(y, min(h, y + 128), w, opts.threshold, opts.seed, opts.mask).size
                        for y in range(0, h, 128))
        fixed = build_fixed(framing.DESCRIPTION_MAGIC, framing.VERSION, shape=self._shape, dtype=self._dtype,
                            mode=MODE_MASK, bits=self._bits, transform=self._transform, seed=opts.seed,
                            keep_threshold=opts.threshold, survivors=survivors, mask_kind=masks.KIND_IDS[opts.mask])
        self._lanes, self._window_rows = coding.LANES, coding.WINDOW
        self._description = framing.description_bytes(fixed, max_error=self._max_error, repeat=REPEAT,
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
        self._pending = _Pending(np.zeros(0, np.int64), np.zeros((0, channels), self._dtype))
        self._window = _Pending(np.zeros(0, np.int64), np.zeros((0, channels), self._dtype))  # rows of an open window
        self._tried = 0  # pending survivors the last undecided fit looked at
        self._last = 128  # survivors of the last segment written

    def write(self, rows: np.ndarray) -> bytes:
        """Add the next rows ``(r, W[, C])`` of the frame; the segments completed by them (maybe none)."""
        return b"".join(self.segments(rows))

    def segments(self, rows: np.ndarray) -> Iterator[bytes]:
        """:meth:`write`, one segment at a time as each is decided (the rows are checked at once): the encoder
        takes the rows a window (64 rows) at a time, so its memory stays that of a window and a segment
        whatever ``rows`` holds, and a caller that sends each segment holds no more."""
        rows = self._check_rows(rows)

        def each() -> Iterator[bytes]:
            at = 0
            while at < rows.shape[0]:
                step = min(rows.shape[0] - at, self._window_rows - self._row % self._window_rows)
                self._take(rows[at:at + step])
                at += step
                yield from self._emit(final=False)
        return each()

    def _take(self, rows: np.ndarray) -> None:
        """Gather the kept pixels of ``rows`` (within one window); a completed window joins the pending
        survivors in stream order."""
        h, w = self._shape[:2]
        start, stop = self._row, self._row + rows.shape[0]
        opts = self._opts
        idx = masks.kept_rows(start, stop, w, opts.threshold, opts.seed, opts.mask)
        values = rows.reshape(-1, rows.shape[2] if rows.ndim == 3 else 1)[idx - start * w]
        self._row = stop
        b = self._window
        b = _Pending(np.concatenate([b.idx, idx]), np.concatenate([b.values, values]))
        done = int(np.searchsorted(b.idx, (h if stop == h else stop - stop % self._window_rows) * w))  # whole windows
        order = coding.stream_order(b.idx[:done], w, self._lanes, self._window_rows)
        p = self._pending
        self._pending = _Pending(np.concatenate([p.idx, b.idx[:done][order]]),
                                 np.concatenate([p.values, b.values[:done][order]]))
        self._window = _Pending(b.idx[done:], b.values[done:])

    def close(self) -> bytes:
        """The last segments; every row must have been written."""
        h = self._shape[0]
        if self._row != h:
            raise InvalidInputError(f"the stream holds {self._row} of the frame's {h} rows; write the rest "
                                    f"before close()")
        out = b"".join(self._emit(final=True))
        if self._index == 0:  # an image without kept pixels: one segment says so
            out += self._segment(*self._encode_run(self._pending, self._room()))
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
        carries = framing.carries_description(self._index, REPEAT)
        return self._size - framing.HEAD_SIZE - CRC_SIZE - (len(self._description) if carries else 0)

    def _encode_run(self, p: _Pending, room: int) -> tuple[int, bytes]:
        """The longest prefix of ``p`` that fits in ``room`` bytes and its body (C coder where built)."""
        return coding.encode_run(p.idx, p.values, self._shape[1], self._bits, self._transform, self._max_error,
                                 self._lanes, self._window_rows, room)

    def _emit(self, final: bool) -> Iterator[bytes]:
        """The segments the pending survivors decide: a segment is decided once a survivor is found that no
        longer fits, or it holds the most a segment may, or the frame is complete."""
        while self._pending.idx.size:
            p = self._pending
            room = self._room()
            limit = min(p.idx.size, framing.MAX_RUN)
            if not final and limit < framing.MAX_RUN and limit < 2 * self._tried:
                break  # too few new survivors since the last look to decide anything
            m = min(limit, 2 * self._last)
            while True:  # look at twice the last segment's survivors, and further only when they all fit
                n, body = self._encode_run(_Pending(p.idx[:m], p.values[:m]), room)
                if n < m or m == limit:
                    break
                m = min(limit, 2 * m)
            if n == m and m < framing.MAX_RUN and not final:
                self._tried = m
                break  # every pending survivor fits: the segment may hold more
            self._pending = _Pending(p.idx[n:], p.values[n:])
            self._tried, self._last = 0, n
            yield self._segment(n, body)

    def _segment(self, n: int, body: bytes) -> bytes:
        carries = framing.carries_description(self._index, REPEAT)
        data = framing.build(size=self._size, stream_id=self._stream_id, index=self._index, first=self._first, count=n,
                          description=self._description if carries else None, body=body)
        self._index += 1
        self._first += n
        return data


# ---------------------------------------------------------------- decoding

def header_of(desc: framing.Description, file_size: int = 0, count: int = 0) -> MaskHeader:
    """The header of a lean stream from its description (mode fields and error bound checked)."""
    f = desc.fixed
    check_mask_fields(f)
    if desc.max_error > max_error_limit(f.bits):
        raise FormatError(f"max_error {desc.max_error} is out of range for {f.bits}-bit samples "
                          f"(at most {max_error_limit(f.bits)})")
    return mask_header(f, desc.dtype, desc.shape, version=(f.version_major, f.version_minor), model_id=desc.model_id,
                       model_sha256=desc.model_sha256, metadata=decode_metadata(desc.metadata),
                       header_size=framing.HEAD_SIZE + len(desc.raw), payload_size=0, file_size=file_size,
                       segments=count, coding="segment", max_error=desc.max_error)


def _values(desc: framing.Description, segs: list[framing.Segment], order: np.ndarray, kept: np.ndarray
            ) -> tuple[np.ndarray, np.ndarray]:
    """Positions in ``kept`` (the image's survivors, scan order) and values ``(n, C)`` of the survivors the
    segments ``segs`` hold (runs that do not overlap), each segment decoded alone (spec section 11.3).
    ``order`` is the stream order of ``kept``."""
    f = desc.fixed
    at, values = [np.zeros(0, np.int64)], [np.zeros((0, f.channels), np.int64)]
    for s in segs:
        where = f"segment {s.index} at byte {s.start}"
        if s.first + s.count > f.survivors:
            raise FormatError(f"{where} holds survivors {s.first}..{s.first + s.count - 1}, the image has "
                              f"{f.survivors}")
        run = order[s.first:s.first + s.count]
        values.append(coding.decode_run(s.body, kept[run], f.width, f.bits, f.transform, desc.max_error, f.channels,
                                        desc.lanes, desc.window, where))
        at.append(run)
    return np.concatenate(at), np.concatenate(values)


def _stream_order(desc: framing.Description, kept: np.ndarray) -> np.ndarray:
    return coding.stream_order(kept, desc.fixed.width, desc.lanes, desc.window)


def describe(data: bytes, limits: Limits) -> MaskHeader:
    """The header of a lean stream, from its first segment (framing and mode fields checked)."""
    s = framing.parse(bytes(data), 0, limits)
    if s.description is None:
        raise FormatError("segment 0 does not carry the image description")
    return header_of(s.description, len(data), len(data) // s.size)


def read(data: bytes, limits: Limits) -> tuple[MaskHeader, np.ndarray, np.ndarray]:
    """Strict read of a lean stream: header, mask ``(H, W)`` and kept values ``(N, C)``."""
    desc, segs = framing.read_all(data, limits, header_of)
    header = header_of(desc, len(data), len(segs))
    m = header_mask(header)
    kept = np.flatnonzero(m)
    at, values = _values(desc, segs, _stream_order(desc, kept), kept)
    out = np.empty_like(values)
    out[at] = values
    return header, m, out.astype(desc.dtype)


def salvage(data: bytes, limits: Limits) -> tuple[MaskHeader, np.ndarray, np.ndarray, SalvageReport]:
    """Every intact segment of a damaged stream: header, known-pixel mask, values ``(N_known, C)``, report."""
    data = bytes(data)
    desc, found, skipped = framing.scan(data, limits, header_of)
    if desc is None:
        raise FormatError("no intact segment carries the image description: nothing of the image can be recovered")
    header = header_of(desc, len(data))
    kept = np.flatnonzero(header_mask(header))
    order = _stream_order(desc, kept)
    good, at, values, end = [], [np.zeros(0, np.int64)], [np.zeros((0, desc.fixed.channels), np.int64)], 0
    for s in found:  # in order of their runs: drop a run that overlaps the last one kept or whose codes fail
        if s.first < end:
            continue
        try:
            a, v = _values(desc, [s], order, kept)
        except FormatError:
            continue
        good.append(s)
        at.append(a)
        values.append(v)
        end = s.first + s.count
    at, values = np.concatenate(at), np.concatenate(values)
    indices = {s.index for s in good}
    last = max(indices, default=-1)
    tail = not good or good[-1].first + good[-1].count < header.survivors
    expected = last + 1 + int(tail)  # at least: segments after the last received are not counted
    report = SalvageReport(segments_expected=expected, segments_received=len(good),
                           lost_segments=sorted(set(range(expected)) - indices), survivors_expected=header.survivors,
                           survivors_recovered=int(at.size), bytes_skipped=skipped)
    return (replace(header, segments=expected), known_mask(header, kept[at]),
            values[np.argsort(at)].astype(desc.dtype), report)


def segment_size(data: bytes) -> int:
    """The size of a stream's first intact segment (0 when none is)."""
    first = next(framing.intact(bytes(data), Limits(), lambda d: None), None)
    return first.size if first else 0
