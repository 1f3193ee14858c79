"""The codecs maskcodec is judged against: JPEG2000 (OpenJPEG through Pillow) and JPEG.

JPEG2000 is lossy (irreversible 9/7 wavelet) with the colour transform on
(``mct=1``) for 3-channel images: Pillow's default is off, which costs
JPEG2000 3-6 dB on colour images and would make a comparison unfair.
"""
from __future__ import annotations

import io

import numpy as np

from ..errors import InvalidInputError

__all__ = ["jpeg2000_encode", "jpeg2000_at_size", "jpeg_encode", "decode_pil"]


def _pil(image: np.ndarray):
    from PIL import Image
    if image.dtype != np.uint8 or not (image.ndim == 2 or image.shape[2] in (1, 3)):
        raise InvalidInputError(f"the reference codecs take 8-bit gray or RGB images, got {image.dtype} "
                                f"{image.shape}")
    return Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image)


def jpeg2000_encode(image: np.ndarray, ratio: float) -> bytes:
    """Lossy JPEG2000 codestream at compression ``ratio`` (raw bytes / coded bytes)."""
    buf = io.BytesIO()
    pil = _pil(image)
    pil.save(buf, "JPEG2000", no_jp2=True, irreversible=True, quality_mode="rates",
             quality_layers=[float(ratio)], mct=1 if pil.mode == "RGB" else 0)
    return buf.getvalue()


def decode_pil(data: bytes, like: np.ndarray) -> np.ndarray:
    """Decode JPEG/JPEG2000 bytes to an array shaped like ``like``."""
    from PIL import Image
    with Image.open(io.BytesIO(data)) as im:
        out = np.asarray(im)
    return out.reshape(like.shape)


def jpeg2000_at_size(image: np.ndarray, target_bytes: int, *, tries: int = 12) -> bytes:
    """The JPEG2000 codestream closest to ``target_bytes`` without exceeding it.

    OpenJPEG's rate control usually lands within 1% below the size asked
    for, so one encode at ``ratio = raw / target`` is tried first; when it
    misses, the ratio is bisected (in log space) until the size is within 1%
    below the target or ``tries`` runs out.
    """
    raw = image.size * image.dtype.itemsize
    first = jpeg2000_encode(image, max(1.0, raw / target_bytes))
    if 0.99 * target_bytes <= len(first) <= target_bytes:
        return first
    lo, hi = 1.0, max(2.0, raw / 16.0)  # ratio bounds: lo gives big files, hi tiny ones
    best = jpeg2000_encode(image, hi)
    for _ in range(tries):
        mid = float(np.sqrt(lo * hi))
        data = jpeg2000_encode(image, mid)
        if len(data) <= target_bytes:
            hi = mid
            if len(data) > len(best):
                best = data
            if len(data) >= 0.99 * target_bytes:
                break
        else:
            lo = mid
    return best


def jpeg_encode(image: np.ndarray, quality: int) -> bytes:
    """Baseline JPEG (Pillow/libjpeg) at ``quality`` 1..95, 4:2:0 chroma for colour."""
    buf = io.BytesIO()
    _pil(image).save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()
