"""``auto`` benchmark: does ``auto`` ever lose to interpolation, how true is its estimated PSNR, how fast is it?

Each image is encoded once per keep (default settings: blue-noise mask, mask
seed ``SEED + image index``) and decoded by :func:`maskcodec.decode_report`
with ``auto`` and by :func:`maskcodec.decode` with each candidate ``auto``
tries (the model for the image's kind and the classical candidate), ``linear``,
``nconv`` and ``predictor``. Per image: the true PSNR of each, ``auto``'s choice,
its estimated PSNR, its 90% interval and the raw held-back estimate (before
the mask kind's calibration offset).

Each decode is timed once (after the models are loaded), so the decode
speeds, summed over a group, are rough; ``auto`` includes its trial, and the
trial's share is ``auto``'s time less that of its chosen inpainter alone.

Images are grouped by the folder they lie in (one camera or product type per
folder), and every table is per group: mean PSNR per inpainter, ``auto``
against ``linear`` (mean, worst frame, frames more than ``TOLERANCE_DB``
below), the estimate (mean error, share within 1 dB, share inside its
interval). Run on training frames, :func:`calibration` gives the mask kind's
``trial_calibration_db``; it is never fitted on validation frames.

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

from ..codec import decode, decode_report, encode, inspect
from ..inpainting import CLASSICAL_NAMES
from ..io.images import read_image
from .. import masks
from ..masks import DEFAULT_KIND
from ..masks import KIND_IDS
from ..metrics import psnr

__all__ = ["folder_group", "SEED", "TOLERANCE_DB", "KEEPS", "measure", "run_auto_bench", "configure_parser", "run_cli"]

SEED = 2000
TOLERANCE_DB = 0.05  # auto may trail the best classical fill by this much on a frame (the goal's tolerance)
KEEPS = (0.5, 0.1, 0.02)
D_KEEP = 0.2  # the keep at which --max-error measures the d-aware models against the models they continue


def measure(image: np.ndarray, keep: float, seed: int, mask: str = DEFAULT_KIND, others: bool = True) -> dict:
    """One frame at one keep: true PSNR of ``auto`` and (``others``) of each candidate and classical fill,
    ``auto``'s choice and estimates, and the seconds each decode took (once each: a rough figure, summed over
    frames in the summary)."""
    data = encode(image, keep, seed=seed, mask=mask)
    t = time.perf_counter()
    out, report = decode_report(data)
    seconds = {"auto": time.perf_counter() - t}
    bits = 8 * image.dtype.itemsize
    true = {}
    for name in dict.fromkeys([*report.candidates, report.inpainter, *CLASSICAL_NAMES] if others else []):
        t = time.perf_counter()
        true[name] = psnr(image, decode(data, inpainter=name), bits)
        seconds[name] = time.perf_counter() - t
    row = {"keep": keep, "bytes": len(data), "pixels": image.shape[0] * image.shape[1],
           "auto": psnr(image, out, bits), "chosen": report.inpainter,
           "true": true, "estimated": report.estimated_psnr_db, "held_back": report.held_back,
           "candidates_estimated": report.candidates, "seconds": seconds}
    if report.estimated_psnr_db is not None and math.isfinite(report.estimated_psnr_db):
        row["raw_estimate"] = report.estimated_psnr_db - masks.kind_of(mask).trial_calibration_db[0]
        row["interval"] = list(report.interval_db)
    return row


def d_gain(image: np.ndarray, seed: int, max_errors, mask: str = DEFAULT_KIND) -> list[dict]:
    """At each ``max_error`` d, keep :data:`D_KEEP`: PSNR of the d-aware model ``auto`` picks and of the model
    it continues (its training's ``init_from``), both with the kept values as decoded, and whether every kept
    value of the d-aware decode is within d of the original. Nothing where ``auto`` picks no such model."""
    from ..inpainting import choose
    from ..runtime.manifest import load
    bits = 8 * image.dtype.itemsize
    known = masks.mask(image.shape, D_KEEP, seed, mask)
    rows = []
    for d in max_errors:
        data = encode(image, D_KEEP, seed=seed, mask=mask, max_error=d)
        model = choose("auto", inspect(data))
        entry = load().entries.get(model)
        base = entry.raw.get("training", {}).get("init_from") if entry is not None else None
        if base is None:
            continue
        out = decode(data, inpainter=model)
        error = np.abs(out[known].astype(np.int64) - image[known].astype(np.int64))
        rows.append({"max_error": d, "model": model, "base": base, "d_aware": psnr(image, out, bits),
                     "shipped": psnr(image, decode(data, inpainter=base), bits), "within": bool(error.max() <= d)})
    return rows


def folder_group(path: Path) -> str:
    """The table row an image belongs to: its camera folder (``mars_rgb/val``), or its folder's name."""
    return "/".join(path.parent.parts[-2:]) if path.parent.name in ("train", "val") else path.parent.name


def run_auto_bench(files: list[Path], out_dir: Path, keeps=KEEPS, per_folder: int | None = None,
                   mask: str = DEFAULT_KIND, progress: bool = True, command: str = "", others: bool = True,
                   max_errors=()) -> dict:
    """Measure every image of ``files`` at every keep; write ``auto.json`` and ``auto.md``; return the result.

    ``per_folder`` takes that many images of each folder, evenly spaced in
    name order (all when None); without ``others`` only ``auto`` decodes (enough for the estimate and its
    calibration, on many frames). With ``max_errors``, :func:`d_gain` at each of them too.
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
    rows, d_rows = [], []
    with tqdm(total=len(todo) * len(keeps), desc="bench-auto", unit="decode", file=sys.stderr,
              disable=not progress) as bar:
        for i, (g, f) in enumerate(todo):
            image = read_image(f)
            for keep in keeps:
                rows.append({"group": g, "file": f.name, **measure(image, keep, SEED + i, mask, others)})
                bar.update()
            d_rows += [{"group": g, "file": f.name, **r} for r in d_gain(image, SEED + i, max_errors, mask)]
    result = {"command": command, "seed": f"{SEED} + image index", "mask": mask, "tolerance_db": TOLERANCE_DB,
              "calibration_in_use_db": masks.kind_of(mask).trial_calibration_db, "calibration_fit_db": calibration(rows),
              "summary": summarize(rows), "frames": rows, "d_keep": D_KEEP, "d_summary": summarize_d(d_rows),
              "d_frames": d_rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "auto.json").write_text(json.dumps(result, indent=1))
    (out_dir / "auto.md").write_text(markdown(result))
    return result


def summarize(rows: list[dict]) -> list[dict]:
    """Per group and keep: mean PSNRs, ``auto`` against the best classical fill of each frame, the estimate's errors
    and interval coverage, the fitted offset, decode speeds and the trial's share of ``auto``'s time."""
    out = []
    for g in dict.fromkeys(r["group"] for r in rows):
        for keep in dict.fromkeys(r["keep"] for r in rows if r["group"] == g):
            rs = [r for r in rows if r["group"] == g and r["keep"] == keep]
            vs_classical = [r["auto"] - max(r["true"][n] for n in CLASSICAL_NAMES) for r in rs
                            if all(n in r["true"] for n in CLASSICAL_NAMES)]
            est = [r for r in rs if "raw_estimate" in r]
            errors = [r["estimated"] - r["auto"] for r in est]
            names = list(dict.fromkeys(n for r in rs for n in r["true"]))
            pixels = sum(r["pixels"] for r in rs)
            out.append({
                "group": g, "keep": keep, "frames": len(rs),
                "mean_psnr": {"auto": _mean(r["auto"] for r in rs),
                              **{n: _mean(r["true"][n] for r in rs if n in r["true"]) for n in names}},
                "chosen": {n: sum(r["chosen"] == n for r in rs) for n in dict.fromkeys(r["chosen"] for r in rs)},
                "auto_minus_best_classical": {"mean": _mean(vs_classical),
                                              "worst": round(min(vs_classical), 3) if vs_classical else None,
                                              "frames_below_tolerance": sum(v < -TOLERANCE_DB for v in vs_classical)},
                "estimate": {"frames": len(est), "mean_error": _mean(errors),
                             "mean_abs_error": _mean(abs(e) for e in errors),
                             "within_1db": sum(abs(e) <= 1 for e in errors),
                             "in_interval": sum(r["interval"][0] <= r["auto"] <= r["interval"][1] for r in est),
                             "mean_interval_width": _mean(r["interval"][1] - r["interval"][0] for r in est),
                             "offset_fit": _mean(r["auto"] - r["raw_estimate"] for r in est)},
                "trial_share": _mean(1 - r["seconds"][r["chosen"]] / r["seconds"]["auto"] for r in rs
                                     if r["chosen"] in r["seconds"]),
                "decode_mp_per_s": {n: round(pixels / 1e6 / sum(r["seconds"][n] for r in rs), 2)
                                    for n in ["auto", *names] if all(n in r["seconds"] for r in rs)},
            })
    return out


def calibration(rows: list[dict]) -> list[float] | None:
    """The trial calibration these frames give (how a mask kind's ``trial_calibration_db`` is measured, on
    training frames only): the median of true minus raw estimate, and the 5% and 95% quantiles of the same
    around it, dB, rounded to 0.05 dB."""
    d = [r["auto"] - r["raw_estimate"] for r in rows if "raw_estimate" in r and math.isfinite(r["auto"])]
    if not d:
        return None
    offset = float(np.median(d))
    return [round(v * 20) / 20 for v in (offset, np.quantile(d, 0.05) - offset, np.quantile(d, 0.95) - offset)]


def summarize_d(rows: list[dict]) -> list[dict]:
    """Per group and ``max_error``: the d-aware model's mean gain over the model it continues, the worst
    frame's, and whether every kept value stayed within d."""
    out = []
    for g in dict.fromkeys(r["group"] for r in rows):
        for d in dict.fromkeys(r["max_error"] for r in rows if r["group"] == g):
            rs = [r for r in rows if r["group"] == g and r["max_error"] == d]
            gains = [r["d_aware"] - r["shipped"] for r in rs]
            out.append({"group": g, "max_error": d, "frames": len(rs), "models": f"{rs[0]['model']} vs {rs[0]['base']}",
                        "d_aware": _mean(r["d_aware"] for r in rs), "shipped": _mean(r["shipped"] for r in rs),
                        "gain_mean": _mean(gains), "gain_worst": round(min(gains), 3),
                        "all_within": all(r["within"] for r in rs)})
    return out


def _num(value, fmt: str = ".2f") -> str:
    """A table cell: ``value`` formatted, or "-" where it was not measured."""
    return "-" if value is None else format(value, fmt)


def _mean(values) -> float | None:
    v = list(values)
    return round(float(np.mean(v)), 3) if v else None


def markdown(result: dict) -> str:
    """The summary as Markdown tables, one row per group and keep."""
    lines = [f"`{result['command']}`", "",
             f"Mask kind {result['mask']}; trial calibration in use (offset, 90% interval low and high ends, dB): "
             f"{result['calibration_in_use_db']}; these frames would give {result['calibration_fit_db']}. "
             f"auto - best classical: against the best classical fill of each frame: mean, worst frame, frames more "
             f"than {result['tolerance_db']} dB below. Trial share: "
             f"the part of auto's decode time that its held-back trial takes (one timing per frame).", "",
             f"| images | keep | frames | auto | {' | '.join(CLASSICAL_NAMES)} | model | auto chose | auto - best "
             "classical (mean, worst, below) | estimate error (mean, mean abs) | within 1 dB | in 90% interval (mean "
             "width) | true - raw estimate | decode MP/s auto, model, classical | trial share |",
             "|---" * (13 + len(CLASSICAL_NAMES)) + "|"]
    for s in result["summary"]:
        p, e, a = s["mean_psnr"], s["estimate"], s["auto_minus_best_classical"]
        model = next((n for n in p if n != "auto" and n not in CLASSICAL_NAMES), None)
        chose = ", ".join(f"{n} {c}" for n, c in s["chosen"].items() if c)
        speeds = s["decode_mp_per_s"]
        lines.append(f"| {s['group']} | {s['keep']:g} | {s['frames']} | {p['auto']:.2f} | "
                     + "".join(f"{_num(p.get(n))} | " for n in CLASSICAL_NAMES)
                     + f"{f'{_num(p[model])} ({model})' if model else '-'} | {chose} | "
                     f"{_num(a['mean'], '+.3f')}, {_num(a['worst'], '+.3f')}, {a['frames_below_tolerance']} | "
                     + (f"{e['mean_error']:+.2f}, {e['mean_abs_error']:.2f} | {e['within_1db']} of {e['frames']} | "
                        f"{e['in_interval']} of {e['frames']} ({e['mean_interval_width']:.1f} dB) | "
                        f"{e['offset_fit']:+.2f} |" if e["frames"] else "- | - | - | - |")
                     + f" {_num(speeds.get('auto'))}, {_num(speeds.get(model))}, "
                     + ", ".join(f"{n} {_num(speeds.get(n))}" for n in CLASSICAL_NAMES)
                     + f" | {_num(s['trial_share'] and 100 * s['trial_share'], '.0f')}% |")
    if result["d_summary"]:
        lines += ["", f"d-aware models at keep {result['d_keep']:g}, kept values as decoded (both columns):", "",
                  "| images | max_error | frames | models | d-aware | shipped | gain (mean, worst) | every kept value "
                  "within d |", "|---|---|---|---|---|---|---|---|"]
        lines += [f"| {s['group']} | {s['max_error']} | {s['frames']} | {s['models']} | {s['d_aware']:.2f} | "
                  f"{s['shipped']:.2f} | {s['gain_mean']:+.3f}, {s['gain_worst']:+.3f} | {s['all_within']} |"
                  for s in result["d_summary"]]
    return "\n".join(lines) + "\n"


def parse_max_errors(text: str) -> tuple[int, ...]:
    """``--max-error`` values: comma-separated whole numbers of at least 1.

    >>> parse_max_errors("2,4,8")
    (2, 4, 8)
    """
    from ..errors import InvalidInputError
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if not values or min(values) < 1:
        raise InvalidInputError(f"--max-error must be comma-separated whole numbers of at least 1, like 2,4,8; got {text!r}")
    return values


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the ``bench-auto`` arguments to ``p``."""
    from ..options import argument
    from ..options import parse_keeps
    p.description = ("Encode each image once per keep and decode it with auto (maskcodec.decode_report), with "
                     "each inpainter auto tries and with every classical fill; per folder of images, report whether "
                     "auto ever trails the best classical fill, how close its estimated PSNR comes to the true one, "
                     "how often the truth lies in its 90%% interval, and decode speeds. On training frames it also "
                     "measures the trial calibration a mask kind carries.")
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
    p.add_argument("--max-error", type=argument(parse_max_errors), default=(), metavar="D,D,...",
                   help=f"also measure the d-aware models at keep {D_KEEP:g} with these max_error values "
                        "against the models they continue (e.g. 2,4,8)")
    p.add_argument("--auto-only", action="store_true",
                   help="decode with auto alone (its estimate and the calibration, not the comparisons)")
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
               + (f" --mask {args.mask}" if args.mask != DEFAULT_KIND else "") + (" --auto-only" if args.auto_only else "")
               + (f" --max-error {','.join(map(str, args.max_error))}" if args.max_error else ""))
    result = run_auto_bench(find_images(args.inputs), Path(args.output), keeps=args.keep, per_folder=args.per_folder,
                            mask=args.mask, progress=not args.quiet, command=command, others=not args.auto_only,
                            max_errors=args.max_error)
    print((Path(args.output) / "auto.md").read_text())
    print(f"results in {args.output}/auto.json and auto.md ({len(result['frames'])} decodes)")
    return 0
