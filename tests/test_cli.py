"""The command line, tested by calling main(argv)."""
import json
import shutil
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec.cli import main
from maskcodec.io.images import read_image, write_image
from maskcodec.io.samples import sample_path

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"


@pytest.fixture
def png(tmp_path):
    dst = tmp_path / "mastcam.png"
    shutil.copy(sample_path("mastcam"), dst)
    return dst


def test_encode_info_decode(png, tmp_path, capsys):
    mcx = tmp_path / "f.mcx"
    assert main(["encode", str(png), "-o", str(mcx), "--keep", "0.1", "--seed", "7"]) == 0
    assert "bits/pixel" in capsys.readouterr().out
    assert mcx.read_bytes() == maskcodec.encode(read_image(png), 0.1, seed=7)

    assert main(["info", str(mcx)]) == 0
    text = capsys.readouterr().out
    assert "seed 7" in text and "251 x 317 x 3 uint8" in text
    assert main(["info", str(mcx), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["seed"] == 7

    out = tmp_path / "f.png"
    assert main(["decode", str(mcx), "-o", str(out), "--inpainter", "nconv"]) == 0
    img, dec = read_image(png), read_image(out)
    m = maskcodec.mask(img.shape, 0.1, 7)
    assert dec.shape == img.shape and (dec[m] == img[m]).all()


@pytest.mark.parametrize("suffix", [".png", ".tif", ".npy"])
def test_sixteen_bit_files(tmp_path, suffix):
    img = maskcodec.sample_image("navcam12")
    src = tmp_path / f"in{suffix}"
    write_image(src, img)
    assert main(["encode", str(src), "-o", str(tmp_path / "a.mcx"), "--keep", "0.25", "--seed", "1",
                 "--bits", "12"]) == 0
    out = tmp_path / f"out{suffix}"
    assert main(["decode", str(tmp_path / "a.mcx"), "-o", str(out)]) == 0
    dec = read_image(out)
    m = maskcodec.mask(img.shape, 0.25, 1)
    assert dec.dtype == np.uint16 and (dec[m] == img[m]).all()


def test_batch_decode_reports_bad_files(tmp_path, capsys):
    downlink = tmp_path / "downlink"
    downlink.mkdir()
    for name in ("rgb8_keep0.1", "gray8_keep0.25"):
        shutil.copy(VECTORS / "valid" / f"{name}.mcx", downlink)
    shutil.copy(VECTORS / "errors" / "bad_payload_crc.mcx", downlink)
    out = tmp_path / "decoded"
    assert main(["decode", str(downlink), "-o", str(out), "-q"]) == 1
    captured = capsys.readouterr()
    assert "bad_payload_crc.mcx" in captured.err and "CRC32" in captured.err
    assert sorted(p.name for p in out.iterdir()) == ["gray8_keep0.25.png", "rgb8_keep0.1.png"]


@pytest.mark.parametrize("argv,words", [
    (["decode", "VEC/errors/truncated_payload.mcx", "-o", "OUT/x.png"], "truncated"),
    (["info", "VEC/errors/bad_magic.mcx"], "magic number"),
    (["info", "OUT/missing.mcx"], "No such file"),
    (["encode", "VEC/valid/rgb8_keep0.1.json", "-o", "OUT/x.mcx"], "unsupported image type"),
])
def test_errors_exit_2_with_message(tmp_path, capsys, argv, words):
    argv = [a.replace("VEC", str(VECTORS)).replace("OUT", str(tmp_path)) for a in argv]
    assert main(argv) == 2
    assert words in capsys.readouterr().err


def test_bad_keep_is_a_usage_error(png, capsys):
    with pytest.raises(SystemExit) as e:
        main(["encode", str(png), "--keep", "1.5"])
    assert e.value.code == 2 and "keep (--keep) must be in (0, 1] (the fraction of pixels kept), got 1.5" in capsys.readouterr().err


def test_help_teaches(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    assert "maskcodec demo" in text and "spec/format.md" in text


def test_demo(tmp_path, capsys):
    assert main(["demo", "-o", str(tmp_path / "demo"), "--keep", "0.5,0.1"]) == 0
    text = capsys.readouterr().out
    assert "inpainter: auto (default-d or linear or predictor, whichever fills held-back kept pixels best);" in text
    assert "JPEG2000" in text and "HTJ2K" in text and "JPEG-XL" in text
    rows = [line.split() for line in text.splitlines() if line.split()[:1] in (["0.5"], ["0.1"])]
    assert len(rows) == 2  # keep, bytes, bpp, maskcodec, its estimate, its interval, 3 anchors, what filled it
    assert all(len(r) == 10 and 15 < float(r[3]) < 60 and abs(float(r[4]) - float(r[3])) < 2 for r in rows)
    intervals = [tuple(map(float, r[5].strip("()").split("-"))) for r in rows]
    assert all(low < float(r[4]) < high and low - 1 < float(r[3]) < high + 1 for r, (low, high) in zip(rows, intervals))
    assert all(r[9] in ("default-d", "linear", "predictor") for r in rows)
    for name in ("maskcodec", "jpeg2000", "htj2k", "jpegxl"):
        assert (tmp_path / "demo" / f"keep0.1_{name}.png").exists()
    assert "replacing" not in text
    assert main(["demo", "-o", str(tmp_path / "demo"), "--keep", "0.5"]) == 0
    assert f"replacing the earlier demo output in {tmp_path / 'demo'}" in capsys.readouterr().out


def test_decode_without_output_never_overwrites_the_source(tmp_path):
    from maskcodec.io.images import read_image, write_image
    source = tmp_path / "frame.png"
    write_image(source, maskcodec.sample_image("navcam"))
    assert main(["encode", str(source), "--keep", "0.2", "--seed", "1"]) == 0
    assert main(["decode", str(tmp_path / "frame.mcx"), "--inpainter", "nconv"]) == 0
    decoded = read_image(tmp_path / "frame.decoded.png")
    assert (read_image(source) == maskcodec.sample_image("navcam")).all() and decoded.shape == (241, 255)


def test_encode_a_mission_product(tmp_path, capsys):
    pytest.importorskip("pdr")
    label = Path(__file__).parent / "data" / "products" / "W1884114531_2_CROP.LBL"
    mcx = tmp_path / "w.mcx"
    assert main(["encode", str(label), "-o", str(mcx), "--keep", "0.2", "--seed", "3"]) == 0
    h = maskcodec.inspect(mcx.read_bytes())
    assert h.bits == 12 and h.dtype == "uint16" and h.metadata["instrument"] == "ISSWA"
    capsys.readouterr()
    assert main(["info", str(mcx)]) == 0
    assert "meta       instrument: ISSWA" in capsys.readouterr().out
    from maskcodec.io.products import read_product
    image = read_product(label).image
    out = tmp_path / "w.tif"
    assert main(["decode", str(mcx), "-o", str(out)]) == 0
    m = maskcodec.mask(image.shape, 0.2, 3)
    assert (read_image(out)[m] == image[m]).all()


def test_model_recorded_in_header_and_checked(tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    entry = {"id": "gray-test", "file": "gray-test.onnx", "sha256": "ab" * 32, "input": "nconv+mask",
             "channels": 1}
    (models / "manifest.json").write_text(json.dumps({"models": [entry]}))
    monkeypatch.setenv("MASKCODEC_MODELS", str(models))
    img = maskcodec.sample_image("navcam")
    data = maskcodec.encode(img, 0.1, seed=1, model="gray-test")
    h = maskcodec.inspect(data)
    assert (h.model_id, h.model_sha256) == ("gray-test", "ab" * 32)
    entry["sha256"] = "cd" * 32  # the installed model is not the one the file asks for
    (models / "manifest.json").write_text(json.dumps({"models": [entry]}))
    with pytest.raises(maskcodec.ModelError, match="asks for model 'gray-test'"):
        maskcodec.decode(data)
    with pytest.raises(maskcodec.InvalidInputError, match="unknown model 'nope'; the models in .* are \\['gray-test'\\]"):
        maskcodec.encode(img, 0.1, seed=1, model="nope")
    with pytest.raises(maskcodec.InvalidInputError, match="unknown inpainter or model 'nope'"):
        maskcodec.decode(data, inpainter="nope")
