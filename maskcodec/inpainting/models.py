"""The inpainting models: ONNX networks that fill an image from its kept pixels.

Input kinds of an inpainting model (the network's input tensor is float32 NCHW on [0, 1]):

- ``"masked"``: the image with unknown pixels set to 0 (the paper's form);
- ``"masked+mask"``: that, plus the mask as one more channel;
- ``"nconv+mask"``: the ``nconv`` inpainting, plus the mask channel;
- ``"linear+mask"``: the ``linear`` inpainting (kept pixels exact), plus the mask channel.

The output is the image estimate, NCHW; :mod:`maskcodec.runtime.onnx` runs it in tiles.
"""
from __future__ import annotations

import numpy as np

from ..errors import ModelError
from ..runtime.manifest import InpainterEntry
from ..runtime.onnx import run_model, session

__all__ = ["INPUT_KINDS", "network_input", "inpainter"]

INPUT_KINDS = ("masked", "masked+mask", "nconv+mask", "linear+mask")


def network_input(kind: str, image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The network input ``(H, W, Cin)`` of an input kind (see the module docstring)."""
    m = known[..., None].astype(np.float32)
    if kind == "masked":
        return image * m
    if kind == "masked+mask":
        return np.concatenate([image * m, m], axis=2)
    if kind in ("nconv+mask", "linear+mask"):
        from .classical import CLASSICAL  # scipy, only for the models that start from a classical fill
        return np.concatenate([CLASSICAL[kind.split("+")[0]](image, known), m], axis=2)
    raise ModelError(f"model input kind {kind!r} is unknown; expected one of {INPUT_KINDS}")


def inpainter(entry: InpainterEntry):
    """An inpainter ``f(image, known)`` that runs the model of ``entry`` (hash-checked)."""
    sess = session(entry.onnx)

    def fill(image: np.ndarray, known: np.ndarray) -> np.ndarray:
        return run_model(sess, network_input(entry.input, image, known), entry.multiple, entry.channels)

    fill.__name__ = entry.id
    return fill
