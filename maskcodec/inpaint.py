"""The decoder's inpainting stage: which inpainter fills a mask-mode file, and the fill itself.

An inpainter is any callable ``f(image, known) -> image`` where ``image`` is a
float32 array ``(H, W, C)`` scaled to [0, 1] (unknown pixels hold anything)
and ``known`` is the boolean mask ``(H, W)``. :func:`fill` pastes the known
pixels back afterwards, so an inpainter only has to be good where ``known`` is
False.

Names: ``"auto"`` (the model the file names, else the shipped model made for
the image's kind, else the classical inpainter measured best for its sample type), the classical inpainters
(:mod:`maskcodec.classical`, numpy and scipy) and the ids of the inpainting
models of the manifest (:mod:`maskcodec.networks`). Nothing heavy is imported
until a fill is asked for.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from .errors import InvalidInputError, ModelError
from .format import Header
from .manifest import DenoiserEntry, InpainterEntry, LatentEntry, Manifest, load

__all__ = ["Inpainter", "AUTO", "CLASSICAL_NAMES", "FALLBACK", "choose", "resolve", "fill"]

Inpainter = Callable[[np.ndarray, np.ndarray], np.ndarray]
AUTO = "auto"
CLASSICAL_NAMES = ("linear", "nconv")  # the keys of maskcodec.classical.CLASSICAL


# The classical inpainter ``auto`` falls back on where no model fits, by sample type: measured with
# ``maskcodec bench-models`` (benchmarks/results/raw16_models: linear beats nconv on 12- and 16-bit frames on
# average at every keep measured, not on every frame).
FALLBACK = {"uint8": "nconv", "uint16": "linear"}


def _classical(name: str) -> Inpainter:
    from .classical import CLASSICAL
    return CLASSICAL[name]


def choose(name: str, header: Header, manifest: Manifest | None = None) -> str:
    """The inpainter that ``name`` stands for when filling the file of ``header``: ``"auto"`` becomes the
    model the file names, else the shipped model made for the image's kind, else the classical inpainter
    that measures best for its sample type (:data:`FALLBACK`). Nothing is loaded; unknown names are refused.

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


def _model(model_id: str, header: Header, manifest: Manifest) -> Inpainter:
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
    from .networks import inpainter
    return inpainter(entry)


def resolve(name: str, header: Header) -> Inpainter:
    """The inpainter that ``name`` stands for when filling the file of ``header`` (see :func:`choose`)."""
    manifest = None if name in CLASSICAL_NAMES else load()  # read once for the choice and the model
    chosen = choose(name, header, manifest)
    return _classical(chosen) if chosen in CLASSICAL_NAMES else _model(chosen, header, manifest)


def fill(header: Header, known: np.ndarray, values: np.ndarray, name: str) -> np.ndarray:
    """The image of ``header``: ``values`` ``(N, C)`` at the ``known`` pixels exactly, the rest inpainted."""
    inpainter = resolve(name, header)
    h, w = header.shape[:2]
    scale = float((1 << header.bits) - 1)
    image = np.zeros((h, w, header.channels), np.float32)
    image[known] = values.astype(np.float32) / scale
    est = inpainter(image, known)
    out = np.clip(np.rint(est * scale), 0, scale).astype(header.dtype)
    out[known] = values
    return out.reshape(header.shape)
