"""Quality metrics, computed on images scaled to [0, 1] by their bit depth.

- :func:`psnr`: peak signal-to-noise ratio in dB (``inf`` for identical images);
- :func:`ssim`: structural similarity (Wang et al. 2004; Gaussian window
  sigma 1.5, K1 0.01, K2 0.03), mean over channels;
- :func:`mad`: the paper's mean absolute difference over all pixels and
  channels;
- :func:`diff_variance`: the paper's mean variance of the pixel differences
  (variance over pixels, mean over channels).
"""
from __future__ import annotations

import numpy as np

__all__ = ["psnr", "ssim", "mad", "diff_variance", "bits_per_pixel", "to_unit"]


def to_unit(image: np.ndarray, bits: int | None = None) -> np.ndarray:
    """``image`` as float64 ``(H, W, C)`` on [0, 1] (``bits`` defaults to the dtype's width)."""
    bits = bits or 8 * image.dtype.itemsize
    a = image.astype(np.float64) / ((1 << bits) - 1)
    return a[..., None] if a.ndim == 2 else a


def psnr(reference: np.ndarray, test: np.ndarray, bits: int | None = None) -> float:
    """PSNR in dB of ``test`` against ``reference``.

    Examples
    --------
    >>> a = np.zeros((4, 4), np.uint8); b = a.copy(); b[0, 0] = 255
    >>> round(psnr(a, b), 2)
    12.04
    """
    mse = float(np.mean((to_unit(reference, bits) - to_unit(test, bits)) ** 2))
    return float("inf") if mse == 0 else float(10.0 * np.log10(1.0 / mse))


def ssim(reference: np.ndarray, test: np.ndarray, bits: int | None = None) -> float:
    """Mean SSIM over channels (Gaussian window, sigma 1.5).

    Examples
    --------
    >>> a = (np.arange(64 * 64) % 251).astype(np.uint8).reshape(64, 64)
    >>> ssim(a, a)
    1.0
    """
    from scipy import ndimage  # only SSIM needs it

    x, y = to_unit(reference, bits), to_unit(test, bits)
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    sig = (1.5, 1.5, 0)

    def g(a: np.ndarray) -> np.ndarray:
        return ndimage.gaussian_filter(a, sigma=sig, truncate=3.5, mode="reflect")

    mx, my = g(x), g(y)
    vx, vy, cxy = g(x * x) - mx * mx, g(y * y) - my * my, g(x * y) - mx * my
    s = ((2 * mx * my + c1) * (2 * cxy + c2)) / ((mx * mx + my * my + c1) * (vx + vy + c2))
    return round(float(s.mean()), 12)


def mad(reference: np.ndarray, test: np.ndarray, bits: int | None = None) -> float:
    """Mean absolute difference over all pixels and channels, on [0, 1]."""
    return float(np.mean(np.abs(to_unit(reference, bits) - to_unit(test, bits))))


def diff_variance(reference: np.ndarray, test: np.ndarray, bits: int | None = None) -> float:
    """Variance of the pixel differences over the image, averaged over channels."""
    d = to_unit(reference, bits) - to_unit(test, bits)
    return float(d.reshape(-1, d.shape[-1]).var(axis=0).mean())


def bits_per_pixel(nbytes: int, shape: tuple[int, ...]) -> float:
    """Bits per pixel (per spatial pixel, all channels together)."""
    return 8.0 * nbytes / (shape[0] * shape[1])
