"""Format 2.0, the segmented stream (sync ``\\x89MCS``): self-contained segments that survive lost packets.

``spec/format.md`` section 11.1. Each segment carries a sync marker, the fixed
header of the whole image, its index and count, its own payload and two CRC32s,
and may be padded to a fixed size (a transfer frame). This module builds and
parses that framing; which survivors a segment holds and how its payload is
laid out are mask mode's (:mod:`maskcodec.mask_mode`).

:func:`read_all` is the strict reading (any damage is an error); :func:`scan`
resynchronizes on sync markers after damage and keeps the segments that pass
every check, the mode's own among them.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import construct as cs
import numpy as np

from ..errors import ChecksumError, FormatError, TruncatedError
from .header import (CRC_SIZE, FIXED_SIZE, MODE_MASK, MODEL_ID, OPTIONAL_MODEL_SHA256, Limits, check_image, crc, fail_if,
                     parse_fixed)

__all__ = ["SYNC", "VERSION", "MIN_SEGMENT", "MAX_SEGMENT", "MAX_COUNT", "Segment", "is_segmented", "overhead", "build",
           "parse", "read_all", "scan"]

SYNC = b"\x89MCS"
VERSION = (2, 0)
MIN_SEGMENT = 128
MAX_SEGMENT = 65535
MAX_COUNT = 65535  # segment_count is a u16

_SEGMENT = cs.Struct(
    "segment_index" / cs.Int16ul,
    "segment_count" / cs.Int16ul,
    "segment_survivors" / cs.Int32ul,
    "payload_size" / cs.Int16ul,
    "padding" / cs.Int16ul,
    MODEL_ID,
    OPTIONAL_MODEL_SHA256,
)
_SEGMENT_FIXED = 12  # bytes of _SEGMENT before the model id


@dataclass(frozen=True)
class Segment:
    """One parsed segment: its place in the stream, the image fields, its own fields and CRC-checked payload."""

    start: int
    end: int
    fixed: object
    dtype: np.dtype
    shape: tuple[int, ...]
    index: int
    count: int
    survivors: int
    model_id: str
    model_sha256: bytes
    header_size: int
    padding: int
    payload: bytes

    def image_key(self) -> tuple:
        """What every segment of one stream shares: the image fields, the segment count and the model."""
        f = self.fixed
        return (f.flags, f.sample_format, f.bits, f.transform, f.channels, f.height, f.width, f.seed,
                f.keep_threshold, f.survivors, self.count, self.model_id, self.model_sha256)


def is_segmented(data) -> bool:
    """Whether ``data`` starts like a segmented stream (or is a prefix of one)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        return False
    head = bytes(data[:4])
    return len(head) > 0 and head == SYNC[:len(head)]


def overhead(model_id: str) -> int:
    """Bytes of a segment around its payload: fixed header, segment fields, model, two CRCs."""
    return FIXED_SIZE + _SEGMENT_FIXED + 1 + len(model_id) + (32 if model_id else 0) + 2 * CRC_SIZE


def build(fixed: bytes, *, index: int, count: int, survivors: int, payload: bytes, size: int | None,
          model_id: str = "", model_sha256: bytes = bytes(32)) -> bytes | None:
    """One segment, padded with zeros to ``size`` bytes; None when it does not fit in ``size``."""
    unpadded = overhead(model_id) + len(payload)
    if size is not None and unpadded > size:
        return None
    padding = 0 if size is None else size - unpadded
    head = fixed + _SEGMENT.build(dict(segment_index=index, segment_count=count, segment_survivors=survivors,
                                       payload_size=len(payload), padding=padding, model_id=model_id,
                                       model_sha256=model_sha256 if model_id else None))
    return head + crc(head) + payload + crc(payload) + bytes(padding)


def parse(data: bytes, pos: int, limits: Limits) -> Segment:
    """Parse and check the framing of the segment that starts at ``pos`` (spec section 11.1)."""
    f = parse_fixed(data, pos, SYNC, VERSION[0], (MODE_MASK,), f"segment at byte {pos}")
    try:
        s = _SEGMENT.parse(data[pos + FIXED_SIZE:pos + FIXED_SIZE + _SEGMENT_FIXED + 1 + 255 + 32])
    except cs.StreamError:
        raise TruncatedError(f"stream ends inside the segment header at byte {pos}") from None
    except (cs.StringError, UnicodeDecodeError):
        raise FormatError(f"segment at byte {pos}: model id is not ASCII") from None
    header_end = pos + overhead(s.model_id) - 2 * CRC_SIZE
    fail_if(len(data) < header_end + CRC_SIZE, TruncatedError, f"stream ends inside the segment header at byte {pos}")
    fail_if(data[header_end:header_end + CRC_SIZE] != crc(data[pos:header_end]), ChecksumError,
            f"segment at byte {pos}: header CRC32 does not match")
    dtype, shape = check_image(f, limits)
    fail_if(s.segment_count == 0 or s.segment_index >= s.segment_count or s.segment_count > f.height,
            FormatError, f"segment at byte {pos}: index {s.segment_index} of {s.segment_count} is impossible "
                         f"for {f.height} rows")
    fail_if(s.segment_survivors > f.survivors, FormatError,
            f"segment at byte {pos} claims more kept pixels than the image")
    start = header_end + CRC_SIZE
    end = start + s.payload_size + CRC_SIZE + s.padding
    fail_if(len(data) < end, TruncatedError,
            f"stream ends inside segment {s.segment_index} (needs {end - pos} bytes from byte {pos})")
    payload = data[start:start + s.payload_size]
    fail_if(data[start + s.payload_size:start + s.payload_size + CRC_SIZE] != crc(payload), ChecksumError,
            f"segment {s.segment_index} at byte {pos}: payload CRC32 does not match")
    return Segment(start=pos, end=end, fixed=f, dtype=dtype, shape=shape, index=s.segment_index,
                   count=s.segment_count, survivors=s.segment_survivors, model_id=s.model_id,
                   model_sha256=s.model_sha256 or bytes(32), header_size=start - pos, padding=s.padding,
                   payload=payload)


def read_all(data: bytes, limits: Limits, check: Callable[[Segment], object]) -> list[tuple[Segment, object]]:
    """Strict reading (spec section 11.3): segments 0 .. K-1 back to back from byte 0, all describing one
    image, padding zero, nothing after. ``check(segment)`` decodes a payload (raising a FormatError when it
    is wrong); the segments are returned with what it returned."""
    data = bytes(data)
    out: list[tuple[Segment, object]] = []
    pos = 0
    while True:
        s = parse(data, pos, limits)
        fail_if(out and s.image_key() != out[0][0].image_key(), FormatError,
                f"segment at byte {s.start} describes another image than the first segment")
        fail_if(s.index != len(out), FormatError,
                f"segment {s.index} at byte {s.start} where segment {len(out)} was expected")
        fail_if(any(data[s.end - s.padding:s.end]), FormatError,
                f"segment {s.index} at byte {s.start}: padding is not zero")
        out.append((s, check(s)))
        if s.end >= len(data):
            break
        pos = s.end
    count = out[0][0].count
    fail_if(len(out) != count, TruncatedError, f"stream holds {len(out)} of {count} segments")
    return out


def scan(data: bytes, limits: Limits, check: Callable[[Segment], object]) -> tuple[list[tuple[Segment, object]], int]:
    """Salvage reading (spec section 11.3): every segment that passes its checks and ``check``, found by
    searching for the sync marker, and the number of bytes skipped."""
    data = bytes(data)
    found: list[tuple[Segment, object]] = []
    pos = data.find(SYNC)
    skipped = pos if pos >= 0 else len(data)
    while pos >= 0:
        try:
            s = parse(data, pos, limits)
            found.append((s, check(s)))
        except FormatError:
            nxt = data.find(SYNC, pos + 1)
            skipped += (nxt if nxt >= 0 else len(data)) - pos
            pos = nxt
            continue
        nxt = data.find(SYNC, s.end)
        skipped += (nxt if nxt >= 0 else len(data)) - s.end
        pos = nxt
    return found, skipped
