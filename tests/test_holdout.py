"""auto's held-back trial: which survivors are set aside, the trial windows, the choice, the estimate."""
from __future__ import annotations

import json
import math

import numpy as np
import pytest

import maskcodec
from maskcodec.inpainting import trial as holdout
from maskcodec import inpainting as inpaint
from maskcodec.cli import main
from maskcodec.io.images import write_image
from maskcodec import masks
from maskcodec.masks import mask_from_threshold

MODEL_FOR = {"mastcam": "default", "navcam": "gray-default"}


@pytest.mark.parametrize("kind", ["bluenoise", "hash"])
def test_held_back_survivors_are_the_top_ranks_of_the_same_mask(kind):
    img = maskcodec.sample_image("mastcam")
    header = maskcodec.inspect(maskcodec.encode(img, 0.1, seed=9, mask=kind))
    known = maskcodec.mask(img.shape, 0.1, 9, kind)
    hold = holdout.held_back(header, known)
    lower = header.keep_threshold - header.keep_threshold // holdout.HOLD_BACK
    assert np.array_equal(known & ~hold, mask_from_threshold(img.shape, lower, 9, kind))  # a sparser mask of it
    assert not (hold & ~known).any()
    assert 0.03 < hold.sum() / known.sum() < 0.07


def test_linear_at_points_is_linear_there():
    from maskcodec.inpainting.classical import linear, linear_at
    img = maskcodec.sample_image("mastcam").astype(np.float32) / 255
    known = maskcodec.mask(img.shape, 0.05, 3)
    where = maskcodec.mask(img.shape, 0.2, 8) & ~known
    np.testing.assert_allclose(linear_at(img, known, where), linear(img, known)[where], atol=1e-6)  # float order


def test_estimate_offset_interpolates_in_log_keep():
    (k0, d0), (k1, d1), (k2, d2) = masks.kind_of("bluenoise").trial_offsets_db
    assert holdout.estimate_offset("bluenoise", k1) == pytest.approx(d1)
    assert holdout.estimate_offset("bluenoise", 0.001) == d0 and holdout.estimate_offset("bluenoise", 1.0) == d2
    mid = math.sqrt(k1 * k2)
    assert holdout.estimate_offset("bluenoise", mid) == pytest.approx((d1 + d2) / 2)


def test_trial_windows_cover_a_bounded_area_inside_the_image():
    assert holdout.windows(300, 400) == [(slice(0, 300), slice(0, 400), slice(0, 300), slice(0, 400))]
    for h, w in [(1000, 1200), (2048, 2048), (100, 20000), (20000, 90)]:
        wins = holdout.windows(h, w)
        assert sum((r.stop - r.start) * (c.stop - c.start) for r, c, *_ in wins) <= holdout.TRIAL_PIXELS
        assert len(wins) > 1 and len(set((r.start, c.start) for r, c, *_ in wins)) == len(wins)
        assert len(holdout.windows(h, w, area=1)) == 1  # a small trial area: one window
        for r, c, cr, cc in wins:
            assert 0 <= r.start < r.stop <= h and 0 <= c.start < c.stop <= w
            assert r.start <= cr.start < cr.stop <= r.stop and c.start <= cc.start < cc.stop <= c.stop
            assert cr.start - r.start in (0, holdout.MARGIN) and cc.stop in (w, c.stop - holdout.MARGIN)


@pytest.mark.parametrize("sample", ["mastcam", "navcam"])
@pytest.mark.parametrize("keep", [0.5, 0.1])
def test_auto_fills_with_the_candidate_of_best_estimate(sample, keep):
    img = maskcodec.sample_image(sample)
    data = maskcodec.encode(img, keep, seed=4)
    out, report = maskcodec.decode_report(data)
    assert list(report.candidates) == [MODEL_FOR[sample], "linear"]
    assert report.candidates[report.inpainter] == max(report.candidates.values()) == report.estimated_psnr_db
    assert np.array_equal(out, maskcodec.decode(data))  # plain decode makes the same choice
    assert np.array_equal(out, maskcodec.decode(data, inpainter=report.inpainter))
    known = maskcodec.mask(img.shape, keep, 4)
    assert np.array_equal(out[known], img[known])
    assert abs(report.estimated_psnr_db - maskcodec.metrics.psnr(img, out)) < 2.5  # measured: within 1 dB on 62% of val frames, 3 dB at worst
    assert report.held_back > 100 and f"inpainted by {report.inpainter}, estimated PSNR" in str(report)


def test_auto_never_keeps_a_model_that_fills_badly(monkeypatch):
    img = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(img, 0.1, seed=2)
    monkeypatch.setattr(inpaint, "_model", lambda *a: lambda image, known: np.zeros_like(image))  # a broken model
    out, report = maskcodec.decode_report(data)
    assert report.inpainter == "linear" and report.candidates["default"] < 15
    assert np.array_equal(out, maskcodec.decode(data, inpainter=report.inpainter))
    assert maskcodec.metrics.psnr(img, out) > 25


def test_a_named_inpainter_is_estimated_only_when_asked():
    img = maskcodec.sample_image("navcam")
    data = maskcodec.encode(img, 0.1, seed=3)
    out, report = maskcodec.decode_report(data, inpainter="nconv")
    assert list(report.candidates) == ["nconv"] and report.inpainter == "nconv"
    assert abs(report.estimated_psnr_db - maskcodec.metrics.psnr(img, out)) < 2.0
    _, quiet = maskcodec.decode_report(data, inpainter="nconv", estimate=False)
    assert quiet.estimated_psnr_db is None and quiet.candidates == {} and str(quiet) == "inpainted by nconv"


def test_too_few_survivors_gives_no_estimate_and_the_first_candidate():
    img = maskcodec.sample_image("mastcam")[:24, :24]
    out, report = maskcodec.decode_report(maskcodec.encode(img, 0.1, seed=1))
    assert report.estimated_psnr_db is None and report.inpainter == "default"
    assert report.held_back < holdout.MIN_HELD_BACK and "no PSNR estimate: only" in str(report)


def test_nothing_missing_is_estimated_infinite():
    img = maskcodec.sample_image("navcam")
    out, report = maskcodec.decode_report(maskcodec.encode(img, 1.0, seed=1))
    assert np.array_equal(out, img) and report.estimated_psnr_db == math.inf


def test_uint16_auto_keeps_the_classical_inpainter_measured_best_and_estimates_it():
    img = maskcodec.sample_image("navcam12")
    data = maskcodec.encode(img, 0.1, seed=6, bits=12)
    out, report = maskcodec.decode_report(data)
    assert list(report.candidates) == ["linear"] and np.array_equal(out, maskcodec.decode(data, inpainter="linear"))
    assert abs(report.estimated_psnr_db - maskcodec.metrics.psnr(img, out, bits=12)) < 2.0
    assert maskcodec.decode_report(data, estimate=False)[1].estimated_psnr_db is None  # no trial when not asked


def test_latent_files_report_their_model_and_no_estimate():
    img = maskcodec.sample_image("mastcam")
    _, report = maskcodec.decode_report(maskcodec.encode(img, mode="latent", quality=1))
    assert report.mode == "latent" and report.estimated_psnr_db is None and "latent model latent-q1" in str(report)


def test_decode_verbose_prints_the_estimate(tmp_path, capsys):
    folder = tmp_path / "downlink"
    folder.mkdir()
    for name in ("mastcam", "navcam"):
        (folder / f"{name}.mcx").write_bytes(maskcodec.encode(maskcodec.sample_image(name), 0.1, seed=1))
    assert main(["decode", str(folder / "navcam.mcx"), "-o", str(tmp_path / "n.png"), "-v",
                 "--inpainter", "linear"]) == 0
    assert "(inpainted by linear, estimated PSNR " in capsys.readouterr().out
    assert main(["decode", str(folder), "-o", str(tmp_path / "out"), "-q", "-v", "--workers", "1"]) == 0
    captured = capsys.readouterr()
    assert captured.err.count("estimated PSNR") == 2 and "mastcam.mcx: inpainted by" in captured.err
    reports = [line.split(": ", 2)[2] for line in captured.err.splitlines() if "estimated PSNR" in line]
    chosen = sorted(r.split(",")[0].removeprefix("inpainted by ") for r in reports)
    assert "decoded 2 of 2 files" in captured.out and all(f"inpainter {c}" in captured.out for c in chosen)


def test_bench_auto_reports_per_folder(tmp_path, capsys):
    folder = tmp_path / "cam"
    folder.mkdir()
    for name in ("mastcam", "mastcam_pano"):
        write_image(folder / f"{name}.png", maskcodec.sample_image(name))
    assert main(["bench-auto", str(folder), "-o", str(tmp_path / "out"), "--keep", "0.1", "-q"]) == 0
    result = json.loads((tmp_path / "out" / "auto.json").read_text())
    assert [f["file"] for f in result["frames"]] == ["mastcam.png", "mastcam_pano.png"]
    for f in result["frames"]:
        assert f["auto"] == f["true"][f["chosen"]] and set(f["true"]) == {"default", "linear", "nconv"}
        assert set(f["candidates_estimated"]) == {"default", "linear"}
    s, = result["summary"]
    assert s["group"] == "cam" and s["frames"] == 2 and s["estimate"]["frames"] == 2
    assert "| cam | 0.1 | 2 |" in capsys.readouterr().out
    assert main(["bench-auto", str(folder), "--per-folder", "0"]) == 2
