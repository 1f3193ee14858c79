"""Write the blue-noise rank tile of mask kind 1 (spec/format.md section 5.2) into spec/bluenoise128.u16, once.

Run from the project root: ``python spec/make_bluenoise.py``. The tile is made by
Ulichney's void-and-cluster method (1993) on a 128 x 128 torus with a Gaussian
energy filter (sigma 1.5): every pixel gets a rank 0 .. 16383, and the pixels of
rank below K form a blue-noise pattern for every K. The file, not this script,
is normative (floating-point ties could in principle resolve differently on
another machine): the script refuses to overwrite a tile whose bytes differ.
The same bytes ship inside the package as ``maskcodec/bluenoise128.u16``.
"""
from __future__ import annotations

import hashlib
import sys
from pathlib import Path

import numpy as np

SIDE = 128
SIGMA = 1.5
INITIAL = 0.1    # share of minority pixels in the initial pattern
SEED = 20261201  # of the initial random pattern
OUT = (Path(__file__).resolve().parent / "bluenoise128.u16", Path(__file__).resolve().parents[1] / "maskcodec" /
       "bluenoise128.u16")


def _kernel() -> np.ndarray:
    d = np.minimum(np.arange(SIDE), SIDE - np.arange(SIDE)).astype(np.float64)  # toroidal distance to 0
    return np.exp(-(d[:, None] ** 2 + d[None, :] ** 2) / (2 * SIGMA ** 2))


class _Energy:
    """The Gaussian energy of a binary pattern on the torus, updated one pixel at a time."""

    def __init__(self, pattern: np.ndarray):
        self.k = _kernel()
        self.e = np.real(np.fft.ifft2(np.fft.fft2(pattern.astype(np.float64)) * np.fft.fft2(self.k)))

    def add(self, y: int, x: int, sign: float) -> None:
        self.e += sign * np.roll(self.k, (y, x), axis=(0, 1))


def _tightest(energy: _Energy, pattern: np.ndarray) -> tuple[int, int]:
    return np.unravel_index(np.argmax(np.where(pattern, energy.e, -np.inf)), pattern.shape)


def _largest_void(energy: _Energy, pattern: np.ndarray) -> tuple[int, int]:
    return np.unravel_index(np.argmin(np.where(pattern, np.inf, energy.e)), pattern.shape)


def rank_tile() -> np.ndarray:
    rng = np.random.default_rng(SEED)
    n = SIDE * SIDE
    pattern = np.zeros((SIDE, SIDE), bool)
    pattern.flat[rng.choice(n, int(INITIAL * n), replace=False)] = True
    energy = _Energy(pattern)
    while True:  # initial pattern: move the tightest cluster into the largest void until it stays put
        cy, cx = _tightest(energy, pattern)
        pattern[cy, cx] = False
        energy.add(cy, cx, -1.0)
        vy, vx = _largest_void(energy, pattern)
        pattern[vy, vx] = True
        energy.add(vy, vx, 1.0)
        if (vy, vx) == (cy, cx):
            break
    ranks = np.full((SIDE, SIDE), -1, np.int64)
    ones = int(pattern.sum())
    work, e = pattern.copy(), _Energy(pattern)
    for r in range(ones - 1, -1, -1):  # phase 1: remove tightest clusters, ranks below the initial count
        y, x = _tightest(e, work)
        work[y, x] = False
        e.add(y, x, -1.0)
        ranks[y, x] = r
    work, e = pattern.copy(), _Energy(pattern)
    for r in range(ones, n):  # phases 2 and 3: fill the largest voids, ranks from the initial count up
        y, x = _largest_void(e, work)
        work[y, x] = True
        e.add(y, x, 1.0)
        ranks[y, x] = r
    assert sorted(ranks.ravel().tolist()) == list(range(n))
    return ranks.astype("<u2")


def main() -> int:
    data = rank_tile().tobytes()
    for path in OUT:
        if path.exists() and path.read_bytes() != data:
            sys.exit(f"refusing to change {path}: the tile is normative once written")
        path.write_bytes(data)
    print(f"{OUT[0]}: sha256 {hashlib.sha256(data).hexdigest()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
