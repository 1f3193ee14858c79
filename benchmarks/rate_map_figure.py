"""The rate map (``maskcodec.rate_map``) of a latent-mode file as an out-of-distribution signal, on real frames.

Each image is coded with ``quality`` (colour or gray level as the image asks); the figure shows the image
and, beside it, the bits per pixel that each 16 x 16 region costs; the JSON lists each image's mean rate,
its 95th percentile and the share of regions above the in-distribution frames' 95th percentile (the
first ``--reference`` images are taken as in distribution).

Usage::

    python benchmarks/rate_map_figure.py --reference 1 ../shared/data/mars_rgb/val/<frame>.png \\
        ../shared/data/orbital_rgb/mex_vmc_...png astronaut -o benchmarks/results/rate_map

``astronaut`` is scikit-image's terrestrial photograph (the bench extra), the paper's out-of-distribution test.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np

import maskcodec
from maskcodec.io.images import read_image


def _image(name: str) -> np.ndarray:
    if name == "astronaut":
        from skimage import data
        return np.ascontiguousarray(data.astronaut())
    return read_image(name)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+", help="image files, or 'astronaut'")
    ap.add_argument("--quality", type=int, default=2, help="latent quality level (default 2)")
    ap.add_argument("--reference", type=int, default=1, help="how many of the first inputs are in distribution")
    ap.add_argument("-o", "--output", default="benchmarks/results/rate_map", help="output folder")
    args = ap.parse_args(argv)
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows, maps = [], []
    for name in args.inputs:
        img = _image(name)
        data = maskcodec.encode(img, mode="latent", quality=args.quality)
        bits = maskcodec.rate_map(data)
        maps.append((name, img, bits))
        rows.append(dict(image=name, shape=list(img.shape), model=maskcodec.inspect(data).model_id,
                         file_bpp=8 * len(data) / (img.shape[0] * img.shape[1]),
                         psnr_db=maskcodec.metrics.psnr(img, maskcodec.decode(data)),
                         rate_mean_bpp=float(bits.mean()), rate_p95_bpp=float(np.percentile(bits, 95))))
    threshold = float(np.percentile(np.concatenate([m[2].ravel() for m in maps[:args.reference]]), 95))
    for row, (_, _, bits) in zip(rows, maps):
        row["share_above_reference_p95"] = float((bits > threshold).mean())
    out = Path(args.output)
    out.mkdir(parents=True, exist_ok=True)
    top = max(float(m[2].max()) for m in maps)
    fig, axes = plt.subplots(2, len(maps), figsize=(3.2 * len(maps), 6.2), squeeze=False)
    for i, ((name, img, bits), row) in enumerate(zip(maps, rows)):
        axes[0, i].imshow(img, cmap="gray" if img.ndim == 2 else None)
        axes[0, i].set_title(f"{Path(name).stem[:28]}\n{row['file_bpp']:.3f} bpp, {row['psnr_db']:.1f} dB", fontsize=8)
        im = axes[1, i].imshow(bits, cmap="magma", vmin=0, vmax=top)
        axes[1, i].set_title(f"rate map: mean {row['rate_mean_bpp']:.3f} bpp,\n"
                             f"{100 * row['share_above_reference_p95']:.0f}% of regions above ref. p95", fontsize=8)
        for ax in axes[:, i]:
            ax.set_xticks([])
            ax.set_yticks([])
    fig.colorbar(im, ax=axes[1, :].tolist(), shrink=0.8, label="bits per pixel")
    fig.savefig(out / "rate_map.png", dpi=110)
    (out / "rate_map.json").write_text(json.dumps({"command": "python benchmarks/rate_map_figure.py "
                                                   + " ".join(argv), "reference_p95_bpp": threshold,
                                                   "rows": rows}, indent=1))
    for r in rows:
        print(f"{r['image']}: {r['file_bpp']:.3f} bpp, map mean {r['rate_mean_bpp']:.3f}, p95 {r['rate_p95_bpp']:.3f}, "
              f"{100 * r['share_above_reference_p95']:.0f}% above the reference p95")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
