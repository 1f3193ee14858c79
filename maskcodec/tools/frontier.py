"""``bench-frontier``: which keep and ``max_error`` give the best default decode at each bit rate, per kind of image.

The byte budgets of :mod:`maskcodec.budgets` (``encode(..., bpp=...)``,
``--max-bytes``, ``--bpp``, ``--ratio``) start from the pair this measures.
For every image (a centre crop of ``CROP`` pixels), every keep of
``KEEPS`` and every ``max_error`` of ``MAX_ERRORS`` (on the 8-bit scale: times
16 for 12-bit samples): the default file
(ranked coding, blue-noise mask, seed ``SEED + image index``), its bits per
pixel, and the PSNR of :func:`maskcodec.decode` (``auto``) against the crop.
Images are grouped by their *kind* (:func:`maskcodec.budgets.image_kind`:
colour or gray, 8 or more bits); per kind, each pair's mean bpp and mean PSNR
over the kind's images, and the *frontier*: the pairs no other pair beats on
both. Written to the output folder: ``frontier.json`` (what
:mod:`maskcodec.budgets` reads; ``--install`` also copies it into the package,
``maskcodec/budget_frontier.json``) and ``frontier.md``.

Run on training frames only (``train/`` folders): the budgets are then
checked on validation frames by ``maskcodec bench-budget``.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np

from ..budgets import FRONTIER_FILE, image_kind
from ..codec import decode, encode
from ..errors import InvalidInputError
from ..io.images import find_images, read_image
from ..metrics import psnr

__all__ = ["SEED", "KEEPS", "MAX_ERRORS", "measure", "frontier_of", "run_frontier", "files_of", "configure_parser",
           "run_cli"]

SEED = 2900
KEEPS = (0.02, 0.04, 0.07, 0.1, 0.15, 0.22, 0.32, 0.45, 0.65, 1.0)
MAX_ERRORS = (0, 1, 2, 3, 4, 6, 8, 12)
LOSSLESS_DB = 100.0  # a lossless decode's PSNR in the means (it is infinite)


def centre(image: np.ndarray, side: int) -> np.ndarray:
    """The centre crop of ``side`` pixels (the whole image where it is smaller)."""
    h, w = image.shape[:2]
    y, x = max(0, (h - side) // 2), max(0, (w - side) // 2)
    return np.ascontiguousarray(image[y:y + side, x:x + side])


def significant_bits(image: np.ndarray) -> int:
    """12 for 16-bit images whose values fit in 12 bits, else the dtype's width."""
    return 12 if image.dtype == np.uint16 and int(image.max()) < 4096 else 8 * image.dtype.itemsize


def measure(image: np.ndarray, seed: int, keeps=KEEPS, max_errors=MAX_ERRORS) -> list[dict]:
    """Bits per pixel and default-decode PSNR of ``image`` for every keep and ``max_error`` (given, and recorded,
    on the 8-bit scale)."""
    bits = significant_bits(image)
    scale = 1 << max(0, bits - 8)  # errors on the 8-bit scale: 12-bit samples take 16 times as much
    rows = []
    for e in max_errors:
        if e * scale > (1 << (bits - 1)) - 1:
            continue
        for keep in keeps:
            data = encode(image, keep, seed=seed, bits=bits, max_error=e * scale)
            rows.append({"keep": keep, "max_error": e, "bpp": 8 * len(data) / (image.shape[0] * image.shape[1]),
                         "psnr_db": min(psnr(image, decode(data), bits), LOSSLESS_DB)})
    return rows


def frontier_of(points: list[dict]) -> list[dict]:
    """The points no other point beats on both bpp (lower) and PSNR (higher), by bpp."""
    out = []
    for p in sorted(points, key=lambda p: (p["bpp"], -p["psnr_db"])):
        if not out or p["psnr_db"] > out[-1]["psnr_db"]:
            out.append(p)
    return out


def run_frontier(files: list[Path], out_dir: Path, crop: int = 384, keeps=KEEPS, max_errors=MAX_ERRORS,
                 progress: bool = True) -> dict:
    """Measure every image of ``files``; write ``frontier.json`` and ``frontier.md``; return the result."""
    per_kind: dict[str, list[list[dict]]] = {}
    names: dict[str, list[str]] = {}
    for i, f in enumerate(files):
        try:
            image = centre(read_image(f), crop)
        except InvalidInputError as e:  # float arrays, damaged files: not what budgets code
            print(f"skipped: {e}", file=sys.stderr)
            continue
        kind = image_kind(image.shape[2] if image.ndim == 3 else 1, significant_bits(image))
        per_kind.setdefault(kind, []).append(measure(image, SEED + i, keeps, max_errors))
        names.setdefault(kind, []).append(Path(f).name)
        if progress:
            print(f"[{i + 1}/{len(files)}] {f} ({kind})", file=sys.stderr)
    kinds = {}
    for kind, frames in per_kind.items():
        points = [{"keep": r["keep"], "max_error": r["max_error"],
                   "bpp": float(np.mean([fr[j]["bpp"] for fr in frames])),
                   "psnr_db": float(np.mean([fr[j]["psnr_db"] for fr in frames]))}
                  for j, r in enumerate(frames[0])]
        kinds[kind] = {"images": names[kind], "points": points, "frontier": frontier_of(points)}
    result = {"crop": crop, "seed": SEED, "keeps": list(keeps), "max_errors": list(max_errors), "kinds": kinds}
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "frontier.json").write_text(json.dumps(result, indent=1) + "\n")
    (out_dir / "frontier.md").write_text(markdown(result))
    return result


def markdown(result: dict) -> str:
    lines = [f"# Keep and max_error frontier (centre crops of {result['crop']} px, default decode)", ""]
    for kind, k in result["kinds"].items():
        lines += [f"## {kind} ({len(k['images'])} images)", "", "| bpp | PSNR dB | keep | max_error |",
                  "|---|---|---|---|"]
        lines += [f"| {p['bpp']:.3f} | {p['psnr_db']:.2f} | {p['keep']} | {p['max_error']} |" for p in k["frontier"]]
        lines.append("")
    return "\n".join(lines)


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.description = ("Measure, on training frames, which keep and --max-error give the best default decode at each "
                     "bit rate, per kind of image (colour or gray, 8 or 12+ bits): the frontier that byte budgets "
                     "(--max-bytes, --bpp, --ratio) start from. Example: maskcodec bench-frontier "
                     "../shared/data/mars_rgb/train ../shared/data/rover_gray --per-folder 6 --install")
    p.add_argument("inputs", nargs="+", help="images or folders of images (training frames)")
    p.add_argument("-o", "--output", default="bench-out", help="folder for frontier.json and frontier.md "
                                                                "(default bench-out)")
    p.add_argument("--crop", type=int, default=384, help="centre crop side in pixels (default 384)")
    p.add_argument("--per-folder", type=int, default=None, help="at most this many images of each folder, "
                                                                 "evenly spaced (default all)")
    p.add_argument("--install", action="store_true",
                   help=f"also copy frontier.json into the package ({FRONTIER_FILE.name}), where budgets read it")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")


def files_of(inputs: list[str], per_folder: int | None) -> list[Path]:
    """The images named by ``inputs``, at most ``per_folder`` of each (evenly spaced)."""
    files = []
    for name in inputs:
        found = find_images([name])
        if per_folder and len(found) > per_folder:
            found = [found[int(i)] for i in np.linspace(0, len(found) - 1, per_folder)]
        files += found
    return files


def run_cli(args: argparse.Namespace) -> int:
    files = files_of(args.inputs, args.per_folder)
    out = Path(args.output)
    result = run_frontier(files, out, crop=args.crop, progress=not args.quiet)
    print((out / "frontier.md").read_text())
    if args.install:
        shutil.copyfile(out / "frontier.json", FRONTIER_FILE)
        print(f"installed as {FRONTIER_FILE}")
    print(f"results in {out}/frontier.json and frontier.md ({sum(len(k['images']) for k in result['kinds'].values())} "
          f"images)")
    return 0
