"""Reading mission data products: PDS3, VICAR and PDS4 through ``pdr``, FITS through ``astropy``.

:func:`read_product` returns a :class:`Product`: the image as uint8/uint16
``(H, W)`` or ``(H, W, C)``, its significant bits (from the label when it says
so) and a JSON-ready ``metadata`` dict for :func:`maskcodec.encode`, so that
``maskcodec info`` shows which product a file came from::

    p = read_product("W1884114531_2.LBL")
    data = maskcodec.encode(p.image, 0.1, bits=p.bits, metadata=p.metadata)

Integer data that is signed but never negative is cast; signed data with
negative values is shifted up by ``metadata["offset"]`` (original value =
stored value - offset). Float data must hold integers only: quantize it first.

The readers are the optional extra ``products`` (``pip install maskcodec[products]``).
``pdr`` 1.4 ignores the suffix planes of ISIS2 qubes (Cassini VIMS, ...), so
qube cores are read here from the label ``pdr`` parsed.
"""
from __future__ import annotations

import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError
from ..optional import require
from .images import PRODUCT_SUFFIXES

__all__ = ["PRODUCT_SUFFIXES", "Product", "is_product", "read_product"]

FITS_SUFFIXES = (".fits", ".fit", ".fts")

# metadata key -> label keywords tried in turn (PDS3, PDS4 and FITS spellings)
LABEL_FIELDS = {
    "product_id": ("PRODUCT_ID", "logical_identifier", "FILENAME"),
    "instrument": ("INSTRUMENT_ID", "INSTRUME"),
    "instrument_name": ("INSTRUMENT_NAME",),
    "spacecraft": ("SPACECRAFT_NAME", "INSTRUMENT_HOST_NAME", "INSTRUMENT_HOST_ID", "TELESCOP"),
    "mission": ("MISSION_NAME",),
    "target": ("TARGET_NAME", "OBJECT"),
    "start_time": ("START_TIME", "IMAGE_TIME", "start_date_time", "DATE-OBS"),
}

# ISIS2 qube CORE_ITEM_TYPE -> numpy kind and byte order
QUBE_TYPES = {
    "SUN_INTEGER": ">i", "MSB_INTEGER": ">i", "INTEGER": ">i", "LSB_INTEGER": "<i", "PC_INTEGER": "<i",
    "VAX_INTEGER": "<i", "SUN_UNSIGNED_INTEGER": ">u", "MSB_UNSIGNED_INTEGER": ">u",
    "UNSIGNED_INTEGER": ">u", "LSB_UNSIGNED_INTEGER": "<u", "PC_UNSIGNED_INTEGER": "<u",
    "VAX_UNSIGNED_INTEGER": "<u", "SUN_REAL": ">f", "IEEE_REAL": ">f", "REAL": ">f", "PC_REAL": "<f",
}


@dataclass(frozen=True)
class Product:
    """An image read from a mission product, ready for :func:`maskcodec.encode`.

    Attributes
    ----------
    image : numpy.ndarray
        uint8 or uint16, ``(H, W)`` or ``(H, W, C)`` (bands last).
    bits : int
        Significant bits per sample; every value fits.
    metadata : dict
        JSON-ready: ``product_id``, ``instrument``, ``spacecraft``,
        ``start_time`` ... as the label gives them, plus ``bits``,
        ``source_file``, ``format`` and ``offset`` when data were shifted.
    """

    image: np.ndarray
    bits: int
    metadata: dict = field(default_factory=dict)


def is_product(path: str | os.PathLike) -> bool:
    """Whether ``path`` has a product suffix (:data:`PRODUCT_SUFFIXES`, any case).

    >>> is_product("W1884114531_2.LBL"), is_product("frame.png")
    (True, False)
    """
    return Path(path).suffix.lower() in PRODUCT_SUFFIXES


def read_product(path: str | os.PathLike) -> Product:
    """Read the image of a PDS3/VICAR/PDS4 product or a FITS file.

    ``path`` may be the data file or its label: ``x.IMG`` with an attached or
    a detached label beside it (``x.LBL``), the label itself, or a copy of an
    attached label (``x.img.lbl``, read with ``x.img``).

    Raises
    ------
    InvalidInputError
        The file is missing, unreadable, holds no image, holds float data that
        are not integers, or values spanning more than 16 bits; the message
        says which.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"{p}: no such file")
    if not is_product(p):
        raise InvalidInputError(f"{p}: unsupported product type {p.suffix or '(none)'!r}; "
                                f"expected one of {', '.join(PRODUCT_SUFFIXES)}")
    reader = _read_fits if p.suffix.lower() in FITS_SUFFIXES else _read_pds
    array, label, label_bits, fmt = reader(p)
    image, offset = _to_unsigned(array, p)
    bits = _significant_bits(image, label_bits)
    metadata = {key: _json_value(label(names)) for key, names in LABEL_FIELDS.items()}
    metadata = {k: v for k, v in metadata.items() if v not in (None, "")}
    metadata.update(bits=bits, source_file=p.name, format=fmt)
    if offset:
        metadata["offset"] = offset
    return Product(image=image, bits=bits, metadata=metadata)


def _import(module: str):
    return require(module, "reading mission products")


def _read_pds(p: Path):
    pdr = _import("pdr")
    fn, label_fn = str(p), None
    data_file = p.with_suffix("")  # "x.img.lbl": a copy of the label attached to "x.img"
    if p.suffix.lower() == ".lbl" and data_file.suffix and data_file.is_file():
        fn, label_fn = str(data_file), str(p)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            data = pdr.read(fn, label_fn=label_fn)
            name = _image_object(data, p)
            qube = "QUBE" in name.upper()
            array = _read_qube(data, name, p) if qube else data[name]
        except InvalidInputError:
            raise
        except Exception as e:  # pdr raises many types on damaged or unsupported products
            raise InvalidInputError(f"{p}: cannot read product ({type(e).__name__}: {e})") from None
    if not isinstance(array, np.ndarray):
        why = "; ".join(str(w.message) for w in caught) or f"pdr returned {type(array).__name__}"
        raise InvalidInputError(f"{p}: cannot load the {name} object ({why})")
    if array.ndim == 3 and not qube:
        array = np.moveaxis(array, 0, -1)  # pdr gives (bands, lines, samples)
    block = data.metablock_(name) or {}
    fmt = "PDS4" if data.standard == "PDS4" else "PDS3"

    def label(names):
        return next((v for v in (data.metaget_(n) for n in names) if v is not None), None)

    return array, label, _label_bits(block, data.metaget_("DATA_CONVERSION_TYPE")), fmt


def _image_object(data, p: Path) -> str:
    """The name of the product's image object: IMAGE, a qube, or the first array."""
    names = [k for k in data.keys() if k not in ("LABEL", "IMAGE_HEADER")]
    for name in names:
        if name == "IMAGE" or "QUBE" in name.upper():
            return name
    for name in names:
        if "IMAGE" in name.upper() or "ARRAY" in name.upper():
            return name
    raise InvalidInputError(f"{p}: the product has no image object (objects: {', '.join(names) or 'none'}); "
                            f"a VICAR file needs its PDS3 label beside it")


def _read_qube(data, pointer: str, p: Path) -> np.ndarray:
    """The core of an ISIS2 qube as ``(lines, samples, bands)``, skipping suffix planes."""
    meta = data.metadata
    names = [pointer] + [k for k in meta.keys() if "QUBE" in k and not k.startswith("^")]
    block = next((b for b in map(data.metablock_, names) if b is not None and "CORE_ITEMS" in b), None)
    if block is None:
        raise InvalidInputError(f"{p}: the label has no {pointer} object with CORE_ITEMS")
    axes = tuple(block["AXIS_NAME"])
    n0, n1, n2 = (int(n) for n in block["CORE_ITEMS"])
    s0, s1, _ = (int(n) for n in block.get("SUFFIX_ITEMS", (0, 0, 0)))
    item, kind = int(block["CORE_ITEM_BYTES"]), QUBE_TYPES.get(str(block["CORE_ITEM_TYPE"]))
    if kind is None or sorted(axes) != ["BAND", "LINE", "SAMPLE"]:
        raise InvalidInputError(f"{p}: unsupported qube layout {axes} of {block['CORE_ITEM_TYPE']}")
    suffix = int(block.get("SUFFIX_BYTES", 4))  # ISIS2 suffix items are 4 bytes
    row = n0 * item + s0 * suffix
    plane = n1 * row + s1 * (n0 + s0) * suffix
    target = meta.get(f"^{pointer}")
    filename, record = (target if isinstance(target, (tuple, list)) else (None, target))
    source = Path(data.labelname).parent / filename if filename else Path(data.labelname)
    source = next((q for q in source.parent.iterdir() if q.name.lower() == source.name.lower()), source)
    start = (int(record) - 1) * int(data.metaget_("RECORD_BYTES"))
    raw = np.fromfile(source, np.uint8, count=n2 * plane, offset=start)
    if raw.size < n2 * plane:
        raise InvalidInputError(f"{p}: {source.name} is truncated: the qube needs {n2 * plane} bytes "
                                f"from byte {start}, found {raw.size}")
    core = raw.reshape(n2, plane)[:, :n1 * row].reshape(n2, n1, row)[:, :, :n0 * item]
    cube = np.ascontiguousarray(core).view(f"{kind}{item}").reshape(n2, n1, n0)
    stored = axes[::-1]
    return cube.transpose([stored.index(a) for a in ("LINE", "SAMPLE", "BAND")])


def _read_fits(p: Path):
    fits = _import("astropy.io.fits")
    try:
        with fits.open(p, memmap=False) as hdus:
            hdu = next((h for h in hdus if h.is_image and h.data is not None and h.data.ndim in (2, 3)), None)
            if hdu is None:
                raise InvalidInputError(f"{p}: the FITS file has no 2-D or 3-D image HDU")
            array, header = np.array(hdu.data), dict(hdus[0].header) | dict(hdu.header)
    except InvalidInputError:
        raise
    except Exception as e:
        raise InvalidInputError(f"{p}: cannot read FITS file ({type(e).__name__}: {e})") from None
    if array.ndim == 3:
        array = np.moveaxis(array, 0, -1)  # FITS cubes are (bands, lines, samples) in numpy order

    def label(names):
        return next((header[n] for n in names if header.get(n) not in (None, "")), None)

    return array, label, None, "FITS"


def _label_bits(block, conversion) -> int | None:
    """Significant bits the label states: SAMPLE_BIT_MASK, DATA_CONVERSION_TYPE "12BIT", SAMPLE_BITS."""
    mask = block.get("SAMPLE_BIT_MASK")
    if isinstance(mask, int) and mask > 0:
        return mask.bit_length()
    match = re.fullmatch(r"(\d+)\s*BIT", str(conversion or "").strip().upper())
    if match:
        return int(match.group(1))
    sample_bits = block.get("SAMPLE_BITS")
    return int(sample_bits) if isinstance(sample_bits, int) and sample_bits > 0 else None


def _significant_bits(image: np.ndarray, label_bits: int | None) -> int:
    """The label's bits, or the bit length of the maximum rounded up to 8/12/16; never too few."""
    width = 8 * image.dtype.itemsize
    needed = max(int(image.max()).bit_length(), 1)
    if label_bits is None:
        return min(next(b for b in (8, 12, 16) if b >= needed), width)
    return min(max(label_bits, needed), width)


def _to_unsigned(array: np.ndarray, p: Path) -> tuple[np.ndarray, int]:
    """uint8/uint16 data and the offset added to make signed data non-negative."""
    if array.size == 0:
        raise InvalidInputError(f"{p}: the image has no pixels (shape {array.shape})")
    if array.dtype.kind == "f":
        finite = np.isfinite(array).all()
        if not finite or not np.array_equal(array, np.round(array)):
            lo, hi = np.nanmin(array), np.nanmax(array)
            raise InvalidInputError(f"{p}: {array.dtype} data (range {lo:g}..{hi:g}"
                                    f"{', with NaN/inf' if not finite else ''}) must be quantized to "
                                    f"uint8/uint16 first; maskcodec codes integer samples")
    elif array.dtype.kind not in "iub":
        raise InvalidInputError(f"{p}: pixel type {array.dtype} is not supported; expected integer data")
    values = array.astype(np.int64)
    lo, hi = int(values.min()), int(values.max())
    offset = -lo if lo < 0 else 0
    if hi + offset > 0xFFFF:
        raise InvalidInputError(f"{p}: values span {lo}..{hi}, more than 16 bits; maskcodec codes "
                                f"uint8 and uint16 samples")
    sixteen = array.dtype.kind in "iub" and array.dtype.itemsize == 2  # keep 16-bit samples 16-bit
    dtype = np.uint16 if sixteen or hi + offset > 0xFF else np.uint8
    return np.ascontiguousarray(values + offset, dtype=dtype), offset


def _json_value(value):
    """Label values as JSON-ready scalars (dates and units become strings)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value.strip() if isinstance(value, str) else value
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return str(value)
