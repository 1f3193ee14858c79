"""The model benchmark: tables through the real decode path, the fixed-level match, figures, OOD."""
from __future__ import annotations

import json

import pytest

import maskcodec
from maskcodec.tools import modelbench
from maskcodec.io.images import write_image
from maskcodec.metrics import mad, psnr
from maskcodec.runtime.manifest import load

pytest.importorskip("matplotlib")
pytest.importorskip("skimage")

IDS = set(load().entries)


def test_fixed_level_models_are_found_from_their_training_keep():
    for keep, masked in ((0.5, 50), (0.25, 75), (0.1, 90), (0.05, 95), (0.02, 98), (0.01, 99)):
        assert modelbench.fixed_level_model(keep, 3) == f"paper-mask{masked}"
    assert modelbench.fixed_level_model(0.3, 3) is None
    rows = modelbench.inpainters_for(0.1, 3)
    assert rows[modelbench.FIXED] == "paper-mask90"
    assert {"linear", "nconv", "default", "paper-gt-cae"} <= set(rows)
    assert "paper-mask50" not in rows.values() and "paper-colour-noise" not in rows.values()
    assert set(modelbench.inpainters_for(0.1, 1)) == {"linear", "nconv", "predictor", "gray-default", "gray-default-d"}


def test_bench_tables_are_the_decoders_numbers(tmp_path):
    img = maskcodec.sample_image("mastcam_pano")
    write_image(tmp_path / "a.png", img)
    res = modelbench.run_model_bench([tmp_path / "a.png"], tmp_path / "out", keeps=(0.1,), progress=False)
    row = res["tables"]["0.1"]
    out = maskcodec.decode(maskcodec.encode(img, 0.1, seed=modelbench.SEED), inpainter="default")
    assert row["default"]["psnr"] == pytest.approx(psnr(img, out))
    assert row["default"]["mad"] == pytest.approx(mad(img, out))
    assert row[modelbench.FIXED] != row["paper-gt-cae"]
    assert set(res["ood"]["tables"]["0.1"]) == set(row)
    assert res["ood"]["image"] == "skimage.data.astronaut"
    for name in ("models.md", "figure3.png", "ood.png", "loss_curves.png"):
        assert (tmp_path / "out" / name).stat().st_size > 0
    assert json.loads((tmp_path / "out" / "models.json").read_text())["fixed_level_models"] == {"0.1": "paper-mask90"}
    assert "fixed level (paper-mask90)" in (tmp_path / "out" / "models.md").read_text()


def test_bench_refuses_mixed_channel_counts(tmp_path):
    write_image(tmp_path / "rgb.png", maskcodec.sample_image("mastcam_pano"))
    write_image(tmp_path / "gray.png", maskcodec.sample_image("navcam"))
    with pytest.raises(ValueError, match="same channel count"):
        modelbench.run_model_bench([tmp_path / "rgb.png", tmp_path / "gray.png"], tmp_path / "o", keeps=(0.1,),
                                   progress=False)


def test_cli_bench_models_writes_the_report(tmp_path, capsys):
    from maskcodec.cli import main
    write_image(tmp_path / "a.png", maskcodec.sample_image("navcam"))
    assert main(["bench-models", str(tmp_path / "a.png"), "-o", str(tmp_path / "o"), "--keep", "0.1",
                 "--no-ood", "-q"]) == 0
    out = capsys.readouterr().out
    assert "| gray-default |" in out and "## keep 0.1 (90% masked)" in out
    res = json.loads((tmp_path / "o" / "models.json").read_text())
    assert res["command"].endswith("--keep 0.1 --no-ood") and "ood" not in res
