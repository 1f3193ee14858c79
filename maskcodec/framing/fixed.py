"""What both framings share: the 36-byte fixed header, its checks, limits, checksums and the metadata block.

``spec/format.md`` sections 2, 4, 8 and 9. The fixed header starts both the
1.0 single container (magic ``\\x89MCX``) and, under the magic ``\\x89MCD``, the
image description of a 4.0 stream. This module knows bytes and their
checks only; what a mode makes of the fields (the mask of ``mask_kind``, ``seed``
and ``keep_threshold``, the survivor transform, the latent block) is the modes'.
"""
from __future__ import annotations

import json
import zlib

import construct as cs
import numpy as np

from ..errors import FormatError, InvalidInputError, LimitExceededError, TruncatedError, UnsupportedVersionError
from ..records import Limits

__all__ = ["FIXED", "FIXED_SIZE", "CRC_SIZE", "MODE_MASK", "MODE_LATENT",
           "MODES", "SAMPLE_FORMATS", "SAMPLE_FORMAT_IDS", "FLAG_CHANNEL_AXIS", "FLAG_PREDICTIVE", "FLAG_RANKED", "MAX_MODEL_ID", "crc",
           "MODEL_ID", "OPTIONAL_MODEL_SHA256", "build_fixed", "parse_fixed", "check_image", "encode_metadata", "decode_metadata"]

MODE_MASK, MODE_LATENT = 0, 1
MODES = {MODE_MASK: "mask", MODE_LATENT: "latent"}
SAMPLE_FORMATS = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16)}
SAMPLE_FORMAT_IDS = {v: k for k, v in SAMPLE_FORMATS.items()}
FLAG_CHANNEL_AXIS = 0x0001  # the image was (H, W, C), also when C == 1
FLAG_PREDICTIVE = 0x0002    # mask-mode single container: a coding block follows, the payload is section 6.5's
FLAG_RANKED = 0x0004        # with bit 1: the payload is section 6.7's ranked code instead
MAX_MODEL_ID = 64           # what an encoder writes (the field holds up to 255)
CRC_SIZE = 4

# The fixed header (spec section 4, offsets 0..35); the magic says which framing follows.
FIXED = cs.Struct(
    "magic" / cs.Bytes(4),
    "version_major" / cs.Int8ul,
    "version_minor" / cs.Int8ul,
    "flags" / cs.Int16ul,
    "mode" / cs.Int8ul,
    "sample_format" / cs.Int8ul,
    "bits" / cs.Int8ul,
    "transform" / cs.Int8ul,
    "channels" / cs.Int16ul,
    "mask_kind" / cs.Int8ul,
    "reserved" / cs.Int8ul,
    "height" / cs.Int32ul,
    "width" / cs.Int32ul,
    "seed" / cs.Int32ul,
    "keep_threshold" / cs.Int32ul,
    "survivors" / cs.Int32ul,
)
FIXED_SIZE = FIXED.sizeof()
MODEL_ID = "model_id" / cs.PascalString(cs.Int8ul, "ascii")
# a segment's model hash: present only when it names a model (the 1.0 header always has the 32 bytes)
OPTIONAL_MODEL_SHA256 = "model_sha256" / cs.If(cs.this.model_id != "", cs.Bytes(32))


def crc(data: bytes) -> bytes:
    """The CRC32 of ``data`` as it is stored (u32, little-endian)."""
    return cs.Int32ul.build(zlib.crc32(data))


def build_fixed(magic: bytes, version: tuple[int, int], *, shape: tuple[int, ...], dtype: np.dtype, mode: int,
                bits: int, transform: int = 0, seed: int = 0, keep_threshold: int = 0, survivors: int = 0,
                mask_kind: int = 0, flags: int = 0) -> bytes:
    """The 36 bytes of the fixed header for an image of ``shape`` and ``dtype``; ``flags`` the mode's flag bits
    (bit 0 is the shape's)."""
    return FIXED.build(dict(
        magic=magic, version_major=version[0], version_minor=version[1],
        flags=(FLAG_CHANNEL_AXIS if len(shape) == 3 else 0) | flags, mode=mode,
        sample_format=SAMPLE_FORMAT_IDS[np.dtype(dtype)], bits=bits, transform=transform,
        channels=shape[2] if len(shape) == 3 else 1, mask_kind=mask_kind, reserved=0, height=shape[0],
        width=shape[1], seed=seed, keep_threshold=keep_threshold, survivors=survivors))


def parse_fixed(data: bytes, pos: int, magic: bytes, major: int, modes: tuple[int, ...], where: str):
    """Parse the fixed header at ``pos`` (spec section 8, checks 2 and 3): enough bytes, the major
    version, a mode this framing holds. The magic itself is the caller's check 1."""
    if len(data) - pos < FIXED_SIZE:
        raise TruncatedError(f"{where} ends after {len(data) - pos} bytes, inside the {FIXED_SIZE}-byte fixed header")
    f = FIXED.parse(data[pos:pos + FIXED_SIZE])
    if f.magic != magic:
        raise FormatError(f"{where}: found {f.magic!r} where {magic!r} was expected")
    if f.version_major != major:
        raise UnsupportedVersionError(f"{where}: format version {f.version_major}.{f.version_minor} is not supported; "
            f"this decoder reads major version {major} here")
    if f.mode not in modes:
        raise UnsupportedVersionError(f"{where}: mode {f.mode} is unknown here; expected "
            f"{', '.join(f'{m} ({MODES[m]})' for m in modes)}")
    return f


def check_image(f, limits: Limits, flags: int = FLAG_CHANNEL_AXIS) -> tuple[np.dtype, tuple[int, ...]]:
    """Check the image fields of a parsed fixed header (spec section 8, check 5) and return the
    sample dtype and the image shape. ``flags``: the flag bits this framing and mode define. Mode fields
    (transform, seed, threshold, survivors) are the mode's."""
    defined = f"bits {', '.join(str(b) for b in range(16) if flags >> b & 1)} are" if flags != FLAG_CHANNEL_AXIS \
        else "bit 0 is"
    if f.flags & ~flags or f.reserved != 0:
        raise FormatError(f"reserved header bits are set (flags={f.flags:#06x}, reserved byte 15={f.reserved:#04x}); "
            f"only flag {defined} defined here and the rest must be zero")
    if f.sample_format not in SAMPLE_FORMATS:
        raise FormatError(f"sample format {f.sample_format} is unknown; expected 1 (uint8) or 2 (uint16)")
    dtype = SAMPLE_FORMATS[f.sample_format]
    if not 1 <= f.bits <= 8 * dtype.itemsize:
        raise FormatError(f"bits={f.bits} is impossible for {dtype.name}; expected 1..{8 * dtype.itemsize}")
    if f.height == 0 or f.width == 0 or f.channels == 0:
        raise FormatError(f"image size {f.height}x{f.width}x{f.channels} has a zero dimension")
    if f.channels > 1 and not f.flags & FLAG_CHANNEL_AXIS:
        raise FormatError(f"{f.channels} channels but flag bit 0 (channel axis) is clear; it must be set when channels > 1")
    if f.height > limits.max_side or f.width > limits.max_side:
        raise LimitExceededError(f"image size {f.height}x{f.width} exceeds the decoder's limit of {limits.max_side} per side")
    if f.height * f.width > limits.max_pixels:
        raise LimitExceededError(f"image of {f.height}x{f.width} pixels exceeds the decoder's limit of {limits.max_pixels} pixels")
    if f.channels > limits.max_channels:
        raise LimitExceededError(f"{f.channels} channels exceed the decoder's limit of {limits.max_channels}")
    samples = f.height * f.width * f.channels
    if samples > limits.max_samples:
        raise LimitExceededError(f"image of {f.height}x{f.width}x{f.channels} = {samples} samples exceeds the decoder's limit of "
            f"{limits.max_samples} samples")
    if f.height * f.width >= 1 << 32:
        raise FormatError(f"image of {f.height}x{f.width} pixels: height x width must be below 2^32")
    shape = (f.height, f.width, f.channels) if f.flags & FLAG_CHANNEL_AXIS else (f.height, f.width)
    return dtype, shape


def encode_metadata(metadata: dict | None) -> bytes:
    """The metadata block of spec section 4.1: empty for no (or empty) metadata, else compact JSON with
    sorted keys and non-ASCII characters escaped.

    Examples
    --------
    >>> encode_metadata({"b": 1, "a": "é"})
    b'{"a":"\\\\u00e9","b":1}'
    """
    if not metadata:
        return b""
    try:
        return json.dumps(metadata, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                          allow_nan=False).encode("ascii")
    except (TypeError, ValueError) as e:
        raise InvalidInputError(f"metadata must be a JSON object of strings, numbers, lists and objects "
                                f"(no NaN or infinity): {e}") from None


def decode_metadata(raw: bytes) -> dict:
    """The metadata of a block (empty: ``{}``); anything but a UTF-8 JSON object is a FormatError."""
    if not raw:
        return {}
    try:
        metadata = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as e:  # ValueError: JSON errors, and integers past Python's digit limit
        raise FormatError(f"metadata block is not UTF-8 JSON: {e}") from None
    except RecursionError:
        raise FormatError("metadata block nests its JSON too deeply to be read") from None
    if not isinstance(metadata, dict):
        raise FormatError("metadata block must be a JSON object")
    return metadata
