"""The range coder of latent mode (spec section 12.5): round trips, the spec's scalar algorithm, tables, damage."""
import json
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec import latent_mode, rans
from maskcodec.manifest import LatentEntry, load
from maskcodec.errors import FormatError, ModelError
from maskcodec.format.zstd_frame import compress
from maskcodec.rans import Tables
from maskcodec.tools.train.latent_export import laplace_tables


def _random_tables(rng, k: int, precision: int) -> Tables:
    lows, freqs = [], []
    for _ in range(k):
        n = int(rng.integers(1, min(40, (1 << precision) // 4)))
        raw = rng.random(n + 1) ** 3
        f = np.maximum(1, np.floor(raw / raw.sum() * (1 << precision))).astype(int)
        f[np.argmax(f)] += (1 << precision) - f.sum()
        lows.append(int(rng.integers(-30, 10)))
        freqs.append(tuple(int(v) for v in f))
    return Tables(precision, tuple(lows), tuple(freqs))


def _mode(t: Tables, c: int) -> int:
    f = t.freqs[c][:-1]
    return t.lows[c] + f.index(max(f))


def _spec_encode(values: np.ndarray, t: Tables) -> bytes:
    """Section 12.5.2's encoder, written out one value at a time with Python integers."""
    k, p = values.shape
    coded = [c for c in range(k) if any(v != _mode(t, c) for v in values[c])]
    bitmap = sum(1 << c for c in coded).to_bytes((k + 7) // 8, "little")
    n, x, emitted, escapes = t.precision, {c: 1 << 16 for c in coded}, [], []
    for c in coded:
        for v in values[c]:
            if not t.lows[c] <= v < t.lows[c] + len(t.freqs[c]) - 1:
                escapes.append(int(v))
    for pos in range(p - 1, -1, -1):
        for c in reversed(coded):
            s = int(values[c, pos]) - t.lows[c]
            if not 0 <= s < len(t.freqs[c]) - 1:
                s = len(t.freqs[c]) - 1
            f, b = t.freqs[c][s], sum(t.freqs[c][:s])
            if x[c] >= f << (32 - n):
                emitted.append(x[c] & 0xFFFF)
                x[c] >>= 16
            x[c] = (x[c] // f << n) + x[c] % f + b
    return (bitmap + len(escapes).to_bytes(4, "little")
            + b"".join(v.to_bytes(2, "little", signed=True) for v in escapes)
            + b"".join(x[c].to_bytes(4, "little") for c in coded)
            + b"".join(w.to_bytes(2, "little") for w in reversed(emitted)))


def _spec_decode(payload: bytes, t: Tables, p: int) -> list[list[int]]:
    """Section 12.5.2's normative decoder, as written there."""
    k, n, nmap = t.channels, t.precision, (t.channels + 7) // 8
    bitmap = int.from_bytes(payload[:nmap], "little")
    coded = [c for c in range(k) if bitmap >> c & 1]
    e = int.from_bytes(payload[nmap:nmap + 4], "little")
    escapes = [int.from_bytes(payload[nmap + 4 + 2 * i:nmap + 6 + 2 * i], "little", signed=True) for i in range(e)]
    at = nmap + 4 + 2 * e
    x = {c: int.from_bytes(payload[at + 4 * i:at + 4 * i + 4], "little") for i, c in enumerate(coded)}
    words = payload[at + 4 * len(coded):]
    nxt, symbols = 0, {c: [0] * p for c in coded}
    for pos in range(p):
        for c in coded:
            slot = x[c] % (1 << n)
            s, start = 0, 0
            while not start <= slot < start + t.freqs[c][s]:
                start += t.freqs[c][s]
                s += 1
            x[c] = t.freqs[c][s] * (x[c] >> n) + slot - start
            if x[c] < 1 << 16:
                x[c] = (x[c] << 16) | int.from_bytes(words[2 * nxt:2 * nxt + 2], "little")
                nxt += 1
            symbols[c][pos] = s
    assert nxt == len(words) // 2 and all(v == 1 << 16 for v in x.values())
    out, it = [], iter(escapes)
    for c in range(k):
        esc = len(t.freqs[c]) - 1
        out.append([next(it) if s == esc else t.lows[c] + s for s in symbols[c]] if c in x else [_mode(t, c)] * p)
    return out


@pytest.mark.parametrize("precision", [5, 12, 16])
def test_round_trip_matches_the_spec_algorithm(precision):
    rng = np.random.default_rng(precision)
    t = _random_tables(rng, 11, precision)
    values = np.clip(rng.laplace(0, 12, (11, 300)).round(), -32768, 32767).astype(np.int64)
    values[0, :3] = [-32768, 32767, 0]  # the ends of int16 escape
    values[[2, 9]] = t.modes[[2, 9], None]  # channels constant at their mode are left out
    payload = rans.encode(values, t)
    assert payload == _spec_encode(values, t)
    assert (rans.decode(payload, t, 300) == values).all()
    assert _spec_decode(payload, t, 300) == values.tolist()


def test_round_trip_one_value_per_channel_and_no_escapes():
    t = Tables(2, (0,), ((1, 2, 1),))
    for v in range(-1, 3):
        payload = rans.encode(np.array([[v]]), t)
        assert rans.decode(payload, t, 1).tolist() == [[v]]
    assert int.from_bytes(rans.encode(np.array([[0, 1, 1, 0]]), t)[1:5], "little") == 0


def test_channels_constant_at_their_mode_cost_one_bit():
    t = laplace_tables([0.0] * 9, [0.01] * 9)
    payload = rans.encode(np.zeros((9, 1000), np.int64), t)
    assert payload == bytes(2 + 4)  # channel map, no escapes, no states, no words
    assert (rans.decode(payload, t, 1000) == 0).all()
    values = np.zeros((9, 1000), np.int64)
    values[8, 7] = 1
    payload = rans.encode(values, t)
    assert payload[:2] == bytes([0, 1]) and (rans.decode(payload, t, 1000) == values).all()


def test_values_outside_int16_are_refused():
    t = Tables(2, (0,), ((1, 2, 1),))
    with pytest.raises(maskcodec.InvalidInputError, match="int16"):
        rans.encode(np.array([[40000]]), t)


def test_a_skewed_table_codes_near_its_entropy():
    """One value with probability 1 - 2^-12 costs a small fraction of a bit: the coder follows the table."""
    t = Tables(12, (0,), ((4094, 1, 1),))
    values = np.zeros((1, 20000), np.int64)
    values[0, 0] = 1
    payload = rans.encode(values, t)  # 12 bits for the 1, and 20000 * 0.0007 bits for the zeros
    assert len(payload) <= 1 + 4 + 4 + 2 * 3


@pytest.mark.parametrize("text, match", [
    ('{"precision": 17, "channels": [{"low": 0, "freqs": [1, 1]}]}', "precision"),
    ('{"precision": 2, "channels": [{"low": 0, "freqs": [1, 2]}]}', "summing to 2\\*\\*2"),
    ('{"precision": 2, "channels": [{"low": 0, "freqs": [4, 0]}]}', "each >= 1"),
    ('{"precision": 2, "channels": [{"low": 0, "freqs": [4]}]}', "at least 2"),
    ('{"precision": 2, "channels": [{"low": 32767, "freqs": [1, 1, 2]}]}', "outside int16"),
    ('{"precision": 2, "channels": []}', "one low value per channel"),
    ('{"precision": 2}', "JSON object"),
    ('{"precision": 2, "channels": [{"low": 0.5, "freqs": [2, 2]}]}', "not an integer"),
    ('{"precision": 2, "channels": [{"low": 0, "freqs": ["2", 2]}]}', "not an integer"),
    ("not json", "JSON object"),
])
def test_malformed_tables_are_model_errors(text, match):
    with pytest.raises(ModelError, match=match):
        Tables.from_json(text)


def test_tables_serialize_to_json_and_back():
    t = laplace_tables([0.3, -2.0], [0.5, 4.0])
    assert Tables.from_json(t.to_json()) == t
    assert json.loads(t.to_json())["precision"] == 15


def test_laplace_tables_follow_the_prior():
    t = laplace_tables([2.4, -10.0], [1.0, 0.01], precision=15)
    for c, (mu, f) in enumerate(zip([2.4, -10.0], t.freqs)):
        assert sum(f) == 1 << 15 and min(f) >= 1
        values = np.arange(t.lows[c], t.lows[c] + len(f) - 1)
        assert values[np.argmax(f[:-1])] == round(mu)  # the mode is the integer nearest the mean
    assert len(t.freqs[1]) <= 4 and max(t.freqs[1]) > (1 << 15) - 4  # a collapsed channel costs almost nothing


@pytest.mark.parametrize("cut", ["short", "odd", "extra", "state", "escapes", "huge", "map"])
def test_damaged_payloads_are_format_errors(cut):
    rng = np.random.default_rng(3)
    t = _random_tables(rng, 3, 12)
    values = rng.laplace(0, 12, (3, 50)).round().astype(np.int64)
    payload = rans.encode(values, t)
    e = int.from_bytes(payload[1:5], "little")
    bad = {"short": payload[:-2], "odd": payload + b"\0", "extra": payload + b"\0\0",
           "state": payload[:5 + 2 * e] + (5).to_bytes(4, "little") + payload[9 + 2 * e:],
           "escapes": payload[:1] + (e + 1).to_bytes(4, "little") + payload[5:],
           "huge": payload[:1] + (2 ** 32 - 1).to_bytes(4, "little") + payload[5:],
           "map": bytes([payload[0] | 0x80]) + payload[1:]}[cut]
    with pytest.raises(FormatError, match="range-coded latent payload is corrupted"):
        rans.decode(bad, t, 50)


def test_random_payloads_never_crash():
    """Hostile bytes (the CRC can be forged) end in a FormatError or a decode, never another exception."""
    rng = np.random.default_rng(4)
    t = _random_tables(rng, 4, 10)
    for size in list(range(0, 40)) + [200] * 50:
        data = rng.integers(0, 256, size, dtype=np.uint8).tobytes()
        try:
            out = rans.decode(data, t, 20)
        except FormatError:
            continue
        assert out.shape == (4, 20)


def test_shipped_range_coded_models_code_exactly_and_beat_zstd(encoder_output):
    """latent-q models (coder 1 or 3): both halves carry the same tables; an odd-sized real crop round-trips
    its integer latents exactly, and the range code is smaller than the zstd coding of the same latents."""
    entries = {k: e for k, e in load().of_kind(LatentEntry).items() if e.coder in ("rans", "context")}
    if not entries:
        pytest.skip("no range-coded latent model in models/")
    images = {3: maskcodec.sample_image("mastcam")[:203, :317], 1: maskcodec.sample_image("navcam")[:203, :217]}
    for model_id, entry in sorted(entries.items()):
        image = images[entry.channels]
        tables = latent_mode.model_tables(entry, "decoder")
        assert latent_mode.model_tables(entry, "encoder") == tables
        data = maskcodec.encode(image, mode="latent", model=model_id)
        h = maskcodec.inspect(data)
        assert h.latent.coder == entry.coder and h.latent.offsets == () and h.shape == image.shape
        z = encoder_output(image, model_id)
        assert (maskcodec.latents(data) == np.rint(z)).all()
        assert maskcodec.decode(data).shape == image.shape
        q, _, _ = latent_mode.quantize(np.rint(z), "integer")
        assert h.payload_size < len(compress(q.tobytes())), model_id


def test_latents_of_a_range_coded_file_need_its_model(monkeypatch, tmp_path):
    """latents() of a range-coded (coder 3) file decodes its integers with the named model's tables; without the
    model, a ModelError says so."""
    vectors = Path(__file__).resolve().parent.parent / "spec" / "vectors"
    data = (vectors / "valid" / "latent_rgb8_context.mcx").read_bytes()
    monkeypatch.setenv("MASKCODEC_MODELS", str(vectors / "models"))
    assert (maskcodec.latents(data) == np.load(vectors / "valid" / "latent_rgb8_context.latent.npy")).all()
    (tmp_path / "manifest.json").write_text('{"models": []}')
    monkeypatch.setenv("MASKCODEC_MODELS", str(tmp_path))
    with pytest.raises(ModelError, match="ref-rgb-context"):
        maskcodec.latents(data)
