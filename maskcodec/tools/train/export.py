"""Export a trained network to ONNX, check it, and list it in the manifest.

The ONNX contract is the one :mod:`maskcodec.runtime.onnx` runs: one float32 NCHW
input on [0, 1] named ``input`` with dynamic height and width (multiples of
the network's ``multiple``), one output named ``output`` holding the image
estimate with ``channels`` channels.
"""
from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np

from ...errors import ModelError
from ...runtime.manifest import sha256_file

__all__ = ["INPUT_NAMES", "OUTPUT_NAMES", "export_onnx", "parity", "update_manifest"]

INPUT_NAMES, OUTPUT_NAMES = ["input"], ["output"]
OPSET = 17


def export_onnx(net, path: str | Path) -> None:
    """Write ``net`` (a torch module) as ONNX with dynamic H and W and check it with ``onnx.checker``."""
    import onnx
    import torch

    net = net.eval()
    m = net.multiple
    example = torch.zeros(1, net.in_channels, 2 * m, 3 * m)
    axes = {2: "height", 3: "width"}
    with warnings.catch_warnings():  # the TorchScript exporter needs no onnxscript; it warns it is legacy
        warnings.simplefilter("ignore", DeprecationWarning)
        torch.onnx.export(net, (example,), str(path), dynamo=False, opset_version=OPSET,
                          input_names=INPUT_NAMES, output_names=OUTPUT_NAMES,
                          dynamic_axes={INPUT_NAMES[0]: axes, OUTPUT_NAMES[0]: axes})
    onnx.checker.check_model(onnx.load(str(path)), full_check=True)


def parity(net, path: str | Path, seed: int = 0) -> float:
    """Largest absolute difference between torch and onnxruntime on a random input.

    The input is not square and not of the export's size, so the dynamic axes
    are exercised too.
    """
    import onnxruntime as ort
    import torch

    m = net.multiple
    x = np.random.default_rng(seed).random((1, net.in_channels, 5 * m, 7 * m), dtype=np.float32)
    with torch.no_grad():
        ref = net.eval()(torch.from_numpy(x)).numpy()
    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    out = sess.run(None, {INPUT_NAMES[0]: x})[0]
    if out.shape != ref.shape:
        raise ModelError(f"onnxruntime output shape {out.shape} differs from torch's {ref.shape}")
    return float(np.abs(out - ref).max())


def update_manifest(models_dir: str | Path, entry: dict) -> dict:
    """Add or replace ``entry`` (by id) in ``models_dir/manifest.json``; its sha256 is recomputed.

    Returns
    -------
    dict
        The entry as written.
    """
    models_dir = Path(models_dir)
    path = models_dir / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {"models": []}
    entry = {**entry, "sha256": sha256_file(models_dir / entry["file"])}
    ids = [m["id"] for m in manifest["models"]]
    if entry["id"] in ids:
        manifest["models"][ids.index(entry["id"])] = entry
    else:
        manifest["models"].append(entry)
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    return entry
