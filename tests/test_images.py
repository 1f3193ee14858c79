"""Image file reading and writing."""
import numpy as np
import pytest

import maskcodec
from maskcodec.io.images import read_image, read_image_bits, write_image


@pytest.mark.parametrize("suffix", [".png", ".tif", ".npy"])
@pytest.mark.parametrize("name", ["mastcam", "navcam", "navcam12"])
def test_round_trip_files(tmp_path, suffix, name):
    img = maskcodec.sample_image(name)
    write_image(tmp_path / f"x{suffix}", img)
    back = read_image(tmp_path / f"x{suffix}")
    assert back.dtype == img.dtype and (back == img).all()


def test_png_keeps_sixteen_bit_colour_and_its_significant_bits(tmp_path):
    """16-bit colour PNGs at full depth (Pillow alone keeps the high byte), checked against libpng both ways;
    sBIT written as PNG specifies (values scaled up, so viewers show 12-bit frames at full brightness) and read
    back; unscaled sBIT files (some tools write them) read as they are; more than 4 channels need TIFF."""
    import imagecodecs
    from maskcodec.io.images import scale_up
    gray = maskcodec.sample_image("navcam12")
    rgb = np.ascontiguousarray(np.stack([gray, gray[::-1], gray[:, ::-1]], axis=2))
    for image in (rgb, np.dstack([rgb, gray])):
        full = image | 0xF000  # every 16 bits used
        (tmp_path / "libpng.png").write_bytes(imagecodecs.png_encode(full, level=9))  # libpng's filters
        assert (read_image(tmp_path / "libpng.png") == full).all()
        write_image(tmp_path / "ours.png", image, bits=12)
        assert (imagecodecs.png_decode((tmp_path / "ours.png").read_bytes()) == scale_up(image, 12)).all()
        back, bits = read_image_bits(tmp_path / "ours.png")
        assert back.dtype == np.uint16 and (back == image).all() and bits == 12
        unscaled = (tmp_path / "ours.png").read_bytes()
        write_image(tmp_path / "raw.png", image)  # the same values without sBIT, then the chunk added
        raw = (tmp_path / "raw.png").read_bytes()
        sbit = unscaled[33:33 + 12 + image.shape[2]]  # after the signature and IHDR: the sBIT chunk
        (tmp_path / "raw_sbit.png").write_bytes(raw[:33] + sbit + raw[33:])
        back, bits = read_image_bits(tmp_path / "raw_sbit.png")
        assert (back == image).all() and bits == 12
    assert read_image_bits(tmp_path / "libpng.png")[1] is None  # no sBIT: the dtype's width
    with pytest.raises(maskcodec.InvalidInputError, match="write .tif or .npy"):
        write_image(tmp_path / "x.png", np.zeros((4, 4, 5), np.uint16))
    with pytest.raises(maskcodec.InvalidInputError, match="values above 12 bits"):
        write_image(tmp_path / "x.png", full, bits=12)
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
