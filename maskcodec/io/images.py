"""Reading and writing image files: PNG and TIFF (8 and 16 bits) and ``.npy``."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError

__all__ = ["read_image", "write_image", "find_images", "IMAGE_SUFFIXES", "png_holds", "default_suffix",
           "output_suffix", "check_output", "check_writable"]

IMAGE_SUFFIXES = (".png", ".tif", ".tiff", ".npy")


def _suffix(path: str | os.PathLike) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        raise InvalidInputError(f"{path}: unsupported image type {suffix or '(none)'!r}; "
                                f"expected one of {', '.join(IMAGE_SUFFIXES)}")
    return suffix


def read_image(path: str | os.PathLike) -> np.ndarray:
    """Read an image as a uint8/uint16 array ``(H, W)`` or ``(H, W, C)``.

    PNG is read with Pillow (palette and 1-bit images are expanded to 8-bit,
    alpha is kept as a channel), TIFF with tifffile, ``.npy`` without pickles.
    """
    suffix = _suffix(path)
    try:
        if suffix == ".npy":
            arr = np.load(path, allow_pickle=False)
        elif suffix == ".png":
            arr = _read_png(path)
        else:
            import tifffile
            arr = tifffile.imread(path)
    except InvalidInputError:
        raise
    except Exception as e:  # readers raise many types on damaged files
        raise InvalidInputError(f"{path}: cannot read image ({type(e).__name__}: {e})") from None
    if arr.dtype not in (np.uint8, np.uint16):
        raise InvalidInputError(f"{path}: pixel type {arr.dtype} is not supported; maskcodec codes uint8 "
                                f"and uint16 (scale float data to integers first)")
    return np.ascontiguousarray(arr)


def _read_png(path: str | os.PathLike) -> np.ndarray:
    from PIL import Image
    with Image.open(path) as im:
        if im.format != "PNG":
            raise InvalidInputError(f"{path}: file is {im.format}, not PNG")
        if im.mode in ("P", "PA", "1", "LA"):
            im = im.convert("RGBA" if ("A" in im.mode or "transparency" in im.info) else
                            ("RGB" if im.mode.startswith("P") else "L"))
        if im.mode.startswith("I"):
            return np.asarray(im).astype(np.uint16)  # 16-bit gray PNG (values 0..65535)
        return np.asarray(im)


def png_holds(dtype, channels: int) -> bool:
    """Whether :func:`write_image` can write this layout as PNG: 8-bit gray/RGB/RGBA, 16-bit gray.

    >>> png_holds("uint8", 3), png_holds("uint16", 1), png_holds("uint16", 3)
    (True, True, False)
    """
    return channels == 1 or (np.dtype(dtype) == np.uint8 and channels in (3, 4))


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
            raise InvalidInputError(f"{path}: PNG cannot hold a {np.dtype(dtype).name} image with {channels} "
                                    f"channels; write .tif or .npy instead (-o {path.with_suffix('.tif')})")
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


def write_image(path: str | os.PathLike, image: np.ndarray) -> None:
    """Write ``image`` to PNG, TIFF or ``.npy`` (chosen by the suffix).

    PNG holds 8-bit gray/RGB/RGBA and 16-bit gray; other layouts (16-bit
    colour, more than 4 channels) need ``.tif`` or ``.npy``, and a clear error
    says so.
    """
    suffix = _suffix(path)
    if suffix == ".npy":
        np.save(path, image, allow_pickle=False)
    elif suffix in (".tif", ".tiff"):
        import tifffile
        rgb = image.ndim == 3 and image.shape[2] == 3
        tifffile.imwrite(path, image, photometric="rgb" if rgb else "minisblack", planarconfig="contig")
    else:
        from PIL import Image
        img = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
        channels = 1 if img.ndim == 2 else img.shape[2]
        if not png_holds(img.dtype, channels):
            raise InvalidInputError(f"{path}: PNG cannot hold a {img.dtype} image with {channels} channels; "
                                    f"write .tif or .npy instead")
        Image.fromarray(img).save(path)


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
