"""``bench-budget``: does a byte budget hold, and what does choosing ``max_error`` with the keep buy?

For every image (a centre crop of ``--crop`` pixels; seed ``SEED + index``) and
every rate of ``--bpp``: the budget file (``encode(image, bpp=rate)``, keep and
``max_error`` from the frontier, :mod:`maskcodec.budgets`) against the exact
file of the same budget (``max_error=0``: only the keep chosen), both decoded
by default (``auto``); their bytes (each must be at most the budget) and PSNR.
Images are grouped by folder (one camera each). Written to the output folder:
``budget.json`` and ``budget.md``.

Run on validation frames: the frontier was measured on training frames
(``maskcodec bench-frontier``).
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from ..codec import decode, encode, inspect
from ..io.images import read_image
from ..metrics import psnr
from .autobench import folder_group
from .frontier import centre, files_of, significant_bits

__all__ = ["SEED", "RATES", "measure", "run_budget_bench", "configure_parser", "run_cli"]

SEED = 3100
RATES = (0.5, 1.2, 2.4)


def measure(image: np.ndarray, seed: int, rates=RATES) -> list[dict]:
    """Per rate: the budget and exact files' bytes, keeps, max_error and default-decode PSNR."""
    bits = significant_bits(image)
    rows = []
    for rate in rates:
        budget = int(rate * image.shape[0] * image.shape[1] // 8)
        row = {"bpp": rate, "budget_bytes": budget}
        for name, extra in (("budget", {}), ("exact", {"max_error": 0})):
            data = encode(image, bpp=rate, seed=seed, bits=bits, **extra)
            h = inspect(data)
            row[name] = {"bytes": len(data), "keep": h.keep, "max_error": h.max_error,
                         "psnr_db": psnr(image, decode(data), bits)}
        row["gain_db"] = row["budget"]["psnr_db"] - row["exact"]["psnr_db"]
        rows.append(row)
    return rows


def run_budget_bench(files: list[Path], out_dir: Path, crop: int = 512, rates=RATES) -> dict:
    frames = []
    for i, f in enumerate(files):
        frames.append({"file": str(f), "group": folder_group(Path(f)),
                       "rows": measure(centre(read_image(f), crop), SEED + i, rates)})
    groups = {}
    for g in dict.fromkeys(fr["group"] for fr in frames):
        mine = [fr for fr in frames if fr["group"] == g]
        groups[g] = [{"bpp": rate, "frames": len(mine),
                      "mean_gain_db": float(np.mean([fr["rows"][j]["gain_db"] for fr in mine])),
                      "min_gain_db": float(np.min([fr["rows"][j]["gain_db"] for fr in mine])),
                      "over_budget": sum(fr["rows"][j][k]["bytes"] > fr["rows"][j]["budget_bytes"]
                                         for fr in mine for k in ("budget", "exact"))}
                     for j, rate in enumerate(rates)]
    result = {"crop": crop, "seed": SEED, "rates": list(rates), "groups": groups, "frames": frames}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "budget.json").write_text(json.dumps(result, indent=1) + "\n")
    (out_dir / "budget.md").write_text(markdown(result))
    return result


def markdown(result: dict) -> str:
    lines = [f"# Byte budgets against exact keep at equal bytes (centre crops of {result['crop']} px, default decode)",
             "", "| images | bpp | frames | mean gain dB | worst gain dB | files over budget |", "|---|---|---|---|---|---|"]
    for g, rows in result["groups"].items():
        lines += [f"| {g} | {r['bpp']} | {r['frames']} | {r['mean_gain_db']:+.2f} | {r['min_gain_db']:+.2f} | "
                  f"{r['over_budget']} |" for r in rows]
    return "\n".join(lines) + "\n"


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.description = ("Encode each image within byte budgets (--bpp rates) twice: keep and --max-error chosen from "
                     "the frontier, and exact (max error 0, only the keep chosen); compare their default decodes "
                     "and check every file is within its budget. Example: maskcodec bench-budget "
                     "../shared/data/mars_rgb/val --per-folder 8")
    p.add_argument("inputs", nargs="+", help="images or folders of images (validation frames), one camera a folder")
    p.add_argument("-o", "--output", default="bench-out", help="folder for budget.json and budget.md (default bench-out)")
    p.add_argument("--crop", type=int, default=512, help="centre crop side in pixels (default 512)")
    p.add_argument("--bpp", type=lambda t: tuple(float(x) for x in t.split(",")), default=RATES, metavar="B,B,...",
                   help=f"rates in bits per pixel (default {','.join(map(str, RATES))})")
    p.add_argument("--per-folder", type=int, default=None, help="at most this many images of each folder")


def run_cli(args: argparse.Namespace) -> int:
    files = files_of(args.inputs, args.per_folder)
    out = Path(args.output)
    run_budget_bench(files, out, crop=args.crop, rates=args.bpp)
    print((out / "budget.md").read_text())
    print(f"results in {out}/budget.json and budget.md ({len(files)} images)")
    return 0
