"""Format 4.0, the lean segmented stream (sync ``\\x89MCL``): segments written as the rows arrive.

``spec/format.md`` section 11. Every segment has exactly ``segment_size`` bytes
and one CRC32 over all of them; it names its stream (the CRC32 of the image
description), its index and the run of survivors it holds. The image
description (the fixed fields of section 4 under the magic ``\\x89MCD``, the
error bound, the survivor order, the model and the product metadata) travels in segments 0 and 1
and in every R-th segment, so that a stream that lost any one segment keeps it.

This module builds and parses those bytes; what the survivors are and how
their codes are laid out is mask mode's (:mod:`maskcodec.modes.mask.stream`,
:mod:`maskcodec.survivors.segment_coding`). :func:`read_all`, :func:`intact` and :func:`scan` read a
stream's segments strictly or for salvage, the mode's checks of a description given as a parameter.
"""
from __future__ import annotations

import zlib
from collections import Counter
from dataclasses import dataclass
from typing import Callable, Iterator

import construct as cs

from ..errors import ChecksumError, FormatError, LimitExceededError, TruncatedError, UnsupportedVersionError
from .fixed import (CRC_SIZE, FIXED_SIZE, MODE_MASK, MODEL_ID, OPTIONAL_MODEL_SHA256, check_image, crc, parse_fixed)
from ..records import Limits

__all__ = ["SYNC", "VERSION", "DESCRIPTION_MAGIC", "HEAD_SIZE", "FLAG_DESCRIPTION", "MAX_RUN", "MIN_SEGMENT", "MAX_SEGMENT", "Description", "Segment",
           "carries_description", "description_bytes", "parse_description", "build", "parse", "is_lean"]

SYNC = b"\x89MCL"
VERSION = (4, 0)
DESCRIPTION_MAGIC = b"\x89MCD"
FLAG_DESCRIPTION = 0x01
MAX_RUN = 65535  # count is a u16
MIN_SEGMENT, MAX_SEGMENT = 128, 65535  # the segment sizes an encoder writes (segment_size is a u16)

HEAD = cs.Struct(
    "sync" / cs.Bytes(4),
    "version_major" / cs.Int8ul,
    "version_minor" / cs.Int8ul,
    "flags" / cs.Int8ul,
    "segment_size" / cs.Int16ul,
    "stream_id" / cs.Int32ul,
    "segment_index" / cs.Int32ul,
    "first" / cs.Int32ul,
    "count" / cs.Int16ul,
)
HEAD_SIZE = HEAD.sizeof()  # 23

_DESCRIPTION_TAIL = cs.Struct(
    "max_error" / cs.Int16ul,
    "repeat" / cs.Int16ul,
    "lanes" / cs.Int8ul,
    "window" / cs.Int16ul,
    MODEL_ID,
    OPTIONAL_MODEL_SHA256,
    "metadata" / cs.Prefixed(cs.Int16ul, cs.GreedyBytes),
)


@dataclass(frozen=True)
class Description:
    """The image description a stream's segments share (spec section 11.2), as parsed and checked."""

    raw: bytes
    fixed: object
    dtype: object
    shape: tuple[int, ...]
    max_error: int
    repeat: int
    lanes: int
    window: int
    model_id: str
    model_sha256: bytes
    metadata: bytes

    @property
    def stream_id(self) -> int:
        return zlib.crc32(self.raw)


@dataclass(frozen=True)
class Segment:
    """One segment whose CRC32 matched: where it lies, its fields, its description (if it carries one)
    and the bytes after its head and description (the survivor codes and zero padding)."""

    start: int
    size: int
    stream_id: int
    index: int
    first: int
    count: int
    description: Description | None
    body: bytes


def carries_description(index: int, repeat: int) -> bool:
    """Whether segment ``index`` carries the description: segments 0 and 1 and every ``repeat``-th."""
    return index <= 1 or index % repeat == 0


def description_bytes(fixed: bytes, *, max_error: int, repeat: int, lanes: int, window: int, model_id: str,
                      model_sha256: bytes, metadata: bytes) -> bytes:
    """The description block: the 36 fixed bytes (magic ``\\x89MCD``) and the tail of spec section 11.2."""
    return fixed + _DESCRIPTION_TAIL.build(dict(max_error=max_error, repeat=repeat, lanes=lanes, window=window,
                                                model_id=model_id,
                                                model_sha256=model_sha256 if model_id else None, metadata=metadata))


def parse_description(data: bytes, pos: int, end: int, limits: Limits, where: str) -> Description:
    """Parse and check the description block at ``pos`` (its bytes end before ``end``)."""
    if end - pos < FIXED_SIZE:
        raise FormatError(f"{where}: description runs past the segment's end")
    f = parse_fixed(data[:end], pos, DESCRIPTION_MAGIC, VERSION[0], (MODE_MASK,), f"{where}: description")
    dtype, shape = check_image(f, limits)
    try:
        t = _DESCRIPTION_TAIL.parse(data[pos + FIXED_SIZE:end])
    except cs.StreamError:
        raise FormatError(f"{where}: description runs past the segment's end") from None
    except (cs.StringError, UnicodeDecodeError):
        raise FormatError(f"{where}: model id is not ASCII") from None
    if t.repeat == 0:
        raise FormatError(f"{where}: description repeat 0; it must be at least 1")
    if t.lanes == 0 or t.window < t.lanes:
        raise FormatError(f"{where}: {t.lanes} lanes in windows of {t.window} rows; lanes must be at least 1 and at most the window")
    if len(t.metadata) > limits.max_metadata:
        raise LimitExceededError(f"{where}: metadata of {len(t.metadata)} bytes exceeds the limit of {limits.max_metadata}")
    size = FIXED_SIZE + 10 + len(t.model_id) + (32 if t.model_id else 0) + len(t.metadata)
    return Description(raw=bytes(data[pos:pos + size]), fixed=f, dtype=dtype, shape=shape, max_error=t.max_error,
                       repeat=t.repeat, lanes=t.lanes, window=t.window, model_id=t.model_id, model_sha256=t.model_sha256 or bytes(32),
                       metadata=bytes(t.metadata))


def build(*, size: int, stream_id: int, index: int, first: int, count: int, description: bytes | None,
          body: bytes) -> bytes:
    """One segment of exactly ``size`` bytes: head, description, ``body``, zero padding, CRC32."""
    head = HEAD.build(dict(sync=SYNC, version_major=VERSION[0], version_minor=VERSION[1],
                           flags=FLAG_DESCRIPTION if description is not None else 0, segment_size=size,
                           stream_id=stream_id, segment_index=index, first=first, count=count))
    out = head + (description or b"") + body
    if len(out) + CRC_SIZE > size:
        raise ValueError(f"segment of {len(out) + CRC_SIZE} bytes does not fit in {size}")  # the encoder's bug
    out += bytes(size - CRC_SIZE - len(out))
    return out + crc(out)


def is_lean(data) -> bool:
    """Whether ``data`` starts like a lean stream (or is a prefix of its sync marker)."""
    head = bytes(data[:4]) if isinstance(data, (bytes, bytearray, memoryview)) else b""
    return len(head) > 0 and head == SYNC[:len(head)]


def parse(data: bytes, pos: int, limits: Limits) -> Segment:
    """Parse and check the framing of the segment at ``pos`` (spec section 11.1): head, size, CRC32,
    reserved flags, and the description it carries."""
    where = f"segment at byte {pos}"
    if len(data) - pos < HEAD_SIZE:
        raise TruncatedError(f"stream ends inside the {HEAD_SIZE}-byte head of the {where}")
    h = HEAD.parse(data[pos:pos + HEAD_SIZE])
    if h.sync != SYNC:
        raise FormatError(f"{where}: found {h.sync!r} where the sync marker {SYNC!r} was expected")
    if h.version_major != VERSION[0]:
        raise UnsupportedVersionError(f"{where}: format version {h.version_major}.{h.version_minor} is not supported; this decoder reads "
            f"major version {VERSION[0]} here")
    if h.segment_size < HEAD_SIZE + CRC_SIZE:
        raise FormatError(f"{where}: segment_size {h.segment_size} is below the {HEAD_SIZE + CRC_SIZE} bytes of its head and CRC")
    end = pos + h.segment_size
    if len(data) < end:
        raise TruncatedError(f"stream ends inside segment {h.segment_index} ({where} needs {h.segment_size} bytes, "
            f"{len(data) - pos} remain)")
    if data[end - CRC_SIZE:end] != crc(data[pos:end - CRC_SIZE]):
        raise ChecksumError(f"{where}: CRC32 does not match")
    if h.flags & ~FLAG_DESCRIPTION:
        raise FormatError(f"{where}: reserved flag bits are set (flags={h.flags:#04x}); only bit 0 is defined")
    if h.segment_index > h.first:  # every earlier segment holds at least one survivor
        raise FormatError(f"{where}: segment_index {h.segment_index} exceeds first {h.first} (every earlier segment "
                          f"holds at least one survivor)")
    body_start = pos + HEAD_SIZE
    description = None
    if h.flags & FLAG_DESCRIPTION:
        description = parse_description(data, body_start, end - CRC_SIZE, limits, where)
        if description.stream_id != h.stream_id:
            raise FormatError(f"{where}: stream id {h.stream_id:#010x} is not the CRC32 of its description "
                f"({description.stream_id:#010x})")
        body_start += len(description.raw)
    return Segment(start=pos, size=h.segment_size, stream_id=h.stream_id, index=h.segment_index, first=h.first,
                   count=h.count, description=description, body=bytes(data[body_start:end - CRC_SIZE]))


def read_all(data: bytes, limits: Limits, check: Callable[[Description], object]
             ) -> tuple[Description, list[Segment]]:
    """Strict reading of a lean stream's framing (spec section 11.4): segments 0, 1, ... back to back from
    byte 0, of one size and one stream, their runs consecutive from survivor 0 to the last, the description
    where the repeat puts it and nowhere else, nothing after the last run. ``check(description)`` (the
    mode's checks, raising a FormatError) runs on segment 0's description before the next segment is read."""
    data = bytes(data)
    s = parse(data, 0, limits)
    if s.description is None:
        raise FormatError("segment 0 does not carry the image description")
    desc = s.description
    check(desc)
    segs: list[Segment] = []
    held, total, size = 0, desc.fixed.survivors, s.size
    while True:
        where = f"segment {s.index} at byte {s.start}"
        if s.index != len(segs):
            raise FormatError(f"{where} where segment {len(segs)} was expected")
        if s.stream_id != desc.stream_id or s.size != size:
            raise FormatError(f"{where} belongs to another stream (stream id or size differs from segment 0's)")
        if (s.description is not None) != carries_description(s.index, desc.repeat):
            raise FormatError(f"{where}: the description must be in segments 0, 1 and every {desc.repeat}-th, and only there")
        if s.description is not None and s.description.raw != desc.raw:
            raise FormatError(f"{where}: its description differs from segment 0's")
        if s.first != held:
            raise FormatError(f"{where} starts at survivor {s.first}, expected {held}")
        if s.count == 0 and total != 0:
            raise FormatError(f"{where} holds no survivors")
        if held + s.count > total:
            raise FormatError(f"{where} holds survivors up to {held + s.count - 1}, its description says {total}")
        segs.append(s)
        held += s.count
        end = s.start + s.size
        if held == total:
            if end != len(data):
                raise FormatError(f"{len(data) - end} bytes after the last segment, which ends at survivor {total - 1}")
            return desc, segs
        if end == len(data):
            raise TruncatedError(f"stream holds survivors 0..{held - 1} of {total}: its last segments are missing")
        s = parse(data, end, limits)


def intact(data: bytes, limits: Limits, check: Callable[[Description], object]) -> Iterator[Segment]:
    """The segments of ``data`` that pass their framing checks and ``check`` on the description they carry,
    in byte order, found by searching for the sync marker (after a segment, or a byte after a failed one)."""
    pos = data.find(SYNC)
    while pos >= 0:
        try:
            s = parse(data, pos, limits)
            if s.description is not None:
                check(s.description)
        except FormatError:
            pos = data.find(SYNC, pos + 1)
            continue
        yield s
        pos = data.find(SYNC, pos + s.size)


def scan(data: bytes, limits: Limits, check: Callable[[Description], object]
         ) -> tuple[Description | None, list[Segment], int]:
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
    by_index: dict[int, Segment] = {}
    for s in found:
        if s.stream_id == stream_id:
            by_index.setdefault(s.index, s)
    return descs[stream_id], sorted(by_index.values(), key=lambda s: s.first), skipped
