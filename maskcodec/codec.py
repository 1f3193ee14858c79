"""encode / decode / inspect: the public codec, wiring the stages together.

Mask mode: image -> mask(seed) -> gather -> pack -> zstd + container -> bytes, and back:
bytes -> container -> unpack -> scatter into the mask -> inpaint -> image.
Latent mode (:mod:`maskcodec.latent`): image -> encoder network -> quantized
latent -> zstd or range coder (:mod:`maskcodec.rans`) + container, and back
through the decoder network.
"""
from __future__ import annotations

import secrets
import warnings

import numpy as np

from . import container, inpaint, latent, segments
from .container import Header, Limits
from .errors import InvalidInputError
from .mask import keep_to_threshold, kept_indices
from .pack import candidate_transforms, pack, unpack

__all__ = ["encode", "decode", "inspect", "survivors", "salvage", "SalvageWarning", "resolve_options"]


class SalvageWarning(UserWarning):
    """Issued by ``decode(..., strict=False)`` when parts of a stream were lost; ``.report`` says what."""

    def __init__(self, report: segments.SalvageReport):
        super().__init__(f"damaged stream salvaged: {report}")
        self.report = report

MAX_CHANNELS = container.Limits().max_channels
DEFAULT_INPAINTER = "auto"
DEFAULT_KEEP = 0.1
ENCODE_MODES = ("mask", "latent")


def _check_image(image: np.ndarray) -> np.ndarray:
    if not isinstance(image, np.ndarray):
        raise InvalidInputError(f"image must be a numpy array, got {type(image).__name__}")
    if image.dtype not in (np.uint8, np.uint16):
        raise InvalidInputError(f"image dtype must be uint8 or uint16, got {image.dtype}")
    if image.ndim not in (2, 3):
        raise InvalidInputError(f"image must be (H, W) or (H, W, C), got shape {image.shape}")
    if image.ndim == 3 and not 1 <= image.shape[2] <= MAX_CHANNELS:
        raise InvalidInputError(f"image must have 1 to {MAX_CHANNELS} channels, got {image.shape[2]}")
    if image.shape[0] == 0 or image.shape[1] == 0:
        raise InvalidInputError(f"image has no pixels: shape {image.shape}")
    if image.shape[0] > Limits().max_side or image.shape[1] > Limits().max_side:
        raise InvalidInputError(f"image sides must be at most {Limits().max_side}, got {image.shape[:2]}")
    return image


def _check_bits(image: np.ndarray, bits: int | None) -> int:
    full = 8 * image.dtype.itemsize
    if bits is None:
        return full
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)) or not 1 <= bits <= full:
        raise InvalidInputError(f"bits must be an integer in 1..{full} for {image.dtype}, got {bits!r}")
    top = int(image.max()) if image.size else 0
    if top >> int(bits):
        raise InvalidInputError(f"image holds the value {top}, which does not fit in bits={bits} "
                                f"(maximum {(1 << int(bits)) - 1})")
    return int(bits)


def resolve_options(mode: str = "mask", *, keep: float | None = None, seed: int | None = None,
                    segment_size: int | None = None, model: str | None = None,
                    quality: int | None = None) -> tuple[float | None, str | None]:
    """Check that encoding options fit together, before any image is read.

    Returns
    -------
    tuple
        The keep fraction (mask mode; ``None`` in latent mode) and the model
        id (the one named, the one ``quality`` picks, or ``None``).

    Examples
    --------
    >>> resolve_options(keep=0.25)
    (0.25, None)
    >>> resolve_options("latent", keep=0.25, model="m")
    Traceback (most recent call last):
    ...
    maskcodec.errors.InvalidInputError: keep applies to mask mode only; ...
    """
    if mode not in ENCODE_MODES:
        raise InvalidInputError(f"mode must be one of {ENCODE_MODES}, got {mode!r}")
    if mode == "mask":
        if quality is not None:
            raise InvalidInputError("quality picks a latent model; use mode='latent' (mask mode is sized by keep)")
        if model is not None and model in latent.latent_models():
            raise InvalidInputError(f"{model!r} is a latent model; use it with mode='latent'")
        return DEFAULT_KEEP if keep is None else keep, model
    given = [name for name, value in (("keep", keep), ("seed", seed), ("segment_size", segment_size))
             if value is not None]
    if given:
        raise InvalidInputError(f"{' and '.join(given)} applies to mask mode only; latent mode sends the model's "
                                f"bottleneck, whose size the model sets (choose model or quality)")
    if (model is None) == (quality is None):
        raise InvalidInputError("latent mode needs exactly one of model (a latent model id) and quality "
                                f"(picks 'latent-q<quality>'); got model={model!r}, quality={quality!r}")
    model = latent.quality_model(quality) if quality is not None else model
    latent.latent_model(model)  # an unknown id is refused here, before any work
    return None, model


def encode(image: np.ndarray, keep: float | None = None, *, mode: str = "mask", quality: int | None = None,
           seed: int | None = None, bits: int | None = None, metadata: dict | None = None,
           segment_size: int | None = None, model: str | None = None) -> bytes:
    """Compress an image: keep a seeded fraction of its pixels (mask mode) or
    send an autoencoder's quantized bottleneck (latent mode).

    Mask mode needs numpy, construct and zstandard only (no model, no
    onnxruntime); latent mode runs the model's encoder network.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W)`` or ``(H, W, C)`` with 1 <= C <= 1024, dtype uint8 or uint16.
    keep : float, optional
        Mask mode: fraction of pixels kept, in (0, 1] (default 0.1). All
        channels of a kept pixel are kept.
    mode : {"mask", "latent"}
        ``"mask"`` (default): the seeded pixel mask (``spec/format.md``
        sections 4-8). ``"latent"``: the bottleneck of the latent model
        ``model`` (or ``quality``), as the model's entry says: rounded and
        range-coded with the model's tables (the ``latent-q`` models), or 8
        bits per value with per-channel scales and zstd (spec section 12);
        any image size (padded for the network, cropped back).
    quality : int, optional
        Latent mode: picks the model ``latent-q{quality}`` of the manifest.
    seed : int, optional
        Mask mode: 32-bit mask seed; ``None`` draws one (it is stored in the file).
    bits : int, optional
        Significant bits per sample (e.g. 12 for 12-bit data in uint16);
        default the dtype's width. Every value must fit.
    metadata : dict, optional
        JSON-serializable description stored in the header (product id, ...).
        Not carried by segmented streams.
    segment_size : int, optional
        Mask mode: write a segmented stream (format 2.0) of self-contained
        segments of exactly this many bytes (e.g. 1024, a transfer frame),
        which survives lost and corrupted packets (see :func:`salvage`).
        Default: one container (format 1.0), the smallest file.
    model : str, optional
        Id of a model in ``models/manifest.json``, recorded in the file with
        the SHA-256 of its file (a decoder refuses a model file with another
        hash). Mask mode: the inpainting model the decoder should use
        (default: the decoder's choice). Latent mode: the latent model.

    Returns
    -------
    bytes
        A complete ``.mcx`` file (``spec/format.md``).

    Raises
    ------
    InvalidInputError
        An argument is not acceptable, or does not apply to the mode.
    ModelError
        Latent mode: the model's files are missing or do not hash to the
        manifest, or the model codes another number of channels.
    LimitExceededError
        Latent mode: the padded image is over ``Limits.max_latent_pixels``.

    Examples
    --------
    >>> import maskcodec
    >>> img = maskcodec.sample_image("mastcam")
    >>> data = maskcodec.encode(img, keep=0.1, seed=1)
    >>> out = maskcodec.decode(data)
    >>> m = maskcodec.mask(img.shape, 0.1, 1)
    >>> bool((out[m] == img[m]).all()), out.shape == img.shape
    (True, True)
    """
    keep, model = resolve_options(mode, keep=keep, seed=seed, segment_size=segment_size, model=model,
                                  quality=quality)
    image = _check_image(image)
    if mode == "latent":
        return latent.encode(image, model, _check_bits(image, bits), metadata)
    threshold = keep_to_threshold(keep)
    if seed is None:
        seed = secrets.randbits(32)
    bits = _check_bits(image, bits)
    model_id, model_sha256 = "", bytes(32)
    if model is not None:
        from .models import model_entry  # reads the manifest only; no onnxruntime
        model_id, model_sha256 = model, bytes.fromhex(model_entry(model)["sha256"])
    h, w = image.shape[:2]
    kept = kept_indices(h * w, threshold, seed)
    values = np.take(image.reshape(h * w, -1), kept, axis=0)
    transform = choose_transform(values, bits)
    if segment_size is not None:
        if metadata:
            raise InvalidInputError("metadata is not carried by segmented streams; drop segment_size or metadata")
        m = np.zeros(h * w, bool)
        m[kept] = True
        return segments.write(image, m.reshape(h, w), bits=bits, transform=transform, seed=seed,
                              keep_threshold=threshold, segment_size=segment_size, model_id=model_id,
                              model_sha256=model_sha256)
    return container.write(
        shape=image.shape, dtype=image.dtype, bits=bits, transform=transform, seed=seed,
        keep_threshold=threshold, survivors=values.shape[0],
        raw=pack(values, bits, transform), metadata=metadata, model_id=model_id, model_sha256=model_sha256,
    )


def choose_transform(values: np.ndarray, bits: int) -> int:
    """The survivor transform for ``values`` ``(N, C)``: the candidate whose payload is smallest."""
    candidates = candidate_transforms(values.shape[1])
    if len(candidates) == 1:
        return candidates[0]
    return min(candidates, key=lambda t: len(container.compress(pack(values, bits, t))))


def inspect(data: bytes, *, limits: Limits = Limits()) -> Header:
    """The header of a maskcodec file, checked, without decoding the payload.

    Examples
    --------
    >>> import maskcodec
    >>> h = maskcodec.inspect(maskcodec.encode(maskcodec.sample_image("mastcam"), 0.1, seed=3))
    >>> h.shape, h.dtype, h.seed, h.mode
    ((251, 317, 3), 'uint8', 3, 'mask')
    """
    if isinstance(data, (bytes, bytearray, memoryview)) and segments.is_segmented(data):
        return segments.read_header(bytes(data), limits)
    return container.read_header(data, limits)


def _read(data: bytes, limits: Limits) -> tuple[Header, bytes | None, np.ndarray | None, np.ndarray | None]:
    """Header and, for a latent-mode file, its latent bytes; for mask mode, the mask and kept values."""
    if isinstance(data, (bytes, bytearray, memoryview)) and segments.is_segmented(data):
        header, m, values = segments.read(bytes(data), limits)
        return header, None, m, values
    header, raw = container.read(data, limits)
    if header.latent is not None:
        return header, raw, None, None
    m = container.header_mask(header)
    values = unpack(raw, header.survivors, header.channels, header.bits, header.transform)
    return header, None, m, values.astype(header.dtype, copy=False)


def survivors(data: bytes, *, limits: Limits = Limits()) -> tuple[Header, np.ndarray, np.ndarray]:
    """Header, mask ``(H, W)`` and the kept values ``(N, C)`` of a mask-mode file, without inpainting."""
    header, _, m, values = _read(data, limits)
    if m is None:
        raise InvalidInputError("a latent-mode file has no kept pixels; maskcodec.latents() reads its latents")
    return header, m, values


def _fill(header: Header, known: np.ndarray, values: np.ndarray, inpainter: str) -> np.ndarray:
    """Put ``values`` at the ``known`` pixels exactly and inpaint the rest."""
    fill = inpaint.resolve(inpainter, header)
    h, w = header.shape[:2]
    scale = float((1 << header.bits) - 1)
    image = np.zeros((h, w, header.channels), np.float32)
    image[known] = values.astype(np.float32) / scale
    est = fill(image, known)
    out = np.clip(np.rint(est * scale), 0, scale).astype(header.dtype)
    out[known] = values
    return out.reshape(header.shape)


def decode(data: bytes, inpainter: str = DEFAULT_INPAINTER, *, strict: bool = True,
           limits: Limits = Limits()) -> np.ndarray:
    """Decompress a maskcodec file: in mask mode kept pixels exactly and the rest
    inpainted; in latent mode the named latent model's decoder network run on
    the dequantized latents.

    Parameters
    ----------
    data : bytes
        A complete ``.mcx`` file or segmented stream.
    inpainter : str
        Mask mode: ``"auto"`` (the best available for the image), a classical
        name (``"nconv"``, ``"linear"``) or a model id from
        ``models/manifest.json``. Latent mode: must stay ``"auto"``.
    strict : bool
        True (default): any damage raises a :class:`~maskcodec.errors.FormatError`
        naming it. False: a segmented stream is salvaged (see :func:`salvage`)
        and a :class:`SalvageWarning` carrying the report is issued when
        anything was lost; a single-container (1.0) file is still read
        strictly.
    limits : Limits
        What the decoder agrees to allocate; larger files raise
        :class:`~maskcodec.errors.LimitExceededError`.

    Returns
    -------
    numpy.ndarray
        Same shape and dtype as the encoded image.

    Examples
    --------
    >>> import maskcodec
    >>> img = maskcodec.sample_image("navcam")
    >>> out = maskcodec.decode(maskcodec.encode(img, 0.25, seed=5), inpainter="nconv")
    >>> out.dtype, out.shape == img.shape
    (dtype('uint8'), True)
    """
    if not strict and isinstance(data, (bytes, bytearray, memoryview)) \
            and bytes(data[:4]) != container.MAGIC:  # damage may have taken the first sync marker
        image, report = salvage(data, inpainter, limits=limits)
        if report.segments_received < report.segments_expected or report.bytes_skipped:
            warnings.warn(SalvageWarning(report), stacklevel=2)
        return image
    header, raw, m, values = _read(data, limits)
    if m is not None:
        return _fill(header, m, values, inpainter)
    if inpainter != DEFAULT_INPAINTER:
        raise InvalidInputError(f"a latent-mode file is decoded by its model's decoder network; "
                                f"inpainter={inpainter!r} does not apply (leave it {DEFAULT_INPAINTER!r})")
    return latent.decode(header, raw)


def salvage(data: bytes, inpainter: str = DEFAULT_INPAINTER, *,
            limits: Limits = Limits()) -> tuple[np.ndarray, segments.SalvageReport]:
    """Decode what survived of a damaged segmented stream, and say what was lost.

    The decoder resynchronizes on the next sync marker after lost or corrupted
    bytes, drops segments whose CRC fails, and inpaints from the kept pixels
    that arrived. Raises :class:`~maskcodec.errors.FormatError` only when no
    segment is intact.

    Examples
    --------
    >>> import maskcodec
    >>> img = maskcodec.sample_image("mastcam")
    >>> data = maskcodec.encode(img, 0.1, seed=1, segment_size=1024)
    >>> damaged = data[:2048] + data[3072:]          # one 1 KiB packet lost
    >>> out, report = maskcodec.salvage(damaged, inpainter="nconv")
    >>> report.segments_expected - report.segments_received
    1
    """
    header, known, values, report = segments.salvage(bytes(data), limits)
    return _fill(header, known, values, inpainter), report
