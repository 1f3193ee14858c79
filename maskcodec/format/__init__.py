"""The bytes of a maskcodec file, and nothing else (``spec/format.md``).

Two framings share one 36-byte fixed header (:mod:`.header`):

- format 1.0, the single container (:mod:`.container`, magic ``\\x89MCX``):
  header, header CRC32, one payload, payload CRC32; in mask or latent mode;
- format 2.0, the segmented stream (:mod:`.segmented`, sync ``\\x89MCS``):
  self-contained segments for lossy links; mask mode only.

:mod:`.zstd_frame` is the one Zstandard frame a payload is. This package
imports neither the mask, the survivor layout nor any model: the modes
(:mod:`maskcodec.mask_mode`, :mod:`maskcodec.latent_mode`) give the fields
their meaning.
"""
from __future__ import annotations

from . import container, segmented
from .header import Header, LatentFields, Limits

__all__ = ["Header", "LatentFields", "Limits", "framing", "container", "segmented"]


def framing(data) -> str:
    """Which framing ``data`` starts with: ``"segmented"`` (2.0, or a prefix of its sync marker) or
    ``"container"`` (1.0, and anything else, which the container's parser then rejects).

    Examples
    --------
    >>> framing(b"\\x89MCS..."), framing(b"\\x89MCX..."), framing(b"")
    ('segmented', 'container', 'container')
    """
    return "segmented" if segmented.is_segmented(data) else "container"
