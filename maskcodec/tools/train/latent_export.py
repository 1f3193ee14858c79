"""Latent models for latent mode: write the encoder and decoder halves as ONNX and list them.

The contract (see :mod:`maskcodec.modes.latent`): the encoder takes ``image``
float32 ``(1, C, H, W)`` on [0, 1] with H and W multiples of ``factor`` and
returns ``latent`` ``(1, K, H/factor, W/factor)``; the decoder takes
``latent`` and returns ``image`` ``(1, C, h*factor, w*factor)``. The manifest
entry (``"kind": "latent"``) names both files with their SHA-256; its
top-level ``file``/``sha256`` are the decoder's, the file whose hash a
latent-mode file records.

Three ways to get one:

- :func:`split_onnx` cuts an existing full-autoencoder ONNX file (e.g. the
  paper's CAE, ``models/paper-gt-cae.onnx``) at its bottleneck;
- :func:`export_halves` exports two torch modules (needs torch);
- :func:`reference_model` builds a tiny fixed model with ``onnx.helper``
  (block maximum and minimum, upsampled midrange) whose arithmetic is exact,
  for conformance vectors and tests.

A model trained with a rate term also carries integer range-coder tables,
written into both halves' ONNX metadata by :func:`write_tables`: context
tables fitted to the model's latents on the training images
(:func:`context_tables`, a family of :func:`laplace_tables`; ``"coder": "context"``).

onnx is imported inside the functions; torch only by :func:`export_halves`.
"""
from __future__ import annotations

import math
import tempfile
import warnings
from pathlib import Path

import numpy as np

from ...errors import InvalidInputError
from ...modes.latent import QUANTIZATIONS
from typing import NamedTuple

from ...entropy.context import METADATA_KEY, ContextTables, context_classes, spatial_context
from ...entropy.rans import INT16, FlatTables, lengths
from .config import read_json

__all__ = ["ENCODER_NAMES", "DECODER_NAMES", "CUT_KEYS", "split_onnx", "load_cut_config", "cut_from_config",
           "export_halves", "reference_model", "check_halves", "LaplaceFamily", "laplace_tables", "context_tables", "write_tables",
           "CONTEXT_SCALES", "SPATIAL_EDGES", "ENERGY_CLASSES"]

ENCODER_NAMES = ("image", "latent")   # encoder input, output
DECODER_NAMES = ("latent", "image")   # decoder input, output
OPSET = 17
CUT_KEYS = {"id", "description", "cut_from", "cut", "factor", "quantization"}  # a cut config's keys
# Context tables (coder 3): the family's Laplace scales, the edges of the spatial classes, and how many
# energy classes (their edges are quantiles of the training latents' energy).
CONTEXT_SCALES = tuple(float(v) for v in np.geomspace(0.04, 32.0, 24))
CONTEXT_PRECISION = 14
SPATIAL_EDGES = (1, 2, 3, 5, 8)
ENERGY_CLASSES = 7


class LaplaceFamily(NamedTuple):
    """Integer frequency tables, one per Laplace (mean, scale): table ``j`` codes the values ``lows[j] ..
    lows[j] + len(freqs[j]) - 2``, its last symbol the escape; each sums to ``2**precision``."""

    precision: int
    lows: tuple[int, ...]
    freqs: tuple[tuple[int, ...], ...]


def _files(model_id: str) -> tuple[str, str]:
    return f"{model_id}.encoder.onnx", f"{model_id}.decoder.onnx"


def _rename(model, mapping: dict[str, str]) -> None:
    """Rename tensors everywhere in ``model``'s graph (nodes, inputs, outputs, value infos)."""
    g = model.graph
    for node in g.node:
        node.input[:] = [mapping.get(n, n) for n in node.input]
        node.output[:] = [mapping.get(n, n) for n in node.output]
    for v in [*g.input, *g.output, *g.value_info]:
        v.name = mapping.get(v.name, v.name)


def check_halves(out_dir: str | Path, entry: dict, seed: int = 0) -> np.ndarray:
    """Run both halves of ``entry`` on a random image of 2 x 3 latent cells and check the contract's shapes.

    Returns
    -------
    numpy.ndarray
        The decoded image ``(1, C, 2*factor, 3*factor)`` (for parity checks).
    """
    import onnxruntime as ort

    out_dir = Path(out_dir)
    c, k, f = entry["channels"], entry["latent_channels"], entry["factor"]
    x = np.random.default_rng(seed).random((1, c, 2 * f, 3 * f), dtype=np.float32)
    run = {half: ort.InferenceSession(str(out_dir / entry[half]["file"]), providers=["CPUExecutionProvider"])
           for half in ("encoder", "decoder")}
    z = run["encoder"].run(None, {ENCODER_NAMES[0]: x})[0]
    if z.shape != (1, k, 2, 3):
        raise InvalidInputError(f"encoder of {entry['id']!r} maps {x.shape} to {z.shape}; expected (1, {k}, 2, 3)")
    y = run["decoder"].run(None, {DECODER_NAMES[0]: z})[0]
    if y.shape != x.shape:
        raise InvalidInputError(f"decoder of {entry['id']!r} maps {z.shape} to {y.shape}; expected {x.shape}")
    return y


def laplace_tables(mean, scale, precision: int = 15) -> LaplaceFamily:
    """Integer range-coder tables from Laplace distributions (one table per ``mean`` and ``scale``).

    Computed once, at export, in float64; the integers are then fixed and
    stored with the model (coding never recomputes them). Table c covers the
    integers within ``precision * ln 2 + 1`` scales of its mean (the tail
    beyond holds about ``2**-precision`` of the mass), each with
    ``floor(p * 2**precision)`` but at least 1, where p is the Laplace mass of
    ``[v - 0.5, v + 0.5]``; the escape symbol gets the tails' mass (at least
    1), and the most probable symbol absorbs the rounding so that the table
    sums to ``2**precision``.

    Examples
    --------
    >>> t = laplace_tables([0.0], [1.0], precision=8)
    >>> t.lows[0], len(t.freqs[0]) - 1, t.freqs[0][abs(t.lows[0])], sum(t.freqs[0])
    (-8, 17, 97, 256)
    """
    mean, scale = np.asarray(mean, np.float64), np.asarray(scale, np.float64)
    if mean.shape != scale.shape or mean.ndim != 1 or not (np.isfinite(mean).all() and (scale > 0).all()):
        raise InvalidInputError("laplace_tables needs one finite mean and one positive scale per channel")
    total, reach = 1 << precision, precision * math.log(2) + 1
    lows, freqs = [], []
    for mu, b in zip(mean, scale):
        lo = max(INT16[0], math.floor(mu - reach * b - 0.5))
        hi = min(INT16[1], max(lo + 1, math.ceil(mu + reach * b + 0.5)))
        v = np.arange(lo, hi + 1, dtype=np.float64)
        cdf = lambda x: np.where(x < mu, 0.5 * np.exp((x - mu) / b), 1 - 0.5 * np.exp(-(x - mu) / b))  # noqa: E731
        p = cdf(v + 0.5) - cdf(v - 0.5)
        f = np.maximum(1, np.floor(np.append(p, max(0.0, 1 - p.sum())) * total)).astype(np.int64)
        f[np.argmax(f)] += total - f.sum()
        lows.append(lo)
        freqs.append(tuple(int(x) for x in f))
    return LaplaceFamily(precision=precision, lows=tuple(lows), freqs=tuple(freqs))


def context_tables(latents: list[np.ndarray], scales=CONTEXT_SCALES, precision: int = CONTEXT_PRECISION,
                   spatial_edges=SPATIAL_EDGES, energy_classes: int = ENERGY_CLASSES) -> ContextTables:
    """Coder 3's context tables fitted to integer latents ``(K, h, w)`` (a model's, on its training images).

    Computed once, at export; the integers are then fixed. Each channel's
    centre is its median value; the family is zero-centred Laplace tables
    (:func:`laplace_tables`) at ``scales``; the energy edges are the
    quantiles ``1/E .. (E-1)/E`` of the per-position sum of the spatial
    context over channels (distinct integers). For every channel and class
    the map picks the table with the fewest bits for that class's residuals
    (the channel's best overall for a class never seen).

    Examples
    --------
    >>> z = np.random.default_rng(0).laplace(0, 2, (2, 16, 16)).round()
    >>> t = context_tables([z])
    >>> t.channels, t.classes, len(t.freqs)
    (2, 42, 24)
    """
    z = [np.asarray(v, np.int64) for v in latents]
    k = z[0].shape[0]
    centers = tuple(int(v) for v in np.median(np.concatenate([v.reshape(k, -1) for v in z], axis=1), axis=1).round())
    family = laplace_tables([0.0] * len(scales), scales, precision)
    flat = FlatTables(precision, family.lows, family.freqs)
    residuals = [v - np.asarray(centers)[:, None, None] for v in z]
    energy = np.concatenate([spatial_context(r).sum(axis=0).ravel() for r in residuals])
    edges = tuple(sorted({int(np.quantile(energy, q / energy_classes)) + 1 for q in range(1, energy_classes)} - {0}))
    classes = (len(spatial_edges) + 1) * (len(edges) + 1)
    cost = np.zeros((len(scales), k, classes))  # bits of every (table, channel, class)
    seen = np.zeros((k, classes), bool)
    for r in residuals:
        cls, flat_r = context_classes(r, spatial_edges, edges).reshape(k, -1), r.reshape(k, -1)
        for c in range(k):
            seen[c, cls[c]] = True
        for j in range(len(scales)):
            cost_j = lengths(flat, *flat.symbols(np.full(flat_r.shape, j), flat_r))
            for c in range(k):
                cost[j, c] += np.bincount(cls[c], weights=cost_j[c], minlength=classes)
    best = np.where(seen, cost.argmin(axis=0), cost.sum(axis=2).argmin(axis=0)[:, None])
    return ContextTables(precision=precision, lows=family.lows, freqs=family.freqs, centers=centers,
                         spatial_edges=tuple(spatial_edges), energy_edges=edges,
                         map=tuple(tuple(int(v) for v in row) for row in best))


def write_tables(out_dir: str | Path, model_id: str, tables: ContextTables) -> None:
    """Store ``tables`` in the metadata of both halves of ``model_id`` in ``out_dir`` (key
    :data:`maskcodec.entropy.context.METADATA_KEY`), so that each half's SHA-256 covers them."""
    import onnx

    for name in _files(model_id):
        model = onnx.load(str(Path(out_dir) / name))
        kept = [p for p in model.metadata_props if p.key != METADATA_KEY]
        del model.metadata_props[:]
        model.metadata_props.extend(kept)
        model.metadata_props.add(key=METADATA_KEY, value=tables.to_json())
        onnx.save(model, str(Path(out_dir) / name))


def _entry(out_dir: Path, model_id: str, channels: int, latent_channels: int, factor: int, quantization: str,
           description: str, tables: ContextTables | None = None, **extra) -> dict:
    """The manifest entry of the two halves written in ``out_dir`` (with their hashes); with ``tables``,
    those go into both halves first and the entry asks for the range coder."""
    from ...runtime.manifest import sha256_file

    if quantization not in QUANTIZATIONS.values():
        raise InvalidInputError(f"quantization {quantization!r} is unknown; expected one of "
                                f"{sorted(QUANTIZATIONS.values())}")
    if tables is not None:
        if quantization != "integer" or tables.channels != latent_channels:
            raise InvalidInputError(f"range-coder tables need integer quantization and one table per latent "
                                    f"channel ({latent_channels}); got {quantization!r} and {tables.channels}")
        write_tables(out_dir, model_id, tables)
        extra = {"coder": "context", **extra}
    enc, dec = _files(model_id)
    return {"id": model_id, "kind": "latent", "channels": channels, "latent_channels": latent_channels,
            "factor": factor, "quantization": quantization, "file": dec,
            "encoder": {"file": enc, "sha256": sha256_file(out_dir / enc)},
            "decoder": {"file": dec, "sha256": sha256_file(out_dir / dec)},
            "description": description, **extra}


def _list(out_dir: Path, entry: dict) -> dict:
    """Check the halves of ``entry`` against the contract and add it to ``out_dir/manifest.json``."""
    from .export import update_manifest

    check_halves(out_dir, entry)
    return update_manifest(out_dir, entry)


def split_onnx(onnx_path: str | Path, cut_tensor_name: str | None, out_dir: str | Path, model_id: str, *,
               factor: int, quantization: str = "minmax", description: str = "", **extra) -> dict:
    """Split a full-autoencoder ONNX file at its bottleneck into the encoder and decoder of a latent model.

    Parameters
    ----------
    onnx_path : str or path
        One input (the image, NCHW) and one output (the reconstruction).
    cut_tensor_name : str or None
        The bottleneck tensor; None takes the output of the last ``MaxPool``
        node (the 4th for :class:`~maskcodec.tools.train.nets.PaperCAE`).
    out_dir : str or path
        Where ``{model_id}.encoder.onnx``, ``{model_id}.decoder.onnx`` and
        the manifest go.
    model_id : str
        Id of the latent model.
    factor : int
        Image side / latent side (16 for four 2x poolings); checked by running
        both halves.
    quantization : {"minmax", "integer"}
        How latent mode quantizes the bottleneck (spec section 12.3).
    description : str
        For the manifest; ``extra`` keys go there too.

    Returns
    -------
    dict
        The manifest entry as written.
    """
    import onnx
    from onnx.utils import extract_model

    onnx_path, out_dir = Path(onnx_path), Path(out_dir)
    model = onnx.load(str(onnx_path))
    inp, out = model.graph.input[0].name, model.graph.output[0].name
    if cut_tensor_name is None:
        pools = [n.output[0] for n in model.graph.node if n.op_type == "MaxPool"]
        if not pools:
            raise InvalidInputError(f"{onnx_path} has no MaxPool node; name the bottleneck tensor to cut at")
        cut_tensor_name = pools[-1]
    channels = model.graph.input[0].type.tensor_type.shape.dim[1].dim_value
    out_dir.mkdir(parents=True, exist_ok=True)
    halves = zip(_files(model_id), ((inp, cut_tensor_name), (cut_tensor_name, out)), (ENCODER_NAMES, DECODER_NAMES))
    with tempfile.TemporaryDirectory() as tmp:
        for name, (src, dst), (new_src, new_dst) in halves:
            part = Path(tmp) / name
            extract_model(str(onnx_path), str(part), [src], [dst])
            half = onnx.load(str(part))
            _rename(half, {src: new_src, dst: new_dst})
            onnx.checker.check_model(half, full_check=True)
            onnx.save(half, str(out_dir / name))
    import onnxruntime as ort

    sess = ort.InferenceSession(str(out_dir / _files(model_id)[0]), providers=["CPUExecutionProvider"])
    probe = np.zeros((1, channels, 2 * factor, 3 * factor), np.float32)
    latent_channels = sess.run(None, {ENCODER_NAMES[0]: probe})[0].shape[1]
    return _list(out_dir, _entry(out_dir, model_id, channels, latent_channels, factor, quantization, description,
                                 source={"file": onnx_path.name, "cut": cut_tensor_name}, **extra))


def load_cut_config(path: str | Path) -> dict:
    """A cut config: a latent model made by :func:`split_onnx` from a shipped autoencoder, not trained.

    Keys (all required): ``id``, ``description``, ``cut_from`` (the shipped
    model to cut), ``cut`` (the bottleneck tensor's name), ``factor`` and
    ``quantization``. ``maskcodec train`` recognises such a config by its
    ``cut_from`` key.
    """
    cfg = read_json(path, "cut config")
    if set(cfg) != CUT_KEYS:
        raise InvalidInputError(f"{path}: a cut config has the keys {sorted(CUT_KEYS)}; "
                         f"missing {sorted(CUT_KEYS - set(cfg))}, unknown {sorted(set(cfg) - CUT_KEYS)}")
    return cfg


def cut_from_config(cfg: dict, out_dir: str | Path) -> dict:
    """Cut the latent model a cut config describes from its source model in ``out_dir`` and list it there."""
    from ...runtime.manifest import load

    source = load().get(cfg["cut_from"])
    return split_onnx(Path(out_dir) / source.onnx.file, cfg["cut"], out_dir, cfg["id"], factor=cfg["factor"],
                      quantization=cfg["quantization"], description=cfg["description"],
                      source_model=cfg["cut_from"], config=cfg)


def export_halves(encoder, decoder, out_dir: str | Path, model_id: str, *, channels: int, latent_channels: int,
                  factor: int, quantization: str = "integer", description: str = "", tables: ContextTables | None = None,
                  **extra) -> dict:
    """Export torch ``encoder`` and ``decoder`` modules as the two halves of a latent model.

    Both go out with dynamic height and width (TorchScript exporter, opset
    17), pass ``onnx.checker`` and are run once to check the contract; the
    entry records the largest difference between torch and onnxruntime on the
    check image (``onnx_parity_max_abs_diff``).

    Parameters are those of :func:`split_onnx`; ``quantization`` defaults to
    ``"integer"``, for models trained with rounding in the loop. ``tables``:
    the model's context tables (:func:`context_tables`), stored in both
    halves; the entry then asks for coder ``"context"``.

    Returns
    -------
    dict
        The manifest entry, not yet listed: the caller lists it with
        :func:`maskcodec.tools.train.export.update_manifest` once the parity is
        acceptable.
    """
    import onnx
    import torch

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    encoder, decoder = encoder.eval(), decoder.eval()
    examples = (torch.zeros(1, channels, 2 * factor, 3 * factor), torch.zeros(1, latent_channels, 2, 3))
    for net, example, name, (src, dst) in zip((encoder, decoder), examples, _files(model_id),
                                              (ENCODER_NAMES, DECODER_NAMES)):
        axes = {2: "height", 3: "width"}
        with warnings.catch_warnings():  # the TorchScript exporter warns that it is legacy
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.onnx.export(net, (example,), str(out_dir / name), dynamo=False, opset_version=OPSET,
                              input_names=[src], output_names=[dst], dynamic_axes={src: axes, dst: axes})
        onnx.checker.check_model(onnx.load(str(out_dir / name)), full_check=True)
    entry = _entry(out_dir, model_id, channels, latent_channels, factor, quantization, description, tables, **extra)
    x = np.random.default_rng(0).random(examples[0].shape, dtype=np.float32)  # check_halves' image
    with torch.no_grad():
        ref = decoder(encoder(torch.from_numpy(x))).numpy()
    entry["onnx_parity_max_abs_diff"] = float(np.abs(check_halves(out_dir, entry) - ref).max())
    return entry


def reference_model(out_dir: str | Path, model_id: str, *, channels: int, factor: int,
                    quantization: str = "minmax", scale: float = 1.0, tables: ContextTables | None = None) -> dict:
    """A tiny fixed latent model with exact arithmetic, for conformance vectors and tests.

    Encoder: per ``factor`` x ``factor`` block and channel, the maximum and the
    minimum, times ``scale`` (K = 2C latent channels: maxima, then minima).
    Decoder: divide by ``scale``, average each channel's maximum and minimum
    (a 1x1 convolution with weights 0.5) and repeat it over the block (nearest
    resize). Use ``scale=255`` with ``"integer"`` quantization (whole 8-bit
    levels); ``tables`` (integer quantization only) makes it a range-coded model.

    Returns
    -------
    dict
        The manifest entry as written in ``out_dir/manifest.json``.
    """
    from onnx import TensorProto, checker, helper, numpy_helper, save

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    k = 2 * channels
    f32 = TensorProto.FLOAT

    def tensor(name: str, c: int, h: str, w: str):
        return helper.make_tensor_value_info(name, f32, [1, c, h, w])

    def const(name: str, value) -> object:
        return numpy_helper.from_array(np.asarray(value, np.float32), name)

    pool = dict(kernel_shape=[factor, factor], strides=[factor, factor])
    encoder = helper.make_graph([
        helper.make_node("MaxPool", ["image"], ["hi"], **pool),
        helper.make_node("Neg", ["image"], ["neg"]),
        helper.make_node("MaxPool", ["neg"], ["neg_lo"], **pool),
        helper.make_node("Neg", ["neg_lo"], ["lo"]),
        helper.make_node("Concat", ["hi", "lo"], ["both"], axis=1),
        helper.make_node("Mul", ["both", "scale"], ["latent"]),
    ], "encoder", [tensor("image", channels, "height", "width")], [tensor("latent", k, "lh", "lw")],
        [const("scale", scale)])
    weights = np.zeros((channels, k, 1, 1), np.float32)
    weights[np.arange(channels), np.arange(channels)] = weights[np.arange(channels), channels + np.arange(channels)] = 0.5
    decoder = helper.make_graph([
        helper.make_node("Mul", ["latent", "inv_scale"], ["unscaled"]),
        helper.make_node("Conv", ["unscaled", "weights"], ["mid"]),
        helper.make_node("Resize", ["mid", "", "scales"], ["image"], mode="nearest",
                         coordinate_transformation_mode="asymmetric", nearest_mode="floor"),
    ], "decoder", [tensor("latent", k, "lh", "lw")], [tensor("image", channels, "height", "width")],
        [const("inv_scale", 1.0 / scale), const("weights", weights), const("scales", [1, 1, factor, factor])])
    for graph, name in zip((encoder, decoder), _files(model_id)):
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=8,
                                  # the module's name when the reference models were written: it is part
                                  # of their bytes, which the vectors' model hashes fix, so it stays
                                  producer_name="maskcodec.train.latent_export.reference_model")
        checker.check_model(model, full_check=True)
        save(model, str(out_dir / name))
    return _list(out_dir, _entry(out_dir, model_id, channels, k, factor, quantization,
                                 f"Reference latent model (exact arithmetic, no training): {factor}x{factor} block "
                                 f"maximum and minimum of each of {channels} channels times {scale:g}; decoded as "
                                 f"their midrange{_coded_with(tables)}.", tables))


def _coded_with(tables) -> str:
    return "" if tables is None else "; range-coded with context tables"
