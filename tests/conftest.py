from pathlib import Path

import numpy as np
import pytest

import maskcodec
import maskcodec.runtime.manifest
import maskcodec.runtime.onnx

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def encoder_output():
    """A function: the float32 latent ``(K, h, w)`` of a latent model's encoder half for an image, run
    directly with onnxruntime (the image scaled by its dtype's maximum and padded as latent mode pads it)."""
    def run(image: np.ndarray, model_id: str) -> np.ndarray:
        import onnxruntime as ort
        entry = maskcodec.runtime.manifest.load().get(model_id)
        x = image.reshape(*image.shape[:2], -1).astype(np.float32) / np.float32(np.iinfo(image.dtype).max)
        path = maskcodec.runtime.manifest.models_dir() / entry.encoder.file
        sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
        return sess.run(None, {"image": maskcodec.runtime.onnx.pad(x, entry.factor).transpose(2, 0, 1)[None]})[0][0]
    return run


@pytest.fixture(scope="session")
def rgb8() -> np.ndarray:
    return maskcodec.sample_image("mastcam")


@pytest.fixture(scope="session")
def gray8() -> np.ndarray:
    return maskcodec.sample_image("navcam")


@pytest.fixture(scope="session")
def gray12() -> np.ndarray:
    return maskcodec.sample_image("navcam12")
