"""maskcodec: masking is compression.

The encoder keeps a seeded pseudo-random subset of pixels and sends the seed
plus the survivors; the decoder regenerates the mask from the seed and
inpaints the rest (mask mode). In latent mode it sends an autoencoder's
quantized bottleneck instead (``encode(image, mode="latent", model=...)``,
:func:`latents`). The format is defined by ``spec/format.md``.

>>> import maskcodec
>>> img = maskcodec.sample_image("mastcam")
>>> data = maskcodec.encode(img, keep=0.1, seed=42)
>>> maskcodec.inspect(data).shape
(251, 317, 3)
>>> maskcodec.decode(data).shape
(251, 317, 3)
"""
from __future__ import annotations

from .codec import SalvageWarning, decode, encode, inspect, salvage, survivors
from .container import Header, Limits
from .denoise import denoise
from .errors import (ChecksumError, FormatError, InvalidInputError, LimitExceededError, MaskcodecError,
                     ModelError, TruncatedError, UnsupportedVersionError)
from .latent import latents
from .mask import mask
from .segments import SalvageReport
from .samples import sample_image

__version__ = "0.1.0"

__all__ = [
    "encode", "decode", "denoise", "inspect", "survivors", "latents", "salvage", "SalvageWarning", "mask", "sample_image", "Header", "Limits", "SalvageReport",
    "MaskcodecError", "InvalidInputError", "FormatError", "TruncatedError", "ChecksumError",
    "UnsupportedVersionError", "LimitExceededError", "ModelError", "__version__",
]
