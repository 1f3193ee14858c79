"""The ``.mcx`` container: header, zstd payload and checksums, defined with ``construct``.

The byte layout is the one in ``spec/format.md`` ("Container"); this module is
its executable form. Parsing is defensive: every field is checked against the
spec and the decoder's :class:`Limits` before anything is allocated, and every
fault raises a specific :class:`~maskcodec.errors.FormatError` subclass.
"""
from __future__ import annotations

import json
import zlib
from dataclasses import asdict, dataclass, field

import construct as cs
import numpy as np
import zstandard

from .errors import (ChecksumError, FormatError, InvalidInputError, LimitExceededError, TruncatedError,
                     UnsupportedVersionError)
from .mask import mask_from_threshold, threshold_to_keep
from .pack import TRANSFORM_BAND_DIFF, TRANSFORM_GREEN_DIFF, TRANSFORMS

__all__ = ["MAGIC", "VERSION", "Header", "LatentFields", "Limits", "write", "read_header", "read"]

MAGIC = b"\x89MCX"
VERSION = (1, 0)
MODE_MASK, MODE_LATENT = 0, 1
MODES = {MODE_MASK: "mask", MODE_LATENT: "latent"}
QUANTIZATIONS = {0: "minmax", 1: "integer"}  # latent quantization kinds (spec section 12.3)
QUANTIZATION_IDS = {v: k for k, v in QUANTIZATIONS.items()}
CODERS = {0: "zstd", 1: "rans"}  # how latent values are entropy-coded (spec section 12.2)
CODER_IDS = {v: k for k, v in CODERS.items()}
SAMPLE_FORMATS = {1: np.dtype(np.uint8), 2: np.dtype(np.uint16)}
SAMPLE_FORMAT_IDS = {v: k for k, v in SAMPLE_FORMATS.items()}
MAX_MODEL_ID = 64
ZSTD_LEVEL = 1  # spec section 7: level 19 saves under 0.1% at keep 0.1 and is 100x slower
FLAG_CHANNEL_AXIS = 0x0001  # the image was (H, W, C), also when C == 1

# Fixed part of the header: everything up to the variable-length model id.
_FIXED = cs.Struct(
    "magic" / cs.Bytes(4),
    "version_major" / cs.Int8ul,
    "version_minor" / cs.Int8ul,
    "flags" / cs.Int16ul,
    "mode" / cs.Int8ul,
    "sample_format" / cs.Int8ul,
    "bits" / cs.Int8ul,
    "transform" / cs.Int8ul,
    "channels" / cs.Int16ul,
    "reserved" / cs.Int16ul,
    "height" / cs.Int32ul,
    "width" / cs.Int32ul,
    "seed" / cs.Int32ul,
    "keep_threshold" / cs.Int32ul,
    "survivors" / cs.Int32ul,
)
# Latent block of mode 1 (spec section 12.2): the latent tensor's shape and its quantization.
_LATENT = cs.Struct(
    "latent_channels" / cs.Int16ul,
    "latent_height" / cs.Int32ul,
    "latent_width" / cs.Int32ul,
    "factor" / cs.Int16ul,
    "quantization" / cs.Int8ul,
    "coder" / cs.Int8ul,
    # float32 little-endian, one per channel; coder 1 (range-coded integers) has none
    "offsets" / cs.If(cs.this.coder != CODER_IDS["rans"], cs.Bytes(4 * cs.this.latent_channels)),
    "steps" / cs.If(cs.this.coder != CODER_IDS["rans"], cs.Bytes(4 * cs.this.latent_channels)),
)
# Variable part; parsed and built with the fixed part's ``mode`` as a context parameter.
_VARIABLE = cs.Struct(
    "model_id" / cs.PascalString(cs.Int8ul, "ascii"),
    "model_sha256" / cs.Bytes(32),
    "metadata" / cs.Prefixed(cs.Int32ul, cs.GreedyBytes),
    "latent" / cs.If(cs.this._params.mode == MODE_LATENT, _LATENT),
    "payload_raw_size" / cs.Int64ul,
    "payload_size" / cs.Int64ul,
    "end" / cs.Tell,
)
FIXED_SIZE = _FIXED.sizeof()
CRC_SIZE = 4


@dataclass(frozen=True)
class Limits:
    """What a decoder agrees to allocate. Files beyond these raise
    :class:`~maskcodec.errors.LimitExceededError` before any allocation.

    Examples
    --------
    >>> Limits().max_pixels
    268435456
    """

    max_pixels: int = 1 << 28          # 16384 x 16384
    max_side: int = 1 << 16
    max_channels: int = 1024
    max_metadata: int = 1 << 20
    max_payload_raw: int = 1 << 31
    max_latent_pixels: int = 1 << 24   # padded image a latent model runs on whole (4096 x 4096)


@dataclass(frozen=True)
class LatentFields:
    """The latent block of a latent-mode file (spec section 12): tensor shape, quantization and coder.

    ``coder`` ``"zstd"``: the payload is a zstd frame of uint8 values, and
    ``offsets`` and ``steps`` are the per-channel float32 values, as Python
    floats (exactly); a value ``q`` of channel ``c`` stands for
    ``offsets[c] + q * steps[c]`` computed in float32. ``coder`` ``"rans"``:
    the payload is the model's range code of the integer latents themselves
    (spec section 12.5); there are no offsets and steps.
    """

    channels: int
    height: int
    width: int
    factor: int
    quantization: str
    offsets: tuple[float, ...] = ()
    steps: tuple[float, ...] = ()
    coder: str = "zstd"


@dataclass(frozen=True)
class Header:
    """What a maskcodec file says about itself (see ``maskcodec.inspect``)."""

    version: tuple[int, int]
    mode: str
    shape: tuple[int, ...]
    dtype: str
    bits: int
    channels: int
    seed: int
    keep: float
    keep_threshold: int
    transform: int
    survivors: int
    model_id: str
    model_sha256: str
    metadata: dict = field(default_factory=dict)
    header_size: int = 0
    payload_size: int = 0
    payload_raw_size: int = 0
    file_size: int = 0
    segments: int = 0  # number of segments of a segmented stream (format 2); 0 for a single container
    latent: LatentFields | None = None  # latent mode only

    def to_json(self) -> dict:
        """The header as a JSON-ready dict (the form ``maskcodec info --json`` prints); the
        ``latent`` entry is there for latent-mode files only."""
        d = asdict(self)
        d["version"] = f"{self.version[0]}.{self.version[1]}"
        d["shape"] = list(self.shape)
        if self.latent is None:
            del d["latent"]
        else:
            d["latent"] |= {"offsets": list(self.latent.offsets), "steps": list(self.latent.steps)}
        return d


def crc(data: bytes) -> bytes:
    return cs.Int32ul.build(zlib.crc32(data))


def write(*, shape: tuple[int, ...], dtype: np.dtype, bits: int, raw: bytes, transform: int = 0, seed: int = 0,
          keep_threshold: int = 0, survivors: int = 0, model_id: str = "",
          model_sha256: bytes = bytes(32), metadata: dict | None = None, latent: LatentFields | None = None) -> bytes:
    """Build a complete file: header, header CRC, payload, payload CRC.

    With ``latent`` the file is in latent mode (transform, seed, threshold and
    survivors stay 0): ``raw`` is the uint8 latent plane, compressed here with
    zstd, or with coder ``"rans"`` the range-coded payload, stored as it is.
    Without, the file is in mask mode (``raw`` is the packed survivors, compressed with zstd).
    """
    if len(model_id) > MAX_MODEL_ID:
        raise InvalidInputError(f"model id may have at most {MAX_MODEL_ID} characters, got {len(model_id)}")
    h, w = shape[:2]
    channels = shape[2] if len(shape) == 3 else 1
    flags = FLAG_CHANNEL_AXIS if len(shape) == 3 else 0
    meta = json.dumps(metadata, sort_keys=True, separators=(",", ":")).encode() if metadata else b""
    mode = MODE_MASK if latent is None else MODE_LATENT
    coded = latent is not None and latent.coder == "rans"
    payload, raw_size = (raw, latent.channels * latent.height * latent.width) if coded else (compress(raw), len(raw))
    block = None if latent is None else dict(
        latent_channels=latent.channels, latent_height=latent.height, latent_width=latent.width,
        factor=latent.factor, quantization=QUANTIZATION_IDS[latent.quantization], coder=CODER_IDS[latent.coder],
        offsets=None if coded else np.asarray(latent.offsets, "<f4").tobytes(),
        steps=None if coded else np.asarray(latent.steps, "<f4").tobytes())
    head = _FIXED.build(dict(
        magic=MAGIC, version_major=VERSION[0], version_minor=VERSION[1], flags=flags, mode=mode,
        sample_format=SAMPLE_FORMAT_IDS[np.dtype(dtype)], bits=bits, transform=transform,
        channels=channels, reserved=0, height=h, width=w, seed=seed, keep_threshold=keep_threshold,
        survivors=survivors,
    )) + _VARIABLE.build(dict(
        model_id=model_id, model_sha256=model_sha256, metadata=meta, latent=block,
        payload_raw_size=raw_size, payload_size=len(payload),
    ), mode=mode)
    return head + crc(head) + payload + crc(payload)


def fail_if(cond: bool, exc: type, msg: str) -> None:
    if cond:
        raise exc(msg)


def check_image_fields(f, limits: Limits, modes: tuple[int, ...] = (MODE_MASK,)) -> tuple[np.dtype, tuple[int, ...]]:
    """Check the image fields shared by every container (spec section 4, in table
    order) and return the sample dtype and the image shape.

    ``modes`` are the modes the container may hold: all of :data:`MODES` for a
    single container, mask mode alone for a segmented stream.
    """
    fail_if(f.flags & ~FLAG_CHANNEL_AXIS or f.reserved != 0, FormatError,
             f"reserved header bits are set (flags={f.flags:#06x}, reserved={f.reserved:#06x}); "
             f"only flag bit 0 is defined and the rest must be zero")
    fail_if(f.mode not in modes, UnsupportedVersionError,
             f"mode {f.mode} is unknown here; this container holds modes "
             f"{', '.join(f'{m} ({MODES[m]})' for m in modes)}")
    fail_if(f.sample_format not in SAMPLE_FORMATS, FormatError,
             f"sample format {f.sample_format} is unknown; expected 1 (uint8) or 2 (uint16)")
    dtype = SAMPLE_FORMATS[f.sample_format]
    fail_if(not 1 <= f.bits <= 8 * dtype.itemsize, FormatError,
             f"bits={f.bits} is impossible for {dtype.name}; expected 1..{8 * dtype.itemsize}")
    fail_if(f.transform not in TRANSFORMS, FormatError, f"transform {f.transform} is unknown")
    fail_if(f.transform == TRANSFORM_GREEN_DIFF and f.channels != 3, FormatError,
             f"transform 1 (green difference) needs 3 channels, header has {f.channels}")
    fail_if(f.transform == TRANSFORM_BAND_DIFF and f.channels < 2, FormatError,
            f"transform 2 (band difference) needs 2 or more channels, header has {f.channels}")
    fail_if(f.height == 0 or f.width == 0 or f.channels == 0, FormatError,
             f"image size {f.height}x{f.width}x{f.channels} has a zero dimension")
    fail_if(f.height > limits.max_side or f.width > limits.max_side, LimitExceededError,
             f"image size {f.height}x{f.width} exceeds the decoder's limit of {limits.max_side} per side")
    fail_if(f.height * f.width > limits.max_pixels, LimitExceededError,
             f"image of {f.height}x{f.width} pixels exceeds the decoder's limit of {limits.max_pixels} pixels")
    fail_if(f.channels > limits.max_channels, LimitExceededError,
             f"{f.channels} channels exceed the decoder's limit of {limits.max_channels}")
    fail_if(f.survivors > f.height * f.width, FormatError,
             f"header claims {f.survivors} kept pixels in an image of {f.height * f.width}")
    fail_if(f.channels > 1 and not f.flags & FLAG_CHANNEL_AXIS, FormatError,
             f"{f.channels} channels but flag bit 0 (channel axis) is clear")
    shape = (f.height, f.width, f.channels) if f.flags & FLAG_CHANNEL_AXIS else (f.height, f.width)
    return dtype, shape


def decompress(payload: bytes, raw_size: int) -> bytes:
    """Decompress one zstd frame that must declare and hold exactly ``raw_size`` bytes."""
    try:
        params = zstandard.get_frame_parameters(payload)
    except zstandard.ZstdError as e:
        raise FormatError(f"payload is not a zstd frame: {e}") from None
    fail_if(params.content_size != raw_size, FormatError,
             f"zstd frame declares {params.content_size} bytes, header says {raw_size}")
    try:
        raw = zstandard.ZstdDecompressor().decompress(payload, max_output_size=raw_size)
    except zstandard.ZstdError as e:
        raise FormatError(f"zstd payload does not decompress: {e}") from None
    fail_if(len(raw) != raw_size, FormatError, f"payload decompressed to {len(raw)} bytes, header says {raw_size}")
    return raw


def compress(raw: bytes) -> bytes:
    """One zstd frame (content size recorded), as spec section 7 asks."""
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True).compress(raw)


def check_latent_fields(f, v, limits: Limits) -> LatentFields:
    """Check the fields of a latent-mode header (spec section 12.2, in table order)
    and return its latent block."""
    fail_if(f.transform != 0 or f.seed != 0 or f.keep_threshold != 0 or f.survivors != 0, FormatError,
            f"latent mode has no mask: transform, seed, keep_threshold and survivors must be 0, got "
            f"{f.transform}, {f.seed}, {f.keep_threshold}, {f.survivors}")
    fail_if(not v.model_id, FormatError, "a latent-mode file must name its model (model id is empty)")
    b = v.latent
    fail_if(b.latent_channels == 0 or b.latent_height == 0 or b.latent_width == 0 or b.factor == 0, FormatError,
            f"latent tensor {b.latent_channels}x{b.latent_height}x{b.latent_width} with factor {b.factor} "
            f"has a zero dimension")
    fail_if(b.latent_channels > limits.max_channels, LimitExceededError,
            f"{b.latent_channels} latent channels exceed the decoder's limit of {limits.max_channels}")
    side = (-(-f.height // b.factor), -(-f.width // b.factor))
    fail_if((b.latent_height, b.latent_width) != side, FormatError,
            f"latent of {b.latent_height}x{b.latent_width} does not fit a {f.height}x{f.width} image at factor "
            f"{b.factor}; expected {side[0]}x{side[1]} (ceil of the image sides / factor)")
    padded = b.latent_height * b.latent_width * b.factor ** 2
    fail_if(padded > limits.max_latent_pixels, LimitExceededError,
            f"the decoder network would run on {padded} pixels, over the decoder's limit of "
            f"{limits.max_latent_pixels}")
    fail_if(b.quantization not in QUANTIZATIONS, FormatError,
            f"latent quantization kind {b.quantization} is unknown; expected "
            f"{', '.join(f'{k} ({n})' for k, n in QUANTIZATIONS.items())}")
    fail_if(b.coder not in CODERS, FormatError,
            f"latent coder {b.coder} is unknown; expected {', '.join(f'{k} ({n})' for k, n in CODERS.items())}")
    fields = dict(channels=b.latent_channels, height=b.latent_height, width=b.latent_width, factor=b.factor,
                  quantization=QUANTIZATIONS[b.quantization], coder=CODERS[b.coder])
    if CODERS[b.coder] == "rans":
        fail_if(QUANTIZATIONS[b.quantization] != "integer", FormatError,
                f"range-coded latents (coder 1) are integers: quantization must be 1 (integer), "
                f"got {b.quantization} ({QUANTIZATIONS[b.quantization]})")
        return LatentFields(**fields)
    offsets, steps = np.frombuffer(b.offsets, "<f4"), np.frombuffer(b.steps, "<f4")
    fail_if(not (np.isfinite(offsets).all() and np.isfinite(steps).all() and (steps > 0).all()), FormatError,
            "latent offsets must be finite and steps finite and positive")
    fail_if(QUANTIZATIONS[b.quantization] == "integer" and not ((steps == 1).all()
                                                               and (offsets == np.floor(offsets)).all()),
            FormatError, "integer quantization needs steps of 1.0 and whole-number offsets")
    return LatentFields(**fields, offsets=tuple(offsets.tolist()), steps=tuple(steps.tolist()))


def _parse_header(data: bytes, limits: Limits) -> tuple[Header, int, bool]:
    """Parse and check the header; returns it, its size in bytes, and whether
    the file as a whole is complete (not shorter than the header announces)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise FormatError(f"expected bytes of a maskcodec file, got {type(data).__name__}")
    data = bytes(data)
    head4 = data[:4]
    if head4 != MAGIC[:len(head4)]:
        raise FormatError(f"not a maskcodec file: magic number is {head4!r}, expected {MAGIC!r}")
    fail_if(len(data) < FIXED_SIZE, TruncatedError,
             f"file is {len(data)} bytes, shorter than the {FIXED_SIZE}-byte fixed header")
    f = _FIXED.parse(data)
    fail_if(f.version_major != VERSION[0], UnsupportedVersionError,
             f"format version {f.version_major}.{f.version_minor} is not supported; "
             f"this decoder reads major version {VERSION[0]}")
    try:
        v = _VARIABLE.parse(data[FIXED_SIZE:], mode=f.mode)
    except cs.StreamError:
        raise TruncatedError(f"file of {len(data)} bytes ends inside the header") from None
    except (cs.StringError, UnicodeDecodeError):
        raise FormatError("model id is not ASCII text") from None
    header_size = FIXED_SIZE + v.end
    fail_if(len(data) < header_size + CRC_SIZE, TruncatedError,
             f"file of {len(data)} bytes ends inside the header checksum")
    stored = data[header_size:header_size + CRC_SIZE]
    fail_if(stored != crc(data[:header_size]), ChecksumError,
             "header CRC32 does not match: the header is corrupted")
    dtype, shape = check_image_fields(f, limits, tuple(MODES))
    latent = check_latent_fields(f, v, limits) if f.mode == MODE_LATENT else None
    fail_if(len(v.metadata) > limits.max_metadata, LimitExceededError,
             f"metadata of {len(v.metadata)} bytes exceeds the limit of {limits.max_metadata}")
    if latent is None:
        expected_raw, what = f.survivors * f.channels * dtype.itemsize, \
            f"{f.survivors} pixels x {f.channels} channels x {dtype.itemsize} bytes"
    else:
        expected_raw, what = latent.channels * latent.height * latent.width, \
            f"{latent.channels}x{latent.height}x{latent.width} latent values"
    fail_if(v.payload_raw_size != expected_raw, FormatError,
             f"payload_raw_size is {v.payload_raw_size}, expected {expected_raw} ({what})")
    fail_if(v.payload_raw_size > limits.max_payload_raw, LimitExceededError,
             f"decompressed payload of {v.payload_raw_size} bytes exceeds the limit of {limits.max_payload_raw}")
    fail_if((len(v.model_id) == 0) != (v.model_sha256 == bytes(32)), FormatError,
             "model id and model hash must be both present or both absent")
    try:
        metadata = json.loads(v.metadata.decode("utf-8")) if v.metadata else {}
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise FormatError(f"metadata block is not UTF-8 JSON: {e}") from None
    fail_if(not isinstance(metadata, dict), FormatError, "metadata block must be a JSON object")
    total = header_size + CRC_SIZE + v.payload_size + CRC_SIZE
    header = Header(
        version=(f.version_major, f.version_minor), mode=MODES[f.mode], shape=shape,
        dtype=dtype.name, bits=f.bits, channels=f.channels, seed=f.seed,
        keep=0.0 if latent else threshold_to_keep(f.keep_threshold), keep_threshold=f.keep_threshold,
        transform=f.transform, survivors=f.survivors, model_id=v.model_id,
        model_sha256=v.model_sha256.hex() if v.model_id else "", metadata=metadata,
        header_size=header_size + CRC_SIZE, payload_size=v.payload_size,
        payload_raw_size=v.payload_raw_size, file_size=total, latent=latent,
    )
    return header, header_size + CRC_SIZE, len(data) >= total


def header_mask(header: Header) -> np.ndarray:
    """The mask a header describes, checked against its survivor count (spec section 8, check 10)."""
    m = mask_from_threshold(header.shape, header.keep_threshold, header.seed)
    n = int(np.count_nonzero(m))
    fail_if(n != header.survivors, FormatError,
            f"header says {header.survivors} kept pixels but the mask for seed {header.seed} keeps {n}: "
            f"the file is inconsistent")
    return m


def read_header(data: bytes, limits: Limits = Limits()) -> Header:
    """Parse and check the header alone (no payload decompression)."""
    return _parse_header(data, limits)[0]


def read(data: bytes, limits: Limits = Limits()) -> tuple[Header, bytes]:
    """Parse a whole file: returns the header and the decompressed payload (survivor or latent
    bytes), or for range-coded latents (coder ``"rans"``) the payload itself."""
    header, start, complete = _parse_header(data, limits)
    fail_if(not complete, TruncatedError,
             f"file is {len(data)} bytes but its header announces {header.file_size}: the payload is truncated")
    fail_if(len(data) > header.file_size, FormatError,
             f"file has {len(data) - header.file_size} trailing bytes after the payload checksum")
    payload = bytes(data[start:start + header.payload_size])
    fail_if(data[start + header.payload_size:header.file_size] != crc(payload), ChecksumError,
             "payload CRC32 does not match: the compressed payload is corrupted")
    if header.latent is not None and header.latent.coder == "rans":
        return header, payload
    return header, decompress(payload, header.payload_raw_size)
