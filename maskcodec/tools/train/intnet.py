"""The integer hyper-decoder, computed exactly with numpy integers: the reference for the spec.

Whatever picks a latent's entropy table must be computed bit-identically on
every machine, so the hyper-decoder of the latent-mode hyperprior model
(:mod:`maskcodec.tools.train.hyperprior`) is an integer network. This module
is the whole definition, in integers only (no floating point anywhere):

Input
    ``z_hat``: the decoded hyper-latent, integers ``(Cz, h, w)``, clamped to
    ``[ZMIN, ZMAX] = [-1024, 1023]`` (11-bit signed). Its fractional bits are ``f_0 = 0``.

Layer ``k`` (k = 1, 2, 3)
    int8 weights ``W`` in ``[-127, 127]``, an int32 bias ``B``, and per output
    channel ``c`` a right shift ``s[c] >= 0``::

        acc[c, y, x] = B[c] + sum W * a          (int32; export checks the worst case fits)
        out[c, y, x] = rshift(acc, s[c])
        rshift(v, s) = (v + 2**(s-1)) >> s  if s > 0   (arithmetic shift: floor division,
                     = v                    if s == 0   so ties round towards +infinity)

    Layers 1 and 2 are 5x5 transposed convolutions, stride 2, doubling each
    side: ``out[o, 2i + dy - 2, 2j + dx - 2] += W[ci, o, dy, dx] * a[ci, i, j]``
    for the output positions inside ``[0, 2h) x [0, 2w)`` (anything landing
    outside is dropped; this is PyTorch's ``padding=2, output_padding=1``).
    Their outputs are ReLU'd and saturated to unsigned 8 bits:
    ``a_k = clamp(out, 0, 255)``, read as fixed point with ``F_HIDDEN = 4``
    fractional bits.

    Layer 3 is a 3x3 convolution (cross-correlation), stride 1, zero padding of
    1: ``out[o, y, x] = B[o] + sum W[o, ci, dy, dx] * a[ci, y + dy - 1, x + dx - 1]``.
    Its ``2M`` output channels are, first, ``M`` scale indices
    ``idx = clamp(out, 0, S - 1)`` (0 fractional bits), then ``M`` means
    ``mean = clamp(out, MEAN_MIN, MEAN_MAX)`` in units of ``2**-F_MEAN``
    (``F_MEAN = 5``: 1/32) with ``[MEAN_MIN, MEAN_MAX] = [-32768, 32767]``
    (so means span -1024 .. 1023.97).

Scale table (only used to build the integer CDF tables at export, never on the decode path)
    ``sigma_i = exp(ln(SCALE_MIN) + i * (ln(SCALE_MAX) - ln(SCALE_MIN)) / (S - 1))``,
    ``i = 0 .. S - 1``, ``S = 64``, ``SCALE_MIN = 0.11``, ``SCALE_MAX = 64``.

The coder then sends ``r = round(y_gained - mean / 32)`` with the discretized
Gaussian table ``idx`` and the decoder rebuilds ``y_gained_hat = r + mean / 32``.

The float weight a layer was trained with is ``W * 2**-e[c]``; the shift is
``s[c] = f_in + e[c] - f_out[c]`` and the bias is in units of ``2**-(f_in + e[c])``.
Only ``W``, ``B`` and ``s`` are needed to decode.
"""
from __future__ import annotations

import numpy as np

__all__ = ["ZMIN", "ZMAX", "F_HIDDEN", "F_MEAN", "S", "SCALE_MIN", "SCALE_MAX", "HIDDEN_MAX", "MEAN_MIN", "MEAN_MAX",
           "WMAX", "rshift", "tconv5_s2", "conv3", "hyper_decode", "scale_table", "check_bounds"]

ZMIN, ZMAX = -1024, 1023
F_HIDDEN = 4
HIDDEN_MAX = 255
F_MEAN = 5
MEAN_MIN, MEAN_MAX = -32768, 32767
S = 64
SCALE_MIN, SCALE_MAX = 0.11, 64.0
WMAX = 127
ACC_LIMIT = 2 ** 31 - 1


def scale_table() -> np.ndarray:
    """The ``S`` Gaussian scales the indices pick (float64; for building tables, not for decoding)."""
    return np.exp(np.log(SCALE_MIN) + np.arange(S) * (np.log(SCALE_MAX) - np.log(SCALE_MIN)) / (S - 1))


def rshift(v: np.ndarray, s: np.ndarray) -> np.ndarray:
    """``(v + 2**(s-1)) >> s`` per channel (axis 0) for ``s > 0``, ``v`` for ``s == 0``.

    >>> rshift(np.array([[5, 6, 7, -5, -6, -7]]), np.array([2])).tolist()
    [[1, 2, 2, -1, -1, -2]]
    """
    s = np.asarray(s, np.int64).reshape((-1,) + (1,) * (v.ndim - 1))
    half = np.where(s > 0, np.left_shift(np.int64(1), np.maximum(s - 1, 0)), 0)
    return np.right_shift(v.astype(np.int64) + half, s)


def tconv5_s2(a: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer 5x5 stride-2 transposed convolution: ``a (Cin, h, w)``, ``w (Cin, Cout, 5, 5)`` -> ``(Cout, 2h, 2w)``
    accumulators (int64 holding int32 values)."""
    cin, h, wd = a.shape
    cout = w.shape[1]
    a = a.astype(np.int64)
    full = np.zeros((cout, 2 * h + 4, 2 * wd + 4), np.int64)
    for dy in range(5):
        for dx in range(5):
            contrib = np.tensordot(w[:, :, dy, dx].astype(np.int64), a, axes=([0], [0]))  # (Cout, h, w)
            full[:, dy:dy + 2 * h:2, dx:dx + 2 * wd:2] += contrib
    return full[:, 2:2 + 2 * h, 2:2 + 2 * wd] + b.astype(np.int64)[:, None, None]


def conv3(a: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Integer 3x3 convolution, zero padding 1: ``a (Cin, h, w)``, ``w (Cout, Cin, 3, 3)`` -> ``(Cout, h, w)``."""
    cin, h, wd = a.shape
    pad = np.zeros((cin, h + 2, wd + 2), np.int64)
    pad[:, 1:-1, 1:-1] = a
    out = np.zeros((w.shape[0], h, wd), np.int64)
    for dy in range(3):
        for dx in range(3):
            out += np.tensordot(w[:, :, dy, dx].astype(np.int64), pad[:, dy:dy + h, dx:dx + wd], axes=([1], [0]))
    return out + b.astype(np.int64)[:, None, None]


def _checked(acc: np.ndarray) -> np.ndarray:
    if np.abs(acc).max(initial=0) > ACC_LIMIT:
        raise OverflowError("accumulator left int32")
    return acc


def hyper_decode(z_hat: np.ndarray, net: dict) -> tuple[np.ndarray, np.ndarray]:
    """Scale indices ``(M, 4h, 4w)`` (int64 in ``0..S-1``) and means ``(M, 4h, 4w)`` (int64, units 1/32) from
    ``z_hat (Cz, h, w)`` and the exported integer network ``net`` (keys ``w1 b1 s1 w2 b2 s2 w3 b3 s3``)."""
    a = np.clip(np.asarray(z_hat, np.int64), ZMIN, ZMAX)
    a = np.clip(rshift(_checked(tconv5_s2(a, net["w1"], net["b1"])), net["s1"]), 0, HIDDEN_MAX)
    a = np.clip(rshift(_checked(tconv5_s2(a, net["w2"], net["b2"])), net["s2"]), 0, HIDDEN_MAX)
    out = rshift(_checked(conv3(a, net["w3"], net["b3"])), net["s3"])
    m = out.shape[0] // 2
    return np.clip(out[:m], 0, S - 1), np.clip(out[m:], MEAN_MIN, MEAN_MAX)


def check_bounds(net: dict) -> int:
    """The largest accumulator any input could produce (worst case over all inputs); raises when it could leave
    int32. A transposed 5x5 stride-2 output sees at most 3x3 taps per input channel."""
    worst = 0
    for k, amax, taps in ((1, max(-ZMIN, ZMAX), "t"), (2, HIDDEN_MAX, "t"), (3, HIDDEN_MAX, "c")):
        w, b = np.abs(net[f"w{k}"].astype(np.int64)), np.abs(net[f"b{k}"].astype(np.int64))
        if taps == "t":  # per output channel: the 3x3 phase with the largest |W| sum, summed over inputs
            per = max(w[:, :, py::2, px::2].sum(axis=(0, 2, 3)).max() for py in (0, 1) for px in (0, 1))
            bound = int(per * amax + b.max())
        else:
            bound = int(w.sum(axis=(1, 2, 3)).max() * amax + b.max())
        worst = max(worst, bound)
    if worst > ACC_LIMIT:
        raise OverflowError(f"worst-case accumulator {worst} leaves int32")
    return worst
