"""The C99 flight mask (flight/) against the Python reference (maskcodec.masks), bit for bit.

flight/ is copied to a temporary folder and built there (``make all check`` and ``make sanitize``), so the
checkout's flight/build is left alone. ``mcmask -c`` prints the kept pixels (scan-order index and key) and
checks, row by row, that its three ways of finding them agree (the workspace fast path, the tile-row scan and
every pixel's key); the test compares the lines with ``kept_indices`` and ``keys_at``.
"""
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from maskcodec.masks import keep_to_threshold, kept_indices, keys_at

RANKS = Path(__file__).resolve().parent.parent / "spec" / "bluenoise128.u16"

KINDS = {0: "hash", 1: "bluenoise"}
SHAPES = [(1, 1), (3, 200), (127, 129), (300, 257), (130, 256), (9, 1000), (2, 77)]
KEEPS = [0.001, 0.1, 0.5, 1.0]
SEEDS = [0, 7, 2**32 - 1]


@pytest.fixture
def flight(flight_build) -> Path:
    """The built copy of flight/ (``make all check`` passed)."""
    return flight_build.parent


@pytest.fixture
def sanitized(flight_sanitized) -> Path:
    """mcmask built with AddressSanitizer and UBSan (``make sanitize`` passed)."""
    return flight_sanitized / "mcmask"


def _c_kept(binary: Path, kind: int, h: int, w: int, threshold: int, seed: int) -> np.ndarray:
    done = subprocess.run([str(binary), "-c", str(kind), str(h), str(w), str(threshold), str(seed), str(RANKS)],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return np.array(done.stdout.split(), dtype=np.int64).reshape(-1, 2)


def _compare(binary: Path, kind: int, h: int, w: int, keep: float, seed: int) -> None:
    threshold = keep_to_threshold(keep)
    got = _c_kept(binary, kind, h, w, threshold, seed)
    idx = kept_indices(h, w, threshold, seed, KINDS[kind])
    assert np.array_equal(got[:, 0], idx), (kind, h, w, keep, seed)
    assert np.array_equal(got[:, 1], keys_at(idx, w, seed, KINDS[kind]).astype(np.int64)), (kind, h, w, keep, seed)
    assert (got[:, 1] <= threshold).all()


@pytest.mark.parametrize("kind", sorted(KINDS))
@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"{s[0]}x{s[1]}")
def test_flight_mask_matches_python(flight, kind, shape):
    for keep in KEEPS:
        for seed in SEEDS:
            _compare(flight / "build" / "mcmask", kind, *shape, keep, seed)


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_flight_mask_sanitized(sanitized, kind):
    for shape in SHAPES:
        for keep in (0.001, 1.0):
            _compare(sanitized, kind, *shape, keep, 2**32 - 1)


def test_flight_every_key(flight):
    """keep 1.0 lists every pixel: the C key of every pixel is Python's (so key <= T keeps the same pixels)."""
    for kind, name in KINDS.items():
        got = _c_kept(flight / "build" / "mcmask", kind, 131, 259, 2**32 - 1, 12345)
        assert np.array_equal(got[:, 0], np.arange(131 * 259))
        assert np.array_equal(got[:, 1], keys_at(np.arange(131 * 259), 259, 12345, name).astype(np.int64))


def test_flight_refuses_bad_input(flight):
    mcmask = str(flight / "build" / "mcmask")
    for args in (["2", "4", "4", "0", "0", str(RANKS)], ["1", "4", "4", "0", "0", "-"], ["0", "0", "4", "0", "0", "-"],
                 ["0", "4", "4", str(2**32), "0", "-"], ["1", "4", "4", "0", "0", str(flight / "Makefile")]):
        assert subprocess.run([mcmask, *args], capture_output=True).returncode == 2, args


@pytest.mark.skipif(shutil.which("gcc") is None, reason="needs gcc")
def test_every_c_source_compiles_alone_without_a_warning():
    # what a flight-software team's first check does: each file by itself, no include path, warnings as errors
    sources = sorted(RANKS.parent.parent.joinpath("flight").rglob("*.c"))
    assert len(sources) >= 6
    for source in sources:
        done = subprocess.run(["gcc", "-std=c99", "-Wall", "-Wextra", "-Wpedantic", "-Werror", "-fsyntax-only",
                               str(source)], capture_output=True, text=True)
        assert done.returncode == 0 and not done.stderr, (source.name, done.stderr)
