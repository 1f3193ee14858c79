"""The C99 flight segmented stream, format 4.0 (flight/src/stream.c, spec section 11), against maskcodec:
the writer byte for byte maskcodec.StreamEncoder's (random row chunks, a small output buffer), the strict reader
(spec 11.4) and salvage (11.5) decision for decision, value for value and report for report the reference's
(``maskcodec.modes.mask.stream.read`` and ``salvage``).

The tool ``mcstream`` of a built copy of flight/ does the C side (``encode`` a case file, ``batch`` many reads in one
process); its sanitized build (AddressSanitizer, UBSan) reads the conformance vectors and a bounded,
structure-aware fuzz of them (the mutations of test_salvage_fuzz: one field or byte of one segment changed, the
CRC32s recomputed), C accepting exactly what Python accepts, refusing with the same error class.
"""
from __future__ import annotations

import json
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

import maskcodec
import maskcodec.runtime.manifest
from conftest import RANKS
from maskcodec.errors import FormatError, MaskcodecError
from maskcodec.framing.fixed import encode_metadata
from maskcodec.masks import keep_to_threshold, KINDS
from maskcodec.modes.mask import stream as mask_stream
from test_salvage_fuzz import STREAMS, WEIGHTS, mutate

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"
ERRORS = {k: v for k, v in json.loads((VECTORS / "errors" / "index.json").read_text()).items() if k.startswith("s4_")}
VALID = sorted(p.stem for p in (VECTORS / "valid").glob("s4_*.mcx"))
SALVAGE = sorted(p.stem for p in (VECTORS / "salvage").glob("s4_*.mcx"))
KIND_IDS = {kind.name: k for k, kind in KINDS.items()}
DEFAULT = maskcodec.Limits()
FUZZ_LIMITS = maskcodec.Limits(max_pixels=1 << 20, max_samples=1 << 22, max_side=1 << 12)  # test_salvage_fuzz's


def _case(img, keep, seed, kind, bits, d, size, chunks, out_cap, metadata=None, model=None) -> bytes:
    """An mcstream encode case: the frame, its parameters, the row chunks and the output buffer's size."""
    h, w = img.shape[:2]
    c = img.shape[2] if img.ndim == 3 else 1
    sha = bytes.fromhex(maskcodec.runtime.manifest.load().get(model).onnx.sha256) if model else b""
    meta = encode_metadata(metadata)
    fields = [h, w, c, int(img.ndim == 3), img.dtype.itemsize, bits, KIND_IDS[kind], seed, keep_to_threshold(keep), d,
              size, mask_stream.REPEAT, 4, 64, len(model or ""), len(meta), out_cap, len(chunks)]
    return (b"MCSE" + np.array(fields, "<u4").tobytes() + (model or "").encode() + sha + meta
            + np.array(chunks, "<u4").tobytes() + np.ascontiguousarray(img).astype(img.dtype.newbyteorder("<")).tobytes())


def _encode(tool: Path, folder: Path, case: bytes) -> bytes | None:
    """The stream mcstream writes, or None when it refuses the parameters."""
    (folder / "case").write_bytes(case)
    done = subprocess.run([str(tool), "encode", str(RANKS), str(folder / "case"), str(folder / "out")],
                          capture_output=True, text=True)
    if done.returncode == 3:
        assert done.stdout == "refused arg\n", done.stdout
        return None
    assert done.returncode == 0 and not done.stderr, done.stdout + done.stderr
    return (folder / "out").read_bytes()


def _record(data: bytes, op: str, limits: maskcodec.Limits) -> bytes:
    fields = [{"strict": 0, "salvage": 1}[op], limits.max_side, limits.max_pixels, limits.max_channels,
              limits.max_samples, limits.max_metadata, len(data)]
    return b"MCSB" + np.array(fields, "<u4").tobytes() + data


def _batch(tool: Path, folder: Path, records: list[bytes]) -> list[str]:
    (folder / "batch").write_bytes(b"".join(records))
    done = subprocess.run([str(tool), "batch", str(RANKS), str(folder / "batch")], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == len(records)
    return lines


def _crc(idx: np.ndarray, values: np.ndarray) -> str:
    return f"{zlib.crc32(idx.astype('<u4').tobytes() + values.astype('<u2').tobytes()):08x}"


def expected_line(data: bytes, op: str, limits: maskcodec.Limits) -> str:
    """What mcstream batch prints for a read, from maskcodec's reader."""
    try:
        if op == "strict":
            header, m, values = mask_stream.read(data, limits)
            return f"ok {_crc(np.flatnonzero(m), values)}"
        header, known, values, r = mask_stream.salvage(data, limits)
        lost = ",".join(map(str, r.lost_segments)) or "-"
        return (f"ok {r.segments_expected} {r.segments_received} {r.survivors_expected} {r.survivors_recovered} "
                f"{r.bytes_skipped} {lost} {_crc(np.flatnonzero(known), values)}")
    except MaskcodecError as e:
        assert isinstance(e, FormatError), e
        return f"refused {type(e).__name__}"


def _same(line: str, want: str) -> bool:
    """mcstream's line against the reference's: refusals by class (mcstream adds the code's name)."""
    return line == want if want.startswith("ok") else " ".join(line.split()[:2]) == want


@pytest.fixture
def mcstream(flight_build) -> Path:
    return flight_build / "mcstream"


@pytest.fixture
def sanitized(flight_sanitized) -> Path:
    return flight_sanitized / "mcstream"


# ------------------------------------------------------------------------------------------------ writer

FRAMES = {
    "rgb8": lambda: maskcodec.sample_image("mastcam")[:140],
    "gray8": lambda: maskcodec.sample_image("navcam")[:90, :200],
    "gray12_axis": lambda: maskcodec.sample_image("navcam12")[:100, :150, None],
    "bands4_16": lambda: (maskcodec.sample_image("mastcam")[:70, :90].astype(np.uint16) * 257)[..., [0, 1, 2, 1]],
}


@pytest.mark.parametrize("name", sorted(FRAMES))
def test_writer_matches_stream_encoder(mcstream, tmp_path, name):
    """Random row chunks and output buffers (one segment up to many): the bytes of maskcodec.encode(...,
    segment_size=S), which StreamEncoder writes for any chunking; refused where it refuses the segment size."""
    img = FRAMES[name]()
    bits = {"gray12_axis": 12, "bands4_16": 16}.get(name, 8)
    rng = np.random.default_rng(len(name))
    for kind in ("bluenoise", "hash"):
        for keep, d, size in ((0.1, 0, 1024), (0.3, 2, 256), (1.0, 1, 2048), (0.05, 0, 128)):
            meta = {"sol": int(rng.integers(1000)), "note": "é"} if rng.random() < 0.5 else None
            model = "default" if img.ndim == 3 and img.shape[2] == 3 and rng.random() < 0.5 else None
            try:
                want = maskcodec.encode(img, keep, seed=5, bits=bits, mask=kind, max_error=d, segment_size=size,
                                        metadata=meta, model=model)
            except maskcodec.InvalidInputError:  # no room for the description and a survivor: C refuses it too
                want = None
            chunks = [int(c) for c in rng.integers(1, 70, 5)]
            cap = size * int(rng.integers(1, 4))
            got = _encode(mcstream, tmp_path, _case(img, keep, 5, kind, bits, d, size, chunks, cap, meta, model))
            assert got == want, (kind, keep, d, size)


def test_writer_and_readers_on_edges(mcstream, tmp_path):
    """No kept pixel (one segment of none), one row, one column, keep 1 with segments of 128 bytes, a frame taller
    than its window with a short last window, lanes that outnumber a window's last rows: written as maskcodec
    writes them, read back (strictly and in salvage, whole and without a segment) as maskcodec reads them."""
    gray = maskcodec.sample_image("navcam")
    records, wants = [], []
    for img, keep, size, chunks in ((gray[:20, :30], 1e-9, 128, [3]), (gray[:1], 0.5, 128, [1]),
                                    (gray[:, :1], 0.5, 256, [7, 100]), (gray[:33, :40], 1.0, 128, [64]),
                                    (gray[:131, :50], 0.2, 300, [1, 2, 200]), (gray[:66, :64], 0.4, 512, [65]),
                                    (gray[:194, :70], 0.3, 256, [130])):
        want = maskcodec.encode(img, keep, seed=3, mask="hash", segment_size=size)
        assert _encode(mcstream, tmp_path, _case(img, keep, 3, "hash", 8, 0, size, chunks, size)) == want
        for data in (want, want[:size] + want[2 * size:]):
            for op in ("strict", "salvage"):
                records.append(_record(data, op, DEFAULT))
                wants.append(expected_line(data, op, DEFAULT))
    for line, want in zip(_batch(mcstream, tmp_path, records), wants):
        assert _same(line, want), (line, want)


# ------------------------------------------------------------------------------------------------ readers

def _vector_records(limits=DEFAULT):
    records, wants = [], []
    paths = [VECTORS / "valid" / f"{n}.mcx" for n in VALID] + [VECTORS / "errors" / f"{n}.mcx" for n in ERRORS] + \
            [VECTORS / "salvage" / f"{n}.mcx" for n in SALVAGE]
    for path in paths:
        data = path.read_bytes()
        for op in ("strict", "salvage"):
            records.append(_record(data, op, limits))
            wants.append((path.parent.name, path.stem, op, expected_line(data, op, limits)))
    return records, wants


@pytest.mark.parametrize("build", ["normal", "sanitized"])
def test_readers_on_the_vectors(request, tmp_path, build):
    """Valid vectors decode to their survivors, error vectors are refused with the class index.json names, salvage
    vectors give their NAME.json report: C and the reference alike, strict and salvage."""
    tool = request.getfixturevalue("mcstream" if build == "normal" else "sanitized")
    records, wants = _vector_records()
    for line, (folder, name, op, want) in zip(_batch(tool, tmp_path, records), wants):
        assert _same(line, want), (folder, name, op, line, want)
        if op == "strict" and folder == "errors":
            assert line.split()[1] == ERRORS[name]["error"], (name, line)
        if op == "strict" and folder == "valid":
            kept = np.load(VECTORS / "valid" / f"{name}.survivors.npy")
            m = maskcodec.survivors((VECTORS / "valid" / f"{name}.mcx").read_bytes())[1]
            assert line == f"ok {_crc(np.flatnonzero(m), kept)}"
        if op == "salvage" and folder == "salvage":
            report = json.loads((VECTORS / "salvage" / f"{name}.json").read_text())
            fields = line.split()
            assert [int(x) for x in fields[1:6]] == [report[k] for k in (
                "segments_expected", "segments_received", "survivors_expected", "survivors_recovered",
                "bytes_skipped")], (name, line)
            assert (fields[6] == "-" and not report["lost_segments"]) or \
                [int(x) for x in fields[6].split(",")] == report["lost_segments"]


def test_readers_on_damaged_streams(mcstream, tmp_path):
    """Streams cut, with segments lost, doubled, swapped, zeroed, garbage between them, bits flipped (CRC32s left
    wrong): C and the reference agree, strictly and in salvage."""
    rng = np.random.default_rng(17)
    img = maskcodec.sample_image("mastcam")[:120, :160]
    records, wants = [], []
    for size, kind, d in ((256, "bluenoise", 0), (512, "hash", 2)):
        data = maskcodec.encode(img, 0.2, seed=9, mask=kind, max_error=d, segment_size=size, metadata={"a": 1})
        segs = [data[i:i + size] for i in range(0, len(data), size)]
        k = len(segs)
        variants = [data[:n] for n in (0, 3, 22, 23, 100, size - 1, size, len(data) - 1)]
        variants += [b"".join(segs[:i] + segs[i + 1:]) for i in (0, 1, 2, k - 1)]
        variants += [b"".join(segs[:3] + segs[2:]), b"".join(segs[:1] + segs[2:3] + segs[1:2] + segs[3:])]
        variants += [b"".join(segs[:2] + [bytes(size)] + segs[3:]), data[:300] + b"\x89MCL" + bytes(50) + data[300:]]
        variants += [data + data, data[size:], b"junk" + data, data + b"\x89MCL"]
        for _ in range(10):
            b = bytearray(data)
            b[int(rng.integers(len(b)))] ^= 1 << int(rng.integers(8))
            variants.append(bytes(b))
        for v in variants:
            for op in ("strict", "salvage"):
                records.append(_record(v, op, DEFAULT))
                wants.append(expected_line(v, op, DEFAULT))
    for line, want in zip(_batch(mcstream, tmp_path, records), wants):
        assert _same(line, want), (line, want)


FUZZ_CASES = 3000


def test_sanitized_fuzz_of_mutated_streams(sanitized, tmp_path):
    """test_salvage_fuzz's mutations (one field or byte of one segment, CRC32s recomputed, a mutated description
    copied into every segment with its stream id), read strictly and salvaged under AddressSanitizer and UBSan:
    C accepts exactly what Python accepts, with the same values and reports, and refuses with the same class."""
    rng = np.random.default_rng(20261227)
    records, wants, whats = [], [], []
    for _ in range(FUZZ_CASES):
        base = STREAMS[int(rng.choice(len(STREAMS), p=WEIGHTS / WEIGHTS.sum()))]
        data, what = mutate(base, rng)
        for op in ("strict", "salvage"):
            records.append(_record(data, op, FUZZ_LIMITS))
            wants.append(expected_line(data, op, FUZZ_LIMITS))
            whats.append(f"{what} ({op})")
    outcomes = set()
    for line, want, what in zip(_batch(sanitized, tmp_path, records), wants, whats):
        assert _same(line, want), (what, line, want)
        outcomes.add(" ".join(want.split()[:2]) if want.startswith("refused") else "ok")
    assert {"ok", "refused FormatError", "refused ChecksumError"} <= outcomes
