"""The decoder's inpainting stage: which inpainter fills a mask-mode file, and the fill itself.

An inpainter is any callable ``f(image, known) -> image`` where ``image`` is a
float32 array ``(H, W, C)`` scaled to [0, 1] (unknown pixels hold anything)
and ``known`` is the boolean mask ``(H, W)``. :func:`fill` pastes the known
pixels back afterwards, so an inpainter only has to be good where ``known`` is
False.

Names: ``"auto"`` (the best on the file's held-back survivors of the model
the file names, else the shipped model made for the image's kind, and
``linear`` and ``predictor``; see :mod:`.trial`; where no model fits, the classical
inpainter measured best for the sample type), the classical inpainters
(the registry :data:`maskcodec.inpainting.classical.CLASSICAL`, numpy and scipy)
and the ids of the inpainting models of the manifest (:mod:`.models`). A new
classical inpainter is a function and one line in that registry. Nothing heavy
(scipy, onnxruntime) is imported until a fill is asked for.
"""
from __future__ import annotations

import sys
from typing import Callable

import numpy as np

from ..errors import InvalidInputError, ModelError
from ..records import DecodeReport, MaskHeader
from ..runtime.manifest import DenoiserEntry, InpainterEntry, LatentEntry, Manifest, load
from ..runtime.onnx import progress_shown
from . import trial
from .classical import AT_POINTS, CLASSICAL

__all__ = ["Inpainter", "AUTO", "AUTO_CLASSICAL", "CLASSICAL_NAMES", "FALLBACK", "choose", "candidates", "fill"]

Inpainter = Callable[[np.ndarray, np.ndarray], np.ndarray]
AUTO = "auto"
CLASSICAL_NAMES = tuple(CLASSICAL)  # the classical inpainters, by name


# The classical inpainter ``auto`` falls back on where no model fits, by sample type: measured with
# ``maskcodec bench-models`` (benchmarks/results/raw16_models: linear beats nconv on 12- and 16-bit frames on
# average at every keep measured, not on every frame).
FALLBACK = {"uint8": "nconv", "uint16": "linear"}
# The classical inpainters ``auto`` tries beside a model: ``linear``, and the predictor fill, whose trial costs
# nothing (it is the trial's reference) and whose fill is the fastest (docs/ground.md)
AUTO_CLASSICAL = ("linear", "predictor")
LONG_FILL_PIXELS = 8_000_000  # a classical fill of this many pixels takes seconds: said before it starts


def _at_points(names) -> dict:
    """The point-query forms (:data:`.classical.AT_POINTS`) of the classical inpainters among ``names``."""
    return {n: AT_POINTS[n] for n in names if n in AT_POINTS}


def choose(name: str, header: MaskHeader, manifest: Manifest | None = None) -> str:
    """The inpainter that ``name`` stands for before the held-back trial: ``"auto"`` becomes the model the
    file names, else the shipped model made for the image's kind, else the classical inpainter that measures
    best for its sample type (:data:`FALLBACK`); :func:`fill` then tries a model against :data:`AUTO_CLASSICAL`.
    Nothing is loaded; unknown names are refused.

    Raises
    ------
    InvalidInputError
        ``name`` is neither ``"auto"``, a classical inpainter nor an installed model.
    ModelError
        The model that ``auto`` picks (the file's, or the shipped default) is not installed.
    """
    if not isinstance(name, str):
        raise InvalidInputError(f"inpainter must be a name (str), got {type(name).__name__}")
    if name in CLASSICAL_NAMES:
        return name
    manifest = manifest or load()
    manifest.require()
    if name != AUTO:
        if name not in manifest.entries:
            raise InvalidInputError(f"unknown inpainter or model {name!r}; expected {AUTO!r}, "
                                    f"{', '.join(map(repr, CLASSICAL_NAMES))} or an inpainting model among "
                                    f"{sorted(manifest.of_kind(InpainterEntry)) or '(none installed)'}")
        return name
    if header.model_id:
        if header.model_id not in manifest.entries:
            raise ModelError(f"the file asks to be inpainted by model {header.model_id!r}, which is not installed "
                             f"in {manifest.folder}; install the maskcodec that wrote it (the wheel carries its "
                             f"models) or point $MASKCODEC_MODELS at a folder that has it, or choose a classical "
                             f"inpainter (inpainter='linear', --inpainter linear)")
        return header.model_id
    for entry in manifest.of_kind(InpainterEntry).values():
        if header.channels == entry.channels and header.dtype in entry.default_for:
            if not manifest.path(entry.onnx).exists():
                raise ModelError(f"the default model {entry.id!r} for {header.dtype} {header.channels}-channel "
                                 f"images is listed in {manifest.folder / 'manifest.json'} but its file "
                                 f"{entry.onnx.file} is missing: reinstall maskcodec (the wheel carries the models) "
                                 f"or choose a classical inpainter (inpainter='linear', --inpainter linear)")
            return entry.id
    return FALLBACK[header.dtype]


def _model(model_id: str, header: MaskHeader, manifest: Manifest) -> Inpainter:
    """The inpainter of the installed model ``model_id``, checked against the file it is to fill."""
    entry = manifest.entries[model_id]
    if isinstance(entry, LatentEntry):
        raise ModelError(f"model {model_id!r} is a latent-mode model (it decodes latent files, which need no "
                         f"inpainter); expected an inpainting model or 'auto', 'nconv', 'linear'")
    if isinstance(entry, DenoiserEntry):
        raise ModelError(f"model {model_id!r} is a denoiser (it reads whole images, not masked ones); "
                         f"use maskcodec.denoise, or an inpainting model for decoding")
    if header.channels != entry.channels:
        raise ModelError(f"model {model_id!r} inpaints {entry.channels}-channel images; "
                         f"this file has {header.channels} channel{'s' if header.channels != 1 else ''}")
    if header.model_id == model_id and header.model_sha256 != entry.onnx.sha256:
        raise ModelError(f"the file asks for model {model_id!r} with sha256 {header.model_sha256[:16]}..., "
                         f"the installed one is {entry.onnx.sha256[:16]}...")
    from .models import inpainter  # onnxruntime, only when a model fills
    return inpainter(entry, tolerance=header.max_error / ((1 << header.bits) - 1))  # a d-aware model reads it


def candidates(name: str, header: MaskHeader) -> dict[str, Inpainter]:
    """The inpainters a fill tries, loaded, in order of preference: for ``"auto"`` the model :func:`choose`
    names, then :data:`AUTO_CLASSICAL`; for ``"auto"`` where no model fits, and for any other name, that one alone.

    ``nconv`` is not a candidate beside a model, and where no model fits the classical inpainter measured
    best for the sample type (:data:`FALLBACK`) is kept: see docs/masks.md on ``auto`` for the
    measurements behind both choices and what they rest on.
    """
    manifest = None if name in CLASSICAL_NAMES else load()  # read once for the choice and the model
    chosen = choose(name, header, manifest)
    names = [chosen] + (list(AUTO_CLASSICAL) if name == AUTO and chosen not in CLASSICAL_NAMES else [])
    return {n: CLASSICAL[n] if n in CLASSICAL_NAMES else _model(n, header, manifest) for n in names}


def fill(header: MaskHeader, known: np.ndarray, values: np.ndarray, name: str, estimate: bool = False
         ) -> tuple[np.ndarray, DecodeReport]:
    """The image of ``header`` (``values`` ``(N, C)`` at the ``known`` pixels exactly, the rest inpainted)
    and what filled it.

    ``"auto"`` fills with the candidate (:func:`candidates`) of smallest error on the held-back survivors
    (:func:`.trial.trial`; the first candidate when too few can be held back); a named inpainter
    is tried only when ``estimate`` asks for its estimated PSNR.
    """
    tried = candidates(name, header)
    h, w = header.shape[:2]
    scale = float((1 << header.bits) - 1)
    image = np.zeros((h, w, header.channels), np.float32)
    image[known] = values.astype(np.float32) / scale
    report = DecodeReport(next(iter(tried)))
    if len(tried) > 1 or estimate:
        estimates, interval, count = trial.trial(header, image, known, tried, _at_points(tried))
        best = max(estimates, key=estimates.get) if estimates else report.inpainter  # ties: the first
        report = DecodeReport(best, estimates.get(best), estimates, count, interval_db=interval)
    if report.inpainter in CLASSICAL and h * w >= LONG_FILL_PIXELS and progress_shown():  # no finer progress
        print(f"maskcodec: filling {h * w / 1e6:.1f} megapixels with {report.inpainter} (one step, no progress bar; "
              f"about a second per megapixel)", file=sys.stderr)
    est = tried[report.inpainter](image, known)
    out = np.clip(np.rint(est * scale), 0, scale).astype(header.dtype)
    out[known] = values
    return out.reshape(header.shape), report
