"""Mask mode (mode 0): keep a seeded subset of the pixels and send their values exactly.

Encoding: image -> mask (:mod:`maskcodec.mask`) -> the kept pixels in scan
order -> survivor layout (:mod:`maskcodec.layout`) -> zstd -> a single
container (format 1.0) or, with a segment size, a segmented stream (format
2.0). Decoding goes back to the header, the mask and the kept values; the
inpainting stage (:mod:`maskcodec.inpaint`) fills the rest.

This module owns what the mode's header fields mean (``spec/format.md``
sections 4-8 and 11.2): the transform, seed, threshold and survivor count, the
payload's raw size, and which survivors each segment holds.
"""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass, field

import numpy as np

from . import inpaint
from .errors import FormatError, InvalidInputError, LimitExceededError, UnsupportedVersionError
from .format import container, segmented
from .format.header import MODE_MASK, Header, Limits, build_fixed, fail_if
from .format.zstd_frame import compress, decompress
from .holdout import DecodeReport
from .layout import candidate_transforms, check_transform, pack, unpack, value_bytes
from .mask import MASK_KIND_IDS, MASK_KINDS, kept_indices, mask_from_threshold, threshold_to_keep

__all__ = ["SalvageReport", "encode", "choose_transform", "describe", "contents", "read", "decode", "describe_stream",
           "read_stream", "salvage_stream", "ZSTD_ALLOWANCE"]

ZSTD_ALLOWANCE = 16  # bytes a segment's first-guess count allows for a zstd frame's own header (spec 11.2)


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


# ---------------------------------------------------------------- encoding

def choose_transform(values: np.ndarray, bits: int) -> int:
    """The survivor transform for ``values`` ``(N, C)``: the candidate whose payload is smallest."""
    candidates = candidate_transforms(values.shape[1])
    if len(candidates) == 1:
        return candidates[0]
    return min(candidates, key=lambda t: len(compress(pack(values, bits, t))))


def encode(image: np.ndarray, opts) -> bytes:
    """The mask-mode file of a checked ``image`` under resolved options (:class:`maskcodec.options.EncodeOptions`)."""
    bits = opts.bits_for(image)
    h, w = image.shape[:2]
    kept = kept_indices(h, w, opts.threshold, opts.seed, opts.mask)
    values = np.take(image.reshape(h * w, -1), kept, axis=0)
    transform = choose_transform(values, bits)
    if opts.segment_size is not None:
        return _segmented(image, kept, values, bits, transform, opts)
    raw = pack(values, bits, transform)
    return container.build(shape=image.shape, dtype=image.dtype, mode=MODE_MASK, bits=bits, transform=transform,
                           seed=opts.seed, keep_threshold=opts.threshold, survivors=values.shape[0],
                           mask_kind=MASK_KIND_IDS[opts.mask], payload=compress(raw), payload_raw_size=len(raw), model_id=opts.model_id,
                           model_sha256=opts.model_sha256, metadata=opts.metadata)


def _groups(kept: np.ndarray, width: int, count: int) -> list[np.ndarray]:
    """Positions in ``kept`` (scan-order pixel indices) of each row group ``y mod count``."""
    group = (kept // width) % count
    return [np.flatnonzero(group == k) for k in range(count)]


def _segmented(image: np.ndarray, kept: np.ndarray, values: np.ndarray, bits: int, transform: int, opts) -> bytes:
    """The segmented stream (spec section 11.2): the smallest segment count, from a first guess, whose
    segments all fit in ``opts.segment_size`` bytes."""
    h, w = image.shape[:2]
    size = opts.segment_size
    fixed = build_fixed(segmented.SYNC, segmented.VERSION, shape=image.shape, dtype=image.dtype, mode=MODE_MASK,
                        bits=bits, transform=transform, seed=opts.seed, keep_threshold=opts.threshold,
                        survivors=values.shape[0], mask_kind=MASK_KIND_IDS[opts.mask])
    space = size - segmented.overhead(opts.model_id) - ZSTD_ALLOWANCE
    whole = len(compress(pack(values, bits, transform)))
    count = max(1, math.ceil(whole / max(1, space)))
    top = min(h, segmented.MAX_COUNT)
    while True:
        count = min(count, top)
        parts = [segmented.build(fixed, index=k, count=count, survivors=idx.size,
                                 payload=compress(pack(values[idx], bits, transform)), size=size,
                                 model_id=opts.model_id, model_sha256=opts.model_sha256)
                 for k, idx in enumerate(_groups(kept, w, count))]
        if all(p is not None for p in parts):
            return b"".join(parts)
        if count == top:
            raise InvalidInputError(f"segment_size (--segment-size) {size} is too small for this {h} x {w} image: "
                                    f"{top} segments (one per row, at most {segmented.MAX_COUNT}) do not fit it")
        count += 1


# ---------------------------------------------------------------- decoding

def _check_fields(f) -> None:
    """The mask-mode fields of a fixed header (spec section 8, check 7): mask kind, transform, survivor count."""
    fail_if(f.mask_kind not in MASK_KINDS, UnsupportedVersionError,
            f"mask kind {f.mask_kind} is unknown here; this decoder reads "
            f"{', '.join(f'{k} ({n})' for k, n in MASK_KINDS.items())}")
    check_transform(f.transform, f.channels)
    fail_if(f.survivors > f.height * f.width, FormatError,
            f"header claims {f.survivors} kept pixels in an image of {f.height * f.width}")


def _header(f, dtype, shape, *, version, model_id: str, model_sha256: bytes, metadata: dict, header_size: int,
            payload_size: int, file_size: int, segments: int = 0) -> Header:
    return Header(version=version, mode="mask", shape=shape, dtype=dtype.name, bits=f.bits, channels=f.channels,
                  seed=f.seed, keep=threshold_to_keep(f.keep_threshold), keep_threshold=f.keep_threshold,
                  transform=f.transform, survivors=f.survivors, mask_kind=f.mask_kind, model_id=model_id,
                  model_sha256=model_sha256.hex() if model_id else "", metadata=metadata, header_size=header_size,
                  payload_size=payload_size, payload_raw_size=f.survivors * f.channels * value_bytes(f.bits),
                  file_size=file_size, segments=segments)


def describe(frame: container.Frame, limits: Limits = Limits()) -> Header:
    """The header of a mask-mode single container, its mode fields checked (mask mode has no limits
    beyond the format's: ``limits`` is there for the modes' common contract)."""
    f = frame.fixed
    _check_fields(f)
    expected = f.survivors * f.channels * value_bytes(f.bits)
    fail_if(frame.payload_raw_size != expected, FormatError,
            f"payload_raw_size is {frame.payload_raw_size}, expected {expected} ({f.survivors} pixels x "
            f"{f.channels} channels x {value_bytes(f.bits)} bytes per value at {f.bits} bits)")
    return _header(f, frame.dtype, frame.shape, version=frame.version, model_id=frame.model_id,
                   model_sha256=frame.model_sha256, metadata=frame.metadata, header_size=frame.header_size,
                   payload_size=frame.payload_size, file_size=frame.file_size)


def header_mask(header: Header) -> np.ndarray:
    """The mask a header describes, checked against its survivor count (spec section 8, check 11)."""
    m = mask_from_threshold(header.shape, header.keep_threshold, header.seed, MASK_KINDS[header.mask_kind])
    n = int(np.count_nonzero(m))
    fail_if(n != header.survivors, FormatError,
            f"header says {header.survivors} kept pixels but the mask for seed {header.seed} keeps {n}: "
            f"the file is inconsistent")
    return m


def contents(header: Header, payload: bytes) -> bytes:
    """What a mask-mode payload codes: the survivor layout, decompressed (check 10)."""
    return decompress(payload, header.payload_raw_size)


def read(header: Header, payload: bytes) -> tuple[Header, np.ndarray, np.ndarray]:
    """Header, mask ``(H, W)`` and kept values ``(N, C)`` of a mask-mode container (checks 10-12)."""
    raw = contents(header, payload)
    m = header_mask(header)
    values = unpack(raw, header.survivors, header.channels, header.bits, header.transform)
    return header, m, values.astype(header.dtype, copy=False)


def decode(header: Header, payload: bytes, inpainter: str, estimate: bool = False) -> tuple[np.ndarray, DecodeReport]:
    """The image of a mask-mode container (kept pixels exact, the rest inpainted by ``inpainter``) and what
    filled it (:func:`maskcodec.inpaint.fill`)."""
    return inpaint.fill(*read(header, payload), inpainter, estimate)


def _segment_values(s: segmented.Segment, limits: Limits) -> np.ndarray:
    """The kept values ``(n_k, C)`` of one segment: its mode fields checked, its payload decoded."""
    f = s.fixed
    raw_size = s.survivors * f.channels * value_bytes(f.bits)
    _check_fields(f)
    fail_if(raw_size > limits.max_payload_raw, LimitExceededError,
            f"segment payload of {raw_size} bytes exceeds the limit of {limits.max_payload_raw}")
    raw = decompress(s.payload, raw_size)
    return unpack(raw, s.survivors, f.channels, f.bits, f.transform).astype(s.dtype, copy=False)


def _stream_header(s: segmented.Segment, file_size: int) -> Header:
    f = s.fixed
    return _header(f, s.dtype, s.shape, version=(f.version_major, f.version_minor), model_id=s.model_id,
                   model_sha256=s.model_sha256, metadata={}, header_size=s.header_size,
                   payload_size=len(s.payload), file_size=file_size, segments=s.count)


def describe_stream(data: bytes, limits: Limits) -> Header:
    """The header of a segmented stream, from its first segment (framing and mode fields checked)."""
    s = segmented.parse(bytes(data), 0, limits)
    _check_fields(s.fixed)
    return _stream_header(s, len(data))


def _place(header: Header, m: np.ndarray, parts: dict) -> tuple[np.ndarray, np.ndarray]:
    """Known-pixel mask and flat values ``(H*W, C)`` from the segments received, by index."""
    h, w = m.shape
    kept = np.flatnonzero(m)
    groups = _groups(kept, w, header.segments)
    values = np.zeros((h * w, header.channels), np.dtype(header.dtype))
    known = np.zeros(h * w, bool)
    for k, v in parts.items():
        idx = kept[groups[k]]
        fail_if(idx.size != v.shape[0], FormatError,
                f"segment {k} holds {v.shape[0]} kept pixels, the mask has {idx.size} in its rows")
        values[idx] = v
        known[idx] = True
    return known.reshape(h, w), values


def read_stream(data: bytes, limits: Limits) -> tuple[Header, np.ndarray, np.ndarray]:
    """Strict read of a segmented stream: header, mask ``(H, W)`` and kept values ``(N, C)``."""
    parts = segmented.read_all(data, limits, lambda s: _segment_values(s, limits))
    header = _stream_header(parts[0][0], len(data))
    m = header_mask(header)
    _, values = _place(header, m, {s.index: v for s, v in parts})
    return header, m, values[m.ravel()]


def salvage_stream(data: bytes, limits: Limits) -> tuple[Header, np.ndarray, np.ndarray, SalvageReport]:
    """Every intact segment of a damaged stream: header, known-pixel mask, values ``(N_known, C)``, report."""
    found, skipped = segmented.scan(data, limits, lambda s: _segment_values(s, limits))
    if not found:
        raise FormatError("no intact segment found: nothing of the image can be recovered")
    key, _ = Counter(s.image_key() for s, _ in found).most_common(1)[0]
    parts = {s.index: (s, v) for s, v in found if s.image_key() == key}
    header = _stream_header(next(iter(parts.values()))[0], len(data))
    known, values = _place(header, header_mask(header), {k: v for k, (_, v) in parts.items()})
    count = header.segments
    report = SalvageReport(segments_expected=count, segments_received=len(parts),
                           lost_segments=sorted(set(range(count)) - set(parts)),
                           survivors_expected=header.survivors, survivors_recovered=int(known.sum()),
                           bytes_skipped=skipped)
    return header, known, values[known.ravel()], report
