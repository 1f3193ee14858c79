"""Coder 3, the context coder (spec section 12.6): each latent value's table picked by its decoded neighbours.

A latent model trained with a rate term comes with :class:`ContextTables`,
stored in the metadata of both of its ONNX files. The coder codes each value's
residual from its channel's centre with one of a family of tables, picked per
channel by an integer context class of the values already decoded (the
residuals left and above in the same channel, and their sum over all channels
at that position): busy regions get wide tables, flat ones narrow tables. The
symbols go through the rANS core (:mod:`.rans`), one lane per coded channel.
Values outside their table are sent as an *escape* symbol plus the value
itself as an int16; a channel whose values all equal its centre is left out.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from ..errors import ModelError
from .rans import (INT16, FlatTables, LaneDecoder, check_int16, check_tables, corrupted, encode_lanes, integer, lengths,
                   pack, tables_json, unpack)

__all__ = ["NAME", "ID", "TABLES", "METADATA_KEY", "MAX_EDGES", "ContextTables", "spatial_context", "context_classes", "symbols", "encode", "decode",
           "bits"]

NAME, ID = "context", 3  # the coder's name and its byte in the latent block (spec section 12.2)
METADATA_KEY = "maskcodec.context_tables"  # ONNX metadata_props key of a latent model's context tables
MAX_EDGES = 15                             # at most this many class edges of each kind


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
        check_tables(self.precision, self.lows, self.freqs, "family table")
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
    def family(self) -> "FlatTables":
        """The family flattened for coding (built once per tables object, with its look-up table)."""
        return FlatTables(self.precision, self.lows, self.freqs)

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
            lows, freqs = tables_json(d, "tables")
            ints = {k: tuple(integer(v) for v in d[k]) for k in ("centers", "spatial_edges", "energy_edges")}
            rows = tuple(tuple(integer(v) for v in r) for r in d["map"])
            precision = d["precision"]
        except (ValueError, TypeError, KeyError) as e:
            raise ModelError(f"context tables are not the JSON object of spec section 12.6.1: {e!r}") from None
        return cls(precision=precision, lows=lows, freqs=freqs, map=rows, **ints)


TABLES = ContextTables  # the class of this coder's tables (the registry's contract)


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


def symbols(tables: ContextTables, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The flat symbol (in the family) of each value ``(K, h, w)``, and the escape mask."""
    residuals = values - np.asarray(tables.centers, np.int64)[:, None, None]
    classes = context_classes(residuals, tables.spatial_edges, tables.energy_edges)
    table = np.asarray(tables.map, np.int64)[np.arange(tables.channels)[:, None, None], classes]
    return tables.family.symbols(table, residuals)


def encode(values: np.ndarray, tables: ContextTables) -> bytes:
    """Range-code integer ``values`` ``(K, h, w)`` with context tables; the payload of spec 12.6.2.

    Channels whose values all equal their centre are left out (they count
    as residual 0 in their neighbours' contexts); escaped values are listed in
    decoding order (position by position, channels in order).

    Examples
    --------
    >>> t = ContextTables(precision=4, lows=(-1, -3), freqs=((1, 13, 1, 1), (1, 2, 2, 4, 3, 2, 1, 1)),
    ...                   centers=(5,), spatial_edges=(1,), energy_edges=(), map=((0, 1),))
    >>> v = np.array([[[5, 5, 6], [5, 9, 4]]])
    >>> decode(encode(v, t), t, 2, 3).tolist()
    [[[5, 5, 6], [5, 9, 4]]]
    """
    values = check_int16(values)
    if values.ndim != 3 or values.shape[0] != tables.channels:
        raise ModelError(f"latent of shape {values.shape} but context tables for {tables.channels} channels")
    coded = ~(values == np.asarray(tables.centers)[:, None, None]).all(axis=(1, 2))
    sym, escaped = symbols(tables, values)
    flat = tables.family
    k = int(coded.sum())
    sym, escaped = sym[coded].reshape(k, -1), escaped[coded].reshape(k, -1)
    states, words = encode_lanes(flat.freq[sym], flat.start[sym], tables.precision)
    return pack(coded, values[coded].reshape(k, -1).T[escaped.T], states, words)


def decode(payload: bytes, tables: ContextTables, height: int, width: int) -> np.ndarray:
    """Decode a coder-3 payload of a ``(K, height, width)`` latent; returns int64 values.

    Raises
    ------
    FormatError
        The payload is not what an encoder of spec 12.6.2 writes: sizes that do not add up, a
        stream that ends early or has words left over, decoder states that do not end at their initial
        value, and escaped values that are not outside their table or not as many as the
        escape symbols.
    """
    count = height * width
    coded, escapes, x, words = unpack(payload, tables.channels, count)
    flat = tables.family
    centers = np.asarray(tables.centers, np.int64)
    rows, coded_centers = np.asarray(tables.map, np.int64)[coded], centers[coded]
    k = len(rows)
    spatial, energy = np.asarray(tables.spatial_edges, np.int64), np.asarray(tables.energy_edges, np.int64)
    ne = len(energy) + 1
    mag = np.zeros((k, height, width), np.int64)   # |residual| of the decoded values
    res = np.zeros((k, height, width), np.int64)
    lanes, dec, used = np.arange(k), LaneDecoder(flat, x, words), 0
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
                raise corrupted(f"more escape symbols than the {escapes.size} escaped values")
            v = escapes[used:used + esc.size] - coded_centers[esc]
            inside = (v >= flat.lows[table[esc]]) & (v < flat.lows[table[esc]] + flat.escape[table[esc]])
            if inside.any():
                raise corrupted("an escaped value lies inside its table")
            r[esc] = v
            used += esc.size
        res[:, y, i] = r
        mag[:, y, i] = np.abs(r)
    dec.finish()
    if used != escapes.size:
        raise corrupted(f"{used} escape symbols but {escapes.size} escaped values")
    values = np.repeat(centers[:, None], count, axis=1).reshape(-1, height, width)
    values[coded] += res
    return values


def bits(values: np.ndarray, tables: ContextTables) -> np.ndarray:
    """Ideal code length in bits of each value ``(K, h, w)`` under coder 3's context tables."""
    return lengths(tables.family, *symbols(tables, np.asarray(values, np.int64)))
