"""Training data: real images in memory, augmented random crops, codec masks.

Crops are drawn a little larger than the training size, warped on the whole
batch at once with :func:`torch.nn.functional.affine_grid` (small rotations,
shear, shifts, horizontal flips) and cut to size. Each crop then gets a mask
from :func:`maskcodec.mask.mask` with its own random seed, a keep fraction
drawn log-uniformly and a mask kind drawn by the config's shares (and, for
models trained for near-lossless files, its kept values moved as the coder's
quantizer would), and the network input is built by
:func:`maskcodec.runtime.onnx.network_input`, the very function the decoder uses.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ...errors import InvalidInputError
from ...io.images import IMAGE_SUFFIXES, read_image
from ...masks import DEFAULT_KIND, mask
from ...inpainting.models import network_input

__all__ = ["image_files", "load_images", "Augment", "random_crops", "near_lossless", "masked_batch", "colour_noise", "fixed_crops"]


def image_files(root: str | Path, entries: list[str], exclude: list[Path] = ()) -> list[Path]:
    """The image files named by ``entries`` (files or folders, relative to ``root``).

    Folders contribute their image files (sorted, not recursive); the files
    in ``exclude`` (for instance the validation files) are left out.
    """
    root = Path(root)
    skip = {Path(e).resolve() for e in exclude}
    out = []
    for e in entries:
        p = root / e
        files = sorted(f for f in p.iterdir() if f.suffix.lower() in IMAGE_SUFFIXES) if p.is_dir() else [p]
        out += [f for f in files if f.resolve() not in skip]
    if not out:
        raise InvalidInputError(f"no images found in {[str(root / e) for e in entries]}; check --data and the "
                                f"config's train/val entries")
    return out


def load_images(files: list[Path], channels: int) -> list[np.ndarray]:
    """Read 8-bit images as uint8 ``(H, W, channels)`` arrays."""
    images = []
    for f in files:
        a = read_image(f)
        a = a[..., None] if a.ndim == 2 else a
        if a.dtype != np.uint8 or a.shape[2] != channels:
            raise InvalidInputError(f"{f}: expected 8-bit images with {channels} channels, got {a.dtype} {a.shape}")
        images.append(a)
    return images


class Augment:
    """Random affine warps of a batch, as in the paper, computed with ``affine_grid``.

    A fraction ``p_affine`` of the crops is rotated and sheared (bilinear
    resampling); the others are only shifted by whole pixels and flipped, so
    the network also sees unresampled pixels. Outputs are rounded to 8-bit
    levels, like the values the decoder receives.

    Parameters
    ----------
    size : int
        Output crop side.
    rotate_deg, shear_deg : float
        Largest rotation and shear angles (uniform in +/- that).
    shift_px : int
        Largest shift in pixels.
    hflip : bool
        Flip half of the crops left-right.
    p_affine : float
        Fraction of crops that are rotated and sheared.
    """

    def __init__(self, size: int, rotate_deg: float = 10.0, shear_deg: float = 5.0, shift_px: int = 8,
                 hflip: bool = True, p_affine: float = 0.5):
        self.size, self.rotate, self.shear, self.shift = size, rotate_deg, shear_deg, shift_px
        self.hflip, self.p_affine = hflip, p_affine
        reach = size / 2 * (math.cos(math.radians(rotate_deg)) + math.sin(math.radians(rotate_deg))
                            + math.tan(math.radians(shear_deg))) + shift_px
        self.source = 2 * math.ceil(reach) + 2
        """Side of the source crops the warp needs."""

    def __call__(self, batch: torch.Tensor, rng: np.random.Generator) -> torch.Tensor:
        n, s, L = batch.shape[0], self.size, self.source
        warp = rng.random(n) < self.p_affine
        rot = np.radians(rng.uniform(-self.rotate, self.rotate, n)) * warp
        shear = np.tan(np.radians(rng.uniform(-self.shear, self.shear, n))) * warp
        flip = np.where(self.hflip & (rng.random(n) < 0.5), -1.0, 1.0)
        shift = rng.integers(-self.shift, self.shift + 1, (n, 2))
        c, si = np.cos(rot), np.sin(rot)
        a = np.empty((n, 2, 3))
        a[:, 0, 0], a[:, 0, 1] = (c + si * shear) * flip, -si + c * shear
        a[:, 1, 0], a[:, 1, 1] = si * flip, c
        a[:, :, :2] *= s / L
        a[:, :, 2] = 2 * shift / L
        grid = F.affine_grid(torch.as_tensor(a, dtype=torch.float32), [n, batch.shape[1], s, s],
                             align_corners=False)
        out = F.grid_sample(batch, grid, mode="bilinear", padding_mode="border", align_corners=False)
        return torch.round(out.clamp(0, 1) * 255) / 255


def random_crops(images: list[np.ndarray], n: int, side: int, rng: np.random.Generator) -> torch.Tensor:
    """``n`` crops ``side`` x ``side`` at random places of random images, NCHW float32 on [0, 1]."""
    out = np.empty((n, side, side, images[0].shape[2]), np.float32)
    for i, k in enumerate(rng.integers(len(images), size=n)):
        img = images[k]
        y = rng.integers(img.shape[0] - side + 1)
        x = rng.integers(img.shape[1] - side + 1)
        out[i] = img[y:y + side, x:x + side]
    return torch.from_numpy(out / 255).permute(0, 3, 1, 2).contiguous()


def near_lossless(image: np.ndarray, known: np.ndarray, max_error: int, rng: np.random.Generator,
                  maxval: int = 255) -> np.ndarray:
    """``image`` (``(H, W, C)`` on [0, 1], on the levels of ``maxval``) with its ``known`` pixels as a
    near-lossless file (``max_error`` in sample units) decodes them: each value moved by an integer
    uniform in ``-max_error..max_error``, clipped to the sample range; the other pixels unchanged.

    The coder's quantizer (JPEG-LS near-lossless, :mod:`maskcodec.survivors.predictive`) leaves errors
    close to uniform on that range (on Mastcam frames their RMS is within 1% of the uniform one's;
    on smooth gray frames a little smaller), at a fraction of its cost.

    >>> img = np.full((4, 4, 1), 0.5, np.float32)
    >>> out = near_lossless(img, np.eye(4, dtype=bool), 3, np.random.default_rng(0))
    >>> bool((out[~np.eye(4, dtype=bool)] == 0.5).all()), float(np.abs(out - img).max() * 255) <= 3 + 1e-4
    (True, True)
    """
    if max_error <= 0:
        return image
    noise = rng.integers(-max_error, max_error + 1, image.shape)
    levels = np.clip(np.rint(image * maxval) + noise, 0, maxval)
    return np.where(known[..., None], levels / maxval, image).astype(image.dtype)


def masked_batch(clean: torch.Tensor, kind: str, keeps: np.ndarray, seeds: np.ndarray,
                 mask_kinds: list[str] | None = None, max_errors: np.ndarray | None = None,
                 rng: np.random.Generator | None = None, maxval: int = 255) -> tuple[torch.Tensor, torch.Tensor]:
    """Network inputs of an input kind for clean crops, and the masks.

    Parameters
    ----------
    clean : torch.Tensor
        ``(N, C, H, W)`` crops on [0, 1].
    kind : str
        A :data:`maskcodec.runtime.onnx.INPUT_KINDS` entry.
    keeps, seeds : numpy.ndarray
        Keep fraction and 32-bit mask seed of each crop.
    mask_kinds : list of str, optional
        The mask kind (:data:`maskcodec.masks.KINDS`) of each crop; the
        default kind for all when omitted.
    max_errors : numpy.ndarray, optional
        ``max_error`` of each crop in sample units (of ``maxval``): its
        kept values are moved as a near-lossless file would decode them
        (:func:`near_lossless`, drawing from ``rng``) and a ``+d`` input
        kind is told ``max_error / maxval``; exact kept values when omitted.

    Returns
    -------
    x : torch.Tensor
        ``(N, Cin, H, W)`` network input.
    known : torch.Tensor
        ``(N, 1, H, W)`` float mask (1 = kept).
    """
    imgs = clean.permute(0, 2, 3, 1).numpy()
    xs, ms = [], []
    kinds = mask_kinds if mask_kinds is not None else [DEFAULT_KIND] * len(imgs)
    errors = np.zeros(len(imgs), int) if max_errors is None else np.asarray(max_errors)
    for img, keep, seed, mask_kind, d in zip(imgs, keeps, seeds, kinds, errors, strict=True):
        m = mask(img.shape, float(keep), int(seed), mask_kind)
        if d:
            img = near_lossless(img, m, int(d), rng, maxval)
        xs.append(network_input(kind, img * m[..., None], m, float(d) / maxval))
        ms.append(m)
    x = torch.from_numpy(np.stack(xs)).permute(0, 3, 1, 2).contiguous()
    return x, torch.from_numpy(np.stack(ms)[:, None].astype(np.float32))


def colour_noise(clean: torch.Tensor, amplitude: float, fractions: np.ndarray, rng: np.random.Generator
                 ) -> torch.Tensor:
    """The paper's colour noise: on a share ``fractions[i]`` of the pixels of crop ``i``, add one
    value uniform in ``[-amplitude, amplitude]`` to all channels, then clip to [0, 1].

    >>> x = colour_noise(torch.full((2, 3, 8, 8), 0.5), 1.0, np.array([0.0, 1.0]), np.random.default_rng(0))
    >>> bool((x[0] == 0.5).all()), bool((x[1, 0] == x[1, 2]).all()), bool((x[1] != 0.5).any())
    (True, True, True)
    """
    n, _, h, w = clean.shape
    hit = rng.random((n, 1, h, w)) < np.asarray(fractions).reshape(n, 1, 1, 1)
    noise = rng.uniform(-amplitude, amplitude, (n, 1, h, w)) * hit
    return (clean + torch.from_numpy(noise.astype(np.float32))).clamp(0, 1)


def fixed_crops(images: list[np.ndarray], n: int, side: int, seed: int) -> torch.Tensor:
    """``n`` reproducible crops for validation, spread round-robin over ``images``."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        img = images[i % len(images)]
        y = rng.integers(img.shape[0] - side + 1)
        x = rng.integers(img.shape[1] - side + 1)
        out.append(img[y:y + side, x:x + side])
    return torch.from_numpy(np.stack(out).astype(np.float32) / 255).permute(0, 3, 1, 2).contiguous()
