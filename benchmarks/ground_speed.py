"""Decode speed on a 1-megapixel Mastcam mosaic (issue 30's speed goals): ``auto`` and each inpainter alone.

The mosaic is 1024 x 1024, tiled from the first six ``mars_rgb/val`` frames (``maskcodec.tools.lossbench.mosaic``),
encoded at each keep with default settings; each decode runs once to warm up, then best of three. The trial's
share is ``auto``'s time less that of the inpainter it chose, run alone, over ``auto``'s. Pause any training first.

    python benchmarks/ground_speed.py --data ../shared/data -o benchmarks/results/ground_speed
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path

import maskcodec
from maskcodec.io.images import find_images, read_image
from maskcodec.tools.lossbench import mosaic

NAMES = ("auto", "default-d", "linear", "predictor", "nconv")


def best_of(fn, n: int = 3) -> float:
    fn()
    times = []
    for _ in range(n):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return min(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("-o", "--output", default="benchmarks/results/ground_speed")
    ap.add_argument("--keep", default="0.1,0.5")
    args = ap.parse_args()
    files = sorted(find_images([f"{args.data}/mars_rgb/val"]))[:6]
    img = mosaic([read_image(f) for f in files], 1024)
    mp = img.shape[0] * img.shape[1] / 1e6
    rows = []
    for keep in map(float, args.keep.split(",")):
        data = maskcodec.encode(img, keep=keep, seed=1)
        chosen = maskcodec.decode_report(data)[1].inpainter
        row = {"keep": keep, "chosen": chosen}
        for name in NAMES:
            row[name] = round(mp / best_of(lambda: maskcodec.decode(data, inpainter=name)), 2)
        row["trial_share"] = round(1 - row[chosen] ** -1 / row["auto"] ** -1, 3) if chosen in row else None
        rows.append(row)
        print(row, flush=True)
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    result = {"command": f"python benchmarks/ground_speed.py --data {args.data} -o {args.output} --keep {args.keep}",
              "machine": f"{platform.machine()}, {os.cpu_count()} cores", "megapixels": mp,
              "unit": "megapixels per second (best of 3)", "rows": rows}
    (out / "speed.json").write_text(json.dumps(result, indent=1))
    lines = [f"`{result['command']}` ({result['machine']}; 1024 x 1024 mosaic of six mars_rgb/val frames)", "",
             "| keep | auto chose | " + " | ".join(NAMES) + " | trial share of auto |", "|---" * (len(NAMES) + 3) + "|"]
    lines += [f"| {r['keep']:g} | {r['chosen']} | " + " | ".join(f"{r[n]:.2f}" for n in NAMES)
              + f" | {r['trial_share']:.0%} |" for r in rows]
    (out / "speed.md").write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
