"""Small real planetary crops shipped inside the package (credits in sample_images/CREDITS.md)."""
from __future__ import annotations

from importlib import resources

import numpy as np

from ..errors import InvalidInputError

__all__ = ["SAMPLES", "sample_image", "sample_path"]

SAMPLES = {
    "mastcam": "mastcam.png",            # MSL Mastcam colour, 251x317 RGB, 8-bit
    "mastcam_pano": "mastcam_pano.png",  # MSL Mastcam panorama tile, 128x160 RGB, 8-bit
    "navcam": "navcam.png",              # MSL Navcam (AI4Mars), 241x255 gray, 8-bit
    "navcam12": "navcam12.png",          # MSL Navcam RAD, 189x227 gray, 12 bits in uint16
}


def sample_path(name: str):
    """Path of a bundled sample image."""
    if name not in SAMPLES:
        raise InvalidInputError(f"unknown sample {name!r}; expected one of {sorted(SAMPLES)}")
    return resources.files(__package__).joinpath("sample_images", SAMPLES[name])


def sample_image(name: str) -> np.ndarray:
    """A bundled real sample image as an array.

    Examples
    --------
    >>> sample_image("navcam12").dtype
    dtype('uint16')
    """
    from .images import read_image
    with resources.as_file(sample_path(name)) as p:
        return read_image(p)
