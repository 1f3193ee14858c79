"""Decode a folder of .mcx frames on a dask LocalCluster with 1 and then 2 workers.

Encodes 16 real frames (Curiosity Mastcam images of ``../shared/data/mars_rgb/val`` when they are
there, else 96x96 tiles of the images bundled with maskcodec) into a temporary folder, decodes it with
:func:`maskcodec.integrations.batch.decode_many` and reports the frames per second of each run. Needs
``pip install 'maskcodec[pipeline]'``.

    python examples/dask_decode.py [--frames 16] [--inpainter auto]
"""
from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

import maskcodec
from maskcodec.integrations.batch import decode_many
from maskcodec.io.images import read_image

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "mars_rgb" / "val"


def real_frames(count: int) -> tuple[list[np.ndarray], str]:
    """``count`` real RGB frames: Mastcam images from ../shared, or 96x96 tiles of the bundled ones."""
    if SHARED.is_dir():
        return [read_image(p) for p in sorted(SHARED.glob("*.png"))[:count]], str(SHARED)
    tiles = [im[y:y + 96, x:x + 96] for im in map(maskcodec.sample_image, ("mastcam", "mastcam_pano"))
             for y in range(0, im.shape[0] - 95, 48) for x in range(0, im.shape[1] - 95, 48)]
    return tiles[:count], "tiles of the images bundled with maskcodec"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=16)
    parser.add_argument("--inpainter", default="auto")
    args = parser.parse_args()
    frames, source = real_frames(args.frames)
    print(f"{len(frames)} frames from {source}; {os.cpu_count()} CPU cores; inpainter {args.inpainter}")
    with tempfile.TemporaryDirectory() as tmp:
        downlink = Path(tmp) / "downlink"
        downlink.mkdir()
        for i, frame in enumerate(frames):
            (downlink / f"frame{i:03d}.mcx").write_bytes(maskcodec.encode(frame, 0.1, seed=i))
        inputs = sorted(downlink.glob("*.mcx"))
        for workers in (1, 2):
            result = decode_many(inputs, Path(tmp) / f"decoded{workers}", inpainter=args.inpainter,
                                 workers=workers, scheduler="local", progress=False)
            print(f"LocalCluster, {workers} worker{'s' if workers > 1 else ''}: {result.decoded} frames in "
                  f"{result.seconds:.2f} s = {result.frames_per_second:.2f} frames/s"
                  f"{f', {len(result.failures)} failed' if result.failures else ''}")


if __name__ == "__main__":
    main()
