"""``maskcodec train CONFIG``: train, export, check, measure and ship one model.

This module imports no torch until a run starts, so the main ``maskcodec``
command can build its parser from :func:`configure_parser` on machines
without the training extras.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import shutil
from pathlib import Path

from ...runtime.manifest import ENV, models_dir, using
from ...optional import require
from .config import read_json

__all__ = ["configure_parser", "run_cli"]

PARITY_TOLERANCE = 1e-4


def configure_parser(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add the ``train`` arguments to ``p`` and return it."""
    p.description = ("Train an inpainting or latent model from a config (needs the train extra and PyTorch's CPU "
                     "build: docs/training.md), export it to ONNX and list it in the models folder's manifest.json. "
                     "Example: maskcodec train models/configs/default.json --data ../shared/data --models my-models "
                     "--minutes 30")
    p.add_argument("config", help="model config JSON, e.g. models/configs/default.json; a config with a "
                                  "'cut_from' key (models/configs/paper-gt-cae-latent.json) cuts a latent model "
                                  "from a shipped autoencoder instead of training one")
    p.add_argument("--data", default="../shared/data",
                   help="data root the config's train/val entries are relative to (default: %(default)s)")
    p.add_argument("--runs", default="runs", help="where run folders go (default: %(default)s)")
    p.add_argument("--models", default=None,
                   help="models folder to export into and list in its manifest.json, created if need be "
                        "(default: $MASKCODEC_MODELS, else ./models: the project's models/ when run in a checkout; "
                        "an installed maskcodec's own models are never written)")
    p.add_argument("--minutes", type=float, default=None, help="override the config's time_limit_min")
    p.add_argument("--export-only", action="store_true",
                   help="skip training; export the run's best.pt (after an interrupted run, for instance)")
    p.add_argument("--resume", action="store_true",
                   help="continue the run from its last.pt (weights, optimizer, step, elapsed time) after it "
                        "stopped; give a larger --minutes to train longer than the first sitting")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    return p


def run_cli(args: argparse.Namespace) -> int:
    """Run ``maskcodec train`` with parsed ``args``; returns the exit status."""
    with using(args.models or os.environ.get(ENV) or "models"):  # decode() then finds the model this run writes
        if "cut_from" in read_json(args.config, "model config"):
            return _cut(args)
        return _train(args)


def _train(args: argparse.Namespace) -> int:
    require("torch", "maskcodec train")
    from .loop import load_config, load_net, train
    from .nets import count_parameters

    cfg = load_config(args.config)
    if args.minutes is not None:
        cfg["time_limit_min"] = args.minutes
    run_dir = Path(args.runs) / cfg["id"]
    if args.export_only:
        summary = json.loads((run_dir / "summary.json").read_text())
    else:
        start = _earlier_stage(Path(args.config), cfg, args) if cfg["continue_from"] and not args.resume else None
        summary = train(cfg, args.data, run_dir, progress=not args.quiet, start=start, resume=args.resume)
    net, _ = load_net(run_dir / "best.pt")
    out_dir = models_dir()
    out_dir.mkdir(parents=True, exist_ok=True)
    common = {
        "description": cfg["description"],
        "architecture": f"{type(net).__name__} widths {list(cfg['widths'])}: {type(net).__doc__.splitlines()[0]}",
        "parameters": count_parameters(net),
        "training": cfg,
        "run": {k: summary[k] for k in ("epochs", "steps", "minutes", "crops_seen", "best_epoch", "chain",
                                        "total_steps")},
        "data": {"root": str(args.data), "train": cfg["train"], "val": cfg["val"],
                 "train_files": len(summary["train_files"]), "val_files": len(summary["val_files"])},
    }
    val_files = [Path(f) for f in summary["val_files"]]
    if cfg["arch"] == "latent_cae":
        entry = _ship_latent(net, cfg, common, out_dir, val_files, [Path(f) for f in summary["train_files"]])
    else:
        entry = _ship_network(net, cfg, common, out_dir, val_files)
    if entry is None:
        return 1

    curves = out_dir / "curves"
    curves.mkdir(exist_ok=True)
    for ext in ("csv", "png"):
        shutil.copyfile(run_dir / f"curve.{ext}", curves / f"{cfg['id']}.{ext}")
    print(json.dumps({k: entry.get(k) for k in ("id", "parameters", "run", "metrics", "decode_megapixels_per_s")},
                     indent=2))
    return 0


def _earlier_stage(config: Path, cfg: dict, args: argparse.Namespace) -> Path:
    """The run folder of the stage ``cfg`` continues from, trained first (not exported) if it has no ``best.pt``.

    Stages chain: an earlier stage may continue from one before it.
    """
    from .loop import load_config, train

    earlier_path = config.parent / cfg["continue_from"]
    earlier = load_config(earlier_path)
    run_dir = Path(args.runs) / earlier["id"]
    if (run_dir / "best.pt").exists() and (run_dir / "summary.json").exists():
        print(f"{cfg['id']}: continuing from the finished run {run_dir}")
        return run_dir
    print(f"{cfg['id']}: training the earlier stage {earlier_path} first")
    start = _earlier_stage(earlier_path, earlier, args) if earlier["continue_from"] else None
    train(earlier, args.data, run_dir, progress=not args.quiet, start=start)
    return run_dir


def _cut(args: argparse.Namespace) -> int:
    """Make the latent model a cut config describes (no training, no torch): see ``latent_export.cut_from_config``."""
    from .latent_export import cut_from_config, load_cut_config

    entry = cut_from_config(load_cut_config(args.config), models_dir())
    print(json.dumps({k: entry[k] for k in ("id", "source_model", "source", "latent_channels", "sha256")}, indent=2))
    return 0


def _ship_network(net, cfg: dict, common: dict, out_dir: Path, val_files: list[Path]) -> dict | None:
    """Export an inpainter or denoiser as one ONNX file, list it, and measure it on ``val_files``."""
    from ...io.images import read_image
    from ...inpainting.models import takes_tolerance
    from .evaluate import decode_metrics, decode_speed, denoise_metrics, near_lossless_metrics
    from .export import INPUT_NAMES, OUTPUT_NAMES, export_onnx, parity, update_manifest
    from .loop import input_kind

    onnx_file = f"{cfg['id']}.onnx"
    export_onnx(net, out_dir / onnx_file)
    diff = parity(net, out_dir / onnx_file)
    if not _parity_ok(diff):
        return None
    c, m, kind = cfg["channels"], net.multiple, input_kind(cfg)
    entry = {
        "id": cfg["id"], "file": onnx_file, "sha256": "", "input": kind, "channels": c, "multiple": m,
        "default_for": cfg["default_for"], **common,
        "input_names": INPUT_NAMES, "output_names": OUTPUT_NAMES,
        "layout": (f"{INPUT_NAMES[0]}: float32 NCHW (1, {net.in_channels}, H, W) on [0, 1], input kind "
                   f"{kind!r}; H and W multiples of {m}. {OUTPUT_NAMES[0]}: float32 NCHW (1, {c}, H, W), "
                   f"the image estimate on [0, 1]"),
        "onnx_parity_max_abs_diff": diff,
    }
    update_manifest(out_dir, entry)  # listed first, so that decode() can use it for the metrics
    if kind == "image":
        entry["metrics"] = {"psnr_db": denoise_metrics(cfg["id"], val_files, cfg["eval_keeps"]),
                            "on": f"{len(val_files)} full validation images with colour noise on that share "
                                  f"of pixels, cleaned by maskcodec.denoise", "noise_seeds": "1000 + file index"}
    else:
        entry["metrics"] = {"psnr_db": decode_metrics(cfg["id"], val_files, cfg["eval_keeps"]),
                            "on": f"{len(val_files)} full validation images, decoded by maskcodec.decode",
                            "mask_seeds": "1000 + file index"}
        near = [d for d in cfg["val_max_errors"] if d]
        if takes_tolerance(kind) and near:
            entry["metrics"]["near_lossless_psnr_db"] = near_lossless_metrics(
                cfg["id"], val_files, cfg["eval_keeps"], near, base=cfg["init_from"])
            entry["metrics"]["near_lossless_on"] = (
                "the same images encoded with max_error d (8-bit units) and mask seed 1000 + file index, kept values "
                "pasted as decoded; the model told d / 255, "
                + (f"{cfg['init_from']!r} (the model it started from) not told, " if cfg["init_from"] else "")
                + "linear for reference")
        big = _about_a_megapixel(read_image(val_files[0]))
        entry["decode_megapixels_per_s"] = round(decode_speed(cfg["id"], big), 2)
        entry["decode_speed_on"] = (f"{big.shape[1]}x{big.shape[0]} image, keep 0.1, onnxruntime CPU, "
                                    f"{os.cpu_count()} cores")
    return update_manifest(out_dir, entry)


def _ship_latent(net, cfg: dict, common: dict, out_dir: Path, val_files: list[Path],
                 train_files: list[Path]) -> dict | None:
    """Export a latent model's encoder and decoder halves with context tables (coder 3) fitted to its latents
    on every third training image, list them, and measure latent mode on ``val_files`` (per camera folder)."""
    from .evaluate import latent_metrics, training_latents
    from .export import update_manifest
    from .latent_export import context_tables, export_halves

    tables = context_tables(training_latents(net.encoder, train_files, cfg["channels"], net.multiple))
    entry = export_halves(net.encoder, net.decoder, out_dir, cfg["id"], channels=cfg["channels"],
                          latent_channels=net.latent_channels, factor=net.multiple, quantization="integer",
                          tables=tables, **common)
    if not _parity_ok(entry["onnx_parity_max_abs_diff"]):
        return None
    update_manifest(out_dir, entry)  # listed, so that encode(mode="latent") finds it for the metrics
    entry["metrics"] = {**latent_metrics(cfg["id"], val_files),
                        "on": f"{len(val_files)} full validation images, maskcodec.encode(mode='latent') "
                              f"then maskcodec.decode"}
    return update_manifest(out_dir, entry)


def _parity_ok(diff: float) -> bool:
    """Whether torch and onnxruntime agree closely enough to ship (says why not)."""
    if diff > PARITY_TOLERANCE:
        print(f"torch and onnxruntime differ by {diff:.2e} (> {PARITY_TOLERANCE}): not shipping")
    return diff <= PARITY_TOLERANCE


def _about_a_megapixel(img):
    """``img`` tiled to about one megapixel (for speed measurements)."""
    import numpy as np
    reps = math.ceil(math.sqrt(1e6 / (img.shape[0] * img.shape[1])))
    return np.tile(img, (reps, reps) + (1,) * (img.ndim - 2))
