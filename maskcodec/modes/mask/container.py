"""Mask mode in the single container (format 1.0): the kept pixels of one image, coded in one payload.

Encoding: image -> mask (:mod:`maskcodec.masks`) -> the kept pixels -> a payload
in one of the :data:`CODINGS`: ``"ranked"`` (the default; coarse to fine in rank
order, each value predicted from those already coded and range coded,
:mod:`maskcodec.survivors.ranked`), ``"predictive"`` (the same predictions in Rice
codes, :mod:`maskcodec.survivors.predictive`) or ``"scan"`` (scan-order deltas and
zstd, :mod:`maskcodec.survivors.scan`).
Decoding goes back to the header, the mask and the kept values; the
inpainting stage fills the rest. A *refinement* (:mod:`.chains`) holds only the
pixels a larger keep adds to the files before it.

This module owns what the container's mask-mode fields mean (``spec/format.md``
sections 4-8): the coding block (error bound, the chain a refinement extends)
and the payload's raw size.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np

from ... import masks
from ...errors import ChainError, FormatError
from ...framing import container
from ...framing.fixed import FLAG_PREDICTIVE, FLAG_RANKED, MODE_MASK
from ...framing.zstd_frame import compress, decompress
from ...records import Limits, MaskHeader
from ...survivors import predictive, ranked
from ...survivors.predictive import Prior, max_error_limit
from ...survivors.scan import pack, unpack, value_bytes
from ...survivors.transform import candidate_transforms
from .fields import check_mask_fields, header_mask, known_mask, mask_header

__all__ = ["Coding", "CODINGS", "encode", "encode_pixels", "describe", "contents", "read", "new_pixels", "values"]


class Coding(NamedTuple):
    """A survivor coding of the single container: its payload for the kept values (given the transforms
    to try; returns the transform chosen and the payload), and the values ``(N, C)`` a payload codes."""

    encode: Callable[..., tuple[int, bytes]]
    decode: Callable[[MaskHeader, bytes, np.ndarray, np.ndarray, Prior], np.ndarray]
    flags: int  # the header's coding flags: 0, or bit 1 (a coding block: max_error and the chain) and bit 2
    least: Callable[[int, int], int]  # the fewest payload bytes for (survivors, channels)

    @property
    def block(self) -> bool:
        return bool(self.flags & FLAG_PREDICTIVE)


def _predictive_coding(coder) -> Coding:
    """The coding of a predictive coder module (``encode``/``decode`` of spec 6.5 or 6.7): the smallest payload
    over the transforms to try."""
    def encode(idx, keys, values, prior: Prior, shape, bits: int, transforms, max_error: int):
        payloads = {t: coder.encode(idx, keys, values, prior, shape[:2], bits, t, max_error)[0] for t in transforms}
        best = min(payloads, key=lambda t: len(payloads[t]))
        return best, payloads[best]

    def decode(header: MaskHeader, payload: bytes, idx, keys, prior: Prior) -> np.ndarray:
        return coder.decode(payload, idx, keys, prior, header.shape[:2], header.bits, header.transform,
                            header.max_error, header.channels)
    return encode, decode


def _encode_scan(idx, keys, values, prior: Prior, shape, bits: int, transforms, max_error: int):
    layouts = {t: compress(pack(values, bits, t)) for t in transforms}
    best = min(layouts, key=lambda t: len(layouts[t]))
    return best, layouts[best]


def _decode_scan(header: MaskHeader, payload: bytes, idx, keys, prior: Prior) -> np.ndarray:
    return unpack(decompress(payload, header.payload_raw_size), header.survivors, header.channels, header.bits,
                  header.transform)


# how the kept values of a single container are coded (spec sections 6.7, 6.5 and 6); a new coding is one line here
CODINGS = {"ranked": Coding(*_predictive_coding(ranked), flags=FLAG_PREDICTIVE | FLAG_RANKED,
                            least=lambda n, c: ranked.LEAST_PAYLOAD),
           "predictive": Coding(*_predictive_coding(predictive), flags=FLAG_PREDICTIVE,
                                least=predictive.least_payload_size),
           "scan": Coding(_encode_scan, _decode_scan, flags=0, least=lambda n, c: 0)}
_BY_FLAGS = {c.flags: name for name, c in CODINGS.items()}
_CODING_FLAGS = FLAG_PREDICTIVE | FLAG_RANKED


def _coding_block(max_error: int, previous_threshold: int | None = None, predecessor: bytes | None = None) -> dict:
    return dict(max_error=max_error, refines=int(predecessor is not None), previous_threshold=previous_threshold,
                predecessor=predecessor)


def encode(image: np.ndarray, opts) -> bytes:
    """The single container of a checked ``image`` under options settled for it (:func:`maskcodec.options.prepare`)."""
    h, w = image.shape[:2]
    kept, keys = masks.kept(h, w, opts.threshold, opts.seed, opts.mask, keys=CODINGS[opts.coding].block)
    values = np.take(image.reshape(h * w, -1), kept, axis=0)
    return encode_pixels(image, kept, keys, values, bits=opts.bits, transforms=candidate_transforms(values.shape[1]),
                         coding=opts.coding, max_error=opts.max_error, seed=opts.seed, threshold=opts.threshold,
                         mask_kind=masks.KIND_IDS[opts.mask], model_id=opts.model_id,
                         model_sha256=opts.model_sha256, metadata=opts.metadata)


def encode_pixels(image: np.ndarray, idx, keys, values, *, bits: int, transforms, coding: str, max_error: int,
                  seed: int, threshold: int, mask_kind: int, model_id: str, model_sha256: bytes, metadata: bytes = b"",
                  prior: Prior | None = None, previous_threshold: int | None = None,
                  predecessor: bytes | None = None) -> bytes:
    """The container of the pixels ``idx`` (their ``keys`` and ``values``) of ``image``: a first file, or with
    ``prior`` a refinement of the chain that holds it (``max_error`` checked against ``bits`` by the caller)."""
    scheme = CODINGS[coding]
    block = _coding_block(max_error, previous_threshold, predecessor) if scheme.block else None
    prior = prior if prior is not None else Prior.empty(values.shape[1])
    transform, payload = scheme.encode(idx, keys, values, prior, image.shape, bits, transforms,
                                       block["max_error"] if block else 0)
    return container.build(shape=image.shape, dtype=image.dtype, mode=MODE_MASK, bits=bits, transform=transform,
                           seed=seed, keep_threshold=threshold, survivors=values.shape[0], mask_kind=mask_kind,
                           payload=payload, payload_raw_size=values.size * value_bytes(bits), model_id=model_id,
                           model_sha256=model_sha256, metadata=metadata, coding=block,
                           ranked=bool(scheme.flags & FLAG_RANKED))


# ---------------------------------------------------------------- decoding

def describe(frame: container.Frame, limits: Limits = Limits()) -> MaskHeader:
    """The header of a mask-mode single container, its mode fields checked (spec section 8, check 7; mask
    mode has no limits beyond the format's: ``limits`` is there for the modes' common contract)."""
    f, block = frame.fixed, frame.coding
    check_mask_fields(f)
    coding = _BY_FLAGS.get(f.flags & _CODING_FLAGS)
    if coding is None:
        raise FormatError(f"flags {f.flags:#06x}: bit 2 (ranked) is set without bit 1 (predictive); a ranked payload "
                          f"needs the coding block bit 1 announces")
    if block is not None:  # the coding block: max_error within the sample depth, refines 0 or 1
        if block.max_error > max_error_limit(f.bits):
            raise FormatError(f"max_error {block.max_error} is out of range for bits={f.bits}: expected "
                              f"0..{max_error_limit(f.bits)}")
        if block.refines not in (0, 1):
            raise FormatError(f"refines is {block.refines}; expected 0 (a first file) or 1 (a refinement)")
        if block.refines == 1 and block.previous_threshold >= f.keep_threshold:
            raise FormatError(f"a refinement's previous threshold {block.previous_threshold} must be below its keep "
                              f"threshold {f.keep_threshold}")
        least = CODINGS[coding].least(f.survivors, f.channels)
        if frame.payload_size < least:
            raise FormatError(f"{coding} payload of {frame.payload_size} bytes cannot hold {f.survivors} x "
                              f"{f.channels} codes (at least {least} bytes)")
    expected = f.survivors * f.channels * value_bytes(f.bits)
    if frame.payload_raw_size != expected:
        raise FormatError(f"payload_raw_size is {frame.payload_raw_size}, expected {expected} ({f.survivors} pixels "
                          f"x {f.channels} channels x {value_bytes(f.bits)} bytes per value at {f.bits} bits)")
    refinement = block is not None and block.refines == 1
    return mask_header(f, frame.dtype, frame.shape, version=frame.version, model_id=frame.model_id,
                       model_sha256=frame.model_sha256, metadata=frame.metadata, header_size=frame.header_size,
                       payload_size=frame.payload_size, file_size=frame.file_size,
                       coding=coding,
                       max_error=0 if block is None else block.max_error,
                       previous_threshold=block.previous_threshold if refinement else None,
                       refines=block.predecessor if refinement else None)


def new_pixels(h: int, w: int, threshold: int, previous: int | None, seed: int, kind: int
               ) -> tuple[np.ndarray, np.ndarray]:
    """Flat indices (ascending) and keys of the pixels kept at ``threshold`` and not at ``previous``."""
    idx, keys = masks.kept(h, w, threshold, seed, masks.KINDS[kind].name, keys=True)
    if previous is None:
        return idx, keys
    new = keys > previous
    return idx[new], keys[new]


def contents(header: MaskHeader, payload: bytes) -> bytes:
    """What a mask-mode payload codes: the survivor layout, decompressed (check 10); a predictive payload
    (section 6.5) or a ranked one (6.7) is its own exact bytes."""
    return decompress(payload, header.payload_raw_size) if header.coding == "scan" else payload


def values(header: MaskHeader, payload: bytes, prior: Prior) -> tuple[np.ndarray, np.ndarray]:
    """The pixels (flat indices, ascending) a file codes (its new pixels, for a refinement) and their values
    ``(n, C)``, given what the chain before it holds (checks 10-12)."""
    if CODINGS[header.coding].block:
        idx, keys = new_pixels(header.shape[0], header.shape[1], header.keep_threshold, header.previous_threshold,
                               header.seed, header.mask_kind)
        if idx.size != header.survivors:
            raise FormatError(f"header says {header.survivors} kept pixels but the mask for seed {header.seed} "
                              f"{'adds' if header.refines else 'keeps'} {idx.size}: the file is inconsistent")
    else:
        idx, keys = np.flatnonzero(header_mask(header)), None
    return idx, CODINGS[header.coding].decode(header, payload, idx, keys, prior)


def read(header: MaskHeader, payload: bytes) -> tuple[MaskHeader, np.ndarray, np.ndarray]:
    """Header, mask ``(H, W)`` and kept values ``(N, C)`` of a mask-mode container that is not a refinement;
    a refinement alone is a ChainError."""
    if header.refines:
        raise ChainError(f"this file is a refinement: it holds only the pixels added to the file with SHA-256 "
                         f"{header.refines[:16]}...; decode it after the files it refines, in order: "
                         f"maskcodec.decode([base, ..., this]) or maskcodec decode base.mcx ... this.mcx")
    idx, v = values(header, payload, Prior.empty(header.channels))
    return header, known_mask(header, idx), v.astype(header.dtype, copy=False)
