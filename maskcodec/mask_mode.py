"""Mask mode (mode 0): keep a seeded subset of the pixels and send their values (exactly, or within a bound).

Encoding: image -> mask (:mod:`maskcodec.mask`) -> the kept pixels -> a single
container (format 1.0) whose payload codes them coarse to fine, each predicted
from those already coded (:mod:`maskcodec.predictive`), or, with a segment size,
a segmented stream (format 3.0, :mod:`maskcodec.segments`, written as the rows
arrive); format 2.0 streams of scan-order layouts (:mod:`maskcodec.layout`) and
zstd are still read. A *refinement* holds only the pixels a larger keep adds to the files
before it (a chain), predicted from all of them. Decoding goes back to the
header, the mask and the kept values; the inpainting stage
(:mod:`maskcodec.inpaint`) fills the rest.

This module owns what the mode's header fields mean (``spec/format.md``
sections 4-8 and 11): the transform, seed, threshold and survivor count, the
coding block (error bound, the chain a refinement extends), the payload's raw
size, and which survivors each segment holds.
"""
from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field, replace

import numpy as np

from . import inpaint, predictive, segments
from .options import check_max_error
from .errors import ChainError, FormatError, InvalidInputError, LimitExceededError, UnsupportedVersionError
from .format import SYNCS, container, lean_segments, segmented
from .format.header import MODE_MASK, Header, Limits, decode_metadata, fail_if
from .format.zstd_frame import compress, decompress
from .holdout import DecodeReport
from .layout import candidate_transforms, check_transform, pack, unpack, value_bytes
from .mask import MASK_KIND_IDS, MASK_KINDS, keys_at, kept_indices, mask_from_threshold, threshold_to_keep
from .predictive import Prior, max_error_limit

__all__ = ["SalvageReport", "encode", "refine", "choose_transform", "describe", "contents", "read",
           "read_chain", "read_chain_image",
           "decode", "segment_size", "describe_stream", "read_stream", "salvage_stream"]

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


def _predictive(idx: np.ndarray, keys: np.ndarray, values: np.ndarray, prior: Prior, shape: tuple[int, ...],
                bits: int, transforms: tuple[int, ...], max_error: int) -> tuple[int, bytes]:
    """The transform among ``transforms`` whose predictive payload is smallest, and that payload."""
    payloads = {t: predictive.encode(idx, keys, values, prior, shape[:2], bits, t, max_error)[0] for t in transforms}
    best = min(payloads, key=lambda t: len(payloads[t]))
    return best, payloads[best]


def _coding(max_error: int, previous_threshold: int | None = None, predecessor: bytes | None = None) -> dict:
    return dict(max_error=max_error, refines=int(predecessor is not None), previous_threshold=previous_threshold,
                predecessor=predecessor)


def encode(image: np.ndarray, opts) -> bytes:
    """The mask-mode file of a checked ``image`` under resolved options (:class:`maskcodec.options.EncodeOptions`)."""
    if opts.segment_size is not None:  # the stream encoder checks the rows' bits as they arrive
        encoder = segments.StreamEncoder.from_options(image.shape, image.dtype, opts)
        return encoder.write(image) + encoder.close()
    bits = opts.bits_for(image)
    h, w = image.shape[:2]
    kept = kept_indices(h, w, opts.threshold, opts.seed, opts.mask)
    values = np.take(image.reshape(h * w, -1), kept, axis=0)
    if opts.coding == "scan":
        transform = choose_transform(values, bits)
        payload, coding = compress(pack(values, bits, transform)), None
    else:
        coding = _coding(check_max_error(opts.max_error, bits))
        transform, payload = _predictive(kept, keys_at(kept, w, opts.seed, opts.mask), values,
                                         Prior.empty(values.shape[1]), image.shape, bits,
                                         candidate_transforms(values.shape[1]), coding["max_error"])
    return container.build(shape=image.shape, dtype=image.dtype, mode=MODE_MASK, bits=bits, transform=transform,
                           seed=opts.seed, keep_threshold=opts.threshold, survivors=values.shape[0],
                           mask_kind=MASK_KIND_IDS[opts.mask], payload=payload,
                           payload_raw_size=values.size * value_bytes(bits), model_id=opts.model_id,
                           model_sha256=opts.model_sha256, metadata=opts.metadata, coding=coding)


def refine(image: np.ndarray, previous: list[bytes], threshold: int, max_error: int, limits: Limits) -> bytes:
    """A refinement of the chain ``previous`` (spec section 6.6): the pixels of ``image`` that threshold
    ``threshold`` keeps and the chain does not, predicted from everything the chain holds."""
    header, prior, digest = read_chain(previous, limits)
    if image.shape != header.shape or image.dtype != np.dtype(header.dtype):
        raise InvalidInputError(f"image is {image.shape} {image.dtype}; the chain it refines holds a "
                                f"{header.shape} {header.dtype} image")
    if int(image.max(initial=0)) >> header.bits:
        raise InvalidInputError(f"image holds the value {int(image.max())}, which does not fit in the chain's "
                                f"bits={header.bits}: is it the image the chain was encoded from?")
    if threshold <= header.keep_threshold:
        raise InvalidInputError(f"keep (--keep) must be above the chain's keep {header.keep} to add pixels, got "
                                f"{threshold_to_keep(threshold)}")
    max_error = check_max_error(max_error, header.bits)
    h, w = image.shape[:2]
    idx, keys = _new_pixels(h, w, threshold, header.keep_threshold, header.seed, header.mask_kind)
    values = np.take(image.reshape(h * w, -1), idx, axis=0)
    _, payload = _predictive(idx, keys, values, prior, image.shape, header.bits, (header.transform,), max_error)
    return container.build(shape=image.shape, dtype=image.dtype, mode=MODE_MASK, bits=header.bits,
                           transform=header.transform, seed=header.seed, keep_threshold=threshold,
                           survivors=idx.size, mask_kind=header.mask_kind, payload=payload,
                           payload_raw_size=values.size * value_bytes(header.bits), model_id=header.model_id,
                           model_sha256=bytes.fromhex(header.model_sha256) if header.model_id else bytes(32),
                           coding=_coding(max_error, header.keep_threshold, bytes.fromhex(digest)))


def _groups(kept: np.ndarray, width: int, count: int) -> list[np.ndarray]:
    """Positions in ``kept`` (scan-order pixel indices) of each row group ``y mod count``, each ascending
    (one stable sort: work in proportion to the kept pixels, whatever the count)."""
    group = (kept // width) % count
    order = np.argsort(group, kind="stable")
    return np.split(order, np.cumsum(np.bincount(group, minlength=count))[:-1])


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
            payload_size: int, file_size: int, segments: int = 0, coding=None) -> Header:
    refinement = coding is not None and coding.refines == 1
    return Header(version=version, mode="mask", shape=shape, dtype=dtype.name, bits=f.bits, channels=f.channels,
                  seed=f.seed, keep=threshold_to_keep(f.keep_threshold), keep_threshold=f.keep_threshold,
                  transform=f.transform, survivors=f.survivors, mask_kind=f.mask_kind, model_id=model_id,
                  model_sha256=model_sha256.hex() if model_id else "", metadata=metadata, header_size=header_size,
                  payload_size=payload_size, payload_raw_size=f.survivors * f.channels * value_bytes(f.bits),
                  file_size=file_size, segments=segments, coding="scan" if coding is None else "predictive",
                  max_error=0 if coding is None else coding.max_error,
                  previous_threshold=coding.previous_threshold if refinement else None,
                  refines=coding.predecessor.hex() if refinement else "")


def _check_coding(f, coding) -> None:
    """The coding block of a predictive file (spec section 8, check 7): max_error within the sample depth,
    refines 0 or 1, a refinement's previous threshold below its own."""
    fail_if(coding.max_error > max_error_limit(f.bits), FormatError,
            f"max_error {coding.max_error} is out of range for bits={f.bits}: expected 0..{max_error_limit(f.bits)}")
    fail_if(coding.refines not in (0, 1), FormatError, f"refines is {coding.refines}; expected 0 (a first file) "
                                                         f"or 1 (a refinement)")
    fail_if(coding.refines == 1 and coding.previous_threshold >= f.keep_threshold, FormatError,
            f"a refinement's previous threshold {coding.previous_threshold} must be below its keep threshold "
            f"{f.keep_threshold}")


def describe(frame: container.Frame, limits: Limits = Limits()) -> Header:
    """The header of a mask-mode single container, its mode fields checked (mask mode has no limits
    beyond the format's: ``limits`` is there for the modes' common contract)."""
    f = frame.fixed
    _check_fields(f)
    if frame.coding is not None:
        _check_coding(f, frame.coding)
        least = predictive.least_payload_size(f.survivors, f.channels)
        fail_if(frame.payload_size < least, FormatError,
                f"predictive payload of {frame.payload_size} bytes cannot hold {f.survivors} x {f.channels} codes "
                f"(at least {least} bytes: Rice parameters, unary size, one bit per code)")
    expected = f.survivors * f.channels * value_bytes(f.bits)
    fail_if(frame.payload_raw_size != expected, FormatError,
            f"payload_raw_size is {frame.payload_raw_size}, expected {expected} ({f.survivors} pixels x "
            f"{f.channels} channels x {value_bytes(f.bits)} bytes per value at {f.bits} bits)")
    return _header(f, frame.dtype, frame.shape, version=frame.version, model_id=frame.model_id,
                   model_sha256=frame.model_sha256, metadata=frame.metadata, header_size=frame.header_size,
                   payload_size=frame.payload_size, file_size=frame.file_size, coding=frame.coding)


def header_mask(header: Header) -> np.ndarray:
    """The mask a header describes, checked against its survivor count (spec section 8, check 11)."""
    m = mask_from_threshold(header.shape, header.keep_threshold, header.seed, MASK_KINDS[header.mask_kind])
    n = int(np.count_nonzero(m))
    fail_if(n != header.survivors, FormatError,
            f"header says {header.survivors} kept pixels but the mask for seed {header.seed} keeps {n}: "
            f"the file is inconsistent")
    return m


def _new_pixels(h: int, w: int, threshold: int, previous: int | None, seed: int, kind: int
                ) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (ascending) and keys of the pixels kept at ``threshold`` and not at ``previous``."""
    idx = kept_indices(h, w, threshold, seed, MASK_KINDS[kind])
    keys = keys_at(idx, w, seed, MASK_KINDS[kind])
    if previous is None:
        return idx, keys
    new = keys > previous
    return idx[new], keys[new]


def _coded_pixels(header: Header) -> tuple[np.ndarray, np.ndarray]:
    """The pixels a predictive file codes (its new pixels, for a refinement), checked against its count."""
    idx, keys = _new_pixels(header.shape[0], header.shape[1], header.keep_threshold, header.previous_threshold,
                            header.seed, header.mask_kind)
    fail_if(idx.size != header.survivors, FormatError,
            f"header says {header.survivors} kept pixels but the mask for seed {header.seed} "
            f"{'adds' if header.refines else 'keeps'} {idx.size}: the file is inconsistent")
    return idx, keys


def contents(header: Header, payload: bytes) -> bytes:
    """What a mask-mode payload codes: the survivor layout, decompressed (check 10); a predictive payload
    (section 6.5) is its own exact bytes."""
    return payload if header.coding == "predictive" else decompress(payload, header.payload_raw_size)


def _predicted(header: Header, payload: bytes, prior: Prior) -> tuple[np.ndarray, np.ndarray]:
    """The pixels and their decoded values ``(n, C)`` (int64) of a predictive file, given what came before."""
    idx, keys = _coded_pixels(header)
    return idx, predictive.decode(payload, idx, keys, prior, header.shape[:2], header.bits, header.transform,
                                  header.max_error, header.channels)


def _first_file(header: Header, payload: bytes) -> tuple[np.ndarray, np.ndarray]:
    """The kept pixels (flat indices, ascending) and values ``(N, C)`` of a file that is not a refinement
    (checks 10-12); a refinement alone is a ChainError."""
    if header.refines:
        raise ChainError(f"this file is a refinement: it holds only the pixels added to the file with SHA-256 "
                         f"{header.refines[:16]}...; decode it after the files it refines, in order: "
                         f"maskcodec.decode([base, ..., this]) or maskcodec decode base.mcx ... this.mcx")
    if header.coding == "predictive":
        return _predicted(header, payload, Prior.empty(header.channels))
    raw = contents(header, payload)
    idx = np.flatnonzero(header_mask(header))
    return idx, unpack(raw, header.survivors, header.channels, header.bits, header.transform)


def _known_mask(header: Header, idx: np.ndarray) -> np.ndarray:
    known = np.zeros(header.shape[0] * header.shape[1], bool)
    known[idx] = True
    return known.reshape(header.shape[:2])


def read(header: Header, payload: bytes) -> tuple[Header, np.ndarray, np.ndarray]:
    """Header, mask ``(H, W)`` and kept values ``(N, C)`` of a mask-mode container (checks 10-12)."""
    idx, values = _first_file(header, payload)
    return header, _known_mask(header, idx), values.astype(header.dtype, copy=False)


_SAME_IMAGE = ("shape", "dtype", "bits", "channels", "transform", "seed", "mask_kind")


def _check_link(position: int, header: Header, before: Header | None, digest: str) -> None:
    """File ``position`` (1-based) of a chain against the file before it (spec section 6.6)."""
    if before is None:
        if header.refines:
            raise ChainError(f"the chain's first file is a refinement (of the file with SHA-256 "
                             f"{header.refines[:16]}...); start with the first file written and give the "
                             f"refinements after it, in the order they were written")
        return
    if not header.refines:
        raise ChainError(f"file {position} of the chain is not a refinement: a chain is one first file and "
                         f"then refinements, in the order they were written")
    differs = [name for name in _SAME_IMAGE if getattr(header, name) != getattr(before, name)]
    if differs:
        raise ChainError(f"file {position} of the chain is of another image than the file before it "
                         f"({', '.join(differs)} differ)")
    if header.previous_threshold != before.keep_threshold:
        raise ChainError(f"a link is missing before file {position} of the chain: it extends a chain that ends at "
                         f"keep {threshold_to_keep(header.previous_threshold)}, the file before it ends at keep "
                         f"{before.keep}")
    if header.refines != digest:
        raise ChainError(f"file {position} of the chain refines another file than the one before it (SHA-256 "
                         f"{header.refines[:16]}..., the file before it is {digest[:16]}...): files out of order, "
                         f"or of another encoding of the image")


def read_chain(files, limits: Limits) -> tuple[Header, Prior, str]:
    """The last header of a chain (a first file and its refinements, in order), every pixel it holds
    (flat indices ascending, values ``(N, C)`` int64) and the SHA-256 (hex) of its last file; each link
    checked (:class:`~maskcodec.errors.ChainError`)."""
    if isinstance(files, (bytes, bytearray, memoryview)):
        files = [files]
    files = list(files)
    if not files:
        raise InvalidInputError("a chain needs at least one file (the first file written)")
    before, prior, digest = None, None, ""
    for position, data in enumerate(files, 1):
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise InvalidInputError(f"file {position} of the chain is a {type(data).__name__}, not bytes")
        data = bytes(data)
        fail_if(data[:4] in SYNCS, ChainError, f"file {position} of the chain is a segmented stream; "
                                                        f"only single containers (format 1.0) are refined")
        frame = container.parse_header(data, limits)
        fail_if(frame.mode != MODE_MASK, ChainError, f"file {position} of the chain is a latent-mode file; "
                                                     f"only mask-mode files form chains")
        header = describe(frame, limits)
        _check_link(position, header, before, digest)
        payload = container.payload(data, frame)
        if prior is None:
            idx, values = _first_file(header, payload)
            prior = Prior(idx, values.astype(np.int64))
        else:
            idx, values = _predicted(header, payload, prior)
            merged = np.concatenate([prior.idx, idx])
            order = np.argsort(merged, kind="stable")
            prior = Prior(merged[order], np.concatenate([prior.values, values])[order])
        before, digest = header, hashlib.sha256(data).hexdigest()
    return before, prior, digest


def read_chain_image(files, limits: Limits) -> tuple[Header, np.ndarray, np.ndarray]:
    """Header of the last file, known-pixel mask ``(H, W)`` and values ``(N, C)`` of a whole chain."""
    header, prior, _ = read_chain(files, limits)
    return header, _known_mask(header, prior.idx), prior.values.astype(header.dtype)


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


def _lean_header(desc, file_size: int, count: int) -> Header:
    """The header of a lean stream (format 3.0) from its description (mode fields and error bound checked)."""
    f = desc.fixed
    _check_fields(f)
    fail_if(desc.max_error > max_error_limit(f.bits), FormatError,
            f"max_error {desc.max_error} is out of range for {f.bits}-bit samples (at most {max_error_limit(f.bits)})")
    header = _header(f, desc.dtype, desc.shape, version=(f.version_major, f.version_minor), model_id=desc.model_id,
                     model_sha256=desc.model_sha256, metadata=decode_metadata(desc.metadata),
                     header_size=lean_segments.HEAD_SIZE + len(desc.raw), payload_size=0, file_size=file_size,
                     segments=count)
    return replace(header, coding="segment", max_error=desc.max_error)


def _lean(data) -> bool:
    """Whether a stream is a lean one (format 3.0): it starts with the 3.0 sync marker, or, starting with
    neither marker (damaged), holds it somewhere."""
    if lean_segments.is_lean(data) or segmented.is_segmented(data):
        return lean_segments.is_lean(data)
    return bytes(data).find(lean_segments.SYNC) >= 0


def segment_size(data: bytes) -> int:
    """The size of a stream's first intact segment (0 when none is)."""
    if _lean(data):
        first = next(segments.intact(bytes(data), Limits(), lambda d: None), None)
        return first.size if first else 0
    found = segmented.scan(data, Limits(), lambda s: None)[0]
    return found[0][0].end - found[0][0].start if found else 0


def describe_stream(data: bytes, limits: Limits) -> Header:
    """The header of a segmented stream, from its first segment (framing and mode fields checked)."""
    if _lean(data):
        s = lean_segments.parse(bytes(data), 0, limits)
        fail_if(s.description is None, FormatError, "segment 0 does not carry the image description")
        return _lean_header(s.description, len(data), len(data) // s.size)
    s = segmented.parse(bytes(data), 0, limits)
    _check_fields(s.fixed)
    return _stream_header(s, len(data))


def _place(header: Header, m: np.ndarray, parts: dict) -> tuple[np.ndarray, np.ndarray]:
    """Known-pixel mask and flat values ``(H*W, C)`` from the segments received, by index (format 2.0)."""
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
    if _lean(data):
        desc, segs = segments.read_all(data, limits, lambda d: _lean_header(d, 0, 0))
        header = _lean_header(desc, len(data), len(segs))
        m = header_mask(header)
        at, values = segments.values_of(desc, [(s, segments.codes(desc, s)) for s in segs], np.flatnonzero(m))
        out = np.empty_like(values)
        out[at] = values
        return header, m, out.astype(desc.dtype)
    parts = segmented.read_all(data, limits, lambda s: _segment_values(s, limits))
    header = _stream_header(parts[0][0], len(data))
    m = header_mask(header)
    _, values = _place(header, m, {s.index: v for s, v in parts})
    return header, m, values[m.ravel()]


def _salvage_lean(data: bytes, limits: Limits) -> tuple[Header, np.ndarray, np.ndarray, SalvageReport]:
    desc, found, skipped = segments.scan(data, limits, lambda d: _lean_header(d, 0, 0))
    fail_if(desc is None, FormatError, "no intact segment carries the image description: nothing of the image "
                                       "can be recovered")
    header = _lean_header(desc, len(data), 0)
    kept = np.flatnonzero(header_mask(header))
    good, end = [], 0
    for s in found:  # in order of their runs: drop a run that overlaps the last one kept or whose codes fail
        if s.first < end:
            continue
        try:
            good.append((s, segments.codes(desc, s)))
        except FormatError:
            continue
        end = s.first + s.count
    at, values = segments.values_of(desc, good, kept)
    indices = {s.index for s, _ in good}
    last = max(indices, default=-1)
    tail = not good or good[-1][0].first + good[-1][0].count < header.survivors
    expected = last + 1 + int(tail)  # at least: segments after the last received are not counted
    report = SalvageReport(segments_expected=expected, segments_received=len(good),
                           lost_segments=sorted(set(range(expected)) - indices), survivors_expected=header.survivors,
                           survivors_recovered=int(at.size), bytes_skipped=skipped)
    return (replace(header, segments=expected), _known_mask(header, kept[at]),
            values[np.argsort(at)].astype(desc.dtype), report)


def salvage_stream(data: bytes, limits: Limits) -> tuple[Header, np.ndarray, np.ndarray, SalvageReport]:
    """Every intact segment of a damaged stream: header, known-pixel mask, values ``(N_known, C)``, report."""
    if _lean(data):
        return _salvage_lean(bytes(data), limits)
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
