"""Store a stack of real images in a Zarr v3 array with maskcodec chunks, and read it back.

Uses the Curiosity Navcam frames of ``../shared/data/rover_gray`` when they are there, else crops
of the images bundled with maskcodec. Needs ``pip install 'maskcodec[pipeline]'``.

    python examples/zarr_stack.py [--keep 0.1] [--inpainter auto]
"""
from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
import zarr

import maskcodec
from maskcodec.io.images import read_image
from maskcodec.metrics import psnr
from maskcodec.integrations.zarr_codec import MaskcodecZarr

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "rover_gray"


def real_stack(frames: int = 8) -> tuple[np.ndarray, str]:
    """``(N, H, W)`` uint8 real frames: 256x256 Navcam frames from ../shared, or bundled crops."""
    if SHARED.is_dir():
        images = [im for im in map(read_image, sorted(SHARED.glob("*.png"))) if im.shape == (256, 256)]
        return np.stack(images[:frames]), str(SHARED)
    navcam, pano = maskcodec.sample_image("navcam"), maskcodec.sample_image("mastcam_pano")
    h, w = pano.shape[:2]
    crops = [navcam[:h, :w], navcam[-h:, -w:], navcam[:h, -w:], navcam[-h:, :w], *np.moveaxis(pano, 2, 0)]
    return np.stack(crops[:frames]), "the images bundled with maskcodec"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", type=float, default=0.1)
    parser.add_argument("--inpainter", default="auto")
    args = parser.parse_args()
    stack, source = real_stack()
    codec = MaskcodecZarr(keep=args.keep, seed=7, inpainter=args.inpainter)
    with tempfile.TemporaryDirectory() as tmp:
        store = Path(tmp) / "stack.zarr"
        z = zarr.create_array(store, shape=stack.shape, chunks=(1, *stack.shape[1:]), dtype=stack.dtype,
                              serializer=codec, compressors=None)
        z[:] = stack
        stored = sum(p.stat().st_size for p in store.rglob("*") if p.is_file() and p.name != "zarr.json")
        back = zarr.open_array(store, mode="r")[:]
    m = maskcodec.mask(stack.shape[1:], args.keep, 7)
    print(f"{len(stack)} frames {stack.shape[1:]} {stack.dtype} from {source}")
    print(f"codec: {codec.to_dict()}")
    print(f"raw {stack.nbytes} bytes -> stored {stored} bytes ({stack.nbytes / stored:.1f}:1, "
          f"{8 * stored / stack.size:.3f} bits/pixel)")
    print(f"kept pixels exact: {bool((back[:, m] == stack[:, m]).all())}")
    print("PSNR per frame (dB): " + ", ".join(f"{psnr(a, b):.2f}" for a, b in zip(stack, back)))


if __name__ == "__main__":
    main()
