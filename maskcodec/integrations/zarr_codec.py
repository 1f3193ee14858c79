"""maskcodec as a chunk codec for Zarr: numcodecs (Zarr v2 format) and Zarr v3.

A stack of images chunked one image per chunk, ``(1, H, W)`` or
``(1, H, W, C)`` (or chunks that are single images ``(H, W[, C])``), is stored
as one ``.mcx`` stream per chunk: kept pixels exact, the rest inpainted on read.

- :class:`Maskcodec` is a ``numcodecs`` codec (``codec_id = "maskcodec"``),
  registered with ``numcodecs.registry`` on import and through the
  ``numcodecs.codecs`` entry point; use it as the ``compressor`` of a Zarr
  v2-format array.
- :class:`MaskcodecZarr` is the Zarr v3 array->bytes codec of the same name
  (``"maskcodec"`` in ``zarr.json``), found by Zarr through the ``zarr.codecs``
  entry point; use it as the ``serializer`` of a Zarr v3 array. It is defined
  only when ``zarr`` (>= 3) is installed.

Both need the optional extra ``pipeline`` (``pip install 'maskcodec[pipeline]'``).

Examples
--------
>>> import numpy as np, maskcodec
>>> from maskcodec.integrations.zarr_codec import Maskcodec
>>> codec = Maskcodec(keep=0.25, seed=3, inpainter="nconv")
>>> chunk = maskcodec.sample_image("navcam")[None]          # (1, H, W)
>>> out = codec.decode(codec.encode(chunk))
>>> out.shape == chunk.shape, Maskcodec.from_config(codec.get_config()) == codec
(True, True)
"""
from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, fields, replace
from functools import cached_property

import numpy as np
from numcodecs.abc import Codec
from numcodecs.compat import ensure_bytes, ndarray_copy
from numcodecs.registry import register_codec

from .. import codec as _codec
from .. import options
from ..errors import InvalidInputError, ModelError
from ..inpainting import AUTO, CLASSICAL_NAMES

__all__ = ["Maskcodec", "CODEC_ID"]

CODEC_ID = "maskcodec"
SHAPE_KEY = "chunk_shape"  # metadata key holding the chunk's shape before squeezing


class Maskcodec(Codec):
    """numcodecs codec storing each chunk (one image) as a ``.mcx`` stream.

    Parameters
    ----------
    keep : float
        Fraction of pixels kept, in (0, 1].
    seed : int or None
        32-bit mask seed used for every chunk; None draws one per chunk (it is
        stored in each chunk).
    bits : int, optional
        Significant bits per sample (e.g. 12); default the dtype's width.
    inpainter : str
        Inpainter used on decode: ``"auto"``, ``"nconv"``, ``"linear"`` or a
        model id from ``models/manifest.json``.
    model_id, model_sha256 : str, optional
        Recorded by :meth:`get_config` when ``inpainter`` is a model, so that a
        store is decoded with exactly that model (a model with another hash is
        refused with :class:`~maskcodec.errors.ModelError`). Leave them None.
    """

    codec_id = CODEC_ID

    def __init__(self, keep: float = 0.1, seed: int | None = 0, bits: int | None = None,
                 inpainter: str = "auto", model_id: str | None = None, model_sha256: str | None = None):
        # the options encode() takes, resolved once (a chunk's dtype is checked against bits per chunk)
        self._options = options.resolve(keep=keep, seed=0 if seed is None else seed, bits=bits)
        if not isinstance(inpainter, str):
            raise InvalidInputError(f"inpainter must be a name (str), got {type(inpainter).__name__}")
        is_model = inpainter not in (AUTO, *CLASSICAL_NAMES)
        if model_id not in (None, inpainter if is_model else None):
            raise InvalidInputError(f"model_id {model_id!r} does not match inpainter {inpainter!r}")
        if is_model and model_sha256 is None:
            model_sha256 = options.inpainting_model(inpainter).onnx.sha256
        self.keep, self.seed, self.bits = self._options.keep, None if seed is None else self._options.seed, bits
        self.inpainter = inpainter
        self.model_id = inpainter if is_model else None
        self.model_sha256 = model_sha256 if is_model else None

    def get_config(self) -> dict:
        """``{"id": "maskcodec", "keep", "seed", "bits", "inpainter", "model_id", "model_sha256"}``."""
        return {"id": self.codec_id, "keep": self.keep, "seed": self.seed, "bits": self.bits,
                "inpainter": self.inpainter, "model_id": self.model_id, "model_sha256": self.model_sha256}

    @classmethod
    def from_config(cls, config: dict) -> Maskcodec:
        """The codec of a :meth:`get_config` dict (with or without its ``"id"``)."""
        config = dict(config)
        codec_id = config.pop("id", CODEC_ID)
        if codec_id != CODEC_ID:
            raise InvalidInputError(f"not a maskcodec config: id {codec_id!r}, expected {CODEC_ID!r}")
        return cls(**config)

    def encode(self, buf) -> bytes:
        """Encode one chunk: leading singleton axes are dropped, the shape is kept in the metadata."""
        chunk = np.asarray(buf)
        image = chunk
        while image.ndim > 2 and image.shape[0] == 1:
            image = image[0]
        if image.ndim not in (2, 3):
            raise InvalidInputError(f"a maskcodec chunk must hold one image, (1, H, W[, C]) or (H, W[, C]); "
                                    f"got chunk shape {chunk.shape}: chunk the stack axis by 1")
        opts = self._options if self.seed is not None else replace(self._options, seed=secrets.randbits(32))
        return _codec.encode_with(np.ascontiguousarray(image), opts.with_metadata({SHAPE_KEY: list(chunk.shape)}))

    def decode(self, buf, out=None) -> np.ndarray:
        """Decode one chunk to its original shape (into ``out`` when given)."""
        self._check_model()
        data = ensure_bytes(buf)
        image = _codec.decode(data, inpainter=self.inpainter)
        shape = _codec.inspect(data).metadata.get(SHAPE_KEY)
        chunk = image.reshape(shape) if shape is not None else image
        return ndarray_copy(chunk, out)

    def _check_model(self) -> None:
        if self.model_id is None:
            return
        installed = options.inpainting_model(self.model_id).onnx.sha256
        if installed != self.model_sha256:
            raise ModelError(f"the store was written for model {self.model_id!r} with sha256 "
                             f"{self.model_sha256[:16]}..., the installed one is {installed[:16]}...")

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items() if k != "id" and v is not None)
        return f"Maskcodec({args})"


register_codec(Maskcodec)

try:
    from zarr.abc.codec import ArrayBytesCodec
    from zarr.core.common import parse_named_configuration
    from zarr.registry import register_codec as register_zarr_codec
except ImportError:  # zarr is optional: the numcodecs codec works without it
    ArrayBytesCodec = None

if ArrayBytesCodec is not None:
    __all__ += ["MaskcodecZarr"]

    @dataclass(frozen=True)
    class MaskcodecZarr(ArrayBytesCodec):
        """Zarr v3 array->bytes codec ``"maskcodec"``; parameters as :class:`Maskcodec`.

        Use it as the serializer of an array whose chunks are single images::

            zarr.create_array(store, shape=(n, h, w), chunks=(1, h, w), dtype="uint16",
                              serializer=MaskcodecZarr(keep=0.1), compressors=None)
        """

        is_fixed_size = False

        keep: float = 0.1
        seed: int | None = 0
        bits: int | None = None
        inpainter: str = "auto"
        model_id: str | None = None
        model_sha256: str | None = None

        def __post_init__(self) -> None:
            config = Maskcodec(**self._config()).get_config()  # checks and resolves the model
            for f in fields(self):
                object.__setattr__(self, f.name, config[f.name])

        def _config(self) -> dict:
            return {f.name: getattr(self, f.name) for f in fields(self)}

        @cached_property
        def _numcodec(self) -> Maskcodec:
            return Maskcodec(**self._config())

        @classmethod
        def from_dict(cls, data: dict) -> MaskcodecZarr:
            _, config = parse_named_configuration(data, CODEC_ID)
            return cls(**(config or {}))

        def to_dict(self) -> dict:
            return {"name": CODEC_ID, "configuration": self._config()}

        def validate(self, *, shape, dtype, chunk_grid) -> None:
            native = dtype.to_native_dtype()
            if native not in (np.uint8, np.uint16):
                raise InvalidInputError(f"maskcodec stores uint8 or uint16 arrays, got {native}")

        async def _encode_single(self, chunk_array, chunk_spec):
            data = await asyncio.to_thread(self._numcodec.encode, chunk_array.as_ndarray_like())
            return chunk_spec.prototype.buffer.from_bytes(data)

        async def _decode_single(self, chunk_bytes, chunk_spec):
            out = await asyncio.to_thread(self._numcodec.decode, chunk_bytes.to_bytes())
            return chunk_spec.prototype.nd_buffer.from_ndarray_like(out.reshape(chunk_spec.shape))

        def compute_encoded_size(self, input_byte_length: int, chunk_spec) -> int:
            raise NotImplementedError("maskcodec chunks have a data-dependent size")

    register_zarr_codec(CODEC_ID, MaskcodecZarr)  # also found through the zarr.codecs entry point
