"""Entropy coding of latents: one rANS core (:mod:`.rans`) and the coders that pick each symbol's table.

:data:`CODERS` is the registry of range coders, by the name the latent block's
``coder`` byte stands for (spec section 12.2): each has the metadata key its
tables travel under in a model's ONNX files, the tables' class, and its
``encode``, ``decode`` and ``bits`` (ideal code lengths, for the rate map).
A new coder is a module beside :mod:`.context` and one line here.
"""
from __future__ import annotations

from types import ModuleType

from . import context

__all__ = ["CODERS"]

# coder name -> module: NAME, ID (the latent block's coder byte), METADATA_KEY, TABLES, encode, decode, bits
CODERS: dict[str, ModuleType] = {m.NAME: m for m in (context,)}
