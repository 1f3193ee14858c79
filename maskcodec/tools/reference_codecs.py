"""The codecs maskcodec is judged against: JPEG2000 (OpenJPEG through Pillow), HTJ2K and JPEG-XL
(OpenJPH and libjxl through ``imagecodecs``, the ``bench`` extra) and JPEG.

JPEG2000 is lossy (irreversible 9/7 wavelet) with the colour transform on
(``mct=1``) for 3-channel images: Pillow's default is off, which costs
JPEG2000 3-6 dB on colour images and would make a comparison unfair. HTJ2K
(JPEG2000 Part 15) is OpenJPH's lossy coder, sized by its quantization step,
with the colour transform on for RGB; JPEG-XL is libjxl's lossy coder at
effort 7, sized by its distance. Each ``*_at_size`` finds the largest file
not above a byte budget.
"""
from __future__ import annotations

import io
from functools import partial

import numpy as np

from ..errors import InvalidInputError
from ..optional import require

__all__ = ["jpeg2000_encode", "jpeg2000_at_size", "jpeg_encode", "decode_pil", "htj2k_encode", "htj2k_at_size",
           "jpegxl_encode", "jpegxl_at_size", "decode_imagecodecs", "largest_within", "imagecodecs_takes", "ANCHORS"]

JPEGXL_EFFORT = 7


def imagecodecs_takes(image: np.ndarray) -> bool:
    """HTJ2K and JPEG-XL (through imagecodecs) take 8- and 16-bit gray or RGB."""
    return image.dtype in (np.uint8, np.uint16) and (image.ndim == 2 or image.shape[2] in (1, 3))


def _codecs():
    return require("imagecodecs", "the HTJ2K and JPEG-XL anchors")


def _plane(image: np.ndarray) -> np.ndarray:
    if not imagecodecs_takes(image):
        raise InvalidInputError(f"HTJ2K and JPEG-XL take 8- or 16-bit gray or RGB images, got {image.dtype} "
                                f"{image.shape}")
    return np.ascontiguousarray(image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image)


def htj2k_encode(image: np.ndarray, qstep: float) -> bytes:
    """Lossy HTJ2K codestream (OpenJPH) with quantization step ``qstep`` (larger: fewer bytes)."""
    return bytes(_codecs().htj2k_encode(_plane(image), level=float(qstep)))


def jpegxl_encode(image: np.ndarray, distance: float) -> bytes:
    """Lossy JPEG-XL (libjxl, effort 7) at butteraugli ``distance`` (larger: fewer bytes)."""
    return bytes(_codecs().jpegxl_encode(_plane(image), distance=float(distance), effort=JPEGXL_EFFORT))


def decode_imagecodecs(data: bytes, like: np.ndarray) -> np.ndarray:
    """Decode HTJ2K or JPEG-XL bytes to an array shaped like ``like``."""
    codecs = _codecs()
    decoder = codecs.htj2k_decode if data[:2] == b"\xff\x4f" else codecs.jpegxl_decode
    return np.asarray(decoder(data)).reshape(like.shape)


def largest_within(encode, lo: float, hi: float, target_bytes: int, *, tries: int = 14) -> tuple[float, bytes]:
    """The parameter and file of the largest ``encode(p)`` not above ``target_bytes``, for ``p`` in
    ``[lo, hi]`` where files shrink as ``p`` grows: bisected in log space until within 1% below the target
    or ``tries`` runs out; ``encode(hi)`` (the smallest file) when nothing fits."""
    best_p, best = hi, encode(hi)
    for _ in range(tries):
        mid = float(np.sqrt(lo * hi))
        data = encode(mid)
        if len(data) <= target_bytes:
            hi = mid
            if len(data) > len(best):
                best_p, best = mid, data
            if len(data) >= 0.99 * target_bytes:
                break
        else:
            lo = mid
    return best_p, best


def htj2k_at_size(image: np.ndarray, target_bytes: int) -> tuple[float, bytes]:
    """The HTJ2K quantization step and codestream closest to ``target_bytes`` without exceeding it."""
    return largest_within(partial(htj2k_encode, image), 1e-4, 2.0, target_bytes)


def jpegxl_at_size(image: np.ndarray, target_bytes: int) -> tuple[float, bytes]:
    """The JPEG-XL distance and file closest to ``target_bytes`` without exceeding it."""
    return largest_within(partial(jpegxl_encode, image), 0.05, 25.0, target_bytes)


def _pil(image: np.ndarray):
    from PIL import Image
    if image.dtype != np.uint8 or not (image.ndim == 2 or image.shape[2] in (1, 3)):
        raise InvalidInputError(f"the reference codecs take 8-bit gray or RGB images, got {image.dtype} "
                                f"{image.shape}")
    return Image.fromarray(image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image)


def jpeg2000_encode(image: np.ndarray, ratio: float, tile: int | None = None) -> bytes:
    """Lossy JPEG2000 codestream at compression ``ratio`` (raw bytes / coded bytes), in ``tile`` x ``tile`` tiles
    if asked (what confines damage when the bindings offer no SOP/EPH markers)."""
    buf = io.BytesIO()
    pil = _pil(image)
    pil.save(buf, "JPEG2000", no_jp2=True, irreversible=True, quality_mode="rates",
             quality_layers=[float(ratio)], mct=1 if pil.mode == "RGB" else 0,
             **({"tile_size": (tile, tile)} if tile else {}))
    return buf.getvalue()


def decode_pil(data: bytes, like: np.ndarray, truncated: bool = False) -> np.ndarray:
    """Decode JPEG/JPEG2000 bytes to an array shaped like ``like``; with ``truncated``, as Pillow's
    ``LOAD_TRUNCATED_IMAGES`` does (what is decodable of a damaged stream, the rest left blank)."""
    from PIL import Image, ImageFile
    before, ImageFile.LOAD_TRUNCATED_IMAGES = ImageFile.LOAD_TRUNCATED_IMAGES, truncated
    try:
        with Image.open(io.BytesIO(data)) as im:
            out = np.asarray(im)
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = before
    return out.reshape(like.shape)


def jpeg2000_at_size(image: np.ndarray, target_bytes: int, *, tries: int = 12, tile: int | None = None) -> bytes:
    """The JPEG2000 codestream closest to ``target_bytes`` without exceeding it.

    OpenJPEG's rate control usually lands within 1% below the size asked
    for, so one encode at ``ratio = raw / target`` is tried first; when it
    misses, the ratio is bisected (in log space) until the size is within 1%
    below the target or ``tries`` runs out.
    """
    raw = image.size * image.dtype.itemsize
    first = jpeg2000_encode(image, max(1.0, raw / target_bytes), tile)
    if 0.99 * target_bytes <= len(first) <= target_bytes:
        return first
    return largest_within(partial(jpeg2000_encode, image, tile=tile), 1.0, max(2.0, raw / 16.0), target_bytes,
                          tries=tries)[1]


#: The anchors at a byte budget: family -> (name, ``at_size(image, target_bytes) -> bytes``,
#: ``decode(data, like) -> image``); HTJ2K and JPEG-XL need imagecodecs.
ANCHORS = {
    "jpeg2000": ("JPEG2000", jpeg2000_at_size, decode_pil),
    "htj2k": ("HTJ2K", lambda image, n: htj2k_at_size(image, n)[1], decode_imagecodecs),
    "jpegxl": ("JPEG-XL", lambda image, n: jpegxl_at_size(image, n)[1], decode_imagecodecs),
}


def jpeg_encode(image: np.ndarray, quality: int) -> bytes:
    """Baseline JPEG (Pillow/libjpeg) at ``quality`` 1..95, 4:2:0 chroma for colour."""
    buf = io.BytesIO()
    _pil(image).save(buf, "JPEG", quality=int(quality))
    return buf.getvalue()
