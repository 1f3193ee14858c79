"""Format 1.0, the single container (magic ``\\x89MCX``): header, header CRC32, payload, payload CRC32.

``spec/format.md`` sections 3, 4 and 8; the latent block of mode 1 is laid out
as section 12.2 says. This module is the executable form of those byte tables:
it builds and parses the framing and runs the checks that need no knowledge of
a mode: :func:`parse_header` (checks 1-6) and :func:`payload` (checks 8-9). It
returns the payload as it is stored; checking the mode's fields (check 7) in
between, and decompressing the payload, are the mode's work (:mod:`maskcodec.modes.mask`,
:mod:`maskcodec.modes.latent`). Parsing is defensive: every check runs before
anything that depends on a header field is allocated.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, TypeVar

import construct as cs
import numpy as np

from ..errors import ChecksumError, FormatError, LimitExceededError, TruncatedError
from .fixed import (CRC_SIZE, FIXED_SIZE, FLAG_CHANNEL_AXIS, FLAG_PREDICTIVE, FLAG_RANKED, MODE_LATENT, MODE_MASK, MODEL_ID, MODES, build_fixed, check_image, crc, decode_metadata, parse_fixed)
from ..records import Limits

__all__ = ["MAGIC", "VERSION", "LATENT_BLOCK", "CODING_BLOCK", "INTEGER_CODERS", "Frame", "build", "parse_header", "read",
           "payload"]

MAGIC = b"\x89MCX"
VERSION = (1, 0)
INTEGER_CODERS = (1, 3)  # latent coders whose block carries no offsets and steps (section 12.2; 1 is retired)

# Latent block of mode 1 (spec section 12.2): the latent tensor's shape, its quantization and coder.
LATENT_BLOCK = cs.Struct(
    "latent_channels" / cs.Int16ul,
    "latent_height" / cs.Int32ul,
    "latent_width" / cs.Int32ul,
    "factor" / cs.Int16ul,
    "quantization" / cs.Int8ul,
    "coder" / cs.Int8ul,
    # float32 little-endian, one per channel, for every coder but the range coders (integers)
    "offsets" / cs.If(lambda this: this.coder not in INTEGER_CODERS, cs.Bytes(4 * cs.this.latent_channels)),
    "steps" / cs.If(lambda this: this.coder not in INTEGER_CODERS, cs.Bytes(4 * cs.this.latent_channels)),
)
# Coding block of a predictive mask-mode file (flag bit 1; spec section 4.2): the error bound and, for a
# refinement (section 6.6), the threshold of the chain it extends and the SHA-256 of the file before it.
CODING_BLOCK = cs.Struct(
    "max_error" / cs.Int16ul,
    "refines" / cs.Int8ul,
    "previous_threshold" / cs.If(cs.this.refines == 1, cs.Int32ul),
    "predecessor" / cs.If(cs.this.refines == 1, cs.Bytes(32)),
)
# Variable part (spec section 4 from offset 36); built and parsed with the fixed part's ``mode`` and
# whether flag bit 1 is set.
_VARIABLE = cs.Struct(
    MODEL_ID,
    "model_sha256" / cs.Bytes(32),
    "metadata" / cs.Prefixed(cs.Int32ul, cs.GreedyBytes),
    "block" / cs.If(cs.this._params.mode == MODE_LATENT, LATENT_BLOCK),
    "coding" / cs.If(cs.this._params.predictive, CODING_BLOCK),
    "payload_raw_size" / cs.Int64ul,
    "payload_size" / cs.Int64ul,
    "end" / cs.Tell,
)

H = TypeVar("H")  # the header record a mode makes of a frame


@dataclass(frozen=True)
class Frame:
    """A parsed and checked single container, its payload not yet interpreted.

    ``fixed`` holds the fixed header's fields by name, ``block`` the mode's
    block (the latent block of mode 1, else None), ``coding`` the coding block
    of a predictive mask-mode file (else None); ``header_size`` counts the
    header checksum. :func:`payload` reads the payload it announces.
    """

    version: tuple[int, int]
    mode: int
    fixed: object
    dtype: np.dtype
    shape: tuple[int, ...]
    model_id: str
    model_sha256: bytes
    metadata: dict
    block: object
    coding: object
    payload_raw_size: int
    payload_size: int
    header_size: int
    file_size: int


def build(*, shape: tuple[int, ...], dtype: np.dtype, mode: int, bits: int, payload: bytes, payload_raw_size: int,
          transform: int = 0, seed: int = 0, keep_threshold: int = 0, survivors: int = 0, mask_kind: int = 0,
          model_id: str = "", model_sha256: bytes = bytes(32), metadata: bytes = b"", block: dict | None = None,
          coding: dict | None = None, ranked: bool = False) -> bytes:
    """A complete file: header, header CRC, ``payload`` as given, payload CRC.

    ``metadata`` is the block's bytes (see :func:`maskcodec.framing.fixed.encode_metadata`); ``block``
    the fields of :data:`LATENT_BLOCK` for mode 1; ``coding`` those of :data:`CODING_BLOCK` for a
    predictive mask-mode file (flag bit 1 is set when it is given), whose payload is ranked (flag bit 2) when
    ``ranked`` is true.
    """
    predictive = coding is not None
    head = build_fixed(MAGIC, VERSION, shape=shape, dtype=dtype, mode=mode, bits=bits, transform=transform,
                       seed=seed, keep_threshold=keep_threshold, survivors=survivors,
                       mask_kind=mask_kind, flags=(FLAG_PREDICTIVE if predictive else 0) | (FLAG_RANKED if ranked else 0)
                       ) + _VARIABLE.build(dict(
        model_id=model_id, model_sha256=model_sha256, metadata=metadata, block=block, coding=coding,
        payload_raw_size=payload_raw_size, payload_size=len(payload)), mode=mode, predictive=predictive)
    return head + crc(head) + payload + crc(payload)


def parse_header(data: bytes, limits: Limits = Limits()) -> Frame:
    """Parse and check the header (spec section 8, checks 1-6); the payload is not read."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError(f"expected bytes of a maskcodec file, got {type(data).__name__}")
    data = bytes(data)
    head4 = data[:4]
    if head4 != MAGIC[:len(head4)]:
        raise FormatError(f"not a maskcodec file: magic number is {head4!r}, expected {MAGIC!r}")
    f = parse_fixed(data, 0, MAGIC, VERSION[0], tuple(MODES), "file")
    try:
        v = _VARIABLE.parse(data[FIXED_SIZE:], mode=f.mode,
                            predictive=f.mode == MODE_MASK and bool(f.flags & FLAG_PREDICTIVE))
    except cs.StreamError:
        raise TruncatedError(f"file of {len(data)} bytes ends inside the header") from None
    except (cs.StringError, UnicodeDecodeError):
        raise FormatError("model id is not ASCII text") from None
    header_length = FIXED_SIZE + v.end
    if len(data) < header_length + CRC_SIZE:
        raise TruncatedError(f"file of {len(data)} bytes ends inside the header checksum")
    if data[header_length:header_length + CRC_SIZE] != crc(data[:header_length]):
        raise ChecksumError("header CRC32 does not match: the header is corrupted")
    dtype, shape = check_image(f, limits, FLAG_CHANNEL_AXIS | (FLAG_PREDICTIVE | FLAG_RANKED if f.mode == MODE_MASK else 0))
    if (len(v.model_id) == 0) != (v.model_sha256 == bytes(32)):
        raise FormatError("model id and model hash must be both present or both absent")
    if len(v.metadata) > limits.max_metadata:
        raise LimitExceededError(f"metadata of {len(v.metadata)} bytes exceeds the decoder's limit of {limits.max_metadata}")
    metadata = decode_metadata(v.metadata)
    if v.payload_raw_size > limits.max_payload_raw:
        raise LimitExceededError(f"decompressed payload of {v.payload_raw_size} bytes exceeds the decoder's limit of "
            f"{limits.max_payload_raw}")
    start = header_length + CRC_SIZE
    return Frame(version=(f.version_major, f.version_minor), mode=f.mode, fixed=f, dtype=dtype, shape=shape,
                 model_id=v.model_id, model_sha256=v.model_sha256, metadata=metadata, block=v.block, coding=v.coding,
                 payload_raw_size=v.payload_raw_size, payload_size=v.payload_size, header_size=start,
                 file_size=start + v.payload_size + CRC_SIZE)


def read(data: bytes, limits: Limits, describe: Callable[[Frame, Limits], H]) -> tuple[H, bytes]:
    """A whole single container in the spec's order of checks (section 8): the framing's checks 1-6
    (:func:`parse_header`), the mode's check 7 (``describe(frame, limits)``, which returns the mode's header),
    then checks 8-9 (:func:`payload`); the mode's header and the payload as stored."""
    frame = parse_header(data, limits)
    header = describe(frame, limits)
    return header, payload(data, frame)


def payload(data: bytes, frame: Frame) -> bytes:
    """The payload of a file whose header ``frame`` describes (spec section 8, checks 8 and 9): the file's
    exact size and the payload CRC. Callers check the mode's fields (check 7) in between."""
    # compare against what is there, never add a hostile payload_size to an offset (no u64 wrap)
    available = len(data) - frame.header_size - CRC_SIZE
    if frame.payload_size > available:
        raise TruncatedError(f"file is {len(data)} bytes but its header announces {frame.file_size}: the payload is truncated")
    if frame.payload_size < available:
        raise FormatError(f"file has {available - frame.payload_size} trailing bytes after the payload checksum")
    start = frame.header_size
    body = bytes(data[start:start + frame.payload_size])
    if bytes(data[start + frame.payload_size:]) != crc(body):
        raise ChecksumError("payload CRC32 does not match: the compressed payload is corrupted")
    return body
