import shutil
import subprocess
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


# ------------------------------------------------------------------ the C99 flight core (flight/), built once

FLIGHT = Path(__file__).resolve().parent.parent / "flight"
RANKS = FLIGHT.parent / "spec" / "bluenoise128.u16"


def make_flight(folder: Path, *targets: str) -> subprocess.CompletedProcess:
    return subprocess.run(["make", "-C", str(folder), *targets, f"RANKS={RANKS}"], capture_output=True, text=True)


@pytest.fixture(scope="session")
def flight_build(tmp_path_factory) -> Path:
    """A copy of flight/ built with ``make all check`` (passed, warning-free): the checkout's flight/build is
    left alone. Skipped without gcc and make."""
    if shutil.which("gcc") is None or shutil.which("make") is None:
        pytest.skip("the flight core needs gcc and make")
    copy = tmp_path_factory.mktemp("flight") / "flight"
    shutil.copytree(FLIGHT, copy, ignore=shutil.ignore_patterns("build"))
    done = make_flight(copy, "all", "check")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "spec 5 test values ok" in done.stdout and "mcranked selftest: ranked coder ok" in done.stdout
    assert "warning" not in done.stderr
    return copy / "build"


@pytest.fixture(scope="session")
def flight_sanitized(flight_build) -> Path:
    """The folder of the AddressSanitizer and UBSan builds (``make sanitize`` passed: its self-tests and round
    trips); skipped where gcc cannot link the sanitizers."""
    folder = flight_build.parent
    done = make_flight(folder, "sanitize")
    if done.returncode != 0:
        probe = flight_build / "probe.c"
        probe.write_text("int main(void) { return 0; }\n")
        linked = subprocess.run(["gcc", "-fsanitize=address,undefined", "-o", str(probe.with_suffix("")), str(probe)],
                                capture_output=True)
        if linked.returncode != 0:
            pytest.skip("gcc here cannot link the address and undefined-behaviour sanitizers")
    assert done.returncode == 0, done.stdout + done.stderr
    return flight_build / "sanitize"
