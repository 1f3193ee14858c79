"""One Zstandard frame with its content size, the payload of spec section 7."""
from __future__ import annotations

import zstandard

from ..errors import FormatError

__all__ = ["ZSTD_LEVEL", "compress", "decompress"]

ZSTD_LEVEL = 1  # spec section 7: level 19 saves under 0.1% at keep 0.1 and is 100x slower


def compress(raw: bytes) -> bytes:
    """One zstd frame (content size recorded), as spec section 7 asks."""
    return zstandard.ZstdCompressor(level=ZSTD_LEVEL, write_content_size=True).compress(raw)


def decompress(payload: bytes, raw_size: int) -> bytes:
    """Decompress one zstd frame that must declare and hold exactly ``raw_size`` bytes
    (the declared size is checked before anything is allocated)."""
    try:
        params = zstandard.get_frame_parameters(payload)
    except zstandard.ZstdError:
        raise FormatError("payload is not a zstd frame (its frame header is damaged)") from None
    if params.content_size != raw_size:
        raise FormatError(f"zstd frame declares {params.content_size} bytes, header says {raw_size}")
    try:
        raw = zstandard.ZstdDecompressor().decompress(payload, max_output_size=raw_size)
    except zstandard.ZstdError:
        raise FormatError("zstd payload does not decompress (its compressed data are damaged)") from None
    if len(raw) != raw_size:
        raise FormatError(f"payload decompressed to {len(raw)} bytes, header says {raw_size}")
    return raw
