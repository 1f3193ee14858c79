"""``maskcodec bench-coding``: its tables on real crops, the near-lossless comparison with JPEG-LS, bad flags."""
import json

import pytest
from PIL import Image

import maskcodec
from maskcodec.cli import main


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mastcam")
    for i, (rows, cols) in enumerate([(slice(0, 64), slice(0, 80)), (slice(100, 164), slice(120, 200))]):
        Image.fromarray(maskcodec.sample_image("mastcam")[rows, cols]).save(folder / f"crop{i}.png")
    out = tmp_path_factory.mktemp("out")
    code = main(["bench-coding", str(folder), "-o", str(out), "--keep", "0.5", "--max-error", "0,2",
                 "--chain", "0.1,1", "--near", "0,2", "--crop", "48", "-q"])
    assert code == 0
    return json.loads((out / "coding.json").read_text()), (out / "coding.md").read_text()


def test_near_lossless_rows_compare_with_jpeg_ls_at_the_same_error(run):
    result, md = run
    frame = result["frames"][0]
    assert frame["pixels"] == 48 * 48  # the centre crop
    near = frame["near_lossless"]
    assert set(near) == {"0", "2"} and "jpegxl_bytes" in near["0"] and "jpegxl_bytes" not in near["2"]
    assert near["2"]["bytes"] < near["0"]["bytes"] and near["2"]["jpegls_bytes"] < near["0"]["jpegls_bytes"]
    group = result["summary"][0]["near_lossless"]
    assert 0 < group["0"]["vs_jpegls_mean"] <= group["0"]["vs_jpegls_worst"]
    assert group["0"]["vs_jpegxl_mean"] > 0 and all(v > 0 for v in group["2"]["mp_per_s"].values())
    assert "Near-lossless at keep 1" in md and "--near 0,2 --crop 48" in result["command"]


def test_bad_crop_is_refused(tmp_path, capsys):
    assert main(["bench-coding", str(tmp_path), "-o", str(tmp_path / "o"), "--crop", "2"]) == 2
    assert "--crop" in capsys.readouterr().err
