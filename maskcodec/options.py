"""Encoding options, resolved and checked once, before any pixel is read.

:func:`resolve` turns what a caller asked for (``encode``'s keywords, the
CLI's flags, the Zarr codec's config) into one :class:`EncodeOptions`, or
raises :class:`~maskcodec.errors.InvalidInputError` saying what was wrong.
The same checks serve every entry point: :func:`check_keep`, :func:`check_seed`,
:func:`check_bits`, :func:`parse_keeps` and :func:`check_image`. Messages name
the Python parameter and the CLI flag (``segment_size (--segment-size)``).

Examples
--------
>>> opts = resolve(keep=0.25, seed=7)
>>> opts.mode, opts.keep, opts.threshold, opts.seed
('mask', 0.25, 1073741823, 7)
>>> resolve("latent", keep=0.25, quality=1)
Traceback (most recent call last):
...
maskcodec.errors.InvalidInputError: keep (--keep) applies to mask mode only; ...
"""
from __future__ import annotations

import argparse
import secrets
from typing import Callable
from dataclasses import dataclass, replace

import numpy as np

from .errors import InvalidInputError, MaskcodecError
from .framing.fixed import MAX_MODEL_ID, encode_metadata
from .records import Limits
from .framing.stream import MAX_SEGMENT, MIN_SEGMENT
from .runtime.manifest import InpainterEntry, LatentEntry, load
from .masks import DEFAULT_KIND, check_seed, keep_to_threshold, settle
from .survivors.predictive import max_error_limit

__all__ = ["argument", "EncodeOptions", "CODINGS", "resolve", "check_keep", "check_seed", "check_bits", "check_max_error", "parse_keep",
           "parse_keeps",
           "prepare", "check_image", "check_frame", "inpainting_model",
           "DEFAULT_KEEP", "ENCODE_MODES", "QUALITY_ID", "GRAY_QUALITY_ID", "QUALITY_IDS",
           "installed_levels"]

DEFAULT_KEEP = 0.1
ENCODE_MODES = ("mask", "latent")
CODINGS = ("ranked", "predictive", "scan")  # how a mask-mode file codes its kept values (spec sections 6.7, 6.5, 6)
QUALITY_ID = "latent-q{}"  # manifest id of the colour latent model that ``quality=q`` picks
GRAY_QUALITY_ID = "latent-gray-q{}"  # ... and of the 1-channel one
QUALITY_IDS = {3: QUALITY_ID, 1: GRAY_QUALITY_ID}  # image channels -> the ids its quality levels have


@dataclass(frozen=True)
class EncodeOptions:
    """Everything an encoder needs besides the image, checked: made by :func:`resolve` only.

    Attributes
    ----------
    mode : {"mask", "latent"}
    keep, threshold : float and int, mask mode (None in latent mode)
        The keep fraction and the 32-bit mask threshold it gives.
    seed : int or None
        Mask mode: the 32-bit mask seed (drawn at random when none was given).
    bits : int or None
        Significant bits asked for (None: the image dtype's width).
    metadata : bytes
        The metadata block as it will be stored (empty for none).
    segment_size : int or None
        Mask mode: bytes per segment of a segmented stream.
    model_id : str
        The model recorded in the file ("" for none): an inpainting model in
        mask mode, the latent model in latent mode (with ``quality``, the
        colour level's, or the gray one's where no colour level is installed;
        :meth:`latent_model` picks by the image's channels).
    model_sha256 : bytes
        The SHA-256 recorded with ``model_id`` (of the inpainting model's file, or
        of the latent model's decoder file); 32 zero bytes for none.
    mask : str or None
        Mask mode: the mask kind, ``"bluenoise"`` (default) or ``"hash"``.
    max_error : int
        Mask mode: every kept value decodes within +-max_error (0: exactly); its range
        against the sample depth is checked on encoding, when the bits are known.
    coding : str or None
        Mask mode: ``"ranked"`` (the single container's default, spec section 6.7),
        ``"predictive"`` (section 6.5) or ``"scan"`` (section 6: scan-order deltas and zstd, the cheapest encoder and
        what segmented streams hold); None in latent mode.
    quality : int or None
        Latent mode: the quality level asked for (None: a model was named).
    """

    mode: str
    keep: float | None
    threshold: int | None
    seed: int | None
    bits: int | None
    metadata: bytes
    segment_size: int | None
    model_id: str
    model_sha256: bytes
    mask: str | None
    max_error: int = 0
    coding: str | None = None
    quality: int | None = None

    def latent_model(self, channels: int) -> tuple[str, bytes]:
        """The latent model (id, decoder SHA-256) for an image of ``channels``: the named model, or the
        quality level for colour (3 channels) or gray (1 channel) images."""
        if self.quality is None:
            return self.model_id, self.model_sha256
        if channels not in QUALITY_IDS:
            raise InvalidInputError(f"quality (--quality) picks a colour (3-channel) or gray (1-channel) latent "
                                    f"model; this image has {channels} channels (name a model with --model)")
        model = QUALITY_IDS[channels].format(self.quality)
        levels = installed_levels(channels)
        if self.quality not in levels:
            kind = "colour" if channels == 3 else "gray"
            raise InvalidInputError(f"no {kind} latent model for quality {self.quality} ({model!r}); the installed "
                                    f"{kind} levels are {levels or '(none)'}")
        return model, bytes.fromhex(load().of_kind(LatentEntry)[model].decoder.sha256)

    def with_metadata(self, metadata: dict | None, bits: int | None = None) -> EncodeOptions:
        """These options with ``metadata`` (checked) and, unless bits were asked for, ``bits`` (a mission
        product's significant bits)."""
        return replace(self.with_found_bits(bits), metadata=_check_metadata(metadata))

    def with_keep(self, keep: float) -> EncodeOptions:
        """These (mask-mode) options at another keep (a byte budget's search)."""
        return replace(self, keep=float(keep), threshold=keep_to_threshold(keep))

    def with_quality(self, quality: int) -> EncodeOptions:
        """These (latent-mode) options at another quality level (a byte budget's search)."""
        model_id, sha = _latent_model(None, quality)
        return replace(self, quality=int(quality), model_id=model_id, model_sha256=sha)

    def with_found_bits(self, bits: int | None) -> EncodeOptions:
        """These options with the significant bits an input file declares (a product's label, a PNG's
        ``sBIT``), unless bits were asked for."""
        return replace(self, bits=self.bits if self.bits is not None else check_bits(bits))

    def bits_for_dtype(self, dtype: np.dtype) -> int:
        """The significant bits of samples of ``dtype``: as asked (at most the dtype's width) or that width."""
        full = 8 * np.dtype(dtype).itemsize
        if self.bits is None:
            return full
        if self.bits > full:
            raise InvalidInputError(f"bits (--bits) must be in 1..{full} for {np.dtype(dtype)} images, got {self.bits}")
        return self.bits

    def bits_for(self, image: np.ndarray) -> int:
        """The significant bits of ``image``: as asked (every value must fit) or its dtype's width."""
        bits = self.bits_for_dtype(image.dtype)
        top = int(image.max()) if self.bits is not None else 0  # the dtype's width holds every value
        if top >> bits:
            raise InvalidInputError(f"image holds the value {top}, which does not fit in bits={bits} "
                                    f"(maximum {(1 << bits) - 1}); give more bits (--bits) or none")
        return bits


def _is_int(v) -> bool:
    return isinstance(v, (int, np.integer)) and not isinstance(v, (bool, np.bool_))


def check_keep(keep) -> float:
    """``keep`` as a float in (0, 1]; anything else is an InvalidInputError.

    >>> check_keep(0.5), check_keep(1)
    (0.5, 1.0)
    """
    keep_to_threshold(keep)
    return float(keep)


def parse_keep(text: str) -> float:
    """One keep fraction as typed on the command line (``--keep 0.1``), checked.

    >>> parse_keep("0.25")
    0.25
    """
    try:
        keep = float(text)
    except ValueError:
        raise InvalidInputError(f"keep (--keep) must be a fraction in (0, 1], got {text!r}") from None
    return check_keep(keep)


def parse_keeps(text: str) -> tuple[float, ...]:
    """Comma-separated keep fractions (the CLI's ``--keep 0.5,0.1``), each checked.

    >>> parse_keeps("0.5, 0.1")
    (0.5, 0.1)
    """
    try:
        keeps = [float(part) for part in str(text).split(",")]
    except ValueError:
        raise InvalidInputError(f"keep (--keep) must be fractions in (0, 1] separated by commas, like "
                                f"0.5,0.1,0.02; got {text!r}") from None
    return tuple(check_keep(k) for k in keeps)


def check_bits(bits) -> int | None:
    """``bits`` as an int in 1..16, or None (the dtype's width); the image's own range is checked on encoding."""
    if bits is None:
        return None
    if not _is_int(bits) or not 1 <= bits <= 16:
        raise InvalidInputError(f"bits (--bits) must be an integer in 1..16 (at most 8 for uint8 images), "
                                f"got {bits!r}")
    return int(bits)


def prepare(image, opts: EncodeOptions) -> tuple[np.ndarray, EncodeOptions]:
    """The checked ``image`` and ``opts`` settled for it: its significant bits (as asked, every value must fit;
    else the dtype's width) and ``max_error`` within them. What an encoder of a mode receives. A stream
    encoder (``segment_size``) checks the values as the rows arrive, so the frame is not scanned twice."""
    check_image(image)
    check_model_fits(opts, image.shape[2] if image.ndim == 3 else 1)
    bits = opts.bits_for_dtype(image.dtype) if opts.segment_size is not None else opts.bits_for(image)
    return image, replace(opts, bits=bits, max_error=check_max_error(opts.max_error, bits))


def check_model_fits(opts: EncodeOptions, channels: int) -> None:
    """Refuse, at encode time, a mask-mode file whose recommended inpainting model could not fill it (the
    decoder would refuse the file with its default inpainter)."""
    if opts.mode != "mask" or not opts.model_id:
        return
    entry = inpainting_model(opts.model_id)
    if entry.channels != channels:
        raise InvalidInputError(f"model (--model) {opts.model_id!r} inpaints {entry.channels}-channel images and "
                                f"this image has {channels}; name a {channels}-channel model or leave the model to "
                                f"the decoder (no --model; --inpainter linear fills any image)")


def check_image(image) -> np.ndarray:
    """``image`` if it is one maskcodec codes: uint8 or uint16, ``(H, W)`` or ``(H, W, C)``."""
    if not isinstance(image, np.ndarray):
        raise InvalidInputError(f"image must be a numpy array, got {type(image).__name__}")
    check_frame(image.shape, image.dtype)
    return image


def check_frame(shape, dtype) -> tuple[tuple[int, ...], np.dtype]:
    """``(shape, dtype)`` of a frame maskcodec codes (uint8 or uint16, ``(H, W)`` or ``(H, W, C)``), checked.

    >>> check_frame((4, 5, 3), "uint8")
    ((4, 5, 3), dtype('uint8'))
    """
    limits = Limits()
    try:
        dtype, shape = np.dtype(dtype), tuple(int(n) for n in shape)
    except TypeError:
        raise InvalidInputError(f"shape must be a tuple of ints and dtype a numpy dtype, got {shape!r}, {dtype!r}") from None
    if dtype not in (np.uint8, np.uint16):
        raise InvalidInputError(f"image dtype must be uint8 or uint16, got {dtype}")
    if len(shape) not in (2, 3):
        raise InvalidInputError(f"image must be (H, W) or (H, W, C), got shape {shape}")
    if len(shape) == 3 and not 1 <= shape[2] <= limits.max_channels:
        raise InvalidInputError(f"image must have 1 to {limits.max_channels} channels, got {shape[2]}")
    if shape[0] <= 0 or shape[1] <= 0:
        raise InvalidInputError(f"image has no pixels: shape {shape}")
    if shape[0] > limits.max_side or shape[1] > limits.max_side:
        raise InvalidInputError(f"image sides must be at most {limits.max_side}, got {shape[:2]}")
    samples = int(np.prod(shape))
    if samples > limits.max_samples:
        raise InvalidInputError(f"image of {samples} samples is over the {limits.max_samples} that a decoder "
                                f"accepts by default (spec section 9); split it into tiles")
    return shape, dtype


def _check_segment_size(segment_size) -> int | None:
    if segment_size is None:
        return None
    if not _is_int(segment_size) or not MIN_SEGMENT <= segment_size <= MAX_SEGMENT:
        raise InvalidInputError(f"segment_size (--segment-size) must be an integer from {MIN_SEGMENT} to "
                                f"{MAX_SEGMENT} bytes, got {segment_size!r}")
    return int(segment_size)


def check_max_error(max_error, bits: int | None = None) -> int:
    """``max_error`` as a non-negative int, and with ``bits`` at most what ``bits``-bit samples allow
    (``2**(bits-1) - 1``; the bits are known once the image is).

    >>> check_max_error(2), check_max_error(127, bits=8)
    (2, 127)
    """
    if not _is_int(max_error) or max_error < 0:
        raise InvalidInputError(f"max_error (--max-error) must be a non-negative integer (0: exact), "
                                f"got {max_error!r}")
    if bits is not None and max_error > max_error_limit(bits):
        raise InvalidInputError(f"max_error (--max-error) must be in 0..{max_error_limit(bits)} for {bits}-bit "
                                f"samples, got {max_error}")
    return int(max_error)


def _check_metadata(metadata) -> bytes:
    if metadata is not None and not isinstance(metadata, dict):
        raise InvalidInputError(f"metadata must be a dict (a JSON object), got {type(metadata).__name__}")
    raw = encode_metadata(metadata)
    if len(raw) > Limits().max_metadata:
        raise InvalidInputError(f"metadata of {len(raw)} bytes as JSON is over the {Limits().max_metadata} "
                                f"bytes a decoder accepts by default")
    return raw


def inpainting_model(model_id: str) -> InpainterEntry:
    """The installed inpainting model ``model_id``; any other id is an InvalidInputError."""
    entry = load().get(model_id)
    if isinstance(entry, LatentEntry):
        raise InvalidInputError(f"{model_id!r} is a latent model; use it in latent mode (mode='latent', "
                                f"--mode latent)")
    if not isinstance(entry, InpainterEntry):
        raise InvalidInputError(f"{model_id!r} is a {entry.kind}, not an inpainting model; mask mode records the "
                                f"model that should inpaint the file")
    return entry


def _mask_model(model) -> tuple[str, bytes]:
    if model is None:
        return "", bytes(32)
    entry = inpainting_model(model)
    return entry.id, bytes.fromhex(entry.onnx.sha256)


def installed_levels(channels: int) -> list[int]:
    """The quality levels installed for images of ``channels`` (3: ``latent-q<n>``, 1: ``latent-gray-q<n>``)."""
    prefix = QUALITY_IDS[channels].format("")
    return sorted(int(k[len(prefix):]) for k in load().of_kind(LatentEntry)
                  if k.startswith(prefix) and k[len(prefix):].isdigit())


def _latent_model(model, quality) -> tuple[str, bytes]:
    if (model is None) == (quality is None):
        raise InvalidInputError("latent mode needs exactly one of model (--model, a latent model id) and quality "
                                f"(--quality, picks 'latent-q<quality>'); got {'both' if model is not None else 'neither'}")
    manifest = load()
    manifest.require()
    latents = manifest.of_kind(LatentEntry)
    if quality is not None:
        if not _is_int(quality):
            raise InvalidInputError(f"quality (--quality) must be an integer, got {quality!r}")
        ids = [p.format(int(quality)) for p in QUALITY_IDS.values() if p.format(int(quality)) in latents]
        if not ids:
            raise InvalidInputError(f"no latent model for quality {quality} ({QUALITY_ID.format(int(quality))!r} or "
                                    f"{GRAY_QUALITY_ID.format(int(quality))!r}); the installed levels are "
                                    f"{sorted(set(installed_levels(3) + installed_levels(1))) or '(none)'}")
        model = ids[0]
    if model not in latents:
        raise InvalidInputError(f"unknown latent model {model!r}; the latent models in {load().folder} are "
                                f"{sorted(latents) or '(none)'}")
    return model, bytes.fromhex(latents[model].decoder.sha256)


def resolve(mode: str = "mask", *, keep: float | None = None, seed: int | None = None, bits: int | None = None,
            metadata: dict | None = None, segment_size: int | None = None, model: str | None = None,
            quality: int | None = None, mask: str | None = None, max_error: int = 0,
            coding: str | None = None) -> EncodeOptions:
    """Check that encoding options are valid and fit together; see :func:`maskcodec.encode` for their meaning."""
    max_error = check_max_error(max_error)
    if mode not in ENCODE_MODES:
        raise InvalidInputError(f"mode (--mode) must be one of {', '.join(ENCODE_MODES)}, got {mode!r}")
    if model is not None and (not isinstance(model, str) or len(model) > MAX_MODEL_ID):
        raise InvalidInputError(f"model (--model) must be a model id of at most {MAX_MODEL_ID} characters, "
                                f"got {model!r}")
    bits, raw_metadata = check_bits(bits), _check_metadata(metadata)
    if mode == "latent":
        given = [name for name, value in (("keep (--keep)", keep), ("seed (--seed)", seed),
                                          ("segment_size (--segment-size)", segment_size), ("mask (--mask)", mask),
                                          ("max_error (--max-error)", max_error or None),
                                          ("coding (--coding)", coding))
                 if value is not None]
        if given:
            raise InvalidInputError(f"{' and '.join(given)} applies to mask mode only; latent mode sends the model's "
                                    f"bottleneck, whose size the model sets (choose a model or a quality)")
        model_id, sha = _latent_model(model, quality)
        return EncodeOptions(mode=mode, keep=None, threshold=None, seed=None, bits=bits, metadata=raw_metadata,
                             segment_size=None, model_id=model_id, model_sha256=sha, mask=None,
                             quality=None if quality is None else int(quality))
    if quality is not None:
        raise InvalidInputError("quality (--quality) picks a latent model; use latent mode (mode='latent', "
                                "--mode latent); mask mode is sized by keep (--keep)")
    keep = DEFAULT_KEEP if keep is None else keep
    threshold, seed, mask = settle(keep, secrets.randbits(32) if seed is None else seed,
                                   DEFAULT_KIND if mask is None else mask)
    segment_size = _check_segment_size(segment_size)
    if coding is not None and coding not in CODINGS:
        raise InvalidInputError(f"coding (--coding) must be one of {', '.join(CODINGS)}, got {coding!r}")
    if segment_size is not None and coding is not None:
        raise InvalidInputError("coding (--coding) applies to the single container; segmented streams "
                                "(--segment-size) have their own coding (spec section 11.3)")
    coding = coding or (None if segment_size is not None else "ranked")
    if coding == "scan" and max_error:
        raise InvalidInputError("max_error (--max-error) needs coding (--coding) ranked or predictive: scan-order coding "
                                "(spec section 6) stores kept values exactly")
    model_id, sha = _mask_model(model)
    return EncodeOptions(mode=mode, keep=float(keep), threshold=threshold, seed=seed, bits=bits, metadata=raw_metadata,
                         segment_size=segment_size, model_id=model_id, model_sha256=sha, mask=mask,
                         max_error=max_error, coding=coding)


def argument(parse: Callable[[str], object]) -> Callable[[str], object]:
    """An argparse ``type=`` from one of maskcodec's checks: its error message becomes argparse's."""
    def convert(text: str):
        try:
            return parse(text)
        except MaskcodecError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    convert.__name__ = getattr(parse, "__name__", "value")
    return convert
