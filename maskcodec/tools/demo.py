"""``maskcodec demo``: a bundled real Mars crop at several keep levels, beside JPEG2000."""
from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from ..cli import argument
from ..codec import decode, encode, inspect
from ..images import write_image
from ..inpaint import resolve
from ..mask import mask
from ..metrics import bits_per_pixel, psnr
from ..options import parse_keeps
from ..samples import sample_image
from .reference_codecs import decode_pil, jpeg2000_at_size

__all__ = ["run_demo", "configure_parser", "run_cli"]

SEED = 2025
KEEPS = (0.5, 0.25, 0.1, 0.05, 0.02)


def run_demo(out: Path, keeps=KEEPS, sample: str = "mastcam",
             inpainter: str = "auto", echo=print) -> list[dict]:
    """Encode the sample at each keep, decode it, compare with JPEG2000 at the same bytes.

    Writes ``original.png`` and, per keep, the masked input, the maskcodec
    decode and the JPEG2000 decode into ``out``; prints a table and returns
    its rows.
    """
    out.mkdir(parents=True, exist_ok=True)
    img = sample_image(sample)
    write_image(out / "original.png", img)
    echo(f"maskcodec demo: bundled {sample} crop {img.shape[1]}x{img.shape[0]} "
         f"(MSL Mastcam, NASA/JPL-Caltech/MSSS), seed {SEED}")
    echo(f"inpainter: {resolve(inpainter, inspect(encode(img, keep=1.0, seed=SEED))).__name__}; "
         f"JPEG2000: OpenJPEG lossy, colour transform on, at the same bytes")
    echo(f"{'keep':>6} {'bytes':>7} {'bpp':>6} {'PSNR maskcodec':>15} {'PSNR JPEG2000':>14}")
    rows = []
    for keep in keeps:
        data = encode(img, keep=keep, seed=SEED)
        rec = decode(data, inpainter=inpainter)
        j2k = jpeg2000_at_size(img, len(data))
        j2k_img = decode_pil(j2k, img)
        m = mask(img.shape, keep, SEED)
        tag = f"keep{keep:g}"
        write_image(out / f"{tag}_masked.png", np.where(m[..., None], img, 0).astype(img.dtype))
        write_image(out / f"{tag}_maskcodec.png", rec)
        write_image(out / f"{tag}_jpeg2000.png", j2k_img)
        row = dict(keep=keep, bytes=len(data), bpp=bits_per_pixel(len(data), img.shape),
                   psnr=psnr(img, rec), jpeg2000_bytes=len(j2k), jpeg2000_psnr=psnr(img, j2k_img))
        rows.append(row)
        echo(f"{keep:>6g} {row['bytes']:>7d} {row['bpp']:>6.3f} {row['psnr']:>12.2f} dB "
             f"{row['jpeg2000_psnr']:>11.2f} dB ({len(j2k)} bytes)")
    echo(f"images written to {out}/")
    return rows


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the ``demo`` arguments to ``p``."""
    p.description = ("Encode a bundled real Mars crop (MSL Mastcam) at several keep levels, decode it and set it "
                     "beside JPEG2000 at the same bytes; writes the images into a folder.")
    p.add_argument("--out", default="maskcodec-demo", help="folder for the images (default maskcodec-demo)")
    p.add_argument("--keep", type=argument(parse_keeps), default=KEEPS,
                   help=f"comma-separated keep fractions (default {','.join(map(str, KEEPS))})")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``maskcodec demo`` from parsed arguments."""
    run_demo(Path(args.out), keeps=args.keep)
    return 0
