"""encode/decode/inspect round trips and argument checks."""
import subprocess
import sys

import numpy as np
import pytest

import maskcodec
from maskcodec.metrics import psnr
from conftest import SHARED

KEEPS = [1.0, 0.5, 0.1, 0.01]


def _round_trip(image, keep, seed=11, **kw):
    data = maskcodec.encode(image, keep=keep, seed=seed, **kw)
    out = maskcodec.decode(data)
    m = maskcodec.mask(image.shape, keep, seed)
    assert out.shape == image.shape and out.dtype == image.dtype
    assert (out[m] == image[m]).all(), "kept pixels must come back bit for bit"
    return data, out


@pytest.mark.parametrize("keep", KEEPS)
@pytest.mark.parametrize("name", ["rgb8", "gray8", "gray12"])
def test_round_trip_real_images(request, name, keep):
    image = request.getfixturevalue(name)
    assert image.shape[0] % 2 == 1 or image.shape[1] % 2 == 1  # odd sizes
    data, out = _round_trip(image, keep, bits=12 if name == "gray12" else None)
    if keep == 1.0:
        assert (out == image).all()
    else:
        floor = {0.5: 28, 0.1: 24, 0.01: 20}[keep]
        assert psnr(image, out, bits=12 if name == "gray12" else None) > floor


@pytest.mark.skipif(not (SHARED / "orbital_gray").exists(), reason="needs ../shared/data")
def test_round_trip_500x561_from_shared():
    big = maskcodec.io.images.read_image(SHARED / "orbital_gray" / "apollo15_AS15-M-0295_SML.png")
    gray = np.ascontiguousarray(big[:500, :561])
    rgb = np.ascontiguousarray(np.stack([gray, big[1:501, :561], big[2:502, :561]], axis=2))
    for image in (gray, rgb):
        for keep in KEEPS:
            _round_trip(image, keep)


def test_channel_axis_and_many_channels(rgb8):
    one = rgb8[..., 1:2]
    assert maskcodec.decode(maskcodec.encode(one, 0.5, seed=1)).shape == one.shape
    stack = np.concatenate([rgb8, rgb8[..., ::-1], rgb8[..., :1] // 2], axis=2)[:50, :70]  # 7 bands
    _round_trip(stack, 0.25)
    sixteen = np.repeat(maskcodec.sample_image("navcam12")[:40, :30, None], 16, axis=2)
    _round_trip(sixteen, 0.3, bits=12)


def test_twelve_bit_costs_fewer_bytes_than_sixteen_bit_values(gray12):
    data = maskcodec.encode(gray12, 0.1, seed=1, bits=12)
    h = maskcodec.inspect(data)
    assert (h.bits, h.dtype) == (12, "uint16")
    assert len(data) < 0.75 * h.survivors * 2  # survivors stored as 16-bit values
    assert len(data) <= len(maskcodec.encode(gray12, 0.1, seed=1))


def test_same_input_same_bytes_across_processes(rgb8):
    code = ("import maskcodec,hashlib;"
            "print(hashlib.sha256(maskcodec.encode(maskcodec.sample_image('mastcam'),0.1,seed=77)).hexdigest())")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    import hashlib
    assert out == hashlib.sha256(maskcodec.encode(rgb8, 0.1, seed=77)).hexdigest()


def test_random_seed_is_stored(gray8):
    data = maskcodec.encode(gray8, 0.1)
    seed = maskcodec.inspect(data).seed
    assert maskcodec.encode(gray8, 0.1, seed=seed) == data


def test_inspect_and_metadata(gray8):
    data = maskcodec.encode(gray8, 0.05, seed=3, metadata={"product_id": "NLA_412233646EDR"})
    h = maskcodec.inspect(data)
    assert h.shape == gray8.shape and h.mode == "mask" and h.seed == 3
    assert h.survivors == int(maskcodec.mask(gray8.shape, 0.05, 3).sum())
    assert h.file_size == len(data) and h.metadata == {"product_id": "NLA_412233646EDR"}
    assert abs(h.keep - 0.05) < 1e-9


def test_import_does_not_pull_torch_or_onnxruntime():
    code = ("import sys, maskcodec; import numpy as np;"
            "maskcodec.encode(maskcodec.sample_image('navcam'), 0.1, seed=1);"
            "print('torch' in sys.modules, 'onnxruntime' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["False", "False"]


def test_classical_inpainters_selectable(rgb8):
    data = maskcodec.encode(rgb8, 0.1, seed=4)
    a = maskcodec.decode(data, inpainter="nconv")
    b = maskcodec.decode(data, inpainter="linear")
    assert (a != b).any()
    assert psnr(rgb8, a) > 24 and psnr(rgb8, b) > 24


BAD_IMAGES = [
    (np.zeros((8, 8), np.float32), "dtype"),
    (np.zeros((8, 8), np.int16), "dtype"),
    (np.zeros((8, 8), bool), "dtype"),
    (np.zeros(8, np.uint8), "shape"),
    (np.zeros((2, 8, 8, 3), np.uint8), "shape"),
    (np.zeros((0, 8), np.uint8), "no pixels"),
    (np.zeros((8, 8, 0), np.uint8), "channels"),
    (np.zeros((4, 4, 1025), np.uint8), "channels"),
    ([[1, 2], [3, 4]], "numpy array"),
]


@pytest.mark.parametrize("image,words", BAD_IMAGES)
def test_bad_images_are_clear_errors(image, words):
    with pytest.raises(maskcodec.InvalidInputError, match=words):
        maskcodec.encode(image, 0.1, seed=1)


@pytest.mark.parametrize("kw,words", [
    (dict(keep=0.0), "keep"), (dict(keep=1.5), "keep"), (dict(keep=-1), "keep"),
    (dict(keep=0.1, seed=-5), "seed"), (dict(keep=0.1, seed=2**40), "seed"),
    (dict(keep=0.1, bits=9), "bits"), (dict(keep=0.1, bits=0), "bits"),
])
def test_bad_arguments_are_clear_errors(gray8, kw, words):
    with pytest.raises(maskcodec.InvalidInputError, match=words):
        maskcodec.encode(gray8, seed=kw.pop("seed", 1), **kw)


def test_values_wider_than_bits(gray12):
    with pytest.raises(maskcodec.InvalidInputError, match="does not fit in bits=8"):
        maskcodec.encode(gray12, 0.1, seed=1, bits=8)


def test_decode_bad_arguments(gray8):
    data = maskcodec.encode(gray8, 0.1, seed=1)
    with pytest.raises(maskcodec.InvalidInputError, match="unknown inpainter"):
        maskcodec.decode(data, inpainter="nope")
    with pytest.raises(maskcodec.FormatError, match="expected bytes"):
        maskcodec.decode("not bytes")
    with pytest.raises(maskcodec.LimitExceededError, match="limit"):
        maskcodec.decode(data, limits=maskcodec.Limits(max_pixels=100))


def test_band_difference_chosen_when_it_saves_bytes():
    rng = np.random.default_rng(0)
    base = maskcodec.sample_image("navcam12")[:60, :70].astype(np.int32)
    correlated = np.stack([base + 3 * b + rng.integers(0, 3, base.shape) for b in range(12)], axis=2)
    correlated = correlated.astype(np.uint16)
    data = maskcodec.encode(correlated, 0.2, seed=1, bits=12)
    assert maskcodec.inspect(data).transform == 2
    _round_trip(correlated, 0.2, bits=12)
    independent = rng.integers(0, 4096, (60, 70, 5)).astype(np.uint16)
    assert maskcodec.inspect(maskcodec.encode(independent, 0.2, seed=1, bits=12)).transform in (0, 2)
    _round_trip(independent, 0.2, bits=12)


@pytest.mark.skipif(not (SHARED / "multispectral").exists(), reason="needs ../shared/data")
def test_real_multispectral_cube_round_trips():
    cube = np.load(SHARED / "multispectral" / "cassini_vims_titan_v1883935188_1.npy")  # (30, 30, 352) int16
    shifted = (cube.astype(np.int32) - cube.min()).astype(np.uint16)  # non-negative for an unsigned codec
    data, out = _round_trip(shifted, 0.25, bits=12)
    h = maskcodec.inspect(data)
    assert h.transform == 2
    from maskcodec.framing.zstd_frame import compress
    from maskcodec.survivors.scan import pack
    without = compress(pack(shifted[maskcodec.mask(shifted.shape, 0.25, 11)], 12, 0))
    assert h.payload_size < 0.9 * len(without)


def test_hostile_metadata_is_a_format_error():
    """JSON that Python's reader cannot take (integers past its digit limit, nesting past its recursion limit)
    is a FormatError like any other bad metadata, never a ValueError or RecursionError."""
    from maskcodec.framing.fixed import decode_metadata
    for raw in (b'{"a":' + b"1" * 5000 + b"}", b'{"a":' + b"[" * 100000 + b"]" * 100000 + b"}"):
        with pytest.raises(maskcodec.FormatError, match="metadata block"):
            decode_metadata(raw)
