"""The training loop, one for every shipped model, driven by a config dict.

A config is a JSON object; :data:`DEFAULTS` lists every key and its default.
Paths in ``train`` and ``val`` are files or folders relative to the data root
given at run time; files used for validation are never trained on.

A run writes into its run folder:

- ``last.pt`` and ``best.pt`` (best mean validation PSNR over the keeps);
- ``curve.csv`` and ``curve.png``: losses and validation PSNR per epoch
  (epoch 0 is the untrained network; for the residual U-Net, which starts
  as its built-in normalized convolution fill, that row is about the
  ``nconv`` baseline);
- ``summary.json``: what the run did (epochs, steps, minutes, best epoch).
"""
from __future__ import annotations

import csv
import json
import math
import time
from pathlib import Path

import numpy as np
import torch

from .data import Augment, fixed_crops, image_files, load_images, masked_batch, random_crops
from .nets import INPUT_KIND, build, count_parameters

__all__ = ["DEFAULTS", "load_config", "train", "load_net"]

DEFAULTS = {
    "id": None,                   # model id (manifest id, ONNX file name, run folder)
    "description": "",
    "arch": "residual_unet",      # a key of maskcodec.train.nets.ARCHITECTURES
    "widths": [12, 24, 48, 96],
    "net_options": {},            # constructor options of the network, e.g. {"init": "kaiming"}
    "channels": 3,
    "default_for": [],            # dtypes this model is the "auto" inpainter for
    "train": ["mars_rgb/train"],
    "val": ["mars_rgb/val"],
    "crop": 128,
    "batch": 32,
    "crops_per_epoch": 5000,      # fresh random crops every epoch
    "epochs": 20,
    "time_limit_min": 30.0,       # training stops after this, whatever the epoch count
    "lr": 1e-3,
    "lr_final": 5e-5,             # cosine decay over the run (by steps or time, whichever is further)
    "keep": [0.01, 0.5],          # keep fractions, drawn log-uniformly
    "loss_on": "unknown",         # "unknown" (the pixels the decoder fills) or "all" (the paper)
    "augment": {"rotate_deg": 10.0, "shear_deg": 5.0, "shift_px": 8, "hflip": True, "p_affine": 0.5},
    "val_crops": 48,
    "val_keeps": [0.5, 0.1, 0.02],
    "eval_keeps": [0.5, 0.1, 0.02],  # full-image decodes measured for the manifest
    "seed": 0,
    "threads": 2,
}


def load_config(path: str | Path) -> dict:
    """A config file merged over :data:`DEFAULTS` (unknown keys are an error)."""
    cfg = json.loads(Path(path).read_text())
    unknown = set(cfg) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"{path}: unknown config keys {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    if not cfg.get("id"):
        raise ValueError(f"{path}: the config needs an 'id'")
    return {**DEFAULTS, **cfg, "augment": {**DEFAULTS["augment"], **cfg.get("augment", {})}}


def _loss(y: torch.Tensor, target: torch.Tensor, known: torch.Tensor, on: str) -> torch.Tensor:
    if on == "all":
        return torch.mean((y - target) ** 2)
    w = 1.0 - known
    return torch.sum((y - target) ** 2 * w) / (torch.sum(w) * y.shape[1]).clamp_min(1.0)


def _validate(net, sets, on: str) -> tuple[float, list[float]]:
    """Mean loss over the validation sets and the mean crop PSNR of each (known pixels pasted)."""
    net.eval()
    losses, psnrs = [], []
    with torch.no_grad():
        for clean, x, known in sets:
            y = net(x)
            losses.append(float(_loss(y, clean, known, on)))
            out = torch.where(known > 0, clean, y.clamp(0, 1))
            mse = torch.mean((out - clean) ** 2, dim=(1, 2, 3)).clamp_min(1e-10)
            psnrs.append(float(torch.mean(-10 * torch.log10(mse))))
    net.train()
    return float(np.mean(losses)), psnrs


def _save_curve(rows: list[dict], run_dir: Path, keeps: list[float], title: str) -> None:
    with open(run_dir / "curve.csv", "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ep = [r["epoch"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    a.semilogy(ep, [r["train_loss"] for r in rows], "o-", label="train")
    a.semilogy(ep, [r["val_loss"] for r in rows], "o-", label="validation")
    a.set_xlabel("epoch"), a.set_ylabel("MSE loss"), a.legend(), a.grid(alpha=0.3)
    for k in keeps:
        b.plot(ep, [r[f"val_psnr_keep{k}"] for r in rows], "o-", label=f"keep {k}")
    b.set_xlabel("epoch"), b.set_ylabel("validation PSNR (dB)"), b.legend(), b.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(run_dir / "curve.png", dpi=90)
    plt.close(fig)


def load_net(checkpoint: str | Path) -> tuple[torch.nn.Module, dict]:
    """The network saved in a checkpoint, in eval mode, and its config."""
    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = ck["config"]
    net = build(cfg["arch"], cfg["channels"], cfg["widths"], **cfg.get("net_options", {}))
    net.load_state_dict(ck["state_dict"])
    return net.eval(), cfg


def train(cfg: dict, data_root: str | Path, run_dir: str | Path, progress: bool = True) -> dict:
    """Train the model a config describes; return the run summary.

    Parameters
    ----------
    cfg : dict
        A config as :func:`load_config` returns it.
    data_root : str or Path
        Folder the config's ``train`` and ``val`` entries are relative to.
    run_dir : str or Path
        Where checkpoints, curves and the summary go (created).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    dict
        ``summary.json``'s content.
    """
    from tqdm import tqdm

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    kind = INPUT_KIND[cfg["arch"]]
    val_files = image_files(data_root, cfg["val"])
    train_files = image_files(data_root, cfg["train"], exclude=val_files)
    train_images = load_images(train_files, cfg["channels"])
    val_clean = fixed_crops(load_images(val_files, cfg["channels"]), cfg["val_crops"], cfg["crop"], cfg["seed"])
    seeds = np.arange(len(val_clean)) + 1
    val_sets = [(val_clean, *masked_batch(val_clean, kind, np.full(len(val_clean), k), seeds))
                for k in cfg["val_keeps"]]

    net = build(cfg["arch"], cfg["channels"], cfg["widths"], **cfg["net_options"])
    aug = Augment(cfg["crop"], **cfg["augment"])
    opt = torch.optim.Adam(net.parameters(), lr=cfg["lr"])
    steps_per_epoch = math.ceil(cfg["crops_per_epoch"] / cfg["batch"])
    total_steps, limit_s = cfg["epochs"] * steps_per_epoch, cfg["time_limit_min"] * 60
    lo, hi = np.log(cfg["keep"][0]), np.log(cfg["keep"][1])
    rows, best, step, t0 = [], -math.inf, 0, time.monotonic()
    bar = tqdm(total=total_steps, desc=cfg["id"], disable=not progress, unit="batch")
    for epoch in range(0, cfg["epochs"] + 1):
        losses = []
        for _ in range(steps_per_epoch if epoch else 0):  # epoch 0: the untrained network
            done = max(step / total_steps, (time.monotonic() - t0) / limit_s)
            if done >= 1:
                break
            lr = cfg["lr_final"] + 0.5 * (cfg["lr"] - cfg["lr_final"]) * (1 + math.cos(math.pi * done))
            for g in opt.param_groups:
                g["lr"] = lr
            clean = aug(random_crops(train_images, cfg["batch"], aug.source, rng), rng)
            keeps = np.exp(rng.uniform(lo, hi, cfg["batch"]))
            x, known = masked_batch(clean, kind, keeps, rng.integers(2 ** 32, size=cfg["batch"]))
            loss = _loss(net(x), clean, known, cfg["loss_on"])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
            step += 1
            bar.update()
            bar.set_postfix(epoch=epoch, loss=f"{losses[-1]:.2e}", lr=f"{lr:.1e}")
        if epoch and not losses:
            break
        val_loss, psnrs = _validate(net, val_sets, cfg["loss_on"])
        rows.append({"epoch": epoch, "step": step, "minutes": round((time.monotonic() - t0) / 60, 2),
                     "lr": opt.param_groups[0]["lr"], "train_loss": float(np.mean(losses)) if losses else math.nan, "val_loss": val_loss,
                     **{f"val_psnr_keep{k}": p for k, p in zip(cfg["val_keeps"], psnrs)}})
        bar.write(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in rows[-1].items()))
        ck = {"state_dict": net.state_dict(), "config": cfg, "epoch": epoch, "step": step, "val": rows[-1]}
        torch.save(ck, run_dir / "last.pt")
        if np.mean(psnrs) > best:
            best = float(np.mean(psnrs))
            torch.save(ck, run_dir / "best.pt")
        _save_curve(rows, run_dir, cfg["val_keeps"], f"{cfg['id']} ({count_parameters(net)} parameters)")
    bar.close()
    best_row = max(rows, key=lambda r: np.mean([r[f"val_psnr_keep{k}"] for k in cfg["val_keeps"]]))
    summary = {"epochs": rows[-1]["epoch"], "steps": step, "minutes": round((time.monotonic() - t0) / 60, 1),
               "crops_seen": step * cfg["batch"], "best_epoch": best_row["epoch"], "best_val": best_row,
               "train_files": [str(f) for f in train_files], "val_files": [str(f) for f in val_files]}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
