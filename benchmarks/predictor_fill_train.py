"""Issue 30, part 1: the "predictor" inpainter (maskcodec/inpainting/predictor_fill.py, flight/src/fill.c) against
"linear" and "nconv" on TRAINING frames, and the speed of each fill.

Per camera folder, up to 8 frames (evenly spaced in name order), 512 x 512 centre crops, keeps 0.5, 0.1 and 0.02,
blue-noise masks (seed 3000 + frame): ``maskcodec.encode`` then ``maskcodec.decode(data, inpainter=name)``, PSNR by
``maskcodec.metrics.psnr`` (raw16: the 12-bit frames as stored, uint16, on the 16-bit scale of
benchmarks/results/raw16_models). Speed: each fill alone on the decoder's input (the kept pixels scaled to [0, 1]),
CPU time of this process (``time.process_time``, best of 3), as megapixels of the crop per second; and the C core
and the inpainter on a 1024 x 1024 RGB image at keep 0.1 (a Perseverance training frame, 1024 x 768, extended to
1024 rows by reflection), best of 9.

    nice -n 5 python benchmarks/predictor_fill_train.py [DATA] [OUT]

DATA defaults to ../shared/data, OUT to benchmarks/results/predictor_fill_train (summary.md and summary.json).
"""
from __future__ import annotations

import glob
import json
import os
import platform
import sys
import time

import numpy as np

import maskcodec
from maskcodec.inpainting.classical import CLASSICAL
from maskcodec.io.images import read_image
from maskcodec.masks import mask
from maskcodec.metrics import psnr

CAMERAS = ["mars_rgb/train", "mars_rgb_m2020/train", "mars_rgb_mahli/train", "rover_gray", "orbital_gray", "raw16"]
NAMES = ["predictor", "linear", "nconv"]
KEEPS = [0.5, 0.1, 0.02]
FRAMES, CROP, SEED = 8, 512, 3000


def frames(data: str, camera: str) -> list[tuple[str, np.ndarray]]:
    files = sorted(glob.glob(os.path.join(data, camera, "*.png")))
    if camera == "raw16":  # the 12-bit frames, not the two 8-bit Bayer readouts
        files = [f for f in files if "bayer" not in f]
    pick = [files[round(i * len(files) / FRAMES)] for i in range(min(FRAMES, len(files)))]
    out = []
    for p in pick:
        img = read_image(p)
        h, w = img.shape[:2]
        y, x = max(0, (h - CROP) // 2), max(0, (w - CROP) // 2)
        out.append((os.path.basename(p), np.ascontiguousarray(img[y:y + CROP, x:x + CROP])))
    return out


def cpu_best(fn, repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        t = time.process_time()
        fn()
        best = min(best, time.process_time() - t)
    return best


def bench(data: str) -> dict:
    rows = []
    for camera in CAMERAS:
        for i, (name, img) in enumerate(frames(data, camera)):
            bits = 8 * img.dtype.itemsize
            for keep in KEEPS:
                encoded = maskcodec.encode(img, keep=keep, seed=SEED + i)
                known = mask(img.shape, keep, SEED + i)
                unit = np.zeros(img.shape[:2] + (img.shape[2] if img.ndim == 3 else 1,), np.float32)
                unit[known] = (img.reshape(unit.shape)[known] / float((1 << bits) - 1)).astype(np.float32)
                row = {"camera": camera, "frame": name, "keep": keep, "shape": list(img.shape), "psnr": {}, "mps": {}}
                for n in NAMES:
                    row["psnr"][n] = psnr(img, maskcodec.decode(encoded, inpainter=n), bits)
                    seconds = cpu_best(lambda: CLASSICAL[n](unit, known), 3)
                    row["mps"][n] = img.shape[0] * img.shape[1] / 1e6 / max(seconds, 1e-9)
                rows.append(row)
                print(camera, name, keep, " ".join(f"{n} {row['psnr'][n]:.2f} dB {row['mps'][n]:.1f} MP/s"
                                                   for n in NAMES), flush=True)
    return {"rows": rows, "speed_1024": speed_1024(data)}


def speed_1024(data: str) -> dict:
    from maskcodec.inpainting.predictor_fill import predictor
    from maskcodec.survivors import _flight
    path = sorted(glob.glob(os.path.join(data, "mars_rgb_m2020/train/*.png")))[0]
    img = read_image(path)
    img = np.pad(img, ((0, max(0, 1024 - img.shape[0])), (0, max(0, 1024 - img.shape[1])), (0, 0)), mode="reflect")
    img = np.ascontiguousarray(img[:1024, :1024])
    known = mask(img.shape, 0.1, SEED)
    values = img.astype(np.uint16) * 257
    unit = np.where(known[..., None], img / np.float32(255), 0).astype(np.float32)
    core = cpu_best(lambda: _flight.fill(1024, 1024, 3, known, values.copy()), 9)
    copy = cpu_best(lambda: values.copy(), 9)
    whole = cpu_best(lambda: predictor(unit, known), 9)
    return {"frame": os.path.basename(path), "core_ms": 1e3 * (core - copy), "core_mps": 1.048576 / (core - copy),
            "predictor_ms": 1e3 * whole, "predictor_mps": 1.048576 / whole}


def summary(result: dict) -> str:
    rows = result["rows"]
    lines = ["# The predictor fill on training frames (issue 30, part 1)", "",
             f"Command: `nice -n 5 python benchmarks/predictor_fill_train.py` ({platform.machine()}, "
             f"Python {platform.python_version()}). Mean PSNR (dB) per camera folder and keep over up to {FRAMES} "
             f"training frames (512 x 512 centre crops, blue-noise masks, seed 3000 + frame), each decoded by "
             f"`maskcodec.decode(data, inpainter=name)`; raw16 on the 16-bit scale.", "",
             "| camera | keep | frames | predictor | linear | nconv | predictor - linear | predictor - nconv |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for camera in CAMERAS:
        for keep in KEEPS:
            sel = [r for r in rows if r["camera"] == camera and r["keep"] == keep]
            if not sel:
                continue
            m = {n: float(np.mean([r["psnr"][n] for r in sel])) for n in NAMES}
            lines.append(f"| {camera} | {keep} | {len(sel)} | {m['predictor']:.2f} | {m['linear']:.2f} | "
                         f"{m['nconv']:.2f} | {m['predictor'] - m['linear']:+.2f} | "
                         f"{m['predictor'] - m['nconv']:+.2f} |")
    lines += ["", "Mean over every camera and keep: " + ", ".join(
        f"{n} {np.mean([r['psnr'][n] for r in rows]):.2f} dB" for n in NAMES) + ".", "",
        "## Speed", "",
        "Megapixels per second of each fill alone on the decoder's input (CPU time of one process, best of 3; "
        "the crops above; median over frames). The machine was shared with training jobs: CPU time, not wall "
        "time, and still noisy.", "",
        "| keep | " + " | ".join(NAMES) + " |", "|---:|" + "---:|" * len(NAMES)]
    for keep in KEEPS:
        sel = [r for r in rows if r["keep"] == keep]
        lines.append(f"| {keep} | " + " | ".join(f"{np.median([r['mps'][n] for r in sel]):.1f}" for n in NAMES) + " |")
    s = result["speed_1024"]
    lines += ["", f"1024 x 1024 RGB at keep 0.1 ({s['frame']} extended by reflection, best of 9): the C core "
              f"(`mc_fill` through `maskcodec.survivors._flight.fill`, uint16 in place) {s['core_ms']:.1f} ms = "
              f"{s['core_mps']:.1f} MP/s; the inpainter `predictor(image, known)` (float32 in and out) "
              f"{s['predictor_ms']:.1f} ms = {s['predictor_mps']:.1f} MP/s.", ""]
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    data = argv[1] if len(argv) > 1 else "../shared/data"
    out = argv[2] if len(argv) > 2 else "benchmarks/results/predictor_fill_train"
    result = bench(data)
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "summary.json"), "w") as f:
        json.dump(result, f, indent=1)
    text = summary(result)
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write(text)
    print(text)


if __name__ == "__main__":
    main(sys.argv)
