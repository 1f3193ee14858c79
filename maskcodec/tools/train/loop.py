"""The training loop, one for every shipped model, driven by a config dict.

A config is a JSON object; :data:`DEFAULTS` lists every key and its default.
Paths in ``train`` and ``val`` are files or folders relative to the data root
given at run time; files used for validation are never trained on.

A run writes into its run folder:

- ``last.pt`` and ``best.pt`` (best mean validation PSNR over the keeps;
  for latent models, lowest validation rate-distortion loss);
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

from ...errors import InvalidInputError, ModelError
from ...masks import KIND_IDS
from ...survivors.predictive import max_error_limit
from .config import read_json
from .data import Augment, colour_noise, fixed_crops, image_files, load_images, masked_batch, random_crops

MAXVAL = 255  # the training images' largest sample (8-bit)
from .nets import build, count_parameters
from .nets import input_kind as net_input_kind

__all__ = ["DEFAULTS", "CORRUPTIONS", "load_config", "input_kind", "max_errors", "corrupt", "init_from_model",
           "shipped_chain", "load_weights", "train", "load_net"]

CORRUPTIONS = ("mask", "colour_noise", "none")
ENTROPY_LR_FACTOR = 10.0  # latent models: the rate model's parameters learn this much faster than the networks

DEFAULTS = {
    "id": None,                   # model id (manifest id, ONNX file name, run folder)
    "description": "",
    "arch": "residual_unet",      # a key of maskcodec.tools.train.nets.ARCHITECTURES
    "widths": [12, 24, 48, 96],
    "net_options": {},            # constructor options of the network, e.g. {"init": "kaiming"}
    "init_from": None,            # id of a shipped model (same arch) whose ONNX weights start the run
    "continue_from": None,        # an earlier stage's config file (same folder): its run's best.pt starts this one
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
    "clip_grad_norm": None,       # clip the gradient to this norm before each step (None: no clipping)
    "corruption": "mask",         # "mask" (codec masks), "colour_noise" (the paper's noise variant) or "none"
    "keep": [0.01, 0.5],          # keep fractions, drawn log-uniformly ([1, 1]: no masking at all)
    "mask_kinds": {"bluenoise": 1.0},  # mask kind -> share of the training crops; validation uses the first
    "noise": {"amplitude": 1.0, "fraction": [0.1, 1.0]},  # colour_noise: +-amplitude on that share of pixels
    "rate_lambda": None,          # latent models: loss = MSE + bits per pixel / (rate_lambda * 255**2)
    "rate_warmup": 0.2,           # latent models: the rate term's weight ramps from 0 to 1 over this share of the run
    "loss_on": "unknown",         # "unknown" (the pixels the decoder fills) or "all" (the paper)
    "max_error": None,            # [lo, hi]: kept values as near-lossless files decode them, max_error drawn per crop
                                  # uniformly in lo..hi (8-bit units, scaled to the image's bits); None: exact
    "max_error_zero_share": 0.0,  # share of the crops with exact kept values (max_error 0) when max_error is given
    "val_max_errors": [0],        # validation: every val keep at each of these max_errors (8-bit units)
    "augment": {"rotate_deg": 10.0, "shear_deg": 5.0, "shift_px": 8, "hflip": True, "p_affine": 0.5},
    "val_crops": 48,
    "val_keeps": [0.5, 0.1, 0.02],
    "eval_keeps": [0.5, 0.1, 0.02],  # full-image decodes measured for the manifest
    "seed": 0,
    "threads": 2,
}


def load_config(path: str | Path) -> dict:
    """A config file merged over :data:`DEFAULTS` (unknown keys are an error)."""
    cfg = read_json(path, "model config")
    unknown = set(cfg) - set(DEFAULTS)
    if unknown:
        raise InvalidInputError(f"{path}: unknown config keys {sorted(unknown)}; known: {sorted(DEFAULTS)}")
    if not cfg.get("id"):
        raise InvalidInputError(f"{path}: the config needs an 'id'")
    if cfg.get("corruption", "mask") not in CORRUPTIONS:
        raise InvalidInputError(f"{path}: unknown corruption {cfg['corruption']!r}; expected one of {CORRUPTIONS}")
    kinds = cfg.get("mask_kinds", DEFAULTS["mask_kinds"])
    if (not isinstance(kinds, dict) or not kinds or any(k not in KIND_IDS for k in kinds)
            or any(not isinstance(v, (int, float)) or v <= 0 for v in kinds.values())):
        raise InvalidInputError(f"{path}: 'mask_kinds' must map mask kinds ({', '.join(KIND_IDS)}) to positive "
                                f"shares, got {kinds!r}")
    lim = max_error_limit(8)
    if cfg.get("max_error") is not None and not (
            isinstance(cfg["max_error"], list) and len(cfg["max_error"]) == 2
            and all(isinstance(d, int) and not isinstance(d, bool) for d in cfg["max_error"])
            and 0 <= cfg["max_error"][0] <= cfg["max_error"][1] <= lim):
        raise InvalidInputError(f"{path}: 'max_error' must be null or [lo, hi], integers with 0 <= lo <= hi <= {lim} "
                                f"(8-bit units), got {cfg['max_error']!r}")
    share = cfg.get("max_error_zero_share", 0.0)
    if not isinstance(share, (int, float)) or not 0 <= share <= 1:
        raise InvalidInputError(f"{path}: 'max_error_zero_share' must be a share in [0, 1], got {share!r}")
    vals = cfg.get("val_max_errors", [0])
    if (not isinstance(vals, list) or not vals
            or any(not isinstance(d, int) or isinstance(d, bool) or not 0 <= d <= lim for d in vals)):
        raise InvalidInputError(f"{path}: 'val_max_errors' must be a list of integers in 0..{lim}, got {vals!r}")
    if cfg.get("init_from") and cfg.get("continue_from"):
        raise InvalidInputError(f"{path}: give 'init_from' (a shipped model) or 'continue_from' (an earlier "
                                f"stage's config), not both")
    return {**DEFAULTS, **cfg, "augment": {**DEFAULTS["augment"], **cfg.get("augment", {})},
            "noise": {**DEFAULTS["noise"], **cfg.get("noise", {})}}


def input_kind(cfg: dict) -> str:
    """The network input kind (:data:`maskcodec.runtime.onnx.INPUT_KINDS`, or ``"image"`` for a denoiser) a config trains for."""
    return "image" if cfg["corruption"] == "colour_noise" else net_input_kind(cfg["arch"], cfg["net_options"])


def max_errors(cfg: dict, n: int, rng: np.random.Generator, maxval: int = MAXVAL) -> np.ndarray | None:
    """The ``max_error`` (sample units of ``maxval``) of ``n`` training crops: with the config's ``max_error``
    ``[lo, hi]`` (8-bit units, scaled by ``maxval / 255``), uniform integers in that range, a share
    ``max_error_zero_share`` of them 0; None (exact kept values, nothing drawn) without it."""
    if cfg["max_error"] is None:
        return None
    lo, hi = cfg["max_error"]
    d = rng.integers(lo, hi + 1, n)
    d[rng.random(n) < cfg["max_error_zero_share"]] = 0
    return np.rint(d * (maxval / 255)).astype(np.int64)


def corrupt(cfg: dict, clean: torch.Tensor, rng: np.random.Generator, keeps: np.ndarray | None = None,
            seeds: np.ndarray | None = None, max_error: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Network input and known-pixel mask for clean crops, as the config's corruption makes them.

    Codec masks use ``keeps`` and ``seeds`` (and the first of the config's
    mask kinds) when given (validation), else random ones, of kinds drawn by
    the config's ``mask_kinds`` shares. Kept values are moved as a
    near-lossless file decodes them (:func:`maskcodec.tools.train.data.near_lossless`)
    by ``max_error`` (8-bit units) when given (validation), else by the
    config's ``max_error`` draws (:func:`max_errors`; exact without one).
    Colour noise hits a share ``keeps`` of the pixels when given,
    else a random share in the config's range. Colour noise and ``"none"``
    (the clean crops themselves) have no known pixels (the mask is all 0).
    """
    n = clean.shape[0]
    if cfg["corruption"] == "none":
        return clean, torch.zeros(n, 1, *clean.shape[2:])
    if cfg["corruption"] == "colour_noise":
        share = keeps if keeps is not None else rng.uniform(*cfg["noise"]["fraction"], n)
        noisy = colour_noise(clean, cfg["noise"]["amplitude"], share, rng)
        return noisy, torch.zeros(n, 1, *clean.shape[2:])
    names = list(cfg["mask_kinds"])
    validating = keeps is not None
    if keeps is None:
        lo, hi = np.log(cfg["keep"][0]), np.log(cfg["keep"][1])
        keeps, seeds = np.exp(rng.uniform(lo, hi, n)), rng.integers(2 ** 32, size=n)
        if len(names) == 1:
            kinds = names * n
        else:
            shares = np.array(list(cfg["mask_kinds"].values()), float)
            kinds = [names[i] for i in rng.choice(len(names), size=n, p=shares / shares.sum())]
    else:
        kinds = names[:1] * n
    if validating:
        errors = np.full(n, max_error) if max_error else None
    else:
        errors = max_errors(cfg, n, rng)
    return masked_batch(clean, input_kind(cfg), keeps, seeds, kinds, errors, rng, MAXVAL)


def init_from_model(net: torch.nn.Module, model_id: str) -> None:
    """Load the weights of the shipped ONNX model ``model_id`` into ``net`` (same architecture).

    A latent model's weights come from its two halves; its Laplace rate model
    is read back from the range-coder tables the halves carry (per channel the
    mode as mean, the scale from the mode's probability). A 1-channel latent
    network may start from a 3-channel model: the first convolution's weights
    are summed over the colours (so a gray image gives the latent the colour
    model gives that image in gray) and the last one's averaged (its output is
    the mean of the colour model's three).
    """
    import onnx
    from onnx import numpy_helper

    from ...runtime.manifest import LatentEntry, load
    manifest = load()
    entry = manifest.get(model_id)

    def initializers(file: str, prefix: str = "") -> dict:
        graph = onnx.load(str(manifest.path(file))).graph
        return {prefix + t.name: torch.from_numpy(numpy_helper.to_array(t).copy()) for t in graph.initializer}

    if isinstance(entry, LatentEntry):
        k = entry.latent_channels  # a latent model's halves carry no rate model: it starts afresh
        weights = {**initializers(entry.encoder, "encoder."), **initializers(entry.decoder, "decoder."),
                   "mean": torch.zeros(k), "log_scale": torch.zeros(k)}
    else:
        weights = initializers(entry.onnx)
    load_weights(net, weights, f"model {model_id!r}")


def shipped_chain(model_id: str) -> list[dict]:
    """The stages (``run.chain`` of its manifest entry) that made the shipped model ``model_id``; a run that
    starts from its weights (``init_from``) continues them."""
    from ...runtime.manifest import load
    run = load().get(model_id).raw.get("run", {})
    if "chain" in run:
        return list(run["chain"])
    return [{"id": model_id, **{k: run[k] for k in ("steps", "minutes", "crops_seen") if k in run}}] if run else []


def load_weights(net: torch.nn.Module, weights: dict, source: str) -> None:
    """Load a state dict into ``net``; a 3-channel latent model's weights into a 1-channel one are fitted
    (see :func:`init_from_model`), and the weights of a :class:`~.nets.ResidualUNet` without the tolerance
    plane into one with it get zero weights for the plane (the network then computes what it did)."""
    state = net.state_dict()
    stem = "stem.0.weight"
    if (getattr(net, "tolerance", False) and stem in weights
            and weights[stem].shape[1] == state[stem].shape[1] - 1):  # a network without the tolerance plane
        w = weights[stem]
        weights = {**weights, stem: torch.cat([w, torch.zeros_like(w[:, :1])], dim=1)}
    first, last = _end_convolutions(net) if hasattr(net, "latent_channels") else ("", "")
    if first in weights and weights[first].shape[1] != state[first].shape[1]:
        weights = {**weights, first: weights[first].sum(dim=1, keepdim=True),
                   last + ".weight": weights[last + ".weight"].mean(dim=1, keepdim=True),
                   last + ".bias": weights[last + ".bias"].mean().reshape(1)}
    missing = [k for k in state if k not in weights or weights[k].shape != state[k].shape]
    if missing:
        raise ModelError(f"{source} does not fit this network: no matching weights for {missing[:4]}")
    net.load_state_dict({k: weights[k] for k in state})


def _end_convolutions(net: torch.nn.Module) -> tuple[str, str]:
    """The state-dict names of a latent network's first convolution weight and last (transposed) convolution."""
    convs = [n for n, m in net.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.ConvTranspose2d))]
    return convs[0] + ".weight", convs[-1]


def _loss(out, target: torch.Tensor, known: torch.Tensor, cfg: dict, rate_weight: float = 1.0) -> torch.Tensor:
    """The training loss of a network output: MSE, plus the rate term for latent models.

    Latent models return ``(image, bits per pixel)`` while training; the rate
    term is scaled by ``rate_weight`` (the warm-up).
    """
    if isinstance(out, tuple):
        y, bpp = out
        return _distortion(y, target, known, cfg["loss_on"]) + rate_weight * _rate_term(bpp, cfg)
    return _distortion(out, target, known, cfg["loss_on"])


def _rate_term(bpp, cfg: dict):
    """The rate's share of the loss: bits per pixel / (rate_lambda * 255**2)."""
    return bpp / (cfg["rate_lambda"] * 255 ** 2)


def _distortion(y: torch.Tensor, target: torch.Tensor, known: torch.Tensor, on: str) -> torch.Tensor:
    if on == "all":
        return torch.mean((y - target) ** 2)
    w = 1.0 - known
    return torch.sum((y - target) ** 2 * w) / (torch.sum(w) * y.shape[1]).clamp_min(1.0)


def _validate(net, sets, cfg: dict) -> tuple[float, list[float], float | None]:
    """Mean loss over the validation sets, the mean crop PSNR of each (kept pixels pasted as the network
    input has them: exact, or as a near-lossless file decodes them) and, for
    latent models, the bits per pixel of the rounded latents (the loss then includes the rate term)."""
    net.eval()
    losses, psnrs, rates = [], [], []
    with torch.no_grad():
        for clean, x, known in sets:
            y, z = net.code(x) if cfg["rate_lambda"] else (net(x), None)
            loss = _distortion(y, clean, known, cfg["loss_on"])
            if z is not None:
                rates.append(float(net.bits(z)) / (x.shape[0] * x.shape[2] * x.shape[3]))
                loss = loss + _rate_term(rates[-1], cfg)
            losses.append(float(loss))
            out = torch.where(known > 0, x[:, :clean.shape[1]], y.clamp(0, 1))  # kept values as decoded
            mse = torch.mean((out - clean) ** 2, dim=(1, 2, 3)).clamp_min(1e-10)
            psnrs.append(float(torch.mean(-10 * torch.log10(mse))))
    net.train()
    return float(np.mean(losses)), psnrs, float(np.mean(rates)) if rates else None


def _score(row: dict, cfg: dict) -> float:
    """How good a validation row is (higher is better): the mean PSNR over the keeps, or for latent
    models minus the rate-distortion loss."""
    if cfg["rate_lambda"]:
        return -row["val_loss"]
    return float(np.mean([row[c] for c in _psnr_columns(cfg)]))


def _psnr_column(cfg: dict, k: float, d: int = 0) -> str:
    """Curve column of the validation PSNR at keep (or noise share) ``k`` and ``max_error`` ``d``."""
    return f"val_psnr_{'noise' if cfg['corruption'] == 'colour_noise' else 'keep'}{k}" + (f"_d{d}" if d else "")


def _val_points(cfg: dict) -> list[tuple[float, int]]:
    """The (keep, max_error) of each validation set, in curve order."""
    errors = cfg["val_max_errors"] if cfg["corruption"] == "mask" else [0]
    return [(k, d) for d in errors for k in cfg["val_keeps"]]


def _psnr_columns(cfg: dict) -> list[str]:
    return [_psnr_column(cfg, k, d) for k, d in _val_points(cfg)]


def _save_curve(rows: list[dict], run_dir: Path, columns: list[str], title: str) -> None:
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
    a.set_xlabel("epoch"), a.set_ylabel("loss (MSE, plus the rate term for latent models)"), a.legend(), a.grid(alpha=0.3)
    for c in columns:
        b.plot(ep, [r[c] for r in rows], "o-", label=c.removeprefix("val_psnr_"))
    b.set_xlabel("epoch"), b.set_ylabel("validation PSNR (dB)"), b.legend(), b.grid(alpha=0.3)
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(run_dir / "curve.png", dpi=90)
    plt.close(fig)


RESUMABLE = ("time_limit_min", "epochs")  # what may change between the sittings of one run


def _resumable(run_dir: Path, cfg: dict) -> dict:
    """The ``last.pt`` a run resumes from, checked against the config it resumes with."""
    path = run_dir / "last.pt"
    if not path.exists():
        raise InvalidInputError(f"cannot resume {cfg['id']!r}: {path} does not exist (start the run without --resume)")
    ck = torch.load(path, map_location="cpu", weights_only=False)
    if "optimizer" not in ck:
        raise InvalidInputError(f"cannot resume from {path}: it holds no optimizer state (an older run)")
    changed = sorted(k for k in cfg if k not in RESUMABLE and ck["config"].get(k) != cfg[k])
    if changed:
        raise InvalidInputError(f"cannot resume {cfg['id']!r}: the config differs from the run's in {changed}; "
                                f"only {list(RESUMABLE)} may change between sittings")
    return ck


def load_net(checkpoint: str | Path) -> tuple[torch.nn.Module, dict]:
    """The network saved in a checkpoint, in eval mode, and its config."""
    ck = torch.load(checkpoint, map_location="cpu", weights_only=False)
    cfg = ck["config"]
    net = build(cfg["arch"], cfg["channels"], cfg["widths"], **cfg.get("net_options", {}))
    net.load_state_dict(ck["state_dict"])
    return net.eval(), cfg


def train(cfg: dict, data_root: str | Path, run_dir: str | Path, progress: bool = True,
          start: str | Path | None = None, resume: bool = False) -> dict:
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
    start : str or Path, optional
        The earlier stage's run folder (``continue_from``): the run starts
        from its ``best.pt`` and its summary's ``chain`` is continued.
    resume : bool
        Continue the run in ``run_dir`` from its ``last.pt`` (weights,
        optimizer, step, elapsed minutes, random states, validation rows), as
        if it had not stopped: a run may take several sittings. The config may
        differ from the one the run started with only in ``time_limit_min`` and
        ``epochs`` (a longer budget).

    Returns
    -------
    dict
        ``summary.json``'s content; ``chain`` lists every stage that made the
        weights (id, steps, minutes, crops seen), ``total_steps`` their sum.
    """
    from tqdm import tqdm

    run_dir = Path(run_dir)
    run_dir.mkdir(parents=True, exist_ok=True)
    torch.set_num_threads(cfg["threads"])
    torch.manual_seed(cfg["seed"])
    rng = np.random.default_rng(cfg["seed"])
    val_files = image_files(data_root, cfg["val"])
    train_files = image_files(data_root, cfg["train"], exclude=val_files)
    train_images = load_images(train_files, cfg["channels"])
    val_clean = fixed_crops(load_images(val_files, cfg["channels"]), cfg["val_crops"], cfg["crop"], cfg["seed"])
    seeds = np.arange(len(val_clean)) + 1
    val_sets = [(val_clean, *corrupt(cfg, val_clean, np.random.default_rng(cfg["seed"] + i + 100 * j),
                                     np.full(len(val_clean), k), seeds, d))
                for j, d in enumerate(cfg["val_max_errors"] if cfg["corruption"] == "mask" else [0])
                for i, k in enumerate(cfg["val_keeps"])]

    net = build(cfg["arch"], cfg["channels"], cfg["widths"], **cfg["net_options"])
    chain = []
    if cfg["init_from"]:
        init_from_model(net, cfg["init_from"])
        chain = shipped_chain(cfg["init_from"])
    if start is not None:
        load_weights(net, torch.load(Path(start) / "best.pt", map_location="cpu", weights_only=False)["state_dict"],
                     f"the run {start}")
        chain = json.loads((Path(start) / "summary.json").read_text())["chain"]
    aug = Augment(cfg["crop"], **cfg["augment"])
    rate_params = net.entropy_parameters() if cfg["rate_lambda"] else []
    rate_ids = {id(p) for p in rate_params}
    opt = torch.optim.Adam([{"params": [p for p in net.parameters() if id(p) not in rate_ids], "lr_factor": 1.0},
                            {"params": rate_params, "lr_factor": ENTROPY_LR_FACTOR}], lr=cfg["lr"])
    steps_per_epoch = math.ceil(cfg["crops_per_epoch"] / cfg["batch"])
    total_steps, limit_s = cfg["epochs"] * steps_per_epoch, cfg["time_limit_min"] * 60
    rows, best, step, t0, sittings, first_epoch = [], -math.inf, 0, time.monotonic(), [], 0
    if resume:
        ck = _resumable(run_dir, cfg)
        net.load_state_dict(ck["state_dict"])
        opt.load_state_dict(ck["optimizer"])
        rows, best, step, chain = ck["rows"], ck["best"], ck["step"], ck["chain"]
        sittings = ck["sittings"] + [step]  # the steps at which earlier sittings stopped
        t0 -= ck["seconds"]
        rng.bit_generator.state = ck["rng"]
        torch.set_rng_state(ck["torch_rng"])
        first_epoch = ck["epoch"] + 1
    bar = tqdm(total=total_steps, initial=step, desc=cfg["id"], disable=not progress, unit="batch")
    for epoch in range(first_epoch, cfg["epochs"] + 1):
        losses = []
        for _ in range(steps_per_epoch if epoch else 0):  # epoch 0: the untrained network
            done = max(step / total_steps, (time.monotonic() - t0) / limit_s)
            if done >= 1:
                break
            lr = cfg["lr_final"] + 0.5 * (cfg["lr"] - cfg["lr_final"]) * (1 + math.cos(math.pi * done))
            for g in opt.param_groups:
                g["lr"] = lr * g["lr_factor"]
            clean = aug(random_crops(train_images, cfg["batch"], aug.source, rng), rng)
            x, known = corrupt(cfg, clean, rng)
            loss = _loss(net(x), clean, known, cfg, min(1.0, done / cfg["rate_warmup"]) if cfg["rate_warmup"] else 1.0)
            opt.zero_grad()
            loss.backward()
            if cfg["clip_grad_norm"]:
                torch.nn.utils.clip_grad_norm_(net.parameters(), cfg["clip_grad_norm"])
            opt.step()
            losses.append(loss.item())
            step += 1
            bar.update()
            bar.set_postfix(epoch=epoch, loss=f"{losses[-1]:.2e}", lr=f"{lr:.1e}")
        if epoch and not losses:
            break
        val_loss, psnrs, val_bpp = _validate(net, val_sets, cfg)
        rows.append({"epoch": epoch, "step": step, "minutes": round((time.monotonic() - t0) / 60, 2),
                     "lr": opt.param_groups[0]["lr"], "train_loss": float(np.mean(losses)) if losses else math.nan, "val_loss": val_loss,
                     **dict(zip(_psnr_columns(cfg), psnrs)),
                     **({"val_bpp": val_bpp} if val_bpp is not None else {})})
        bar.write(", ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in rows[-1].items()))
        ck = {"state_dict": net.state_dict(), "config": cfg, "epoch": epoch, "step": step, "val": rows[-1]}
        score = _score(rows[-1], cfg)
        torch.save({**ck, "optimizer": opt.state_dict(), "rows": rows, "best": max(best, score), "chain": chain,
                    "seconds": time.monotonic() - t0, "rng": rng.bit_generator.state,
                    "torch_rng": torch.get_rng_state(), "sittings": sittings}, run_dir / "last.pt")
        if score > best:
            best = score
            torch.save(ck, run_dir / "best.pt")
        _save_curve(rows, run_dir, _psnr_columns(cfg), f"{cfg['id']} ({count_parameters(net)} parameters)")
    bar.close()
    best_row = max(rows, key=lambda r: _score(r, cfg))
    minutes = round((time.monotonic() - t0) / 60, 1)
    chain = chain + [{"id": cfg["id"], "steps": step, "minutes": minutes, "crops_seen": step * cfg["batch"],
                      "mask_kinds": cfg["mask_kinds"], "train": cfg["train"],
                      **({"max_error": cfg["max_error"], "max_error_zero_share": cfg["max_error_zero_share"]}
                         if cfg["max_error"] is not None else {}),
                      "sittings_end_steps": sittings + [step]}]
    summary = {"epochs": rows[-1]["epoch"], "steps": step, "minutes": minutes,
               "crops_seen": step * cfg["batch"], "best_epoch": best_row["epoch"], "best_val": best_row,
               "chain": chain, "total_steps": sum(c["steps"] for c in chain),
               "train_files": [str(f) for f in train_files], "val_files": [str(f) for f in val_files]}
    (run_dir / "summary.json").write_text(json.dumps(summary, indent=2))
    return summary
