"""Rice codes in two bit streams: the one Rice block that predictive coding (spec section 6.5) and lean
segments (11.3) write.

A *block* is the Rice parameter of each group of codes (one byte each), the
unary stream's size in bytes (u32 in a predictive payload, u16 in a segment),
the unary stream and the fixed-width stream (:func:`block`, :class:`BlockReader`).

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

from ..errors import FormatError

__all__ = ["QMAX", "zigzag", "unzigzag", "code_costs", "streams", "block", "least_block_size", "BlockReader"]

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
    if ones.size != symbols:
        raise FormatError(f"unary stream holds {ones.size} codes, expected {symbols}")
    if unary.size != 0 and (symbols == 0 or ones[-1] < 8 * (unary.size - 1)):
        raise FormatError("unary stream has a whole byte of padding after its last code")
    q = np.diff(ones, prepend=-1) - 1
    if bool((q > QMAX).any()):
        raise FormatError(f"a unary code is longer than {QMAX} zeros")
    return q


def _fields(stream: np.ndarray, size: int, pos: int, width: np.ndarray, where: str) -> tuple[np.ndarray, int]:
    """Fields of ``width`` bits read from bit ``pos`` of a fixed-width stream of ``size`` bytes (``stream``:
    its bytes as int64, followed by 3 zero bytes), and the bit position after them."""
    start = pos + np.cumsum(width) - width
    end = pos + int(width.sum())
    if end > 8 * size:
        raise FormatError(f"fixed-width stream ends after {8 * size} bits, inside {where}")
    b = start >> 3
    word = (stream[b] << 16) | (stream[b + 1] << 8) | stream[b + 2]
    return (word >> (24 - (start & 7) - width)) & ((1 << width) - 1), end


def block(z: np.ndarray, group: np.ndarray, table: np.ndarray, bits: int, size_bytes: int) -> bytes:
    """A Rice block: ``table`` (each group's parameter, one byte each), the unary stream's size in
    ``size_bytes`` bytes (little-endian), the unary and the fixed-width streams of the codes ``z``, code ``i``
    with the parameter of its group ``group[i]``."""
    unary, fixed = streams(z, table[group], bits)
    return table.astype(np.uint8).tobytes() + len(unary).to_bytes(size_bytes, "little") + unary + fixed


def least_block_size(groups: int, codes: int, size_bytes: int) -> int:
    """The fewest bytes a block of ``codes`` codes in ``groups`` groups can have: its table, the unary
    stream's size and one unary bit per code (a header can be checked against it before any decoding).

    >>> least_block_size(27, 300, 4)
    69
    """
    return groups + size_bytes + -(-codes // 8)


class BlockReader:
    """Reads the codes of a Rice block (:func:`block`) in order, checking every field.

    The table and the unary stream are checked when the reader is made (each parameter at most
    ``bits``, the unary stream inside the block and holding exactly ``codes`` codes); :meth:`take`
    reads the next codes with their parameters, :meth:`finish` checks the padding after the last.
    """

    def __init__(self, data: bytes, groups: int, codes: int, bits: int, size_bytes: int, where: str):
        if len(data) < groups + size_bytes:
            raise FormatError(f"{where}: {len(data)} bytes, fewer than its {groups} Rice parameters and the "
                              f"{size_bytes}-byte unary size")
        self.table = np.frombuffer(data, np.uint8, groups).astype(np.int64)
        if bool((self.table > bits).any()):
            raise FormatError(f"{where}: Rice parameter {int(self.table.max())} exceeds bits={bits}")
        size = int.from_bytes(data[groups:groups + size_bytes], "little")
        rest = len(data) - groups - size_bytes
        if size > rest:
            raise FormatError(f"{where}: unary stream of {size} bytes runs past its end ({rest} bytes left)")
        self._q = quotients(np.frombuffer(data, np.uint8, size, groups + size_bytes), codes)
        self._fixed = np.frombuffer(data, np.uint8, offset=groups + size_bytes + size)
        self._stream = np.concatenate([self._fixed, np.zeros(3, np.uint8)]).astype(np.int64)
        self._bits, self._where = bits, where
        self._code, self._pos = 0, 0

    def take(self, count: int, k) -> np.ndarray:
        """The next ``count`` codes, read with parameters ``k`` (one, or one per code)."""
        q = self._q[self._code:self._code + count]
        self._code += count
        escape = q == QMAX
        field, self._pos = _fields(self._stream, self._fixed.size, self._pos, np.where(escape, self._bits, k),
                                   f"the codes of {self._where}")
        return np.where(escape, field, (q << k) | field)

    @property
    def used(self) -> int:
        """Bytes of the fixed-width stream the codes read so far take (the rest is padding)."""
        return (self._pos + 7) // 8

    def finish(self, padded: bool = False) -> None:
        """After the last code: at most 7 padding bits, all zero; ``padded``: any number of zero bytes may
        follow (a segment's zero padding)."""
        size, pos = (self.used if padded else self._fixed.size), self._pos
        if padded and bool(self._fixed[size:].any()):
            raise FormatError(f"{self._where}: padding after the codes is not zero")
        if 8 * size - pos >= 8:
            raise FormatError(f"{self._where}: fixed-width stream has {8 * size - pos} bits after its last code; "
                              f"at most 7 bits of padding")
        if pos < 8 * size and int(self._stream[pos >> 3]) & ((1 << (8 - (pos & 7))) - 1) != 0:
            raise FormatError(f"{self._where}: padding bits after the last fixed-width code are not zero")
