"""The rANS core (spec section 12.5): interleaved range coding of integer symbols over lanes, integers only.

A *coder* is the policy that picks each symbol's table (:mod:`.context`, coder 3);
this module is what every coder shares: tables flattened for vectorized
coding (:class:`FlatTables`), the interleaved encoder over lanes (32-bit state,
16-bit words) and its decoder, the payload's framing (channel map, escaped
values, initial states, words) and ideal code lengths. Everything is integer
arithmetic on fixed tables, so the bytes and the decoded values are the same on
every machine; nothing is recomputed from floating-point model parameters.

Payload (all little-endian)::

    channel map (ceil(K/8) bytes, bit c = channel c is coded) | u32 E | E x i16 escaped values
    | K' x u32 initial decoder states of the coded channels | u16 words
"""
from __future__ import annotations

import numpy as np

from ..errors import FormatError, InvalidInputError, ModelError

__all__ = ["STATE_LOW", "WORD_BITS", "MAX_PRECISION", "INT16", "integer", "check_tables", "tables_json",
           "FlatTables", "encode_lanes", "LaneDecoder", "corrupted", "check_int16", "pack", "unpack", "lengths"]

STATE_LOW = 1 << 16                    # L: a decoder state lies in [L, 2^32) between symbols
WORD_BITS = 16
MAX_PRECISION = 16
INT16 = (-(1 << 15), (1 << 15) - 1)


def integer(v) -> int:
    """A JSON integer as it is (no rounding of 1.5, no parsing of "3")."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{v!r} is not an integer")
    return v


def check_tables(n, lows, freqs, what: str) -> None:
    """The precision (an integer 1..16), one low per table, and each table: at least 2 entries, each >= 1,
    summing to 2**n, its values inside int16."""
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_PRECISION:
        raise ModelError(f"range-coder precision must be an integer from 1 to {MAX_PRECISION}, got {n!r}")
    if not freqs or len(lows) != len(freqs):
        raise ModelError(f"range-coder tables need one low value per {what}: {len(lows)} lows for "
                         f"{len(freqs)} tables")
    for c, (low, f) in enumerate(zip(lows, freqs)):
        if len(f) < 2 or min(f) < 1 or sum(f) != 1 << n:
            raise ModelError(f"frequency table of {what} {c} must have at least 2 entries, each >= 1, "
                             f"summing to 2**{n}; got {len(f)} entries summing to {sum(f)}")
        if not INT16[0] <= low <= low + len(f) - 2 <= INT16[1]:
            raise ModelError(f"table of {what} {c} covers {low}..{low + len(f) - 2}, outside int16")


def tables_json(d: dict, key: str) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """The lows and frequencies of the list of ``{"low", "freqs"}`` objects ``d[key]``."""
    return (tuple(integer(t["low"]) for t in d[key]),
            tuple(tuple(integer(v) for v in t["freqs"]) for t in d[key]))


class FlatTables:
    """A list of tables flattened for vectorized coding: table ``j``'s symbol ``i`` at ``base[j] + i``."""

    def __init__(self, precision: int, lows, freqs):
        self.precision = precision
        self.lows = np.asarray(lows, np.int64)
        self.escape = np.array([len(f) - 1 for f in freqs], np.int64)    # each table's escape symbol
        self.base = np.cumsum(np.concatenate([[0], self.escape + 1]))[:-1].astype(np.int64)
        self.freq = np.array([v for f in freqs for v in f], np.int64)
        self.start = np.array([v for f in freqs for v in np.concatenate([[0], np.cumsum(f[:-1])])], np.int64)
        self._lut = None

    def symbols(self, table: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per value (coded with ``table``) its index in the flat tables, and the mask of escaped values."""
        local = values - self.lows[table]
        escaped = (local < 0) | (local >= self.escape[table])
        return self.base[table] + np.where(escaped, self.escape[table], local), escaped

    def lookup(self, table: np.ndarray, slot: np.ndarray) -> np.ndarray:
        """The flat index of the symbol whose range holds ``slot`` in each ``table`` (one look-up table
        of ``2**precision`` entries per table, built on first use)."""
        if self._lut is None:
            n = 1 << self.precision
            lut = np.empty((len(self.escape), n), np.int32)
            for j, (b, e) in enumerate(zip(self.base, self.escape)):
                lut[j] = b + np.repeat(np.arange(e + 1), self.freq[b:b + e + 1])
            self._lut = lut
        return self._lut[table, slot].astype(np.int64)


def encode_lanes(freq: np.ndarray, start: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved rANS over lanes (rows) and positions (columns) of symbol frequencies and starts: the final
    encoder states and the word stream in decoder order (spec 12.5.2)."""
    k, p = freq.shape
    f, s = freq.astype(np.uint64), start.astype(np.uint64)
    x = np.full(k, STATE_LOW, np.uint64)
    words: list[np.ndarray] = []
    for t in range(p - 1, -1, -1):  # backwards; within a step, lanes K'-1 .. 0
        ft = f[:, t]
        emit = x >= (ft << np.uint64(32 - n))
        if emit.any():
            words.append((x[emit] & np.uint64(0xFFFF))[::-1])
            x[emit] >>= np.uint64(WORD_BITS)
        x = ((x // ft) << np.uint64(n)) + x % ft + s[:, t]
    stream = np.concatenate(words)[::-1] if words else np.zeros(0, np.uint64)
    return x, stream


class LaneDecoder:
    """The decoder side of :func:`_encode_lanes`: one step decodes a symbol on every lane."""

    def __init__(self, flat: FlatTables, x: np.ndarray, words: np.ndarray):
        self.flat, self.x, self.words, self.pos = flat, x, words, 0
        self.mask, self.n = np.uint64((1 << flat.precision) - 1), np.uint64(flat.precision)

    def slots(self) -> np.ndarray:
        return (self.x & self.mask).astype(np.int64)

    def advance(self, sym: np.ndarray, slot: np.ndarray, t: int, count: int) -> None:
        """Consume the flat symbols ``sym`` found at ``slot`` and renormalize (reading words in lane order)."""
        f = self.flat
        x = f.freq[sym].astype(np.uint64) * (self.x >> self.n) + (slot - f.start[sym]).astype(np.uint64)
        need = x < np.uint64(STATE_LOW)
        m = int(np.count_nonzero(need))
        if m:
            if self.pos + m > self.words.size:
                raise corrupted(f"the word stream ends early, at value {t} of {count}")
            x[need] = (x[need] << np.uint64(WORD_BITS)) | self.words[self.pos:self.pos + m]
            self.pos += m
        self.x = x

    def finish(self) -> None:
        if self.pos != self.words.size or (self.x != np.uint64(STATE_LOW)).any():
            raise corrupted("the decoder's final states or word count do not match the encoder's")


def corrupted(what: str) -> FormatError:
    return FormatError(f"range-coded latent payload is corrupted: {what}")


def check_int16(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.int64)
    if values.size and (values.min() < INT16[0] or values.max() > INT16[1]):
        raise InvalidInputError(f"range-coded latent values must lie in int16 [{INT16[0]}, {INT16[1]}]; got "
                                f"{values.min()}..{values.max()}")
    return values


def pack(coded: np.ndarray, escapes: np.ndarray, states: np.ndarray, words: np.ndarray) -> bytes:
    """channel map | u32 E | E x i16 | K' x u32 states | u16 words (spec 12.5.1)."""
    return b"".join([np.packbits(coded, bitorder="little").tobytes(), np.uint32(escapes.size).astype("<u4").tobytes(),
                     escapes.astype("<i2").tobytes(), states.astype("<u4").tobytes(), words.astype("<u2").tobytes()])


def unpack(payload: bytes, k: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The channel map, escaped values, initial states and words of a payload, their sizes checked."""
    size = len(payload)
    nmap = (k + 7) // 8
    if size < nmap + 4:
        raise corrupted(f"{size} bytes, shorter than its {nmap}-byte channel map and 4-byte escape count")
    coded = np.unpackbits(np.frombuffer(payload[:nmap], np.uint8), bitorder="little").astype(bool)
    if coded[k:].any():
        raise corrupted(f"bits beyond channel {k - 1} are set in the channel map")
    coded = coded[:k]
    kc = int(coded.sum())
    e = int(np.frombuffer(payload[nmap:nmap + 4], "<u4")[0])
    at = nmap + 4 + 2 * e
    head = at + 4 * kc
    if e > kc * count or head > size or (size - head) % 2:
        raise corrupted(f"{e} escapes and {kc} decoder states do not fit {size} bytes of {kc * count} values")
    escapes = np.frombuffer(payload[nmap + 4:at], "<i2").astype(np.int64)
    x = np.frombuffer(payload[at:head], "<u4").astype(np.uint64)
    if (x < STATE_LOW).any():
        raise corrupted(f"initial decoder states must be at least {STATE_LOW}")
    return coded, escapes, x, np.frombuffer(payload[head:], "<u2").astype(np.uint64)


def lengths(flat: FlatTables, sym: np.ndarray, escaped: np.ndarray) -> np.ndarray:
    """Bits of each symbol (``precision - log2 f``), plus 16 for an escaped value."""
    return flat.precision - np.log2(flat.freq[sym]) + WORD_BITS * escaped


