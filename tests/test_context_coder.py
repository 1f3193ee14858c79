"""Coder 3, the context coder (spec/format.md section 12.6): the vectors decoded by a scalar decoder written
from the spec's text alone, round trips, every refusal of malformed tables and payloads, the rate map, the
table fitting of the training tools, and determinism across onnxruntime settings."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec.runtime import manifest, onnx as networks
from maskcodec.entropy import context, rans
from maskcodec.errors import FormatError, InvalidInputError, ModelError
from maskcodec.entropy.context import ContextTables
from maskcodec.framing.zstd_frame import compress
from maskcodec.runtime.manifest import LatentEntry, load

ROOT = Path(__file__).resolve().parent.parent / "spec" / "vectors"
CONTEXT_VECTORS = ["latent_rgb8_context", "latent_rgb8_context_edge"]


@pytest.fixture
def reference(monkeypatch):
    monkeypatch.setenv("MASKCODEC_MODELS", str(ROOT / "models"))


def _tables() -> ContextTables:
    with manifest.using(ROOT / "models"):
        return maskcodec.modes.latent.model_tables(manifest.load().get("ref-rgb-context"), "decoder")


def spec_decode(payload: bytes, t: dict, k: int, h: int, w: int) -> list:
    """Section 12.6.2, step by step, in Python integers: the decoder a C implementer would write."""
    n = t["precision"]
    big_m = 1 << n
    g = (k + 7) // 8
    coded = [c for c in range(k) if payload[c // 8] >> (c % 8) & 1]
    e = int.from_bytes(payload[g:g + 4], "little")
    esc = [int.from_bytes(payload[g + 4 + 2 * i:g + 6 + 2 * i], "little", signed=True) for i in range(e)]
    at = g + 4 + 2 * e
    x = {c: int.from_bytes(payload[at + 4 * i:at + 4 * i + 4], "little") for i, c in enumerate(coded)}
    at += 4 * len(coded)
    words = [int.from_bytes(payload[i:i + 2], "little") for i in range(at, len(payload), 2)]
    nxt = nxt_e = 0
    r = [[[0] * w for _ in range(h)] for _ in range(k)]
    for p in range(h * w):
        y, i = divmod(p, w)
        s = [(abs(r[c][y][i - 1]) if i > 0 else 0) + (abs(r[c][y - 1][i]) if y > 0 else 0) for c in range(k)]
        big_s = sum(s)
        qe = sum(1 for edge in t["energy_edges"] if edge <= big_s)
        tables = {c: t["map"][c][sum(1 for a in t["spatial_edges"] if a <= s[c]) * (len(t["energy_edges"]) + 1)
                                 + qe] for c in coded}
        for c in coded:
            table = t["tables"][tables[c]]
            freqs = table["freqs"]
            slot = x[c] % big_m
            start, sym = 0, 0
            while start + freqs[sym] <= slot:
                start += freqs[sym]
                sym += 1
            x[c] = freqs[sym] * (x[c] // big_m) + slot - start
            if x[c] < 1 << 16:
                x[c] = x[c] * (1 << 16) + words[nxt]
                nxt += 1
            if sym == len(freqs) - 1:
                r[c][y][i] = esc[nxt_e] - t["centers"][c]
                nxt_e += 1
            else:
                r[c][y][i] = table["low"] + sym
    assert nxt == len(words) and nxt_e == e and all(v == 1 << 16 for v in x.values())
    return [[[t["centers"][c] + r[c][y][i] for i in range(w)] for y in range(h)] for c in range(k)]


@pytest.mark.parametrize("name", CONTEXT_VECTORS)
def test_spec_text_alone_decodes_the_vectors(name):
    data = (ROOT / "valid" / f"{name}.mcx").read_bytes()
    h = maskcodec.inspect(data)
    payload = maskcodec.codec.coded(data)[1]
    t = json.loads(_tables().to_json())
    lat = h.latent
    values = spec_decode(payload, t, lat.channels, lat.height, lat.width)
    assert (np.array(values) == np.load(ROOT / "valid" / f"{name}.latent.npy")).all()


def test_main_vector_exercises_every_class_and_the_escape_order():
    t = _tables()
    z = np.load(ROOT / "valid" / "latent_rgb8_context.latent.npy").astype(np.int64)
    residuals = z - np.array(t.centers)[:, None, None]
    assert set(context.context_classes(residuals, t.spatial_edges, t.energy_edges).ravel().tolist()) == set(range(t.classes))
    payload = maskcodec.codec.coded((ROOT / "valid" / "latent_rgb8_context.mcx").read_bytes())[1]
    escaped = context.symbols(t, z)[1]
    listed = np.frombuffer(payload[5:5 + 2 * int(escaped.sum())], "<i2")
    assert list(listed) == list(z.reshape(6, -1).T[escaped.reshape(6, -1).T]) != list(z[escaped])
    edge = maskcodec.codec.coded((ROOT / "valid" / "latent_rgb8_context_edge.mcx").read_bytes())[1]
    assert edge[0] == 0b111110  # channel 0 equals its centre: left out


def _random_tables(rng, k: int) -> ContextTables:
    from maskcodec.tools.train.latent_export import laplace_tables
    family = laplace_tables([0.0] * 5, [0.05, 0.5, 2.0, 6.0, 20.0], precision=12)
    spatial, energy = (1, 3, 7), (4, 30)
    return ContextTables(precision=12, lows=family.lows, freqs=family.freqs,
                         centers=tuple(int(v) for v in rng.integers(-5, 5, k)), spatial_edges=spatial,
                         energy_edges=energy,
                         map=tuple(tuple(int(v) for v in rng.integers(0, 5, 12)) for _ in range(k)))


@pytest.mark.parametrize("seed", range(6))
def test_round_trip_with_escapes_extremes_and_left_out_channels(seed):
    rng = np.random.default_rng(seed)
    k, h, w = int(rng.integers(1, 12)), int(rng.integers(1, 9)), int(rng.integers(1, 11))
    t = _random_tables(rng, k)
    v = np.rint(rng.laplace(0, rng.uniform(0.2, 8), (k, h, w))).astype(np.int64) + np.array(t.centers)[:, None, None]
    v[rng.random((k, h, w)) < 0.02] = 32767
    v[rng.random((k, h, w)) < 0.02] = -32768
    if k > 1:
        v[k // 2] = t.centers[k // 2]
    payload = context.encode(v, t)
    assert (context.decode(payload, t, h, w) == v).all()
    assert (np.array(spec_decode(payload, json.loads(t.to_json()), k, h, w)) == v).all()
    if k > 1:
        assert not payload[(k // 2) // 8] >> ((k // 2) % 8) & 1


def test_every_damaged_payload_is_a_format_error():
    rng = np.random.default_rng(7)
    t = _random_tables(rng, 4)
    v = np.rint(rng.laplace(0, 3, (4, 5, 6))).astype(np.int64)
    payload = context.encode(v, t)
    for n in range(len(payload)):
        with pytest.raises(FormatError):
            context.decode(payload[:n], t, 5, 6)
    caught = 0
    for bit in range(8 * len(payload)):
        b = bytearray(payload)
        b[bit // 8] ^= 1 << (bit % 8)
        try:
            out = context.decode(bytes(b), t, 5, 6)
        except FormatError:
            caught += 1
        else:  # a flip the range code cannot see still gives a latent of the right shape (the CRC catches it)
            assert out.shape == v.shape
    assert caught > 0.8 * 8 * len(payload)  # escaped values and low state bits may flip unseen


def test_values_outside_int16_and_wrong_shapes_are_refused():
    t = _random_tables(np.random.default_rng(0), 2)
    with pytest.raises(InvalidInputError, match="int16"):
        context.encode(np.full((2, 1, 1), 40000), t)
    with pytest.raises(ModelError, match="context tables for 2 channels"):
        context.encode(np.zeros((3, 1, 1), np.int64), t)


def _json(**change) -> str:
    d = json.loads(_tables().to_json()) | change
    return json.dumps(d)


@pytest.mark.parametrize("change,match", [
    (dict(precision=17), "precision"),
    (dict(precision=True), "precision"),
    (dict(spatial_edges=[3, 3]), "increasing"),
    (dict(energy_edges=[-1]), "non-negative"),
    (dict(energy_edges=list(range(16))), "at most 15"),
    (dict(centers=[0] * 5), "rows"),
    (dict(centers=[40000] * 6), "int16"),
    (dict(map=[[0] * 8] * 6), "rows"),
    (dict(map=[[4] * 9] * 6), "index the family"),
    (dict(map=[[0.0] * 9] * 6), "12.6.1"),
    (dict(tables=[{"low": 0, "freqs": [1, 2]}]), "summing to 2\\*\\*13"),
    (dict(tables=[]), "one low value per family table"),
    (dict(centers="abc"), "12.6.1"),
])
def test_malformed_context_tables_are_model_errors(change, match):
    with pytest.raises(ModelError, match=match):
        ContextTables.from_json(_json(**change))


def test_malformed_json_is_a_model_error():
    for text in ("not json", "{}", json.dumps({"precision": 13, "tables": []})):
        with pytest.raises(ModelError):
            ContextTables.from_json(text)


def test_rate_map_adds_up_to_the_payload(reference):
    for name in CONTEXT_VECTORS:
        data = (ROOT / "valid" / f"{name}.mcx").read_bytes()
        h = maskcodec.inspect(data)
        bits = maskcodec.rate_map(data)
        assert bits.dtype == np.float32 and bits.shape == (h.latent.height, h.latent.width)
        total = float(bits.sum()) * h.latent.factor ** 2 / 8
        overhead = 1 + 4 + 4 * h.latent.channels + 2  # map, escape count, states, the last word
        assert total <= h.payload_size <= total + overhead + 4, (name, total, h.payload_size)
    with pytest.raises(InvalidInputError, match="coder 3"):
        maskcodec.rate_map((ROOT / "valid" / "latent_rgb8_minmax.mcx").read_bytes())
    with pytest.raises(InvalidInputError, match="mask-mode file; rate_map"):
        maskcodec.rate_map((ROOT / "valid" / "rgb8_keep0.1.mcx").read_bytes())


def test_rate_map_is_higher_where_the_scene_is_busy():
    """The shipped model on a real frame whose left half is made flat: the flat half costs far less."""
    image = maskcodec.sample_image("mastcam").copy()
    image[:, :160] = image[:, :160].mean(axis=(0, 1)).astype(np.uint8)
    bits = maskcodec.rate_map(maskcodec.encode(image, mode="latent", quality=2))
    assert bits[:, 1:9].mean() < 0.7 * bits[:, 11:].mean(), bits.mean(axis=0)  # measured 0.043 and 0.074


def test_fitted_context_tables_beat_one_table_per_channel():
    """latent_export.context_tables on real-looking latents (a smooth field plus texture in one half) codes
    them in fewer bits than the best single family table per channel."""
    from maskcodec.tools.train.latent_export import context_tables
    rng = np.random.default_rng(3)
    z = []
    for _ in range(4):
        busy = np.zeros((8, 24, 24))
        busy[:, :, 12:] = rng.laplace(0, 6, (8, 24, 12))
        z.append(np.rint(busy + rng.laplace(0, 0.3, (8, 24, 24))).astype(np.int64))
    t = context_tables(z)
    fitted = sum(context.bits(v, t).sum() for v in z)
    flat = t.family
    single = min(sum(rans.lengths(flat, *flat.symbols(np.full_like(v, j), v - np.array(t.centers)[:, None, None]))
                     .sum() for v in z) for j in range(len(t.freqs)))
    assert fitted < 0.85 * single


@pytest.mark.parametrize("level", ["ORT_DISABLE_ALL", "ORT_ENABLE_BASIC", "ORT_ENABLE_ALL"])
@pytest.mark.parametrize("threads", [1, 2])
def test_decoding_is_deterministic_across_onnxruntime_settings(level, threads, monkeypatch):
    """The shipped colour model's file decodes to bit-identical latents and, with graph optimizations and
    thread counts changed, to pixels within one level of the default session's."""
    import onnxruntime as ort

    if "latent-q1" not in manifest.load().of_kind(maskcodec.runtime.manifest.LatentEntry):
        pytest.skip("no latent-q1 installed")
    image = maskcodec.sample_image("mastcam")
    data = maskcodec.encode(image, mode="latent", quality=1)
    z, default = maskcodec.latents(data), maskcodec.decode(data).astype(np.int16)

    def make(path, sha256, _threads):
        opts = ort.SessionOptions()
        opts.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
        opts.intra_op_num_threads = threads
        return ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])

    monkeypatch.setattr(networks, "_session", make)
    assert maskcodec.latents(data).tobytes() == z.tobytes()
    assert np.abs(maskcodec.decode(data).astype(np.int16) - default).max() <= 1


def test_shipped_range_coded_models_code_exactly_and_beat_zstd(encoder_output):
    """latent-q models (coder 3): both halves carry the same tables; an odd-sized real crop round-trips
    its integer latents exactly, and the range code is smaller than the zstd coding of the same latents."""
    entries = {k: e for k, e in load().of_kind(LatentEntry).items() if e.coder != "zstd"}
    if not entries:
        pytest.skip("no range-coded latent model in models/")
    images = {3: maskcodec.sample_image("mastcam")[:203, :317], 1: maskcodec.sample_image("navcam")[:203, :217]}
    for model_id, entry in sorted(entries.items()):
        image = images[entry.channels]
        tables = maskcodec.modes.latent.model_tables(entry, "decoder")
        assert maskcodec.modes.latent.model_tables(entry, "encoder") == tables
        data = maskcodec.encode(image, mode="latent", model=model_id)
        h = maskcodec.inspect(data)
        assert h.latent.coder == entry.coder and h.latent.offsets == () and h.shape == image.shape
        z = encoder_output(image, model_id)
        assert (maskcodec.latents(data) == np.rint(z)).all()
        assert maskcodec.decode(data).shape == image.shape
        q, _, _ = maskcodec.modes.latent.quantize(np.rint(z), "integer")
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
