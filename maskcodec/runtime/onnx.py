"""Running the ONNX networks: hash-checked sessions and tiled inference.

onnxruntime is imported here only, and only when a session is opened. Which
models exist, and of which kind, is :mod:`maskcodec.runtime.manifest`'s; what an
inpainting model reads is :mod:`maskcodec.inpainting.models`'.

Networks are fully convolutional; images are run in overlapping tiles blended
with a linear ramp so memory stays bounded and no seams show.
"""
from __future__ import annotations

import contextlib
import os
import sys
from contextvars import ContextVar
from functools import lru_cache
from pathlib import Path
from typing import Iterator

import numpy as np

from ..errors import MissingDependencyError, ModelError
from .manifest import ModelFile, load, sha256_file

__all__ = ["THREADS_ENV", "session", "pad", "run_model", "progress", "progress_shown"]

THREADS_ENV = "MASKCODEC_THREADS"  # onnxruntime intra-op threads per process (unset or 0: all cores)
TILE = 512
OVERLAP = 32
PROGRESS_TILES = 8  # a network run over this many tiles (about 2 MP) shows a progress bar where one was asked for
_progress: ContextVar[bool] = ContextVar("maskcodec_progress", default=False)


def progress_shown() -> bool:
    """Whether a caller asked for progress (inside :func:`progress`)."""
    return _progress.get()


@contextlib.contextmanager
def progress() -> Iterator[None]:
    """Inside the block, a network run over many tiles (a large frame) shows a progress bar on stderr (what the
    command line asks for around a single decode; the library alone prints nothing)."""
    token = _progress.set(True)
    try:
        yield
    finally:
        _progress.reset(token)


@lru_cache(maxsize=16)
def _session(path: str, sha256: str, threads: int):
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
        raise MissingDependencyError("onnxruntime", "running a model (inpainting, latent mode, denoising)") from None
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    opts.intra_op_num_threads = threads
    return ort.InferenceSession(str(p), sess_options=opts, providers=["CPUExecutionProvider"])


def session(f: ModelFile):
    """The onnxruntime session of a model file of the current models folder, hash-checked and cached."""
    threads = int(os.environ.get(THREADS_ENV, "0") or 0)
    return _session(str(load().path(f)), f.sha256, threads)


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
    from tqdm import tqdm
    bar = tqdm(total=len(ys) * len(xs), desc="inpainting", unit="tile", file=sys.stderr, leave=False,
               disable=not _progress.get() or len(ys) * len(xs) < PROGRESS_TILES)
    for y in ys:
        for x0 in xs:
            bar.update()
            t = x[y:y + tile_h, x0:x0 + tile_w]
            th, tw = t.shape[:2]
            t = pad(t, multiple)
            y_hat = sess.run(None, {name: t.transpose(2, 0, 1)[None]})[0][0].transpose(1, 2, 0)
            wt = np.outer(_ramp(th, OVERLAP, y == ys[0], y == ys[-1]),
                          _ramp(tw, OVERLAP, x0 == xs[0], x0 == xs[-1]))[..., None]
            out[y:y + th, x0:x0 + tw] += y_hat[:th, :tw] * wt
            norm[y:y + th, x0:x0 + tw] += wt
    bar.close()
    return out / norm
