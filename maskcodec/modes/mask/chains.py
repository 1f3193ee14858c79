"""Refinement chains (spec section 6.6): files that add the pixels a larger keep keeps to the files before them.

A chain is a first file and its refinements, in the order written; each
refinement names the file before it by its SHA-256 and codes only its new
pixels, predicted from every pixel the chain already holds.
"""
from __future__ import annotations

import hashlib

import numpy as np

from ... import masks
from ...errors import ChainError, InvalidInputError
from ...framing import container, identify
from ...framing.fixed import MODE_MASK
from ...options import check_max_error
from ...records import Limits, MaskHeader
from ...survivors.predictive import Prior
from .container import CODINGS, describe, encode_pixels, new_pixels, values
from .fields import known_mask

__all__ = ["refine", "read_chain", "read_chain_image"]


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
                                f"{masks.threshold_to_keep(threshold)}")
    max_error = check_max_error(max_error, header.bits)
    h, w = image.shape[:2]
    idx, keys = new_pixels(h, w, threshold, header.keep_threshold, header.seed, header.mask_kind)
    return encode_pixels(image, idx, keys, np.take(image.reshape(h * w, -1), idx, axis=0), bits=header.bits,
                         transforms=(header.transform,), coding=_refinement_coding(header.coding), max_error=max_error, seed=header.seed,
                         threshold=threshold, mask_kind=header.mask_kind, model_id=header.model_id,
                         model_sha256=bytes.fromhex(header.model_sha256) if header.model_id else bytes(32),
                         prior=prior, previous_threshold=header.keep_threshold, predecessor=bytes.fromhex(digest))


def _refinement_coding(coding: str) -> str:
    """A refinement is coded as the chain's last file, or predictive after a scan-coded file (which has no
    coding block to carry the chain)."""
    return coding if CODINGS[coding].block else "predictive"


_SAME_IMAGE = ("shape", "dtype", "bits", "channels", "transform", "seed", "mask_kind")


def _check_link(position: int, header: MaskHeader, before: MaskHeader | None, digest: str) -> None:
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
                         f"keep {masks.threshold_to_keep(header.previous_threshold)}, the file before it ends at keep "
                         f"{before.keep}")
    if header.refines != digest:
        raise ChainError(f"file {position} of the chain refines another file than the one before it (SHA-256 "
                         f"{header.refines[:16]}..., the file before it is {digest[:16]}...): files out of order, "
                         f"or of another encoding of the image")


def read_chain(files, limits: Limits) -> tuple[MaskHeader, Prior, str]:
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
        if identify(data) != "container":
            raise ChainError(f"file {position} of the chain is a segmented stream; "
                f"only single containers (format 1.0) are refined")
        frame = container.parse_header(data, limits)
        if frame.mode != MODE_MASK:
            raise ChainError(f"file {position} of the chain is a latent-mode file; "
                f"only mask-mode files form chains")
        header = describe(frame, limits)
        _check_link(position, header, before, digest)
        payload = container.payload(data, frame)
        idx, v = values(header, payload, prior if prior is not None else Prior.empty(header.channels))
        if prior is None:
            prior = Prior(idx, v.astype(np.int64))
        else:
            merged = np.concatenate([prior.idx, idx])
            order = np.argsort(merged, kind="stable")
            prior = Prior(merged[order], np.concatenate([prior.values, v])[order])
        before, digest = header, hashlib.sha256(data).hexdigest()
    return before, prior, digest


def read_chain_image(files, limits: Limits) -> tuple[MaskHeader, np.ndarray, np.ndarray]:
    """Header of the last file, known-pixel mask ``(H, W)`` and values ``(N, C)`` of a whole chain."""
    header, prior, _ = read_chain(files, limits)
    return header, known_mask(header, prior.idx), prior.values.astype(header.dtype)


