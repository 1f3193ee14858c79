"""Model benchmark: every inpainter on the same kept pixels, with the paper's metrics.

For each image and keep fraction the image is encoded once (mask seed
``seed + image index``) and decoded by every inpainter that fits it: the
classical ones (``linear``, ``nconv``), every installed model trained across
keep levels (``default``, ``paper-gt-cae``, ...), and the fixed-level model
trained at exactly that keep, when one is installed (found from the
``keep`` range in its manifest entry's training config). Every number comes
through :func:`maskcodec.decode`, so kept pixels are pasted back as in real
use.

Metrics per keep and inpainter, averaged over the images: PSNR, SSIM, and the
paper's two, the mean absolute difference over all pixels and channels on
[0, 1] (:func:`maskcodec.metrics.mad`) and the mean variance of the pixel
differences (:func:`maskcodec.metrics.diff_variance`).

Written to the output folder: ``models.json`` and ``models.md`` (the tables),
``figure3.png`` (original, masked, reconstruction and error map per keep
level, like the paper's Figure 3), ``ood.png`` and the ``ood`` rows (the
out-of-distribution test of the paper's section 2.3 on a terrestrial
photograph that scikit-image ships), and ``loss_curves.png`` (the training
curves the shipped models recorded in ``models/curves``).
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

from ..codec import decode, encode
from ..errors import InvalidInputError
from ..io.images import read_image
from ..inpainting import CLASSICAL_NAMES
from ..runtime.manifest import InpainterEntry, load, models_dir
from ..masks import mask
from ..metrics import diff_variance, mad, psnr, ssim
from ..optional import require
from .bench import DEFAULT_KEEPS as KEEPS

__all__ = ["run_model_bench", "measure", "inpainters_for", "fixed_level_model", "ood_image", "KEEPS", "OOD_IMAGES",
           "configure_parser", "run_cli"]

SEED = 1000
METRICS = {"psnr": psnr, "ssim": ssim, "mad": mad, "diff_var": diff_variance}
OOD_IMAGES = {3: "astronaut", 1: "camera"}  # scikit-image's bundled photographs, by channel count
FIGURE_INPAINTERS = ("linear", "paper-gt-cae", "default", "gray-default")
FIXED = "fixed level"  # row label of the model trained at exactly the row's keep


def _inpainting_models(channels: int) -> list[InpainterEntry]:
    return [e for e in load().of_kind(InpainterEntry).values() if e.channels == channels]


def fixed_level_model(keep: float, channels: int) -> str | None:
    """Id of the installed model trained at exactly ``keep`` (training keep range ``[keep, keep]``)."""
    for e in _inpainting_models(channels):
        if e.training_keep is not None and e.training_keep[0] == e.training_keep[1] == keep:
            return e.id
    return None


def inpainters_for(keep: float, channels: int) -> dict[str, str]:
    """Row label -> inpainter name for one keep: classical, models across keeps, the fixed-level one."""
    rows = {name: name for name in CLASSICAL_NAMES}
    for e in _inpainting_models(channels):
        if e.training_keep is None or e.training_keep[0] != e.training_keep[1]:
            rows[e.id] = e.id
    fixed = fixed_level_model(keep, channels)
    if fixed:
        rows[FIXED] = fixed
    return rows


def ood_image(channels: int) -> tuple[str, np.ndarray]:
    """The terrestrial photograph of the out-of-distribution test: scikit-image's ``astronaut``
    (RGB) or ``camera`` (gray)."""
    data = require("skimage.data", "the out-of-distribution test (bench-models without --no-ood)")
    name = OOD_IMAGES[channels]
    return f"skimage.data.{name}", getattr(data, name)()


def measure(image: np.ndarray, keep: float, seed: int, rows: dict[str, str] | None = None) -> tuple[dict, dict]:
    """Encode ``image`` once and decode it with every inpainter of ``rows`` (label -> inpainter name;
    default :func:`inpainters_for`); returns the metrics and the decoded images, by label."""
    data = encode(image, keep, seed=seed)
    if rows is None:
        rows = inpainters_for(keep, 1 if image.ndim == 2 else image.shape[2])
    scores, outs = {}, {}
    for label, name in rows.items():
        out = decode(data, inpainter=name)
        outs[label] = out
        scores[label] = {k: f(image, out) for k, f in METRICS.items()}
    return scores, outs


def _mean_table(per_image: list[dict]) -> dict:
    labels = per_image[0].keys()
    return {label: {k: float(np.mean([s[label][k] for s in per_image])) for k in METRICS} for label in labels}


def _write_markdown(path: Path, result: dict) -> None:
    lines = [f"# Inpainters on the same kept pixels: {result['images_count']} images", "",
             f"Command: `{result['command']}`", "",
             "PSNR (dB) and SSIM: higher is better. MAD (mean absolute difference over all pixels and channels, "
             "on [0, 1]) and diff var (mean variance of the pixel differences): lower is better; these are the "
             "paper's two metrics.", ""]
    for keep, table in result["tables"].items():
        lines += [f"## keep {keep} ({100 - 100 * float(keep):g}% masked)", "",
                  "| inpainter | PSNR | SSIM | MAD | diff var |", "|---|---:|---:|---:|---:|"]
        names = {label: f"{label} ({result['fixed_level_models'][keep]})" if label == FIXED else label
                 for label in table}
        lines += [f"| {names[label]} | {r['psnr']:.2f} | {r['ssim']:.4f} | {r['mad']:.4f} | {r['diff_var']:.2e} |"
                  for label, r in table.items()]
        lines.append("")
    if result.get("ood"):
        o = result["ood"]
        labels = list(dict.fromkeys(label for table in o["tables"].values() for label in table))
        lines += [f"## Out of distribution: {o['image']} ({o['shape'][1]}x{o['shape'][0]})", "",
                  "| keep | " + " | ".join(labels) + " |", "|---|" + "---:|" * len(labels)]
        lines += [f"| {keep} | " + " | ".join(f"{table[label]['psnr']:.2f}" if label in table else "-"
                                              for label in labels) + " |"
                  for keep, table in o["tables"].items()]
        lines += ["", "(PSNR in dB.)", ""]
    path.write_text("\n".join(lines))


def _error_map(image: np.ndarray, out: np.ndarray) -> np.ndarray:
    d = np.abs(image.astype(np.float64) - out.astype(np.float64)) / np.iinfo(image.dtype).max
    return d.mean(axis=2) if d.ndim == 3 else d


def _figure3(image: np.ndarray, name: str, recons: dict, path: Path) -> None:
    """Original, masked input, reconstructions and error map of the best one, one row per keep."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    keeps = sorted(recons, reverse=True)
    shown = [label for label in FIGURE_INPAINTERS if label in recons[keeps[0]]]
    gray = image.ndim == 2
    cols = 2 + len(shown) + 1
    fig, axes = plt.subplots(len(keeps), cols, figsize=(2.4 * cols, 2.3 * len(keeps)), squeeze=False)
    for row, keep in zip(axes, keeps):
        known = mask(image.shape, keep, seed=SEED)
        masked = image * (known if gray else known[..., None])
        cells = [("original", image), (f"keep {keep:g} ({100 - 100 * keep:g}% masked)", masked)]
        cells += [(f"{label}\n{psnr(image, recons[keep][label]):.2f} dB", recons[keep][label]) for label in shown]
        for ax, (title, img) in zip(row, cells):
            ax.imshow(img, cmap="gray" if gray else None, vmin=0, vmax=255, interpolation="nearest")
            ax.set_title(title, fontsize=8)
        best = max(shown, key=lambda label: psnr(image, recons[keep][label]))
        ax = row[-1]
        ax.imshow(_error_map(image, recons[keep][best]), cmap="magma", vmin=0, vmax=0.2, interpolation="nearest")
        ax.set_title(f"|error| of {best}\n(0 to 0.2 of full scale)", fontsize=8)
        for ax in row:
            ax.axis("off")
    fig.suptitle(name, fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _loss_curves(path: Path) -> list[str]:
    """One panel per shipped model: training and validation loss per epoch from ``models/curves``."""
    import csv

    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    files = sorted((models_dir() / "curves").glob("*.csv"))
    if not files:
        return []
    cols = 4
    rows = -(-len(files) // cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 2.6 * rows), squeeze=False)
    for ax, f in zip(axes.flat, files):
        with open(f) as fh:
            data = list(csv.DictReader(fh))
        ep = [int(r["epoch"]) for r in data]
        for key, style in (("train_loss", "o-"), ("val_loss", "s-")):
            vals = [float(r[key]) for r in data]
            ax.semilogy([e for e, v in zip(ep, vals) if v == v], [v for v in vals if v == v], style,
                        ms=3, label=key.replace("_loss", ""))
        ax.set_title(f.stem, fontsize=9)
        ax.set_xlabel("epoch", fontsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    for ax in list(axes.flat)[len(files):]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return [f.stem for f in files]


def run_model_bench(paths: list[Path], out_dir: Path, keeps=KEEPS, *, ood: bool = True, figure: bool = True,
                    progress: bool = True, command: str = "") -> dict:
    """Measure every fitting inpainter on ``paths`` at ``keeps`` and write the report to ``out_dir``.

    All images must have the same channel count (the inpainters compared
    depend on it).

    Returns
    -------
    dict
        ``models.json``'s content: ``tables[keep][row label]`` holds the mean
        ``psnr``, ``ssim``, ``mad`` and ``diff_var``; ``per_image`` the
        values of each image; ``ood`` the out-of-distribution test.
    """
    from tqdm import tqdm
    if figure:
        require("matplotlib", "maskcodec bench-models' figures")  # before any work, not after it
    if ood:
        require("skimage", "the out-of-distribution test of bench-models (or give --no-ood)")

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    images = [read_image(p) for p in paths]
    channels = {1 if a.ndim == 2 else a.shape[2] for a in images}
    if len(channels) != 1:
        raise InvalidInputError(f"all images must have the same channel count (the inpainters compared "
                                f"depend on it); got {sorted(channels)}")
    channels = channels.pop()
    bar = tqdm(total=len(images) * len(keeps), desc="model bench", unit="decode set", file=sys.stderr,
               disable=not progress)
    per_image, figure_recons = {}, {}
    for keep in keeps:
        scores = []
        for i, img in enumerate(images):
            s, outs = measure(img, keep, SEED + i)
            scores.append(s)
            if i == 0:
                figure_recons[keep] = outs
            bar.update()
        per_image[str(keep)] = scores
    bar.close()
    result = {"command": command, "images_count": len(images), "paths": [str(p) for p in paths],
              "mask_seeds": f"{SEED} + image index", "keeps": list(keeps),
              "tables": {k: _mean_table(v) for k, v in per_image.items()}, "per_image": per_image,
              "fixed_level_models": {str(k): m for k in keeps if (m := fixed_level_model(k, channels))}}
    if figure:
        _figure3(images[0], Path(paths[0]).name, figure_recons, out_dir / "figure3.png")
        result["loss_curves"] = _loss_curves(out_dir / "loss_curves.png")
    if ood:
        name, photo = ood_image(channels)
        tables, recons = {}, {}
        for keep in keeps:
            tables[str(keep)], recons[keep] = measure(photo, keep, SEED)
        result["ood"] = {"image": name, "shape": list(photo.shape), "tables": tables}
        if figure:
            _figure3(photo, f"{name}: a terrestrial photograph (out of distribution)", recons, out_dir / "ood.png")
    (out_dir / "models.json").write_text(json.dumps(result, indent=1))
    _write_markdown(out_dir / "models.md", result)
    return result


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the ``bench-models`` arguments to ``p``."""
    from ..options import argument
    from ..options import parse_keeps
    p.description = ("Encode each image once per keep and decode it with the classical inpainters, every installed "
                     "model trained across keep levels, and the fixed-level model trained at that keep; report "
                     "PSNR, SSIM, mean absolute difference and difference variance, a Figure-3-like figure, the "
                     "loss curves of the shipped models and an out-of-distribution test on a terrestrial "
                     "photograph (scikit-image's astronaut or camera). All images must have one channel count.")
    p.epilog = "example: maskcodec bench-models ../shared/data/mars_rgb/val -o benchmarks/results/mars_rgb_val_models"
    p.add_argument("inputs", nargs="+", help="images or folders of images")
    p.add_argument("-o", "--output", default="bench-out", help="folder for models.json, models.md and figures "
                                                       "(default bench-out)")
    p.add_argument("--keep", type=argument(parse_keeps), default=KEEPS,
                   help=f"comma-separated keep fractions (default {','.join(f'{k:g}' for k in KEEPS)})")
    p.add_argument("--no-ood", action="store_true", help="skip the out-of-distribution test")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``maskcodec bench-models`` from parsed arguments."""
    from ..io.images import find_images
    command = (f"maskcodec bench-models {' '.join(args.inputs)} -o {args.output} "
               f"--keep {','.join(f'{k:g}' for k in args.keep)}{' --no-ood' if args.no_ood else ''}")
    result = run_model_bench(find_images(args.inputs), Path(args.output), keeps=args.keep, ood=not args.no_ood,
                             progress=not args.quiet, command=command)
    print((Path(args.output) / "models.md").read_text())
    print(f"results in {args.output}/models.json, models.md and figures ({result['images_count']} images)")
    return 0
