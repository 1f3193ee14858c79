"""Rebuild the run folders of the stage-1 latent models from the ONNX files that shipped them.

The quality ladder of 2026-12 continues from the two latent models that shipped before it
(``models/configs/latent-q{1,2}-stage1.json``, trained on Mastcam only). Their run folders were not
kept; this script writes ``RUNS/latent-q{1,2}-stage1/best.pt`` and ``summary.json`` from those ONNX
files (weights exactly as shipped, the rate model read back from their range-coder tables) so that
``maskcodec train models/configs/latent-qN.json`` continues from them instead of retraining stage 1.

Run it with the old models installed (git checkout 8c5c487 -- models/), e.g.::

    python benchmarks/notes/rebuild_latent_stage1.py runs
"""
import json
import sys
from pathlib import Path

import torch

from maskcodec.runtime.manifest import load
from maskcodec.tools.train.loop import init_from_model, load_config
from maskcodec.tools.train.nets import build

runs = Path(sys.argv[1] if len(sys.argv) > 1 else "runs")
for q in (1, 2):
    cfg = load_config(f"models/configs/latent-q{q}-stage1.json")
    entry = load().get(f"latent-q{q}")
    net = build(cfg["arch"], cfg["channels"], cfg["widths"], **cfg["net_options"])
    init_from_model(net, entry.id)
    run = runs / cfg["id"]
    run.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": net.state_dict(), "config": cfg, "epoch": 0, "step": 0, "val": {}}, run / "best.pt")
    manifest = json.loads(Path(load().folder, "manifest.json").read_text())
    old = next(e for e in manifest["models"] if e["id"] == entry.id)["run"]
    chain = [{"id": cfg["id"], "steps": old["steps"], "minutes": old["minutes"], "crops_seen": old["crops_seen"],
              "mask_kinds": cfg["mask_kinds"], "train": cfg["train"], "sittings_end_steps": [old["steps"]],
              "shipped_as": f"{entry.id} (decoder sha256 {entry.decoder.sha256[:16]}...)"}]
    (run / "summary.json").write_text(json.dumps({"chain": chain, "total_steps": old["steps"]}, indent=2))
    print(run, chain[0]["steps"], "steps")
