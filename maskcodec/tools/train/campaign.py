"""Resumable training campaign of the variable-rate hyperprior model (issue 27), with periodic evaluation.

``python -m maskcodec.tools.train.campaign --config models/configs/latent-hp.json --data ../shared/data
--run /work/runs/latent-hp`` trains :class:`maskcodec.tools.train.hyperprior.HyperpriorVR` until
``max_steps`` (or SIGTERM / SIGINT), and running the same command again resumes from ``RUN/last.pt``:

- ``last.pt`` (weights, Adam state, step, active and CPU minutes, RNG states, sittings) is written
  atomically every ``checkpoint_minutes`` and at exit; pausing with ``kill -STOP`` / ``-CONT`` is safe
  (a step that took longer than ``pause_cap_s`` counts as ``pause_cap_s`` of active time).
- every ``eval_every`` steps, or after ``eval_minutes`` active minutes without one (the shared CPUs make
  the step time vary 5-fold), and at step 0, each validation camera is evaluated separately on centre
  crops (at most ``eval_crop`` a side, replicate-padded to a multiple of 64; bits are counted over the
  padded latents, pixels over the crop): per level the ideal code length of the rounded symbols
  (``-log2`` of the discretized Gaussian under the exact integer hyper-decoder's table, plus the
  factorized prior of ``z``) in bits per pixel, and PSNR of the 8-bit output; then the BD-rate against
  JPEG2000 (OpenJPEG, ``mct=1``, a sweep of ratios, computed once and cached in ``RUN/anchors.json``).
  Each evaluation appends a line to ``RUN/curve.jsonl`` and redraws ``RUN/curve.png``.

Training data: random crops of every colour camera's ``train`` folder, each crop's camera drawn with
the config's ``camera_weights``, flipped left-right half of the time; each crop gets its own level,
drawn uniformly, and the loss is ``lambda_l * 255^2 * MSE + bpp`` (times an optional per-level weight,
``level_loss_power``; 0, plain Lagrangian, in the shipped config).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch

from ...metrics import psnr
from ..bench import bd_rate
from ..reference_codecs import decode_pil, jpeg2000_encode
from .data import image_files, load_images, random_crops
from .hyperprior import HyperpriorVR, parameter_count

__all__ = ["main", "build_model", "Campaign"]

DEFAULTS = dict(
    widths=[64, 96, 128], latent_channels=160, hyper_channels=96, z_channels=64,
    gain_range=[0.25, 2.0], latent_gain=40.0, z_gain=8.0,
    lambdas=[0.0005, 0.00115, 0.00264, 0.00606, 0.0139, 0.032],
    cameras={"mastcam": {"train": "mars_rgb/train", "val": "mars_rgb/val"},
             "m2020": {"train": "mars_rgb_m2020/train", "val": "mars_rgb_m2020/val"},
             "mahli": {"train": "mars_rgb_mahli/train", "val": "mars_rgb_mahli/val"}},
    camera_weights={"mastcam": 0.5, "m2020": 0.3, "mahli": 0.2},
    level_loss_power=0.0, crop=192, batch=8, lr=2e-4, clip_norm=1.0, max_steps=2_000_000, seed=27,
    log_every=25, eval_every=2000, eval_minutes=50, checkpoint_minutes=10, pause_cap_s=120, eval_crop=512,
    keep_eval_weights=3, anchor_bpp=[0.02, 0.03, 0.045, 0.065, 0.09, 0.13, 0.18, 0.25, 0.35, 0.5, 0.7, 1.0, 1.4, 2.0],
    threads=2,
)


def load_config(path: str | Path | None) -> dict:
    cfg = dict(DEFAULTS)
    if path:
        cfg.update(json.loads(Path(path).read_text()))
    return cfg


def build_model(cfg: dict) -> HyperpriorVR:
    return HyperpriorVR(tuple(cfg["widths"]), cfg["latent_channels"], cfg["hyper_channels"], cfg["z_channels"],
                        levels=len(cfg["lambdas"]), gain_range=tuple(cfg["gain_range"]),
                        latent_gain=cfg["latent_gain"], z_gain=cfg["z_gain"])


def _atomic_write_bytes(path: Path, writer) -> None:
    tmp = path.with_name(path.name + ".tmp")
    writer(tmp)
    os.replace(tmp, path)


def _atomic_text(path: Path, text: str) -> None:
    _atomic_write_bytes(path, lambda p: p.write_text(text))


def _log(msg: str) -> None:
    print(time.strftime("%H:%M:%S ") + msg, flush=True)


# --------------------------------------------------------------------------- evaluation

def centre_crop(img: np.ndarray, side: int) -> np.ndarray:
    h, w = img.shape[:2]
    ch, cw = min(h, side), min(w, side)
    y, x = (h - ch) // 2, (w - cw) // 2
    return np.ascontiguousarray(img[y:y + ch, x:x + cw])


def pad_to(img: np.ndarray, multiple: int) -> np.ndarray:
    h, w = img.shape[:2]
    return np.pad(img, ((0, -h % multiple), (0, -w % multiple), (0, 0)), mode="edge")


def jpeg2000_points(img: np.ndarray, bpps: list[float]) -> list[tuple[float, float]]:
    """(bpp, PSNR) of OpenJPEG JPEG2000 (irreversible 9/7, mct=1) at compression ratios ``24 / bpp``."""
    out = []
    for b in bpps:
        data = jpeg2000_encode(img, max(1.0, 8 * img.shape[2] / b))
        rec = decode_pil(data, img)
        out.append((8 * len(data) / (img.shape[0] * img.shape[1]), psnr(img, rec)))
    return out


def _restrict(points: list[tuple[float, float]], lo: float, hi: float) -> list[tuple[float, float]]:
    """The anchor points whose PSNR lies in ``[lo, hi]``, plus the nearest one beyond each end (so the cubic
    fit covers the interval, without fitting far-away rates)."""
    pts = sorted(points)
    inside = [i for i, (_, q) in enumerate(pts) if lo <= q <= hi]
    below = [i for i, (_, q) in enumerate(pts) if q < lo]
    above = [i for i, (_, q) in enumerate(pts) if q > hi]
    keep = set(inside) | ({max(below)} if below else set()) | ({min(above)} if above else set())
    return [pts[i] for i in sorted(keep)]


def _bd(anchor: list[tuple[float, float]], model_bpp: list[float], model_psnr: list[float]) -> float | None:
    ok = [(b, q) for b, q in zip(model_bpp, model_psnr) if math.isfinite(q) and b > 0]
    if len(ok) < 2:
        return None
    ref = _restrict(anchor, min(q for _, q in ok), max(q for _, q in ok))
    if len(ref) < 2:
        return None
    return bd_rate([b for b, _ in ref], [q for _, q in ref], [b for b, _ in ok], [q for _, q in ok])


class Evaluator:
    """Per-camera validation crops, their cached JPEG2000 anchor curves, and the model's per-level points."""

    def __init__(self, cfg: dict, data: Path, run: Path):
        self.cfg, self.crops, self.names = cfg, {}, {}
        for cam, spec in cfg["cameras"].items():
            files = image_files(data, [spec["val"]])
            self.names[cam] = [f.name for f in files]
            self.crops[cam] = [centre_crop(a, cfg["eval_crop"]) for a in load_images(files, 3)]
        key = dict(names=self.names, eval_crop=cfg["eval_crop"], anchor_bpp=cfg["anchor_bpp"],
                   shapes={c: [list(a.shape) for a in v] for c, v in self.crops.items()})
        path = run / "anchors.json"
        cached = json.loads(path.read_text()) if path.exists() else None
        if cached and cached.get("key") == key:
            self.anchors = cached["anchors"]
        else:
            t = time.time()
            self.anchors = {cam: [jpeg2000_points(a, cfg["anchor_bpp"]) for a in crops]
                            for cam, crops in self.crops.items()}
            _atomic_text(path, json.dumps(dict(key=key, anchors=self.anchors)))
            _log(f"JPEG2000 anchors computed in {time.time() - t:.0f} s and cached in {path}")
        # the camera's mean anchor curve: mean bpp and mean PSNR over its images at each ratio
        self.mean_anchor = {cam: [(float(np.mean([im[i][0] for im in a])), float(np.mean([im[i][1] for im in a])))
                                  for i in range(len(cfg["anchor_bpp"]))] for cam, a in self.anchors.items()}

    @torch.inference_mode()
    def model_points(self, model: HyperpriorVR) -> dict:
        """Per camera: per image, per level (bpp, PSNR)."""
        was = model.training
        model.eval()
        levels = len(self.cfg["lambdas"])
        out = {}
        for cam, crops in self.crops.items():
            out[cam] = []
            for img in crops:
                h, w = img.shape[:2]
                x = torch.from_numpy(pad_to(img, model.multiple).astype(np.float32) / 255).permute(2, 0, 1)[None]
                y = model.analysis(x)
                pts = []
                for lv in range(levels):
                    r = model(x, torch.tensor([lv]), y=y)
                    rec = (r["x_hat"][0, :, :h, :w].clamp(0, 1) * 255).round().to(torch.uint8)
                    pts.append((float(r["bits"][0]) / (h * w), psnr(img, rec.permute(1, 2, 0).numpy())))
                out[cam].append(pts)
        model.train(was)
        return out

    def evaluate(self, model: HyperpriorVR) -> dict:
        pts = self.model_points(model)
        res = {}
        for cam, per_image in pts.items():
            levels = len(per_image[0])
            bpp = [float(np.mean([im[lv][0] for im in per_image])) for lv in range(levels)]
            q = [float(np.mean([im[lv][1] for im in per_image])) for lv in range(levels)]
            per = [_bd(a, [p[0] for p in im], [p[1] for p in im]) for a, im in zip(self.anchors[cam], per_image)]
            per = [v for v in per if v is not None]
            res[cam] = dict(bd_rate_vs_jpeg2000=_bd(self.mean_anchor[cam], bpp, q), level_bpp=bpp, level_psnr=q,
                            bd_rate_per_image_mean=float(np.mean(per)) if per else None, bd_rate_images=len(per),
                            images=len(per_image))
        return res


def plot_curve(run: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    rows = [json.loads(line) for line in (run / "curve.jsonl").read_text().splitlines() if line.strip()]
    fig, axes = plt.subplots(1, 2, figsize=(12, 4.5))
    cams = list(rows[-1]["cameras"]) if rows else []
    for cam in cams:
        s = [r["step"] for r in rows if r["cameras"].get(cam, {}).get("bd_rate_vs_jpeg2000") is not None]
        v = [r["cameras"][cam]["bd_rate_vs_jpeg2000"] for r in rows
             if r["cameras"].get(cam, {}).get("bd_rate_vs_jpeg2000") is not None]
        axes[0].plot(s, v, "o-", label=cam)
    axes[0].axhline(0, color="k", lw=0.8)
    axes[0].axhline(-10, color="r", lw=0.8, ls="--")
    axes[0].set(xlabel="step", ylabel="BD-rate vs JPEG2000 (%)", title="BD-rate per camera (lower is better)")
    axes[0].legend()
    if rows:
        for cam in cams:
            c = rows[-1]["cameras"][cam]
            axes[1].plot(c["level_bpp"], c["level_psnr"], "o-", label=f"{cam} step {rows[-1]['step']}")
        axes[1].set(xscale="log", xlabel="bpp", ylabel="PSNR (dB)", title="latest levels")
        axes[1].legend()
    fig.tight_layout()
    tmp = run / "curve.tmp.png"
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, run / "curve.png")


# --------------------------------------------------------------------------- training

class Campaign:
    """Model, optimizer, data and clock of one run folder; :meth:`save` / :meth:`load` round-trip all of it."""

    def __init__(self, cfg: dict, run: Path, data: Path | None = None):
        self.cfg, self.run = cfg, Path(run)
        self.run.mkdir(parents=True, exist_ok=True)
        torch.manual_seed(cfg["seed"])
        self.model = build_model(cfg)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=cfg["lr"])
        self.rng = np.random.default_rng(cfg["seed"])
        self.step, self.minutes, self.cpu_minutes, self.sittings = 0, 0.0, 0.0, []
        self.lambdas = torch.tensor(cfg["lambdas"], dtype=torch.float32)
        # each level's loss weight: (lambda / geometric mean of the lambdas) ** -level_loss_power (1 for all at 0)
        self.level_weight = (self.lambdas / self.lambdas.log().mean().exp()) ** -cfg.get("level_loss_power", 0.0)
        self.images = {}
        if data is not None:
            for cam, spec in cfg["cameras"].items():
                imgs = load_images(image_files(data, [spec["train"]]), 3)
                c = cfg["crop"]  # a frame a little short of the crop (MAHLI's 191 rows) is replicate-padded
                self.images[cam] = [np.pad(a, ((0, max(0, c - a.shape[0])), (0, max(0, c - a.shape[1])), (0, 0)),
                                           mode="edge") for a in imgs]
            w = np.array([cfg["camera_weights"][c] for c in self.images], float)
            self.cam_p = w / w.sum()

    # ---- state
    def state(self) -> dict:
        return dict(model=self.model.state_dict(), opt=self.opt.state_dict(), step=self.step, minutes=self.minutes,
                    cpu_minutes=self.cpu_minutes, sittings=self.sittings, rng=self.rng.bit_generator.state,
                    torch_rng=torch.get_rng_state(), config=self.cfg)

    def save(self, name: str = "last.pt") -> Path:
        path = self.run / name
        _atomic_write_bytes(path, lambda p: torch.save(self.state(), p))
        return path

    def load(self, name: str | Path = "last.pt") -> bool:
        path = self.run / name  # an absolute path (a committed checkpoint) stays itself
        if not path.exists():
            return False
        st = torch.load(path, map_location="cpu", weights_only=False)
        self.model.load_state_dict(st["model"])
        if st.get("compact"):  # a committed checkpoint (:func:`compact`): Adam's moments expanded again
            params = self.opt.param_groups[0]["params"]
            for i, s in st["opt"]["state"].items():
                s["exp_avg"] = torch.zeros_like(params[i])
                s["exp_avg_sq"] = s["exp_avg_sq"].float().expand(params[i].shape).clone()
        self.opt.load_state_dict(st["opt"])
        for g in self.opt.param_groups:  # the config's learning rate wins (so a later sitting can lower it)
            g["lr"] = self.cfg["lr"]
        self.step, self.minutes, self.cpu_minutes = st["step"], st["minutes"], st["cpu_minutes"]
        self.sittings = st["sittings"]
        self.rng.bit_generator.state = st["rng"]
        torch.set_rng_state(st["torch_rng"])
        return True

    # ---- one step
    def batch(self) -> tuple[torch.Tensor, torch.Tensor]:
        cfg = self.cfg
        counts = self.rng.multinomial(cfg["batch"], self.cam_p)
        parts = [random_crops(self.images[cam], int(k), cfg["crop"], self.rng)
                 for cam, k in zip(self.images, counts) if k]
        x = torch.cat(parts)
        flip = torch.from_numpy(self.rng.random(len(x)) < 0.5)
        x[flip] = x[flip].flip(-1)
        level = torch.from_numpy(self.rng.integers(len(cfg["lambdas"]), size=len(x)))
        return x, level

    def train_step(self, x: torch.Tensor, level: torch.Tensor) -> dict:
        self.model.train()
        out = self.model(x, level)
        px = x.shape[2] * x.shape[3]
        mse = ((out["x_hat"] - x) ** 2).mean(dim=(1, 2, 3))
        bpp = out["bits"] / px
        loss = (self.level_weight[level] * (self.lambdas[level] * 255 ** 2 * mse + bpp)).mean()
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        gn = torch.nn.utils.clip_grad_norm_(self.model.parameters(), self.cfg["clip_norm"])
        self.opt.step()
        self.step += 1
        return dict(loss=float(loss.detach()), bpp=bpp.detach(), mse=mse.detach(), level=level, grad_norm=float(gn))


def _snapshot_weights(camp: Campaign) -> None:
    d = camp.run / "eval-weights"
    d.mkdir(exist_ok=True)
    _atomic_write_bytes(d / f"step{camp.step:07d}.pt", lambda p: torch.save(camp.model.state_dict(), p))
    snaps = sorted(d.glob("step*.pt"))
    every = camp.cfg["eval_every"] * 10
    for p in snaps[:-camp.cfg["keep_eval_weights"]]:
        if int(p.stem[4:]) % every:
            p.unlink()


def run_eval(camp: Campaign, ev: Evaluator) -> dict:
    t = time.time()
    res = ev.evaluate(camp.model)
    row = dict(step=camp.step, minutes=round(camp.minutes, 2), cpu_minutes=round(camp.cpu_minutes, 2),
               eval_s=round(time.time() - t, 1), cameras=res)
    with open(camp.run / "curve.jsonl", "a") as f:
        f.write(json.dumps(row) + "\n")
    try:
        plot_curve(camp.run)
    except Exception as e:  # the curve is a convenience; never stop training for it
        _log(f"curve.png not drawn: {e!r}")
    _snapshot_weights(camp)
    for cam, c in res.items():
        bd = c["bd_rate_vs_jpeg2000"]
        _log(f"eval step {camp.step} {cam}: BD-rate vs JPEG2000 {'n/a' if bd is None else f'{bd:+.1f}%'}; bpp "
             + " ".join(f"{b:.3f}" for b in c["level_bpp"]) + "; PSNR " + " ".join(f"{q:.2f}" for q in c["level_psnr"]))
    _log(f"eval took {row['eval_s']} s")
    return row


def compact(src: Path, dst: Path, manifest: Path, run_id: str) -> dict:
    """Write the resumable checkpoint the repository keeps, about a quarter of ``last.pt`` (under 8 MB):
    weights in float16; of Adam's state the step count and the second moment's mean per output row in
    bfloat16 (the first moment restarts at zero: with beta1 = 0.9 it is rebuilt within tens of steps, while
    the second moment's scale would take about a thousand). :meth:`Campaign.load` expands it. Records the
    run's chain of sittings in ``manifest`` under ``"campaigns"`` (steps, active minutes, the checkpoint's
    SHA-256 and the last evaluation)."""
    import hashlib
    st = torch.load(src, map_location="cpu", weights_only=False)
    st["model"] = {k: v.half() if v.is_floating_point() else v for k, v in st["model"].items()}
    for s in st["opt"]["state"].values():
        sq = s.pop("exp_avg_sq")
        s["exp_avg_sq"] = (sq if sq.ndim < 2 else sq.mean(dim=tuple(range(1, sq.ndim)), keepdim=True)).bfloat16()
        del s["exp_avg"]
    st["compact"] = True
    dst.parent.mkdir(parents=True, exist_ok=True)
    _atomic_write_bytes(dst, lambda p: torch.save(st, p))
    curve = src.parent / "curve.jsonl"
    evals = [json.loads(line) for line in curve.read_text().splitlines() if line.strip()] if curve.exists() else []
    record = {"config": f"configs/{run_id}.json", "checkpoint": str(dst.relative_to(manifest.parent)),
              "checkpoint_sha256": hashlib.sha256(dst.read_bytes()).hexdigest(), "steps": st["step"],
              "active_minutes": round(st["minutes"], 1), "cpu_minutes": round(st["cpu_minutes"], 1),
              "sittings": st["sittings"],
              "last_eval": {"step": evals[-1]["step"], "bd_rate_vs_jpeg2000": {
                  cam: v["bd_rate_vs_jpeg2000"] for cam, v in evals[-1]["cameras"].items()}} if evals else None}
    doc = json.loads(manifest.read_text())
    doc.setdefault("campaigns", {})[run_id] = record
    _atomic_text(manifest, json.dumps(doc, indent=2) + "\n")
    return record


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m maskcodec.tools.train.campaign", description=__doc__.split("\n\n")[0])
    ap.add_argument("--config", help="JSON config (keys of DEFAULTS; missing keys take the defaults)")
    ap.add_argument("--data", required=True, help="the shared data folder (../shared/data)")
    ap.add_argument("--run", required=True, help="run folder (created; resumed from RUN/last.pt when present)")
    ap.add_argument("--max-steps", type=int, help="stop at this step (overrides the config)")
    ap.add_argument("--no-eval", action="store_true", help="skip evaluations (smoke tests)")
    ap.add_argument("--start-from", help="a committed checkpoint (models/checkpoints/ID.pt) to resume from when RUN has "
                                         "no last.pt: what a new machine starts with")
    ap.add_argument("--compact-to", metavar="CHECKPOINT", help="do not train: write RUN/last.pt as the compact "
                    "checkpoint CHECKPOINT and record the run's sittings in the manifest beside its folder's parent")
    args = ap.parse_args(argv)
    if args.compact_to:
        dst = Path(args.compact_to).resolve()
        record = compact(Path(args.run) / "last.pt", dst, dst.parent.parent / "manifest.json", dst.stem)
        print(json.dumps(record, indent=1))
        return 0
    cfg = load_config(args.config)
    if args.max_steps is not None:
        cfg["max_steps"] = args.max_steps
    torch.set_num_threads(cfg["threads"])
    run = Path(args.run)
    camp = Campaign(cfg, run, Path(args.data))
    resumed = camp.load() or (args.start_from is not None and camp.load(Path(args.start_from).resolve()))
    _atomic_text(run / "config.json", json.dumps(cfg, indent=1))
    _log(f"{'resumed at step ' + str(camp.step) if resumed else 'new run'}; {parameter_count(camp.model)} parameters; "
         f"crop {cfg['crop']} batch {cfg['batch']}; levels {cfg['lambdas']}; pid {os.getpid()}")
    ev = None if args.no_eval else Evaluator(cfg, Path(args.data), run)

    stop = {"flag": False}

    def _stop(signum, frame):
        stop["flag"] = True
        _log(f"signal {signum}: saving and stopping after this step")

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    sitting = dict(start_step=camp.step, end_step=camp.step, minutes=0.0, started=time.strftime("%Y-%m-%d %H:%M:%S"))
    camp.sittings.append(sitting)

    def account(dt: float, cap: float | None) -> None:
        d = (min(dt, cap) if cap else dt) / 60
        camp.minutes += d
        sitting["minutes"] = round(sitting["minutes"] + d, 3)
        sitting["end_step"] = camp.step

    cpu0 = camp.cpu_minutes - time.process_time() / 60

    def save() -> None:
        camp.cpu_minutes = cpu0 + time.process_time() / 60
        camp.save()

    done_evals, last_eval_min = set(), -1e9
    if (run / "curve.jsonl").exists():
        rows = [json.loads(line) for line in (run / "curve.jsonl").read_text().splitlines() if line.strip()]
        done_evals = {r["step"] for r in rows}
        last_eval_min = max((r["minutes"] for r in rows), default=-1e9)
    last_save = time.monotonic()
    window = []
    try:
        while camp.step < cfg["max_steps"] and not stop["flag"]:
            due = camp.step % cfg["eval_every"] == 0 or camp.minutes - last_eval_min >= cfg["eval_minutes"]
            if ev is not None and due and camp.step not in done_evals:
                t = time.monotonic()
                last_eval_min = camp.minutes
                run_eval(camp, ev)
                done_evals.add(camp.step)
                account(time.monotonic() - t, None)
                if stop["flag"]:
                    break
            t = time.monotonic()
            x, level = camp.batch()
            r = camp.train_step(x, level)
            dt = time.monotonic() - t
            account(dt, cfg["pause_cap_s"])
            window.append((r, dt))
            if camp.step % cfg["log_every"] == 0:
                loss = np.mean([w[0]["loss"] for w in window])
                bpp = torch.cat([w[0]["bpp"] for w in window])
                mse = torch.cat([w[0]["mse"] for w in window])
                lv = torch.cat([w[0]["level"] for w in window])
                per = " ".join(f"L{k}:{float(bpp[lv == k].mean()):.3f}/{10 * math.log10(1 / float(mse[lv == k].mean())):.1f}"
                               if (lv == k).any() else f"L{k}:-" for k in range(len(cfg["lambdas"])))
                _log(f"step {camp.step} loss {loss:.4f} bpp/PSNR {per} gnorm {np.mean([w[0]['grad_norm'] for w in window]):.2f} "
                     f"{np.median([w[1] for w in window]):.2f} s/step, {camp.minutes:.1f} min")
                window = []
            if time.monotonic() - last_save > 60 * cfg["checkpoint_minutes"]:
                save()
                last_save = time.monotonic()
    finally:
        save()
        _log(f"saved {run / 'last.pt'} at step {camp.step}, {camp.minutes:.1f} active minutes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
