"""What coder 3's context tables save against coder 1's fixed per-channel tables, on the same latents.

For each shipped context-coded level, the latents of every val image (the shipped encoder half) are coded
with the level's context tables (coder 3, as shipped) and with fixed Laplace tables from the run's learned
prior (coder 1, what the model would have shipped before; needs ``runs/<id>/best.pt``). Prints the payload
bytes per camera folder and writes them to ``benchmarks/results/context_vs_fixed.json``.

    python benchmarks/notes/context_vs_fixed.py runs ../shared/data/mars_rgb/val ../shared/data/mars_rgb_m2020/val \\
        ../shared/data/mars_rgb_mahli/val
"""
import json
import sys
from pathlib import Path

import numpy as np
import torch

from maskcodec import latent_mode, rans
from maskcodec.images import find_images, read_image
from maskcodec.manifest import LatentEntry, load
from maskcodec.networks import pad, session
from maskcodec.tools.train.latent_export import laplace_tables

runs, folders = Path(sys.argv[1]), sys.argv[2:]
rows = []
for model_id, entry in sorted(load().of_kind(LatentEntry).items()):
    if entry.coder != "context" or entry.channels != 3 or not (runs / model_id / "best.pt").exists():
        continue
    state = torch.load(runs / model_id / "best.pt", map_location="cpu", weights_only=False)["state_dict"]
    fixed = laplace_tables(state["mean"].double().numpy(), state["log_scale"].double().exp().numpy())
    context = latent_mode.model_tables(entry, "encoder")
    enc = session(entry.encoder)
    for folder in folders:
        sizes = {"fixed_coder1": 0, "context_coder3": 0}
        for f in find_images([folder]):
            x = pad(read_image(f).astype(np.float32) / 255, entry.factor).transpose(2, 0, 1)[None]
            z = np.clip(np.rint(enc.run(None, {"image": np.ascontiguousarray(x)})[0][0]), *rans.INT16).astype(np.int64)
            sizes["fixed_coder1"] += len(rans.encode(z.reshape(len(z), -1), fixed))
            sizes["context_coder3"] += len(rans.encode_context(z, context))
        rows.append({"model": model_id, "folder": folder, **sizes,
                     "saving": round(1 - sizes["context_coder3"] / sizes["fixed_coder1"], 4)})
        print(rows[-1])
Path("benchmarks/results/context_vs_fixed.json").write_text(json.dumps({"command": " ".join(sys.argv), "rows": rows},
                                                                      indent=1))
