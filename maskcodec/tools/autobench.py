"""``auto`` benchmark: does ``auto`` ever lose to interpolation, and how true is its estimated PSNR?

Each image is encoded once per keep (default settings: blue-noise mask, mask
seed ``SEED + image index``) and decoded by :func:`maskcodec.decode_report`
with ``auto`` and by :func:`maskcodec.decode` with each candidate ``auto``
tries (the model for the image's kind, ``linear``) and with ``nconv``. Per image:
the true PSNR of each, ``auto``'s choice, its estimated PSNR and the raw
held-back estimate (before the mask kind's ``trial_offsets_db``).

Each decode is timed once (after the models are loaded), so the decode
speeds, summed over a group, are rough; ``auto`` includes its trial.

Images are grouped by the folder they lie in (one camera or product type per
folder), and every table is per group: mean PSNR per inpainter, ``auto``
against ``linear`` (mean, worst frame, frames more than ``TOLERANCE_DB``
below), and the estimate (mean error, share within 1 dB). The mean of true
minus raw estimate over training frames is how the offset is fitted
(``--fit``); it is never fitted on validation frames.

Written to the output folder: ``auto.json`` (every frame) and ``auto.md``.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import numpy as np

from ..inpainting import trial as holdout
from ..codec import decode, decode_report, encode, inspect
from ..io.images import read_image
from .. import masks
from ..masks import DEFAULT_KIND
from ..masks import KIND_IDS
from ..metrics import psnr

__all__ = ["folder_group", "SEED", "TOLERANCE_DB", "KEEPS", "measure", "run_auto_bench", "configure_parser", "run_cli"]

SEED = 2000
TOLERANCE_DB = 0.05  # auto may trail linear by this much on a frame (the goal's tolerance)
KEEPS = (0.5, 0.1, 0.02)


def measure(image: np.ndarray, keep: float, seed: int, mask: str = DEFAULT_KIND) -> dict:
    """One frame at one keep: true PSNR of ``auto`` and of each candidate, ``auto``'s choice and estimates,
    and the seconds each decode took (once each: a rough figure, summed over frames in the summary)."""
    data = encode(image, keep, seed=seed, mask=mask)
    t = time.perf_counter()
    out, report = decode_report(data)
    seconds = {"auto": time.perf_counter() - t}
    bits = 8 * image.dtype.itemsize
    true = {}
    for name in dict.fromkeys([*report.candidates, report.inpainter, "linear", "nconv"]):
        t = time.perf_counter()
        true[name] = psnr(image, decode(data, inpainter=name), bits)
        seconds[name] = time.perf_counter() - t
    row = {"keep": keep, "bytes": len(data), "pixels": image.shape[0] * image.shape[1],
           "auto": psnr(image, out, bits), "chosen": report.inpainter,
           "true": true, "estimated": report.estimated_psnr_db, "held_back": report.held_back,
           "candidates_estimated": report.candidates, "seconds": seconds}
    if report.estimated_psnr_db is not None and math.isfinite(report.estimated_psnr_db):
        kept = inspect(data).survivors / row["pixels"]  # the share the trial's offset was looked up at
        row["raw_estimate"] = report.estimated_psnr_db - holdout.estimate_offset(mask, kept)
    return row


def folder_group(path: Path) -> str:
    """The table row an image belongs to: its camera folder (``mars_rgb/val``), or its folder's name."""
    return "/".join(path.parent.parts[-2:]) if path.parent.name in ("train", "val") else path.parent.name


def run_auto_bench(files: list[Path], out_dir: Path, keeps=KEEPS, per_folder: int | None = None,
                   mask: str = DEFAULT_KIND, progress: bool = True, command: str = "") -> dict:
    """Measure every image of ``files`` at every keep; write ``auto.json`` and ``auto.md``; return the result.

    ``per_folder`` takes that many images of each folder, evenly spaced in
    name order (all when None).
    """
    from tqdm import tqdm
    groups: dict[str, list[Path]] = {}
    for f in files:
        groups.setdefault(folder_group(f), []).append(f)
    if per_folder:
        groups = {g: [fs[round(i * (len(fs) - 1) / max(per_folder - 1, 1))] for i in range(min(per_folder, len(fs)))]
                  for g, fs in groups.items()}
    todo = [(g, f) for g, fs in groups.items() for f in fs]
    decode_report(encode(read_image(todo[0][1]), keeps[0], seed=SEED))  # load the models before any timing
    rows = []
    with tqdm(total=len(todo) * len(keeps), desc="bench-auto", unit="decode", file=sys.stderr,
              disable=not progress) as bar:
        for i, (g, f) in enumerate(todo):
            image = read_image(f)
            for keep in keeps:
                rows.append({"group": g, "file": f.name, **measure(image, keep, SEED + i, mask)})
                bar.update()
    result = {"command": command, "seed": f"{SEED} + image index", "mask": mask, "tolerance_db": TOLERANCE_DB,
              "estimate_offset_db": masks.kind_of(mask).trial_offsets_db, "summary": summarize(rows), "frames": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "auto.json").write_text(json.dumps(result, indent=1))
    (out_dir / "auto.md").write_text(markdown(result))
    return result


def summarize(rows: list[dict]) -> list[dict]:
    """Per group and keep: mean PSNRs, ``auto`` against ``linear``, the estimate's errors, the fitted offset."""
    out = []
    for g in dict.fromkeys(r["group"] for r in rows):
        for keep in dict.fromkeys(r["keep"] for r in rows if r["group"] == g):
            rs = [r for r in rows if r["group"] == g and r["keep"] == keep]
            vs_linear = [r["auto"] - r["true"]["linear"] for r in rs]
            est = [r for r in rs if "raw_estimate" in r]
            errors = [r["estimated"] - r["auto"] for r in est]
            names = list(dict.fromkeys(n for r in rs for n in r["true"]))
            pixels = sum(r["pixels"] for r in rs)
            out.append({
                "group": g, "keep": keep, "frames": len(rs),
                "mean_psnr": {"auto": _mean(r["auto"] for r in rs),
                              **{n: _mean(r["true"][n] for r in rs if n in r["true"]) for n in names}},
                "chosen": {n: sum(r["chosen"] == n for r in rs) for n in names},
                "auto_minus_linear": {"mean": _mean(vs_linear), "worst": round(min(vs_linear), 3),
                                      "frames_below_tolerance": sum(v < -TOLERANCE_DB for v in vs_linear)},
                "estimate": {"frames": len(est), "mean_error": _mean(errors),
                             "mean_abs_error": _mean(abs(e) for e in errors),
                             "within_1db": sum(abs(e) <= 1 for e in errors),
                             "offset_fit": _mean(r["auto"] - r["raw_estimate"] for r in est)},
                "decode_mp_per_s": {n: round(pixels / 1e6 / sum(r["seconds"][n] for r in rs), 2)
                                    for n in ["auto", *names] if all(n in r["seconds"] for r in rs)},
            })
    return out


def _mean(values) -> float | None:
    v = list(values)
    return round(float(np.mean(v)), 3) if v else None


def markdown(result: dict) -> str:
    """The summary as Markdown tables, one row per group and keep."""
    lines = [f"`{result['command']}`", "",
             f"Mask kind {result['mask']}; estimated PSNR offsets in use (keep, dB): {result['estimate_offset_db']}. "
             f"auto - linear: mean, worst frame, frames more than {result['tolerance_db']} dB below.", "",
             "| images | keep | frames | auto | linear | nconv | model | auto chose | auto - linear (mean, worst, "
             "below) | estimate error (mean, mean abs) | within 1 dB | true - raw estimate | decode MP/s auto, model |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in result["summary"]:
        p, e, a = s["mean_psnr"], s["estimate"], s["auto_minus_linear"]
        model = next((n for n in p if n not in ("auto", "linear", "nconv")), None)
        chose = ", ".join(f"{n} {c}" for n, c in s["chosen"].items() if c)
        lines.append(f"| {s['group']} | {s['keep']:g} | {s['frames']} | {p['auto']:.2f} | {p['linear']:.2f} | "
                     f"{p['nconv']:.2f} | {f'{p[model]:.2f} ({model})' if model else '-'} | {chose} | "
                     f"{a['mean']:+.3f}, {a['worst']:+.3f}, {a['frames_below_tolerance']} | "
                     + (f"{e['mean_error']:+.2f}, {e['mean_abs_error']:.2f} | {e['within_1db']} of {e['frames']} | "
                        f"{e['offset_fit']:+.2f} |" if e["frames"] else "- | - | - |")
                     + f" {s['decode_mp_per_s']['auto']:.2f}, "
                       f"{s['decode_mp_per_s'].get(model, float('nan')) if model else float('nan'):.2f} |")
    return "\n".join(lines) + "\n"


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the ``bench-auto`` arguments to ``p``."""
    from ..options import argument
    from ..options import parse_keeps
    p.description = ("Encode each image once per keep and decode it with auto (maskcodec.decode_report) and with "
                     "each inpainter auto tries, and nconv; per folder of images, report whether auto ever trails linear "
                     "interpolation and how close its estimated PSNR comes to the true one.")
    p.epilog = ("example: maskcodec bench-auto ../shared/data/mars_rgb/val ../shared/data/mars_rgb_m2020/val "
                "-o benchmarks/results/auto_val")
    p.add_argument("inputs", nargs="+", help="images or folders of images (one table row per folder)")
    p.add_argument("-o", "--output", default="bench-out", help="folder for auto.json and auto.md (default bench-out)")
    p.add_argument("--keep", type=argument(parse_keeps), default=KEEPS,
                   help=f"comma-separated keep fractions (default {','.join(f'{k:g}' for k in KEEPS)})")
    p.add_argument("--per-folder", type=int, default=None, metavar="N",
                   help="take N images of each folder, evenly spaced by name (default: all)")
    p.add_argument("--mask", choices=sorted(KIND_IDS), default=DEFAULT_KIND,
                   help=f"mask kind of the files (default {DEFAULT_KIND})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``maskcodec bench-auto`` from parsed arguments."""
    from ..errors import InvalidInputError
    from ..io.images import find_images
    if args.per_folder is not None and args.per_folder < 1:
        raise InvalidInputError(f"--per-folder must be a positive number of images, got {args.per_folder}")
    command = (f"maskcodec bench-auto {' '.join(args.inputs)} -o {args.output} "
               f"--keep {','.join(f'{k:g}' for k in args.keep)}"
               + (f" --per-folder {args.per_folder}" if args.per_folder else "")
               + (f" --mask {args.mask}" if args.mask != DEFAULT_KIND else ""))
    result = run_auto_bench(find_images(args.inputs), Path(args.output), keeps=args.keep,
                            per_folder=args.per_folder, mask=args.mask, progress=not args.quiet, command=command)
    print((Path(args.output) / "auto.md").read_text())
    print(f"results in {args.output}/auto.json and auto.md ({len(result['frames'])} decodes)")
    return 0
