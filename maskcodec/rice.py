"""Rice codes in two bit streams, as predictive coding (spec section 6.5) and lean segments (11.3) write them.

A code ``z`` with parameter ``k`` has the quotient ``q = z >> k``. The *unary
stream* holds, per code, ``min(q, QMAX)`` zeros and a one; the *fixed-width
stream* holds the low ``k`` bits of ``z`` (most significant first) or, for an
escape (``q >= QMAX``), all of ``z`` in ``bits`` bits. Both streams are packed
most significant bit first. Keeping them apart is what lets a decoder find every
code with array operations: the ones of the unary stream give the quotients,
the quotients give the widths, the widths give every field's position.
"""
from __future__ import annotations

import numpy as np

from .errors import FormatError
from .format.header import fail_if

__all__ = ["QMAX", "zigzag", "unzigzag", "code_costs", "streams", "quotients", "fields", "check_fixed_end"]

QMAX = 16  # a Rice quotient of 16 or more is an escape: 16 zeros, a one, then the code in `bits` bits


def zigzag(e: np.ndarray) -> np.ndarray:
    """Signed residuals -> Rice codes: ``0, -1, 1, -2, 2, ...`` -> ``0, 1, 2, 3, 4, ...``.

    >>> zigzag(np.array([0, -1, 1, -2])).tolist(), unzigzag(np.array([0, 1, 2, 3])).tolist()
    ([0, 1, 2, 3], [0, -1, 1, -2])
    """
    return np.where(e >= 0, 2 * e, -2 * e - 1)


def unzigzag(z: np.ndarray) -> np.ndarray:
    """Invert :func:`zigzag`."""
    return np.where(z & 1, -((z + 1) >> 1), z >> 1)


def code_costs(z: np.ndarray, k: int, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The unary and fixed-width bits of each code ``z`` under parameter ``k``."""
    q = z >> k
    return np.minimum(q, QMAX) + 1, np.where(q >= QMAX, bits, k)


def streams(z: np.ndarray, k: np.ndarray, bits: int) -> tuple[bytes, bytes]:
    """The packed unary and fixed-width streams of the codes ``z`` with parameters ``k`` (one per code)."""
    q = z >> k
    unary = np.zeros(int(np.minimum(q, QMAX).sum()) + z.size, bool)
    unary[np.cumsum(np.minimum(q, QMAX) + 1) - 1] = True
    escape = q >= QMAX
    width = np.where(escape, bits, k)
    field = np.where(escape, z, z & ((1 << k) - 1))
    top = int(width.max(initial=0))
    place = np.arange(top - 1, -1, -1)  # bit i of a field of width w sits at column top - w + i
    fixed = ((field[:, None] >> place) & 1)[place < width[:, None]].astype(bool)
    return np.packbits(unary).tobytes(), np.packbits(fixed).tobytes()


def quotients(unary: np.ndarray, symbols: int) -> np.ndarray:
    """The quotients of a unary stream (uint8 bytes) that must hold exactly ``symbols`` codes, checked:
    code count, no whole byte of padding after the last code, no run longer than QMAX zeros."""
    ones = np.flatnonzero(np.unpackbits(unary))
    fail_if(ones.size != symbols, FormatError, f"unary stream holds {ones.size} codes, expected {symbols}")
    fail_if(unary.size != 0 and (symbols == 0 or ones[-1] < 8 * (unary.size - 1)), FormatError,
            "unary stream has a whole byte of padding after its last code")
    q = np.diff(ones, prepend=-1) - 1
    fail_if(bool((q > QMAX).any()), FormatError, f"a unary code is longer than {QMAX} zeros")
    return q


def fields(stream: np.ndarray, size: int, pos: int, width: np.ndarray, where: str) -> tuple[np.ndarray, int]:
    """Fields of ``width`` bits read from bit ``pos`` of a fixed-width stream of ``size`` bytes (``stream``:
    its bytes as int64, followed by 3 zero bytes), and the bit position after them."""
    start = pos + np.cumsum(width) - width
    end = pos + int(width.sum())
    fail_if(end > 8 * size, FormatError, f"fixed-width stream ends after {8 * size} bits, inside {where}")
    b = start >> 3
    word = (stream[b] << 16) | (stream[b + 1] << 8) | stream[b + 2]
    return (word >> (24 - (start & 7) - width)) & ((1 << width) - 1), end


def check_fixed_end(stream: np.ndarray, size: int, pos: int) -> None:
    """After the last field at bit ``pos``: at most 7 padding bits, all zero."""
    fail_if(8 * size - pos >= 8, FormatError,
            f"fixed-width stream has {8 * size - pos} bits after its last code; at most 7 bits of padding")
    fail_if(pos < 8 * size and int(stream[pos >> 3]) & ((1 << (8 - (pos & 7))) - 1) != 0, FormatError,
            "padding bits after the last fixed-width code are not zero")
