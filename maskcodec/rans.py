"""Range coding of integer latents with a model's fixed frequency tables (spec section 12.5).

A latent model trained with a rate term comes with one integer frequency
table per latent channel (:class:`Tables`), stored in the metadata of both of
its ONNX files. Latent mode's range coder (``coder`` 1) codes each channel's
values with its table: K rANS coders (32-bit state, 16-bit words), one per
latent channel, interleaved into one word stream. Values outside a channel's
table are sent as an *escape* symbol plus the value itself as an int16. A
channel whose values all equal its table's mode is left out (a clear bit in
the channel map): a collapsed channel of a low-rate model costs one bit.

Everything here is integer arithmetic on fixed tables, so the bytes and the
decoded values are the same on every machine; nothing is recomputed from
floating-point model parameters when coding.

Payload (all little-endian)::

    channel map (ceil(K/8) bytes, bit c = channel c is coded) | u32 E | E x i16 escaped values (C order)
    | K' x u32 initial decoder states of the coded channels | u16 words

Examples
--------
>>> tables = Tables.from_json('{"precision": 4, "channels": [{"low": 0, "freqs": [8, 4, 2, 2]}]}')
>>> values = np.array([[0, 1, 0, 2, 0, 9]])
>>> payload = encode(values, tables)
>>> decode(payload, tables, 6).tolist()
[[0, 1, 0, 2, 0, 9]]
"""
from __future__ import annotations

import json
from dataclasses import dataclass

import numpy as np

from .errors import FormatError, InvalidInputError, ModelError

__all__ = ["METADATA_KEY", "Tables", "encode", "decode"]

METADATA_KEY = "maskcodec.rans_tables"  # ONNX metadata_props key of a latent model's tables
STATE_LOW = 1 << 16                    # L: a decoder state lies in [L, 2^32) between symbols
WORD_BITS = 16
MAX_PRECISION = 16
INT16 = (-(1 << 15), (1 << 15) - 1)


def _integer(v) -> int:
    """A JSON integer as it is (no rounding of 1.5, no parsing of "3")."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{v!r} is not an integer")
    return v


@dataclass(frozen=True)
class Tables:
    """One frequency table per latent channel (spec section 12.5.1).

    Channel ``c`` codes the values ``lows[c] .. lows[c] + len(freqs[c]) - 2``
    as symbols ``0 .. len(freqs[c]) - 2``; its last symbol is the escape.
    Every frequency is at least 1 and each table sums to ``2**precision``.
    """

    precision: int
    lows: tuple[int, ...]
    freqs: tuple[tuple[int, ...], ...]

    def __post_init__(self):
        n = self.precision
        if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= MAX_PRECISION:
            raise ModelError(f"range-coder precision must be an integer from 1 to {MAX_PRECISION}, got {n!r}")
        if not self.freqs or len(self.lows) != len(self.freqs):
            raise ModelError(f"range-coder tables need one low value per channel: {len(self.lows)} lows for "
                             f"{len(self.freqs)} tables")
        for c, (low, f) in enumerate(zip(self.lows, self.freqs)):
            if len(f) < 2 or min(f) < 1 or sum(f) != 1 << n:
                raise ModelError(f"frequency table of channel {c} must have at least 2 entries, each >= 1, "
                                 f"summing to 2**{n}; got {len(f)} entries summing to {sum(f)}")
            if not INT16[0] <= low <= low + len(f) - 2 <= INT16[1]:
                raise ModelError(f"table of channel {c} covers {low}..{low + len(f) - 2}, outside int16")

    @property
    def channels(self) -> int:
        return len(self.freqs)

    def to_json(self) -> str:
        """The tables as stored in a model's metadata (spec section 12.5.1)."""
        return json.dumps({"precision": self.precision,
                           "channels": [{"low": lo, "freqs": list(f)} for lo, f in zip(self.lows, self.freqs)]},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "Tables":
        """Parse and check stored tables; a malformed table is a :class:`~maskcodec.errors.ModelError`."""
        try:
            d = json.loads(text)
            channels = d["channels"]
            lows = tuple(_integer(ch["low"]) for ch in channels)
            freqs = tuple(tuple(_integer(v) for v in ch["freqs"]) for ch in channels)
            precision = d["precision"]
        except (ValueError, TypeError, KeyError) as e:
            raise ModelError(f"range-coder tables are not the JSON object of spec section 12.5.1: {e!r}") from None
        return cls(precision=precision, lows=lows, freqs=freqs)

    @property
    def modes(self) -> np.ndarray:
        """Per channel its most probable value (the lowest on ties; never the escape)."""
        return np.array([lo + int(np.argmax(f[:-1])) for lo, f in zip(self.lows, self.freqs)], np.int64)


class _Lanes:
    """The tables of the channels a payload range-codes, flattened for vectorized coding."""

    def __init__(self, tables: Tables, coded: np.ndarray):
        freqs = [f for f, c in zip(tables.freqs, coded) if c]
        self.precision = tables.precision
        self.lows = np.asarray(tables.lows, np.int64)[coded]
        self.escape = np.array([len(f) - 1 for f in freqs], np.int64)    # each channel's escape symbol
        self.base = np.cumsum(np.concatenate([[0], self.escape + 1]))[:-1].astype(np.int64)
        self.freq = np.array([v for f in freqs for v in f], np.int64)
        self.start = np.array([v for f in freqs for v in np.concatenate([[0], np.cumsum(f[:-1])])], np.int64)

    def symbols(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per value its index in the flat tables, and the mask of escaped values."""
        local = values - self.lows[:, None]
        escaped = (local < 0) | (local >= self.escape[:, None])
        return self.base[:, None] + np.where(escaped, self.escape[:, None], local), escaped

    def encode(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The escaped values, the final encoder states and the word stream (in decoder order)."""
        k, p = values.shape
        n = self.precision
        sym, escaped = self.symbols(values)
        f, s = self.freq[sym].astype(np.uint64), self.start[sym].astype(np.uint64)
        x = np.full(k, STATE_LOW, np.uint64)
        words: list[np.ndarray] = []
        for t in range(p - 1, -1, -1):  # backwards; within a step, channels K'-1 .. 0
            ft = f[:, t]
            emit = x >= (ft << np.uint64(32 - n))
            if emit.any():
                words.append((x[emit] & np.uint64(0xFFFF))[::-1])
                x[emit] >>= np.uint64(WORD_BITS)
            x = ((x // ft) << np.uint64(n)) + x % ft + s[:, t]
        stream = np.concatenate(words)[::-1] if words else np.zeros(0, np.uint64)
        return values[escaped], x, stream

    def decode(self, x: np.ndarray, words: np.ndarray, count: int) -> np.ndarray:
        """The symbols (local to each channel's table) of ``count`` positions, checking the stream's end."""
        k, n = len(self.lows), self.precision
        # One increasing key per (channel, slot): channel c's slots live at c * 2^(n+1) + slot.
        lane = np.arange(k, dtype=np.int64) << np.int64(n + 1)
        keys = np.repeat(lane, self.escape + 1) + self.start
        mask, low = np.uint64((1 << n) - 1), np.uint64(STATE_LOW)
        sym = np.empty((k, count), np.int64)
        pos = 0
        for t in range(count if k else 0):
            slot = x & mask
            s = np.searchsorted(keys, lane + slot.astype(np.int64), side="right") - 1
            sym[:, t] = s
            x = self.freq[s].astype(np.uint64) * (x >> np.uint64(n)) + slot - self.start[s].astype(np.uint64)
            need = x < low
            m = int(np.count_nonzero(need))
            if m:
                if pos + m > words.size:
                    raise _fail(f"the word stream ends early, at value {t} of {count}")
                x[need] = (x[need] << np.uint64(WORD_BITS)) | words[pos:pos + m]
                pos += m
        if pos != words.size or (x != low).any():
            raise _fail("the decoder's final states or word count do not match the encoder's")
        return sym - self.base[:, None]


def encode(values: np.ndarray, tables: Tables) -> bytes:
    """Range-code integer ``values`` ``(K, P)`` (channel c with table c); the payload of spec 12.5.2.

    Channels whose values all equal their table's mode are left out (a clear
    bit in the payload's channel map). Values must lie in int16 (the caller
    clips; else :class:`~maskcodec.errors.InvalidInputError`); those outside
    a channel's table are escaped.
    """
    values = np.asarray(values, np.int64)
    if values.size and (values.min() < INT16[0] or values.max() > INT16[1]):
        raise InvalidInputError(f"range-coded latent values must lie in int16 [{INT16[0]}, {INT16[1]}]; got "
                                f"{values.min()}..{values.max()}")
    if values.shape[0] != tables.channels:
        raise ModelError(f"{values.shape[0]} latent channels but range-coder tables for {tables.channels}")
    coded = ~(values == tables.modes[:, None]).all(axis=1)
    escapes, states, words = _Lanes(tables, coded).encode(values[coded])
    return b"".join([np.packbits(coded, bitorder="little").tobytes(), np.uint32(escapes.size).astype("<u4").tobytes(),
                     escapes.astype("<i2").tobytes(), states.astype("<u4").tobytes(), words.astype("<u2").tobytes()])


def _fail(what: str) -> FormatError:
    return FormatError(f"range-coded latent payload is corrupted: {what}")


def decode(payload: bytes, tables: Tables, count: int) -> np.ndarray:
    """Decode ``count`` values per channel from a coder-1 payload; returns int64 ``(K, count)``.

    Raises
    ------
    FormatError
        The payload is not what an encoder of spec 12.5.2 writes: sizes that do
        not add up, a stream that ends early or has words left over, decoder
        states that do not end at their initial value, escape counts or values
        that do not match.
    """
    k, size = tables.channels, len(payload)
    nmap = (k + 7) // 8
    if size < nmap + 4:
        raise _fail(f"{size} bytes, shorter than its {nmap}-byte channel map and 4-byte escape count")
    coded = np.unpackbits(np.frombuffer(payload[:nmap], np.uint8), bitorder="little").astype(bool)
    if coded[k:].any():
        raise _fail(f"bits beyond channel {k - 1} are set in the channel map")
    coded = coded[:k]
    kc = int(coded.sum())
    e = int(np.frombuffer(payload[nmap:nmap + 4], "<u4")[0])
    at = nmap + 4 + 2 * e
    head = at + 4 * kc
    if e > kc * count or head > size or (size - head) % 2:
        raise _fail(f"{e} escapes and {kc} decoder states do not fit {size} bytes of {kc * count} values")
    escapes = np.frombuffer(payload[nmap + 4:at], "<i2").astype(np.int64)
    x = np.frombuffer(payload[at:head], "<u4").astype(np.uint64)
    words = np.frombuffer(payload[head:], "<u2").astype(np.uint64)
    if (x < STATE_LOW).any():
        raise _fail(f"initial decoder states must be at least {STATE_LOW}")
    lanes = _Lanes(tables, coded)
    local = lanes.decode(x, words, count)
    escaped = local == lanes.escape[:, None]
    if int(np.count_nonzero(escaped)) != e:
        raise _fail(f"{int(np.count_nonzero(escaped))} escape symbols but {e} escaped values")
    part = local + lanes.lows[:, None]
    part[escaped] = escapes
    rows = np.nonzero(escaped)[0]
    if ((escapes >= lanes.lows[rows]) & (escapes < lanes.lows[rows] + lanes.escape[rows])).any():
        raise _fail("an escaped value lies inside its channel's table")
    values = np.repeat(tables.modes[:, None], count, axis=1)
    values[coded] = part
    return values
