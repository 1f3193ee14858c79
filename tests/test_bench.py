"""The bench harness on the two bundled Mastcam crops (numbers and files, not speed)."""
from __future__ import annotations

import argparse
import json
import math

from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec.tools import bench
from maskcodec.errors import InvalidInputError
from maskcodec.io.images import read_image, write_image
from maskcodec.io.samples import sample_path

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"
KEEPS = (0.25, 0.01)  # sizes JPEG2000 can meet within 5% on both crops (its sizes come in steps)


def _strict_json(text: str) -> dict:
    def refuse(name):
        raise ValueError(f"non-standard JSON constant {name}")
    return json.loads(text, parse_constant=refuse)


def _latent_curves(result: dict) -> set[str]:
    """The curves of the latent models installed in models/ (latent mode of every fitting one is benchmarked)."""
    return {p["curve"] for im in result["images"] for p in im["points"] if p["codec"] == "latent"}


MATCHED = {"htj2k@maskcodec", "jpegxl@maskcodec"}  # HTJ2K and JPEG-XL at maskcodec's bytes


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    images = tmp_path_factory.mktemp("images")
    for name in ("mastcam", "mastcam_pano"):
        write_image(images / f"{name}.png", read_image(sample_path(name)))
    out = tmp_path_factory.mktemp("out")
    parser = argparse.ArgumentParser()
    bench.configure_parser(parser)
    # nconv only: `linear` can stall for minutes when OpenBLAS threads fight other work for the CPUs
    args = parser.parse_args([str(images), "--keep", ",".join(map(str, KEEPS)), "--repeats", "1",
                              "--inpainters", "nconv", "-o", str(out), "--quiet"])
    assert bench.run_cli(args) == 0
    return out, _strict_json((out / "bench.json").read_text())


def test_files_written(run):
    out, result = run
    md = (out / "bench.md").read_text()
    assert "| codec | point | bpp | PSNR (dB) |" in md
    assert "| maskcodec/nconv | keep 0.25 |" in md
    assert "Bjøntegaard" in md and ("faster per megapixel" in md or "slower per megapixel" in md)
    for name in ("psnr_bpp.png", "ssim_bpp.png", "examples.png"):
        assert (out / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert set(result) >= {"versions", "settings", "images", "summary", "bd", "timing", "notes", "runtime_s"}
    assert result["versions"]["OpenJPEG"] and result["versions"]["Pillow"]
    assert "tracemalloc" in result["notes"]["memory"]


def test_points_consistent(run):
    _, result = run
    assert len(result["images"]) == 2
    for im in result["images"]:
        h, w = im["shape"][:2]
        curves = {p["curve"] for p in im["points"]}
        assert curves - _latent_curves(result) == {"maskcodec/nconv", "jpeg2000@maskcodec", "jpeg2000", "jpeg"} | MATCHED
        sizes = {p["value"]: p["bytes"] for p in im["points"] if p["codec"] == "maskcodec"}
        assert set(sizes) == set(KEEPS)
        for p in im["points"]:
            assert p["bpp"] == pytest.approx(8 * p["bytes"] / (h * w))
            for key in ("ssim", "mad", "diff_variance", "decode_ms_per_mp"):
                assert math.isfinite(p[key]), (p["curve"], key)
            if im is result["images"][0]:  # memory is traced on the first image only
                assert p["encode_peak_mib"] > 0 and p["decode_peak_mib"] > 0
            else:
                assert p["encode_peak_mib"] is None and p["decode_peak_mib"] is None
            assert math.isfinite(p["psnr"]) and p["psnr"] > 15
            if p["curve"].endswith("@maskcodec"):  # JPEG2000, HTJ2K and JPEG-XL at the same bytes
                assert p["encode_ms_per_mp"] is None
                target = sizes[p["value"]]
                assert 0.95 * target <= p["bytes"] <= target
            else:
                assert math.isfinite(p["encode_ms_per_mp"]) and p["encode_ms_per_mp"] > 0


def test_summaries(run):
    _, result = run
    rows = {(r["curve"], r["value"]): r for r in result["summary"]}
    lossy = rows[("maskcodec/nconv", 0.25)]
    per_image = [p["psnr"] for im in result["images"] for p in im["points"]
                 if p["curve"] == "maskcodec/nconv" and p["value"] == 0.25]
    assert lossy["psnr_mean"] == pytest.approx(np.mean(per_image))
    assert lossy["psnr_std"] == pytest.approx(np.std(per_image))
    assert {r["curve"] for r in result["bd"]} == {"maskcodec/nconv", "jpeg"} | MATCHED | _latent_curves(result)
    for r in result["bd"]:
        assert r["bd_psnr_db_mean"] is None or math.isfinite(r["bd_psnr_db_mean"])
        assert r["bd_rate_percent_mean"] is None or math.isfinite(r["bd_rate_percent_mean"])
    t = result["timing"]
    assert t["speed_ratio"] > 0 and t["statement"].startswith("maskcodec encode (ranked coding")
    assert t["scan_speed_ratio"] > t["speed_ratio"] and t["scan_htj2k_speed_ratio"] > 0
    assert t["htj2k_speed_ratio"] > 0 and t["htj2k_encode_ms_per_mp"] > 0 and "HTJ2K" in t["statement"]
    for r in result["images"]:  # HTJ2K timed at the quantization step that gives maskcodec's keep-0.1 bytes
        assert 0 < r["encoder_race"]["htj2k_qstep"] <= 2.0
    assert t["jpegls_lossless_encode_ms_per_mp"] > 0 and "JPEG-LS" in t["statement"]
    assert set(t["encoder_stages_ms_per_mp"]) == {"mask generation", "gather", "keys", "ranked coding",
                                                   "container", "encode() total", "encode(coding='scan') total"}


def test_lossless_point_is_null(tmp_path):
    result = bench.run_bench([sample_path("mastcam_pano")], keeps=(1.0,), out_dir=tmp_path, inpainters=["nconv"],
                             repeats=1, progress=False)
    saved = _strict_json((tmp_path / "bench.json").read_text())
    for r in (result, saved):
        point = next(p for p in r["images"][0]["points"] if p["curve"] == "maskcodec/nconv")
        assert point["psnr"] is None and point["mad"] == 0.0  # infinite PSNR is null, not Infinity
        row = next(x for x in r["summary"] if x["curve"] == "maskcodec/nconv")
        assert row["psnr_mean"] is None and row["psnr_infinite"] == 1
    row_md = next(line for line in (tmp_path / "bench.md").read_text().splitlines()
                  if line.startswith("| maskcodec/nconv | keep 1 |"))
    assert "| lossless |" in row_md


def test_bd_synthetic():
    rate = [0.1, 0.3, 0.9, 2.7]
    quality = [28.0, 31.0, 35.0, 40.0]
    assert bench.bd_rate(rate, quality, rate, quality) == pytest.approx(0.0, abs=1e-9)
    assert bench.bd_psnr(rate, quality, rate, quality) == pytest.approx(0.0, abs=1e-9)
    assert bench.bd_rate(rate, quality, [r / 2 for r in rate], quality) == pytest.approx(-50.0)
    assert bench.bd_psnr(rate, quality, [r / 2 for r in rate], quality) > 0
    assert bench.bd_rate(rate, quality, rate, [q + 20 for q in quality]) is None  # no PSNR overlap
    assert bench.bd_psnr(rate, quality, [r * 100 for r in rate], quality) is None  # no rate overlap


def test_bad_input(tmp_path):
    with pytest.raises(InvalidInputError, match="no images"):
        bench.run_bench([tmp_path], out_dir=tmp_path / "out", progress=False)
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(InvalidInputError, match="broken.png"):
        bench.run_bench([tmp_path], out_dir=tmp_path / "out", progress=False)
    with pytest.raises(InvalidInputError, match="no such file"):
        bench.run_bench([tmp_path / "missing"], out_dir=tmp_path / "out", progress=False)
    with pytest.raises(InvalidInputError, match="repeats"):
        bench.run_bench([sample_path("mastcam")], repeats=0, out_dir=tmp_path / "out", progress=False)
    with pytest.raises(InvalidInputError, match="inpainter"):
        bench.run_bench([sample_path("mastcam")], inpainters=["nope"], out_dir=tmp_path / "out", progress=False)


def test_latent_models_are_benchmarked(tmp_path, monkeypatch):
    monkeypatch.setenv("MASKCODEC_MODELS", str(VECTORS / "models"))  # the reference latent models only
    result = bench.run_bench([sample_path("mastcam_pano")], keeps=(0.25,), out_dir=tmp_path, inpainters=["nconv"],
                             repeats=1, progress=False)
    assert result["settings"]["latent_models"] == ["ref-gray-int", "ref-rgb", "ref-rgb-context"]
    image = read_image(sample_path("mastcam_pano"))
    point = next(p for p in result["images"][0]["points"] if p["curve"] == "latent/ref-rgb")  # RGB: ref-rgb only
    assert {p["curve"] for p in result["images"][0]["points"]} >= {"maskcodec/nconv", "latent/ref-rgb"}
    assert point["bytes"] == len(maskcodec.encode(image, mode="latent", model="ref-rgb"))
    assert point["codec"] == "latent" and point["param"] == "model" and 15 < point["psnr"] < 40
    assert "| latent/ref-rgb |" in (tmp_path / "bench.md").read_text()


def test_bench_latent_reports_bd_rate_per_camera_folder(tmp_path, monkeypatch):
    """bench-latent with two reference levels (colour) on two folders: one group per folder, the BD deltas
    against every anchor computed from that image's own curves, the CLI's one-line errors."""
    import shutil
    from maskcodec.cli import main
    from maskcodec.tools.latentbench import run_latent_bench
    models = tmp_path / "models"
    shutil.copytree(VECTORS / "models", models)
    manifest = json.loads((models / "manifest.json").read_text())
    by_id = {m["id"]: m for m in manifest["models"]}
    manifest["models"] += [{**by_id["ref-rgb-context"], "id": "latent-q1"}, {**by_id["ref-rgb"], "id": "latent-q2"}]
    (models / "manifest.json").write_text(json.dumps(manifest))
    monkeypatch.setenv("MASKCODEC_MODELS", str(models))
    image = read_image(sample_path("mastcam"))
    for cam in ("cam_a", "cam_b"):
        (tmp_path / cam / "val").mkdir(parents=True)
        write_image(tmp_path / cam / "val" / "crop.png", image[:96, :128])
    write_image(tmp_path / "cam_b" / "val" / "gray.png", image[:64, :64, 0])  # no gray level: skipped
    report = run_latent_bench([tmp_path / "cam_a" / "val", tmp_path / "cam_b" / "val"], out_dir=tmp_path / "out", repeats=1,
                              progress=False)
    assert report["images"] == 2 and set(report["groups"]) == {"cam_a/val", "cam_b/val"}
    im = report["per_image"][0]
    assert [p["model"] for p in im["latent"]] == ["latent-q1", "latent-q2"]
    assert im["latent"][0]["coder"] == "context" and im["latent"][0]["decode_mp_per_s"] > 0
    ref = im["anchors"]["jpeg2000"]
    expected = bench.bd_rate([p["bpp"] for p in ref], [p["psnr"] for p in ref],
                             [p["bpp"] for p in im["latent"]], [p["psnr"] for p in im["latent"]])
    assert im["deltas"]["jpeg2000"]["bd_rate_percent"] == expected
    assert set(report["groups"]["cam_a/val"]) >= {"jpeg2000", "htj2k", "jpegxl", "levels"}
    assert (tmp_path / "out" / "latent.md").read_text().count("## cam_") == 2
    assert main(["bench-latent", str(tmp_path / "cam_a" / "val"), "-o", str(tmp_path / "o2"), "--repeats", "0"]) == 2
    (tmp_path / "empty").mkdir()
    write_image(tmp_path / "empty" / "g.png", image[:32, :32, 0])
    with pytest.raises(InvalidInputError, match="installed latent quality level"):
        run_latent_bench([tmp_path / "empty"], out_dir=tmp_path / "o3", repeats=1, progress=False)
