"""The C99 flight segment survivor coder (flight/src/segment.c, spec 11.3) against the numpy reference
(maskcodec.survivors.segment_coding.encode_run_reference / decode_run_reference): bodies byte for byte, decoded
values value for value, refusals refusal for refusal.

Two ways in: the extension (``segment_coding.encode_run`` / ``decode_run``, which ``maskcodec.encode(...,
segment_size=S)``, ``StreamEncoder`` and ``maskcodec.decode`` run by default) and the tool ``mcsegment`` of a
built copy of flight/ (``batch`` reads many cases at once), also built with AddressSanitizer and UBSan. Real crops
of the bundled samples at 1, 3 and 4 bands, 8, 12 and 16 bits, both mask kinds, several keeps, max_error 0, 1, 3
and segment sizes 128 to 2048; whole streams with the reference swapped in; every ``s4_*`` vector; damaged bodies.
"""
from __future__ import annotations

import json
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec import errors
from maskcodec.errors import FormatError
from maskcodec.framing import stream as framing
from maskcodec.masks import keep_to_threshold, kept_indices
from maskcodec.modes.mask import stream as mask_stream
from maskcodec.survivors import segment_coding as coding
from survivor_cases import body_corruptions

try:
    from maskcodec.survivors import _flight
except ImportError:
    _flight = None

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"
ERRORS = {k: v for k, v in json.loads((VECTORS / "errors" / "index.json").read_text()).items() if k.startswith("s4_")}
VALID = sorted(p.stem for p in (VECTORS / "valid").glob("s4_*.mcx"))
SALVAGE = sorted(p.stem for p in (VECTORS / "salvage").glob("s4_*.mcx"))
KINDS = ("hash", "bluenoise")
SIZES = (128, 256, 512, 1024, 2048)
HEAD_CRC = framing.HEAD_SIZE + 4

needs_extension = pytest.mark.skipif(_flight is None or coding._c_encode is None,
                                     reason="the C extension is not built (pip install -e .)")


def _scaled(a: np.ndarray, bits: int) -> np.ndarray:
    """8-bit samples stretched to ``bits`` (the low bits repeat the high ones): real structure at any depth."""
    a = a.astype(np.int64)
    return (a << (bits - 8)) | (a >> (16 - bits)) if bits > 8 else a


def _image(bands: int, bits: int) -> np.ndarray:
    """A real crop (H, W, C) of ``bands`` bands at ``bits`` bits (int64)."""
    if bands == 1:
        if bits == 12:
            return maskcodec.sample_image("navcam12")[10:138, 20:180, None].astype(np.int64)
        return _scaled(maskcodec.sample_image("navcam")[20:148, 30:190, None], bits)
    rgb = maskcodec.sample_image("mastcam")[60:188, 100:260].astype(np.int64)
    four = np.concatenate([rgb, rgb.mean(axis=2, keepdims=True).astype(np.int64)], axis=2)
    return _scaled(four[..., :bands], bits)


def _stream_survivors(img: np.ndarray, keep: float, kind: str, seed: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """The kept pixels of ``img`` in stream order (G = 4, B = 64) and their values ``(n, C)``."""
    h, w, c = img.shape
    idx = kept_indices(h, w, keep_to_threshold(keep), seed, kind)
    idx = idx[coding.stream_order(idx, w, coding.LANES, coding.WINDOW)]
    return idx, img.reshape(-1, c)[idx]


def _runs(idx, values, width, bits, transform, d, rng, count: int = 3):
    """A few runs of the stream (random starts, random segment sizes) with their rooms: (idx, values, room)."""
    for _ in range(count):
        room = int(rng.choice(SIZES)) - HEAD_CRC - int(rng.integers(0, 2)) * 60  # some carry a description
        start = int(rng.integers(0, max(1, idx.size - 64)))
        m = min(idx.size - start, 6 * room)  # enough survivors that most runs end on one that does not fit
        yield idx[start:start + m], values[start:start + m], room


# (bands, bits, transforms)
IMAGES = [(1, 8, (0,)), (1, 12, (0,)), (1, 16, (0,)), (3, 8, (1, 0)), (3, 16, (1, 2)), (4, 8, (2,)), (4, 12, (2, 0))]


# ------------------------------------------------------------------------------------ the extension's coder

@needs_extension
@pytest.mark.parametrize("bands,bits,transforms", IMAGES)
def test_runs_match_the_reference(bands, bits, transforms):
    """encode_run (C) == encode_run_reference (numpy) byte for byte, and both decoders return the reference's
    reconstruction, within max_error of the input."""
    img = _image(bands, bits)
    w = img.shape[1]
    rng = np.random.default_rng(bands * 100 + bits)
    for kind in KINDS:
        for keep in (0.05, 0.3, 1.0):
            idx, values = _stream_survivors(img, keep, kind)
            for d in (0, 1, 3):
                transform = transforms[int(rng.integers(0, len(transforms)))]
                for i2, v2, room in _runs(idx, values, w, bits, transform, d, rng, count=1):
                    n, body = coding.encode_run(i2, v2, w, bits, transform, d, coding.LANES, coding.WINDOW, room)
                    assert (n, body) == coding.encode_run_reference(i2, v2, w, bits, transform, d, coding.LANES, room)
                    assert 0 < n <= i2.size and len(body) <= room
                    recon = coding.quantized_run(i2[:n], v2[:n], w, bits, transform, d, coding.LANES).recon
                    padded = body + bytes(room - len(body))
                    got = coding.decode_run(padded, i2[:n], w, bits, transform, d, bands, coding.LANES,
                                            coding.WINDOW, "s")
                    assert np.array_equal(got, recon)
                    assert np.array_equal(coding.decode_run_reference(padded, i2[:n], w, bits, transform, d, bands,
                                                                      coding.LANES, "s"), recon)
                    assert np.abs(got - v2[:n]).max() <= d


@needs_extension
def test_run_edges():
    """No survivor, one survivor, G = 1 (scan order), a narrow room, 65535 survivors at most, bits 1."""
    img = _image(3, 8)
    w = img.shape[1]
    idx, values = _stream_survivors(img, 0.5, "hash")
    empty = coding.encode_run(idx[:0], values[:0], w, 8, 1, 0, 4, 64, 100)
    assert empty == coding.encode_run_reference(idx[:0], values[:0], w, 8, 1, 0, 4, 100) == (0, b"\x04\x00" + bytes(4))
    assert coding.decode_run(empty[1], idx[:0], w, 8, 1, 0, 3, 4, 64, "s").shape == (0, 3)
    for room in (6, 12, 13, 40):
        assert coding.encode_run(idx, values, w, 8, 1, 0, 4, 64, room) == \
            coding.encode_run_reference(idx[:50], values[:50], w, 8, 1, 0, 4, room)
    scan = np.sort(idx)
    assert coding.encode_run(scan, img.reshape(-1, 3)[scan], w, 8, 1, 2, 1, 1, 900) == \
        coding.encode_run_reference(scan[:2000], img.reshape(-1, 3)[scan[:2000]], w, 8, 1, 2, 1, 900)
    flat = np.zeros((300, 300), np.int64)  # flat: each survivor costs a few thousandths of a byte at 1 bit
    big = np.arange(90000)
    n, body = coding.encode_run(big, flat.reshape(-1, 1), 300, 1, 0, 0, 1, 1, 1000)
    assert n == 65535 and len(body) < 1000
    assert np.array_equal(coding.decode_run(body, big[:n], 300, 1, 0, 0, 1, 1, 1, "s"), np.zeros((n, 1)))


@needs_extension
def test_run_refuses_bad_survivors():
    img = _image(1, 8)
    idx, values = _stream_survivors(img, 0.3, "hash")
    with pytest.raises(errors.InvalidInputError, match="stream order"):
        coding.encode_run(idx[::-1], values, img.shape[1], 8, 0, 0, 4, 64, 500)
    with pytest.raises(errors.InvalidInputError, match="stream order"):
        coding.decode_run(b"\x04\x00" + bytes(20), idx[::-1][:5], img.shape[1], 8, 0, 0, 1, 4, 64, "s")
    with pytest.raises(errors.InvalidInputError, match="refuses its parameters"):
        coding.encode_run(idx, values, img.shape[1], 8, 0, 0, 0, 64, 500)


@needs_extension
def test_damaged_bodies_are_refused_as_the_reference_refuses_them():
    """Every damaged copy of real bodies: C and numpy both refuse it (FormatError) or both decode the same values."""
    rng = np.random.default_rng(3)
    refused = 0
    for bands, bits, transform in ((1, 12, 0), (3, 8, 1), (4, 8, 2)):
        img = _image(bands, bits)
        w = img.shape[1]
        idx, values = _stream_survivors(img, 0.2, "bluenoise")
        for d in (0, 3):
            for i2, v2, room in _runs(idx, values, w, bits, transform, d, rng, count=2):
                n, body = coding.encode_run(i2, v2, w, bits, transform, d, 4, 64, room)
                for damaged in body_corruptions(body + bytes(room - len(body)), rng):
                    try:
                        want = coding.decode_run_reference(damaged, i2[:n], w, bits, transform, d, bands, 4, "s")
                    except FormatError:
                        refused += 1
                        with pytest.raises(FormatError) as info:
                            coding.decode_run(damaged, i2[:n], w, bits, transform, d, bands, 4, 64, "s")
                        assert type(info.value) is FormatError
                    else:
                        got = coding.decode_run(damaged, i2[:n], w, bits, transform, d, bands, 4, 64, "s")
                        assert np.array_equal(got, want)
    assert refused > 200


# ------------------------------------------------------------------------- whole streams, C and reference

@pytest.fixture
def reference(monkeypatch):
    """A function running its argument with the numpy reference swapped in for the C coder."""
    def run(f, *args, **kwargs):
        with monkeypatch.context() as m:
            m.setattr(coding, "_c_encode", None)
            m.setattr(coding, "_c_decode", None)
            return f(*args, **kwargs)
    return run


@needs_extension
@pytest.mark.parametrize("bands,bits", [(1, 8), (3, 8), (4, 12), (1, 16)])
def test_streams_match_the_reference(reference, bands, bits):
    """maskcodec.encode(..., segment_size=S) and maskcodec.survivors: C and the reference give the same bytes and
    the same values, for every mask kind, keep, max_error and segment size tried."""
    rng = np.random.default_rng(bands + bits)
    img = _image(bands, bits)[:48, :80].astype(np.uint16 if bits > 8 else np.uint8)
    img = img[..., 0] if bands == 1 else img
    for kind in KINDS:
        for keep, d in ((0.1, 0), (0.4, 1), (1.0, 3)):
            size = int(rng.choice(SIZES[:3]))
            kwargs = dict(seed=11, bits=bits, mask=kind, max_error=d, segment_size=size)
            data = maskcodec.encode(img, keep, **kwargs)
            assert reference(maskcodec.encode, img, keep, **kwargs) == data
            h, m, v = maskcodec.survivors(data)
            h2, m2, v2 = reference(maskcodec.survivors, data)
            assert h == h2 and np.array_equal(m, m2) and np.array_equal(v, v2)
            assert np.abs(v.astype(np.int64) - img[m].reshape(v.shape)).max(initial=0) <= d


@needs_extension
def test_stream_encoder_random_chunks_match(reference):
    """StreamEncoder fed random row chunks: the bytes of maskcodec.encode, and of the reference's encoder."""
    rng = np.random.default_rng(8)
    img = maskcodec.sample_image("mastcam")[:100]
    for size, d, kind in ((256, 0, "bluenoise"), (1024, 2, "hash"), (2048, 0, "hash")):
        whole = maskcodec.encode(img, 0.2, seed=4, segment_size=size, max_error=d, mask=kind)
        assert reference(maskcodec.encode, img, 0.2, seed=4, segment_size=size, max_error=d, mask=kind) == whole
        for _ in range(3):
            enc = maskcodec.StreamEncoder(img.shape, img.dtype, 0.2, seed=4, segment_size=size, max_error=d, mask=kind)
            parts, y = [], 0
            while y < img.shape[0]:
                step = int(rng.integers(1, 40))
                parts.append(enc.write(img[y:y + step]))
                y += step
            assert b"".join(parts) + enc.close() == whole


@needs_extension
@pytest.mark.parametrize("name", VALID)
def test_valid_vectors_through_both_coders(reference, name):
    data = (VECTORS / "valid" / f"{name}.mcx").read_bytes()
    h = maskcodec.inspect(data)
    image = np.load(VECTORS / "valid" / f"{name}.input.npy")
    kwargs = dict(keep=h.keep, seed=h.seed, bits=h.bits, metadata=h.metadata or None, max_error=h.max_error,
                  segment_size=h.file_size // h.segments, mask=maskcodec.masks.KINDS[h.mask_kind].name)
    assert maskcodec.encode(image, **kwargs) == data
    assert reference(maskcodec.encode, image, **kwargs) == data
    kept = np.load(VECTORS / "valid" / f"{name}.survivors.npy")
    assert np.array_equal(maskcodec.survivors(data)[2], kept)
    assert np.array_equal(reference(maskcodec.survivors, data)[2], kept)


@needs_extension
@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_vectors_through_both_coders(reference, name):
    data = (VECTORS / "errors" / f"{name}.mcx").read_bytes()
    expected = getattr(errors, ERRORS[name]["error"])
    for run in (lambda: maskcodec.survivors(data), lambda: reference(maskcodec.survivors, data)):
        with pytest.raises(expected) as info:
            run()
        assert type(info.value) is expected


@needs_extension
@pytest.mark.parametrize("name", SALVAGE)
def test_salvage_vectors_through_both_coders(reference, name):
    data = (VECTORS / "salvage" / f"{name}.mcx").read_bytes()
    expected = json.loads((VECTORS / "salvage" / f"{name}.json").read_text())
    expected.pop("metadata", None)
    got = mask_stream.salvage(data, maskcodec.Limits())
    ref = reference(mask_stream.salvage, data, maskcodec.Limits())
    assert vars(got[3]) == vars(ref[3]) == expected
    assert np.array_equal(got[1], ref[1]) and np.array_equal(got[2], ref[2])


def test_the_reference_runs_without_the_extension(reference):
    img = maskcodec.sample_image("navcam")[:40, :60]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = reference(maskcodec.encode, img, 0.3, seed=1, segment_size=256)
        h, m, v = reference(maskcodec.survivors, data)
    assert (v[:, 0] == img[m]).all()


# ------------------------------------------------------------------------------------- the tool mcsegment

class Tool:
    """mcsegment batch on a file of cases."""

    def __init__(self, binary: Path, folder: Path):
        self.binary, self.folder, self.cases = binary, folder, []

    @staticmethod
    def _head(op, w, c, bits, transform, d, room, idx) -> bytes:
        return b"MCSG" + np.array([op, w, c, bits, transform, d, coding.LANES, coding.WINDOW, room, idx.size],
                                  "<u4").tobytes() + np.asarray(idx, "<u4").tobytes()

    def encode(self, idx, values, w, bits, transform, d, room) -> None:
        self.cases.append(self._head(0, w, values.shape[1], bits, transform, d, room, idx)
                          + np.ascontiguousarray(values, "<u2").tobytes())

    def decode(self, body, idx, w, c, bits, transform, d) -> None:
        self.cases.append(self._head(1, w, c, bits, transform, d, 0, idx) + np.array([len(body)], "<u4").tobytes()
                          + body)

    def run(self) -> list[list[str]]:
        path = self.folder / "cases"
        path.write_bytes(b"".join(self.cases))
        done = subprocess.run([str(self.binary), "batch", str(path)], capture_output=True, text=True)
        assert done.returncode == 0 and not done.stderr, done.stderr[-3000:]
        lines = [line.split() for line in done.stdout.splitlines()]
        assert len(lines) == len(self.cases)
        self.cases = []
        return lines


def _u16(hexed: str, channels: int) -> np.ndarray:
    return np.frombuffer(bytes.fromhex(hexed), "<u2").reshape(-1, channels).astype(np.int64)


def _tool_cases(rng):
    """(bands, bits, transform, d, idx, values, room, w) for the tool tests: real crops, every image kind."""
    for bands, bits, transforms in IMAGES:
        img = _image(bands, bits)
        w = img.shape[1]
        for kind in KINDS:
            idx, values = _stream_survivors(img, float(rng.choice([0.05, 0.3, 1.0])), kind)
            for d in (0, 1, 3):
                transform = transforms[int(rng.integers(0, len(transforms)))]
                for i2, v2, room in _runs(idx, values, w, bits, transform, d, rng, count=1):
                    yield bands, bits, transform, d, i2, v2, room, w


@pytest.mark.parametrize("build", ["normal", "sanitized"])
def test_mcsegment_matches_the_reference(request, tmp_path, build):
    """mcsegment's encoder gives the reference's bodies and reconstructions, its decoder the reference's values
    and refusals (on damaged bodies too): built normally and with AddressSanitizer and UBSan (zero findings: any
    would abort the batch)."""
    folder = request.getfixturevalue("flight_build" if build == "normal" else "flight_sanitized")
    tool = Tool(folder / "mcsegment", tmp_path)
    rng = np.random.default_rng(1 if build == "normal" else 2)
    cases = list(_tool_cases(rng))
    expect = []
    for bands, bits, transform, d, i2, v2, room, w in cases:
        n, body = coding.encode_run_reference(i2, v2, w, bits, transform, d, coding.LANES, room)
        recon = coding.quantized_run(i2[:n], v2[:n], w, bits, transform, d, coding.LANES).recon
        tool.encode(i2, v2, w, bits, transform, d, room)
        expect.append((n, body, recon))
    for line, (n, body, recon), case in zip(tool.run(), expect, cases):
        assert line[0] == "ok" and int(line[1]) == n and bytes.fromhex(line[2]) == body, line[:2]
        assert np.array_equal(_u16(line[3] if len(line) > 3 else "", case[5].shape[1]), recon)
    # the decoder, on the bodies and their damaged copies, in one batch
    want = []
    for (bands, bits, transform, d, i2, v2, room, w), (n, body, recon) in zip(cases, expect):
        copies = [body + bytes(room - len(body))]
        if build == "sanitized" or rng.random() < 0.3:
            copies += body_corruptions(copies[0], rng)
        for damaged in copies:
            tool.decode(damaged, i2[:n], w, bands, bits, transform, d)
            try:
                want.append(coding.decode_run_reference(damaged, i2[:n], w, bits, transform, d, bands, coding.LANES,
                                                        "s"))
            except FormatError:
                want.append(None)
    refused = 0
    for line, expected in zip(tool.run(), want):
        if expected is None:
            refused += 1
            assert line[0] == "refused" and line[1] != "arg", line
        else:
            assert line[0] == "ok", line
            assert np.array_equal(_u16(line[1] if len(line) > 1 else "", expected.shape[1]), expected)
    assert refused > (300 if build == "sanitized" else 20)
