"""``maskcodec bench-latent``: latent mode's quality ladder against JPEG2000, HTJ2K and JPEG-XL, per camera.

For every image, every installed quality level that fits it (``latent-q<n>``
for colour, ``latent-gray-q<n>`` for gray images) is coded and decoded, and
each anchor codec is swept over its own rate parameter:

- ``jpeg2000``: OpenJPEG, irreversible 9/7, ``mct=1`` for colour, at the rates
  of :data:`J2K_BPP`;
- ``htj2k``: OpenJPH at the quantization steps of :data:`HTJ2K_QSTEPS`;
- ``jpegxl``: libjxl (effort 7) at the distances of :data:`JPEGXL_DISTANCES`.

Per image it reports the Bjøntegaard delta rate and PSNR of the latent curve
against each anchor (over the PSNR range both cover: negative BD-rate means
fewer bytes than the anchor), the PSNR gap to each anchor at each level's own
rate (the anchor interpolated in log-rate), and latent encode and decode
throughput (megapixels per second, the best of ``repeats`` runs after the
untimed quality run). Images are grouped by their folder (``mars_rgb/val``,
``mars_rgb_mahli/val``: one camera each) and summarized per group: mean and
spread of the BD deltas, how many images the latent curve wins, the mean
curves.

Outputs, in ``out_dir``: ``latent.json`` (everything), ``latent.md`` (the
tables) and ``psnr_bpp_<group>.png`` (mean curves, if matplotlib is there).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import time
from functools import partial
from pathlib import Path

import numpy as np

from ..codec import decode, encode, inspect
from ..errors import InvalidInputError
from ..io.images import find_images, read_image
from ..metrics import bits_per_pixel, psnr
from ..optional import require
from ..options import QUALITY_IDS, installed_levels
from .bench import mean_std, bd_psnr, bd_rate

__all__ = ["run_latent_bench", "configure_parser", "run_cli", "J2K_BPP", "HTJ2K_QSTEPS", "JPEGXL_DISTANCES"]

J2K_BPP = (0.02, 0.035, 0.05, 0.08, 0.12, 0.2, 0.3, 0.5, 0.8)
HTJ2K_QSTEPS = tuple(float(v) for v in np.geomspace(0.01, 0.6, 9))
JPEGXL_DISTANCES = tuple(float(v) for v in np.geomspace(1.0, 25.0, 9))
ANCHORS = ("jpeg2000", "htj2k", "jpegxl")
DEFAULT_OUT = "bench-out"  # as every bench


def _anchor_points(image: np.ndarray) -> dict[str, list[dict]]:
    from .reference_codecs import decode_imagecodecs, decode_pil, htj2k_encode, jpeg2000_encode, jpegxl_encode
    raw_bpp = 8 * (image.shape[2] if image.ndim == 3 else 1)
    sweeps = {
        "jpeg2000": [(b, partial(jpeg2000_encode, image, raw_bpp / b), decode_pil) for b in J2K_BPP],
        "htj2k": [(q, partial(htj2k_encode, image, q), decode_imagecodecs) for q in HTJ2K_QSTEPS],
        "jpegxl": [(d, partial(jpegxl_encode, image, d), decode_imagecodecs) for d in JPEGXL_DISTANCES],
    }
    out = {}
    for name, sweep in sweeps.items():
        out[name] = []
        for param, make, dec in sweep:
            data = make()
            out[name].append(dict(param=param, bytes=len(data), bpp=bits_per_pixel(len(data), image.shape),
                                  psnr=psnr(image, dec(data, like=image))))
    return out


def _best_seconds(fn, repeats: int) -> float:
    """The fastest of ``repeats`` runs of ``fn`` (the caller has run it once: sessions and tables are warm)."""
    best = math.inf
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t)
    return best


def _gap_at_rate(anchor: list[dict], bpp: float) -> float | None:
    """The anchor's PSNR at ``bpp``: linear in log-rate between its points; None outside them."""
    pts = sorted((p["bpp"], p["psnr"]) for p in anchor if math.isfinite(p["psnr"]))
    xs, ys = np.log([p[0] for p in pts]), [p[1] for p in pts]
    if not pts or not xs[0] <= math.log(bpp) <= xs[-1]:
        return None
    return float(np.interp(math.log(bpp), xs, ys))


def _bench_image(path: Path, repeats: int) -> dict | None:
    image = read_image(path)
    channels = image.shape[2] if image.ndim == 3 else 1
    levels = ([(q, QUALITY_IDS[channels].format(q)) for q in installed_levels(channels)]
              if channels in QUALITY_IDS else [])
    if image.dtype != np.uint8 or not levels:
        return None
    mp = image.shape[0] * image.shape[1] / 1e6
    latent = []
    for q, model_id in levels:
        data = encode(image, mode="latent", quality=q)
        out = decode(data)
        enc_s = _best_seconds(lambda: encode(image, mode="latent", quality=q), repeats)
        dec_s = _best_seconds(lambda: decode(data), repeats)
        latent.append(dict(quality=q, model=model_id, bytes=len(data), bpp=bits_per_pixel(len(data), image.shape),
                           psnr=psnr(image, out), coder=inspect(data).latent.coder,
                           encode_mp_per_s=mp / enc_s, decode_mp_per_s=mp / dec_s))
    anchors = _anchor_points(image)
    lx, ly = [p["bpp"] for p in latent], [p["psnr"] for p in latent]
    deltas = {}
    for name, pts in anchors.items():
        ax, ay = [p["bpp"] for p in pts], [p["psnr"] for p in pts]
        gaps = []
        for p in latent:
            at = _gap_at_rate(pts, p["bpp"])
            gaps.append(None if at is None else p["psnr"] - at)
        deltas[name] = dict(bd_rate_percent=bd_rate(ax, ay, lx, ly), bd_psnr_db=bd_psnr(ax, ay, lx, ly),
                            gap_db_at_level=gaps)
    return dict(file=str(path), group=f"{path.parent.parent.name}/{path.parent.name}", shape=list(image.shape),
                megapixels=mp, latent=latent, anchors=anchors, deltas=deltas)


def _mean(values) -> float | None:
    return mean_std(list(values))[0]


def _summary(images: list[dict]) -> dict:
    groups = {}
    for g in dict.fromkeys(im["group"] for im in images):
        ims = [im for im in images if im["group"] == g]
        levels = [p["quality"] for p in ims[0]["latent"]]
        row = dict(images=len(ims), levels=[])
        for i, q in enumerate(levels):
            row["levels"].append(dict(
                quality=q, bpp=_mean(im["latent"][i]["bpp"] for im in ims),
                psnr=_mean(im["latent"][i]["psnr"] for im in ims),
                encode_mp_per_s=_mean(im["latent"][i]["encode_mp_per_s"] for im in ims),
                decode_mp_per_s=_mean(im["latent"][i]["decode_mp_per_s"] for im in ims),
                **{f"gap_db_vs_{a}": _mean(im["deltas"][a]["gap_db_at_level"][i] for im in ims) for a in ANCHORS},
                **{f"wins_vs_{a}": sum((im["deltas"][a]["gap_db_at_level"][i] or -1) > 0 for im in ims)
                   for a in ANCHORS}))
        for a in ANCHORS:
            rates = [im["deltas"][a]["bd_rate_percent"] for im in ims]
            rate_mean, rate_std = mean_std(rates)
            row[a] = dict(bd_rate_percent_mean=rate_mean, bd_rate_percent_std=rate_std,
                          bd_psnr_db_mean=_mean(im["deltas"][a]["bd_psnr_db"] for im in ims),
                          images_with_bd=sum(r is not None for r in rates),
                          images_fewer_bytes=sum(r is not None and r < 0 for r in rates))
        groups[g] = row
    return groups


def _fmt(v, spec: str = ".3f") -> str:
    return "-" if v is None else format(v, spec)


def _markdown(report: dict) -> str:
    lines = [f"# bench-latent: {report['images']} images, {report['machine']}", ""]
    for g, row in report["groups"].items():
        lines += [f"## {g} ({row['images']} images)", "",
                  "| anchor | BD-rate (mean +- std) | BD-PSNR | images with fewer bytes |", "|---|---|---|---|"]
        for a in ANCHORS:
            r = row[a]
            lines.append(f"| {a} | {_fmt(r['bd_rate_percent_mean'], '+.1f')}% +- {_fmt(r['bd_rate_percent_std'], '.1f')} "
                         f"| {_fmt(r['bd_psnr_db_mean'], '+.2f')} dB | {r['images_fewer_bytes']} of "
                         f"{r['images_with_bd']} |")
        lines += ["", "| quality | bpp | PSNR dB | vs JPEG2000 | vs HTJ2K | vs JPEG-XL | encode MP/s | decode MP/s |",
                  "|---|---|---|---|---|---|---|---|"]
        for lv in row["levels"]:
            gaps = " | ".join(f"{_fmt(lv[f'gap_db_vs_{a}'], '+.2f')} dB ({lv[f'wins_vs_{a}']} wins)" for a in ANCHORS)
            lines.append(f"| {lv['quality']} | {_fmt(lv['bpp'])} | {_fmt(lv['psnr'], '.2f')} | {gaps} | "
                         f"{_fmt(lv['encode_mp_per_s'], '.2f')} | {_fmt(lv['decode_mp_per_s'], '.2f')} |")
        lines.append("")
    return "\n".join(lines)


def _plot(images: list[dict], out_dir: Path) -> None:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return
    for g in dict.fromkeys(im["group"] for im in images):
        ims = [im for im in images if im["group"] == g]
        fig, ax = plt.subplots(figsize=(6, 4))
        curves = {"latent": [[(p["bpp"], p["psnr"]) for p in im["latent"]] for im in ims]}
        curves |= {a: [[(p["bpp"], p["psnr"]) for p in im["anchors"][a]] for im in ims] for a in ANCHORS}
        for name, per in curves.items():
            pts = np.array(per, float).mean(axis=0)
            ax.plot(pts[:, 0], pts[:, 1], "o-" if name == "latent" else ".--", label=name)
        ax.set_xscale("log")
        ax.set(xlabel="bits per pixel", ylabel="PSNR (dB)", title=f"{g}: mean over {len(ims)} images")
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out_dir / f"psnr_bpp_{g.replace('/', '_')}.png", dpi=110)
        plt.close(fig)


def run_latent_bench(paths, out_dir=DEFAULT_OUT, repeats: int = 3, progress: bool = True) -> dict:
    """Measure the quality ladder against the anchors on the images under ``paths`` and write the report.

    Raises
    ------
    InvalidInputError
        No 8-bit image under ``paths`` has an installed level (colour or gray), or ``repeats`` < 1.
    """
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise InvalidInputError(f"--repeats must be a positive integer, got {repeats!r}")
    require("imagecodecs", "maskcodec bench-latent (HTJ2K and JPEG-XL)")
    from tqdm import tqdm

    files = find_images(paths)
    images = []
    for f in tqdm(files, desc="bench-latent", disable=not progress, unit="image"):
        row = _bench_image(Path(f), repeats)
        if row is not None:
            images.append(row)
    if not images:
        raise InvalidInputError(f"none of the {len(files)} images under {list(map(str, paths))} is an 8-bit colour "
                                f"or gray image with an installed latent quality level")
    report = dict(images=len(images), machine=f"{platform.machine()}, {os.cpu_count()} cores",
                  j2k_bpp=J2K_BPP, htj2k_qsteps=HTJ2K_QSTEPS, jpegxl_distances=JPEGXL_DISTANCES,
                  groups=_summary(images), per_image=images)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    (out / "latent.json").write_text(json.dumps(report, indent=1))
    (out / "latent.md").write_text(_markdown(report))
    _plot(images, out)
    return report


def configure_parser(p: argparse.ArgumentParser) -> None:
    p.description = ("Latent mode's quality levels against JPEG2000 (OpenJPEG, mct=1), HTJ2K (OpenJPH) and "
                     "JPEG-XL, each swept over its own rates: BD-rate and BD-PSNR per image and per camera "
                     "folder, the PSNR gap at each level's rate, latent encode/decode speed. Example: "
                     "maskcodec bench-latent ../shared/data/mars_rgb/val ../shared/data/mars_rgb_mahli/val "
                     "-o benchmarks/results/latent_val")
    p.add_argument("inputs", nargs="+", help="images (.png, .tif, .npy) or folders of them; grouped by folder")
    p.add_argument("-o", "--output", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per latent encode and decode (default 3)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``maskcodec bench-latent`` from parsed arguments; returns the exit status."""
    report = run_latent_bench(args.inputs, out_dir=args.output, repeats=args.repeats, progress=not args.quiet)
    print(_markdown(report))
    print(f"wrote {Path(args.output) / 'latent.json'}, latent.md and the curves")
    return 0
