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

__all__ = ["CODERS", "CODER_IDS", "coder"]

CODERS: dict[str, ModuleType] = {"context": context}  # coder name -> module (METADATA_KEY, tables, encode, decode, bits)
CODER_IDS = {"context": 3}                             # coder name -> the latent block's coder byte


def coder(name: str) -> ModuleType:
    """The range coder called ``name``."""
    return CODERS[name]
