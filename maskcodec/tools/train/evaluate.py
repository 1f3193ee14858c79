"""Measure a shipped model through the real codec path: encode, then decode.

Every number here comes from ``maskcodec.decode(maskcodec.encode(image, keep,
seed=...), inpainter=...)``, so tiling, quantisation and the pasting of kept
pixels are all included, and the model is compared with the classical
inpainters on exactly the same kept pixels.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from ...codec import decode, encode
from ...io.images import read_image
from ...metrics import bits_per_pixel, psnr
from ..modelbench import SEED, measure

__all__ = ["decode_metrics", "near_lossless_fill", "near_lossless_metrics", "denoise_metrics", "latent_metrics", "decode_speed"]

BASELINES = ("linear", "nconv")


def decode_metrics(model_id: str, files: list[Path], keeps: list[float], seed: int = SEED) -> dict:
    """Mean PSNR (dB) over ``files`` of the model and the classical inpainters at each keep.

    File ``i`` is encoded with mask seed ``seed + i`` (as ``maskcodec bench-models`` does, so the
    numbers agree) and decoded by :func:`maskcodec.tools.modelbench.measure`.

    Returns
    -------
    dict
        ``{"keep0.1": {"model": ..., "linear": ..., "nconv": ...}, ...}``.
    """
    images = [read_image(f) for f in files]
    rows = {"model": model_id, **{name: name for name in BASELINES}}
    out = {}
    for keep in keeps:
        scores = [measure(img, keep, seed + i, rows)[0] for i, img in enumerate(images)]
        out[f"keep{keep}"] = {label: round(float(np.mean([s[label]["psnr"] for s in scores])), 3) for label in rows}
    return out


def near_lossless_fill(image: np.ndarray, data: bytes, inpainters: dict[str, object]) -> dict[str, np.ndarray]:
    """The images that ``inpainters`` (label -> ``"linear"``, ``"nconv"`` or a model id) make of the mask-mode
    file ``data`` of ``image``, each filled as :func:`maskcodec.inpainting.fill` fills (kept values as decoded
    pasted back), a model told the file's tolerance (``max_error / (2**bits - 1)``;
    :func:`maskcodec.inpainting.models.inpainter`).

    What the decoder will do once it passes the tolerance on; until then it runs models with tolerance 0.
    """
    from ...codec import survivors
    from ...inpainting.classical import CLASSICAL
    from ...inpainting.models import inpainter
    from ...runtime.manifest import load

    header, known, values = survivors(data)
    scale = float((1 << header.bits) - 1)
    h, w = header.shape[:2]
    filled = np.zeros((h, w, header.channels), np.float32)
    filled[known] = values.astype(np.float32) / scale
    manifest = load()
    out = {}
    for label, name in inpainters.items():
        f = CLASSICAL[name] if name in CLASSICAL else inpainter(manifest.get(name), header.max_error / scale)
        y = np.clip(np.rint(f(filled, known) * scale), 0, scale).astype(header.dtype)
        y[known] = values
        out[label] = y.reshape(header.shape)
    return out


def near_lossless_metrics(model_id: str, files: list[Path], keeps: list[float], max_errors: list[int],
                          base: str | None = None, seed: int = SEED) -> dict:
    """Mean PSNR (dB) over ``files`` of the model, the model it started from (``base``, told nothing) and
    ``linear`` on near-lossless files: file ``i`` encoded with mask seed ``seed + i`` and each ``max_error``,
    filled by :func:`near_lossless_fill`.

    Returns
    -------
    dict
        ``{"d4": {"keep0.2": {"model": ..., base: ..., "linear": ...}, ...}, ...}``.
    """
    images = [read_image(f) for f in files]
    rows = {"model": model_id, **({base: base} if base else {}), "linear": "linear"}
    out = {}
    for d in max_errors:
        for keep in keeps:
            scores = {label: [] for label in rows}
            for i, img in enumerate(images):
                outs = near_lossless_fill(img, encode(img, keep, seed=seed + i, max_error=d), rows)
                for label, y in outs.items():
                    scores[label].append(psnr(img, y))
            out.setdefault(f"d{d}", {})[f"keep{keep}"] = {k: round(float(np.mean(v)), 3) for k, v in scores.items()}
    return out


def denoise_metrics(model_id: str, files: list[Path], shares: list[float], seed: int = SEED) -> dict:
    """Mean PSNR (dB) over ``files`` of the noisy and the denoised image at each noise share.

    Colour noise as in training (amplitude 1) hits a share of the pixels of
    file ``i``, drawn with seed ``seed + i``; the model runs through
    :func:`maskcodec.denoise`.

    Returns
    -------
    dict
        ``{"noise0.5": {"noisy": ..., "denoised": ...}, ...}``.
    """
    import torch

    from ...inpainting.denoise import denoise
    from .data import colour_noise
    images = [read_image(f) for f in files]
    out = {}
    for share in shares:
        scores = {"noisy": [], "denoised": []}
        for i, img in enumerate(images):
            clean = torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1)[None]
            noisy = colour_noise(clean, 1.0, np.array([share]), np.random.default_rng(seed + i))
            noisy = np.rint(noisy[0].permute(1, 2, 0).numpy() * 255).astype(np.uint8)
            scores["noisy"].append(psnr(img, noisy))
            scores["denoised"].append(psnr(img, denoise(noisy, model_id)))
        out[f"noise{share}"] = {k: round(float(np.mean(v)), 3) for k, v in scores.items()}
    return out


def latent_metrics(model_id: str, files: list[Path]) -> dict:
    """Mean bits per pixel and PSNR (dB) of latent mode with ``model_id`` over ``files``, and per folder
    of files (one camera's val frames).

    Returns
    -------
    dict
        ``{"bpp": ..., "psnr_db": ..., "per_folder": {folder: {"bpp", "psnr_db", "files"}}}``, means over the
        files (``per_folder`` keys are the folders relative to their grandparent, e.g. ``mars_rgb/val``).
    """
    rows = []
    for f in files:
        img = read_image(f)
        data = encode(img, mode="latent", model=model_id)
        rows.append((f"{Path(f).parent.parent.name}/{Path(f).parent.name}", bits_per_pixel(len(data), img.shape),
                     psnr(img, decode(data))))

    def means(sel: list) -> dict:
        return {"bpp": round(float(np.mean([r[1] for r in sel])), 4),
                "psnr_db": round(float(np.mean([r[2] for r in sel])), 3)}

    folders = sorted({r[0] for r in rows})
    return {**means(rows), "per_folder": {d: {**means([r for r in rows if r[0] == d]),
                                              "files": sum(r[0] == d for r in rows)} for d in folders}}


def training_latents(encoder, files: list[Path], channels: int, factor: int, every: int = 3) -> list[np.ndarray]:
    """The rounded integer latents ``(K, h, w)`` a torch ``encoder`` gives every ``every``-th of ``files``
    (whole images, padded to ``factor``): what the context tables are fitted to."""
    import torch

    from ...runtime.onnx import pad
    from ...entropy.rans import INT16
    from .data import load_images

    out = []
    with torch.no_grad():
        for img in load_images(files[::every], channels):
            img = img.astype(np.float32) / 255
            x = torch.from_numpy(np.ascontiguousarray(pad(img, factor).transpose(2, 0, 1)[None]))
            out.append(torch.round(encoder.eval()(x))[0].clamp(*INT16).to(torch.int64).numpy())
    return out


def decode_speed(model_id: str, image: np.ndarray, keep: float = 0.1, repeats: int = 3) -> float:
    """Decode throughput in megapixels per second (best of ``repeats``, after a warm-up)."""
    data = encode(image, keep, seed=1)
    decode(data, inpainter=model_id)
    best = min(_timed(lambda: decode(data, inpainter=model_id)) for _ in range(repeats))
    return image.shape[0] * image.shape[1] / best / 1e6


def _timed(f) -> float:
    t = time.perf_counter()
    f()
    return time.perf_counter() - t
