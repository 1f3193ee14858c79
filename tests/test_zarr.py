"""maskcodec as a Zarr chunk codec: numcodecs config, Zarr v3 serializer, Zarr v2-format compressor."""
import json

import numpy as np
import pytest

import maskcodec
from maskcodec.errors import InvalidInputError, ModelError

numcodecs = pytest.importorskip("numcodecs")
from maskcodec.integrations.zarr_codec import CODEC_ID, Maskcodec

KEEP, SEED = 0.2, 3


@pytest.fixture(scope="module")
def stack() -> np.ndarray:
    """Three real 8-bit frames: two crops of the bundled Navcam frame and the panorama's green band."""
    navcam = maskcodec.sample_image("navcam")
    pano = maskcodec.sample_image("mastcam_pano")[..., 1]
    h, w = pano.shape
    return np.stack([navcam[:h, :w], navcam[-h:, -w:], pano])


@pytest.fixture
def fake_model(tmp_path, monkeypatch):
    """A manifest that lists one model, so that the config records its id and hash."""
    entry = {"id": "gray-test", "file": "gray-test.onnx", "sha256": "ab" * 32, "channels": 1, "input": "masked"}
    (tmp_path / "manifest.json").write_text(json.dumps({"models": [entry]}))
    monkeypatch.setenv("MASKCODEC_MODELS", str(tmp_path))
    return entry


def kept_exact(back: np.ndarray, stack: np.ndarray) -> bool:
    m = maskcodec.mask(stack.shape[1:], KEEP, SEED)
    return back.shape == stack.shape and bool((back[:, m] == stack[:, m]).all())


def test_config_round_trip():
    codec = Maskcodec(keep=KEEP, seed=SEED, bits=12, inpainter="nconv")
    config = codec.get_config()
    assert config == {"id": CODEC_ID, "keep": KEEP, "seed": SEED, "bits": 12, "inpainter": "nconv",
                      "model_id": None, "model_sha256": None}
    assert Maskcodec.from_config(json.loads(json.dumps(config))) == codec
    assert numcodecs.get_codec(config) == codec  # registered with numcodecs


def test_config_records_the_model_and_refuses_another(fake_model):
    codec = Maskcodec(inpainter="gray-test")
    assert codec.get_config()["model_id"] == "gray-test"
    assert codec.get_config()["model_sha256"] == fake_model["sha256"]
    stored = dict(codec.get_config(), model_sha256="cd" * 32)  # a store written with another model
    with pytest.raises(ModelError, match="gray-test"):
        Maskcodec.from_config(stored).decode(Maskcodec(inpainter="nconv").encode(maskcodec.sample_image("navcam")))


@pytest.mark.parametrize("kwargs", [{"keep": 0}, {"seed": -1}, {"bits": 17}, {"inpainter": "no-such-model"}])
def test_bad_parameters_are_refused(kwargs):
    with pytest.raises(InvalidInputError):
        Maskcodec(**kwargs)


@pytest.mark.parametrize("shape", ["stack", "image", "color"])
def test_chunk_shapes_round_trip_and_fill_out(shape, stack):
    chunk = {"stack": stack[:1], "image": stack[0], "color": maskcodec.sample_image("mastcam")[None]}[shape]
    codec = Maskcodec(keep=KEEP, seed=SEED, inpainter="nconv")
    data = codec.encode(chunk)
    assert maskcodec.inspect(data).metadata["chunk_shape"] == list(chunk.shape)
    out = np.zeros_like(chunk)
    assert codec.decode(data, out=out) is out
    m = maskcodec.mask(chunk.shape[-3:-1] if shape == "color" else chunk.shape[-2:], KEEP, SEED)
    image = out.reshape(out.shape[-3:] if shape == "color" else out.shape[-2:])
    source = chunk.reshape(image.shape)
    assert np.array_equal(image[m], source[m])


def test_chunk_of_several_images_is_refused(stack):
    with pytest.raises(InvalidInputError, match="one image"):
        Maskcodec().encode(stack[:2, None])


def test_zarr_v3_serializer(tmp_path, stack):
    zarr = pytest.importorskip("zarr", minversion="3.1")
    from maskcodec.integrations.zarr_codec import MaskcodecZarr
    codec = MaskcodecZarr(keep=KEEP, seed=SEED, inpainter="nconv")
    assert MaskcodecZarr.from_dict(codec.to_dict()) == codec
    z = zarr.create_array(tmp_path / "s.zarr", shape=stack.shape, chunks=(1, *stack.shape[1:]), dtype=stack.dtype,
                          serializer=codec, compressors=None)
    z[:] = stack
    meta = json.loads((tmp_path / "s.zarr" / "zarr.json").read_text())
    assert meta["codecs"] == [codec.to_dict()]
    back = zarr.open_array(tmp_path / "s.zarr", mode="r")[:]
    assert kept_exact(back, stack)
    stored = sum(p.stat().st_size for p in (tmp_path / "s.zarr").rglob("c/*/*/*"))
    assert stored < stack.nbytes / 2


def test_zarr_v2_format_compressor(tmp_path, stack):
    zarr = pytest.importorskip("zarr", minversion="3.1")
    z = zarr.create_array(tmp_path / "s2.zarr", shape=stack.shape, chunks=(1, *stack.shape[1:]), dtype=stack.dtype,
                          compressors=Maskcodec(keep=KEEP, seed=SEED, inpainter="nconv"), zarr_format=2)
    z[:] = stack
    back = zarr.open_array(tmp_path / "s2.zarr", mode="r")[:]
    assert kept_exact(back, stack)


def test_zarr_refuses_other_dtypes(tmp_path):
    zarr = pytest.importorskip("zarr", minversion="3.1")
    from maskcodec.integrations.zarr_codec import MaskcodecZarr
    with pytest.raises(InvalidInputError, match="uint8 or uint16"):
        zarr.create_array(tmp_path / "f.zarr", shape=(2, 8, 8), chunks=(1, 8, 8), dtype="float32",
                          serializer=MaskcodecZarr(), compressors=None)
