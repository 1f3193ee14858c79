"""Latent mode (spec/format.md section 12): round trips, exact latents, determinism and every refusal.

Most tests run the reference latent models of spec/vectors/models (exact arithmetic, no training);
the export tests build tiny torch networks; the last test measures the shipped paper-gt-cae-latent.
"""
from __future__ import annotations

import json
import shutil
import zlib
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec.modes import latent as latent_mode
from maskcodec.runtime.manifest import LatentEntry, load
from maskcodec.records import Limits
from maskcodec.errors import (ChecksumError, InvalidInputError, LimitExceededError, ModelError, TruncatedError,
                              UnsupportedVersionError)
from maskcodec.metrics import psnr

REFERENCE = Path(__file__).resolve().parent.parent / "spec" / "vectors" / "models"
MODELS = {3: "ref-rgb", 1: "ref-gray-int"}
PAPER_FLOOR_DB = 18.5  # paper-gt-cae-latent on the mastcam sample measured 19.17 dB at 1.93 bpp; 0.7 dB margin


@pytest.fixture
def reference(monkeypatch):
    monkeypatch.setenv("MASKCODEC_MODELS", str(REFERENCE))


@pytest.fixture
def copied(tmp_path, monkeypatch):
    """A writable copy of the reference models, used as the models folder."""
    shutil.copytree(REFERENCE, tmp_path / "models")
    monkeypatch.setenv("MASKCODEC_MODELS", str(tmp_path / "models"))
    return tmp_path / "models"


@pytest.mark.parametrize("sample", ["mastcam", "navcam"])
def test_round_trip(reference, sample, encoder_output):
    image = maskcodec.sample_image(sample)
    model_id = MODELS[image.shape[2] if image.ndim == 3 else 1]
    data = maskcodec.encode(image, mode="latent", model=model_id)
    h = maskcodec.inspect(data)
    entry = load().get(model_id)
    assert h.mode == "latent" and h.model_id == model_id and h.model_sha256 == entry.decoder.sha256
    assert (h.latent.height, h.latent.width) == (-(-image.shape[0] // 16), -(-image.shape[1] // 16))
    out = maskcodec.decode(data)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert 18 < psnr(image, out) < 40  # a block midrange of 16 x 16 pixels: coarse, but the image
    z = maskcodec.latents(data)
    expected = latent_mode.dequantize(*latent_mode.quantize(encoder_output(image, model_id), entry.quantization))
    assert z.dtype == np.float32 and z.shape == (entry.latent_channels, h.latent.height, h.latent.width)
    assert z.tobytes() == expected.tobytes()
    assert maskcodec.encode(image, mode="latent", model=model_id) == data  # deterministic


def test_sixteen_bit_and_channel_axis(reference):
    image = maskcodec.sample_image("navcam12")
    data = maskcodec.encode(image[..., None], mode="latent", model="ref-gray-int", bits=12, metadata={"a": 1})
    h = maskcodec.inspect(data)
    assert h.shape == image.shape + (1,) and h.bits == 12 and h.metadata == {"a": 1}
    out = maskcodec.decode(data)
    assert out.shape == image.shape + (1,) and out.dtype == np.uint16 and out.max() < 4096
    assert psnr(image, out[..., 0], bits=12) > 20


def test_quality_picks_the_colour_or_gray_level(copied):
    manifest = json.loads((copied / "manifest.json").read_text())
    manifest["models"] += [{**load().get("ref-rgb").raw, "id": "latent-q2"},
                           {**load().get("ref-gray-int").raw, "id": "latent-gray-q2"},
                           {**load().get("ref-gray-int").raw, "id": "latent-gray-q5"}]
    (copied / "manifest.json").write_text(json.dumps(manifest))
    image, gray = maskcodec.sample_image("mastcam"), maskcodec.sample_image("navcam")
    data = maskcodec.encode(image, mode="latent", quality=2)
    assert maskcodec.inspect(data).model_id == "latent-q2"
    assert maskcodec.latents(data).tobytes() == maskcodec.latents(
        maskcodec.encode(image, mode="latent", model="ref-rgb")).tobytes()
    assert maskcodec.inspect(maskcodec.encode(gray, mode="latent", quality=2)).model_id == "latent-gray-q2"
    assert maskcodec.inspect(maskcodec.encode(gray[..., None], mode="latent", quality=2)).model_id == "latent-gray-q2"
    with pytest.raises(InvalidInputError, match=r"quality 3 .*levels are \[2, 5\]"):
        maskcodec.encode(image, mode="latent", quality=3)
    with pytest.raises(InvalidInputError, match=r"no colour latent model for quality 5 .*colour levels are \[2\]"):
        maskcodec.encode(image, mode="latent", quality=5)
    with pytest.raises(InvalidInputError, match=r"colour \(3-channel\) or gray \(1-channel\).* 2 channels"):
        maskcodec.encode(image[..., :2], mode="latent", quality=2)


@pytest.mark.parametrize("kwargs,match", [
    (dict(mode="latent", model="ref-rgb", keep=0.1), r"keep \(--keep\) applies to mask mode only"),
    (dict(mode="latent", model="ref-rgb", seed=3), r"seed \(--seed\) applies to mask mode only"),
    (dict(mode="latent", model="ref-rgb", segment_size=1024), r"segment_size \(--segment-size\) applies to mask mode only"),
    (dict(mode="latent"), "exactly one of model"),
    (dict(mode="latent", model="ref-rgb", quality=1), "exactly one of model"),
    (dict(mode="latent", quality="high"), r"quality \(--quality\) must be an integer"),
    (dict(mode="latent", model="nope"), "unknown latent model 'nope'"),
    (dict(quality=1), r"quality \(--quality\) picks a latent model"),
    (dict(model="ref-rgb"), "is a latent model"),
    (dict(mode="pixels"), r"mode \(--mode\) must be one of"),
])
def test_bad_options(reference, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        maskcodec.encode(maskcodec.sample_image("mastcam"), **kwargs)


def test_model_refusals(reference, monkeypatch, tmp_path):
    rgb, gray = maskcodec.sample_image("mastcam"), maskcodec.sample_image("navcam")
    with pytest.raises(ModelError, match="codes 3-channel images; this image has 1"):
        maskcodec.encode(gray, mode="latent", model="ref-rgb")
    with pytest.raises(LimitExceededError, match="latent mode's limit"):
        maskcodec.encode(np.zeros((Limits().max_latent_pixels // 4096 + 1, 4096), np.uint8), mode="latent",
                         model="ref-gray-int")
    data = maskcodec.encode(rgb, mode="latent", model="ref-rgb")
    with pytest.raises(InvalidInputError, match=r"inpainter \(--inpainter\) 'nconv' does not apply"):
        maskcodec.decode(data, inpainter="nconv")
    # a copy whose files are no longer the ones the manifest lists (sessions are cached per path: a fresh one)
    shutil.copytree(REFERENCE, tmp_path / "models")
    monkeypatch.setenv("MASKCODEC_MODELS", str(tmp_path / "models"))
    for half in ("encoder", "decoder"):
        with (tmp_path / "models" / f"ref-rgb.{half}.onnx").open("ab") as f:
            f.write(b"\0")
    with pytest.raises(ModelError, match="hashes to"):
        maskcodec.decode(data)
    with pytest.raises(ModelError, match="hashes to"):
        maskcodec.encode(rgb, mode="latent", model="ref-rgb")
    assert maskcodec.latents(data).shape == (6, 16, 20)  # the latents need no model
    monkeypatch.setenv("MASKCODEC_MODELS", str(tmp_path / "empty"))
    with pytest.raises(ModelError, match="not among the latent models"):
        maskcodec.decode(data)


def test_damaged_and_misused_files(reference):
    data = maskcodec.encode(maskcodec.sample_image("navcam"), mode="latent", model="ref-gray-int")
    with pytest.raises(TruncatedError):
        maskcodec.decode(data[:-1])
    with pytest.raises(TruncatedError):
        maskcodec.latents(data[:100])
    flipped = bytearray(data)
    flipped[-10] ^= 0x20
    with pytest.raises(ChecksumError):
        maskcodec.latents(bytes(flipped))
    with pytest.raises(InvalidInputError, match="latent-mode file has no kept pixels"):
        maskcodec.survivors(data)
    mask_file = maskcodec.encode(maskcodec.sample_image("navcam"), 0.1, seed=1)
    with pytest.raises(InvalidInputError, match="mask-mode file"):
        maskcodec.latents(mask_file)
    stream = bytearray(maskcodec.encode(maskcodec.sample_image("navcam"), 0.1, seed=1, segment_size=512))
    with pytest.raises(InvalidInputError, match="segmented stream"):
        maskcodec.latents(bytes(stream))
    stream[23 + 8] = 1  # a description claiming latent mode, with a valid segment CRC32 (the last 4 of 512 bytes)
    stream[508:512] = zlib.crc32(bytes(stream[:508])).to_bytes(4, "little")
    with pytest.raises(UnsupportedVersionError, match="mode 1 is unknown here"):
        maskcodec.decode(bytes(stream))


def test_cli(reference, tmp_path, capsys):
    from maskcodec.cli import main
    from maskcodec.io.samples import sample_path
    src = str(sample_path("mastcam"))
    mcx = tmp_path / "f.mcx"
    assert main(["encode", src, "-o", str(mcx), "--mode", "latent", "--model", "ref-rgb"]) == 0
    assert "latent mode, model ref-rgb" in capsys.readouterr().out
    assert mcx.read_bytes() == maskcodec.encode(maskcodec.sample_image("mastcam"), mode="latent", model="ref-rgb")
    assert main(["info", str(mcx)]) == 0
    text = capsys.readouterr().out
    assert "latent mode" in text and "6 x 16 x 20 (factor 16), minmax" in text and "mask " not in text
    assert main(["info", str(mcx), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["latent"]["channels"] == 6
    assert main(["decode", str(mcx), "-o", str(tmp_path / "f.png")]) == 0
    for extra, message in ((["--keep", "0.1"], "keep (--keep) applies to mask mode only"),
                           (["--segment-size", "1024"], "segment_size (--segment-size) applies"),
                           (["--quality", "1"], "exactly one of model")):
        assert main(["encode", src, "-o", str(tmp_path / "g.mcx"), "--mode", "latent", "--model", "ref-rgb",
                     *extra]) == 2
        assert message in capsys.readouterr().err
    assert not (tmp_path / "g.mcx").exists()


def test_split_onnx_and_export_halves(tmp_path, monkeypatch):
    torch = pytest.importorskip("torch", reason="needs torch, the CPU build: pip install torch==2.13.0+cpu (docs/training.md)")
    pytest.importorskip("onnx")
    from maskcodec.tools.train.export import export_onnx, update_manifest
    from maskcodec.tools.train.latent_export import export_halves, split_onnx
    from maskcodec.tools.train.nets import LatentCAE, PaperCAE

    torch.manual_seed(0)
    export_onnx(PaperCAE(3, (4, 4, 4, 8)), tmp_path / "cae.onnx")
    entry = split_onnx(tmp_path / "cae.onnx", None, tmp_path / "models", "cae-latent", factor=16)
    assert (entry["channels"], entry["latent_channels"], entry["factor"]) == (3, 8, 16)
    net = LatentCAE(1, (4, 4, 4, 4), latent_channels=3)
    gray = export_halves(net.encoder, net.decoder, tmp_path / "models", "tiny-latent", channels=1,
                         latent_channels=3, factor=16, quantization="integer")
    assert gray["onnx_parity_max_abs_diff"] < 1e-4
    monkeypatch.setenv("MASKCODEC_MODELS", str(tmp_path / "models"))
    assert set(load().of_kind(LatentEntry)) == {"cae-latent"}  # export_halves leaves the listing to its caller
    update_manifest(tmp_path / "models", gray)
    assert set(load().of_kind(LatentEntry)) == {"cae-latent", "tiny-latent"}
    for sample, model_id in (("mastcam", "cae-latent"), ("navcam", "tiny-latent")):
        image = maskcodec.sample_image(sample)
        out = maskcodec.decode(maskcodec.encode(image, mode="latent", model=model_id))
        assert out.shape == image.shape and out.dtype == image.dtype


@pytest.mark.parametrize("model_id,floor_db", [("paper-gt-cae-latent", PAPER_FLOOR_DB), ("paper-no-noise-latent", 24.0)])
def test_paper_form_latent_models(model_id, floor_db):
    """The paper's bottleneck, 8 bits per value: under 3 bpp, and above a floor measured minus a margin."""
    if model_id not in load().of_kind(LatentEntry):
        pytest.skip(f"models/ has no {model_id}")
    image = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(image, mode="latent", model=model_id)
    assert 8 * len(data) / (image.shape[0] * image.shape[1]) < 3.0
    assert psnr(image, maskcodec.decode(data)) > floor_db


@pytest.mark.parametrize("model_id", ["paper-gt-cae-latent", "paper-no-noise-latent"])
def test_cut_configs_remake_the_shipped_halves(model_id, tmp_path, monkeypatch):
    """``maskcodec train`` on a cut config cuts the source model again, to the same bytes as shipped."""
    pytest.importorskip("onnx")
    from maskcodec.cli import main
    from maskcodec.runtime.manifest import models_dir

    shipped, config = models_dir(), models_dir() / "configs" / f"{model_id}.json"
    cfg, want = json.loads(config.read_text()), load().get(model_id).raw
    (tmp_path / "manifest.json").write_text(json.dumps({"models": [load().get(cfg["cut_from"]).raw]}))
    shutil.copy(shipped / f"{cfg['cut_from']}.onnx", tmp_path)
    monkeypatch.setenv("MASKCODEC_MODELS", str(tmp_path))  # the CLI points it at --models; restored afterwards
    assert main(["train", str(config), "--models", str(tmp_path)]) == 0
    made = {m["id"]: m for m in json.loads((tmp_path / "manifest.json").read_text())["models"]}[model_id]
    for half in ("encoder", "decoder"):
        assert made[half]["sha256"] == want[half]["sha256"]
        assert (tmp_path / made[half]["file"]).read_bytes() == (shipped / want[half]["file"]).read_bytes()
    assert made["source_model"] == cfg["cut_from"] and made["source"]["cut"] == cfg["cut"]


def test_cut_config_keys_are_checked(tmp_path):
    from maskcodec.tools.train.latent_export import load_cut_config

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"id": "x", "cut_from": "paper-gt-cae", "cut": None, "factor": 16, "extra": 1}))
    with pytest.raises(ValueError, match=r"missing \['description', 'quantization'\], unknown \['extra'\]"):
        load_cut_config(bad)


# PSNR floors of the shipped levels on the bundled samples: measured (README "Latent mode") less 0.5 dB
# (measured: mastcam 27.00, 27.41, 28.07, 28.18 dB at 0.068-0.233 bpp; navcam 28.96, 29.62, 31.28, 31.50 dB)
LADDER_FLOORS_DB = {"mastcam": {1: 26.5, 2: 26.9, 3: 27.5, 4: 27.6}, "navcam": {1: 28.4, 2: 29.1, 3: 30.7, 4: 31.0}}


@pytest.mark.parametrize("sample", sorted(LADDER_FLOORS_DB))
def test_shipped_quality_ladder_trades_bytes_for_quality(sample):
    """The shipped levels on a real colour (Mastcam) and gray (Navcam) crop: each costs more bytes and gives
    more PSNR than the one below, every one above the floor measured on this sample less a margin."""
    image = maskcodec.sample_image(sample)
    floors = LADDER_FLOORS_DB[sample]
    bpp, quality = [], []
    for q in sorted(floors):
        data = maskcodec.encode(image, mode="latent", quality=q)
        assert maskcodec.inspect(data).latent.coder == "context"
        bpp.append(8 * len(data) / (image.shape[0] * image.shape[1]))
        quality.append(psnr(image, maskcodec.decode(data)))
    assert bpp == sorted(bpp) and quality == sorted(quality), (bpp, quality)
    for q, db in zip(sorted(floors), quality):
        assert db > floors[q], (q, db)
