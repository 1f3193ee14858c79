"""The inpainting models: ONNX networks that fill an image from its kept pixels.

Input kinds of an inpainting model (the network's input tensor is float32 NCHW on [0, 1]):

- ``"masked"``: the image with unknown pixels set to 0 (the paper's form);
- ``"masked+mask"``: that, plus the mask as one more channel;
- ``"nconv+mask"``: the ``nconv`` inpainting, plus the mask channel;
- ``"linear+mask"``: the ``linear`` inpainting (kept pixels exact), plus the mask channel;
- ``"masked+mask+d"``, ``"linear+mask+d"``: ``"masked+mask"`` or ``"linear+mask"`` plus one more
  channel, the tolerance: a constant plane ``max_error / (2**bits - 1)`` (the file's ``max_error``
  on the [0, 1] scale; 0 for a file whose kept values are exact). A near-lossless file's kept
  values are each within ``max_error`` of the original; a model of these kinds was trained on such
  values and is told how far they may be off.

The output is the image estimate, NCHW; :mod:`maskcodec.runtime.onnx` runs it in tiles.
"""
from __future__ import annotations

import numpy as np

from ..errors import InvalidInputError, ModelError
from ..runtime.manifest import InpainterEntry
from ..runtime.onnx import run_model, session

__all__ = ["INPUT_KINDS", "TOLERANCE_SUFFIX", "takes_tolerance", "network_input", "inpainter"]

TOLERANCE_SUFFIX = "+d"  # an input kind ending so reads the tolerance plane as its last channel
INPUT_KINDS = ("masked", "masked+mask", "nconv+mask", "linear+mask", "masked+mask+d", "linear+mask+d")


def takes_tolerance(kind: str) -> bool:
    """Whether a model of input kind ``kind`` reads the tolerance (``max_error`` on the [0, 1] scale).

    >>> takes_tolerance("masked+mask+d"), takes_tolerance("masked+mask")
    (True, False)
    """
    return kind.endswith(TOLERANCE_SUFFIX)


def network_input(kind: str, image: np.ndarray, known: np.ndarray, tolerance: float = 0.0) -> np.ndarray:
    """The network input ``(H, W, Cin)`` of an input kind (see the module docstring).

    ``tolerance`` (``max_error / (2**bits - 1)``, the kept values' largest error on the [0, 1]
    scale) fills the last channel of the ``+d`` kinds; the other kinds ignore it.
    """
    if kind not in INPUT_KINDS:
        raise ModelError(f"model input kind {kind!r} is unknown; expected one of {INPUT_KINDS}")
    if takes_tolerance(kind):
        tolerance = _checked(tolerance)
        base = network_input(kind.removesuffix(TOLERANCE_SUFFIX), image, known)
        return np.concatenate([base, np.full(base.shape[:2] + (1,), tolerance, base.dtype)], axis=2)
    m = known[..., None].astype(np.float32)
    if kind == "masked":
        return image * m
    if kind == "masked+mask":
        return np.concatenate([image * m, m], axis=2)
    from .classical import CLASSICAL  # scipy, only for the models that start from a classical fill
    return np.concatenate([CLASSICAL[kind.split("+")[0]](image, known), m], axis=2)


def _checked(tolerance: float) -> float:
    """``tolerance`` as a float on [0, 1]; anything else is an InvalidInputError."""
    try:
        t = float(tolerance)
    except (TypeError, ValueError):
        t = float("nan")
    if not 0.0 <= t <= 1.0:
        raise InvalidInputError(f"tolerance must be on [0, 1] (max_error / (2**bits - 1)), got {tolerance!r}")
    return t


def inpainter(entry: InpainterEntry, tolerance: float = 0.0):
    """An inpainter ``f(image, known)`` that runs the model of ``entry`` (hash-checked).

    ``tolerance`` is the file's ``max_error / (2**bits - 1)``: a model whose input kind ends in
    ``+d`` (:func:`takes_tolerance`) is told it; other models ignore it.
    """
    sess = session(entry.onnx)
    tolerance = _checked(tolerance)

    def fill(image: np.ndarray, known: np.ndarray) -> np.ndarray:
        return run_model(sess, network_input(entry.input, image, known, tolerance), entry.multiple, entry.channels)

    fill.__name__ = entry.id
    return fill
