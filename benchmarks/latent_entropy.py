"""Would a range coder beat zstd on latent-mode payloads? An upper bound on its savings.

For each image and latent model, compares the zstd payload of latent mode with
the order-0 empirical entropy of its quantized latents, per channel: the bits
an ideal arithmetic/range coder would spend with a static probability table
per latent channel fitted to that very image (the table itself not counted).
A learned factorized prior cannot do better than that table on average, so if
zstd comes close, a range coder is not worth its complexity.

Usage: python benchmarks/latent_entropy.py ../shared/data/mars_rgb/val [--out FILE]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import maskcodec
from maskcodec.container import read
from maskcodec.images import find_images, read_image
from maskcodec.latent import latent_models


def order0_bits(q: np.ndarray) -> float:
    """Sum over channels of the empirical order-0 entropy of ``q`` ``(K, h, w)`` in bits."""
    total = 0.0
    for channel in q.reshape(q.shape[0], -1):
        p = np.bincount(channel, minlength=256) / channel.size
        p = p[p > 0]
        total += -channel.size * float(np.sum(p * np.log2(p)))
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+", help="images or folders of images")
    ap.add_argument("--out", default="benchmarks/results/latent_entropy.json", help="where the numbers go")
    args = ap.parse_args(argv)
    images = [read_image(f) for f in find_images(args.inputs)]
    rows = []
    for model_id, entry in sorted(latent_models().items()):
        zstd_bytes, ideal_bytes = [], []
        for img in images:
            if (1 if img.ndim == 2 else img.shape[2]) != entry["channels"]:
                continue
            data = maskcodec.encode(img, mode="latent", model=model_id)
            header, raw = read(data)
            q = np.frombuffer(raw, np.uint8).reshape(header.latent.channels, header.latent.height, -1)
            zstd_bytes.append(header.payload_size)
            ideal_bytes.append(order0_bits(q) / 8)
        if zstd_bytes:
            z, i = float(np.sum(zstd_bytes)), float(np.sum(ideal_bytes))
            rows.append({"model": model_id, "images": len(zstd_bytes), "zstd_payload_bytes": z,
                         "order0_entropy_bytes": round(i, 1), "range_coder_saving_at_most": round(1 - i / z, 4)})
            print(f"{model_id}: zstd {z:.0f} B, order-0 entropy {i:.0f} B over {len(zstd_bytes)} images: "
                  f"a per-channel range coder would save at most {100 * (1 - i / z):.1f}%")
    Path(args.out).write_text(json.dumps({"command": "python benchmarks/latent_entropy.py "
                                          + " ".join(args.inputs), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
