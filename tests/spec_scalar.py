"""Pieces of a scalar decoder written from the text of spec/format.md alone, one symbol at a time: the planes and
quantizer of section 6.5 and the range coder, tokens and adaptive models of 6.7.2-6.7.3. The spec decoders of
the ranked files (test_predictive.py) and of the lean segments (test_segments.py) are built on them."""


def spec_planes(transform: int, channels: int) -> list[tuple[int, int | None]]:
    """Section 6.5's planes: (channel, reference channel or None) in coding order."""
    return {1: [(1, None), (0, 1), (2, 1)], 2: [(c, c - 1 if c else None) for c in range(channels)]}.get(
        transform, [(c, None) for c in range(channels)])


def spec_value(z: int, spatial: list[int], decoded: list, ch: int, ref: int | None, bits: int, d: int) -> int:
    """Section 6.5's planes and quantization: the value a code ``z`` gives channel ``ch`` of a pixel."""
    maxval, step = (1 << bits) - 1, 2 * d + 1
    rng = (maxval + 2 * d) // step + 1
    assert z < rng
    q = -((z + 1) // 2) if z & 1 else z // 2
    pred = spatial[ch]
    if ref is not None:
        pred = min(max(pred + decoded[ref] - spatial[ref], 0), maxval)
    r = pred + q * step
    if r < -d:
        r += rng * step
    elif r > maxval + d:
        r -= rng * step
    return min(max(r, 0), maxval)


class SpecTokens:
    """Section 6.7.2's range decoder over ``payload`` and 6.7.3's tokens under adaptive models (created on
    first use): :meth:`code` gives the next code z under a model; :meth:`end` checks every byte was read."""

    def __init__(self, payload: bytes, bits: int):
        assert len(payload) >= 4
        self.payload, self.code_, self.range, self.pos = payload, int.from_bytes(payload[:4], "big"), 0xFFFFFFFF, 4
        self.ntok = max(8, 2 * bits + 2)
        self.models: dict[int, list[int]] = {}

    def _symbol(self, total, find):
        r = self.range // total
        v = self.code_ // r
        assert v < total
        start, freq, result = find(v)
        self.code_ -= start * r
        self.range = freq * r
        while self.range < 1 << 24:
            self.range = (self.range << 8) & 0xFFFFFFFF
            self.code_ = ((self.code_ << 8) | self.payload[self.pos]) & 0xFFFFFFFF
            self.pos += 1
        return result

    def _token(self, model: int) -> int:
        f = self.models.setdefault(model, [max(1, 12 - t) for t in range(self.ntok)])

        def find(v):
            start = 0
            for t in range(self.ntok):
                if v < start + f[t]:
                    return start, f[t], t
                start += f[t]
        t = self._symbol(sum(f), find)
        f[t] += 24
        if sum(f) > 8192:
            f[:] = [(v + 1) >> 1 for v in f]
        return t

    def code(self, model: int) -> int:
        t = self._token(model)
        if t < 8:
            return t
        e = (t - 8) // 2 + 4
        n = e - 2
        return (1 << (e - 1)) + ((t & 1) << n) + self._symbol(1 << n, lambda v: (v, 1, v))

    def end(self) -> None:
        assert self.pos == len(self.payload)
