"""Inpainting models that know max_error (issue 30, part 3): PSNR on the validation frames of every camera.

Each frame's centre crop (at most 512 x 512) is encoded with ``maskcodec.encode(img, keep=k, max_error=d,
seed=1000 + frame index)``; its kept values, as the file decodes them, fill the image as
``maskcodec.inpainting.fill`` does (kept values pasted back as decoded, so every kept value stays within
+-d of the original) with:

- ``shipped``: the shipped model (``default`` / ``gray-default``), told nothing (what decoding does today);
- ``d-aware``: the d-aware model (``default-d`` / ``gray-default-d``) told d / 255
  (``maskcodec.inpainting.models.inpainter(entry, tolerance)``);
- ``linear``: the Delaunay linear inpainting of the decoded values;
- ``shipped-exact``: the shipped model fed the exact kept values (the kept values still pasted as decoded):
  not a decoder (it has values the file does not hold), a measure of what the noise costs the fill.

Near-lossless points: d = 2, 4, 8 at keep 0.2, and keeps 0.1 and 0.5 at d = 4; exact points (d = 0): keeps
0.5, 0.1, 0.02. Means over the frames, per camera; the d-aware model's gain over the shipped one with its
spread over the frames (mean, min, share of frames it improves).

Usage: python benchmarks/d_aware_val.py --data ../shared/data [--limit N] [--out benchmarks/results/d_aware_val]
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

import maskcodec
from maskcodec.inpainting.classical import CLASSICAL
from maskcodec.inpainting.models import inpainter
from maskcodec.io.images import read_image
from maskcodec.metrics import psnr
from maskcodec.runtime.manifest import load

SEED = 1000
CROP = 512
NEAR = [(2, 0.2), (4, 0.2), (8, 0.2), (4, 0.1), (4, 0.5)]  # (max_error, keep)
EXACT = [(0, 0.5), (0, 0.1), (0, 0.02)]
CAMERAS = {  # camera -> (frames relative to the data root, shipped model, d-aware model)
    "mars_rgb (Mastcam)": (["mars_rgb/val"], "default", "default-d"),
    "mars_rgb_m2020 (Perseverance)": (["mars_rgb_m2020/val"], "default", "default-d"),
    "mars_rgb_mahli (MAHLI)": (["mars_rgb_mahli/val"], "default", "default-d"),
    "gray (gray-default's val files)": (None, "gray-default", "gray-default-d"),
}


def frames(data: Path, entries: list[str] | None) -> list[Path]:
    if entries is None:  # the gray models' val files, as their config lists them
        cfg = json.loads((Path(__file__).resolve().parents[1] / "models/configs/gray-default-d.json").read_text())
        entries = cfg["val"]
    out = []
    for e in entries:
        p = data / e
        out += sorted(f for f in p.iterdir() if f.suffix.lower() == ".png") if p.is_dir() else [p]
    return out


def centre(img: np.ndarray, side: int = CROP) -> np.ndarray:
    h, w = img.shape[:2]
    y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return np.ascontiguousarray(img[y:y + side, x:x + side])


def fills(img: np.ndarray, keep: float, d: int, seed: int, shipped: str, aware: str) -> dict[str, float]:
    """PSNR of each fill of one frame at (keep, d)."""
    data = maskcodec.encode(img, keep=keep, max_error=d, seed=seed)
    header, known, values = maskcodec.survivors(data)
    assert np.abs(values.astype(int) - img.reshape(-1, header.channels)[known.ravel()]).max() <= d
    scale = float((1 << header.bits) - 1)
    decoded = np.zeros((*known.shape, header.channels), np.float32)
    decoded[known] = values.astype(np.float32) / scale
    exact = np.zeros_like(decoded)
    exact[known] = img.reshape(*known.shape, header.channels)[known].astype(np.float32) / scale
    manifest = load()
    runs = {"shipped": (inpainter(manifest.get(shipped)), decoded),
            "d-aware": (inpainter(manifest.get(aware), d / scale), decoded),
            "linear": (CLASSICAL["linear"], decoded)}
    if d:
        runs["shipped-exact"] = (inpainter(manifest.get(shipped)), exact)
    out = {}
    for label, (f, x) in runs.items():
        y = np.clip(np.rint(f(x, known) * scale), 0, scale).astype(img.dtype)
        y[known] = values  # kept values as decoded: within +-d of the original
        out[label] = psnr(img, y.reshape(img.shape))
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default="../shared/data")
    p.add_argument("--out", default="benchmarks/results/d_aware_val")
    p.add_argument("--limit", type=int, default=None, help="at most this many frames per camera")
    args = p.parse_args(argv)
    data, out = Path(args.data), Path(args.out)
    t0 = time.time()
    result = {"command": "python benchmarks/d_aware_val.py " + " ".join(argv if argv is not None else sys.argv[1:]),
              "crop": CROP, "mask_seeds": f"{SEED} + frame index", "cameras": {}}
    for camera, (entries, shipped, aware) in CAMERAS.items():
        files = frames(data, entries)[:args.limit]
        images = [centre(read_image(f)) for f in files]
        cam = {"frames": [str(f.relative_to(data)) for f in files], "shipped": shipped, "d_aware": aware,
               "points": {}}
        for d, keep in NEAR + EXACT:
            per = [fills(img, keep, d, SEED + i, shipped, aware) for i, img in enumerate(images)]
            gain = np.array([r["d-aware"] - r["shipped"] for r in per])
            cam["points"][f"d{d}_keep{keep}"] = {
                "max_error": d, "keep": keep,
                **{label: round(float(np.mean([r[label] for r in per])), 3) for label in per[0]},
                "gain_mean": round(float(gain.mean()), 3), "gain_min": round(float(gain.min()), 3),
                "improved_share": round(float(np.mean(gain > 0)), 3)}
            print(camera, d, keep, cam["points"][f"d{d}_keep{keep}"], f"{time.time() - t0:.0f}s", flush=True)
        result["cameras"][camera] = cam
    result["minutes"] = round((time.time() - t0) / 60, 1)
    out.mkdir(parents=True, exist_ok=True)
    (out / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "results.md").write_text(markdown(result))
    print(markdown(result))
    return 0


def markdown(result: dict) -> str:
    lines = ["# d-aware inpainting models on the validation frames", "",
             f"Command: `{result['command']}`. Centre crops of at most {result['crop']} px, mask seeds "
             f"{result['mask_seeds']}; PSNR (dB), kept values pasted as decoded (within +-d) in every column. "
             "`shipped-exact` is the shipped model fed the exact kept values (not a decoder: a measure of what the "
             "noise costs). gain: d-aware minus shipped, mean and worst frame; improved: share of frames it "
             "improves.", ""]
    for camera, cam in result["cameras"].items():
        lines += [f"## {camera}: {len(cam['frames'])} frames, {cam['shipped']} vs {cam['d_aware']}", "",
                  "| d | keep | shipped | d-aware | linear | shipped-exact | gain | worst | improved |",
                  "|---:|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for r in cam["points"].values():
            lines.append(f"| {r['max_error']} | {r['keep']} | {r['shipped']:.2f} | {r['d-aware']:.2f} | "
                         f"{r['linear']:.2f} | {r['shipped-exact']:.2f} | {r['gain_mean']:+.2f} | "
                         f"{r['gain_min']:+.2f} | {r['improved_share']:.0%} |" if "shipped-exact" in r else
                         f"| {r['max_error']} | {r['keep']} | {r['shipped']:.2f} | {r['d-aware']:.2f} | "
                         f"{r['linear']:.2f} | - | {r['gain_mean']:+.2f} | {r['gain_min']:+.2f} | "
                         f"{r['improved_share']:.0%} |")
        lines.append("")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
