"""Inpainting models that know the file's max_error (issue 30): the tolerance input, near-lossless training
crops, the stage that starts from a shipped model, and the shipped d-aware models."""
from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

import maskcodec
from maskcodec.inpainting.models import INPUT_KINDS, inpainter, network_input, takes_tolerance
from maskcodec.io.samples import sample_path
from maskcodec.masks import mask
from maskcodec.runtime.manifest import load
from maskcodec.runtime.onnx import session

torch = pytest.importorskip("torch", reason="needs torch, the CPU build: pip install torch==2.13.0+cpu (docs/training.md)")
pytest.importorskip("onnx")

from maskcodec.tools.train import configure_parser, run_cli  # noqa: E402
from maskcodec.tools.train.data import masked_batch, near_lossless, random_crops  # noqa: E402
from maskcodec.tools.train.evaluate import near_lossless_fill  # noqa: E402
from maskcodec.tools.train.loop import corrupt, init_from_model, load_config, max_errors  # noqa: E402
from maskcodec.tools.train.nets import ResidualUNet, build, input_kind  # noqa: E402

SHIPPED = {"default": (3, "mastcam", {"init": "kaiming"}), "gray-default": (1, "navcam", {"base": "linear"})}
D_MODELS = {"default-d": "default", "gray-default-d": "gray-default"}


def _image(sample: str, h: int = 96, w: int = 144) -> np.ndarray:
    img = maskcodec.sample_image(sample)[:h, :w]
    return (img[..., None] if img.ndim == 2 else img).astype(np.float32) / 255


def _config(tmp_path, **over) -> str:
    with maskcodec.io.samples.resources.as_file(sample_path("mastcam")) as train_img, \
            maskcodec.io.samples.resources.as_file(sample_path("mastcam_pano")) as val_img:
        cfg = {"id": "tiny", "widths": [4, 8], "train": [str(train_img)], "val": [str(val_img)],
               "crop": 32, "batch": 4, "crops_per_epoch": 8, "epochs": 1, "val_crops": 4,
               "val_keeps": [0.1], "eval_keeps": [0.1], **over}
    path = tmp_path / f"{cfg['id']}.json"
    path.write_text(json.dumps(cfg))
    return str(path)


@pytest.mark.parametrize("kind", ["masked+mask", "linear+mask"])
def test_the_d_input_kinds_add_a_constant_tolerance_plane(kind):
    img = _image("mastcam")
    known = mask(img.shape, 0.2, seed=1)
    base = network_input(kind, img * known[..., None], known)
    x = network_input(kind + "+d", img * known[..., None], known, 4 / 255)
    assert kind + "+d" in INPUT_KINDS and takes_tolerance(kind + "+d") and not takes_tolerance(kind)
    assert x.shape == base.shape[:2] + (base.shape[2] + 1,) and x.dtype == np.float32
    np.testing.assert_array_equal(x[..., :-1], base)
    assert np.all(x[..., -1] == np.float32(4 / 255))
    np.testing.assert_array_equal(network_input(kind, img * known[..., None], known, 0.5), base)  # ignored
    for bad in (-0.1, 1.5, float("nan"), "x"):
        with pytest.raises(maskcodec.InvalidInputError, match="tolerance"):
            network_input(kind + "+d", img, known, bad)


def test_a_model_without_the_d_input_ignores_the_tolerance():
    img = _image("mastcam", 64, 80)
    known = mask(img.shape, 0.1, seed=2)
    entry = load().get("default")
    np.testing.assert_array_equal(inpainter(entry, 8 / 255)(img * known[..., None], known),
                                  inpainter(entry)(img * known[..., None], known))


@pytest.mark.parametrize("model_id", list(SHIPPED))
def test_a_d_aware_network_started_from_a_shipped_model_computes_what_it_does(model_id):
    """The stage's untrained network is the shipped ONNX model, whatever the tolerance (its weights for
    the new plane are zero)."""
    channels, sample, options = SHIPPED[model_id]
    net = build("residual_unet", channels, [12, 24, 48, 96, 192], **options, tolerance=True).eval()
    init_from_model(net, model_id)
    assert torch.count_nonzero(net.stem[0].weight[:, -1]) == 0
    img = _image(sample)
    known = mask(img.shape, 0.1, seed=3)
    kind = load().get(model_id).input
    ref = session(load().get(model_id).onnx).run(
        None, {"input": network_input(kind, img * known[..., None], known).transpose(2, 0, 1)[None]})[0]
    for d in (0, 4):
        x = network_input(kind + "+d", img * known[..., None], known, d / 255)
        with torch.no_grad():
            out = net(torch.from_numpy(x.transpose(2, 0, 1)[None].copy())).numpy()
        np.testing.assert_allclose(out, ref, atol=1e-5)


def test_the_tolerance_option_gives_the_d_input_kinds():
    assert input_kind("residual_unet", {"tolerance": True}) == "masked+mask+d"
    assert input_kind("residual_unet", {"base": "linear", "tolerance": True}) == "linear+mask+d"
    net = ResidualUNet(1, (4, 8), tolerance=True)
    assert net.in_channels == 3 and net(torch.zeros(1, 3, 32, 32)).shape == (1, 1, 32, 32)


def test_near_lossless_moves_only_kept_values_within_max_error_on_the_sample_levels():
    img = _image("mastcam")
    img[:8] = 0.0  # the range's ends: clipped, still within max_error
    img[8:16] = 1.0
    known = mask(img.shape, 0.3, seed=4)
    out = near_lossless(img, known, 4, np.random.default_rng(0))
    err = np.rint((out - img) * 255)
    assert np.array_equal(out[~known], img[~known]) and np.abs(err).max() == 4
    assert out.min() >= 0 and out.max() <= 1 and np.allclose(out * 255, np.rint(out * 255), atol=1e-4)
    inner = err[16:][known[16:]]
    assert abs(inner.mean()) < 0.1 and abs(np.sqrt((inner ** 2).mean()) - np.sqrt(20 / 3)) < 0.1  # uniform -4..4
    assert near_lossless(img, known, 0, np.random.default_rng(0)) is img


def test_training_crops_get_max_errors_with_a_share_of_exact_ones(tmp_path):
    cfg = load_config(_config(tmp_path, max_error=[1, 8], max_error_zero_share=0.33,
                              net_options={"tolerance": True}))
    d = max_errors(cfg, 3000, np.random.default_rng(0))
    assert d.min() == 0 and d.max() == 8 and 0.3 < np.mean(d == 0) < 0.42
    assert max_errors(load_config(_config(tmp_path)), 4, np.random.default_rng(0)) is None
    clean = random_crops([maskcodec.sample_image("mastcam")], 16, 32, np.random.default_rng(1))
    x, known = corrupt(cfg, clean, np.random.default_rng(2))
    assert x.shape == (16, 5, 32, 32)
    for i in range(16):
        tol = float(x[i, 4, 0, 0])
        assert torch.all(x[i, 4] == tol) and round(tol * 255) in range(9)
        k = known[i, 0] > 0
        err = (x[i, :3] - clean[i]) * 255
        assert err[:, k].abs().max() <= round(tol * 255) + 1e-3 and torch.all(x[i, :3][:, ~k] == 0)
    xv, kv = corrupt(cfg, clean[:2], np.random.default_rng(3), np.array([0.2, 0.2]), np.array([1, 2]), 4)
    assert torch.all(xv[:, 4] == np.float32(4 / 255))
    assert (xv[:, :3] - clean[:2])[kv.expand(-1, 3, -1, -1) > 0].abs().max() * 255 == pytest.approx(4, abs=1e-3)


def test_masked_batch_without_max_errors_is_unchanged():
    clean = random_crops([maskcodec.sample_image("mastcam")], 2, 32, np.random.default_rng(2))
    a = masked_batch(clean, "masked+mask", np.array([0.1, 0.3]), np.array([1, 2]))
    b = masked_batch(clean, "masked+mask", np.array([0.1, 0.3]), np.array([1, 2]), max_errors=np.zeros(2, int))
    assert torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("over,match", [({"max_error": [4]}, "'max_error'"), ({"max_error": [5, 2]}, "'max_error'"),
                                        ({"max_error": [0, 200]}, "'max_error'"),
                                        ({"max_error_zero_share": 1.5}, "max_error_zero_share"),
                                        ({"val_max_errors": []}, "val_max_errors"),
                                        ({"val_max_errors": [0.5]}, "val_max_errors")])
def test_config_rejects_bad_max_errors(tmp_path, over, match):
    with pytest.raises(maskcodec.InvalidInputError, match=match):
        load_config(_config(tmp_path, **over))


def test_a_d_stage_after_a_shipped_model_ships_a_d_aware_model(tmp_path, monkeypatch):
    """A tiny base model is shipped, then a d-aware stage starts from it: the stage's epoch 0 is the base model
    (at every max_error), the chain goes on from the base's, the entry measures near-lossless files."""
    models = tmp_path / "models"
    monkeypatch.setenv("MASKCODEC_MODELS", str(models))

    def ship(config: str) -> dict:
        args = configure_parser(argparse.ArgumentParser()).parse_args(
            [config, "--data", str(tmp_path), "--runs", str(tmp_path / "runs"), "--models", str(models), "-q"])
        assert run_cli(args) == 0
        return {m["id"]: m for m in json.loads((models / "manifest.json").read_text())["models"]}

    ship(_config(tmp_path, id="base", val_max_errors=[0, 4]))
    entries = ship(_config(tmp_path, id="base-d", init_from="base", net_options={"tolerance": True},
                           max_error=[1, 8], max_error_zero_share=0.33, val_max_errors=[0, 4]))
    entry = entries["base-d"]
    assert entry["input"] == "masked+mask+d" and "(1, 5, H, W)" in entry["layout"]
    assert [c["id"] for c in entry["run"]["chain"]] == ["base", "base-d"]
    assert entry["run"]["chain"][-1]["max_error"] == [1, 8]
    assert set(entry["metrics"]["near_lossless_psnr_db"]["d4"]["keep0.1"]) == {"model", "base", "linear"}
    rows = {r["epoch"]: r for r in _curve(tmp_path / "runs" / "base-d")}
    base_rows = {r["epoch"]: r for r in _curve(tmp_path / "runs" / "base")}
    assert {"val_psnr_keep0.1", "val_psnr_keep0.1_d4"} <= set(rows["0"])
    best = json.loads((tmp_path / "runs" / "base" / "summary.json").read_text())["best_epoch"]
    for col in ("val_psnr_keep0.1", "val_psnr_keep0.1_d4"):  # the same val crops, noise and weights
        assert float(rows["0"][col]) == pytest.approx(float(base_rows[str(best)][col]), abs=1e-4)

    img = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(img, 0.2, seed=5, max_error=4)
    outs = near_lossless_fill(img, data, {"d": "base-d", "base": "base", "linear": "linear"})
    _, known, values = maskcodec.survivors(data)
    for out in outs.values():
        assert np.array_equal(out[known], values) and np.abs(out[known].astype(int) - img[known]).max() <= 4
    dec = maskcodec.decode(data, inpainter="base-d")  # the decoder runs it (told 0 until it passes max_error on)
    assert dec.shape == img.shape and np.array_equal(dec[known], values)


def _curve(run):
    import csv
    with open(run / "curve.csv") as f:
        return list(csv.DictReader(f))


@pytest.mark.parametrize("model_id", [m for m in D_MODELS if m in load().entries])
def test_the_shipped_d_aware_models_are_the_defaults_and_start_from_the_old_ones(model_id):
    entries = load().entries
    entry, old = entries[model_id], entries[D_MODELS[model_id]]
    assert entry.default_for == ("uint8",) and old.default_for == ()
    assert entry.input == old.input + "+d" and entry.channels == old.channels
    assert entry.raw["training"]["init_from"] == old.id
    assert [c["id"] for c in entry.raw["run"]["chain"]] == [c["id"] for c in old.raw["run"]["chain"]] + [model_id]
    assert entry.raw["onnx_parity_max_abs_diff"] < 1e-4
