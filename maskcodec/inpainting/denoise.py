"""Remove colour noise from images that arrive corrupted rather than masked.

The model is the paper's colour-noise CAE (``paper-colour-noise`` in
``models/``): trained on real Mars colour crops to which additive noise,
uniform in [-1, 1] and the same in all channels, was added on 10-100% of the
pixels (then clipped to [0, 1]).
"""
from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError, ModelError
from ..runtime.manifest import DenoiserEntry, load
from ..runtime.onnx import run_model, session

__all__ = ["denoise", "DEFAULT_DENOISER"]

DEFAULT_DENOISER = "paper-colour-noise"


def denoise(image: np.ndarray, model: str = DEFAULT_DENOISER) -> np.ndarray:
    """Remove colour noise from an 8-bit image with a denoising model.

    Parameters
    ----------
    image : numpy.ndarray
        ``(H, W, C)`` uint8 image, any size, with as many channels as the
        model (3 for the default).
    model : str
        Id of a denoising model in the manifest (input kind ``"image"``).

    Returns
    -------
    numpy.ndarray
        The cleaned image, uint8, same shape.

    Raises
    ------
    InvalidInputError
        Not a uint8 ``(H, W, C)`` array, or not the model's channel count.
    ModelError
        The model is not a denoiser, or its file is missing or altered.

    Examples
    --------
    >>> import maskcodec
    >>> img = maskcodec.sample_image("mastcam")
    >>> noisy = img.copy(); noisy[::7, ::5] = 255
    >>> clean = maskcodec.denoise(noisy)
    >>> clean.shape, clean.dtype
    ((251, 317, 3), dtype('uint8'))
    >>> bool(maskcodec.metrics.psnr(img, clean) > maskcodec.metrics.psnr(img, noisy))
    True
    """
    entry = load().get(model)
    if not isinstance(entry, DenoiserEntry):
        raise ModelError(f"model {model!r} is {'a latent model' if entry.kind == 'latent' else 'an inpainter'}, "
                         f"not a denoiser; expected a model with input kind 'image', e.g. {DEFAULT_DENOISER!r}")
    if not isinstance(image, np.ndarray) or image.dtype != np.uint8 or image.ndim != 3:
        got = f"{image.dtype} array of shape {image.shape}" if isinstance(image, np.ndarray) else type(image).__name__
        raise InvalidInputError(f"denoise expects a uint8 (H, W, C) image; got {got}")
    if image.shape[2] != entry.channels or min(image.shape[:2]) == 0:
        raise InvalidInputError(f"model {model!r} denoises non-empty {entry.channels}-channel images; "
                                f"got shape {image.shape}")
    y = run_model(session(entry.onnx), image.astype(np.float32) / 255, entry.multiple, entry.channels)
    return np.clip(np.rint(y * 255), 0, 255).astype(np.uint8)
