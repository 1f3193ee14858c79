"""What mask mode's header fields mean, shared by the single container, chains and the lean stream.

Spec section 8, check 7 (the mask kind, transform and survivor count), the
header record a mask-mode file or stream describes (:class:`maskcodec.records.MaskHeader`),
and the mask it names (check 11).
"""
from __future__ import annotations

import numpy as np

from ... import masks
from ...errors import FormatError, UnsupportedVersionError
from ...records import MaskHeader
from ...survivors.scan import value_bytes
from ...survivors.transform import check_transform

__all__ = ["check_mask_fields", "mask_header", "header_mask", "known_mask"]


def check_mask_fields(f) -> None:
    """The mask-mode fields of a fixed header (spec section 8, check 7): mask kind, transform, survivor count."""
    if f.mask_kind not in masks.KINDS:
        raise UnsupportedVersionError(f"mask kind {f.mask_kind} is unknown here; this decoder reads "
                                      f"{', '.join(f'{k} ({kind.name})' for k, kind in masks.KINDS.items())}")
    check_transform(f.transform, f.channels)
    if f.survivors > f.height * f.width:
        raise FormatError(f"header claims {f.survivors} kept pixels in an image of {f.height * f.width}")


def mask_header(f, dtype, shape, *, version, model_id: str, model_sha256: bytes, metadata: dict, header_size: int,
                payload_size: int, file_size: int, coding: str, max_error: int = 0, segments: int = 0,
                previous_threshold: int | None = None, refines: bytes | None = None) -> MaskHeader:
    """The header record of a mask-mode file or stream from its parsed fixed fields ``f``."""
    return MaskHeader(version=version, shape=shape, dtype=dtype.name, bits=f.bits, channels=f.channels,
                      seed=f.seed, keep=masks.threshold_to_keep(f.keep_threshold), keep_threshold=f.keep_threshold,
                      transform=f.transform, survivors=f.survivors, mask_kind=f.mask_kind, model_id=model_id,
                      model_sha256=model_sha256.hex() if model_id else "", metadata=metadata,
                      header_size=header_size, payload_size=payload_size,
                      payload_raw_size=f.survivors * f.channels * value_bytes(f.bits), file_size=file_size,
                      segments=segments, coding=coding, max_error=max_error, previous_threshold=previous_threshold,
                      refines=refines.hex() if refines is not None else "")


def header_mask(header: MaskHeader) -> np.ndarray:
    """The mask a header describes, checked against its survivor count (spec section 8, check 11)."""
    m = masks.mask_from_threshold(header.shape, header.keep_threshold, header.seed, masks.KINDS[header.mask_kind].name)
    n = int(np.count_nonzero(m))
    if n != header.survivors:
        raise FormatError(f"header says {header.survivors} kept pixels but the mask for seed {header.seed} keeps "
                          f"{n}: the file is inconsistent")
    return m


def known_mask(header: MaskHeader, idx: np.ndarray) -> np.ndarray:
    """The ``(H, W)`` mask of the pixels at flat indices ``idx``."""
    known = np.zeros(header.shape[0] * header.shape[1], bool)
    known[idx] = True
    return known.reshape(header.shape[:2])
