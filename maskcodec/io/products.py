"""Reading mission data products: PDS3, VICAR and PDS4 (through ``pdr``), ISIS3 cubes and ISIS2 qubes, FITS
(through ``astropy``) and ``.npy`` arrays of any numeric type.

:func:`read_product` returns a :class:`Product`: the image as uint8/uint16
``(H, W)`` or ``(H, W, C)``, its significant bits and a JSON-ready ``metadata``
dict for :func:`maskcodec.encode`, so that ``maskcodec info`` shows which
product a file came from and ``maskcodec decode`` can write its label back::

    p = read_product("W1884114531_2.LBL")
    data = maskcodec.encode(p.image, 0.1, bits=p.bits, metadata=p.metadata)
    values = restore(maskcodec.decode(data), maskcodec.inspect(data).metadata)

- **Bits.** The label's significant bits where it states them
  (``SAMPLE_BIT_MASK``, ``DATA_CONVERSION_TYPE = "12BIT"``); otherwise the bit
  length of the largest stored value (a 12-bit frame in a 16-bit container is
  recorded as 12 bits, and :attr:`Product.bits_from` is ``"data"``).
- **Signed integers.** Data that are signed but never negative are cast;
  signed data with negative values are shifted up by ``metadata["offset"]``
  (original value = stored value - offset) and ``metadata["dtype"]`` records
  the original type, which :func:`restore` gives back.
- **Float data** (and integers spanning more than 16 bits) need an explicit
  quantization (``quantize="auto"`` or ``(scale, offset)``): stored =
  round((value - offset) / scale), and ``metadata["quantization"]`` holds the
  scale, offset, original dtype and the largest error of a stored value, so
  that :func:`restore` computes value = stored x scale + offset. NaN, infinities
  and ISIS special pixels are not numbers to quantize: each kind present gets
  a reserved code (0, 1, ...) below the data's codes and comes back as itself.
  Float data holding integers only are stored as they are.
- **Labels.** ``metadata["label"]`` holds the product's label (the PDS3 or
  PDS4 label, the ISIS3 label, the FITS headers) byte for byte, zlib-compressed
  and base64-encoded; :func:`label_bytes` returns it.

The PDS3/PDS4 readers and FITS are the optional extra ``products`` (``pip install
maskcodec[products]``); ISIS3 cubes, qubes, PDS4 arrays whose label ``pdr``
refuses (a CaSSIS label without its array ``offset``) and ``.npy`` are read here.
"""
from __future__ import annotations

import base64
import math
import os
import re
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import InvalidInputError, LimitExceededError, MaskcodecError, MissingDependencyError
from ..optional import require
from ..records import Limits
from .images import PRODUCT_SUFFIXES

__all__ = ["PRODUCT_SUFFIXES", "Product", "is_product", "read_product", "read_array", "read_values", "needs_conversion",
           "parse_quantize", "restore", "restored_dtype", "label_bytes", "label_suffix", "describe_quantization",
           "describe_label", "error_bound", "valid_quantization", "product_sources"]

FITS_SUFFIXES = (".fits", ".fit", ".fts")
LABEL_SUFFIXES = (".lbl", ".xml")  # detached labels: a data file beside one of the same stem is read through it
DATA_SUFFIXES = (".img", ".dat", ".qub", ".cub") + FITS_SUFFIXES
LABEL_FILE_SUFFIX = {"PDS3": ".lbl", "PDS4": ".xml", "ISIS3": ".lbl", "FITS": ".hdr"}  # decode writes the label so
MAX_LABEL = 1 << 24  # a label record inflates to at most this many bytes (labels are kilobytes)
NO_VALUE = ("", "TBD", "UNK", "N/A", "NULL", "NONE")

# metadata key -> label keywords tried in turn (PDS3, PDS4, ISIS3 and FITS spellings)
LABEL_FIELDS = {
    "product_id": ("PRODUCT_ID", "logical_identifier", "ProductId", "FILENAME", "file_name"),
    "instrument": ("INSTRUMENT_ID", "InstrumentId", "INSTRUME", "Instrument"),
    "instrument_name": ("INSTRUMENT_NAME", "InstrumentName"),
    "spacecraft": ("SPACECRAFT_NAME", "INSTRUMENT_HOST_NAME", "INSTRUMENT_HOST_ID", "SpacecraftName",
                   "Instrument_Host_Name", "Instrument_Host_Id", "TELESCOP"),
    "mission": ("MISSION_NAME", "Mission_Name"),
    "target": ("TARGET_NAME", "TargetName", "OBJECT"),
    "start_time": ("START_TIME", "IMAGE_TIME", "start_date_time", "StartTime", "DATE-OBS"),
}

# ISIS2 qube CORE_ITEM_TYPE -> numpy kind and byte order
QUBE_TYPES = {
    "SUN_INTEGER": ">i", "MSB_INTEGER": ">i", "INTEGER": ">i", "LSB_INTEGER": "<i", "PC_INTEGER": "<i",
    "VAX_INTEGER": "<i", "SUN_UNSIGNED_INTEGER": ">u", "MSB_UNSIGNED_INTEGER": ">u",
    "UNSIGNED_INTEGER": ">u", "LSB_UNSIGNED_INTEGER": "<u", "PC_UNSIGNED_INTEGER": "<u",
    "VAX_UNSIGNED_INTEGER": "<u", "SUN_REAL": ">f", "IEEE_REAL": ">f", "REAL": ">f", "PC_REAL": "<f",
}
PDS4_TYPES = {
    "IEEE754LSBSingle": "<f4", "IEEE754MSBSingle": ">f4", "IEEE754LSBDouble": "<f8", "IEEE754MSBDouble": ">f8",
    "SignedByte": "i1", "UnsignedByte": "u1", "SignedLSB2": "<i2", "SignedMSB2": ">i2", "UnsignedLSB2": "<u2",
    "UnsignedMSB2": ">u2", "SignedLSB4": "<i4", "SignedMSB4": ">i4", "UnsignedLSB4": "<u4", "UnsignedMSB4": ">u4",
}
ISIS3_TYPES = {"UnsignedByte": "u1", "SignedWord": "i2", "UnsignedWord": "u2", "SignedInteger": "i4",
               "UnsignedInteger": "u4", "Real": "f4", "Double": "f8"}
# ISIS special pixels of 32-bit Real cubes (ISIS SpecialPixel.h): name -> float32 bit pattern
ISIS3_REAL_SPECIALS = {"ISIS Null": 0xFF7FFFFB, "ISIS Lrs": 0xFF7FFFFC, "ISIS Lis": 0xFF7FFFFD,
                       "ISIS His": 0xFF7FFFFE, "ISIS Hrs": 0xFF7FFFFF}
QUANTIZE_IGNORED = "--quantize applies to float data; these {} samples are coded as they are"
RESTORED_DTYPES = ("float32", "float64", "int8", "int16", "int32", "int64", "uint32", "uint64")


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
        ``source_file``, ``format``; ``offset`` and ``dtype`` when signed data
        were shifted; ``quantization`` when float data were quantized; ``label``
        when the product has one.
    notes : tuple of str
        What a user should be told (special values given reserved codes, a
        missing byte offset read as 0, ...).
    bits_from : str
        Where ``bits`` came from: ``"label"``, ``"data"`` (the largest value;
        the label does not say) or ``"quantization"``.
    """

    image: np.ndarray
    bits: int
    metadata: dict = field(default_factory=dict)
    notes: tuple = ()
    bits_from: str = "label"


@dataclass
class _Read:
    """What a format reader found: the array, the label's fields, its bits, format, label text, specials."""

    array: np.ndarray
    fields: dict
    label_bits: int | None
    fmt: str
    label: bytes | None = None
    label_name: str = ""
    specials: dict = field(default_factory=dict)  # name -> float32 bit pattern of special pixel values
    notes: list = field(default_factory=list)


def is_product(path: str | os.PathLike) -> bool:
    """Whether ``path`` has a product suffix (:data:`PRODUCT_SUFFIXES`, any case).

    >>> is_product("W1884114531_2.LBL"), is_product("M143947267L.cal.echo.crop.cub"), is_product("frame.png")
    (True, True, False)
    """
    return Path(path).suffix.lower() in PRODUCT_SUFFIXES


def product_sources(files) -> list[Path]:
    """``files`` less the data files a label among them describes (``x.IMG`` beside ``x.LBL``, ``x.dat``
    beside ``x.xml``, ``x.img`` beside ``x.img.lbl``): each product once, read through its label.

    >>> [p.name for p in product_sources([Path("a.IMG"), Path("a.LBL"), Path("b.dat"), Path("b.xml"), Path("c.png")])]
    ['a.LBL', 'b.xml', 'c.png']
    """
    files = [Path(f) for f in files]
    labels = {(f.parent, f.stem.lower()) for f in files if f.suffix.lower() in LABEL_SUFFIXES}
    return [f for f in files if not (f.suffix.lower() in DATA_SUFFIXES and
                                     ((f.parent, f.stem.lower()) in labels or (f.parent, f.name.lower()) in labels))]


def parse_quantize(text) -> str | tuple[float, float]:
    """``--quantize``: ``auto`` or ``SCALE,OFFSET`` (stored = round((value - OFFSET) / SCALE), SCALE > 0).

    >>> parse_quantize("auto"), parse_quantize("1e-4,0.5")
    ('auto', (0.0001, 0.5))
    """
    if isinstance(text, tuple):
        parts = list(text)
    elif str(text).strip().lower() == "auto":
        return "auto"
    else:
        parts = str(text).split(",")
    try:
        scale, offset = (float(v) for v in parts)
    except (TypeError, ValueError):
        scale = offset = math.nan
    if not (math.isfinite(scale) and math.isfinite(offset) and scale > 0):
        raise InvalidInputError(f"quantize (--quantize) must be auto or SCALE,OFFSET (two numbers, SCALE > 0: "
                                f"stored = round((value - OFFSET) / SCALE)), e.g. --quantize 1e-5,0; got {text!r}")
    return scale, offset


def needs_conversion(path: str | os.PathLike) -> bool:
    """Whether ``path`` is a ``.npy`` array that is not uint8/uint16 (signed or float data: :func:`read_array`
    shifts or quantizes it). Reads only the array's header."""
    p = Path(path)
    if p.suffix.lower() != ".npy" or not p.is_file():
        return False
    try:
        _, dtype = _npy_header(p)
    except MaskcodecError:
        return False  # read_image says what is wrong
    return not dtype.hasobject and dtype not in (np.uint8, np.uint16)


def read_array(path: str | os.PathLike, quantize=None, bits: int | None = None) -> Product:
    """A ``.npy`` array of any numeric type as a :class:`Product` (no label): signed integers shifted, float data
    quantized as :func:`read_product` does."""
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"{p}: no such file")
    shape, dtype = _npy_header(p)
    if dtype.hasobject or len(shape) not in (2, 3):
        what = "Python objects (a pickle)" if dtype.hasobject else f"{len(shape)} axes"
        raise InvalidInputError(f"{p}: the array holds {what}; maskcodec reads numeric arrays (H, W) or (H, W, C)")
    _check_size(p, shape[0], shape[1], shape[2] if len(shape) == 3 else 1)
    try:
        array = np.load(p, allow_pickle=False)
    except (OSError, ValueError):
        raise InvalidInputError(f"{p}: cannot read it as a .npy array (damaged, or truncated)") from None
    return _product(_Read(array, {}, None, "NPY"), p, quantize, bits)


def read_values(path: str | os.PathLike) -> np.ndarray:
    """A product's (or ``.npy`` array's) values as the file holds them, ``(lines, samples[, bands])``, before any
    shift or quantization: what :func:`restore` gives back (exactly, or within a quantization's error)."""
    p = Path(path)
    if p.suffix.lower() == ".npy":
        if not p.is_file():
            raise InvalidInputError(f"{p}: no such file")
        return np.load(p, allow_pickle=False)
    if not p.is_file():
        raise InvalidInputError(f"{p}: no such file")
    return _read(p).array


def read_product(path: str | os.PathLike, quantize=None, bits: int | None = None) -> Product:
    """Read the image of a PDS3/VICAR/PDS4 product, an ISIS3 cube, an ISIS2 qube or a FITS file.

    ``path`` may be the data file or its label: ``x.IMG`` with an attached or
    a detached label beside it (``x.LBL``), the label itself, a copy of an
    attached label (``x.img.lbl``, read with ``x.img``), a PDS4 ``x.xml`` or its
    ``x.dat``.

    Parameters
    ----------
    quantize : None, "auto" or (scale, offset)
        How float data become integers (``--quantize``): None refuses float data
        that are not whole numbers; ``"auto"`` maps the finite range onto
        ``bits`` bits; ``(scale, offset)`` stores round((value - offset) / scale).
    bits : int, optional
        The bits quantized data fill (default 16).

    Raises
    ------
    InvalidInputError
        The file is missing, unreadable, holds no image, holds float data and
        no ``quantize`` was given, or values that do not fit; the message says which.
    """
    p = Path(path)
    if not p.is_file():
        raise InvalidInputError(f"{p}: no such file")
    if not is_product(p):
        raise InvalidInputError(f"{p}: unsupported product type {p.suffix or '(none)'!r}; "
                                f"expected one of {', '.join(PRODUCT_SUFFIXES)}")
    return _product(_read(p), p, quantize, bits)


def _read(p: Path) -> _Read:
    suffix = p.suffix.lower()
    if suffix not in PRODUCT_SUFFIXES:
        raise InvalidInputError(f"{p}: unsupported product type {p.suffix or '(none)'!r}; "
                                f"expected one of {', '.join(PRODUCT_SUFFIXES)}")
    if suffix in FITS_SUFFIXES:
        return _read_fits(p)
    if suffix == ".cub":
        return _read_isis3(p)
    if suffix == ".dat":
        label = _label_beside(p)
        return _read_pds4_or_pds(label) if label.suffix.lower() == ".xml" else _read_pds(label)
    if suffix == ".xml":
        return _read_pds4_or_pds(p)
    return _read_pds(p)


def _product(read: _Read, p: Path, quantize, bits: int | None) -> Product:
    image, stored_bits, extra, notes, bits_from = _to_samples(read.array, p, quantize, bits, read.label_bits,
                                                              read.specials)
    metadata = {key: _json_value(_field(read.fields, names)) for key, names in LABEL_FIELDS.items()}
    metadata = {k: v for k, v in metadata.items() if v is not None and str(v).strip().upper() not in NO_VALUE}
    metadata.update(bits=stored_bits, source_file=p.name, format=read.fmt, **extra)
    if read.label:
        metadata["label"] = _label_record(read.label, read.fmt, read.label_name)
    return Product(image=image, bits=stored_bits, metadata=metadata, notes=tuple(read.notes + notes),
                   bits_from=bits_from)


def _field(fields, names):
    if callable(fields):
        return fields(names)
    return next((fields[n] for n in names if fields.get(n) not in (None, "")), None)


def _import(module: str):
    return require(module, "reading mission products")


# ------------------------------------------------------------------------------------------------- PDS3 / VICAR

def _read_pds(p: Path) -> _Read:
    pdr = _import("pdr")
    fn, label_fn = str(p), None
    data_file = p.with_suffix("")  # "x.img.lbl": a copy of the label attached to "x.img"
    if p.suffix.lower() == ".lbl" and data_file.suffix and data_file.is_file():
        fn, label_fn = str(data_file), str(p)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        try:
            data = pdr.read(fn, label_fn=label_fn)
            name = _image_object(data, p)
            qube = "QUBE" in name.upper()
            if not qube:
                _check_image_block(p, data.metablock_(name) or {})
            array = _read_qube(data, name, p) if qube else data[name]
        except MaskcodecError:
            raise
        except Exception:  # pdr raises many types on damaged or unsupported products; their texts are not for users
            raise InvalidInputError(f"{p}: cannot read it as a PDS3/VICAR product (damaged, a data file missing "
                                    f"beside its label, or a layout pdr does not read)") from None
    if not isinstance(array, np.ndarray):
        raise InvalidInputError(f"{p}: cannot load its {name} object (a layout pdr does not read, or its data file "
                                f"is missing or truncated)")
    if array.ndim == 3 and not qube:
        array = np.moveaxis(array, 0, -1)  # pdr gives (bands, lines, samples)
    block = data.metablock_(name) or {}
    fmt = "PDS4" if data.standard == "PDS4" else "PDS3"

    def fields(names):
        return next((v for v in (data.metaget_(n) for n in names) if v is not None), None)

    label_file = Path(data.labelname)
    if fmt == "PDS4" or label_file.resolve() != Path(fn).resolve():
        label = label_file.read_bytes()  # a detached label, byte for byte
    else:
        label = _attached_label(label_file, b"END")
    return _Read(array, fields, _label_bits(block, data.metaget_("DATA_CONVERSION_TYPE")), fmt, label,
                 label_file.name)


def _check_image_block(p: Path, block) -> None:
    """maskcodec's size limits on an IMAGE object's LINES x LINE_SAMPLES x BANDS, before pdr reads its pixels."""
    try:
        shape = tuple(int(block.get(k, 1)) for k in ("LINES", "LINE_SAMPLES", "BANDS"))
    except (TypeError, ValueError):
        return
    _check_size(p, *shape)


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
    names = [pointer] + [k for k in meta if "QUBE" in k and not k.startswith("^")]
    block = next((b for b in map(data.metablock_, names) if b is not None and "CORE_ITEMS" in b), None)
    if block is None and "CORE_ITEMS" in meta:
        block = meta  # a label that writes Object/End_Object in mixed case (THEMIS): pdr reads it as one block
    if block is None:
        raise InvalidInputError(f"{p}: the label has no {pointer} object with CORE_ITEMS")
    try:
        axes = tuple(str(a).upper() for a in block["AXIS_NAME"])
        n0, n1, n2 = (int(n) for n in block["CORE_ITEMS"])
        s0, s1, _ = (int(n) for n in block.get("SUFFIX_ITEMS", (0, 0, 0)))
        item, kind = int(block["CORE_ITEM_BYTES"]), QUBE_TYPES.get(str(block["CORE_ITEM_TYPE"]).upper())
    except (KeyError, TypeError, ValueError):
        raise InvalidInputError(f"{p}: the {pointer} object's AXIS_NAME, CORE_ITEMS or CORE_ITEM_BYTES is missing "
                                f"or not a number") from None
    if kind is None or sorted(axes) != ["BAND", "LINE", "SAMPLE"] or item not in (1, 2, 4, 8):
        raise InvalidInputError(f"{p}: unsupported qube layout {axes} of {block.get('CORE_ITEM_TYPE')}")
    sizes = dict(zip(axes, (n0, n1, n2)))
    _check_size(p, sizes["LINE"], sizes["SAMPLE"], sizes["BAND"])
    suffix = int(block.get("SUFFIX_BYTES", 4))  # ISIS2 suffix items are 4 bytes
    row = n0 * item + s0 * suffix
    plane = n1 * row + s1 * (n0 + s0) * suffix
    target = meta.get(f"^{pointer}")
    filename, where = (target if isinstance(target, (tuple, list)) else (None, target))
    source = Path(data.labelname).parent / filename if filename else Path(data.labelname)
    source = next((q for q in source.parent.iterdir() if q.name.lower() == source.name.lower()), source)
    if isinstance(where, dict) and str(where.get("units", "")).upper() == "BYTES":
        start = int(where["value"]) - 1  # ^QUBE = 2849 <BYTES>: 1-based byte
    else:
        start = (int(where if not isinstance(where, dict) else where["value"]) - 1) * int(data.metaget_("RECORD_BYTES"))
    size = source.stat().st_size if source.is_file() else 0
    if size < start + n2 * plane:
        raise InvalidInputError(f"{p}: {source.name} is truncated or missing: the qube needs {n2 * plane} bytes "
                                f"from byte {start}, found {max(size - start, 0)}")
    raw = np.fromfile(source, np.uint8, count=n2 * plane, offset=start)
    core = raw.reshape(n2, plane)[:, :n1 * row].reshape(n2, n1, row)[:, :, :n0 * item]
    cube = np.ascontiguousarray(core).view(f"{kind}{item}").reshape(n2, n1, n0)
    stored = axes[::-1]
    return cube.transpose([stored.index(a) for a in ("LINE", "SAMPLE", "BAND")])


def _attached_label(path: Path, end: bytes) -> bytes:
    """An attached label: the file's text up to and including its ``END`` line (ISIS3: ``End``)."""
    with open(path, "rb") as f:
        head = f.read(1 << 20)
    match = re.search(rb"(?m)^" + end + rb"[ \t]*(\r?\n|$)", head)
    return head[:match.end()] if match else b""


def _label_bits(block, conversion) -> int | None:
    """Significant bits the label states: SAMPLE_BIT_MASK, DATA_CONVERSION_TYPE "12BIT", or SAMPLE_BITS when it
    is not a container width (8/16/32/64 say only how samples are stored)."""
    mask = block.get("SAMPLE_BIT_MASK")
    if isinstance(mask, str):
        match = re.fullmatch(r"\s*2#([01]+)#\s*", mask)
        mask = int(match.group(1), 2) if match else None
    if isinstance(mask, int) and mask > 0:
        return mask.bit_length()
    match = re.fullmatch(r"(\d+)\s*BIT", str(conversion or "").strip().upper())
    if match:
        return int(match.group(1))
    sample_bits = block.get("SAMPLE_BITS")
    if isinstance(sample_bits, int) and 0 < sample_bits and sample_bits not in (8, 16, 32, 64):
        return sample_bits
    return None


# ------------------------------------------------------------------------------------------------------- PDS4

def _label_beside(p: Path) -> Path:
    """The label of a data file: ``x.xml`` or ``x.lbl`` beside ``x.dat`` (any case)."""
    for q in sorted(p.parent.iterdir()):
        if q.stem.lower() == p.stem.lower() and q.suffix.lower() in LABEL_SUFFIXES and q.is_file():
            return q
    raise InvalidInputError(f"{p}: a {p.suffix} file is raw data; its label (x.xml or x.lbl of the same name) is "
                            f"not beside it")


def _read_pds4_or_pds(p: Path) -> _Read:
    """A PDS4 label through pdr; where pdr refuses a label that still describes its array plainly (CaSSIS: no
    byte ``offset``, non-standard axis order), the array the label describes."""
    try:
        read = _read_pds(p)
        if read.fmt == "PDS4":
            return read
    except (InvalidInputError, MissingDependencyError):  # without pdr, the array the label describes
        pass
    return _read_pds4(p)


def _local(element) -> str:
    return element.tag.rsplit("}", 1)[-1] if isinstance(element.tag, str) else ""


def _child(element, name: str):
    return next((c for c in element if _local(c) == name), None)


def _text(element, name: str, default=None):
    c = _child(element, name) if element is not None else None
    return c.text.strip() if c is not None and c.text and c.text.strip() else default


def _read_pds4(p: Path) -> _Read:
    import xml.etree.ElementTree as ET
    try:
        root = ET.parse(p).getroot()
    except (ET.ParseError, OSError):
        raise InvalidInputError(f"{p}: cannot read it as a PDS4 label (not well-formed XML)") from None
    found = None
    for area in (e for e in root.iter() if _local(e) == "File_Area_Observational"):
        name = _text(_child(area, "File"), "file_name")
        for array in area:
            if _local(array).startswith("Array") and _text(array, "axes") in ("2", "3"):
                found = (name, array)
                break
        if found:
            break
    if found is None:
        raise InvalidInputError(f"{p}: the PDS4 label describes no 2-D or 3-D array (Array_2D_Image, Array_3D...) "
                                f"in a File_Area_Observational")
    name, array = found
    notes = []
    element = _child(array, "Element_Array")
    data_type = _text(element, "data_type")
    dtype = PDS4_TYPES.get(data_type or "")
    if dtype is None:
        raise InvalidInputError(f"{p}: the array's data_type {data_type!r} is not one maskcodec reads "
                                f"({', '.join(PDS4_TYPES)})")
    try:
        axes = sorted((int(_text(a, "sequence_number")), _text(a, "axis_name", "").lower(), int(_text(a, "elements")))
                      for a in array if _local(a) == "Axis_Array")
        offset_text = _text(array, "offset")
        offset = int(float(offset_text)) if offset_text is not None else 0
    except (TypeError, ValueError):
        raise InvalidInputError(f"{p}: the array's Axis_Array elements or offset are not numbers") from None
    if offset_text is None:
        notes.append("the PDS4 label gives no byte offset for its array; read from the start of the data file")
    order = _text(array, "axis_index_order") or _text(element, "order") or "Last_Index_Fastest"
    if order.lower().startswith("first"):
        axes = axes[::-1]  # the first index varies fastest: in C order the last axis listed is the slowest
    names, shape = [a[1] for a in axes], tuple(a[2] for a in axes)
    _check_size(p, *sorted(shape, reverse=True))  # the limits hold in any order of the axes
    source = _pds4_data_file(p, name)
    need = offset + int(np.prod(shape, dtype=np.int64)) * np.dtype(dtype).itemsize
    if source.stat().st_size < need:
        raise InvalidInputError(f"{p}: {source.name} is truncated: the array needs {need} bytes, the file has "
                                f"{source.stat().st_size}")
    data = np.fromfile(source, dtype, count=int(np.prod(shape, dtype=np.int64)), offset=offset).reshape(shape)
    data = _lines_samples_bands(data, names)
    fields = _pds4_fields(root)
    return _Read(data, fields, None, "PDS4", p.read_bytes(), p.name, notes=notes)


def _pds4_data_file(label: Path, name: str | None) -> Path:
    """The data file a PDS4 label names (any case), or, where that name has no suffix (CaSSIS), the ``.dat`` of
    that name or of the label's."""
    wanted = [n for n in (name, f"{name}.dat" if name else None, f"{label.stem}.dat") if n]
    files = {q.name.lower(): q for q in label.parent.iterdir() if q.is_file()}
    for n in wanted:
        if n.lower() in files and files[n.lower()] != label:
            return files[n.lower()]
    raise InvalidInputError(f"{label}: the data file the label names ({name or 'none'}) is not beside it")


def _lines_samples_bands(data: np.ndarray, names: list[str]) -> np.ndarray:
    """An array in file order with its axis names, as ``(lines, samples[, bands])``."""
    def rank(n):
        return 2 if "band" in n else (1 if "sample" in n else 0)  # line (or any other name) first
    order = sorted(range(len(names)), key=lambda i: (rank(names[i]), i))
    return np.ascontiguousarray(data.transpose(order)) if order != list(range(len(names))) else data


def _pds4_fields(root) -> dict:
    values: dict = {}
    for e in root.iter():
        tag = _local(e)
        if tag == "Observing_System_Component":
            kind, name = (_text(e, "type") or "").lower(), _text(e, "name")
            key = "Instrument" if kind == "instrument" else ("Instrument_Host_Name" if kind in ("spacecraft", "host")
                                                             else None)
            if key and name:
                values.setdefault(key, name)
        elif tag == "Target_Identification" and _text(e, "name"):
            values.setdefault("TARGET_NAME", _text(e, "name"))
        elif e.text and e.text.strip() and len(e) == 0:
            values.setdefault(tag, e.text.strip())
    return {k: v for k, v in values.items() if v.upper() not in NO_VALUE}


# ------------------------------------------------------------------------------------------------------ ISIS3

def _parse_pvl(text: str) -> dict[str, str]:
    """The keywords of an ISIS3 label as ``"Object/Group/Key" -> value`` (quotes and units dropped), and each
    key's first value under its bare name."""
    out: dict[str, str] = {}
    path: list[str] = []
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i].strip()
        i += 1
        if line in ("End", "END"):
            break
        key, sep, value = (s.strip() for s in line.partition("="))
        if key.lower() in ("end_object", "end_group"):
            path = path[:-1]
            continue
        if not sep:
            continue
        while i < len(lines) and (value.count("(") > value.count(")") or value.count('"') % 2 or value.endswith("-")):
            value = (value[:-1] if value.endswith("-") else value + " ") + lines[i].strip()
            i += 1
        if key.lower() in ("object", "group"):
            path.append(value)
            continue
        value = re.sub(r"\s*<[^>]*>$", "", value).strip().strip('"')
        out["/".join(path + [key])] = value
        out.setdefault(key, value)
    return out


def _read_isis3(p: Path) -> _Read:
    label = _attached_label(p, b"End")
    if not label.startswith(b"Object = IsisCube") and b"Object = IsisCube" not in label[:4096]:
        raise InvalidInputError(f"{p}: not an ISIS3 cube (its label does not start with 'Object = IsisCube'); a "
                                f"detached-label cube is read through its label")
    keys = _parse_pvl(label.decode("latin-1"))
    core = "IsisCube/Core/"
    try:
        samples, lines, bands = (int(keys[core + f"Dimensions/{k}"]) for k in ("Samples", "Lines", "Bands"))
        start = int(keys[core + "StartByte"]) - 1
        kind, order = keys[core + "Pixels/Type"], keys.get(core + "Pixels/ByteOrder", "Lsb")
        layout = keys.get(core + "Format", "Tile")
        tile = (int(keys[core + "TileLines"]), int(keys[core + "TileSamples"])) if layout == "Tile" else (lines, samples)
    except (KeyError, ValueError):
        raise InvalidInputError(f"{p}: the ISIS3 label's Core object (StartByte, Dimensions, Pixels, tiles) is "
                                f"incomplete") from None
    if kind not in ISIS3_TYPES or layout not in ("Tile", "BandSequential") or min(tile) < 1:
        raise InvalidInputError(f"{p}: unsupported ISIS3 cube: {layout} of {kind} pixels")
    if "^Core" in keys or keys.get(core + "^Core"):
        raise InvalidInputError(f"{p}: the cube's pixels are in another file (^Core); not read")
    _check_size(p, lines, samples, bands)
    dtype = np.dtype(("<" if order.lower().startswith("lsb") else ">") + ISIS3_TYPES[kind])
    tl, ts = tile
    ny, nx = -(-lines // tl), -(-samples // ts)
    count = bands * ny * nx * tl * ts
    if p.stat().st_size < start + count * dtype.itemsize:
        raise InvalidInputError(f"{p}: the cube is truncated: its pixels need {count * dtype.itemsize} bytes from "
                                f"byte {start}, the file has {p.stat().st_size}")
    raw = np.fromfile(p, dtype, count=count, offset=start)
    cube = raw.reshape(bands, ny, nx, tl, ts).transpose(0, 1, 3, 2, 4).reshape(bands, ny * tl, nx * ts)
    cube = np.moveaxis(cube[:, :lines, :samples], 0, -1)
    array = np.ascontiguousarray(cube[..., 0] if bands == 1 else cube)
    specials = ISIS3_REAL_SPECIALS if kind == "Real" else {}
    return _Read(array, keys, None, "ISIS3", label, p.name, specials)


# ------------------------------------------------------------------------------------------------------- FITS

def _read_fits(p: Path) -> _Read:
    fits = _import("astropy.io.fits")
    try:
        with fits.open(p, memmap=False) as hdus:
            index = next((i for i, h in enumerate(hdus) if h.is_image and h.header.get("NAXIS") in (2, 3)
                          and all(h.header.get(f"NAXIS{k}", 0) > 0 for k in range(1, h.header["NAXIS"] + 1))), None)
            if index is None:
                raise InvalidInputError(f"{p}: the FITS file has no 2-D or 3-D image HDU")
            hdu = hdus[index]
            naxis = [int(hdu.header[f"NAXIS{k}"]) for k in range(1, hdu.header["NAXIS"] + 1)]
            _check_size(p, naxis[1], naxis[0], naxis[2] if len(naxis) == 3 else 1)
            array, header = np.array(hdu.data), dict(hdus[0].header) | dict(hdu.header)
            spans = [(hdus.fileinfo(i)["hdrLoc"], hdus.fileinfo(i)["datLoc"]) for i in sorted({0, index})]
    except MaskcodecError:
        raise
    except Exception:  # astropy raises many types on damaged files; their texts are not for users
        raise InvalidInputError(f"{p}: cannot read it as a FITS file (damaged, or another format under this "
                                f"name)") from None
    if array.ndim == 3:
        array = np.moveaxis(array, 0, -1)  # FITS cubes are (bands, lines, samples) in numpy order
    with open(p, "rb") as f:
        blocks = []
        for start, stop in spans:
            f.seek(start)
            blocks.append(f.read(stop - start))
    return _Read(array, header, None, "FITS", _fits_header_text(blocks), p.name)


def _fits_header_text(blocks: list[bytes]) -> bytes:
    """FITS headers as text: each 80-character card on a line, every header up to its END card (the form
    ``astropy.io.fits.Header.fromtextfile`` reads)."""
    lines = []
    for block in blocks:
        for at in range(0, len(block), 80):
            card = block[at:at + 80].rstrip()
            lines.append(card)
            if card == b"END":
                break
    return b"\n".join(lines) + b"\n"


# --------------------------------------------------------------------------------- samples, bits, quantization

def _check_size(p: Path, height: int, width: int, bands: int = 1) -> None:
    """maskcodec's size limits (:class:`~maskcodec.Limits`), before the pixels are read."""
    limits = Limits()
    height, width, bands = int(height), int(width), int(bands)
    if height * width > limits.max_pixels or height * width * bands > limits.max_samples:
        raise LimitExceededError(f"{p}: {height} x {width} x {bands} samples exceed maskcodec's limits "
                                 f"({limits.max_pixels} pixels, {limits.max_samples} samples); cut it into tiles")


def _npy_header(p: Path):
    try:
        with open(p, "rb") as f:
            major, _ = np.lib.format.read_magic(f)
            read = np.lib.format.read_array_header_1_0 if major == 1 else np.lib.format.read_array_header_2_0
            shape, _, dtype = read(f)
    except (OSError, ValueError):
        raise InvalidInputError(f"{p}: cannot read it as a .npy array (damaged, or another format under this "
                                f"name)") from None
    return shape, dtype


def _to_samples(array: np.ndarray, p: Path, quantize, bits: int | None, label_bits: int | None, specials: dict):
    """uint8/uint16 samples, their bits, the metadata that undoes the conversion, notices, where bits came from."""
    if array.size == 0:
        raise InvalidInputError(f"{p}: the image has no pixels (shape {array.shape})")
    if array.dtype.kind not in "iubf":
        raise InvalidInputError(f"{p}: pixel type {array.dtype} is not supported; expected integer or float data")
    if quantize is not None:
        quantize = parse_quantize(quantize)
    if bits is not None and not (isinstance(bits, int) and 1 <= bits <= 16):
        raise InvalidInputError(f"bits (--bits) must be an integer in 1..16, got {bits!r}")
    notes = []
    if array.dtype.kind == "f":
        whole = np.isfinite(array).all() and np.array_equal(array, np.round(array))
        if quantize is None and not whole:
            finite = array[np.isfinite(array)]
            span = f"range {finite.min():g}..{finite.max():g}" if finite.size else "no finite values"
            bad = array.size - finite.size
            raise InvalidInputError(f"{p}: {array.dtype.name} data ({span}"
                                    f"{f', {bad} NaN/inf' if bad else ''}) need a quantization to integers: give "
                                    f"--quantize auto (the range onto 16 bits, or --bits) or --quantize SCALE,OFFSET; "
                                    f"the scale and offset travel in the file and decode applies them back")
        if quantize is not None:
            return _quantize(array, p, quantize, bits or 16, specials)
    values = array.astype(np.int64)
    lo, hi = int(values.min()), int(values.max())
    if hi - min(lo, 0) > 0xFFFF:
        if quantize is not None:
            return _quantize(array, p, quantize, bits or 16, {})
        raise InvalidInputError(f"{p}: values span {lo}..{hi}, more than 16 bits; maskcodec codes uint8 and uint16 "
                                f"samples: give --quantize auto (or SCALE,OFFSET) to store them in 16 bits")
    if quantize is not None:
        notes.append(QUANTIZE_IGNORED.format(array.dtype.name))
    offset = -lo if lo < 0 else 0
    sixteen = array.dtype.kind in "iub" and array.dtype.itemsize == 2  # keep 16-bit samples 16-bit
    dtype = np.uint16 if sixteen or hi + offset > 0xFF else np.uint8
    image = np.ascontiguousarray(values + offset, dtype=dtype)
    extra = {}
    if offset or array.dtype.kind == "f":
        if offset:
            extra["offset"] = offset
        extra["dtype"] = array.dtype.newbyteorder("=").name
    needed = max((hi + offset).bit_length(), 1)
    width = 8 * image.dtype.itemsize
    if label_bits is not None:
        return image, min(max(label_bits, needed), width), extra, notes, "label"
    return image, min(needed, width), extra, notes, "data"


def _special_masks(array: np.ndarray, specials: dict) -> list[tuple[dict, np.ndarray]]:
    """(record, where) for each kind of value that is not a number to quantize and occurs in ``array``: the
    special pixels of its format (by bit pattern), NaN, -inf, +inf."""
    found = []
    if array.dtype.kind == "f" and array.dtype.itemsize == 4 and specials:
        pattern = array.astype(np.float32, copy=False).view(np.uint32)
        for name, value in specials.items():
            where = pattern == value
            if where.any():
                found.append(({"value": name, "bits": f"0x{value:08x}"}, where))
    if array.dtype.kind == "f":
        taken = np.zeros(array.shape, bool)
        for _, where in found:
            taken |= where
        for name, where in (("NaN", np.isnan(array) & ~taken), ("-Infinity", np.isneginf(array)),
                            ("Infinity", np.isposinf(array))):
            if where.any():
                found.append(({"value": name}, where))
    return found


def _quantize(array: np.ndarray, p: Path, spec, bits: int, specials: dict):
    top = (1 << bits) - 1
    special = _special_masks(array, specials)
    k = len(special)
    normal = np.ones(array.shape, bool)
    for _, where in special:
        normal &= ~where
    values = array[normal].astype(np.float64)
    lo, hi = (float(values.min()), float(values.max())) if values.size else (0.0, 0.0)
    if spec == "auto":
        scale = (hi - lo) / (top - k) if hi > lo else 1.0
        offset = lo - k * scale
        how = "auto"
    else:
        scale, offset = spec
        how = "given"
    codes = np.rint((values - offset) / scale)
    if spec == "auto":
        codes = np.clip(codes, k, top)  # only floating-point fuzz at the ends
    elif values.size and (codes.min() < k or codes.max() > top):
        reserved = f"; codes 0..{k - 1} are kept for {', '.join(r['value'] for r, _ in special)}" if k else ""
        raise InvalidInputError(
            f"{p}: --quantize {scale:g},{offset:g} maps the data's range {lo:g}..{hi:g} to stored values "
            f"{codes.min():.0f}..{codes.max():.0f}, outside {k}..{top} ({bits} bits{reserved}); give a larger SCALE, "
            f"another OFFSET, more --bits, or --quantize auto")
    out = np.float64 if array.dtype == np.float64 or array.dtype.kind in "iu" else np.float32
    restored = (codes * scale + offset).astype(out).astype(np.float64)
    error = float(np.abs(restored - values).max()) if values.size else 0.0
    stored = np.zeros(array.shape, np.uint8 if bits <= 8 else np.uint16)
    stored[normal] = codes
    notes = []
    records = []
    for code, (record, where) in enumerate(special):
        stored[where] = code
        count = int(where.sum())
        records.append({"code": code, **record, "count": count})
        notes.append(f"{count} {record['value']} samples ({100 * count / array.size:.3g}%) stored as the reserved "
                     f"code {code}; decode gives them back as {record['value']}")
    spread = np.percentile(values, [0.5, 99.5]) if values.size > 100 and spec == "auto" else None
    if spread is not None and spread[1] - spread[0] < 0.01 * (hi - lo):
        notes.append(f"a few extreme values set the range {lo:g}..{hi:g} (99% of the values lie in "
                     f"{spread[0]:g}..{spread[1]:g}), so each step is {scale:.3g}; set such values to NaN before "
                     f"encoding (NaN keeps a code of its own) for a finer quantization")
    record = {"scale": scale, "offset": offset, "dtype": np.dtype(out).name, "source_dtype": array.dtype.name,
              "bits": bits, "max_error": error, "range": [lo, hi], "how": how}
    if records:
        record["special"] = records
    return stored, bits, {"quantization": record}, notes, "quantization"


def valid_quantization(quantization) -> bool:
    """Whether a file's quantization record holds what :func:`restore` needs (a positive finite scale, a finite
    offset, a known dtype, integer special codes)."""
    q = quantization
    if not isinstance(q, dict):
        return False
    numbers = [q.get("scale"), q.get("offset"), q.get("max_error", 0.0)]
    if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v) for v in numbers):
        return False
    special = q.get("special", [])
    return (q["scale"] > 0 and q.get("dtype", "float32") in RESTORED_DTYPES and isinstance(special, list)
            and all(isinstance(x, dict) and isinstance(x.get("code"), int) and isinstance(x.get("value"), str)
                    for x in special))


def error_bound(quantization: dict, max_error: int = 0) -> float:
    """The largest error of a kept pixel's restored value: the quantization's own (measured on every value when
    the file was written) plus ``max_error`` steps of a file coded within +-max_error, plus one rounding of the
    restored dtype."""
    error = float(quantization.get("max_error", quantization["scale"] / 2))
    if not max_error:
        return error
    dtype = np.dtype(quantization.get("dtype", "float32"))
    lo, hi = quantization.get("range", [0.0, 0.0])
    ulp = float(np.spacing(dtype.type(max(abs(lo), abs(hi), abs(quantization["offset"])) + max_error * quantization["scale"])))
    return error + max_error * quantization["scale"] + ulp


def describe_quantization(quantization: dict, max_error: int = 0) -> str:
    """One line: how stored values become the original values, and how close kept pixels come.

    >>> describe_quantization({"scale": 0.5, "offset": -1.0, "dtype": "float32", "bits": 16, "max_error": 0.25})
    'float32 value = stored x 0.5 + -1 (16 bits); kept pixels within +-0.25 of the original'
    """
    q = quantization
    if not valid_quantization(q):
        return "the file's quantization record is not valid (decode --stored writes the stored integers)"
    specials = "; ".join(f"code {s['code']}: {s['value']}" for s in q.get("special", []))
    return (f"{q.get('dtype', 'float32')} value = stored x {q['scale']:.6g} + {q['offset']:.6g} "
            f"({q.get('bits', 16)} bits); kept pixels within +-{error_bound(q, max_error):.3g} of the original"
            + (f" (+-{max_error} stored steps)" if max_error else "") + (f"; {specials}" if specials else ""))


def restored_dtype(metadata: dict, stored_dtype) -> np.dtype:
    """The type :func:`restore` gives: the quantization's float type, the original type of shifted or
    float-held integer data, else the stored type."""
    q = metadata.get("quantization") if isinstance(metadata, dict) else None
    name = q.get("dtype", "float32") if isinstance(q, dict) else (metadata.get("dtype") if isinstance(metadata, dict)
                                                                 else None)
    if isinstance(name, str) and name in RESTORED_DTYPES:
        return np.dtype(name)
    return np.dtype(stored_dtype)


def restore(image: np.ndarray, metadata: dict) -> np.ndarray:
    """Decoded samples as the product's values: value = stored x scale + offset for quantized data (reserved
    codes back to NaN, infinities or special pixels), stored - offset in the original type for shifted signed
    data; anything else unchanged.

    >>> q = {"quantization": {"scale": 0.5, "offset": -1.0, "dtype": "float32", "special": [{"code": 0, "value": "NaN"}]}}
    >>> restore(np.array([[0, 2, 3]], np.uint16), q)
    array([[nan,  0. ,  0.5]], dtype=float32)
    """
    if not isinstance(metadata, dict):
        return image
    dtype = restored_dtype(metadata, image.dtype)
    q = metadata.get("quantization")
    if q is not None:
        try:
            if not valid_quantization(q):
                raise ValueError
            scale, offset = float(q["scale"]), float(q["offset"])
            special = [(int(s["code"]), _special_value(s, dtype)) for s in q.get("special", [])]
        except (KeyError, TypeError, ValueError, OverflowError):
            raise InvalidInputError("the file's quantization record is not valid (scale, offset, special codes); "
                                    "decode --stored writes the stored integers") from None
        out = (image.astype(np.float64) * scale + offset).astype(dtype)
        for code, value in special:
            out[image == code] = value
        return out
    if dtype == image.dtype:
        return image
    offset = metadata.get("offset", 0)
    offset = offset if isinstance(offset, int) and not isinstance(offset, bool) else 0
    values = image.astype(np.int64) - offset
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        values = np.clip(values, info.min, info.max)  # an inpainted value beyond the original type's range
    return values.astype(dtype)


def _special_value(record: dict, dtype: np.dtype):
    if "bits" in record:
        return np.array([int(record["bits"], 16)], np.uint32).view(np.float32)[0].astype(dtype)
    value = float(record["value"])
    return dtype.type(value)


# --------------------------------------------------------------------------------------------------- labels

def _label_record(label: bytes, fmt: str, name: str) -> dict:
    packed = zlib.compress(label, 9)
    return {"format": fmt, "file": name, "bytes": len(label), "encoding": "zlib+base64",
            "data": base64.b64encode(packed).decode("ascii")}


def label_bytes(metadata: dict) -> bytes | None:
    """The product label a file's metadata carries, byte for byte (None without one)."""
    record = metadata.get("label") if isinstance(metadata, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("data"), str):
        return None
    try:
        inflate = zlib.decompressobj()
        text = inflate.decompress(base64.b64decode(record["data"], validate=True), MAX_LABEL)
        if inflate.unconsumed_tail or not inflate.eof:
            raise ValueError
    except (ValueError, zlib.error):
        raise InvalidInputError(f"the file's label record is damaged (not zlib+base64 text of at most {MAX_LABEL} "
                                f"bytes); decode --no-label writes the image alone") from None
    return text


def label_suffix(metadata: dict) -> str | None:
    """The suffix of the label file decode writes beside the image (``.lbl``, ``.xml``, ``.hdr``), or None."""
    record = metadata.get("label") if isinstance(metadata, dict) else None
    if not isinstance(record, dict) or not isinstance(record.get("data"), str):
        return None
    return LABEL_FILE_SUFFIX.get(record.get("format"), ".lbl")


def describe_label(metadata: dict) -> str | None:
    """One line on the label a file carries, or None."""
    record = metadata.get("label") if isinstance(metadata, dict) else None
    if not isinstance(record, dict):
        return None
    return (f"{record.get('format', '?')} label of {record.get('file', '?')}, {record.get('bytes', '?')} bytes "
            f"({len(record.get('data', ''))} in the file); decode writes it beside the image as "
            f"{label_suffix(metadata)}")


def _json_value(value):
    """Label values as JSON-ready scalars (dates and units become strings)."""
    if value is None or isinstance(value, (bool, int, str)):
        return value.strip() if isinstance(value, str) else value
    if isinstance(value, float):
        return value if math.isfinite(value) else str(value)
    if isinstance(value, (list, tuple)):
        return [_json_value(v) for v in value]
    return str(value)
