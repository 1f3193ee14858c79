"""Training code: a tiny end-to-end run (train, export, parity, manifest, decode) and its parts."""
from __future__ import annotations

import argparse
import csv
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import maskcodec
import maskcodec.inpainting.models
import maskcodec.runtime.onnx
from maskcodec.modes import latent as latent_mode
from maskcodec.runtime.manifest import load
from maskcodec.inpainting.classical import nconv
from maskcodec.masks import mask
from maskcodec.metrics import psnr
from maskcodec.runtime.manifest import sha256_file
from maskcodec.inpainting.models import network_input
from maskcodec.io.samples import sample_path

torch = pytest.importorskip("torch", reason="needs torch, the CPU build: pip install torch==2.13.0+cpu (docs/training.md)")
onnx = pytest.importorskip("onnx")

from maskcodec.tools.train import configure_parser, run_cli  # noqa: E402
from maskcodec.tools.train.data import Augment, masked_batch, random_crops  # noqa: E402
from maskcodec.tools.train.export import export_onnx, parity  # noqa: E402
from maskcodec.tools.train.evaluate import training_latents  # noqa: E402
from maskcodec.tools.train.latent_export import context_tables  # noqa: E402
from maskcodec.tools.train.loop import init_from_model, load_config, load_net, train  # noqa: E402
from maskcodec.tools.train.nets import NormalizedConvolution, PaperCAE, ResidualUNet  # noqa: E402


def _tiny_config(tmp_path, **over) -> str:
    with maskcodec.io.samples.resources.as_file(sample_path("mastcam")) as train_img, \
            maskcodec.io.samples.resources.as_file(sample_path("mastcam_pano")) as val_img:
        cfg = {"id": "tiny", "widths": [4, 8], "train": [str(train_img)], "val": [str(val_img)],
               "crop": 32, "batch": 4, "crops_per_epoch": 8, "epochs": 1, "val_crops": 4,
               "val_keeps": [0.1], "eval_keeps": [0.1], "default_for": ["uint8"], **over}
    path = tmp_path / "tiny.json"
    path.write_text(json.dumps(cfg))
    return str(path)


def test_import_maskcodec_does_not_import_torch():
    code = "import sys, maskcodec, maskcodec.tools.train, maskcodec.cli; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_tiny_training_ships_a_usable_model(tmp_path, monkeypatch):
    models = tmp_path / "models"
    monkeypatch.setenv("MASKCODEC_MODELS", str(models))
    args = configure_parser(argparse.ArgumentParser()).parse_args(
        [_tiny_config(tmp_path), "--data", str(tmp_path), "--runs", str(tmp_path / "runs"),
         "--models", str(models), "-q"])
    assert run_cli(args) == 0

    run = tmp_path / "runs" / "tiny"
    assert {"best.pt", "last.pt", "curve.csv", "curve.png", "summary.json"} <= {p.name for p in run.iterdir()}
    assert (models / "curves" / "tiny.csv").read_text().startswith("epoch,step,")
    entry, = json.loads((models / "manifest.json").read_text())["models"]
    assert entry["sha256"] == sha256_file(models / "tiny.onnx")
    assert (entry["input"], entry["channels"], entry["multiple"]) == ("masked+mask", 3, 16)
    assert entry["onnx_parity_max_abs_diff"] < 1e-4
    assert set(entry["metrics"]["psnr_db"]["keep0.1"]) == {"model", "linear", "nconv"}
    onnx.checker.check_model(onnx.load(str(models / "tiny.onnx")))

    img = maskcodec.sample_image("mastcam")
    known = mask(img.shape, 0.1, seed=3)
    out = maskcodec.inpainting.models.inpainter(load().get("tiny"))(img.astype(np.float32) / 255 * known[..., None], known)
    assert out.shape == img.shape and np.isfinite(out).all()
    data = maskcodec.encode(img, 0.1, seed=3)
    for name in ("tiny", "auto"):
        dec = maskcodec.decode(data, inpainter=name)
        assert dec.shape == img.shape and np.array_equal(dec[known], img[known])


@pytest.mark.parametrize("net", [ResidualUNet(3, (4, 8, 8)), PaperCAE(1, (4, 4, 8, 8))])
def test_onnx_export_matches_torch(net, tmp_path):
    export_onnx(net, tmp_path / "n.onnx")
    assert parity(net, tmp_path / "n.onnx") < 1e-5


def test_augment_without_warp_is_an_exact_crop():
    aug = Augment(32, rotate_deg=10, shear_deg=5, shift_px=0, hflip=False, p_affine=0.0)
    rng = np.random.default_rng(0)
    src = random_crops([maskcodec.sample_image("mastcam")], 3, aug.source, rng)
    c = (aug.source - 32) // 2
    assert torch.equal(aug(src, rng), src[:, :, c:c + 32, c:c + 32])


def test_augment_warps_stay_in_range_and_on_8bit_levels():
    aug = Augment(32)
    rng = np.random.default_rng(1)
    out = aug(random_crops([maskcodec.sample_image("mastcam")], 8, aug.source, rng), rng)
    assert out.shape == (8, 3, 32, 32) and out.min() >= 0 and out.max() <= 1
    assert torch.allclose(out * 255, torch.round(out * 255), atol=1e-4)


def test_masked_batch_uses_the_codec_mask_and_decoder_input():
    clean = random_crops([maskcodec.sample_image("mastcam")], 2, 32, np.random.default_rng(2))
    keeps, seeds = np.array([0.05, 0.3]), np.array([7, 2 ** 32 - 1])
    x, known = masked_batch(clean, "nconv+mask", keeps, seeds)
    for i in range(2):
        m = mask((32, 32), keeps[i], int(seeds[i]))
        assert np.array_equal(known[i, 0].numpy() > 0, m)
        img = clean[i].permute(1, 2, 0).numpy()
        ref = network_input("nconv+mask", img * m[..., None], m)
        np.testing.assert_allclose(x[i].permute(1, 2, 0).numpy(), ref, atol=1e-6)


def test_config_rejects_unknown_keys(tmp_path):
    with pytest.raises(ValueError, match="unknown config keys"):
        load_config(_tiny_config(tmp_path, learning_rate=1))


def test_untrained_residual_unet_is_a_normalized_convolution_fill_as_good_as_nconv():
    img = maskcodec.sample_image("mastcam")[:240, :304]
    known = mask(img.shape, 0.1, seed=5)
    x = torch.from_numpy(network_input("masked+mask", img / 255.0 * known[..., None], known))
    x = x.float().permute(2, 0, 1)[None]
    with torch.no_grad():
        out = ResidualUNet(3, (4, 8))(x)
        fill = NormalizedConvolution(3)(x[:, :3], x[:, 3:])
    assert torch.equal(out, fill)
    ours = np.clip(fill[0].permute(1, 2, 0).numpy() * 255, 0, 255).round().astype(np.uint8)
    ref = np.clip(nconv(img / 255.0 * known[..., None], known) * 255, 0, 255).round().astype(np.uint8)
    assert psnr(img, ours) > psnr(img, ref) - 0.5


def test_untrained_linear_base_residual_unet_returns_the_linear_inpainting():
    img = maskcodec.sample_image("navcam")[:64, :96, None] / 255.0
    known = mask(img.shape, 0.2, seed=3)
    x = torch.from_numpy(network_input("linear+mask", img * known[..., None], known)).float().permute(2, 0, 1)[None]
    with torch.no_grad():
        out = ResidualUNet(1, (4, 8), base="linear")(x)
    assert torch.equal(out, x[:, :1])
    with pytest.raises(ValueError, match="unknown base 'cubic'"):
        ResidualUNet(1, (4, 8), base="cubic")


def test_linear_base_training_ships_a_linear_input_model(tmp_path, monkeypatch):
    entry = _train_tiny(tmp_path, monkeypatch, id="tiny-linear", net_options={"base": "linear"}, default_for=[])
    assert entry["input"] == "linear+mask" and "'linear+mask'" in entry["layout"]
    img = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(img, 0.1, seed=4)
    out = maskcodec.decode(data, inpainter="tiny-linear")
    known = mask(img.shape, 0.1, seed=4)
    assert np.array_equal(out[known], img[known])


def _train_tiny(tmp_path, monkeypatch, **over) -> dict:
    """Run ``maskcodec train`` on a tiny config; return the manifest entry it wrote."""
    models = tmp_path / "models"
    monkeypatch.setenv("MASKCODEC_MODELS", str(models))
    args = configure_parser(argparse.ArgumentParser()).parse_args(
        [_tiny_config(tmp_path, **over), "--data", str(tmp_path), "--runs", str(tmp_path / "runs"),
         "--models", str(models), "-q"])
    assert run_cli(args) == 0
    return {m["id"]: m for m in json.loads((models / "manifest.json").read_text())["models"]}[over.get("id", "tiny")]


def test_colour_noise_training_ships_a_denoiser(tmp_path, monkeypatch):
    entry = _train_tiny(tmp_path, monkeypatch, id="noisy", arch="paper_cae", widths=[4, 4, 8, 8],
                        corruption="colour_noise", loss_on="all", default_for=[],
                        val_keeps=[0.5], eval_keeps=[0.5])
    assert entry["input"] == "image" and entry["layout"].startswith("input: float32 NCHW (1, 3, H, W)")
    assert set(entry["metrics"]["psnr_db"]["noise0.5"]) == {"noisy", "denoised"}
    img = maskcodec.sample_image("mastcam")
    out = maskcodec.denoise(img, model="noisy")
    assert out.shape == img.shape and out.dtype == np.uint8
    with pytest.raises(maskcodec.ModelError, match="denoiser"):
        maskcodec.decode(maskcodec.encode(img, 0.1), inpainter="noisy")
    with pytest.raises(maskcodec.InvalidInputError, match="uint8"):
        maskcodec.denoise(img.astype(np.float32), model="noisy")


def test_colour_noise_is_the_same_in_all_channels_on_the_chosen_share():
    from maskcodec.tools.train.data import colour_noise
    clean = torch.full((1, 3, 64, 64), 0.5)
    noisy = colour_noise(clean, 1.0, np.array([0.3]), np.random.default_rng(4))
    hit = (noisy != 0.5).any(dim=1)
    assert 0.25 < float(hit.float().mean()) < 0.35
    assert torch.equal(noisy[:, 0], noisy[:, 1]) and torch.equal(noisy[:, 1], noisy[:, 2])


def test_init_from_a_shipped_model_starts_from_its_weights(tmp_path, monkeypatch):
    _train_tiny(tmp_path, monkeypatch, id="base", arch="paper_cae", widths=[4, 4, 8, 8], loss_on="all",
                default_for=[])
    net = PaperCAE(3, (4, 4, 8, 8))
    init_from_model(net, "base")
    sess = maskcodec.runtime.onnx.session(load().get("base").onnx)
    x = np.random.default_rng(0).random((1, 3, 32, 48), dtype=np.float32)
    with torch.no_grad():
        np.testing.assert_allclose(net(torch.from_numpy(x)).numpy(), sess.run(None, {"input": x})[0], atol=1e-5)
    with pytest.raises(maskcodec.ModelError, match="does not fit"):
        init_from_model(PaperCAE(3, (4, 4, 8, 16)), "base")


def test_latent_cae_rate_term_trades_bits_for_quality():
    from maskcodec.tools.train.nets import LatentCAE
    torch.manual_seed(0)
    net = LatentCAE(3, (8, 8), latent_channels=4)
    x = torch.rand(2, 3, 16, 16)
    y, bpp = net.train()(x)
    assert y.shape == x.shape and 0 < float(bpp.detach()) < 64
    with torch.no_grad():  # the rate falls as latents shrink toward the model's mean
        net.encoder[-2].weight.mul_(0.01)  # the last convolution (before the fixed latent gain)
        net.encoder[-2].bias.zero_()
        assert float(net(x)[1]) < float(bpp)
    net.eval()
    z = torch.round(net.encoder(x))
    assert torch.equal(net(x), net.decoder(z))


def test_latent_training_ships_a_latent_mode_model(tmp_path, monkeypatch):
    entry = _train_tiny(tmp_path, monkeypatch, id="latent-q1", arch="latent_cae", widths=[4, 8],
                        net_options={"latent_channels": 3}, corruption="none", loss_on="all", rate_lambda=0.01,
                        clip_grad_norm=1.0,
                        default_for=[], val_keeps=[1.0], eval_keeps=[])
    assert entry["kind"] == "latent" and entry["quantization"] == "integer" and entry["factor"] == 4
    assert entry["onnx_parity_max_abs_diff"] < 1e-4
    # the context tables are fitted to the checkpoint's latents on the training images, the same in both halves
    net, _ = load_net(tmp_path / "runs" / "latent-q1" / "best.pt")
    train_files = json.loads((tmp_path / "runs" / "latent-q1" / "summary.json").read_text())["train_files"]
    tables = context_tables(training_latents(net.encoder, [Path(f) for f in train_files], 3, net.multiple))
    assert entry["coder"] == "context"
    typed = load().get("latent-q1")
    assert latent_mode.model_tables(typed, "encoder") == latent_mode.model_tables(typed, "decoder") == tables
    assert entry["metrics"]["bpp"] > 0 and entry["metrics"]["psnr_db"] > 5
    assert set(entry["metrics"]["per_folder"]) == {"io/sample_images"}  # the val file's folder, one camera
    img = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(img, mode="latent", quality=1)
    assert maskcodec.decode(data).shape == img.shape
    assert maskcodec.latents(data).shape == (3, 63, 80)
    rows = list(csv.DictReader((tmp_path / "runs" / "latent-q1" / "curve.csv").read_text().splitlines()))
    assert float(rows[-1]["val_bpp"]) > 0  # latent runs report the rate of their rounded latents


def test_latent_loss_warms_up_the_rate_term_and_scores_by_rate_distortion():
    from maskcodec.tools.train.loop import _loss, _score

    cfg = {"rate_lambda": 0.01, "loss_on": "all", "val_keeps": [1.0]}
    y, target = torch.zeros(1, 1, 2, 2), torch.full((1, 1, 2, 2), 0.5)
    bpp = torch.tensor(2.0)
    assert float(_loss((y, bpp), target, target, cfg, 0.0)) == pytest.approx(0.25)
    assert float(_loss((y, bpp), target, target, cfg, 1.0)) == pytest.approx(0.25 + 2.0 / (0.01 * 255 ** 2))
    rows = [{"val_loss": 0.3, "val_psnr_keep1.0": 30.0}, {"val_loss": 0.2, "val_psnr_keep1.0": 29.0}]
    assert max(rows, key=lambda r: _score(r, cfg)) is rows[1]  # lower rate-distortion loss wins, not PSNR
    assert max(rows, key=lambda r: _score(r, {**cfg, "rate_lambda": None, "corruption": "none"})) is rows[0]


def test_training_masks_mix_the_configured_kinds(tmp_path):
    from maskcodec.tools.train.loop import corrupt
    cfg = load_config(_tiny_config(tmp_path, mask_kinds={"hash": 1, "bluenoise": 3}))
    clean = random_crops([maskcodec.sample_image("mastcam")], 64, 32, np.random.default_rng(3))
    rng = np.random.default_rng(5)
    state = rng.bit_generator.state
    _, known = corrupt(cfg, clean, rng)
    rng.bit_generator.state = state  # replay the draws corrupt made: keeps, seeds, then kinds
    keeps = np.exp(rng.uniform(np.log(cfg["keep"][0]), np.log(cfg["keep"][1]), 64))
    seeds = rng.integers(2 ** 32, size=64)
    kinds = [["hash", "bluenoise"][i] for i in rng.choice(2, size=64, p=[0.25, 0.75])]
    for i in range(64):
        assert np.array_equal(known[i, 0].numpy() > 0, mask((32, 32), keeps[i], int(seeds[i]), kinds[i]))
    assert 5 < kinds.count("hash") < 30
    _, val = corrupt(cfg, clean[:2], rng, np.array([0.1, 0.1]), np.array([1, 2]))  # validation: the first kind
    assert np.array_equal(val[1, 0].numpy() > 0, mask((32, 32), 0.1, 2, "hash"))


@pytest.mark.parametrize("bad", [{"voronoi": 1}, {"hash": 0}, {}, ["hash"]])
def test_config_rejects_bad_mask_kinds(tmp_path, bad):
    with pytest.raises(maskcodec.InvalidInputError, match="'mask_kinds' must map mask kinds"):
        load_config(_tiny_config(tmp_path, mask_kinds=bad))


def test_a_stage_continues_an_earlier_one_and_the_manifest_records_the_chain(tmp_path, monkeypatch):
    models = tmp_path / "models"
    monkeypatch.setenv("MASKCODEC_MODELS", str(models))
    first = json.loads(open(_tiny_config(tmp_path, id="tiny-stage1", mask_kinds={"hash": 1.0})).read())
    (tmp_path / "tiny-stage1.json").write_text(json.dumps(first))
    second = _tiny_config(tmp_path, continue_from="tiny-stage1.json", lr=5e-4,
                          mask_kinds={"hash": 1.0, "bluenoise": 3.0})  # validates on hash masks, as stage 1
    args = configure_parser(argparse.ArgumentParser()).parse_args(
        [second, "--data", str(tmp_path), "--runs", str(tmp_path / "runs"), "--models", str(models), "-q"])
    assert run_cli(args) == 0  # trains stage 1 first (not shipped), then stage 2 from its best.pt
    entry, = json.loads((models / "manifest.json").read_text())["models"]
    chain = entry["run"]["chain"]
    assert [c["id"] for c in chain] == ["tiny-stage1", "tiny"] and chain[0]["mask_kinds"] == {"hash": 1.0}
    assert entry["run"]["total_steps"] == sum(c["steps"] for c in chain) == 2 * entry["run"]["steps"]
    best1 = json.loads((tmp_path / "runs" / "tiny-stage1" / "summary.json").read_text())["best_val"]["val_loss"]
    with open(tmp_path / "runs" / "tiny" / "curve.csv") as f:
        start2 = float(next(csv.DictReader(f))["val_loss"])  # stage 2's untrained epoch 0: stage 1's best weights
    assert start2 == pytest.approx(best1, rel=1e-6)
    assert run_cli(args) == 0  # a finished earlier stage is reused, not retrained
    assert json.loads((models / "manifest.json").read_text())["models"][0]["run"]["chain"][0] == chain[0]
    with pytest.raises(maskcodec.InvalidInputError, match="not both"):
        load_config(_tiny_config(tmp_path, continue_from="tiny-stage1.json", init_from="default"))


def test_an_interrupted_run_resumes_where_it_stopped(tmp_path):
    """A first sitting of 1 epoch, resumed with a budget of 2: the run goes on from its last.pt (rows, steps,
    the optimizer's state), the chain records where the sitting stopped; a changed config is refused."""
    config = _tiny_config(tmp_path, id="latent-tiny", arch="latent_cae", widths=[4, 8],
                          net_options={"latent_channels": 3}, corruption="none", loss_on="all", rate_lambda=0.01,
                          val_keeps=[1.0], eval_keeps=[], epochs=1, time_limit_min=30)
    cfg = load_config(config)
    first = train(cfg, tmp_path, tmp_path / "run", progress=False)
    rows = list(csv.DictReader((tmp_path / "run" / "curve.csv").read_text().splitlines()))
    with pytest.raises(maskcodec.InvalidInputError, match=r"differs from the run's in \['lr'\]"):
        train({**cfg, "lr": 0.5, "epochs": 2}, tmp_path, tmp_path / "run", progress=False, resume=True)
    second = train({**cfg, "epochs": 2}, tmp_path, tmp_path / "run", progress=False, resume=True)
    assert (first["steps"], second["steps"]) == (2, 4) and second["total_steps"] == 4
    assert second["chain"][-1]["sittings_end_steps"] == [2, 4] and first["chain"][-1]["sittings_end_steps"] == [2]
    again = list(csv.DictReader((tmp_path / "run" / "curve.csv").read_text().splitlines()))
    assert again[:len(rows)] == rows and [r["epoch"] for r in again] == ["0", "1", "2"]
    opt = torch.load(tmp_path / "run" / "last.pt", weights_only=False)["optimizer"]
    assert {int(v["step"]) for v in opt["state"].values()} == {4}  # Adam went on counting: its state was restored
    with pytest.raises(maskcodec.InvalidInputError, match="does not exist"):
        train(cfg, tmp_path, tmp_path / "never", progress=False, resume=True)


def test_a_gray_network_starts_as_the_colour_model_on_a_gray_image():
    """A 1-channel latent network loaded from a 3-channel one gives the colour model's latent of the image
    in gray (three equal channels) and, decoded, the mean of its three output channels."""
    from maskcodec.tools.train.loop import load_weights
    from maskcodec.tools.train.nets import LatentCAE
    torch.manual_seed(0)
    colour, gray = LatentCAE(3, (4, 8), latent_channels=3), LatentCAE(1, (4, 8), latent_channels=3)
    load_weights(gray, colour.state_dict(), "the colour net")
    x = torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        z = colour.encoder(x.repeat(1, 3, 1, 1))
        torch.testing.assert_close(gray.encoder(x), z, atol=1e-5, rtol=1e-5)
        torch.testing.assert_close(gray.decoder(z), colour.decoder(z).mean(dim=1, keepdim=True), atol=1e-5, rtol=1e-5)
    with pytest.raises(maskcodec.ModelError, match="does not fit"):
        load_weights(LatentCAE(1, (4, 4), latent_channels=3), colour.state_dict(), "the colour net")


TRAINED = [e.raw for e in load().entries.values() if "training" in e.raw and "cut_from" not in e.raw["training"]]


@pytest.mark.parametrize("entry", TRAINED, ids=[e["id"] for e in TRAINED])
def test_shipped_configs_are_what_trained_the_shipped_models(entry):
    """The one-command retrain starts from the config that made the model, and the chain of stages is on record."""
    from maskcodec.runtime.manifest import models_dir
    from maskcodec.tools.train.loop import DEFAULTS
    config = models_dir() / "configs" / f"{entry['id']}.json"
    cfg = load_config(config)  # keys newer than the entry are at their defaults (what it trained with)
    assert {k: v for k, v in cfg.items() if k in entry["training"] or v != DEFAULTS[k]} == entry["training"]
    stages, cfg = [], entry["training"]
    while cfg["continue_from"]:
        cfg = load_config(config.parent / cfg["continue_from"])
        stages.insert(0, cfg["id"])
    if cfg["init_from"] and "chain" in entry["run"]:  # a stage after a shipped model continues its chain
        source = load().get(cfg["init_from"]).raw["run"]
        stages = [c["id"] for c in source.get("chain", [{"id": cfg["init_from"]}])] + stages
    chain = entry["run"].get("chain", [{"id": entry["id"], "steps": entry["run"]["steps"]}])
    assert [c["id"] for c in chain] == stages + [entry["id"]]
    assert entry["run"].get("total_steps", entry["run"]["steps"]) == sum(c["steps"] for c in chain)
