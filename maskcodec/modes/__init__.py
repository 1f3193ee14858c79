"""The modes: what a file's fields and payload mean (spec sections 5-7, 11 and 12).

:data:`MODES` is the registry, by mode name (the fixed header's ``mode`` byte names it:
:data:`maskcodec.framing.fixed.MODES`); each mode is
a module with the same small contract:

- ``NAME``: its name (``"mask"``, ``"latent"``);
- ``encode(image, opts) -> bytes``: the file of a checked image under resolved options;
- ``describe(frame, limits) -> Header``: the header of a parsed single container, its mode fields checked;
- ``contents(header, payload) -> bytes``: what the payload codes (the bytes a conformance test compares);
- ``check(header, payload)``: every check of the payload that needs no model (``maskcodec info``);
- ``decode(header, payload, inpainter, estimate, fill) -> (image, DecodeReport)``: the image; a mode that
  inpaints hands its kept pixels to ``fill`` (the inpainting stage, which lies above the modes).

A new mode is a module with that contract and one line here.
"""
from __future__ import annotations

from . import latent, mask

__all__ = ["MODES"]

MODES = {m.NAME: m for m in (mask, latent)}
