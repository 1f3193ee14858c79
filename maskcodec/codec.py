"""encode / decode / inspect: the public codec, dispatching to the framing and the mode.

Data flow: ``options`` (checked once) -> the mode's encoder (the registry
:data:`maskcodec.modes.MODES`) -> bytes in a framing of :mod:`maskcodec.framing`;
and back: :func:`maskcodec.framing.identify` (the one place that knows which
framing a file has) -> the framing's reader -> the mode named in the header ->
the image (mask mode hands its kept pixels to the inpainting stage,
:func:`maskcodec.inpainting.fill`). This module never branches on a mode's internals.
"""
from __future__ import annotations

import warnings

import numpy as np

from . import budgets, inpainting, options
from .errors import ChainError, FormatError, InvalidInputError
from .framing import MAGICS, container, identify
from .inpainting import AUTO
from .masks import keep_to_threshold
from .framing.fixed import MODES as MODE_NAMES
from .modes import MODES, latent
from .modes import mask as mask_mode
from .modes.mask import chains, stream
from .records import DecodeReport, Header, Limits, SalvageReport

__all__ = ["encode", "encode_with", "refine", "verify", "coded", "decode", "decode_report", "inspect", "survivors",
           "latents", "rate_map", "salvage", "SalvageWarning"]


class SalvageWarning(UserWarning):
    """Issued by ``decode(..., strict=False)`` when parts of a stream were lost; ``.report`` says what."""

    def __init__(self, report: SalvageReport):
        super().__init__(f"damaged stream salvaged: {report}")
        self.report = report


def encode(image: np.ndarray, keep: float | None = None, *, mode: str = "mask", quality: int | None = None,
           seed: int | None = None, bits: int | None = None, metadata: dict | None = None,
           segment_size: int | None = None, model: str | None = None, mask: str | None = None,
           max_error: int | None = None, coding: str | None = None, max_bytes: int | None = None,
           bpp: float | None = None, ratio: float | None = None) -> bytes:
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
        range-coded with the model's context tables (the ``latent-q`` and
        ``latent-gray-q`` models, spec section 12.6), or 8 bits per value with
        per-channel scales and zstd (spec section 12); any image size (padded
        for the network, cropped back).
    quality : int, optional
        Latent mode: picks the model ``latent-q{quality}`` of the manifest for
        a colour (3-channel) image, ``latent-gray-q{quality}`` for a gray one;
        1 spends the fewest bytes.
    seed : int, optional
        Mask mode: 32-bit mask seed; ``None`` draws one (it is stored in the file).
    mask : {"bluenoise", "hash"}, optional
        Mask mode: the mask kind (spec section 5). ``"bluenoise"`` (default): a
        blue-noise rank tile, kept pixels spread evenly (0.3-0.7 dB better than
        the hash mask at the same keep on ``mars_rgb/val``, docs/masks.md,
        and cheaper to find); ``"hash"``: the
        pseudo-random mask of format 1.0's first files.
    bits : int, optional
        Significant bits per sample (e.g. 12 for 12-bit data in uint16);
        default the dtype's width. Every value must fit.
    metadata : dict, optional
        JSON-serializable description stored in the header (product id, ...);
        a segmented stream repeats it in segments 0, 1 and every 8th.
    segment_size : int, optional
        Mask mode: write a segmented stream (format 4.0) of self-contained
        segments of exactly this many bytes (e.g. 1024, a transfer frame),
        which survives lost and corrupted packets (see :func:`salvage`);
        the same bytes as :class:`maskcodec.StreamEncoder` writes as the
        rows arrive. About 18% more bytes than the single container at keep
        0.1 on Mastcam (docs/downlinks.md).
        Default: one container (format 1.0), the smallest file, whose
        kept values are coded coarse to fine, each predicted from those
        before it (spec section 6.5).
    max_error : int, optional
        Mask mode: every kept value decodes within +-``max_error`` (default
        0: exactly; with a byte budget, chosen with the keep), in 0 .. 2**(bits-1) - 1. At the bytes of an exact
        file, 2 keeps about 1.9 times the pixels (keep 0.229 against 0.121
        on Mastcam, +1.3 dB; docs/coding.md). With
        ``segment_size`` the values are quantized to steps of 2 max_error + 1.
    coding : {"ranked", "predictive", "scan"}, optional
        Mask mode: how the kept values are coded. ``"ranked"`` (the single
        container's default, spec section 6.7): coarse to fine in rank
        order, each predicted from the values before it, range coded under
        adaptive counts. ``"predictive"`` (section 6.5): the same
        predictions in Rice codes, 13-16% fewer bytes than ``"scan"`` at
        keep 0.1 on Mastcam, Perseverance and 12-bit frames (docs/coding.md).
        ``"scan"``: scan-order deltas and zstd (spec section 6), the
        cheapest encoder, exact values only. Not with ``segment_size``:
        segments have their own coding (spec section 11.3).
    model : str, optional
        Id of a model in ``models/manifest.json``, recorded in the file with
        the SHA-256 of its file (a decoder refuses a model file with another
        hash). Mask mode: the inpainting model the decoder should use
        (default: the decoder's choice). Latent mode: the latent model.

    max_bytes, bpp, ratio : optional
        A byte budget (at most one; instead of ``keep`` in mask mode, of
        ``quality`` in latent mode): the file has at most ``max_bytes``
        bytes, ``bpp`` bits per pixel or ``image.nbytes / ratio`` bytes. Mask
        mode picks keep and ``max_error`` from the frontier measured on
        training frames for the image's kind, then the largest keep that fits;
        latent mode the best level that fits (:mod:`maskcodec.budgets`).

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
    budget = budgets.check_budget(max_bytes, bpp, ratio)
    opts = budgets.resolve(mode, budget, keep=keep, seed=seed, bits=bits, metadata=metadata,
                           segment_size=segment_size, model=model, quality=quality, mask=mask, max_error=max_error,
                           coding=coding)
    if budget is None:
        return encode_with(image, opts)
    return budgets.encode_within(image, opts, budget, max_error is not None, encode_with)[0]


def encode_with(image: np.ndarray, opts: options.EncodeOptions) -> bytes:
    """:func:`encode` with options already resolved by :func:`maskcodec.options.resolve` (the CLI and the
    Zarr codec check them once, before any image is read)."""
    return MODES[opts.mode].encode(*options.prepare(image, opts))


def refine(image: np.ndarray, previous, keep: float, *, max_error: int = 0, limits: Limits = Limits()) -> bytes:
    """A refinement: the pixels that ``keep`` adds to the files already sent, and only those.

    The new pixels (kept at ``keep``, not by the chain ``previous``: same
    seed and mask kind, masks are nested) are predicted from every pixel the
    chain holds, so a refinement costs what the new pixels add. Decode a
    chain with ``decode([base, r1, r2])``; a chain whose files all have
    ``max_error`` 0 and that ends at keep 1.0 is the image, losslessly.

    Parameters
    ----------
    image : numpy.ndarray
        The image the chain was encoded from (same shape and dtype).
    previous : bytes or list of bytes
        The chain so far: the first file, then its refinements in the order
        they were written (each names the one before it by its SHA-256).
    keep : float
        The chain's keep after this file, above the chain's keep now.
    max_error : int
        The bound on this file's values (default 0: exact).

    Returns
    -------
    bytes
        A ``.mcx`` file that names its predecessor (spec section 6.6).

    Raises
    ------
    ChainError
        ``previous`` is not a chain (order, missing link, another image).
    InvalidInputError
        ``keep`` not above the chain's, or ``image`` not of the chain's shape.

    Examples
    --------
    >>> import maskcodec
    >>> img = maskcodec.sample_image("navcam")
    >>> base = maskcodec.encode(img, keep=0.01, seed=3)
    >>> more = maskcodec.refine(img, [base], keep=0.1)
    >>> rest = maskcodec.refine(img, [base, more], keep=1.0)
    >>> bool((maskcodec.decode([base, more, rest]) == img).all())
    True
    >>> len(base) + len(more) + len(rest) < 1.05 * len(maskcodec.encode(img, keep=1.0, seed=3))
    True
    """
    image = options.check_image(image)
    threshold = keep_to_threshold(options.check_keep(keep))
    return chains.refine(image, previous, threshold, options.check_max_error(max_error), limits)


def _read(data: bytes, limits: Limits) -> tuple[Header, bytes]:
    """The checked header and payload of a single container: the format's checks 1-6, the mode's check 7,
    then the format's checks 8-9 (spec section 8)."""
    return container.read(data, limits, _describe)


def _describe(frame: container.Frame, limits: Limits) -> Header:
    """The header of a parsed single container, its fields checked by the mode it names (check 7)."""
    return MODES[MODE_NAMES[frame.mode]].describe(frame, limits)


def inspect(data: bytes, *, limits: Limits = Limits()) -> Header:
    """The header of a maskcodec file, checked, without decoding the payload.

    Examples
    --------
    >>> import maskcodec
    >>> h = maskcodec.inspect(maskcodec.encode(maskcodec.sample_image("mastcam"), 0.1, seed=3))
    >>> h.shape, h.dtype, h.seed, h.mode
    ((251, 317, 3), 'uint8', 3, 'mask')
    """
    if identify(data) == "stream":
        return stream.describe(data, limits)
    return _describe(container.parse_header(data, limits), limits)


def verify(data: bytes, *, limits: Limits = Limits()) -> str | None:
    """What is wrong with a file, or None when it passes the checks of the format that need no model:
    sizes, both CRCs, the payload's own checks (zstd frame, mask count, survivor codes). A range-coded
    latent payload (coder 3) is checked when it is decoded, with the named model's tables. Nothing is
    inpainted, no network runs and no model is loaded.

    Examples
    --------
    >>> import maskcodec
    >>> data = maskcodec.encode(maskcodec.sample_image("navcam"), 0.1, seed=1)
    >>> verify(data) is None, verify(data[:-3]).endswith("the payload is truncated")
    (True, True)
    """
    framing = identify(data)
    try:
        if framing == "stream":
            stream.read(data, limits)
            return None
        header, payload = _read(data, limits)
        MODES[header.mode].check(header, payload)
        return None
    except FormatError as e:
        if framing != "stream":
            return str(e)
        try:
            return f"{e}; salvage would recover: {stream.salvage(bytes(data), limits)[3]}"
        except FormatError:
            return f"{e}; no segment is intact"


def coded(data: bytes, *, limits: Limits = Limits()) -> tuple[Header, bytes]:
    """The header of a single container and what its payload codes, checked: the survivor layout
    (mask mode), the uint8 latent values (latent coder 0) or the range code itself (coder 3). The
    bytes a conformance test compares, whatever the zstd version that compressed them."""
    header, payload = _read(data, limits)
    return header, MODES[header.mode].contents(header, payload)


def survivors(data: bytes, *, limits: Limits = Limits()) -> tuple[Header, np.ndarray, np.ndarray]:
    """Header, mask ``(H, W)`` and the kept values ``(N, C)`` of a mask-mode file, without inpainting."""
    if identify(data) == "stream":
        return stream.read(data, limits)
    header, payload = _read(data, limits)
    if header.mode != mask_mode.NAME:
        raise InvalidInputError("a latent-mode file has no kept pixels; maskcodec.latents() reads its latents")
    return mask_mode.container.read(header, payload)


def latents(data: bytes, *, limits: Limits = Limits()) -> np.ndarray:
    """The dequantized latent tensor of a latent-mode file, without decoding pixels.

    A zstd-coded file needs no model: it holds each channel's offset and step,
    and dequantization is exact (``offset + q * step`` in float32). A
    range-coded file (coder ``"rans"`` or ``"context"``) needs the tables of
    the model it names, which decode its integers exactly (integer arithmetic
    only, the same on every machine); no network runs.

    Parameters
    ----------
    data : bytes
        A complete latent-mode ``.mcx`` file.
    limits : Limits
        What the decoder agrees to allocate.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(K, h, w)``: K latent channels at ``1/factor`` of the
        image's (padded) sides.

    Raises
    ------
    InvalidInputError
        ``data`` is a mask-mode file or stream.
    FormatError
        ``data`` is damaged (its subclasses name how).
    ModelError
        ``data`` is range-coded and the model it names is not installed or not the one it names.

    Examples
    --------
    >>> from pathlib import Path
    >>> import maskcodec
    >>> vectors = Path(maskcodec.__file__).resolve().parents[1] / "spec" / "vectors" / "valid"
    >>> data = (vectors / "latent_rgb8_minmax.mcx").read_bytes()
    >>> z = maskcodec.latents(data)
    >>> z.dtype, z.shape, maskcodec.inspect(data).shape
    (dtype('float32'), (6, 4, 6), (57, 81, 3))
    """
    return latent.latents(*_latent_file(data, limits, "latents()"))


def rate_map(data: bytes, *, limits: Limits = Limits()) -> np.ndarray:
    """What each region of a range-coded latent-mode file costs: bits per image pixel per latent position.

    Entry ``[i, j]`` is the ideal code length (``precision - log2 f`` per
    value, 16 more for an escaped one) of the K latent values at position
    ``(i, j)``, divided by the ``factor x factor`` image pixels they stand
    for. A region the model finds surprising costs more: the rate is an
    out-of-distribution signal the encoder has for free (no decoder runs).
    The map's sum times ``factor**2`` is the payload's size in bits to within
    the range coder's overhead (states, escape count, channel map).

    Parameters
    ----------
    data : bytes
        A complete latent-mode ``.mcx`` file coded with coder 1 or 3.
    limits : Limits
        What the decoder agrees to allocate.

    Returns
    -------
    numpy.ndarray
        float32, shape ``(h, w)``: the latent's grid (the image's padded sides over ``factor``).

    Raises
    ------
    InvalidInputError
        ``data`` is a mask-mode file or a zstd-coded latent file (coder 0).
    FormatError, ModelError
        As :func:`latents`.

    Examples
    --------
    >>> from pathlib import Path
    >>> import maskcodec
    >>> vectors = Path(maskcodec.__file__).resolve().parents[1] / "spec" / "vectors"
    >>> data = (vectors / "valid" / "latent_rgb8_context.mcx").read_bytes()
    >>> with maskcodec.runtime.manifest.using(vectors / "models"):
    ...     bits = maskcodec.rate_map(data)
    >>> bits.shape, bool(abs(bits.sum() * 16 ** 2 / 8 - maskcodec.inspect(data).payload_size) < 48)
    ((4, 6), True)
    """
    return latent.rate_map(*_latent_file(data, limits, "rate_map()"))


def _latent_file(data: bytes, limits: Limits, what: str):
    """The checked header and payload of a latent-mode file (else the InvalidInputError naming ``what``)."""
    if identify(data) == "stream":
        raise InvalidInputError(f"a segmented stream holds mask mode only; {what} reads latent-mode files")
    header, payload = _read(data, limits)
    if header.mode != "latent":
        raise InvalidInputError(f"this is a mask-mode file; {what} reads latent-mode files")
    return header, payload


def decode(data: bytes, inpainter: str = AUTO, *, strict: bool = True,
           limits: Limits = Limits()) -> np.ndarray:
    """Decompress a maskcodec file: in mask mode kept pixels exactly and the rest
    inpainted; in latent mode the named latent model's decoder network run on
    the dequantized latents.

    Parameters
    ----------
    data : bytes or list of bytes
        A complete ``.mcx`` file or segmented stream; or a chain: a first
        file and its refinements (:func:`refine`), in the order written.
    inpainter : str
        Mask mode: ``"auto"`` (the shipped model for the image's kind or
        ``linear``, whichever fills the survivors held back in a trial best:
        :func:`decode_report`; where no model fits, the classical inpainter
        measured best for the sample type), a classical name (``"nconv"``,
        ``"linear"``) or a model id from ``models/manifest.json``. Latent
        mode: must stay ``"auto"``.
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
    return _decode(data, inpainter, strict, limits, estimate=False)[0]


def decode_report(data: bytes, inpainter: str = AUTO, *, strict: bool = True, limits: Limits = Limits(),
                  estimate: bool = True) -> tuple[np.ndarray, DecodeReport]:
    """:func:`decode`, and a report of what filled the image and how good it is estimated to be.

    In mask mode a share of the survivors is held back, the image is filled
    from the rest, and the error on the held-back values gives the estimated
    PSNR (:mod:`maskcodec.inpainting.trial`); ``"auto"`` (which always runs this
    trial when a model fits, in :func:`decode` too) fills with the candidate
    of smallest error.
    A named inpainter costs one trial fill more than :func:`decode` does,
    unless ``estimate`` is False (then its report has no estimate).

    Returns
    -------
    image : numpy.ndarray
        As :func:`decode` returns it.
    report : DecodeReport
        The inpainter used, the estimated PSNR of the image (None when too few
        survivors could be held back, or for a latent file) and of every
        candidate tried. A stream salvaged with ``strict=False`` is filled
        from what arrived, with its estimate; the :class:`SalvageWarning`
        says what was lost.

    Examples
    --------
    >>> import maskcodec
    >>> img = maskcodec.sample_image("navcam")
    >>> out, report = maskcodec.decode_report(maskcodec.encode(img, 0.1, seed=5))
    >>> sorted(report.candidates)
    ['gray-default-d', 'linear', 'predictor']
    >>> report.inpainter in report.candidates and abs(report.estimated_psnr_db - maskcodec.metrics.psnr(img, out)) < 1.5
    True
    """
    return _decode(data, inpainter, strict, limits, estimate)


def _decode(data: bytes, inpainter: str, strict: bool, limits: Limits, estimate: bool
            ) -> tuple[np.ndarray, DecodeReport]:
    """:func:`decode` and :func:`decode_report`: the image and what filled it."""
    if isinstance(data, (list, tuple)):
        return inpainting.fill(*chains.read_chain_image(data, limits), inpainter, estimate)
    framing = identify(data)
    if not strict and isinstance(data, (bytes, bytearray, memoryview)) and bytes(data[:4]) != container.MAGIC:
        image, filled, report = _salvaged(data, inpainter, limits, estimate)  # damage may have taken the
        if report.segments_received < report.segments_expected or report.bytes_skipped:  # first sync marker
            warnings.warn(SalvageWarning(report), stacklevel=3)
        return image, filled
    try:
        if framing == "stream":
            return inpainting.fill(*stream.read(data, limits), inpainter, estimate)
        header, payload = _read(data, limits)
        return MODES[header.mode].decode(header, payload, inpainter, estimate, inpainting.fill)
    except FormatError as e:
        if isinstance(e, ChainError) or not isinstance(data, (bytes, bytearray, memoryview)) or \
                bytes(data[:4]) not in MAGICS:
            raise  # a refinement without its chain, or not maskcodec bytes at all: nothing to salvage
        raise type(e)(f"{e}; {_SALVAGE_HINT[strict, framing]}") from None


_SALVAGE_HINT = {  # (strict, framing) -> what a decoder can do about damage
    (True, "stream"): "the stream is segmented: decode(..., strict=False) or --salvage recovers what survived",
    (True, "container"): "a single container (format 1.0) is read strictly; streams written with segment_size "
                         "(--segment-size) can be salvaged",
    (False, "container"): "salvage (strict=False, --salvage) needs a segmented stream written with segment_size "
                          "(--segment-size); this is a single container (format 1.0), read strictly",
}


def salvage(data: bytes, inpainter: str = AUTO, *,
            limits: Limits = Limits()) -> tuple[np.ndarray, SalvageReport]:
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
    if identify(data) == "container" and bytes(data[:4]) == container.MAGIC:  # (a retired framing is refused)
        raise FormatError(_SALVAGE_HINT[False, "container"] + ": decode() reads it")
    image, _, report = _salvaged(data, inpainter, limits, estimate=False)
    return image, report


def _salvaged(data: bytes, inpainter: str, limits: Limits, estimate: bool
              ) -> tuple[np.ndarray, DecodeReport, SalvageReport]:
    """What survived of a segmented stream, filled: the image, what filled it, what was lost."""
    header, known, values, report = stream.salvage(bytes(data), limits)
    return *inpainting.fill(header, known, values, inpainter, estimate), report
