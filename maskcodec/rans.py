"""Range coding of integer latents with a model's fixed frequency tables (spec sections 12.5 and 12.6).

A latent model trained with a rate term comes with one integer frequency
table per latent channel (:class:`Tables`), stored in the metadata of both of
its ONNX files. Latent mode's range coder (``coder`` 1) codes each channel's
values with its table: K rANS coders (32-bit state, 16-bit words), one per
latent channel, interleaved into one word stream. Values outside a channel's
table are sent as an *escape* symbol plus the value itself as an int16. A
channel whose values all equal its table's mode is left out (a clear bit in
the channel map): a collapsed channel of a low-rate model costs one bit.

The context coder (``coder`` 3, :class:`ContextTables`) adapts to the image
without side information: it codes each value's residual from its channel's
centre with one of a family of tables, picked per channel by an integer
context class of the values already decoded (the residuals left and above in
the same channel, and their sum over all channels at that position). Busy
regions get wide tables, flat ones narrow tables.

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
from functools import cached_property

import numpy as np

from .errors import FormatError, InvalidInputError, ModelError

__all__ = ["METADATA_KEY", "CONTEXT_METADATA_KEY", "Tables", "ContextTables", "encode", "decode", "encode_context",
           "decode_context", "bits", "bits_context", "spatial_context", "context_classes"]

METADATA_KEY = "maskcodec.rans_tables"  # ONNX metadata_props key of a latent model's tables (coder 1)
CONTEXT_METADATA_KEY = "maskcodec.context_tables"  # the same for coder 3's context tables
MAX_EDGES = 15                          # at most this many class edges of each kind (coder 3)
STATE_LOW = 1 << 16                    # L: a decoder state lies in [L, 2^32) between symbols
WORD_BITS = 16
MAX_PRECISION = 16
INT16 = (-(1 << 15), (1 << 15) - 1)


def _integer(v) -> int:
    """A JSON integer as it is (no rounding of 1.5, no parsing of "3")."""
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{v!r} is not an integer")
    return v


def _check_tables(n, lows, freqs, what: str) -> None:
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


def _tables_json(d: dict, key: str) -> tuple[tuple[int, ...], tuple[tuple[int, ...], ...]]:
    """The lows and frequencies of the list of ``{"low", "freqs"}`` objects ``d[key]``."""
    return (tuple(_integer(t["low"]) for t in d[key]),
            tuple(tuple(_integer(v) for v in t["freqs"]) for t in d[key]))


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
        _check_tables(self.precision, self.lows, self.freqs, "channel")

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
            lows, freqs = _tables_json(d, "channels")
            precision = d["precision"]
        except (ValueError, TypeError, KeyError) as e:
            raise ModelError(f"range-coder tables are not the JSON object of spec section 12.5.1: {e!r}") from None
        return cls(precision=precision, lows=lows, freqs=freqs)

    @property
    def modes(self) -> np.ndarray:
        """Per channel its most probable value (the lowest on ties; never the escape)."""
        return np.array([lo + int(np.argmax(f[:-1])) for lo, f in zip(self.lows, self.freqs)], np.int64)


@dataclass(frozen=True)
class ContextTables:
    """Coder 3's tables: a family of residual tables and the rule that picks one per value (spec 12.6.1).

    Value ``v`` of channel ``c`` is coded as its residual ``r = v - centers[c]``
    with table ``map[c][k]`` of the family, where the class ``k = qs * NE + qe``
    (``NE = len(energy_edges) + 1``) comes from the residuals already decoded:
    ``s`` is ``|r|`` of the left neighbour plus ``|r|`` of the one above (in
    the same channel; 0 outside the latent), ``qs`` the number of
    ``spatial_edges`` at most ``s``, and ``qe`` the number of ``energy_edges``
    at most the sum of ``s`` over all channels at that position. Family table
    ``j`` codes the residuals ``lows[j] .. lows[j] + len(freqs[j]) - 2``; its
    last symbol is the escape.
    """

    precision: int
    lows: tuple[int, ...]
    freqs: tuple[tuple[int, ...], ...]
    centers: tuple[int, ...]
    spatial_edges: tuple[int, ...]
    energy_edges: tuple[int, ...]
    map: tuple[tuple[int, ...], ...]

    def __post_init__(self):
        _check_tables(self.precision, self.lows, self.freqs, "family table")
        for name in ("spatial_edges", "energy_edges"):
            e = getattr(self, name)
            if len(e) > MAX_EDGES or any(v < 0 for v in e) or any(a >= b for a, b in zip(e, e[1:])):
                raise ModelError(f"context {name} must be at most {MAX_EDGES} increasing non-negative integers, "
                                 f"got {list(e)}")
        if not self.centers or any(not INT16[0] <= v <= INT16[1] for v in self.centers):
            raise ModelError("context tables need one int16 centre per latent channel")
        classes = self.classes
        if len(self.map) != len(self.centers) or any(len(row) != classes for row in self.map):
            raise ModelError(f"the context map needs {len(self.centers)} rows (one per channel) of {classes} "
                             f"table indices (one per class)")
        if any(not 0 <= j < len(self.freqs) for row in self.map for j in row):
            raise ModelError(f"context map entries must index the family's {len(self.freqs)} tables")

    @property
    def channels(self) -> int:
        return len(self.centers)

    @property
    def classes(self) -> int:
        return (len(self.spatial_edges) + 1) * (len(self.energy_edges) + 1)

    @cached_property
    def family(self) -> "_Flat":
        """The family flattened for coding (built once per tables object, with its look-up table)."""
        return _Flat(self.precision, self.lows, self.freqs)

    def to_json(self) -> str:
        """The tables as stored in a model's metadata (spec section 12.6.1)."""
        return json.dumps({"precision": self.precision,
                           "tables": [{"low": lo, "freqs": list(f)} for lo, f in zip(self.lows, self.freqs)],
                           "centers": list(self.centers), "spatial_edges": list(self.spatial_edges),
                           "energy_edges": list(self.energy_edges), "map": [list(r) for r in self.map]},
                          separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> "ContextTables":
        """Parse and check stored context tables; malformed ones are a :class:`~maskcodec.errors.ModelError`."""
        try:
            d = json.loads(text)
            lows, freqs = _tables_json(d, "tables")
            ints = {k: tuple(_integer(v) for v in d[k]) for k in ("centers", "spatial_edges", "energy_edges")}
            rows = tuple(tuple(_integer(v) for v in r) for r in d["map"])
            precision = d["precision"]
        except (ValueError, TypeError, KeyError) as e:
            raise ModelError(f"context tables are not the JSON object of spec section 12.6.1: {e!r}") from None
        return cls(precision=precision, lows=lows, freqs=freqs, map=rows, **ints)


class _Flat:
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


def _encode_lanes(freq: np.ndarray, start: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Interleaved rANS over lanes (rows) and positions (columns) of symbol frequencies and starts: the final
    encoder states and the word stream in decoder order (spec 12.5.3)."""
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


class _LaneDecoder:
    """The decoder side of :func:`_encode_lanes`: one step decodes a symbol on every lane."""

    def __init__(self, flat: _Flat, x: np.ndarray, words: np.ndarray):
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
                raise _fail(f"the word stream ends early, at value {t} of {count}")
            x[need] = (x[need] << np.uint64(WORD_BITS)) | self.words[self.pos:self.pos + m]
            self.pos += m
        self.x = x

    def finish(self) -> None:
        if self.pos != self.words.size or (self.x != np.uint64(STATE_LOW)).any():
            raise _fail("the decoder's final states or word count do not match the encoder's")


def _fail(what: str) -> FormatError:
    return FormatError(f"range-coded latent payload is corrupted: {what}")


def _check_int16(values: np.ndarray) -> np.ndarray:
    values = np.asarray(values, np.int64)
    if values.size and (values.min() < INT16[0] or values.max() > INT16[1]):
        raise InvalidInputError(f"range-coded latent values must lie in int16 [{INT16[0]}, {INT16[1]}]; got "
                                f"{values.min()}..{values.max()}")
    return values


def _pack(coded: np.ndarray, escapes: np.ndarray, states: np.ndarray, words: np.ndarray) -> bytes:
    """channel map | u32 E | E x i16 | K' x u32 states | u16 words (spec 12.5.2, 12.6.2)."""
    return b"".join([np.packbits(coded, bitorder="little").tobytes(), np.uint32(escapes.size).astype("<u4").tobytes(),
                     escapes.astype("<i2").tobytes(), states.astype("<u4").tobytes(), words.astype("<u2").tobytes()])


def _unpack(payload: bytes, k: int, count: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The channel map, escaped values, initial states and words of a payload, their sizes checked."""
    size = len(payload)
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
    if (x < STATE_LOW).any():
        raise _fail(f"initial decoder states must be at least {STATE_LOW}")
    return coded, escapes, x, np.frombuffer(payload[head:], "<u2").astype(np.uint64)


def _channel_flat(tables: Tables, coded: np.ndarray) -> _Flat:
    return _Flat(tables.precision, np.asarray(tables.lows)[coded], [f for f, c in zip(tables.freqs, coded) if c])


def encode(values: np.ndarray, tables: Tables) -> bytes:
    """Range-code integer ``values`` ``(K, P)`` (channel c with table c); the payload of spec 12.5.2.

    Channels whose values all equal their table's mode are left out (a clear
    bit in the payload's channel map). Values must lie in int16 (the caller
    clips; else :class:`~maskcodec.errors.InvalidInputError`); those outside
    a channel's table are escaped.
    """
    values = _check_int16(values)
    if values.shape[0] != tables.channels:
        raise ModelError(f"{values.shape[0]} latent channels but range-coder tables for {tables.channels}")
    coded = ~(values == tables.modes[:, None]).all(axis=1)
    flat = _channel_flat(tables, coded)
    lanes = np.arange(int(coded.sum()))[:, None]
    sym, escaped = flat.symbols(lanes, values[coded])
    states, words = _encode_lanes(flat.freq[sym], flat.start[sym], tables.precision)
    return _pack(coded, values[coded][escaped], states, words)


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
    coded, escapes, x, words = _unpack(payload, tables.channels, count)
    flat = _channel_flat(tables, coded)
    k = len(flat.lows)
    lane = np.arange(k, dtype=np.int64) << np.int64(tables.precision + 1)
    keys = np.repeat(lane, flat.escape + 1) + flat.start  # one increasing key per (lane, slot)
    lanes_dec = _LaneDecoder(flat, x, words)
    sym = np.empty((k, count), np.int64)
    for t in range(count if k else 0):
        slot = lanes_dec.slots()
        sym[:, t] = np.searchsorted(keys, lane + slot, side="right") - 1
        lanes_dec.advance(sym[:, t], slot, t, count)
    lanes_dec.finish()
    local = sym - flat.base[:, None]
    escaped = local == flat.escape[:, None]
    if int(np.count_nonzero(escaped)) != escapes.size:
        raise _fail(f"{int(np.count_nonzero(escaped))} escape symbols but {escapes.size} escaped values")
    part = local + flat.lows[:, None]
    part[escaped] = escapes
    rows = np.nonzero(escaped)[0]
    if ((escapes >= flat.lows[rows]) & (escapes < flat.lows[rows] + flat.escape[rows])).any():
        raise _fail("an escaped value lies inside its channel's table")
    values = np.repeat(tables.modes[:, None], count, axis=1)
    values[coded] = part
    return values


def spatial_context(residuals: np.ndarray) -> np.ndarray:
    """|left| + |up| of every residual ``(K, h, w)`` in its channel (0 outside the latent), spec 12.6.2."""
    a = np.abs(residuals)
    s = np.zeros_like(a)
    s[:, :, 1:] += a[:, :, :-1]
    s[:, 1:, :] += a[:, :-1, :]
    return s


def context_classes(residuals: np.ndarray, spatial_edges, energy_edges) -> np.ndarray:
    """Context class ``qs * (len(energy_edges) + 1) + qe`` of every residual ``(K, h, w)`` (spec 12.6.2), from
    its left and upper neighbours."""
    s = spatial_context(residuals)
    qs = np.searchsorted(np.asarray(spatial_edges, np.int64), s, side="right")
    qe = np.searchsorted(np.asarray(energy_edges, np.int64), s.sum(axis=0), side="right")
    return qs * (len(energy_edges) + 1) + qe[None]


def _context_symbols(tables: ContextTables, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flat symbol (in the family) of each value ``(K, h, w)``, and the escape mask."""
    residuals = values - np.asarray(tables.centers, np.int64)[:, None, None]
    classes = context_classes(residuals, tables.spatial_edges, tables.energy_edges)
    table = np.asarray(tables.map, np.int64)[np.arange(tables.channels)[:, None, None], classes]
    return tables.family.symbols(table, residuals)


def encode_context(values: np.ndarray, tables: ContextTables) -> bytes:
    """Range-code integer ``values`` ``(K, h, w)`` with context tables; the payload of spec 12.6.2.

    Channels whose values all equal their centre are left out (they count
    as residual 0 in their neighbours' contexts); escaped values are listed in
    decoding order (position by position, channels in order).

    Examples
    --------
    >>> t = ContextTables(precision=4, lows=(-1, -3), freqs=((1, 13, 1, 1), (1, 2, 2, 4, 3, 2, 1, 1)),
    ...                   centers=(5,), spatial_edges=(1,), energy_edges=(), map=((0, 1),))
    >>> v = np.array([[[5, 5, 6], [5, 9, 4]]])
    >>> decode_context(encode_context(v, t), t, 2, 3).tolist()
    [[[5, 5, 6], [5, 9, 4]]]
    """
    values = _check_int16(values)
    if values.ndim != 3 or values.shape[0] != tables.channels:
        raise ModelError(f"latent of shape {values.shape} but context tables for {tables.channels} channels")
    coded = ~(values == np.asarray(tables.centers)[:, None, None]).all(axis=(1, 2))
    sym, escaped = _context_symbols(tables, values)
    flat = tables.family
    k = int(coded.sum())
    sym, escaped = sym[coded].reshape(k, -1), escaped[coded].reshape(k, -1)
    states, words = _encode_lanes(flat.freq[sym], flat.start[sym], tables.precision)
    return _pack(coded, values[coded].reshape(k, -1).T[escaped.T], states, words)


def decode_context(payload: bytes, tables: ContextTables, height: int, width: int) -> np.ndarray:
    """Decode a coder-3 payload of a ``(K, height, width)`` latent; returns int64 values.

    Raises
    ------
    FormatError
        As :func:`decode`, and escaped values that are not outside their table or not as many as the
        escape symbols.
    """
    count = height * width
    coded, escapes, x, words = _unpack(payload, tables.channels, count)
    flat = tables.family
    centers = np.asarray(tables.centers, np.int64)
    rows, coded_centers = np.asarray(tables.map, np.int64)[coded], centers[coded]
    k = len(rows)
    spatial, energy = np.asarray(tables.spatial_edges, np.int64), np.asarray(tables.energy_edges, np.int64)
    ne = len(energy) + 1
    mag = np.zeros((k, height, width), np.int64)   # |residual| of the decoded values
    res = np.zeros((k, height, width), np.int64)
    lanes, dec, used = np.arange(k), _LaneDecoder(flat, x, words), 0
    for t in range(count if k else 0):
        y, i = divmod(t, width)
        s = np.zeros(k, np.int64)
        if i:
            s += mag[:, y, i - 1]
        if y:
            s += mag[:, y - 1, i]
        table = rows[lanes, np.searchsorted(spatial, s, side="right") * ne
                     + int(np.searchsorted(energy, s.sum(), side="right"))]
        slot = dec.slots()
        sym = flat.lookup(table, slot)
        dec.advance(sym, slot, t, count)
        local = sym - flat.base[table]
        r = flat.lows[table] + local
        esc = np.nonzero(local == flat.escape[table])[0]
        if esc.size:
            if used + esc.size > escapes.size:
                raise _fail(f"more escape symbols than the {escapes.size} escaped values")
            v = escapes[used:used + esc.size] - coded_centers[esc]
            inside = (v >= flat.lows[table[esc]]) & (v < flat.lows[table[esc]] + flat.escape[table[esc]])
            if inside.any():
                raise _fail("an escaped value lies inside its table")
            r[esc] = v
            used += esc.size
        res[:, y, i] = r
        mag[:, y, i] = np.abs(r)
    dec.finish()
    if used != escapes.size:
        raise _fail(f"{used} escape symbols but {escapes.size} escaped values")
    values = np.repeat(centers[:, None], count, axis=1).reshape(-1, height, width)
    values[coded] += res
    return values


def _lengths(flat: _Flat, sym: np.ndarray, escaped: np.ndarray) -> np.ndarray:
    """Bits of each symbol (``precision - log2 f``), plus 16 for an escaped value."""
    return flat.precision - np.log2(flat.freq[sym]) + WORD_BITS * escaped


def bits(values: np.ndarray, tables: Tables) -> np.ndarray:
    """Ideal code length in bits of each value ``(K, ...)`` under coder 1's tables (escapes included)."""
    values = np.asarray(values, np.int64)
    flat = _channel_flat(tables, np.ones(tables.channels, bool))
    lanes = np.arange(tables.channels).reshape((-1,) + (1,) * (values.ndim - 1))
    return _lengths(flat, *flat.symbols(lanes, values))


def bits_context(values: np.ndarray, tables: ContextTables) -> np.ndarray:
    """Ideal code length in bits of each value ``(K, h, w)`` under coder 3's context tables."""
    return _lengths(tables.family, *_context_symbols(tables, np.asarray(values, np.int64)))
