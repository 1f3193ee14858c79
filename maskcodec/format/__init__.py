"""The bytes of a maskcodec file, and nothing else (``spec/format.md``).

Three framings share one 36-byte fixed header (3.0 inside its description block) (:mod:`.header`):

- format 1.0, the single container (:mod:`.container`, magic ``\\x89MCX``):
  header, header CRC32, one payload, payload CRC32; in mask or latent mode;
- format 3.0, the lean segmented stream (:mod:`.lean_segments`, sync ``\\x89MCL``):
  self-contained segments for lossy links, written as the rows arrive; mask mode only;
- format 2.0, the segmented stream it replaced (:mod:`.segmented`, sync ``\\x89MCS``), read only.

:mod:`.zstd_frame` is the one Zstandard frame a payload is. This package
imports neither the mask, the survivor layout nor any model: the modes
(:mod:`maskcodec.mask_mode`, :mod:`maskcodec.latent_mode`) give the fields
their meaning.
"""
from __future__ import annotations

from . import container, lean_segments, segmented
from .header import Header, LatentFields, Limits

__all__ = ["Header", "LatentFields", "Limits", "SYNCS", "MAGICS", "framing", "container", "lean_segments", "segmented"]

SYNCS = (lean_segments.SYNC, segmented.SYNC)  # the segmented streams' markers, 3.0 and 2.0
MAGICS = (container.MAGIC,) + SYNCS         # the first four bytes of every maskcodec file or stream


def framing(data) -> str:
    """Which framing ``data`` starts with: ``"segmented"`` (3.0 or 2.0, or a prefix of a sync marker) or
    ``"container"`` (1.0, and anything else, which the container's parser then rejects).

    Examples
    --------
    >>> framing(b"\\x89MCL..."), framing(b"\\x89MCS..."), framing(b"\\x89MCX..."), framing(b"")
    ('segmented', 'segmented', 'container', 'container')
    """
    return "segmented" if segmented.is_segmented(data) or lean_segments.is_lean(data) else "container"
