"""Trained inpainting models: the manifest, hash checks and ONNX inference.

Models are ONNX files listed in ``models/manifest.json`` (the ``models/``
folder of the project, or the folder named by ``$MASKCODEC_MODELS``). Each
entry says what the network takes (``input``), how many image channels it
fits (``channels``), and its ``sha256``; a model whose file does not hash to
its entry is refused. onnxruntime is imported only here, and only when a model
is used.

Input kinds (the network's input tensor is float32 NCHW on [0, 1]):

- ``"masked"``: the image with unknown pixels set to 0 (the paper's form);
- ``"masked+mask"``: that, plus the mask as one more channel;
- ``"nconv+mask"``: the ``nconv`` inpainting, plus the mask channel;
- ``"linear+mask"``: the ``linear`` inpainting (kept pixels exact), plus the mask channel;
- ``"image"``: the image as it is (denoisers, see :func:`maskcodec.denoise`).

The output is the image estimate, NCHW with ``channels`` channels. Networks
are fully convolutional; images are run in overlapping tiles blended with a
linear ramp so memory stays bounded and no seams show.
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from pathlib import Path

import numpy as np

from .errors import InvalidInputError, ModelError
from .inpaint import Inpainter, linear, nconv

__all__ = ["models_dir", "manifest", "inpainting_entries", "model_entry", "session", "inpainter", "auto_inpainter", "pad", "run_model",
           "network_input"]

INPUT_KINDS = ("masked", "masked+mask", "nconv+mask", "linear+mask", "image")
THREADS_ENV = "MASKCODEC_THREADS"  # onnxruntime intra-op threads per process (unset or 0: all cores)
TILE = 512
OVERLAP = 32


def models_dir() -> Path:
    """Where the ONNX models and ``manifest.json`` are looked for."""
    env = os.environ.get("MASKCODEC_MODELS")
    return Path(env) if env else Path(__file__).resolve().parent.parent / "models"


def manifest() -> dict:
    """The parsed ``models/manifest.json`` (``{"models": [...]}``); empty when absent."""
    path = models_dir() / "manifest.json"
    if not path.exists():
        return {"models": []}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise ModelError(f"{path} is not valid JSON: {e}") from None


def inpainting_entries() -> list[dict]:
    """The manifest entries of inpainting models (not latent models, not denoisers)."""
    return [m for m in manifest()["models"] if m.get("kind") != "latent" and m.get("input") != "image"]


def model_entry(model_id: str) -> dict:
    """The manifest entry of ``model_id``."""
    entries = {m["id"]: m for m in manifest()["models"]}
    if model_id not in entries:
        raise InvalidInputError(f"unknown inpainter or model {model_id!r}; expected 'auto', 'nconv', "
                                f"'linear' or a model id among {sorted(entries)}")
    return entries[model_id]


def sha256_file(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@lru_cache(maxsize=16)
def _session(path: str, sha256: str):
    p = Path(path)
    if not p.exists():
        raise ModelError(f"model file {p} is missing")
    digest = sha256_file(p)
    if digest != sha256:
        raise ModelError(f"model file {p} hashes to {digest[:16]}..., but the manifest expects "
                         f"{sha256[:16]}...: refusing a model that is not the one trained")
    try:
        import onnxruntime as ort
    except ImportError:
        raise ModelError("onnxruntime is needed to decode with a model: pip install onnxruntime") from None
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = int(os.environ.get(THREADS_ENV, "0") or 0)
    return ort.InferenceSession(str(p), sess_options=opts, providers=["CPUExecutionProvider"])


def session(entry: dict):
    """The onnxruntime session of a manifest entry's model file, hash-checked and cached."""
    return _session(str(models_dir() / entry["file"]), entry["sha256"])


def _ramp(n: int, overlap: int, first: bool, last: bool) -> np.ndarray:
    w = np.ones(n, np.float32)
    k = min(overlap, n // 2)
    if k:
        r = (np.arange(k, dtype=np.float32) + 0.5) / k
        if not first:
            w[:k] = r
        if not last:
            w[-k:] = r[::-1]
    return w


def _tiles(size: int, multiple: int) -> tuple[list[int], int]:
    """Evenly spaced tile starts along one axis and the tile length.

    As few tiles of at most :data:`TILE` as cover ``size`` with at least
    :data:`OVERLAP` pixels of overlap, all of one length (a multiple of
    ``multiple`` unless a single tile covers the axis), so little is computed
    twice.

    >>> _tiles(1000, 16)
    ([0, 316, 632], 368)
    >>> _tiles(300, 16)
    ([0], 300)
    """
    if size <= TILE:
        return [0], size
    n = -(-(size - OVERLAP) // (TILE - OVERLAP))
    tile = -(-(size + (n - 1) * OVERLAP) // n)
    tile = min(-(-tile // multiple) * multiple, size)
    return [round(i * (size - tile) / (n - 1)) for i in range(n)], tile


def pad(x: np.ndarray, factor: int) -> np.ndarray:
    """``x`` ``(H, W, C)`` padded at the bottom and right to multiples of ``factor``.

    Reflected (without repeating the border) when both sides are longer than
    the padding they need, else the border values are repeated. Model tiles
    and latent-mode images are padded this way.

    Examples
    --------
    >>> pad(np.arange(6.0).reshape(2, 3, 1), 4)[..., 0]
    array([[0., 1., 2., 2.],
           [3., 4., 5., 5.],
           [3., 4., 5., 5.],
           [3., 4., 5., 5.]])
    >>> p = pad(np.arange(30.0).reshape(5, 6, 1), 4)[..., 0]
    >>> p.shape, p[4:, 0].tolist(), p[0, 4:].tolist()
    ((8, 8), [24.0, 18.0, 12.0, 6.0], [4.0, 5.0, 4.0, 3.0])
    """
    h, w = x.shape[:2]
    ph, pw = (-h) % factor, (-w) % factor
    return np.pad(x, ((0, ph), (0, pw), (0, 0)), mode="reflect" if min(h, w) > max(ph, pw) else "edge")


def run_model(sess, x: np.ndarray, multiple: int, out_channels: int) -> np.ndarray:
    """Run a fully convolutional network on ``x`` ``(H, W, Cin)`` in blended tiles."""
    h, w, _ = x.shape
    out = np.zeros((h, w, out_channels), np.float32)
    norm = np.zeros((h, w, 1), np.float32)
    name = sess.get_inputs()[0].name
    (ys, tile_h), (xs, tile_w) = _tiles(h, multiple), _tiles(w, multiple)
    for y in ys:
        for x0 in xs:
            t = x[y:y + tile_h, x0:x0 + tile_w]
            th, tw = t.shape[:2]
            t = pad(t, multiple)
            y_hat = sess.run(None, {name: t.transpose(2, 0, 1)[None]})[0][0].transpose(1, 2, 0)
            wt = np.outer(_ramp(th, OVERLAP, y == ys[0], y == ys[-1]),
                          _ramp(tw, OVERLAP, x0 == xs[0], x0 == xs[-1]))[..., None]
            out[y:y + th, x0:x0 + tw] += y_hat[:th, :tw] * wt
            norm[y:y + th, x0:x0 + tw] += wt
    return out / norm


def network_input(kind: str, image: np.ndarray, known: np.ndarray) -> np.ndarray:
    """The network input ``(H, W, Cin)`` of an input kind (see the module docstring)."""
    m = known[..., None].astype(np.float32)
    if kind == "masked":
        return image * m
    if kind == "masked+mask":
        return np.concatenate([image * m, m], axis=2)
    if kind == "nconv+mask":
        return np.concatenate([nconv(image, known), m], axis=2)
    if kind == "linear+mask":
        return np.concatenate([linear(image, known), m], axis=2)
    if kind == "image":
        return image
    raise ModelError(f"model input kind {kind!r} is unknown; expected one of {INPUT_KINDS}")


def inpainter(model_id: str, header=None) -> Inpainter:
    """An inpainter that runs the model ``model_id`` (checked against its hash)."""
    entry = model_entry(model_id)
    if entry.get("kind") == "latent":
        raise ModelError(f"model {model_id!r} is a latent-mode model (it decodes latent files, which need no "
                         f"inpainter); expected an inpainting model or 'auto', 'nconv', 'linear'")
    if entry["input"] == "image":
        raise ModelError(f"model {model_id!r} is a denoiser (it reads whole images, not masked ones); "
                         f"use maskcodec.denoise, or an inpainting model for decoding")
    if header is not None and header.channels != entry["channels"]:
        raise ModelError(f"model {model_id!r} inpaints {entry['channels']}-channel images; "
                         f"this file has {header.channels} channels")
    if header is not None and header.model_id and header.model_id == model_id \
            and header.model_sha256 != entry["sha256"]:
        raise ModelError(f"the file asks for model {model_id!r} with sha256 {header.model_sha256[:16]}..., "
                         f"the installed one is {entry['sha256'][:16]}...")
    sess = session(entry)

    def fill(image: np.ndarray, known: np.ndarray) -> np.ndarray:
        x = network_input(entry["input"], image, known)
        return run_model(sess, x, entry.get("multiple", 16), entry["channels"])

    fill.__name__ = model_id
    return fill


def auto_inpainter(header) -> Inpainter | None:
    """The shipped default model for the file's image kind, or None to use ``nconv``.

    A file that names a model (``header.model_id``) gets that model.
    """
    if header.model_id:
        return inpainter(header.model_id, header)
    for entry in manifest()["models"]:
        if header.channels == entry["channels"] and header.dtype in entry.get("default_for", []):
            try:
                return inpainter(entry["id"], header)
            except ModelError:
                if (models_dir() / entry["file"]).exists():
                    raise
                return None  # model files not installed: fall back to the classical inpainter
    return None
