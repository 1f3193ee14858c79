"""maskcodec: masking is compression.

The encoder keeps a seeded pseudo-random subset of pixels and sends the seed
plus the survivors; the decoder regenerates the mask from the seed and
inpaints the rest (mask mode). In latent mode it sends an autoencoder's
quantized bottleneck instead (``encode(image, mode="latent", model=...)``,
:func:`latents`). The format is defined by ``spec/format.md``.

``import maskcodec`` loads what encoding needs (numpy, construct, zstandard);
scipy and onnxruntime load when a decode asks for them, and the tools
(``maskcodec.tools``: benchmarks, demo, training) only when their commands run.

>>> import maskcodec
>>> img = maskcodec.sample_image("mastcam")
>>> data = maskcodec.encode(img, keep=0.1, seed=42)
>>> maskcodec.inspect(data).shape
(251, 317, 3)
>>> maskcodec.decode(data).shape
(251, 317, 3)
"""
from __future__ import annotations

from . import metrics
from .codec import (SalvageWarning, decode, decode_report, encode, inspect, latents, rate_map, refine, salvage,
                    survivors)
from .inpainting.denoise import denoise
from .errors import (ChainError, ChecksumError, FormatError, InvalidInputError, LimitExceededError, MaskcodecError,
                     MissingDependencyError, ModelError, TruncatedError, UnsupportedVersionError)
from .io.samples import sample_image
from .masks import mask
from .modes.mask.stream import StreamEncoder
from .records import DecodeReport, Header, LatentHeader, Limits, MaskHeader, SalvageReport

__version__ = "0.1.0"

__all__ = [
    "encode", "decode", "decode_report", "refine", "DecodeReport", "denoise", "inspect", "survivors", "latents", "rate_map", "salvage", "SalvageWarning", "mask",
    "sample_image", "StreamEncoder", "metrics", "Header", "MaskHeader", "LatentHeader", "Limits", "SalvageReport",
    "MaskcodecError", "InvalidInputError", "FormatError", "TruncatedError", "ChecksumError", "ChainError",
    "UnsupportedVersionError", "LimitExceededError", "ModelError", "MissingDependencyError", "__version__",
]
