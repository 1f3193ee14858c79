"""Segmented streams (format 2.0): strict round trips, salvage after packet loss, the CLI."""
import shutil
import warnings

import numpy as np
import pytest

import maskcodec
from maskcodec.cli import main
from maskcodec.images import read_image
from maskcodec.tools.lossbench import damage
from maskcodec.metrics import psnr
from conftest import SHARED

PACKET = 1024


@pytest.mark.parametrize("name,bits", [("mastcam", None), ("navcam", None), ("navcam12", 12)])
@pytest.mark.parametrize("size", [256, 1024, 4000])
def test_strict_round_trip(name, bits, size):
    image = maskcodec.sample_image(name)
    data = maskcodec.encode(image, 0.1, seed=9, bits=bits, segment_size=size)
    h = maskcodec.inspect(data)
    assert len(data) == h.segments * size and h.version == (2, 0)
    m = maskcodec.mask(image.shape, 0.1, 9)
    out = maskcodec.decode(data, inpainter="nconv")
    assert out.dtype == image.dtype and out.shape == image.shape and (out[m] == image[m]).all()
    single = maskcodec.decode(maskcodec.encode(image, 0.1, seed=9, bits=bits), inpainter="nconv")
    assert (out == single).all()  # same pixels, same decode


def _loss_trials(image, trials, kind, fraction=0.2, seed=0):
    data = maskcodec.encode(image, 0.1, seed=3, segment_size=PACKET)
    ref = psnr(image, maskcodec.decode(data, inpainter="nconv"))
    rng = np.random.default_rng(seed)
    drops = []
    for _ in range(trials):
        damaged = damage(data, fraction, kind, rng, PACKET)
        with pytest.raises(maskcodec.FormatError):
            maskcodec.decode(damaged)  # strict: never a silent wrong image
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", maskcodec.SalvageWarning)
            out = maskcodec.decode(damaged, inpainter="nconv", strict=False)
        drops.append(ref - psnr(image, out))
    return drops


@pytest.mark.parametrize("kind", ["delete", "zero", "flip"])
def test_twenty_percent_packet_loss_costs_under_1_5_db(rgb8, kind):
    drops = _loss_trials(rgb8, 10, kind)
    assert max(drops) <= 1.5, drops


@pytest.mark.skipif(not (SHARED / "mars_rgb" / "val").exists(), reason="needs ../shared/data")
def test_twenty_percent_loss_on_full_mars_frames():
    for path in sorted((SHARED / "mars_rgb" / "val").glob("*.png"))[:3]:
        drops = _loss_trials(read_image(path), 5, "delete", seed=1)
        assert max(drops) <= 1.5, (path.name, drops)


def test_salvage_report_and_warning(rgb8):
    data = maskcodec.encode(rgb8, 0.1, seed=3, segment_size=PACKET)
    n = len(data) // PACKET
    damaged = data[:PACKET] + data[3 * PACKET:]
    with pytest.warns(maskcodec.SalvageWarning, match="received .* of .* segments") as caught:
        maskcodec.decode(damaged, inpainter="nconv", strict=False)
    report = caught[0].message.report
    assert (report.segments_expected, report.segments_received, report.lost_segments) == (n, n - 2, [1, 2])
    assert 0.8 < report.fraction_recovered < 1.0
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an undamaged stream salvages silently
        maskcodec.decode(data, inpainter="nconv", strict=False)


def test_salvage_with_nothing_intact(rgb8):
    with pytest.raises(maskcodec.FormatError, match="no intact segment"):
        maskcodec.salvage(b"\x89MCS" + bytes(3000))
    data = maskcodec.encode(rgb8, 0.1, seed=3)
    with pytest.raises(maskcodec.FormatError):  # a 1.0 file is read strictly even with strict=False
        maskcodec.decode(data[:-3], strict=False)


@pytest.mark.parametrize("size", [0, 127, 65536, 1.5, "1024"])
def test_bad_segment_size(gray8, size):
    with pytest.raises(maskcodec.InvalidInputError, match="segment_size"):
        maskcodec.encode(gray8, 0.1, seed=1, segment_size=size)


def test_segment_too_small_for_a_row():
    wide = np.tile(maskcodec.sample_image("navcam"), (1, 40))  # 10200 px wide
    with pytest.raises(maskcodec.InvalidInputError, match="too small"):
        maskcodec.encode(wide, 1.0, seed=1, segment_size=128)


def test_cli_salvage(tmp_path, capsys):
    src = tmp_path / "m.png"
    shutil.copy(maskcodec.samples.sample_path("mastcam"), src)
    mcx = tmp_path / "m.mcx"
    assert main(["encode", str(src), "-o", str(mcx), "--seed", "2", "--segment-size", "1024"]) == 0
    data = mcx.read_bytes()
    mcx.write_bytes(data[:PACKET] + data[2 * PACKET:])
    assert main(["decode", str(mcx), "-o", str(tmp_path / "a.png")]) == 2
    assert "segment" in capsys.readouterr().err
    assert main(["decode", str(mcx), "-o", str(tmp_path / "b.png"), "--salvage"]) == 0
    assert "lost [1]" in capsys.readouterr().err
    assert read_image(tmp_path / "b.png").shape == read_image(src).shape


def test_loss_bench_cli(tmp_path, capsys):
    src = tmp_path / "pano.png"
    shutil.copy(maskcodec.samples.sample_path("mastcam_pano"), src)
    out = tmp_path / "out"
    assert main(["bench-loss", str(src), "-o", str(out), "--trials", "1", "--packet", "256", "--sides", "96,200",
                 "-q"]) == 0
    import json
    result = json.loads((out / "loss.json").read_text())
    costs = result["segment_costs"]
    assert costs["overhead_vs_scan"] > 0 and costs["frames"][0]["predictive"] < costs["frames"][0]["scan"]
    assert [r["side"] for r in costs["scaling"]] == [96, 200]
    assert all(r[name]["seconds"] > 0 for r in costs["scaling"] for name in ("predictive", "scan", "segmented"))
    assert "What segmenting costs" in (out / "loss.md").read_text()
    assert main(["bench-loss", str(src), "-o", str(out), "--trials", "-1"]) == 2
    assert len(result["rows"]) == 15
    for row in result["rows"]:
        assert row["maskcodec_failures"] == 0 and row["decodes"] == 1
        assert 0 <= row["maskcodec_mean_drop_db"] < 3
        for anchor in ("jpeg2000", "htj2k_resilient"):  # each decode either failed or has a drop
            assert row[f"{anchor}_failures"] + (row[f"{anchor}_mean_drop_db"] is not None) == 1
    assert "HTJ2K, resilient decoding failed" in (out / "loss.md").read_text()
    assert "| 20% | delete |" in capsys.readouterr().out


def test_damage_kinds():
    from maskcodec.tools.lossbench import damage
    data = bytes(range(256)) * 16
    rng = np.random.default_rng(0)
    assert len(damage(data, 0.5, "delete", rng)) == 2048
    zeroed = damage(data, 0.25, "zero", rng)
    assert len(zeroed) == 4096 and zeroed.count(bytes(1024)) == 1
    flipped = damage(data, 1.0, "flip", rng)
    assert sum(bin(a ^ b).count("1") for a, b in zip(flipped, data)) == 4
    with pytest.raises(ValueError, match="unknown damage kind"):
        damage(data, 0.5, "melt", rng)


def test_segment_count_follows_the_spec_rule():
    """Spec 11.2: first guess from the whole payload, then K' = max(K + 1, ceil(K * P_max / (S - O)))."""
    import math
    from maskcodec.format import segmented
    from maskcodec.format.zstd_frame import compress
    from maskcodec.layout import pack
    img = maskcodec.sample_image("mastcam")
    h, w = img.shape[:2]
    m = maskcodec.mask(img.shape, 0.25, 3)
    ys = np.nonzero(m)[0]
    values = img[m]
    for size in (512, 1024, 2048):
        data = maskcodec.encode(img, 0.25, seed=3, segment_size=size)
        room = size - segmented.overhead("")
        k = max(1, math.ceil(len(compress(pack(values, 8, 1))) / (room - 16)))
        rounds = 0
        while True:
            largest = max(len(compress(pack(values[ys % k == g], 8, 1))) for g in range(k))
            if largest <= room:
                break
            k, rounds = max(k + 1, -(-k * largest // room)), rounds + 1
        assert maskcodec.inspect(data).segments == k and len(data) == k * size
        assert rounds <= 6  # a few rounds, not one per segment
