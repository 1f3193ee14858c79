"""The segmented stream (format 2.0): self-contained segments that survive lost packets.

Each segment carries a sync marker, the whole image description, which rows of
survivors it holds, its own zstd payload and two CRC32s, and may be padded to a
fixed size (a transfer frame). Segment ``k`` of ``K`` holds the survivors of the
rows ``y`` with ``y mod K == k``, so a lost segment thins the mask evenly
instead of blanking a band. ``spec/format.md`` section 11 defines the bytes.

Strict reading (:func:`read`) refuses any damage. :func:`salvage` resynchronizes
on sync markers, drops segments whose checks fail and returns what survived.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import construct as cs
import numpy as np

from .container import (_FIXED, FIXED_SIZE, FLAG_CHANNEL_AXIS, MODE_MASK, SAMPLE_FORMAT_IDS, Header, Limits,
                        check_image_fields, compress, crc, decompress, fail_if, header_mask)
from .errors import (ChecksumError, FormatError, InvalidInputError, LimitExceededError, TruncatedError,
                     UnsupportedVersionError)
from .mask import threshold_to_keep
from .pack import pack, unpack

__all__ = ["SYNC", "VERSION", "SalvageReport", "write", "read", "salvage", "is_segmented"]

SYNC = b"\x89MCS"
VERSION = (2, 0)
MIN_SEGMENT = 128
MAX_SEGMENT = 65535

_SEGMENT = cs.Struct(
    "segment_index" / cs.Int16ul,
    "segment_count" / cs.Int16ul,
    "segment_survivors" / cs.Int32ul,
    "payload_size" / cs.Int16ul,
    "padding" / cs.Int16ul,
    "model_id" / cs.PascalString(cs.Int8ul, "ascii"),
    "model_sha256" / cs.If(cs.this.model_id != "", cs.Bytes(32)),
)


@dataclass
class SalvageReport:
    """What a salvage decode recovered (see :func:`maskcodec.decode` with ``strict=False``)."""

    segments_expected: int
    segments_received: int
    lost_segments: list[int] = field(default_factory=list)
    survivors_expected: int = 0
    survivors_recovered: int = 0
    bytes_skipped: int = 0

    @property
    def fraction_recovered(self) -> float:
        """Fraction of the kept pixels that arrived intact."""
        return self.survivors_recovered / self.survivors_expected if self.survivors_expected else 1.0

    def __str__(self) -> str:
        return (f"received {self.segments_received} of {self.segments_expected} segments "
                f"(lost {self.lost_segments}), {self.fraction_recovered:.1%} of kept pixels recovered, "
                f"{self.bytes_skipped} damaged bytes skipped")


def is_segmented(data: bytes) -> bool:
    """Whether ``data`` starts like a segmented stream (or is a prefix of one)."""
    head = bytes(data[:4])
    return len(head) > 0 and head == SYNC[:len(head)]


def _row_groups(m: np.ndarray, count: int) -> list[np.ndarray]:
    """Scan-order flat indices of the kept pixels of each row group ``y mod count``."""
    flat = np.flatnonzero(m)
    group = (flat // m.shape[1]) % count
    return [flat[group == k] for k in range(count)]


def _segment(fixed: bytes, index: int, count: int, values: np.ndarray, bits: int, transform: int,
             model_id: str, model_sha256: bytes, size: int | None) -> bytes:
    raw = pack(values, bits, transform)
    payload = compress(raw)
    body = dict(segment_index=index, segment_count=count, segment_survivors=values.shape[0],
                payload_size=len(payload), padding=0, model_id=model_id,
                model_sha256=model_sha256 if model_id else None)
    unpadded = len(fixed) + _SEGMENT.build(body).__len__() + 4 + len(payload) + 4
    if size is not None:
        if unpadded > size:
            return b""
        body["padding"] = size - unpadded
    head = fixed + _SEGMENT.build(body)
    return head + crc(head) + payload + crc(payload) + bytes(body["padding"])


def write(image: np.ndarray, m: np.ndarray, *, bits: int, transform: int, seed: int, keep_threshold: int,
          segment_size: int, model_id: str = "", model_sha256: bytes = bytes(32)) -> bytes:
    """Write the survivors of ``image`` under mask ``m`` as segments of exactly ``segment_size`` bytes."""
    if isinstance(segment_size, bool) or not isinstance(segment_size, int) \
            or not MIN_SEGMENT <= segment_size <= MAX_SEGMENT:
        raise InvalidInputError(f"segment_size must be an integer from {MIN_SEGMENT} to {MAX_SEGMENT} bytes, "
                                f"got {segment_size!r}")
    h, w = m.shape
    channels = image.shape[2] if image.ndim == 3 else 1
    flat = image.reshape(h * w, channels)
    fixed = _FIXED.build(dict(
        magic=SYNC, version_major=VERSION[0], version_minor=VERSION[1],
        flags=FLAG_CHANNEL_AXIS if image.ndim == 3 else 0, mode=MODE_MASK,
        sample_format=SAMPLE_FORMAT_IDS[image.dtype], bits=bits, transform=transform, channels=channels,
        reserved=0, height=h, width=w, seed=seed, keep_threshold=keep_threshold, survivors=int(m.sum())))
    # First guess from the size of the whole payload, then more segments until each fits.
    overhead = FIXED_SIZE + 12 + 1 + len(model_id) + (32 if model_id else 0) + 8 + 16
    whole = len(compress(pack(flat[m.ravel()], bits, transform)))
    count = max(1, math.ceil(whole / max(1, segment_size - overhead)))
    while True:
        count = min(count, h)
        segments = [_segment(fixed, k, count, flat[idx], bits, transform, model_id, model_sha256, segment_size)
                    for k, idx in enumerate(_row_groups(m, count))]
        if all(segments):
            return b"".join(segments)
        if count == h:
            raise InvalidInputError(f"segment_size {segment_size} is too small: one row of kept pixels of this "
                                    f"{w}-pixel-wide image does not fit in a segment")
        count += 1


@dataclass
class _Parsed:
    start: int
    dtype: np.dtype
    shape: tuple[int, ...]
    fixed: object
    seg: object
    header_end: int
    end: int
    values: np.ndarray


def _parse_segment(data: bytes, pos: int, limits: Limits) -> _Parsed:
    """Parse and fully check one segment starting at ``pos``."""
    fail_if(len(data) - pos < FIXED_SIZE, TruncatedError, f"stream ends inside the segment header at byte {pos}")
    f = _FIXED.parse(data[pos:pos + FIXED_SIZE])
    fail_if(f.magic != SYNC, FormatError, f"no sync marker at byte {pos}: found {f.magic!r}, expected {SYNC!r}")
    fail_if(f.version_major != VERSION[0], UnsupportedVersionError,
            f"segment version {f.version_major}.{f.version_minor} is not supported; expected major {VERSION[0]}")
    try:
        s = _SEGMENT.parse(data[pos + FIXED_SIZE:pos + FIXED_SIZE + 12 + 1 + 255 + 32])
    except cs.StreamError:
        raise TruncatedError(f"stream ends inside the segment header at byte {pos}") from None
    except (cs.StringError, UnicodeDecodeError):
        raise FormatError(f"segment at byte {pos}: model id is not ASCII") from None
    header_end = pos + FIXED_SIZE + 12 + 1 + len(s.model_id) + (32 if s.model_id else 0)
    fail_if(len(data) < header_end + 4, TruncatedError, f"stream ends inside the segment header at byte {pos}")
    fail_if(data[header_end:header_end + 4] != crc(data[pos:header_end]), ChecksumError,
            f"segment at byte {pos}: header CRC32 does not match")
    dtype, shape = check_image_fields(f, limits)
    fail_if(s.segment_count == 0 or s.segment_index >= s.segment_count or s.segment_count > f.height,
            FormatError, f"segment at byte {pos}: index {s.segment_index} of {s.segment_count} is impossible "
                         f"for {f.height} rows")
    fail_if(s.segment_survivors > f.survivors, FormatError,
            f"segment at byte {pos} claims more kept pixels than the image")
    start = header_end + 4
    end = start + s.payload_size + 4 + s.padding
    fail_if(len(data) < end, TruncatedError,
            f"stream ends inside segment {s.segment_index} (needs {end - pos} bytes from byte {pos})")
    payload = data[start:start + s.payload_size]
    fail_if(data[start + s.payload_size:start + s.payload_size + 4] != crc(payload), ChecksumError,
            f"segment {s.segment_index} at byte {pos}: payload CRC32 does not match")
    raw_size = s.segment_survivors * f.channels * dtype.itemsize
    fail_if(raw_size > limits.max_payload_raw, LimitExceededError,
            f"segment payload of {raw_size} bytes exceeds the limit of {limits.max_payload_raw}")
    raw = decompress(payload, raw_size)
    values = unpack(raw, s.segment_survivors, f.channels, f.bits, f.transform).astype(dtype, copy=False)
    return _Parsed(pos, dtype, shape, f, s, header_end, end, values)


def _header(p: _Parsed, file_size: int) -> Header:
    f, s = p.fixed, p.seg
    return Header(version=(f.version_major, f.version_minor), mode="mask", shape=p.shape, dtype=p.dtype.name,
                  bits=f.bits,
                  channels=f.channels, seed=f.seed, keep=threshold_to_keep(f.keep_threshold),
                  keep_threshold=f.keep_threshold, transform=f.transform, survivors=f.survivors,
                  model_id=s.model_id, model_sha256=s.model_sha256.hex() if s.model_id else "",
                  header_size=p.header_end + 4, payload_size=s.payload_size,
                  payload_raw_size=f.survivors * f.channels * p.dtype.itemsize, file_size=file_size,
                  segments=s.segment_count)


def _image_key(p: _Parsed) -> tuple:
    f = p.fixed
    return (f.flags, f.sample_format, f.bits, f.transform, f.channels, f.height, f.width, f.seed,
            f.keep_threshold, f.survivors, p.seg.segment_count, p.seg.model_id, p.seg.model_sha256)


def read_header(data: bytes, limits: Limits) -> Header:
    """The header of a segmented stream, from its first segment (checked)."""
    return _header(_parse_segment(data, 0, limits), len(data))


def _place(m: np.ndarray, parsed: dict[int, _Parsed], count: int) -> tuple[np.ndarray, np.ndarray]:
    """Known-pixel mask and flat values (H*W, C) from the segments received."""
    h, w = m.shape
    groups = _row_groups(m, count)
    channels = next(iter(parsed.values())).values.shape[1]
    values = np.zeros((h * w, channels), next(iter(parsed.values())).values.dtype)
    known = np.zeros(h * w, bool)
    for k, p in parsed.items():
        idx = groups[k]
        fail_if(idx.size != p.values.shape[0], FormatError,
                f"segment {k} holds {p.values.shape[0]} kept pixels, the mask has {idx.size} in its rows")
        values[idx] = p.values
        known[idx] = True
    return known.reshape(h, w), values


def read(data: bytes, limits: Limits) -> tuple[Header, np.ndarray, np.ndarray]:
    """Strict read: every segment present, in order, intact. Returns header, mask, values (N, C)."""
    first = _parse_segment(data, 0, limits)
    parsed, p = {}, first
    while True:
        fail_if(_image_key(p) != _image_key(first), FormatError,
                f"segment at byte {p.start} describes another image than the first segment")
        fail_if(p.seg.segment_index != len(parsed), FormatError,
                f"segment {p.seg.segment_index} at byte {p.start} where segment {len(parsed)} was expected")
        fail_if(any(data[p.end - p.seg.padding:p.end]), FormatError,
                f"segment {p.seg.segment_index} at byte {p.start}: padding is not zero")
        parsed[p.seg.segment_index] = p
        if p.end >= len(data):
            break
        p = _parse_segment(data, p.end, limits)
    count = first.seg.segment_count
    fail_if(len(parsed) != count, TruncatedError, f"stream holds {len(parsed)} of {count} segments")
    header = _header(first, len(data))
    m = header_mask(header)
    _, values = _place(m, parsed, count)
    return header, m, values[m.ravel()]


def salvage(data: bytes, limits: Limits) -> tuple[Header, np.ndarray, np.ndarray, SalvageReport]:
    """Recover every intact segment. Returns header, known-pixel mask, values (N_known, C), report."""
    data = bytes(data)
    found: list[_Parsed] = []
    pos = data.find(SYNC)
    skipped = pos if pos >= 0 else len(data)
    while pos >= 0:
        try:
            p = _parse_segment(data, pos, limits)
        except FormatError:
            nxt = data.find(SYNC, pos + 1)
            skipped += (nxt if nxt >= 0 else len(data)) - pos
            pos = nxt
            continue
        found.append(p)
        nxt = data.find(SYNC, p.end)
        skipped += (nxt if nxt >= 0 else len(data)) - p.end
        pos = nxt
    if not found:
        raise FormatError("no intact segment found: nothing of the image can be recovered")
    key, _ = Counter(_image_key(p) for p in found).most_common(1)[0]
    parsed = {p.seg.segment_index: p for p in found if _image_key(p) == key}
    first = next(iter(parsed.values()))
    count = first.seg.segment_count
    header = _header(first, len(data))
    known, values = _place(header_mask(header), parsed, count)
    report = SalvageReport(segments_expected=count, segments_received=len(parsed),
                           lost_segments=sorted(set(range(count)) - set(parsed)),
                           survivors_expected=header.survivors, survivors_recovered=int(known.sum()),
                           bytes_skipped=skipped)
    return header, known, values[known.ravel()], report
