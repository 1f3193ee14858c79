"""Training the inpainting models (needs the ``train`` extras: torch, onnx, matplotlib).

``python -m maskcodec.tools.train models/configs/default.json`` trains a model,
exports it to ONNX, checks it against torch, measures it through the codec
and lists it in ``models/manifest.json``. Importing this package does not
import torch; its submodules (``data``, ``nets``, ``loop``, ``export``,
``evaluate``) do.
"""
from __future__ import annotations

from .cli import configure_parser, run_cli

__all__ = ["configure_parser", "run_cli"]
