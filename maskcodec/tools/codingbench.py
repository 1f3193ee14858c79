"""``coding`` benchmark: what a kept pixel costs, what a bounded error buys, and what a refinement chain costs.

Per image (blue-noise mask, seed ``SEED + image index``):

1. **Bits per kept pixel** at each keep: the scan-coded file (spec section 6,
   every file before predictive coding) against the predictive one (6.5),
   same mask; and the seconds each encode took (once each, rough).
2. **The bounded-error curve**: for each ``max_error``, the predictive file of
   the largest keep whose bytes do not exceed the scan-coded file at the
   reference keep (``--match-keep``, default 0.1), and its PSNR as
   :func:`maskcodec.decode` fills it (``auto``), against the scan-coded file's.
3. **The refinement chain** ``--chain`` (default 0.01 -> 0.1 -> 1.0, exact):
   its total bytes against the one-shot predictive file at the chain's last
   keep, and (when the chain ends at 1.0) the lossless anchors on the same
   frame: optimized PNG (Pillow), JPEG-XL lossless (effort 7) and JPEG2000
   lossless (reversible 5/3, OpenJPEG), through ``imagecodecs``.

Images are grouped by folder (one camera or product type each); 16-bit images
whose values fit in 12 bits are coded with ``bits=12``. Written to the output
folder: ``coding.json`` (every frame) and ``coding.md``.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np

from ..codec import decode, encode, inspect, refine
from ..io.images import read_image
from ..metrics import psnr
from ..optional import require
from .autobench import folder_group
from .bench import run_timed

__all__ = ["SEED", "KEEPS", "MAX_ERRORS", "CHAIN", "measure", "run_coding_bench", "configure_parser", "run_cli"]

SEED = 3000
KEEPS = (0.5, 0.1, 0.02)
MAX_ERRORS = (0, 1, 2, 4)
CHAIN = (0.01, 0.1, 1.0)
MATCH_KEEP = 0.1


def _bits(image: np.ndarray) -> int:
    return 12 if image.dtype == np.uint16 and int(image.max()) < 4096 else 8 * image.dtype.itemsize


def lossless_anchors(image: np.ndarray) -> dict[str, int]:
    """Bytes of the image as optimized PNG, JPEG-XL lossless and JPEG2000 lossless."""
    from PIL import Image
    codecs = require("imagecodecs", "the lossless anchors of bench-coding")
    plane = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
    buf = io.BytesIO()
    Image.fromarray(plane).save(buf, "PNG", optimize=True)
    return {"png": len(buf.getvalue()),
            "jpegxl_lossless": len(codecs.jpegxl_encode(plane, lossless=True, effort=7)),
            "jpeg2000_lossless": len(codecs.jpeg2k_encode(plane, level=0, reversible=True, bitspersample=_bits(image)))}


def _largest_keep_within(image: np.ndarray, seed: int, bits: int, max_error: int, budget: int) -> tuple[float, bytes]:
    """The predictive file with ``max_error`` of the largest keep (to 1/16384) whose bytes are within ``budget``."""
    lo, hi, best = 1 / 16384, 1.0, None
    for _ in range(14):
        keep = (lo + hi) / 2
        data = encode(image, keep, seed=seed, bits=bits, max_error=max_error)
        if len(data) <= budget:
            lo, best = keep, (keep, data)
        else:
            hi = keep
    return best if best is not None else (lo, encode(image, lo, seed=seed, bits=bits, max_error=max_error))


def measure(image: np.ndarray, seed: int, keeps=KEEPS, max_errors=MAX_ERRORS, chain=CHAIN,
            match_keep: float = MATCH_KEEP) -> dict:
    """Every measurement of one image (see the module's description)."""
    bits = _bits(image)
    pixels = image.shape[0] * image.shape[1]
    row: dict = {"pixels": pixels, "bits": bits, "keeps": {}, "bounded": {}, "chain": {}}
    for keep in keeps:
        scan, t_scan, _ = run_timed(lambda: encode(image, keep, seed=seed, bits=bits, coding="scan"), 1, 0.0)
        pred, t_pred, _ = run_timed(lambda: encode(image, keep, seed=seed, bits=bits), 1, 0.0)
        n = inspect(pred).survivors
        row["keeps"][str(keep)] = {"kept": n, "scan_bits_per_kept": 8 * len(scan) / n,
                                   "predictive_bits_per_kept": 8 * len(pred) / n, "ratio": len(pred) / len(scan),
                                   "encode_s": {"scan": t_scan, "predictive": t_pred}}
    reference = encode(image, match_keep, seed=seed, bits=bits, coding="scan")
    row["bounded"]["scan"] = {"keep": match_keep, "bytes": len(reference), "psnr": psnr(image, decode(reference), bits)}
    for max_error in max_errors:
        keep, data = _largest_keep_within(image, seed, bits, max_error, len(reference))
        row["bounded"][str(max_error)] = {"keep": keep, "bytes": len(data), "psnr": psnr(image, decode(data), bits)}
    files = [encode(image, chain[0], seed=seed, bits=bits)]
    for keep in chain[1:]:
        files.append(refine(image, files, keep))
    one_shot = encode(image, chain[-1], seed=seed, bits=bits)
    row["chain"] = {"keeps": list(chain), "bytes": [len(f) for f in files], "total": sum(map(len, files)),
                    "one_shot": len(one_shot), "overhead": sum(map(len, files)) / len(one_shot) - 1}
    if chain[-1] == 1.0:
        if not (decode(files) == image).all():
            raise AssertionError("a chain ending at keep 1.0 did not decode losslessly")
        row["chain"]["lossless"] = lossless_anchors(image)
    return row


def run_coding_bench(files: list[Path], out_dir: Path, *, keeps=KEEPS, max_errors=MAX_ERRORS, chain=CHAIN,
                     match_keep: float = MATCH_KEEP, progress: bool = True, command: str = "") -> dict:
    """Measure every image of ``files``; write ``coding.json`` and ``coding.md``; return the result."""
    from tqdm import tqdm
    rows = []
    for i, f in enumerate(tqdm(files, desc="bench-coding", unit="image", file=sys.stderr, disable=not progress)):
        rows.append({"group": folder_group(f), "file": f.name,
                     **measure(read_image(f), SEED + i, keeps, max_errors, chain, match_keep)})
    result = {"command": command, "seed": f"{SEED} + image index", "match_keep": match_keep,
              "summary": summarize(rows), "frames": rows}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "coding.json").write_text(json.dumps(result, indent=1))
    (out_dir / "coding.md").write_text(markdown(result))
    return result


def _mean(values) -> float:
    return round(float(np.mean(list(values))), 4)


def summarize(rows: list[dict]) -> list[dict]:
    """Per group: mean bits per kept pixel and byte ratio per keep, the bounded-error curve, the chain."""
    out = []
    for g in dict.fromkeys(r["group"] for r in rows):
        rs = [r for r in rows if r["group"] == g]
        pixels = sum(r["pixels"] for r in rs)
        keeps = {k: {"scan_bits_per_kept": _mean(r["keeps"][k]["scan_bits_per_kept"] for r in rs),
                     "predictive_bits_per_kept": _mean(r["keeps"][k]["predictive_bits_per_kept"] for r in rs),
                     "ratio_mean": _mean(r["keeps"][k]["ratio"] for r in rs),
                     "ratio_worst": round(max(r["keeps"][k]["ratio"] for r in rs), 4),
                     "encode_mp_per_s": {c: round(pixels / 1e6 / sum(r["keeps"][k]["encode_s"][c] for r in rs), 2)
                                         for c in ("scan", "predictive")}}
                 for k in rs[0]["keeps"]}
        bounded = {e: {"keep": _mean(r["bounded"][e]["keep"] for r in rs),
                       "bpp": _mean(8 * r["bounded"][e]["bytes"] / r["pixels"] for r in rs),
                       "psnr": _mean(r["bounded"][e]["psnr"] for r in rs),
                       "gain_db": _mean(r["bounded"][e]["psnr"] - r["bounded"]["scan"]["psnr"] for r in rs),
                       "gain_db_worst": round(min(r["bounded"][e]["psnr"] - r["bounded"]["scan"]["psnr"]
                                                  for r in rs), 3)}
                   for e in rs[0]["bounded"]}
        chain = {"overhead_mean": _mean(r["chain"]["overhead"] for r in rs),
                 "overhead_worst": round(max(r["chain"]["overhead"] for r in rs), 4),
                 "bpp_chain": _mean(8 * r["chain"]["total"] / r["pixels"] for r in rs),
                 "bpp_one_shot": _mean(8 * r["chain"]["one_shot"] / r["pixels"] for r in rs)}
        if all("lossless" in r["chain"] for r in rs):
            for name in rs[0]["chain"]["lossless"]:
                chain[f"bpp_{name}"] = _mean(8 * r["chain"]["lossless"][name] / r["pixels"] for r in rs)
            chain["one_shot_below_png"] = sum(r["chain"]["one_shot"] < r["chain"]["lossless"]["png"] for r in rs)
        out.append({"group": g, "frames": len(rs), "keeps": keeps, "bounded": bounded, "chain": chain})
    return out


def markdown(result: dict) -> str:
    """Three tables: bits per kept pixel, the bounded-error curve, the refinement chain with lossless anchors."""
    s = result["summary"]
    lines = [f"`{result['command']}`", "", "Bits per kept pixel, scan-coded (spec 6) and predictive (6.5), same mask; "
             "ratio = predictive / scan bytes (mean, worst frame); encode MP/s (each encode timed once).", "",
             "| images | frames | keep | scan | predictive | ratio (mean, worst) | encode MP/s scan, predictive |",
             "|---|---|---|---|---|---|---|"]
    for g in s:
        for k, v in g["keeps"].items():
            lines.append(f"| {g['group']} | {g['frames']} | {k} | {v['scan_bits_per_kept']:.2f} | "
                         f"{v['predictive_bits_per_kept']:.2f} | {v['ratio_mean']:.3f}, {v['ratio_worst']:.3f} | "
                         f"{v['encode_mp_per_s']['scan']:.1f}, {v['encode_mp_per_s']['predictive']:.1f} |")
    lines += ["", f"Bounded error at the bytes of the scan-coded file at keep {result['match_keep']}: the largest keep "
              "that fits, its bits per pixel and PSNR (decoded with auto); gain over the scan-coded file (mean, worst).",
              "", "| images | max_error | keep | bpp | PSNR dB | gain dB (mean, worst) |", "|---|---|---|---|---|---|"]
    for g in s:
        for e, v in g["bounded"].items():
            lines.append(f"| {g['group']} | {e} | {v['keep']:.3f} | {v['bpp']:.3f} | {v['psnr']:.2f} | "
                         f"{v['gain_db']:+.2f}, {v['gain_db_worst']:+.2f} |")
    lines += ["", "Refinement chain against the one-shot file at its last keep (bits per pixel; overhead mean, worst) "
              "and lossless anchors when it ends at keep 1.", "",
              "| images | chain bpp | one-shot bpp | overhead (mean, worst) | PNG | JPEG-XL lossless | "
              "JPEG2000 lossless | one-shot < PNG |", "|---|---|---|---|---|---|---|---|"]
    for g in s:
        c = g["chain"]
        anchors = (f"{c['bpp_png']:.3f} | {c['bpp_jpegxl_lossless']:.3f} | {c['bpp_jpeg2000_lossless']:.3f} | "
                   f"{c['one_shot_below_png']} of {g['frames']}" if "bpp_png" in c else "- | - | - | -")
        lines.append(f"| {g['group']} | {c['bpp_chain']:.3f} | {c['bpp_one_shot']:.3f} | "
                     f"{c['overhead_mean']:+.2%}, {c['overhead_worst']:+.2%} | {anchors} |")
    return "\n".join(lines) + "\n"


def _errors(text: str) -> tuple[int, ...]:
    from ..errors import InvalidInputError
    try:
        values = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise InvalidInputError(f"--max-error must be non-negative integers separated by commas, got {text!r}") from None
    if any(v < 0 for v in values):
        raise InvalidInputError(f"--max-error must be non-negative, got {text!r}")
    return values


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the ``bench-coding`` arguments to ``p``."""
    from ..options import argument
    from ..options import parse_keeps
    p.description = ("Per folder of images: bits per kept pixel of scan-coded and predictive files, the PSNR a "
                     "bounded error buys at the bytes of an exact file, and a refinement chain against a one-shot "
                     "file and lossless PNG, JPEG-XL and JPEG2000.")
    p.epilog = "example: maskcodec bench-coding ../shared/data/mars_rgb/val -o benchmarks/results/coding_mars_rgb_val"
    p.add_argument("inputs", nargs="+", help="images or folders of images (one table row per folder)")
    p.add_argument("-o", "--output", default="bench-out", help="folder for coding.json and coding.md (default bench-out)")
    p.add_argument("--keep", type=argument(parse_keeps), default=KEEPS,
                   help=f"keeps of the bits-per-kept-pixel table (default {','.join(f'{k:g}' for k in KEEPS)})")
    p.add_argument("--max-error", type=argument(_errors), default=MAX_ERRORS,
                   help=f"error bounds of the curve (default {','.join(map(str, MAX_ERRORS))})")
    p.add_argument("--match-keep", type=argument(parse_keeps), default=(MATCH_KEEP,),
                   help=f"the keep of the exact scan-coded file whose bytes the curve matches (default {MATCH_KEEP})")
    p.add_argument("--chain", type=argument(parse_keeps), default=CHAIN,
                   help=f"keeps of the refinement chain, increasing (default {','.join(f'{k:g}' for k in CHAIN)})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``maskcodec bench-coding`` from parsed arguments."""
    from ..errors import InvalidInputError
    from ..io.images import find_images
    if list(args.chain) != sorted(set(args.chain)) or len(args.chain) < 2:
        raise InvalidInputError(f"--chain must be two or more increasing keeps, got {args.chain}")
    if len(args.match_keep) != 1:
        raise InvalidInputError(f"--match-keep takes one keep, got {args.match_keep}")
    fmt = lambda values: ",".join(f"{v:g}" for v in values)  # noqa: E731
    command = (f"maskcodec bench-coding {' '.join(args.inputs)} -o {args.output} --keep {fmt(args.keep)} "
               f"--max-error {fmt(args.max_error)} --match-keep {args.match_keep[0]:g} --chain {fmt(args.chain)}")
    result = run_coding_bench(find_images(args.inputs), Path(args.output), keeps=args.keep,
                              max_errors=args.max_error, chain=args.chain, match_keep=args.match_keep[0],
                              progress=not args.quiet, command=command)
    print((Path(args.output) / "coding.md").read_text())
    print(f"results in {args.output}/coding.json and coding.md ({len(result['frames'])} images)")
    return 0
