"""Image file reading and writing."""
import numpy as np
import pytest

import maskcodec
from maskcodec.io.images import read_image, write_image


@pytest.mark.parametrize("suffix", [".png", ".tif", ".npy"])
@pytest.mark.parametrize("name", ["mastcam", "navcam", "navcam12"])
def test_round_trip_files(tmp_path, suffix, name):
    img = maskcodec.sample_image(name)
    write_image(tmp_path / f"x{suffix}", img)
    back = read_image(tmp_path / f"x{suffix}")
    assert back.dtype == img.dtype and (back == img).all()


def test_png_cannot_hold_sixteen_bit_colour(tmp_path):
    with pytest.raises(maskcodec.InvalidInputError, match="write .tif or .npy"):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 3), np.uint16))
    write_image(tmp_path / "x.tif", np.zeros((4, 4, 5), np.uint16))
    assert read_image(tmp_path / "x.tif").shape == (4, 4, 5)


def test_unreadable_and_unsupported(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"not a png")
    with pytest.raises(maskcodec.InvalidInputError, match="cannot read"):
        read_image(tmp_path / "bad.png")
    np.save(tmp_path / "f.npy", np.zeros((3, 3), np.float32))
    with pytest.raises(maskcodec.InvalidInputError, match="float32 is not supported"):
        read_image(tmp_path / "f.npy")
    with pytest.raises(maskcodec.InvalidInputError, match="unsupported image type"):
        read_image(tmp_path / "x.jpg")
