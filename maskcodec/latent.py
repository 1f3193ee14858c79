"""Latent mode: the quantized bottleneck of an autoencoder is the message (spec section 12).

A latent model is an encoder and a decoder network (two ONNX files) listed in
``models/manifest.json`` with ``"kind": "latent"``:

- encoder: input ``image`` float32 ``(1, C, H, W)`` on [0, 1], H and W
  multiples of ``factor``; output ``latent`` ``(1, K, H/factor, W/factor)``;
- decoder: input ``latent`` ``(1, K, h, w)``; output ``image``
  ``(1, C, h*factor, w*factor)`` on [0, 1].

Encoding pads the image to a multiple of ``factor`` (:func:`maskcodec.models.pad`) and runs the encoder on
the whole padded image. The entry's ``coder`` says how the latent is sent:

- ``"zstd"`` (the default): each latent channel is quantized to 8 bits with its
  own offset and step (stored in the file) and the bytes are compressed with zstd;
- ``"rans"``: the latent is rounded to integers and range-coded
  (:mod:`maskcodec.rans`) with the model's integer frequency tables, which both
  ONNX files carry in their metadata.

Decoding dequantizes (exactly, in float32) or range-decodes, runs the decoder
and crops. onnxruntime is imported only when a network runs.
"""
from __future__ import annotations

import numpy as np

from . import models, rans
from .container import QUANTIZATIONS, Header, LatentFields, Limits, read, write
from .errors import InvalidInputError, LimitExceededError, ModelError

__all__ = ["latent_models", "latent_model", "quality_model", "model_tables", "quantize", "dequantize", "encode",
           "decode", "latents"]

QUALITY_ID = "latent-q{}"  # manifest id of the latent model that ``quality=q`` picks


def latent_models() -> dict[str, dict]:
    """The manifest entries of kind ``"latent"``, by id."""
    return {m["id"]: m for m in models.manifest()["models"] if m.get("kind") == "latent"}


def latent_model(model_id: str) -> dict:
    """The manifest entry of the latent model ``model_id`` (encoder side: an unknown id is a bad argument)."""
    entries = latent_models()
    if model_id not in entries:
        raise InvalidInputError(f"unknown latent model {model_id!r}; latent models in {models.models_dir()} "
                                f"are {sorted(entries)}")
    return entries[model_id]


def quality_model(quality: int) -> str:
    """The id of the latent model that ``quality`` selects (``latent-q{quality}``), checked."""
    if isinstance(quality, bool) or not isinstance(quality, (int, np.integer)):
        raise InvalidInputError(f"quality must be an integer, got {quality!r}")
    model_id = QUALITY_ID.format(int(quality))
    if model_id not in latent_models():
        qualities = sorted(k for k in latent_models() if k.startswith(QUALITY_ID.format("")))
        raise InvalidInputError(f"no latent model for quality {quality} ({model_id!r}); installed: {qualities}")
    return model_id


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


def model_tables(entry: dict, half: str) -> rans.Tables:
    """The range-coder tables in the metadata of the ``half`` (``"encoder"`` or ``"decoder"``) of a latent model.

    Raises
    ------
    ModelError
        The file has no tables (metadata key :data:`maskcodec.rans.METADATA_KEY`),
        they are malformed, or they are not one per latent channel.
    """
    meta = models.session(entry[half]).get_modelmeta().custom_metadata_map
    if rans.METADATA_KEY not in meta:
        raise ModelError(f"the {half} of latent model {entry['id']!r} has no range-coder tables "
                         f"(ONNX metadata key {rans.METADATA_KEY!r}); its entry asks for coder 'rans'")
    tables = rans.Tables.from_json(meta[rans.METADATA_KEY])
    if tables.channels != entry["latent_channels"]:
        raise ModelError(f"the {half} of latent model {entry['id']!r} has range-coder tables for "
                         f"{tables.channels} channels; the model has {entry['latent_channels']} latent channels")
    return tables


def _run(entry: dict, half: str, name: str, x: np.ndarray, expected: tuple[int, ...]) -> np.ndarray:
    """Run the ``half`` (``"encoder"`` or ``"decoder"``) of a latent model on ``x`` and check its output shape."""
    sess = models.session(entry[half])
    try:
        y = sess.run(None, {name: x})[0]
    except Exception as e:  # onnxruntime's own error types; the model does not follow the contract
        raise ModelError(f"the {half} of latent model {entry['id']!r} does not run on input {name!r} "
                         f"of shape {x.shape}: {e}") from None
    if y.shape != expected or not np.isfinite(y).all():
        raise ModelError(f"the {half} of latent model {entry['id']!r} returned shape {y.shape}"
                         f"{'' if np.isfinite(y).all() else ' with non-finite values'}; expected {expected}")
    return y


def encode(image: np.ndarray, model_id: str, bits: int, metadata: dict | None = None) -> bytes:
    """Latent-mode file of a checked ``image`` (see :func:`maskcodec.encode` with ``mode="latent"``)."""
    entry = latent_model(model_id)
    h, w = image.shape[:2]
    channels = image.shape[2] if image.ndim == 3 else 1
    if channels != entry["channels"]:
        raise ModelError(f"latent model {model_id!r} codes {entry['channels']}-channel images; "
                         f"this image has {channels} channels")
    f, k = entry["factor"], entry["latent_channels"]
    lh, lw = -(-h // f), -(-w // f)
    if lh * lw * f * f > Limits().max_latent_pixels:
        raise LimitExceededError(f"image of {h}x{w} pixels (padded to {lh * f}x{lw * f}) is over latent mode's "
                                 f"limit of {Limits().max_latent_pixels} pixels (the model runs on it whole)")
    x = models.pad(image.reshape(h, w, channels).astype(np.float32) / np.float32((1 << bits) - 1), f)
    z = _run(entry, "encoder", "image", np.ascontiguousarray(x.transpose(2, 0, 1)[None]), (1, k, lh, lw))[0]
    if entry.get("coder", "zstd") == "rans":
        values = np.clip(np.rint(z.reshape(k, -1)), *rans.INT16).astype(np.int64)
        raw = rans.encode(values, model_tables(entry, "encoder"))
        fields = LatentFields(channels=k, height=lh, width=lw, factor=f, quantization="integer", coder="rans")
    else:
        q, offsets, steps = quantize(z, entry["quantization"])
        raw = q.tobytes()
        fields = LatentFields(channels=k, height=lh, width=lw, factor=f, quantization=entry["quantization"],
                              offsets=tuple(offsets.tolist()), steps=tuple(steps.tolist()))
    return write(shape=image.shape, dtype=image.dtype, bits=bits, raw=raw, model_id=model_id,
                 model_sha256=bytes.fromhex(entry["decoder"]["sha256"]), metadata=metadata, latent=fields)


def _decoder_entry(header: Header) -> dict:
    """The installed latent model a file names, checked against what the file says about it."""
    lat = header.latent
    entry = latent_models().get(header.model_id)
    if entry is None:
        raise ModelError(f"the file is coded with latent model {header.model_id!r}, which is not among the "
                         f"latent models in {models.models_dir()}: {sorted(latent_models())}")
    if entry["decoder"]["sha256"] != header.model_sha256:
        raise ModelError(f"the file asks for latent model {header.model_id!r} with decoder sha256 "
                         f"{header.model_sha256[:16]}..., the installed one is {entry['decoder']['sha256'][:16]}...")
    found = (entry["channels"], entry["latent_channels"], entry["factor"])
    if found != (header.channels, lat.channels, lat.factor):
        raise ModelError(f"latent model {header.model_id!r} has (channels, latent channels, factor) {found}; "
                         f"the file has {(header.channels, lat.channels, lat.factor)}")
    return entry


def _tensor(header: Header, raw: bytes, entry: dict | None = None) -> np.ndarray:
    """The dequantized latent ``(K, h, w)`` of a checked header and its payload (latent bytes, or the
    range code, decoded with the tables of the model the file names; ``entry`` if already checked)."""
    lat = header.latent
    if lat.coder == "rans":
        tables = model_tables(entry or _decoder_entry(header), "decoder")
        values = rans.decode(raw, tables, lat.height * lat.width)
        return values.astype(np.float32).reshape(lat.channels, lat.height, lat.width)
    return dequantize(np.frombuffer(raw, np.uint8).reshape(lat.channels, lat.height, lat.width),
                      lat.offsets, lat.steps)


def decode(header: Header, raw: bytes) -> np.ndarray:
    """The image of a latent-mode file from its checked header and latent bytes."""
    lat = header.latent
    entry = _decoder_entry(header)
    z = _tensor(header, raw, entry)
    f = lat.factor
    y = _run(entry, "decoder", "latent", z[None], (1, header.channels, lat.height * f, lat.width * f))[0]
    h, w = header.shape[:2]
    scale = float((1 << header.bits) - 1)
    out = np.clip(np.rint(y[:, :h, :w].transpose(1, 2, 0) * scale), 0, scale).astype(header.dtype)
    return out.reshape(header.shape)


def latents(data: bytes, *, limits: Limits = Limits()) -> np.ndarray:
    """The dequantized latent tensor of a latent-mode file, without decoding pixels.

    A zstd-coded file needs no model: it holds each channel's offset and step,
    and dequantization is exact (``offset + q * step`` in float32). A
    range-coded file (coder ``"rans"``) needs the tables of the model it
    names, which decode its integers exactly; no network runs.

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
    from .segments import is_segmented
    if isinstance(data, (bytes, bytearray, memoryview)) and is_segmented(data):
        raise InvalidInputError("a segmented stream holds mask mode only; latents() reads latent-mode files")
    header, raw = read(data, limits)
    if header.latent is None:
        raise InvalidInputError(f"this is a {header.mode}-mode file; latents() reads latent-mode files")
    return _tensor(header, raw)
