"""The colour/band transform of the kept values (spec section 6.2), one definition for every coding.

A transform puts the ``C`` channels of the kept values in a *coding order* and
gives each channel a *reference*, the channel whose value it is coded against:

- ``0`` (none): channels in order, no reference;
- ``1`` (green difference, 3 channels): G, then R and B against G;
- ``2`` (band difference, 2 or more channels): bands in order, band ``c`` against band ``c - 1``.

:func:`forward` turns values into planes in coding order (a referenced
channel's plane is its difference from its reference, modulo a modulus), and
:func:`inverse` undoes it; scan coding works modulo ``2**bits``, segments
modulo their quantized RANGE. Predictive coding uses the same order and
references for its predictions (:func:`order`: a plane's prediction is
corrected by its reference channel's error).

Examples
--------
>>> v = np.array([[10, 20, 30], [11, 20, 29]])
>>> order(3, TRANSFORM_GREEN_DIFF)
[(1, None), (0, 1), (2, 1)]
>>> forward(v, TRANSFORM_GREEN_DIFF, 256).tolist()
[[20, 20], [246, 247], [10, 9]]
>>> bool((inverse(forward(v, TRANSFORM_GREEN_DIFF, 256), TRANSFORM_GREEN_DIFF, 256) == v).all())
True
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError

__all__ = ["TRANSFORM_NONE", "TRANSFORM_GREEN_DIFF", "TRANSFORM_BAND_DIFF", "TRANSFORMS", "candidate_transforms",
           "check_transform", "order", "forward", "inverse"]

TRANSFORM_NONE = 0
TRANSFORM_GREEN_DIFF = 1
TRANSFORM_BAND_DIFF = 2
TRANSFORMS = (TRANSFORM_NONE, TRANSFORM_GREEN_DIFF, TRANSFORM_BAND_DIFF)


def candidate_transforms(channels: int) -> tuple[int, ...]:
    """Transforms the encoder tries (keeping the one that compresses best).

    Green difference for 3 channels (RGB); for other multi-band images none
    and band difference, since neighbouring bands of a spectral cube are
    often, but not always, correlated.

    Examples
    --------
    >>> candidate_transforms(1), candidate_transforms(3), candidate_transforms(8)
    ((0,), (1,), (0, 2))
    """
    if channels == 3:
        return (TRANSFORM_GREEN_DIFF,)
    return (TRANSFORM_NONE,) if channels == 1 else (TRANSFORM_NONE, TRANSFORM_BAND_DIFF)


def check_transform(transform: int, channels: int) -> None:
    """Refuse a transform the spec does not define for ``channels`` (spec section 6.2)."""
    if transform not in TRANSFORMS:
        raise FormatError(f"transform {transform} is unknown; expected one of {TRANSFORMS}")
    if transform == TRANSFORM_GREEN_DIFF and channels != 3:
        raise FormatError(f"transform 1 (green difference) needs 3 channels, header has {channels}")
    if transform == TRANSFORM_BAND_DIFF and channels < 2:
        raise FormatError(f"transform 2 (band difference) needs 2 or more channels, header has {channels}")


def order(channels: int, transform: int) -> list[tuple[int, int | None]]:
    """The channels in coding order, each with its reference channel (None: coded on its own)."""
    if transform == TRANSFORM_GREEN_DIFF:
        return [(1, None), (0, 1), (2, 1)]
    if transform == TRANSFORM_BAND_DIFF:
        return [(0, None)] + [(c, c - 1) for c in range(1, channels)]
    return [(c, None) for c in range(channels)]


def forward(values: np.ndarray, transform: int, modulus: int) -> np.ndarray:
    """Planes ``(C, N)`` in coding order of the values ``(N, C)`` (integers in ``[0, modulus)``): each
    referenced channel as its difference from its reference, modulo ``modulus``."""
    v = values.T
    return np.stack([v[c] if ref is None else (v[c] - v[ref]) % modulus for c, ref in order(v.shape[0], transform)])


def inverse(planes: np.ndarray, transform: int, modulus: int) -> np.ndarray:
    """The values ``(N, C)`` whose :func:`forward` is ``planes`` (a transposed view of ``(C, N)`` planes)."""
    out = np.empty_like(planes)
    for plane, (c, ref) in zip(planes, order(planes.shape[0], transform)):  # a reference comes before its users
        out[c] = plane if ref is None else (plane + out[ref]) % modulus
    return out.T
