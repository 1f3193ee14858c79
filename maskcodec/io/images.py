"""Reading and writing image files: PNG and TIFF (8 and 16 bits) and ``.npy``; decoded products' float and signed
values are written as TIFF or ``.npy`` (:func:`png_holds` says PNG cannot hold them).

PNG keeps every sample: 16-bit colour at full depth, and the ``sBIT`` chunk (the
significant bits a 12-bit camera frame in a 16-bit PNG declares) is read by
:func:`read_image_bits` and written by :func:`write_image` with ``bits``.
"""
from __future__ import annotations

import os
import struct
import zlib
from contextlib import contextmanager
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError, LimitExceededError, MaskcodecError
from ..records import Limits

__all__ = ["read_image", "read_image_bits", "write_image", "find_images", "IMAGE_SUFFIXES", "png_holds",
           "default_suffix", "output_suffix", "check_output", "check_writable"]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".npy")
PRODUCT_SUFFIXES = (".img", ".lbl", ".xml", ".dat", ".qub", ".cub", ".fits", ".fit", ".fts")  # maskcodec.io.products


def _suffix(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InvalidInputError(f"{path}: unsupported image type {suffix or '(none)'!r}; expected one of "
                                f"{', '.join(IMAGE_SUFFIXES)} (encode also reads mission products: "
                                f"{', '.join(PRODUCT_SUFFIXES)})")
    return suffix


def read_image_bits(path: str | os.PathLike) -> tuple[np.ndarray, int | None]:
    """:func:`read_image` and the significant bits the file declares (a PNG's ``sBIT``; None when it says
    nothing). What ``maskcodec encode`` records when ``--bits`` is not given."""
    return _read(path)


def scale_up(values: np.ndarray, bits: int) -> np.ndarray:
    """``bits``-bit values left-justified in their dtype with their top bits repeated below (PNG's scaling
    for ``sBIT``, so a viewer shows a 12-bit frame at full brightness); :func:`scale_down` inverts it.

    >>> scale_up(np.array([0, 1, 4095], np.uint16), 12).tolist(), scale_down(scale_up(np.array([7]), 12), 12)
    ([0, 16, 65535], array([7]))
    """
    depth = 8 * values.dtype.itemsize
    out = np.zeros_like(values)
    for shift in range(depth - bits, -bits, -bits):  # bit replication (PNG specification, section 12.5)
        out |= (values << shift) if shift >= 0 else (values >> -shift)
    return out


def scale_down(values: np.ndarray, bits: int) -> np.ndarray:
    """The ``bits``-bit values of :func:`scale_up`'s samples."""
    return values >> (8 * values.dtype.itemsize - bits)


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as a uint8/uint16 array ``(H, W)`` or ``(H, W, C)``.

    PNG is read with Pillow (palette and 1-bit images are expanded to 8-bit,
    alpha is kept as a channel, 16-bit samples keep all 16 bits), TIFF with
    tifffile, ``.npy`` without pickles.
    """
    return _read(path)[0]


def _read(path) -> tuple[np.ndarray, int | None]:
    """The image and the significant bits its file declares (only a PNG's sBIT does)."""
    suffix = _suffix(path)
    bits = None
    if not Path(path).is_file():
        raise InvalidInputError(f"{path}: no such image file")
    try:
        if suffix == ".npy":
            arr = _read_npy(path)
        elif suffix == ".png":
            arr, bits = _read_png(path)
        else:
            arr = _read_tiff(path)
    except MaskcodecError:
        raise
    except Exception:  # readers raise many types on damaged files; their texts are not for users
        raise InvalidInputError(f"{path}: cannot read it as a {suffix[1:].upper()} image (damaged, or another "
                                f"format under this name)") from None
    if arr.dtype not in (np.uint8, np.uint16):
        hint = ("maskcodec encode shifts signed data up (the offset travels in the file); or cast data whose "
                "values fit in 0..65535 to uint16" if arr.dtype.kind in "iub" else
                "maskcodec encode --quantize auto (or SCALE,OFFSET) stores float data as 16-bit integers"
                if suffix == ".npy" else "save it as .npy and encode it with --quantize auto")
        raise InvalidInputError(f"{path}: pixel type {arr.dtype} is not supported; maskcodec codes uint8 "
                                f"and uint16: {hint}")
    return np.ascontiguousarray(arr), bits


def _check_size(path, height: int, width: int, channels: int = 1) -> None:
    """maskcodec's own size limits (:class:`~maskcodec.Limits`), before any pixel is read."""
    limits = Limits()
    if height * width > limits.max_pixels or height * width * channels > limits.max_samples:
        raise LimitExceededError(f"{path}: {height} x {width} x {channels} samples exceed maskcodec's limits "
                                 f"({limits.max_pixels} pixels, {limits.max_samples} samples); cut it into tiles")


def _read_npy(path) -> np.ndarray:
    with open(path, "rb") as f:  # the header first: nothing else is read before it is checked
        major, _ = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f)
    if dtype.hasobject or len(shape) not in (2, 3):
        what = "Python objects (a pickle)" if dtype.hasobject else f"{len(shape)} axes"
        raise InvalidInputError(f"{path}: the array holds {what}; maskcodec reads numeric arrays (H, W) or "
                                f"(H, W, C)")
    _check_size(path, shape[0], shape[1], shape[2] if len(shape) == 3 else 1)
    return np.load(path, allow_pickle=False)


def _read_tiff(path) -> np.ndarray:
    import tifffile
    with tifffile.TiffFile(path) as tif:
        shape = tif.series[0].shape
        if len(shape) >= 2:
            _check_size(path, shape[0], shape[1], int(np.prod(shape[2:], dtype=np.int64)))
        return tif.asarray()


def _read_png(path: str | os.PathLike) -> tuple[np.ndarray, int | None]:
    """A PNG's values (scaled down where its sBIT says, :func:`_unscaled`) and the significant bits it declares."""
    chunks = _png_chunks(path)
    ihdr = chunks.get(b"IHDR", bytes(13))
    width, height = struct.unpack(">II", ihdr[:8])
    _check_size(path, height, width)
    arr = _png_samples(path, ihdr[8])
    bits = _significant_bits(chunks.get(b"sBIT"), arr.dtype)
    return _unscaled(arr, bits, path), bits


def _png_samples(path, depth: int) -> np.ndarray:
    """A PNG's samples as stored (``depth``: the bit depth its IHDR states)."""
    from PIL import Image
    with _pillow_without_its_limit(), Image.open(path) as im:
        if im.format != "PNG":
            raise InvalidInputError(f"{path}: file is {im.format}, not PNG")
        if im.mode in ("P", "PA", "1"):
            im = im.convert("RGBA" if ("A" in im.mode or "transparency" in im.info) else
                            ("RGB" if im.mode.startswith("P") else "L"))
        if im.mode.startswith("I"):
            return np.asarray(im).astype(np.uint16)  # 16-bit gray PNG (values 0..65535)
        if depth == 16:
            return _read_png16(im, path)
        return np.asarray(im)


def _read_png16(im, path) -> np.ndarray:
    """A 16-bit colour PNG at full depth: Pillow has no 16-bit colour mode and keeps the high byte of each
    sample, so its decoder runs twice, unpacking the big-endian samples' high bytes, then (as little-endian)
    their low bytes."""
    rawmode = {"RGB": "RGB;16", "RGBA": "RGBA;16"}.get(im.mode)
    if rawmode is None:  # 16-bit gray and alpha: Pillow has no little-endian unpacker for it
        raise InvalidInputError(f"{path}: a 16-bit gray-and-alpha PNG cannot be read at full depth here; "
                                f"convert it to a 16-bit TIFF")
    planes = []
    for order in "BL":
        from PIL import Image
        with _pillow_without_its_limit(), Image.open(path) as again:
            again.tile = [t._replace(args=rawmode + order) if hasattr(t, "_replace") else (*t[:3], rawmode + order)
                          for t in again.tile]
            again.load()
            planes.append(np.asarray(again).astype(np.uint16))
    return (planes[0] << 8) | planes[1]


@contextmanager
def _pillow_without_its_limit():
    """Pillow's decompression-bomb limit (89 M pixels) lifted while a PNG whose size maskcodec's own limits
    have passed is read."""
    from PIL import Image
    saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None
    try:
        yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def _png_chunks(path) -> dict[bytes, bytes]:
    """The first of each chunk of a PNG before its image data (IHDR, sBIT, ...)."""
    with open(path, "rb") as f:
        data = f.read(1 << 16)
    chunks, at = {}, 8
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        if kind == b"IDAT":
            break
        chunks.setdefault(kind, data[at + 8:at + 8 + length])
        at += 12 + length
    return chunks


def _significant_bits(sbit: bytes | None, dtype) -> int | None:
    """The significant bits a PNG's ``sBIT`` chunk declares (the largest over its channels), or None without
    one or when it says the full depth of ``dtype``."""
    if not sbit:
        return None
    bits = max(sbit)
    return bits if 0 < bits < 8 * np.dtype(dtype).itemsize else None


def _unscaled(arr: np.ndarray, bits: int | None, path) -> np.ndarray:
    """A PNG's samples as the values its ``sBIT`` says they hold: PNG scales them up (:func:`scale_up`), so
    they come back scaled down; samples that already fit in ``bits`` (written unscaled, as some tools do) are
    kept as they are. Samples that are neither are refused: the chunk and the data disagree."""
    if bits is None:
        return arr
    if np.array_equal(scale_up(scale_down(arr, bits), bits), arr):
        return scale_down(arr, bits)
    if int(arr.max(initial=0)) >> bits == 0:
        return arr
    raise InvalidInputError(f"{path}: its sBIT chunk says {bits} significant bits, but the samples are neither "
                            f"{bits}-bit values nor scaled from them; give --bits to say what they hold")


def png_holds(dtype, channels: int) -> bool:
    """Whether :func:`write_image` writes this layout as PNG (and :func:`read_image` reads it back): gray, RGB
    and RGBA of 8 or 16 bits, gray and alpha of 8 bits.

    >>> png_holds("uint8", 3), png_holds("uint16", 1), png_holds("uint16", 3), png_holds("uint16", 2)
    (True, True, True, False)
    >>> png_holds("float32", 1), png_holds("int16", 1)
    (False, False)
    """
    dtype = np.dtype(dtype)
    return dtype in (np.uint8, np.uint16) and 1 <= channels <= 4 and not (channels == 2 and dtype == np.uint16)


def default_suffix(dtype, channels: int) -> str:
    """The output type of a decoded image when none is asked for: PNG where it holds the image, else TIFF."""
    return ".png" if png_holds(dtype, channels) else ".tif"


def output_suffix(text: str) -> str:
    """An output type as typed on the command line (``png``, ``.tiff``, ``auto``...), normalized.

    >>> output_suffix("TIFF"), output_suffix(".npy"), output_suffix("auto")
    ('.tiff', '.npy', 'auto')
    """
    t = str(text).lower()
    if t == "auto":
        return t
    t = t if t.startswith(".") else f".{t}"
    if t not in IMAGE_SUFFIXES:
        raise InvalidInputError(f"output type (--format) {text!r} is not supported; expected auto (PNG where it "
                                f"holds the image, else TIFF) or one of {', '.join(IMAGE_SUFFIXES)}")
    return t


def check_output(path: str | os.PathLike, dtype=None, channels: int | None = None, force: bool = False) -> Path:
    """Refuse, before any work, an output file that cannot be written: an unknown type, a PNG that cannot
    hold the image, a folder that does not exist, or an existing file (unless ``force``)."""
    path = Path(path)
    if not path.is_dir():  # a folder is refused by check_writable
        suffix = _suffix(path)
        if dtype is not None and suffix == ".png" and not png_holds(dtype, channels):
            stored = (" (decode --stored writes the stored integers)" if np.dtype(dtype) not in (np.uint8, np.uint16)
                      else "")
            raise InvalidInputError(f"{path}: PNG cannot hold a {np.dtype(dtype).name} image with {channels} "
                                    f"channels; write .tif or .npy instead (-o {path.with_suffix('.tif')}){stored}")
    return check_writable(path, force, "image.png")


def check_writable(path: str | os.PathLike, force: bool = False, example: str = "frame.mcx") -> Path:
    """Refuse an output path that is a folder, lies in a folder that does not exist, or exists (unless
    ``force``); ``example`` names a file in the message for a folder."""
    path = Path(path)
    if path.is_dir():
        raise InvalidInputError(f"{path} is a folder; name an output file (-o {path / example})")
    if not path.parent.is_dir():
        raise InvalidInputError(f"{path}: the output folder {path.parent} does not exist")
    if path.exists() and not force:
        raise InvalidInputError(f"{path} exists; choose another output (-o) or overwrite it with --force")
    return path


def write_image(path: str | os.PathLike, image: np.ndarray, bits: int | None = None) -> None:
    """Write ``image`` to PNG, TIFF or ``.npy`` (chosen by the suffix).

    PNG holds 1 to 4 channels of 8 or 16 bits; more channels need ``.tif`` or
    ``.npy``, and a clear error says so. ``bits`` below the dtype's width is
    written into a PNG as PNG specifies: its ``sBIT`` chunk, and the values scaled
    up to the full depth (viewers show the frame at full brightness; :func:`read_image`
    scales them back down).
    """
    suffix = _suffix(path)
    if suffix == ".npy":
        np.save(path, image, allow_pickle=False)
    elif suffix in (".tif", ".tiff"):
        import tifffile
        rgb = image.ndim == 3 and image.shape[2] == 3
        tifffile.imwrite(path, image, photometric="rgb" if rgb else "minisblack", planarconfig="contig")
    else:
        channels = 1 if image.ndim == 2 else image.shape[2]
        if not png_holds(image.dtype, channels):
            raise InvalidInputError(f"{path}: PNG cannot hold a {image.dtype} image with {channels} channels; "
                                    f"write .tif or .npy instead")
        Path(path).write_bytes(png_bytes(image, bits))


_PNG_COLOUR = {1: 0, 2: 4, 3: 2, 4: 6}  # channels -> PNG colour type (gray, gray + alpha, RGB, RGBA)


def png_bytes(image: np.ndarray, bits: int | None = None) -> bytes:
    """``image`` (uint8 or uint16, 1 to 4 channels) as a PNG: rows unfiltered, zlib level 6; with ``bits`` below
    the dtype's width, the values scaled up as PNG's ``sBIT`` chunk (written too) says (:func:`scale_up`: a
    viewer shows a 12-bit frame at full brightness, and :func:`read_image` gives the values back).

    >>> import io
    >>> from PIL import Image
    >>> a = np.arange(12, dtype=np.uint8).reshape(2, 2, 3)
    >>> bool((np.asarray(Image.open(io.BytesIO(png_bytes(a)))) == a).all())
    True
    """
    h, w = image.shape[:2]
    channels = 1 if image.ndim == 2 else image.shape[2]
    depth = 8 * image.dtype.itemsize
    significant = bits is not None and bits < depth
    if significant and image.size and int(image.max()) >> bits:
        raise InvalidInputError(f"the image holds values above {bits} bits ({int(image.max())}); it cannot be "
                                f"written as {bits}-bit PNG samples")
    samples = scale_up(image, bits) if significant else image
    rows = np.ascontiguousarray(samples, ">u2" if depth == 16 else np.uint8).reshape(h, -1)
    raw = np.concatenate([np.zeros((h, 1), np.uint8), rows.view(np.uint8).reshape(h, -1)], axis=1)

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, _PNG_COLOUR[channels], 0, 0, 0))
    if significant:
        out += chunk(b"sBIT", bytes([bits]) * channels)
    return out + chunk(b"IDAT", zlib.compress(raw.tobytes(), 6)) + chunk(b"IEND", b"")


def find_images(paths) -> list[Path]:
    """Image files named by ``paths``: files as given, folders expanded (sorted, one level).

    Raises :class:`~maskcodec.errors.InvalidInputError` for a missing path or when no image is found.
    """
    found: list[Path] = []
    for name in paths:
        p = Path(name)
        if p.is_dir():
            found.extend(sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES and q.is_file()))
        elif p.is_file():
            found.append(p)
        else:
            raise InvalidInputError(f"{p}: no such file or folder")
    if not found:
        raise InvalidInputError(f"no images ({', '.join(IMAGE_SUFFIXES)}) found in {', '.join(map(str, paths))}")
    return found
