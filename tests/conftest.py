from pathlib import Path

import numpy as np
import pytest

import maskcodec

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def rgb8() -> np.ndarray:
    return maskcodec.sample_image("mastcam")


@pytest.fixture(scope="session")
def gray8() -> np.ndarray:
    return maskcodec.sample_image("navcam")


@pytest.fixture(scope="session")
def gray12() -> np.ndarray:
    return maskcodec.sample_image("navcam12")
