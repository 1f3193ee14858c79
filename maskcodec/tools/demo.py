"""``maskcodec demo``: a bundled real Mars crop at several keep levels, beside JPEG2000, HTJ2K and JPEG-XL."""
from __future__ import annotations

import argparse
import importlib.util
from pathlib import Path

import numpy as np

from ..options import argument
from ..codec import decode_report, encode, inspect
from ..io.images import write_image
from ..inpainting import AUTO, candidates
from ..masks import mask
from ..metrics import bits_per_pixel, psnr
from ..options import parse_keeps
from ..io.samples import sample_image

__all__ = ["run_demo", "configure_parser", "run_cli"]

SEED = 2025
KEEPS = (0.5, 0.25, 0.1, 0.05, 0.02)


def _anchors() -> dict:
    """The anchors at the same bytes: JPEG2000 always (Pillow), HTJ2K and JPEG-XL when imagecodecs is there."""
    from .reference_codecs import ANCHORS
    return {family: anchor for family, anchor in ANCHORS.items()
            if family == "jpeg2000" or importlib.util.find_spec("imagecodecs")}


def run_demo(out: Path, keeps=KEEPS, sample: str = "mastcam",
             inpainter: str = "auto", echo=print) -> list[dict]:
    """Encode the sample at each keep, decode it, compare with JPEG2000, HTJ2K and JPEG-XL at the same bytes.

    Writes ``original.png`` and, per keep, the masked input, the maskcodec
    decode and each anchor's decode into ``out``; prints a table and returns
    its rows (HTJ2K and JPEG-XL need imagecodecs, the ``bench`` extra; the
    table says when they are left out).
    """
    if out.exists() and any(out.iterdir()):
        echo(f"maskcodec demo: replacing the earlier demo output in {out}/")
    out.mkdir(parents=True, exist_ok=True)
    img = sample_image(sample)
    write_image(out / "original.png", img)
    anchors = _anchors()
    echo(f"maskcodec demo: bundled {sample} crop {img.shape[1]}x{img.shape[0]} "
         f"(MSL Mastcam, NASA/JPL-Caltech/MSSS), seed {SEED}")
    files = {keep: encode(img, keep=keep, seed=SEED) for keep in keeps}
    echo(f"inpainter: {inpainter}" + (f" ({' or '.join(candidates(inpainter, inspect(files[keeps[0]])))}, "
                                      f"whichever fills held-back kept pixels best)" if inpainter == AUTO else "")
         + "; anchors at the same bytes (no larger): JPEG2000 (OpenJPEG, colour transform on)"
         + (", HTJ2K (OpenJPH), JPEG-XL (libjxl, effort 7)" if len(anchors) > 1 else
            "; HTJ2K and JPEG-XL need imagecodecs: pip install 'maskcodec[bench]'"))
    echo(f"{'keep':>6} {'bytes':>7} {'bpp':>6} {'maskcodec':>10} {'estimated (90% interval)':>24}"
         + "".join(f" {name:>9}" for name, _, _ in anchors.values()) + "   (PSNR, dB)   filled by")
    rows = []
    for keep, data in files.items():
        rec, report = decode_report(data, inpainter=inpainter)
        m = mask(img.shape, keep, SEED)
        tag = f"keep{keep:g}"
        write_image(out / f"{tag}_masked.png", np.where(m[..., None], img, 0).astype(img.dtype))
        write_image(out / f"{tag}_maskcodec.png", rec)
        row = dict(keep=keep, bytes=len(data), bpp=bits_per_pixel(len(data), img.shape), psnr=psnr(img, rec),
                   inpainter=report.inpainter, estimated_psnr=report.estimated_psnr_db,
                   estimated_interval=report.interval_db)
        for family, (_, at_size, decoder) in anchors.items():
            coded = at_size(img, len(data))
            anchor = decoder(coded, img)
            write_image(out / f"{tag}_{family}.png", anchor)
            row |= {f"{family}_bytes": len(coded), f"{family}_psnr": psnr(img, anchor)}
        rows.append(row)
        estimated = (f"{report.estimated_psnr_db:.2f} ({report.interval_db[0]:.1f}-{report.interval_db[1]:.1f})"
                     if report.estimated_psnr_db is not None else "-")
        echo(f"{keep:>6g} {row['bytes']:>7d} {row['bpp']:>6.3f} {row['psnr']:>10.2f} {estimated:>24}"
             + "".join(f" {row[family + '_psnr']:>9.2f}" for family in anchors) + f"   {report.inpainter}")
    echo(f"images written to {out}/")
    return rows


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the ``demo`` arguments to ``p``."""
    p.description = ("Encode a bundled real Mars crop (MSL Mastcam) at several keep levels, decode it and set it "
                     "beside JPEG2000, HTJ2K and JPEG-XL at the same bytes (the last two need the 'bench' extra); "
                     "prints which inpainter decoded it and writes the images into a folder."
                     " Example: maskcodec demo --keep 0.05,0.2")
    p.add_argument("-o", "--output", default="maskcodec-demo", help="folder for the images (default maskcodec-demo)")
    p.add_argument("--keep", type=argument(parse_keeps), default=KEEPS,
                   help=f"comma-separated keep fractions (default {','.join(map(str, KEEPS))})")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``maskcodec demo`` from parsed arguments."""
    run_demo(Path(args.output), keeps=args.keep)
    return 0
