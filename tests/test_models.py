"""The shipped models: files match the manifest, ONNX is valid, decodes are exact and good."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import maskcodec
import maskcodec.inpainting.models
from maskcodec.metrics import psnr
from maskcodec.runtime.manifest import LatentEntry, load, models_dir, sha256_file
from maskcodec.inpainting.models import INPUT_KINDS

ENTRIES = [e.raw for e in load().entries.values() if not isinstance(e, LatentEntry)]  # latent models: tests/test_latent.py
IDS = [e["id"] for e in ENTRIES]
INPAINTERS = [e for e in ENTRIES if e["input"] != "image"]
SAMPLES = {3: ["mastcam", "mastcam_pano"], 1: ["navcam"]}
MARGIN_DB = 1.0  # how far below nconv a default model may fall on one small bundled sample at keep 0.1
PAPER_FLOOR_DB = 18.0  # the paper's models are weaker than interpolation; they must still reconstruct the scene
FIELDS = {"id", "file", "sha256", "input", "channels", "multiple", "default_for", "architecture", "parameters",
          "input_names", "output_names", "layout", "training", "data", "metrics"}


def test_the_default_models_are_shipped():
    assert {"default", "gray-default"} <= set(IDS)


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_entry_is_complete_and_file_matches_its_hash(entry):
    assert FIELDS <= set(entry)
    assert entry["input"] in INPUT_KINDS + ("image",)  # "image": a denoiser
    assert sha256_file(models_dir() / entry["file"]) == entry["sha256"]


LATENT = [e.raw for e in load().of_kind(LatentEntry).values()]


@pytest.mark.parametrize("entry", LATENT, ids=[e["id"] for e in LATENT])
def test_latent_model_halves_match_their_hashes(entry):
    for half in ("encoder", "decoder"):
        assert sha256_file(models_dir() / entry[half]["file"]) == entry[half]["sha256"]


@pytest.mark.parametrize("entry", ENTRIES, ids=IDS)
def test_onnx_checker_passes(entry):
    onnx = pytest.importorskip("onnx")
    onnx.checker.check_model(onnx.load(str(models_dir() / entry["file"])), full_check=True)


@pytest.mark.parametrize("entry,sample", [(e, s) for e in INPAINTERS for s in SAMPLES[e["channels"]]],
                         ids=[f"{e['id']}-{s}" for e in INPAINTERS for s in SAMPLES[e["channels"]]])
def test_decode_keeps_known_pixels_and_reconstructs(entry, sample):
    """Kept pixels exact; the defaults near or above nconv, the paper's models above a floor."""
    keep = entry["training"]["keep"][0] if entry["training"]["keep"][0] < 1 else 0.1
    img = maskcodec.sample_image(sample)
    data = maskcodec.encode(img, keep, seed=11)
    known = maskcodec.mask(img.shape, keep, seed=11)
    out = maskcodec.decode(data, inpainter=entry["id"])
    assert out.shape == img.shape and out.dtype == img.dtype
    assert np.array_equal(out[known], img[known])
    if entry["default_for"]:
        assert psnr(img, out) >= psnr(img, maskcodec.decode(data, inpainter="nconv")) - MARGIN_DB
    elif entry["training"]["keep"] == [1.0, 1.0]:  # the no-noise CAE: trained to reproduce whole images
        whole = np.ones(img.shape[:2], bool)
        y = maskcodec.inpainting.models.inpainter(load().get(entry["id"]))(img.astype(np.float32) / 255, whole)
        assert psnr(img, np.clip(np.rint(y * 255), 0, 255).astype(np.uint8)) > PAPER_FLOOR_DB + 3
    else:
        assert psnr(img, out) > PAPER_FLOOR_DB


def test_denoise_removes_the_papers_colour_noise():
    torch = pytest.importorskip("torch", reason="needs torch, the CPU build: pip install torch==2.13.0+cpu (docs/training.md)")
    from maskcodec.tools.train.data import colour_noise
    img = maskcodec.sample_image("mastcam")
    clean = torch.from_numpy(img.astype(np.float32) / 255).permute(2, 0, 1)[None]
    noisy = colour_noise(clean, 1.0, np.array([0.3]), np.random.default_rng(0))[0].permute(1, 2, 0).numpy()
    noisy = np.rint(noisy * 255).astype(np.uint8)
    assert psnr(img, maskcodec.denoise(noisy)) > psnr(img, noisy) + 8


@pytest.mark.parametrize("model_id", ["paper-colour-noise", "paper-gt-cae-latent"])
def test_models_of_other_kinds_are_refused_as_inpainters(model_id):
    data = maskcodec.encode(maskcodec.sample_image("mastcam"), 0.1)
    with pytest.raises(maskcodec.ModelError, match="denoiser|latent"):
        maskcodec.decode(data, inpainter=model_id)


VAL = Path(__file__).resolve().parents[2] / "shared" / "data" / "mars_rgb" / "val"


@pytest.mark.skipif(not VAL.is_dir(), reason="needs ../shared/data")
def test_default_beats_linear_on_held_out_mars_images():
    """On average over real held-out Mastcam frames (what the README reports), at keep 0.1 and 0.02."""
    from maskcodec.io.images import read_image
    images = [read_image(p) for p in sorted(VAL.glob("*.png"))]
    for keep in (0.1, 0.02):
        gains = []
        for i, img in enumerate(images):
            data = maskcodec.encode(img, keep, seed=1000 + i)
            gains.append(psnr(img, maskcodec.decode(data, inpainter="default"))
                         - psnr(img, maskcodec.decode(data, inpainter="linear")))
        assert np.mean(gains) > 0.3, (keep, gains)


@pytest.mark.parametrize("channels,sample", [(3, "mastcam"), (1, "navcam")])
def test_auto_uses_the_default_model_of_the_image_kind(channels, sample):
    entry = next(e for e in ENTRIES if e["channels"] == channels and "uint8" in e["default_for"])
    data = maskcodec.encode(maskcodec.sample_image(sample), 0.1, seed=4)
    assert np.array_equal(maskcodec.decode(data), maskcodec.decode(data, inpainter=entry["id"]))


def test_a_network_over_many_tiles_shows_progress_only_when_asked(capsys):
    """runtime.onnx.progress(): what the command line wraps a single decode in; the library alone prints
    nothing."""
    from types import SimpleNamespace
    from maskcodec.runtime import onnx
    sess = SimpleNamespace(get_inputs=lambda: [SimpleNamespace(name="x")],
                           run=lambda _, feed: [np.zeros((1, 1) + feed["x"].shape[2:], np.float32)])
    x = np.zeros((1200, 1600, 1), np.float32)  # 3 x 4 tiles of 512
    onnx.run_model(sess, x, 16, 1)
    assert capsys.readouterr().err == ""
    with onnx.progress():
        onnx.run_model(sess, x, 16, 1)
    assert "inpainting" in capsys.readouterr().err


def test_a_long_classical_fill_is_announced_when_progress_is_asked(monkeypatch, capsys):
    from maskcodec import inpainting
    from maskcodec.runtime import onnx
    data = maskcodec.encode(maskcodec.sample_image("navcam"), 0.1, seed=1)
    monkeypatch.setattr(inpainting, "LONG_FILL_PIXELS", 1000)  # the sample stands for a large frame
    maskcodec.decode(data, inpainter="nconv")
    assert capsys.readouterr().err == ""
    with onnx.progress():
        maskcodec.decode(data, inpainter="nconv")
    assert "megapixels with nconv" in capsys.readouterr().err
