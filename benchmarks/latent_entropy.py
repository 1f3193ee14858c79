"""How many bytes each latent coder spends, against the order-0 entropy of the same latents.

For each image and latent model, encodes in latent mode and compares, on the
very same quantized latents:

- ``zstd``: the zstd payload of coder 0 (8-bit values, what a ``"zstd"`` model sends);
- ``rans`` / ``context``: the range-coded payload of coder 1 (the model's
  fixed tables) or coder 3 (its context tables), as the model's entry says;
- ``order0``: the per-channel order-0 empirical entropy: the bits an ideal
  coder would spend with a probability table per channel fitted to that very
  image (the table itself not counted). Fixed tables cannot beat it on average.

Usage: python benchmarks/latent_entropy.py ../shared/data/mars_rgb/val [-o FILE]
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

import maskcodec
from maskcodec.codec import coded
from maskcodec.framing.zstd_frame import compress
from maskcodec.io.images import find_images, read_image
from maskcodec.modes.latent import quantize
from maskcodec.runtime.manifest import LatentEntry, load


def order0_bits(q: np.ndarray) -> float:
    """Sum over channels of the empirical order-0 entropy of integer ``q`` ``(K, h, w)`` in bits."""
    total = 0.0
    for channel in q.reshape(q.shape[0], -1):
        p = np.bincount(channel - channel.min()) / channel.size
        p = p[p > 0]
        total += -channel.size * float(np.sum(p * np.log2(p)))
    return total


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("inputs", nargs="+", help="images or folders of images")
    ap.add_argument("-o", "--output", default="benchmarks/results/latent_entropy.json", help="where the numbers go")
    args = ap.parse_args(argv)
    images = [read_image(f) for f in find_images(args.inputs)]
    rows = []
    for model_id, entry in sorted(load().of_kind(LatentEntry).items()):
        sizes = {"zstd": [], entry.coder: [], "order0": []}
        for img in images:
            if (1 if img.ndim == 2 else img.shape[2]) != entry.channels:
                continue
            data = maskcodec.encode(img, mode="latent", model=model_id)
            header = maskcodec.inspect(data)
            if header.latent.coder != "zstd":
                values = maskcodec.latents(data).astype(np.int64)
                q = quantize(values.astype(np.float32), "integer")[0]  # what coder 0 would send
                sizes[header.latent.coder].append(header.payload_size)
            else:  # the uint8 values the file's zstd frame holds
                q = np.frombuffer(coded(data)[1], np.uint8).reshape(header.latent.channels, header.latent.height, -1)
            sizes["zstd"].append(len(compress(q.tobytes())))
            sizes["order0"].append(order0_bits(q.astype(np.int64)) / 8)
        if sizes["zstd"]:
            row = {"model": model_id, "coder": entry.coder, "images": len(sizes["zstd"]),
                   **{f"{k}_payload_bytes": round(float(np.sum(v)), 1) for k, v in sizes.items() if v}}
            z = row["zstd_payload_bytes"]
            row |= {f"{k}_vs_zstd": round(row[f"{k}_payload_bytes"] / z - 1, 4) for k in ("context", "order0")
                    if f"{k}_payload_bytes" in row}
            rows.append(row)
            print(f"{model_id}: " + ", ".join(f"{k} {np.sum(v):.0f} B" for k, v in sizes.items() if v)
                  + f" over {row['images']} images")
    Path(args.output).write_text(json.dumps({"command": "python benchmarks/latent_entropy.py "
                                          + " ".join(args.inputs), "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
