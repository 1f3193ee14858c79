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
from maskcodec.masks import mask_from_threshold

MODEL_FOR = {"mastcam": "default-d", "navcam": "gray-default-d"}


@pytest.mark.parametrize("kind", ["bluenoise", "hash"])
def test_held_back_survivors_are_the_top_ranks_of_the_same_mask(kind):
    img = maskcodec.sample_image("mastcam")
    header = maskcodec.inspect(maskcodec.encode(img, 0.1, seed=9, mask=kind))
    known = maskcodec.mask(img.shape, 0.1, 9, kind)
    hold = holdout.held_back(header, known)
    lower = header.keep_threshold - header.keep_threshold // holdout.HOLD_BACK
    assert np.array_equal(known & ~hold, mask_from_threshold(img.shape, lower, 9, kind))  # a sparser mask of it
    assert not (hold & ~known).any()
    assert 0.2 < hold.sum() / known.sum() < 0.3


def test_linear_at_points_is_linear_there():
    from maskcodec.inpainting.classical import linear, linear_at
    img = maskcodec.sample_image("mastcam").astype(np.float32) / 255
    known = maskcodec.mask(img.shape, 0.05, 3)
    where = maskcodec.mask(img.shape, 0.2, 8) & ~known
    np.testing.assert_allclose(linear_at(img, known, where), linear(img, known)[where], atol=1e-6)  # float order


def test_smoothness_is_the_variogram_slope_of_the_survivors():
    y, x = np.mgrid[0:128, 0:128]
    known = maskcodec.mask((128, 128), 0.1, 5)
    pts = np.argwhere(known)
    plane = (2.0 * pts[:, :1] + pts[:, 1:]) / 400
    noise = np.random.default_rng(1).random((len(pts), 3))
    assert holdout.smoothness(pts, plane, 3.2) == pytest.approx(2.0, abs=0.05)   # squared differences grow as r**2
    assert abs(holdout.smoothness(pts, noise, 3.2)) < 0.1                        # and not at all for noise
    real = maskcodec.sample_image("mastcam").astype(np.float32) / 255
    kept = maskcodec.mask(real.shape, 0.1, 5)
    assert 0.2 < holdout.smoothness(np.argwhere(kept), real[kept], 3.2) < 1.8
    assert holdout.smoothness(pts[:5], plane[:5], 3.2) == holdout.BETA_DEFAULT   # too few pairs to measure


def test_the_trial_area_is_what_the_held_back_count_needs_within_a_share_of_the_image():
    w2 = holdout.WINDOW ** 2
    assert holdout.trial_area(100, 100, 0.001) == w2                              # at least one window
    assert holdout.trial_area(8192, 8192, 0.025) == math.ceil(holdout.TARGET_HELD_BACK / 0.025)
    assert holdout.trial_area(4096, 4096, 0.0005) == int(holdout.TRIAL_SHARE * 4096 * 4096)


def test_trial_windows_cover_a_bounded_area_inside_the_image():
    area = 4 * holdout.WINDOW ** 2
    assert holdout.windows(300, 400, area) == [(slice(0, 300), slice(0, 400), slice(0, 300), slice(0, 400))]
    for h, w in [(1000, 1200), (2048, 2048), (100, 20000), (20000, 90)]:
        wins = holdout.windows(h, w, area)
        assert sum((r.stop - r.start) * (c.stop - c.start) for r, c, *_ in wins) <= area
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
    assert list(report.candidates) == [MODEL_FOR[sample], "linear", "predictor"]
    assert report.candidates[report.inpainter] == max(report.candidates.values()) == report.estimated_psnr_db
    assert np.array_equal(out, maskcodec.decode(data))  # plain decode makes the same choice
    assert np.array_equal(out, maskcodec.decode(data, inpainter=report.inpainter))
    known = maskcodec.mask(img.shape, keep, 4)
    assert np.array_equal(out[known], img[known])
    low, high = report.interval_db
    assert low < report.estimated_psnr_db < high and 1 < high - low < 4
    assert low - 0.5 < maskcodec.metrics.psnr(img, out) < high + 0.5  # a 90% interval: a little slack for the 10%
    assert report.held_back > 100 and f"inpainted by {report.inpainter}, estimated PSNR" in str(report)
    assert f"(90% interval {low:.1f}-{high:.1f} dB)" in str(report)


def test_auto_never_keeps_a_model_that_fills_badly(monkeypatch):
    img = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(img, 0.1, seed=2)
    monkeypatch.setattr(inpaint, "_model", lambda *a: lambda image, known: np.zeros_like(image))  # a broken model
    out, report = maskcodec.decode_report(data)
    assert report.inpainter in ("linear", "predictor") and report.candidates["default-d"] < 15
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
    assert report.estimated_psnr_db is None and report.inpainter == "default-d"
    assert report.held_back < holdout.MIN_HELD_BACK and "no PSNR estimate: only" in str(report)


def test_nothing_missing_is_estimated_infinite():
    img = maskcodec.sample_image("navcam")
    out, report = maskcodec.decode_report(maskcodec.encode(img, 1.0, seed=1))
    assert np.array_equal(out, img) and report.estimated_psnr_db == math.inf


@pytest.mark.parametrize("keep", [1.0, 0.2])
def test_the_estimate_counts_the_kept_values_own_error(keep):
    img = maskcodec.sample_image("mastcam")
    out, report = maskcodec.decode_report(maskcodec.encode(img, keep, seed=2, max_error=4))
    low, high = report.interval_db
    true = maskcodec.metrics.psnr(img, out)
    assert low - 0.5 < true < high + 0.5 and abs(report.estimated_psnr_db - true) < 1.5
    if keep == 1.0:
        assert low == pytest.approx(10 * math.log10(255 ** 2 / 16)) and true < 40  # the bound: no value 4 off or more


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
    assert main(["bench-auto", str(folder), "-o", str(tmp_path / "out"), "--keep", "0.1", "-q", "--max-error", "4"]) == 0
    result = json.loads((tmp_path / "out" / "auto.json").read_text())
    assert [f["file"] for f in result["frames"]] == ["mastcam.png", "mastcam_pano.png"]
    for f in result["frames"]:
        assert f["auto"] == f["true"][f["chosen"]] and set(f["true"]) == {"default-d", "linear", "nconv", "predictor"}
        assert set(f["candidates_estimated"]) == {"default-d", "linear", "predictor"}
        low, high = f["interval"]
        assert low < f["estimated"] < high and f["raw_estimate"] == pytest.approx(f["estimated"] - 0.8)
    s, = result["summary"]
    assert s["group"] == "cam" and s["frames"] == 2 and s["estimate"]["frames"] == 2
    assert "| cam | 0.1 | 2 |" in capsys.readouterr().out
    d, = result["d_summary"]
    assert d["max_error"] == 4 and d["frames"] == 2 and d["models"] == "default-d vs default" and d["all_within"]
    assert all(f["within"] and abs(f["d_aware"] - f["shipped"]) < 1 for f in result["d_frames"])
    assert main(["bench-auto", str(folder), "--per-folder", "0"]) == 2
    with pytest.raises(SystemExit) as bad:
        main(["bench-auto", str(folder), "--max-error", "0"])
    assert bad.value.code == 2 and "--max-error must be comma-separated whole numbers" in capsys.readouterr().err
