"""Latent mode: the quantized bottleneck of an autoencoder is the message (spec section 12).

A latent model is an encoder and a decoder network (two ONNX files) listed in
``models/manifest.json`` with ``"kind": "latent"``:

- encoder: input ``image`` float32 ``(1, C, H, W)`` on [0, 1], H and W
  multiples of ``factor``; output ``latent`` ``(1, K, H/factor, W/factor)``;
- decoder: input ``latent`` ``(1, K, h, w)``; output ``image``
  ``(1, C, h*factor, w*factor)`` on [0, 1].

Encoding pads the image to a multiple of ``factor`` (:func:`maskcodec.runtime.onnx.pad`) and runs the encoder on
the whole padded image. The entry's ``coder`` says how the latent is sent:

- ``"zstd"`` (the default): each latent channel is quantized to 8 bits with its
  own offset and step (stored in the file) and the bytes are compressed with zstd;
- ``"context"`` (coder 3): the latent is rounded to integers and range-coded
  (:mod:`maskcodec.entropy`) with the model's integer context tables, which
  both ONNX files carry in their metadata: each value's table is picked by the
  values already decoded around it.

Coder 1 (fixed per-channel tables) was retired; its byte is refused.

Decoding dequantizes (exactly, in float32) or range-decodes, runs the decoder
and crops. onnxruntime is imported only when a network runs. What a range-coded
file spends where is :func:`rate_map`, computed from the latents and the tables
alone (no network runs).

This module owns what the latent block means (``spec/format.md`` sections
12.2-12.8): the checks of its fields against the image, the quantization kinds
and coders, and the payload of each coder.
"""
from __future__ import annotations

from functools import lru_cache

import numpy as np

from .. import entropy
from ..entropy.rans import INT16
from ..errors import FormatError, InvalidInputError, LimitExceededError, ModelError, UnsupportedVersionError
from ..framing import container
from ..framing.fixed import MODE_LATENT
from ..records import LatentHeader, LatentFields, Limits
from ..framing.zstd_frame import compress, decompress
from ..records import DecodeReport
from ..runtime.manifest import LatentEntry, load
from ..runtime.onnx import pad, session

__all__ = ["NAME", "check", "QUANTIZATIONS", "CODERS", "RANGE_CODERS", "quantize", "dequantize", "model_tables", "encode", "describe",
           "decode", "contents", "latents", "rate_map"]

NAME = "latent"
QUANTIZATIONS = {0: "minmax", 1: "integer"}  # latent quantization kinds (spec section 12.3)
QUANTIZATION_IDS = {v: k for k, v in QUANTIZATIONS.items()}
CODERS = {0: "zstd"} | {m.ID: name for name, m in entropy.CODERS.items()}  # the latent block's coder byte (spec 12.2)
CODER_IDS = {v: k for k, v in CODERS.items()}
RETIRED_CODERS = {1: "range coder 1 (fixed per-channel tables) was retired (spec section 13)"}
RANGE_CODERS = entropy.CODERS  # the range coders, by name


def quantize(z: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Quantize a latent ``(K, h, w)`` to uint8 with per-channel float32 offsets and steps.

    ``"minmax"``: offset = channel minimum, step = (maximum - minimum) / 255
    (1 where that is 0); ``"integer"``: offset = floor(minimum), step = 1
    (values beyond 255 steps are clipped). ``q = clip(rint((z - offset) /
    step), 0, 255)``, computed in float64 from the float32 offset and step.

    Examples
    --------
    >>> z = np.array([[[0.0, 0.5, 1.0]], [[2.2, 3.0, 4.7]]], np.float32)
    >>> q, offsets, steps = quantize(z, "integer")
    >>> q.tolist(), offsets.tolist(), steps.tolist()
    ([[[0, 0, 1]], [[0, 1, 3]]], [0.0, 2.0], [1.0, 1.0])
    >>> bool(np.abs(dequantize(*quantize(z, "minmax")) - z).max() <= (4.7 - 2.2) / 255 / 2 + 1e-6)
    True
    """
    lo, hi = z.min(axis=(1, 2)), z.max(axis=(1, 2))
    if kind == "minmax":
        offsets = lo.astype(np.float32)
        steps = ((hi.astype(np.float64) - offsets) / 255).astype(np.float32)
        steps[~(steps > 0)] = 1.0
    elif kind == "integer":
        offsets, steps = np.floor(lo).astype(np.float32), np.ones(len(z), np.float32)
    else:
        raise ModelError(f"latent quantization {kind!r} is unknown; expected one of {sorted(QUANTIZATIONS.values())}")
    q = np.rint((z.astype(np.float64) - offsets[:, None, None]) / steps[:, None, None])
    return np.clip(q, 0, 255).astype(np.uint8), offsets, steps


def dequantize(q: np.ndarray, offsets, steps) -> np.ndarray:
    """``offset_c + q * step_c`` in float32 (one rounded product, one rounded sum), ``(K, h, w)``."""
    offsets, steps = np.asarray(offsets, np.float32), np.asarray(steps, np.float32)
    return offsets[:, None, None] + q.astype(np.float32) * steps[:, None, None]


def model_tables(entry: LatentEntry, half: str):
    """The range-coder tables of the entry's coder in the metadata of the ``half`` (``"encoder"`` or
    ``"decoder"``) of a latent model.

    Raises
    ------
    ModelError
        The file has no tables (the coder's metadata key, e.g. :data:`maskcodec.entropy.context.METADATA_KEY`),
        they are malformed, or they are not for the model's latent channels.
    """
    coder = RANGE_CODERS[entry.coder]
    key, kind = coder.METADATA_KEY, coder.TABLES
    meta = session(getattr(entry, half)).get_modelmeta().custom_metadata_map
    if key not in meta:
        raise ModelError(f"the {half} of latent model {entry.id!r} has no range-coder tables "
                         f"(ONNX metadata key {key!r}); its entry asks for coder {entry.coder!r}")
    tables = _parsed(kind, meta[key])
    if tables.channels != entry.latent_channels:
        raise ModelError(f"the {half} of latent model {entry.id!r} has range-coder tables for "
                         f"{tables.channels} channels; the model has {entry.latent_channels} latent channels")
    return tables


@lru_cache(maxsize=32)
def _parsed(kind, text: str):
    """Tables parsed and checked once per model file (encoding and decoding many frames reuse them, and with
    them the context coder's look-up tables)."""
    return kind.from_json(text)


def _run(entry: LatentEntry, half: str, name: str, x: np.ndarray, expected: tuple[int, ...]) -> np.ndarray:
    """Run the ``half`` (``"encoder"`` or ``"decoder"``) of a latent model on ``x`` and check its output shape."""
    sess = session(getattr(entry, half))
    try:
        y = sess.run(None, {name: x})[0]
    except Exception:  # onnxruntime's own error types; the model does not follow the contract
        raise ModelError(f"the {half} of latent model {entry.id!r} does not run on input {name!r} of shape "
                         f"{x.shape}: the model file does not follow the latent-model contract (docs/latent.md)") from None
    if y.shape != expected or not np.isfinite(y).all():
        raise ModelError(f"the {half} of latent model {entry.id!r} returned shape {y.shape}"
                         f"{'' if np.isfinite(y).all() else ' with non-finite values'}; expected {expected}")
    return y


def encode(image: np.ndarray, opts) -> bytes:
    """The latent-mode file of a checked ``image`` under resolved options (:class:`maskcodec.options.EncodeOptions`)."""
    h, w = image.shape[:2]
    channels = image.shape[2] if image.ndim == 3 else 1
    model_id, model_sha256 = opts.latent_model(channels)
    entry = load().of_kind(LatentEntry)[model_id]
    bits = opts.bits_for(image)
    if channels != entry.channels:
        raise ModelError(f"latent model {entry.id!r} codes {entry.channels}-channel images; "
                         f"this image has {channels} channel{'s' if channels != 1 else ''}")
    f, k = entry.factor, entry.latent_channels
    lh, lw = -(-h // f), -(-w // f)
    if lh * lw * f * f > Limits().max_latent_pixels:
        raise LimitExceededError(f"image of {h}x{w} pixels (padded to {lh * f}x{lw * f}) is over latent mode's "
                                 f"limit of {Limits().max_latent_pixels} pixels (the model runs on it whole)")
    x = pad(image.reshape(h, w, channels).astype(np.float32) / np.float32((1 << bits) - 1), f)
    z = _run(entry, "encoder", "image", np.ascontiguousarray(x.transpose(2, 0, 1)[None]), (1, k, lh, lw))[0]
    block = dict(latent_channels=k, latent_height=lh, latent_width=lw, factor=f, offsets=None, steps=None)
    if entry.coder in RANGE_CODERS:
        values = np.clip(np.rint(z), *INT16).astype(np.int64)
        payload = RANGE_CODERS[entry.coder].encode(values, model_tables(entry, "encoder"))
        block |= dict(quantization=QUANTIZATION_IDS["integer"], coder=CODER_IDS[entry.coder])
    else:
        q, offsets, steps = quantize(z, entry.quantization)
        payload = compress(q.tobytes())
        block |= dict(quantization=QUANTIZATION_IDS[entry.quantization], coder=CODER_IDS["zstd"],
                      offsets=offsets.astype("<f4").tobytes(), steps=steps.astype("<f4").tobytes())
    return container.build(shape=image.shape, dtype=image.dtype, mode=MODE_LATENT, bits=bits, payload=payload,
                           payload_raw_size=k * lh * lw, model_id=model_id, model_sha256=model_sha256,
                           metadata=opts.metadata, block=block)


def _fields(frame: container.Frame, limits: Limits) -> LatentFields:
    """Check the fields of a latent-mode header (spec section 12.8, in its order) and return its latent block."""
    f, b = frame.fixed, frame.block
    if f.transform != 0 or f.seed != 0 or f.keep_threshold != 0 or f.survivors != 0 or f.mask_kind != 0:
        raise FormatError(f"latent mode has no mask: transform, seed, keep_threshold, survivors and mask_kind must be "
            f"0, got {f.transform}, {f.seed}, {f.keep_threshold}, {f.survivors}, {f.mask_kind}")
    if not frame.model_id:
        raise FormatError("a latent-mode file must name its model (model id is empty)")
    if b.latent_channels == 0 or b.latent_height == 0 or b.latent_width == 0 or b.factor == 0:
        raise FormatError(f"latent tensor {b.latent_channels}x{b.latent_height}x{b.latent_width} with factor {b.factor} "
            f"has a zero dimension")
    if b.latent_channels > limits.max_channels:
        raise LimitExceededError(f"{b.latent_channels} latent channels exceed the decoder's limit of {limits.max_channels}")
    side = (-(-f.height // b.factor), -(-f.width // b.factor))
    if (b.latent_height, b.latent_width) != side:
        raise FormatError(f"latent of {b.latent_height}x{b.latent_width} does not fit a {f.height}x{f.width} image at factor "
            f"{b.factor}; expected {side[0]}x{side[1]} (ceil of the image sides / factor)")
    padded = b.latent_height * b.latent_width * b.factor ** 2
    if padded > limits.max_latent_pixels:
        raise LimitExceededError(f"the decoder network would run on {padded} pixels, over the decoder's limit of "
            f"{limits.max_latent_pixels}")
    if b.quantization not in QUANTIZATIONS:
        raise FormatError(f"latent quantization kind {b.quantization} is unknown; expected "
            f"{', '.join(f'{k} ({n})' for k, n in QUANTIZATIONS.items())}")
    if b.coder in RETIRED_CODERS:
        raise UnsupportedVersionError(f"latent coder {b.coder}: {RETIRED_CODERS[b.coder]}")
    if b.coder not in CODERS:
        raise FormatError(f"latent coder {b.coder} is unknown; expected {', '.join(f'{k} ({n})' for k, n in CODERS.items())}")
    fields = dict(channels=b.latent_channels, height=b.latent_height, width=b.latent_width, factor=b.factor,
                  quantization=QUANTIZATIONS[b.quantization], coder=CODERS[b.coder])
    if CODERS[b.coder] in RANGE_CODERS:
        if QUANTIZATIONS[b.quantization] != "integer":
            raise FormatError(f"range-coded latents (coder {b.coder}) are integers: quantization must be 1 (integer), "
                f"got {b.quantization} ({QUANTIZATIONS[b.quantization]})")
        latent = LatentFields(**fields)
    else:
        offsets, steps = np.frombuffer(b.offsets, "<f4"), np.frombuffer(b.steps, "<f4")
        if not (np.isfinite(offsets).all() and np.isfinite(steps).all() and (steps > 0).all()):
            raise FormatError("latent offsets must be finite and steps finite and positive")
        if (QUANTIZATIONS[b.quantization] == "integer" and not ((steps == 1).all()
                and (offsets == np.floor(offsets)).all())):
            raise FormatError("integer quantization needs steps of 1.0 and whole-number offsets")
        latent = LatentFields(**fields, offsets=tuple(offsets.tolist()), steps=tuple(steps.tolist()))
    expected = b.latent_channels * b.latent_height * b.latent_width
    if frame.payload_raw_size != expected:
        raise FormatError(f"payload_raw_size is {frame.payload_raw_size}, expected {expected} "
            f"({b.latent_channels}x{b.latent_height}x{b.latent_width} latent values)")
    return latent


def describe(frame: container.Frame, limits: Limits = Limits()) -> LatentHeader:
    """The header of a latent-mode container, its latent block checked."""
    f = frame.fixed
    return LatentHeader(version=frame.version, shape=frame.shape, dtype=frame.dtype.name, bits=f.bits,
                  channels=f.channels, model_id=frame.model_id, model_sha256=frame.model_sha256.hex(), metadata=frame.metadata,
                  header_size=frame.header_size, payload_size=frame.payload_size,
                  payload_raw_size=frame.payload_raw_size, file_size=frame.file_size, latent=_fields(frame, limits))


def _decoder_entry(header: LatentHeader) -> LatentEntry:
    """The installed latent model a file names, checked against what the file says about it."""
    lat = header.latent
    manifest = load()
    entry = manifest.of_kind(LatentEntry).get(header.model_id)
    if entry is None:
        raise ModelError(f"the file is coded with latent model {header.model_id!r}, which is not among the "
                         f"latent models in {manifest.folder}: {sorted(manifest.of_kind(LatentEntry))}")
    if entry.decoder.sha256 != header.model_sha256:
        raise ModelError(f"the file asks for latent model {header.model_id!r} with decoder sha256 "
                         f"{header.model_sha256[:16]}..., the installed one is {entry.decoder.sha256[:16]}...")
    found = (entry.channels, entry.latent_channels, entry.factor)
    if found != (header.channels, lat.channels, lat.factor):
        raise ModelError(f"latent model {header.model_id!r} has (channels, latent channels, factor) {found}; "
                         f"the file has {(header.channels, lat.channels, lat.factor)}")
    if lat.coder in RANGE_CODERS and entry.coder != lat.coder:
        raise ModelError(f"the file is range-coded with coder {lat.coder!r}, but latent model "
                         f"{header.model_id!r} carries tables for coder {entry.coder!r}")
    return entry


def _integers(header: LatentHeader, payload: bytes, entry: LatentEntry) -> tuple[np.ndarray, object]:
    """The range-decoded integer latent ``(K, h, w)`` of a checked header, and the tables that coded it."""
    lat = header.latent
    tables = model_tables(entry, "decoder")
    values = RANGE_CODERS[lat.coder].decode(payload, tables, lat.height, lat.width)
    return values.reshape(lat.channels, lat.height, lat.width), tables


def _tensor(header: LatentHeader, payload: bytes, entry: LatentEntry | None = None) -> np.ndarray:
    """The dequantized latent ``(K, h, w)`` of a checked header and its payload: the zstd frame of latent bytes
    (coder 0, no model needed) or the range code, decoded with the tables of the model the file names
    (``entry`` when already checked)."""
    lat = header.latent
    if lat.coder in RANGE_CODERS:
        return _integers(header, payload, entry or _decoder_entry(header))[0].astype(np.float32)
    raw = decompress(payload, header.payload_raw_size)
    return dequantize(np.frombuffer(raw, np.uint8).reshape(lat.channels, lat.height, lat.width),
                      lat.offsets, lat.steps)


def decode(header: LatentHeader, payload: bytes, inpainter: str, estimate: bool = False, fill=None
           ) -> tuple[np.ndarray, DecodeReport]:
    """The image of a latent-mode file, its decoder network run on its latents, and a report naming the model
    (``inpainter`` must be ``"auto"``: latent files are not inpainted, so ``fill`` is not used; there is nothing
    to ``estimate`` from).
    Coder 0's zstd frame is checked before the model (spec 12.8)."""
    if inpainter != "auto":
        raise InvalidInputError(f"a latent-mode file is decoded by its model's decoder network; inpainter "
                                f"(--inpainter) {inpainter!r} does not apply (leave it 'auto')")
    lat = header.latent
    if lat.coder in RANGE_CODERS:  # the range code needs the model's tables
        entry = _decoder_entry(header)
        z = _tensor(header, payload, entry)
    else:  # the zstd frame is checked before the model
        z = _tensor(header, payload)
        entry = _decoder_entry(header)
    f = lat.factor
    y = _run(entry, "decoder", "latent", z[None], (1, header.channels, lat.height * f, lat.width * f))[0]
    h, w = header.shape[:2]
    scale = float((1 << header.bits) - 1)
    out = np.clip(np.rint(y[:, :h, :w].transpose(1, 2, 0) * scale), 0, scale).astype(header.dtype)
    return out.reshape(header.shape), DecodeReport(header.model_id, mode="latent")


def contents(header: LatentHeader, payload: bytes) -> bytes:
    """What a latent payload codes, checked as far as no model is needed: coder 0's zstd frame decompressed
    (the uint8 latent values), a range code (coder 3) as it is."""
    return payload if header.latent.coder in RANGE_CODERS else decompress(payload, header.payload_raw_size)


def check(header: LatentHeader, payload: bytes) -> None:
    """What can be checked of a latent payload without its model: coder 0's zstd frame (a range code is
    checked when its model decodes it)."""
    contents(header, payload)


def latents(header: LatentHeader, payload: bytes) -> np.ndarray:
    """The dequantized latent tensor of a latent-mode file (see :func:`maskcodec.latents`)."""
    return _tensor(header, payload)


def rate_map(header: LatentHeader, payload: bytes) -> np.ndarray:
    """Bits per image pixel that each latent position of a range-coded file costs (see :func:`maskcodec.rate_map`)."""
    lat = header.latent
    if lat.coder not in RANGE_CODERS:
        raise InvalidInputError(f"a rate map needs a range-coded latent file (coder 3); this one is coded with "
                                f"coder {CODER_IDS[lat.coder]} ({lat.coder}), whose bytes are not per position")
    values, tables = _integers(header, payload, _decoder_entry(header))
    cost = RANGE_CODERS[lat.coder].bits(values, tables)
    return (cost.sum(axis=0) / lat.factor ** 2).astype(np.float32)
