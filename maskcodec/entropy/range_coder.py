"""The adaptive range coder (spec section 6.7.2): integer symbols under counts that learn as they code.

A byte-oriented range coder with carry propagation (the coder of LZMA, extended
to multi-symbol frequency tables), integers only, coding forward, so a flight
encoder streams its output in a few bytes of state:

- the encoder holds ``low`` (33 bits used), ``range`` (32 bits), one cached byte
  and a count of pending ``0xFF`` bytes; a symbol with cumulative frequency
  ``start``, frequency ``freq`` and total ``total`` (at most ``2**16``) narrows
  ``range`` to ``freq * (range // total)``; a byte goes out whenever ``range``
  falls below ``2**24``;
- the decoder holds ``code`` and ``range`` (32 bits each) and reads a byte
  whenever ``range`` falls below ``2**24``; it consumes exactly the bytes the
  encoder wrote, which is one of its checks.

:class:`AdaptiveModel` is the symbol model the survivor coder uses: a frequency per
symbol, starting from a fixed shape and raised by a fixed step after each
symbol, halved when the total passes a limit (spec section 6.7.3).

Examples
--------
>>> model, enc = AdaptiveModel(6), RangeEncoder()
>>> for s in [0, 0, 1, 5, 0, 2]:
...     model.encode(enc, s)
>>> enc.raw(enc_value := 37, 7)
>>> data = enc.finish()
>>> model, dec = AdaptiveModel(6), RangeDecoder(data, "a test stream")
>>> [model.decode(dec) for _ in range(6)], dec.raw(7)
([0, 0, 1, 5, 0, 2], 37)
>>> dec.finish()
"""
from __future__ import annotations

from ..errors import FormatError

__all__ = ["TOP", "RangeEncoder", "RangeDecoder", "AdaptiveModel", "AdaptiveEncoder", "AdaptiveDecoder",
           "INCREMENT", "LIMIT", "initial_counts"]

TOP = 1 << 24           # range is renormalized (a byte moves) while it is below 2**24
_MASK32 = 0xFFFFFFFF
INCREMENT = 24          # a symbol's frequency grows by this much each time it is coded
LIMIT = 1 << 13         # when the total passes it, every frequency f becomes (f + 1) >> 1


class RangeEncoder:
    """Codes symbols into bytes; :meth:`finish` returns them."""

    def __init__(self):
        self.low, self.range = 0, _MASK32
        self.cache, self.pending = 0, 1      # the cached byte and 1 + the number of 0xFF bytes after it
        self.first = True                    # the first byte out is always 0 and is not written
        self.out = bytearray()

    def encode(self, start: int, freq: int, total: int) -> None:
        """Narrow the interval to the symbol ``[start, start + freq)`` of ``total``."""
        r = self.range // total
        self.low += start * r
        self.range = freq * r
        while self.range < TOP:
            self.range = (self.range << 8) & _MASK32
            self._shift_low()

    def raw(self, value: int, n: int) -> None:
        """``value`` in ``n`` bits (``0 <= n <= 16``), as a symbol of frequency 1 out of ``2**n``."""
        if n:
            self.encode(value, 1, 1 << n)

    def _shift_low(self) -> None:
        if self.low < 0xFF000000 or self.low > _MASK32:
            carry = self.low >> 32
            byte = self.cache
            while True:
                if self.first:
                    self.first = False
                else:
                    self.out.append((byte + carry) & 0xFF)
                byte = 0xFF
                self.pending -= 1
                if not self.pending:
                    break
            self.cache = (self.low >> 24) & 0xFF
        self.pending += 1
        self.low = (self.low & 0x00FFFFFF) << 8

    def finished_size(self) -> int:
        """The bytes :meth:`finish` would return now (the encoder is not changed)."""
        low, pending, first, size = self.low, self.pending, self.first, len(self.out)
        for _ in range(5):
            if low < 0xFF000000 or low > _MASK32:
                size += pending - first
                first, pending = False, 0
            pending += 1
            low = (low & 0x00FFFFFF) << 8
        return size

    def finish(self) -> bytes:
        """Flush the interval (five shifts) and return every byte written."""
        for _ in range(5):
            self._shift_low()
        return bytes(self.out)


class RangeDecoder:
    """Decodes what :class:`RangeEncoder` wrote; ``what`` names the stream in error messages."""

    def __init__(self, data: bytes, what: str):
        self.data, self.what = data, what
        if len(data) < 4:
            raise FormatError(f"{what} is {len(data)} bytes; a range-coded stream has at least 4")
        self.code = int.from_bytes(data[:4], "big")
        self.range, self.pos = _MASK32, 4
        self.r = 0

    def target(self, total: int) -> int:
        """The position, in ``[0, total)``, of the next symbol coded under ``total``."""
        self.r = self.range // total
        v = self.code // self.r
        if v >= total:
            raise FormatError(f"{self.what} is corrupted: a code lies outside its interval at byte {self.pos}")
        return v

    def consume(self, start: int, freq: int) -> None:
        """Remove the symbol ``[start, start + freq)`` found by :meth:`target`."""
        self.code -= start * self.r
        self.range = freq * self.r
        while self.range < TOP:
            if self.pos >= len(self.data):
                raise FormatError(f"{self.what} ends early: {len(self.data)} bytes hold fewer symbols than the "
                                  f"header says")
            self.range = (self.range << 8) & _MASK32
            self.code = ((self.code << 8) | self.data[self.pos]) & _MASK32
            self.pos += 1

    def raw(self, n: int) -> int:
        """``n`` raw bits (see :meth:`RangeEncoder.raw`)."""
        if not n:
            return 0
        v = self.target(1 << n)
        self.consume(v, 1)
        return v

    def finish(self) -> None:
        """Every byte was read: a stream with bytes after its last symbol is refused."""
        if self.pos != len(self.data):
            raise FormatError(f"{self.what} has {len(self.data) - self.pos} bytes after its last symbol")


def initial_counts(symbols: int) -> list[int]:
    """The counts a model starts from: ``max(1, 12 - s)`` for symbol ``s`` (small symbols are likelier).

    >>> initial_counts(14)
    [12, 11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 1, 1]
    """
    return [max(1, 12 - s) for s in range(symbols)]


class AdaptiveModel:
    """Counts over ``symbols`` symbols that follow what was coded (spec 6.7.3)."""

    def __init__(self, symbols: int):
        self.freq = initial_counts(symbols)
        self.total = sum(self.freq)

    def _update(self, s: int) -> None:
        f = self.freq
        f[s] += INCREMENT
        self.total += INCREMENT
        if self.total > LIMIT:
            for i in range(len(f)):
                f[i] = (f[i] + 1) >> 1
            self.total = sum(f)

    def encode(self, enc: RangeEncoder, s: int) -> None:
        f = self.freq
        enc.encode(sum(f[:s]), f[s], self.total)
        self._update(s)

    def decode(self, dec: RangeDecoder) -> int:
        v = dec.target(self.total)
        f, s, start = self.freq, 0, 0
        while start + f[s] <= v:
            start += f[s]
            s += 1
        dec.consume(start, f[s])
        self._update(s)
        return s


class AdaptiveEncoder:
    """A range encoder with ``models`` adaptive models of ``symbols`` symbols: each symbol under its model,
    then its raw bits."""

    def __init__(self, models: int, symbols: int):
        self.models = [AdaptiveModel(symbols) for _ in range(models)]
        self.enc = RangeEncoder()

    def code(self, model: int, symbol: int, raw: int = 0, nraw: int = 0) -> None:
        self.models[model].encode(self.enc, symbol)
        self.enc.raw(raw, nraw)

    def finish(self) -> bytes:
        return self.enc.finish()


class AdaptiveDecoder:
    """Decodes what :class:`AdaptiveEncoder` wrote (the same models and symbols)."""

    def __init__(self, data: bytes, models: int, symbols: int, what: str):
        self.models = [AdaptiveModel(symbols) for _ in range(models)]
        self.dec = RangeDecoder(data, what)

    def symbol(self, model: int) -> int:
        return self.models[model].decode(self.dec)

    def raw(self, n: int) -> int:
        return self.dec.raw(n)

    def finish(self) -> None:
        self.dec.finish()
