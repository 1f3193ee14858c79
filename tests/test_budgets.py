"""Byte budgets (issue 29): every file within its budget, the keep as large as fits, clear refusals."""
import numpy as np
import pytest

import maskcodec
from maskcodec import budgets
from maskcodec.cli import main


@pytest.fixture(scope="module")
def img():
    return maskcodec.sample_image("mastcam")


@pytest.mark.parametrize("rate", [0.3, 1.2, 2.4, 6.0])
def test_mask_mode_files_fit_their_budget_with_the_largest_keep(img, rate):
    budget = int(rate * img.shape[0] * img.shape[1] // 8)
    data = maskcodec.encode(img, bpp=rate, seed=4)
    h = maskcodec.inspect(data)
    assert len(data) <= budget and h.keep > 0
    kind = budgets.image_kind(3, 8)
    chosen = budgets.choose(kind, 8 * budget / (img.shape[0] * img.shape[1]))[1]  # 8 bits: as chosen
    if h.keep < 1:  # a little more keep would not fit
        assert h.max_error == chosen
        bigger = maskcodec.encode(img, min(1.0, h.keep * 1.01), seed=4, max_error=h.max_error)
        assert len(bigger) > budget
    else:  # every pixel kept: a smaller error would not fit
        assert h.max_error <= chosen
        if h.max_error:
            assert len(maskcodec.encode(img, 1.0, seed=4, max_error=h.max_error - 1)) > budget
    out = maskcodec.decode(data)
    m = maskcodec.mask(img.shape, h.keep, 4)
    assert np.abs(out[m].astype(int) - img[m]).max() <= h.max_error


def test_budget_forms_and_a_given_max_error(img):
    raw = img.nbytes
    assert len(maskcodec.encode(img, ratio=20, seed=1)) <= raw // 20
    data = maskcodec.encode(img, max_bytes=9000, seed=1, max_error=0)
    assert len(data) <= 9000 and maskcodec.inspect(data).max_error == 0
    stream = maskcodec.encode(img, max_bytes=8 * 512, seed=1, segment_size=512)
    assert len(stream) <= 8 * 512 and len(stream) % 512 == 0
    gray = maskcodec.sample_image("navcam12")
    data = maskcodec.encode(gray, bpp=1.0, seed=2, bits=12)
    assert len(data) <= gray.shape[0] * gray.shape[1] // 8 and maskcodec.inspect(data).bits == 12


def test_latent_budget_picks_the_best_level_that_fits(img):
    sizes = {q: len(maskcodec.encode(img, mode="latent", quality=q)) for q in (1, 2, 3, 4)}
    budget = (sizes[2] + sizes[3]) // 2
    data = maskcodec.encode(img, mode="latent", max_bytes=budget)
    assert len(data) == sizes[2]
    with pytest.raises(maskcodec.InvalidInputError, match=f"below the lowest latent level's file \\({sizes[1]} bytes"):
        maskcodec.encode(img, mode="latent", max_bytes=sizes[1] - 1)


@pytest.mark.parametrize("kwargs, message", [
    ({"max_bytes": 60}, "below the smallest file of this image"),
    ({"keep": 0.1, "bpp": 1.0}, "a byte budget chooses the keep"),
    ({"bpp": 1.0, "ratio": 10}, "give one byte budget, not bpp .--bpp. and ratio"),
    ({"max_bytes": -5}, "max_bytes .--max-bytes. must be a positive whole number"),
    ({"max_bytes": 10.5}, "must be a positive whole number"),
    ({"bpp": float("nan")}, "bpp .--bpp. must be a positive number"),
    ({"mode": "latent", "quality": 2, "bpp": 1.0}, "a byte budget chooses the quality"),
])
def test_bad_budgets_are_refused(img, kwargs, message):
    with pytest.raises(maskcodec.InvalidInputError, match=message):
        maskcodec.encode(img, **kwargs)


def test_cli_budget_says_what_it_chose(tmp_path, capsys):
    from maskcodec.io.samples import sample_path
    out = tmp_path / "f.mcx"
    assert main(["encode", str(sample_path("mastcam")), "-o", str(out), "--bpp", "1.2", "--seed", "3"]) == 0
    said = capsys.readouterr().out
    h = maskcodec.inspect(out.read_bytes())
    assert "budget 1.2 bits/pixel" in said and f"keep={h.keep:.4g}" in said and h.file_size <= 1.2 * 251 * 317 / 8
    assert main(["encode", str(sample_path("mastcam")), "-o", str(tmp_path / "g.mcx"), "--bpp", "1", "--keep",
                 "0.2"]) == 2
    assert "a byte budget chooses the keep (--keep)" in capsys.readouterr().err


def test_frontier_tools_run(tmp_path):
    from maskcodec.tools import budgetbench, frontier
    from maskcodec.io.samples import sample_path
    result = frontier.run_frontier([sample_path("mastcam")], tmp_path, crop=96, keeps=(0.1, 0.5), max_errors=(0, 4),
                                   progress=False)
    points = result["kinds"]["rgb8"]["frontier"]
    assert points and all(a["bpp"] < b["bpp"] and a["psnr_db"] < b["psnr_db"] for a, b in zip(points, points[1:]))
    bench = budgetbench.run_budget_bench([sample_path("mastcam")], tmp_path, crop=128, rates=(1.2,))
    row = bench["frames"][0]["rows"][0]
    assert row["budget"]["bytes"] <= row["budget_bytes"] and row["exact"]["bytes"] <= row["budget_bytes"]
    assert (tmp_path / "budget.md").read_text().count("|") > 10
