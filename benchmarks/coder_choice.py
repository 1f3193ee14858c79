"""Issue 28: which entropy coder for the survivor codes (spec section 6.7.4)? Ideal code lengths, training frames.

Codes the quantized errors of predictive coding (spec 6.5) of 256 x 256 centre crops and prints, per frame,
keep and max_error, the ideal bytes of their tokens (spec 6.7.3) plus raw bits under: the static per-file
entropy per plane and context (``static``: tables the file would also have to carry), counts re-estimated
level by level (``level_adaptive``), counts adapted after every code (``adaptive``, inc/limit as given), and
JPEG-LS at the same maximum error (keep 1 only). Run from the repository root:

    python benchmarks/coder_choice.py ../shared/data
"""
from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import imagecodecs
import numpy as np

from maskcodec.io.images import read_image
from maskcodec.masks import keep_to_threshold, kept_indices, keys_at
from maskcodec.survivors import predictive as P
from maskcodec.survivors import ranked

FOLDERS = {"mastcam": "mars_rgb/train", "m2020": "mars_rgb_m2020/train", "mahli": "mars_rgb_mahli/train",
           "12-bit": "raw16"}


def codes(img: np.ndarray, keep: float, d: int):
    """Level, plane, context and code of every quantized error, in level order."""
    img = img if img.ndim == 3 else img[..., None]
    h, w, c = img.shape
    idx = kept_indices(h, w, keep_to_threshold(keep), 7)
    keys = keys_at(idx, w, 7)
    bits = 8 if img.dtype == np.uint8 else max(9, int(img.max()).bit_length())
    levels, _ = ranked.codes(idx, keys, img.reshape(-1, c)[idx], P.Prior.empty(c), (h, w), bits,
                             1 if c == 3 else 0, d)
    lv = np.concatenate([np.full(cd.size, j) for j, (_, cd) in enumerate(levels)])
    pl = np.concatenate([np.tile(np.arange(cd.shape[1]), cd.shape[0]) for _, cd in levels])
    cx = np.concatenate([np.repeat(x, cd.shape[1]) for x, cd in levels])
    z = np.concatenate([cd.ravel() for _, cd in levels])
    return lv, pl * P.CONTEXTS + cx, z, bits


def static_bits(group, t):
    total = 0.0
    for g in np.unique(group):
        c = np.bincount(t[group == g])
        c = c[c > 0]
        total -= (c * np.log2(c / c.sum())).sum()
    return total


def level_adaptive_bits(group, lv, t, k):
    total = 0.0
    for g in np.unique(group):
        s, L, counts = t[group == g], lv[group == g], np.ones(k)
        for j in np.unique(L):
            total -= np.log2((counts / counts.sum())[s[L == j]]).sum()
            counts += np.bincount(s[L == j], minlength=k)
    return total


def adaptive_bits(group, t, k, inc, limit, init):
    models, total = {}, 0.0
    for g, s in zip(group.tolist(), t.tolist()):
        f = models.setdefault(g, list(init))
        tot = sum(f)
        total += math.log2(tot / f[s])
        f[s] += inc
        if tot + inc > limit:
            f[:] = [(v + 1) >> 1 for v in f]
    return total


def main(data: Path) -> None:
    for camera, folder in FOLDERS.items():
        for path in sorted((data / folder).glob("*.png"))[::17][:4]:
            img = read_image(path)
            h, w = img.shape[:2]
            img = np.ascontiguousarray(img[(h - 256) // 2:(h + 256) // 2, (w - 256) // 2:(w + 256) // 2])
            for keep, d in [(1.0, 0), (1.0, 2), (1.0, 8), (0.1, 0)]:
                lv, group, z, bits = codes(img, keep, d)
                tok = [ranked.token_of(v) for v in z.tolist()]
                t = np.array([a for a, _, _ in tok])
                raw = sum(n for _, _, n in tok)
                k = ranked.tokens(bits)
                row = {"camera": camera, "file": path.name, "keep": keep, "max_error": d,
                       "static": round((static_bits(group, t) + raw) / 8),
                       "level_adaptive": round((level_adaptive_bits(group, lv, t, k) + raw) / 8)}
                for inc, limit in [(16, 1 << 12), (24, 1 << 13), (32, 1 << 13), (32, 1 << 16)]:
                    for shape, init in [("flat", [1] * k), ("spec", [max(1, 12 - i) for i in range(k)])]:
                        row[f"adaptive_{inc}_{limit}_{shape}"] = round((adaptive_bits(group, t, k, inc, limit, init)
                                                                       + raw) / 8)
                if keep == 1.0:
                    row["jpegls"] = len(imagecodecs.jpegls_encode(img, level=d))
                print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main(Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data"))
