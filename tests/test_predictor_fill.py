"""The "predictor" inpainter (maskcodec/inpainting/predictor_fill.py) and the flight core's fill (flight/src/fill.c):
the C function equals the numpy reference byte for byte (real crops of 1, 3 and 4 channels, odd sizes, masks from none
to all kept, both mask kinds), the inpainter keeps the contract of maskcodec.inpainting, its quality stays near the
classical ones' on real crops, and the C tool's self-test passes, also under AddressSanitizer and UBSan."""
from __future__ import annotations

import struct
import subprocess
import sys

import numpy as np
import pytest

import maskcodec
from maskcodec.inpainting import CLASSICAL_NAMES
from maskcodec.inpainting.classical import CLASSICAL
from maskcodec.inpainting.predictor_fill import MID, cell_shift, pixel_levels, predictor, predictor_fill_reference
from maskcodec.masks import mask
from maskcodec.metrics import psnr
from maskcodec.survivors import _flight

KEEPS = [0.5, 0.1, 0.02, 0.001]


def c_fill(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(values, dtype=np.uint16).copy()
    _flight.fill(out.shape[0], out.shape[1], out.shape[2], np.ascontiguousarray(known, dtype=bool), out)
    return out


def as16(img: np.ndarray) -> np.ndarray:
    """A sample image as 16-bit values (H, W, C): 8-bit times 257, 12-bit shifted up by 4."""
    img = img[..., None] if img.ndim == 2 else img
    return img.astype(np.uint16) * 257 if img.dtype == np.uint8 else img.astype(np.uint16) << 4


def crops() -> dict[str, np.ndarray]:
    rgb = as16(maskcodec.sample_image("mastcam"))
    gray = as16(maskcodec.sample_image("navcam"))
    h, w = min(rgb.shape[0], gray.shape[0]), min(rgb.shape[1], gray.shape[1])
    return {"mastcam": rgb, "mastcam_pano": as16(maskcodec.sample_image("mastcam_pano")), "navcam": gray,
            "navcam12": as16(maskcodec.sample_image("navcam12")),
            "four_channels": np.concatenate([rgb[:h, :w], gray[:h, :w]], axis=2)}


CROPS = crops()


@pytest.mark.parametrize("kind", ["bluenoise", "hash"])
@pytest.mark.parametrize("name", sorted(CROPS))
def test_c_equals_the_reference_on_real_crops(name, kind):
    values = CROPS[name]
    for i, keep in enumerate(KEEPS):
        known = mask(values.shape, keep, seed=11 + i, kind=kind)
        want = predictor_fill_reference(values, known)
        assert np.array_equal(c_fill(values, known), want), (name, kind, keep)
        assert np.array_equal(want[known], values[known])


@pytest.mark.parametrize("shape", [(1, 1), (1, 2), (2, 1), (1, 37), (29, 1), (2, 2), (7, 5), (5, 7), (3, 1000),
                                   (64, 65)])
@pytest.mark.parametrize("channels", [1, 3, 4])
def test_c_equals_the_reference_on_odd_sizes(shape, channels):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1] + channels)
    for keep in [0.0, 0.001, 0.1, 0.5, 0.9, 1.0]:
        values = rng.integers(0, 65536, shape + (channels,), dtype=np.uint16)
        known = rng.random(shape) < keep
        assert np.array_equal(c_fill(values, known), predictor_fill_reference(values, known)), (shape, keep)


def test_a_clustered_mask_uses_the_fallbacks_alike():
    # kept pixels in one corner only: (0, 0) and the far targets have no candidate in their cells
    rng = np.random.default_rng(3)
    values = rng.integers(0, 65536, (300, 211, 3), dtype=np.uint16)
    known = np.zeros((300, 211), bool)
    known[240:, 170:] = rng.random((60, 41)) < 0.02
    assert np.array_equal(c_fill(values, known), predictor_fill_reference(values, known))


def test_no_kept_pixel_is_mid_grey_and_all_kept_is_the_image():
    values = CROPS["mastcam"]
    none = np.zeros(values.shape[:2], bool)
    assert (predictor_fill_reference(values, none) == MID).all() and (c_fill(values, none) == MID).all()
    everything = np.ones(values.shape[:2], bool)
    assert np.array_equal(c_fill(values, everything), values)
    assert np.array_equal(predictor_fill_reference(values, everything), values)


def test_a_constant_image_is_filled_exactly_and_unknown_input_is_never_read():
    known = mask((97, 131), 0.05, seed=2)
    values = np.full((97, 131, 3), 1234, np.uint16)
    values[~known] = 7  # garbage where unknown
    assert (c_fill(values, known) == 1234).all()
    other = values.copy()
    other[~known] = 60000
    assert np.array_equal(c_fill(values, known), c_fill(other, known))


def test_levels_and_cell_shift():
    lv = pixel_levels(5, 9)
    assert lv[0, 0] == 4 and lv[0, 8] == 3 and lv[4, 4] == 2 and lv[1, 0] == 0 and lv[2, 6] == 1
    assert [cell_shift(k, 1_000_000) for k in (500_000, 100_000, 20_000, 1_000, 1)] == [1, 2, 3, 5, 10]


# ---- the inpainter

def test_predictor_is_a_classical_inpainter():
    assert CLASSICAL["predictor"] is predictor and "predictor" in CLASSICAL_NAMES


def test_predictor_keeps_the_inpainter_contract():
    img = maskcodec.sample_image("mastcam").astype(np.float32) / 255
    known = mask(img.shape, 0.1, seed=5)
    image = img.copy()
    image[~known] = np.nan  # unknown pixels may hold anything
    out = predictor(image, known)
    assert out.dtype == np.float32 and out.shape == img.shape
    assert np.isfinite(out).all() and out.min() >= 0 and out.max() <= 1
    assert np.abs(out[known] - img[known]).max() <= 0.5 / 65535 + 1e-7
    v = np.rint(img * 65535).astype(np.uint16)
    assert np.array_equal(np.rint(out * 65535).astype(np.uint16), predictor_fill_reference(v, known))
    single = predictor(img[..., :1], known)  # one channel, (H, W, 1)
    assert single.shape == img.shape[:2] + (1,)


def test_the_float_conversion_is_numpys():
    # fill_unit converts in C: rint(clip(x, 0, 1) * 65535) in float32, ties to even, as numpy does; back by / 65535
    rng = np.random.default_rng(1)
    ties = (np.arange(65535, dtype=np.float32) + 0.5) / 65535
    x = np.concatenate([rng.random(100_000, dtype=np.float32), ties, np.nextafter(ties, np.float32(1)),
                        np.nextafter(ties, np.float32(0)), np.array([0, 1, -1, 2, np.inf, -np.inf, 1e-30], np.float32)])
    known = np.ones((1, x.size), bool)
    known[0, 0] = False  # one pixel to fill, so that the fill runs
    with np.errstate(invalid="ignore"):
        want = np.rint(np.clip(x, 0, 1) * np.float32(65535)).astype(np.uint16)
    got = predictor(x.reshape(1, -1, 1), known)[0, 1:, 0]
    assert np.array_equal(got, want[1:] / np.float32(65535))


def test_a_plane_is_reproduced_closely():
    y, x = np.mgrid[0:128, 0:128]
    img = (0.2 + 0.5 * y / 127 + 0.25 * x / 127).astype(np.float32)[..., None]
    for keep, mean_err, max_err in [(0.5, 0.001, 0.01), (0.1, 0.003, 0.02)]:
        known = mask((128, 128), keep, seed=3)
        err = np.abs(predictor(img, known) - img)[~known]
        assert err.mean() < mean_err and err.max() < max_err, keep


@pytest.mark.parametrize("name", ["mastcam", "navcam", "navcam12", "mastcam_pano"])
def test_quality_within_a_db_of_linear_and_nconv(name):
    # measured on these crops (seed 4): predictor - linear from -0.51 (navcam, keep 0.5) to +0.84 dB
    img = maskcodec.sample_image(name)
    for keep in (0.5, 0.1, 0.02):
        data = maskcodec.encode(img, keep, seed=4)
        got = {n: psnr(img, maskcodec.decode(data, inpainter=n)) for n in ("predictor", "linear", "nconv")}
        assert got["predictor"] > got["linear"] - 1.0 and got["predictor"] > got["nconv"] - 1.0, (keep, got)


def test_predictor_needs_no_scipy():
    code = ("import sys, numpy as np; from maskcodec.inpainting.predictor_fill import predictor;"
            "k = np.zeros((32, 32), bool); k[::4, ::4] = True;"
            "predictor(np.random.default_rng(0).random((32, 32, 3), dtype=np.float32), k);"
            "print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False"]


def test_the_binding_refuses_bad_buffers():
    values = np.zeros((4, 5, 3), np.uint16)
    known = np.zeros((4, 5), bool)
    with pytest.raises(maskcodec.InvalidInputError):
        _flight.fill(4, 5, 2, known, values)  # values of another channel count
    with pytest.raises(maskcodec.InvalidInputError):
        _flight.fill(5, 5, 3, known, values)  # known of another size
    with pytest.raises(maskcodec.InvalidInputError):
        _flight.fill(0, 5, 3, known, values)
    with pytest.raises(maskcodec.InvalidInputError):
        _flight.fill(4, 5, 0, known, values)
    with pytest.raises((TypeError, BufferError, ValueError)):
        _flight.fill(4, 5, 3, known, bytes(120))  # read-only
    with pytest.raises(TypeError):
        _flight.fill(4, 5, 3, known)
    image, out = np.zeros((4, 5, 3), np.float32), np.zeros((4, 5, 3), np.float32)
    with pytest.raises(maskcodec.InvalidInputError):
        _flight.fill_unit(4, 5, 3, known, image[:3].copy(), out)  # an image of another size
    with pytest.raises(maskcodec.InvalidInputError):
        _flight.fill_unit(4, 5, 3, known, image, out[:3].copy())  # an output of another size


# ---- the C tool (a copy of flight/ built by make; see tests/conftest.py)

def _case(path, values: np.ndarray, known: np.ndarray) -> None:
    h, w, c = values.shape
    path.write_bytes(b"MCFL" + struct.pack("<3I", h, w, c) + known.astype(np.uint8).tobytes()
                     + values.astype("<u2").tobytes())


def _tool_fill(binary, tmp_path, values, known) -> np.ndarray:
    _case(tmp_path / "case", values, known)
    done = subprocess.run([str(binary), "fill", str(tmp_path / "case"), str(tmp_path / "out")], capture_output=True,
                          text=True)
    assert done.returncode == 0, done.stderr
    return np.frombuffer((tmp_path / "out").read_bytes(), "<u2").reshape(values.shape)


def _tool_cases():
    yield CROPS["mastcam"], mask(CROPS["mastcam"].shape, 0.1, seed=1)
    yield CROPS["four_channels"], mask(CROPS["four_channels"].shape, 0.02, seed=2, kind="hash")
    rng = np.random.default_rng(5)
    yield rng.integers(0, 65536, (7, 5, 1), dtype=np.uint16), rng.random((7, 5)) < 0.3


@pytest.mark.parametrize("build", ["flight_build", "flight_sanitized"])
def test_the_tool_matches_the_reference(build, request, tmp_path):
    tool = request.getfixturevalue(build) / "mcfill"  # the plain build, then under ASan and UBSan
    done = subprocess.run([str(tool), "selftest"], capture_output=True, text=True)
    assert done.returncode == 0 and "mcfill selftest: ok" in done.stdout, done.stderr
    for values, known in _tool_cases():
        assert np.array_equal(_tool_fill(tool, tmp_path, values, known), predictor_fill_reference(values, known))
