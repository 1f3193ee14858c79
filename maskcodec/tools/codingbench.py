"""``coding`` benchmark: what a kept pixel costs, what a bounded error buys, and what a refinement chain costs.

Per image (blue-noise mask, seed ``SEED + image index``):

1. **Bits per kept pixel** at each keep: the scan-coded file (spec section 6,
   every file before predictive coding) against the default coding (ranked,
   6.7; the JSON keys say ``predictive``, the default when they were named),
   same mask; and the seconds each encode took (once each, rough).
2. **The bounded-error curve**: for each ``max_error``, the predictive file of
   the largest keep whose bytes do not exceed the scan-coded file at the
   reference keep (``--match-keep``, default 0.1), and its PSNR as
   :func:`maskcodec.decode` fills it (``auto``), against the scan-coded file's.
3. **Near-lossless at keep 1** (issue 28): for each ``max_error`` d of
   ``--near``, the bytes and encode/decode seconds of maskcodec's default
   coding (ranked, spec 6.7) and of JPEG-LS (CharLS, ``imagecodecs.jpegls_encode``
   with ``level=d``) at the same maximum error, with the Rice-coded predictive
   file (6.5) beside them; at d = 0 also JPEG-XL lossless (effort 7). Codecs are
   interleaved frame by frame.
4. **The refinement chain** ``--chain`` (default 0.01 -> 0.1 -> 1.0, exact):
   its total bytes against the one-shot predictive file at the chain's last
   keep, and (when the chain ends at 1.0) the lossless anchors on the same
   frame: optimized PNG (Pillow), JPEG-XL lossless (effort 7) and JPEG2000
   lossless (reversible 5/3, OpenJPEG), through ``imagecodecs``.

Images are grouped by folder (one camera or product type each); 16-bit images
whose values fit in 12 bits are coded with ``bits=12``; ``--crop`` takes centre
crops of that side first. Written to the output
folder: ``coding.json`` (every frame) and ``coding.md``.
"""
from __future__ import annotations

import argparse
import io
import json
import sys
from pathlib import Path

import numpy as np

from ..codec import decode, encode, inspect, refine, survivors
from ..io.images import read_image
from ..metrics import psnr
from ..optional import require
from .autobench import folder_group
from .bench import run_timed

__all__ = ["SEED", "KEEPS", "MAX_ERRORS", "NEAR", "CHAIN", "measure", "near_lossless", "run_coding_bench",
           "configure_parser", "run_cli"]

SEED = 3000
KEEPS = (0.5, 0.1, 0.02)
MAX_ERRORS = (0, 1, 2, 4)
NEAR = (0, 1, 2, 4, 8)
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


def near_lossless(image: np.ndarray, seed: int, bits: int, near=NEAR) -> dict:
    """Keep 1 at each maximum error: maskcodec (ranked, and Rice-coded predictive) against JPEG-LS at the same
    error, bytes and seconds (each coded once), and JPEG-XL lossless at 0; every maskcodec value checked."""
    codecs = require("imagecodecs", "the JPEG-LS and JPEG-XL anchors of bench-coding")
    plane = image[..., 0] if image.ndim == 3 and image.shape[2] == 1 else image
    out = {}
    for d in near:
        data, t_enc, _ = run_timed(lambda: encode(image, 1.0, seed=seed, bits=bits, max_error=d), 1, 0.0)
        (_, kept, values), t_dec, _ = run_timed(lambda: survivors(data), 1, 0.0)
        if not kept.all() or np.abs(values.reshape(image.shape).astype(np.int64) - image).max() > d:
            raise AssertionError(f"a keep-1 file with max_error {d} decoded outside its bound")
        rice = encode(image, 1.0, seed=seed, bits=bits, max_error=d, coding="predictive")
        jls, t_jenc, _ = run_timed(lambda: codecs.jpegls_encode(plane, level=d), 1, 0.0)
        _, t_jdec, _ = run_timed(lambda: codecs.jpegls_decode(jls), 1, 0.0)
        out[str(d)] = {"bytes": len(data), "predictive_bytes": len(rice), "jpegls_bytes": len(jls),
                       "seconds": {"encode": t_enc, "decode": t_dec, "jpegls_encode": t_jenc, "jpegls_decode": t_jdec}}
        if d == 0:
            out[str(d)]["jpegxl_bytes"] = len(codecs.jpegxl_encode(plane, lossless=True, effort=7))
    return out


def measure(image: np.ndarray, seed: int, keeps=KEEPS, max_errors=MAX_ERRORS, chain=CHAIN,
            match_keep: float = MATCH_KEEP, near=NEAR) -> dict:
    """Every measurement of one image (see the module's description)."""
    bits = _bits(image)
    pixels = image.shape[0] * image.shape[1]
    row: dict = {"pixels": pixels, "bits": bits, "keeps": {}, "bounded": {}, "chain": {},
                 "near_lossless": near_lossless(image, seed, bits, near)}
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


def _centre(image: np.ndarray, crop: int | None) -> np.ndarray:
    if crop is None:
        return image
    h, w = image.shape[:2]
    top, left = max(0, (h - crop) // 2), max(0, (w - crop) // 2)
    return np.ascontiguousarray(image[top:top + crop, left:left + crop])


def run_coding_bench(files: list[Path], out_dir: Path, *, keeps=KEEPS, max_errors=MAX_ERRORS, chain=CHAIN,
                     match_keep: float = MATCH_KEEP, near=NEAR, crop: int | None = None, progress: bool = True,
                     command: str = "") -> dict:
    """Measure every image of ``files``; write ``coding.json`` and ``coding.md``; return the result."""
    from tqdm import tqdm
    rows = []
    for i, f in enumerate(tqdm(files, desc="bench-coding", unit="image", file=sys.stderr, disable=not progress)):
        rows.append({"group": folder_group(f), "file": f.name,
                     **measure(_centre(read_image(f), crop), SEED + i, keeps, max_errors, chain, match_keep, near)})
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
        near = {}
        for d in rs[0]["near_lossless"]:
            cells = [r["near_lossless"][d] for r in rs]
            seconds = {k: sum(c["seconds"][k] for c in cells) for k in cells[0]["seconds"]}
            near[d] = {"vs_jpegls_mean": _mean(c["bytes"] / c["jpegls_bytes"] for c in cells),
                       "vs_jpegls_worst": round(max(c["bytes"] / c["jpegls_bytes"] for c in cells), 4),
                       "vs_predictive_mean": _mean(c["bytes"] / c["predictive_bytes"] for c in cells),
                       "bpp": _mean(8 * c["bytes"] / r["pixels"] for c, r in zip(cells, rs)),
                       "mp_per_s": {k: round(pixels / 1e6 / v, 2) for k, v in seconds.items()}}
            if "jpegxl_bytes" in cells[0]:
                near[d]["vs_jpegxl_mean"] = _mean(c["bytes"] / c["jpegxl_bytes"] for c in cells)
                near[d]["vs_jpegxl_worst"] = round(max(c["bytes"] / c["jpegxl_bytes"] for c in cells), 4)
        out.append({"group": g, "frames": len(rs), "keeps": keeps, "bounded": bounded, "chain": chain,
                    "near_lossless": near})
    return out


def markdown(result: dict) -> str:
    """Three tables: bits per kept pixel, the bounded-error curve, the refinement chain with lossless anchors."""
    s = result["summary"]
    lines = [f"`{result['command']}`", "", "Bits per kept pixel, scan-coded (spec 6) and in the default coding (ranked, "
             "6.7; predictive, 6.5, before ranked coding existed), same mask; ratio = default / scan bytes (mean, "
             "worst frame); encode MP/s (each encode timed once).", "",
             "| images | frames | keep | scan | default | ratio (mean, worst) | encode MP/s scan, default |",
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
    lines += ["", "Near-lossless at keep 1: maskcodec bytes / JPEG-LS bytes at the same maximum error d (mean, worst "
              "frame), / the Rice-coded predictive file (mean), / JPEG-XL lossless at d = 0 (mean, worst); MP/s of "
              "maskcodec and JPEG-LS encode and decode (each coded once).", "",
              "| images | d | bpp | vs JPEG-LS (mean, worst) | vs Rice | vs JPEG-XL (mean, worst) | "
              "encode MP/s ours, JPEG-LS | decode MP/s ours, JPEG-LS |", "|---|---|---|---|---|---|---|---|"]
    for g in s:
        for d, v in g["near_lossless"].items():
            xl = f"{v['vs_jpegxl_mean']:.3f}, {v['vs_jpegxl_worst']:.3f}" if "vs_jpegxl_mean" in v else "-"
            m = v["mp_per_s"]
            lines.append(f"| {g['group']} | {d} | {v['bpp']:.3f} | {v['vs_jpegls_mean']:.3f}, {v['vs_jpegls_worst']:.3f}"
                         f" | {v['vs_predictive_mean']:.3f} | {xl} | {m['encode']:.2f}, {m['jpegls_encode']:.2f} | "
                         f"{m['decode']:.2f}, {m['jpegls_decode']:.2f} |")
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
                     "bounded error buys at the bytes of an exact file, keep 1 at each maximum error against JPEG-LS "
                     "(and JPEG-XL lossless), and a refinement chain against a one-shot file and lossless PNG, "
                     "JPEG-XL and JPEG2000.")
    p.epilog = "example: maskcodec bench-coding ../shared/data/mars_rgb/val -o benchmarks/results/coding_mars_rgb_val"
    p.add_argument("inputs", nargs="+", help="images or folders of images (one table row per folder)")
    p.add_argument("-o", "--output", default="bench-out", help="folder for coding.json and coding.md (default bench-out)")
    p.add_argument("--keep", type=argument(parse_keeps), default=KEEPS,
                   help=f"keeps of the bits-per-kept-pixel table (default {','.join(f'{k:g}' for k in KEEPS)})")
    p.add_argument("--max-error", type=argument(_errors), default=MAX_ERRORS,
                   help=f"error bounds of the curve (default {','.join(map(str, MAX_ERRORS))})")
    p.add_argument("--match-keep", type=argument(parse_keeps), default=(MATCH_KEEP,),
                   help=f"the keep of the exact scan-coded file whose bytes the curve matches (default {MATCH_KEEP})")
    p.add_argument("--near", type=argument(_errors), default=NEAR,
                   help=f"maximum errors of the keep-1 comparison with JPEG-LS (default {','.join(map(str, NEAR))})")
    p.add_argument("--crop", type=int, default=None, metavar="N",
                   help="measure N x N centre crops of the images (default: whole images)")
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
               f"--max-error {fmt(args.max_error)} --match-keep {args.match_keep[0]:g} --chain {fmt(args.chain)} "
               f"--near {fmt(args.near)}" + (f" --crop {args.crop}" if args.crop else ""))
    if args.crop is not None and args.crop < 8:
        raise InvalidInputError(f"--crop must be at least 8 pixels, got {args.crop}")
    result = run_coding_bench(find_images(args.inputs), Path(args.output), keeps=args.keep,
                              max_errors=args.max_error, chain=args.chain, match_keep=args.match_keep[0],
                              near=args.near, crop=args.crop, progress=not args.quiet, command=command)
    print((Path(args.output) / "coding.md").read_text())
    print(f"results in {args.output}/coding.json and coding.md ({len(result['frames'])} images)")
    return 0
