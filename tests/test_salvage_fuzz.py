"""A bounded, structure-aware fuzz of salvage (spec section 11.5) on format 4.0 streams.

Each case takes a valid lean stream (the 4.0 vectors and a few small streams encoded here), changes one
thing in one segment (a byte, or a u16/u32 field of its head; a byte or field of its description, in which
case every copy of the description and every ``stream_id`` follow, so that the stream stays consistent) and
recomputes the CRC32s, so that the mutation gets past the checksums and reaches the checks behind them.
``maskcodec.salvage``, ``maskcodec.decode(..., strict=False)`` and ``maskcodec.decode`` must then either
succeed or raise a :class:`maskcodec.MaskcodecError` (never MemoryError, IndexError, a ValueError that is
not ours, ...), each quickly. The random generator is seeded: the cases are the same on every run.

The limits are tighter than the defaults (a mutated description may declare up to 2^28 pixels, which the
default limits allow and which is slow to mask, not hostile); the cases are small streams, so that a few
thousand of them run in well under a minute.
"""
from __future__ import annotations

import resource
import signal
import time
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

import maskcodec

VALID = Path(__file__).resolve().parent.parent / "spec" / "vectors" / "valid"
VECTORS = ("s4_rgb8_meta_keep0.1_s256", "s4_gray12_hash_maxerr2_s200", "s4_4band8_keep0.3_s300",
           "s4_gray8_empty_s128")
CASES = 2_000
LIMITS = maskcodec.Limits(max_pixels=1 << 20, max_samples=1 << 22, max_side=1 << 12)
MAX_SECONDS = 3.0  # one call; the alarm below stops a call that hangs
HEAD = {"segment_size": (7, 2), "stream_id": (9, 4), "index": (13, 4), "first": (17, 4), "count": (21, 2)}
# description fields (offset in the description block, size): section 11.2 and the fixed fields of section 4
DESCRIPTION = {"flags": (6, 2), "mode": (8, 1), "bits": (10, 1), "transform": (11, 1), "channels": (12, 2),
               "mask_kind": (14, 1), "height": (16, 4), "width": (20, 4), "seed": (24, 4), "threshold": (28, 4),
               "survivors": (32, 4), "max_error": (36, 2), "repeat": (38, 2), "lanes": (40, 1), "window": (41, 2),
               "model_id_length": (43, 1), "metadata_length": (44, 2)}


def _streams() -> list[bytes]:
    out = [(VALID / f"{name}.mcx").read_bytes() for name in VECTORS]
    mast, navcam, navcam12 = (maskcodec.sample_image(n) for n in ("mastcam", "navcam", "navcam12"))
    out.append(maskcodec.encode(mast[40:72, 60:100], 0.3, seed=3, segment_size=128, metadata={"sol": 7}))
    out.append(maskcodec.encode(navcam12[20:60, 30:78], 0.25, seed=4, mask="hash", max_error=1, segment_size=128))
    out.append(maskcodec.encode(np.ascontiguousarray(mast[0:24, 0:32, :2]), 0.5, seed=5, segment_size=160))
    out.append(maskcodec.encode(navcam[0:16, 0:24], 1.0, seed=6, segment_size=128))
    return out


STREAMS = _streams()
# the small streams get most cases: the valid vectors (14 segments of 120 x 160 pixels and fewer) cost more
WEIGHTS = np.array([0.5, 0.5, 0.5, 2] + [4] * (len(STREAMS) - 4), float)


def _segments(stream: bytes) -> list[bytearray]:
    size = int.from_bytes(stream[7:9], "little")
    return [bytearray(stream[i:i + size]) for i in range(0, len(stream), size)]


def _crc(seg: bytearray, end: int | None = None) -> None:
    """Recompute the CRC32 of a segment that ends at ``end`` (by default where it ends)."""
    end = len(seg) if end is None else end
    seg[end - 4:end] = zlib.crc32(bytes(seg[:end - 4])).to_bytes(4, "little")


def _description_size(seg: bytearray) -> int:
    length = seg[23 + 43]
    at = 23 + 44 + length + (32 if length else 0)
    return 46 + length + (32 if length else 0) + int.from_bytes(seg[at:at + 2], "little")


def _value(rng: np.random.Generator, old: int, size: int) -> int:
    top = (1 << (8 * size)) - 1
    choices = (0, 1, 2, top, top - 1, 1 << (8 * size - 1), (old + 1) & top, (old - 1) & top,
               old ^ (1 << int(rng.integers(8 * size))), int(rng.integers(top + 1)))
    return choices[int(rng.integers(len(choices)))]


def mutate(stream: bytes, rng: np.random.Generator) -> tuple[bytes, str]:
    """One mutation of one segment of ``stream``, its CRC32s recomputed; the mutated stream and what changed."""
    segs = _segments(stream)
    k = int(rng.integers(len(segs)))
    seg = segs[k]
    carries = bool(seg[6] & 1)
    kind = rng.choice(["byte", "head", "description"] if carries else ["byte", "head"], p=[0.4, 0.35, 0.25]
                      if carries else [0.5, 0.5])
    if kind == "description":
        d = _description_size(seg)
        if rng.random() < 0.5:
            at = int(rng.integers(d))
            what = f"description byte {at}"
            new = bytearray(seg[23:23 + d])
            new[at] = (new[at] + 1 + int(rng.integers(255))) % 256
        else:
            field = list(DESCRIPTION)[int(rng.integers(len(DESCRIPTION)))]
            at, size = DESCRIPTION[field]
            new = bytearray(seg[23:23 + d])
            old = int.from_bytes(new[at:at + size], "little")
            value = _value(rng, old, size)
            new[at:at + size] = value.to_bytes(size, "little")
            what = f"description {field} {old} -> {value}"
        stream_id = zlib.crc32(bytes(new)).to_bytes(4, "little")
        for s in segs:  # every copy of the description and every stream id follow
            if s[6] & 1 and _description_size(s) == d:
                s[23:23 + d] = new
            s[9:13] = stream_id
            _crc(s)
        return b"".join(segs), f"segment {k}: {what}"
    if kind == "byte":
        at = int(rng.integers(len(seg) - 4))
        seg[at] = (seg[at] + 1 + int(rng.integers(255))) % 256
        what = f"byte {at}"
    else:
        field = list(HEAD)[int(rng.integers(len(HEAD)))]
        at, size = HEAD[field]
        old = int.from_bytes(seg[at:at + size], "little")
        value = _value(rng, old, size)
        seg[at:at + size] = value.to_bytes(size, "little")
        what = f"{field} {old} -> {value}"
        if field == "segment_size":  # the CRC32 lies where the new size puts it (if the stream reaches there)
            data = bytearray(b"".join(segs))
            start = sum(len(s) for s in segs[:k])
            if 27 <= value and start + value <= len(data):
                data[start + value - 4:start + value] = zlib.crc32(bytes(data[start:start + value - 4])).to_bytes(
                    4, "little")
            return bytes(data), f"segment {k}: {what}"
    _crc(seg)
    return b"".join(segs), f"segment {k}: {what}"


def _alarm(signum, frame):
    raise TimeoutError("a call ran past its time bound")


def attack(data: bytes, call: str) -> str:
    """Feed one stream to one entry point: what came of it (``ok`` or the error class)."""
    t = time.perf_counter()
    signal.setitimer(signal.ITIMER_REAL, 4 * MAX_SECONDS)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", maskcodec.SalvageWarning)
            if call == "salvage":
                out, report = maskcodec.salvage(data, inpainter="nconv", limits=LIMITS)
                assert report.segments_received <= report.segments_expected
            elif call == "lenient":
                out = maskcodec.decode(data, inpainter="nconv", strict=False, limits=LIMITS)
            else:
                out = maskcodec.decode(data, inpainter="nconv", limits=LIMITS)
            assert isinstance(out, np.ndarray)
            result = "ok"
    except maskcodec.MaskcodecError as e:
        assert str(e)
        result = type(e).__name__
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
    assert time.perf_counter() - t < MAX_SECONDS, call
    return result


def _data_bytes() -> int:
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) << 10 for line in f if line.startswith("VmData:"))


@pytest.fixture
def alarm():
    """Calls are stopped after a time (an alarm) and may allocate at most 2 GiB more than the process holds
    (a hostile input that asks for more ends in a MemoryError, which fails the test, not in the OOM killer)."""
    old = signal.signal(signal.SIGALRM, _alarm)
    limits = resource.getrlimit(resource.RLIMIT_DATA)
    want = _data_bytes() + (2 << 30)
    if limits[1] == resource.RLIM_INFINITY or want < limits[1]:
        resource.setrlimit(resource.RLIMIT_DATA, (want, limits[1]))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_DATA, limits)
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)


def test_mutated_segments_end_in_our_errors(alarm):
    rng = np.random.default_rng(20261226)
    outcomes: dict[str, set[str]] = {"salvage": set(), "lenient": set(), "strict": set()}
    for n in range(CASES):
        base = STREAMS[int(rng.choice(len(STREAMS), p=WEIGHTS / WEIGHTS.sum()))]
        data, what = mutate(base, rng)
        for call in outcomes:
            try:
                outcomes[call].add(attack(data, call))
            except BaseException as e:
                raise AssertionError(f"case {n} ({what}), {call}: {type(e).__name__}: {e}") from e
    # the mutations reach both outcomes: salvage recovers most streams, strict decoding names the damage
    assert "ok" in outcomes["salvage"] and "FormatError" in outcomes["salvage"]
    assert {"ok", "FormatError", "ChecksumError"} <= outcomes["strict"]


def test_segment_index_beyond_first_is_dropped_quickly(alarm):
    """The escape of issue 26: one CRC-consistent segment whose index is near 2^32 (salvage used to build
    ``set(range(index))`` and raise MemoryError). Spec 11.4: an index above ``first`` is a FormatError."""
    stream = STREAMS[0]
    segs = _segments(stream)
    segs[5][13:17] = (0xFFFFFFFE).to_bytes(4, "little")
    _crc(segs[5])
    data = b"".join(segs)
    with pytest.raises(maskcodec.FormatError, match="segment_index"):
        maskcodec.decode(data)
    t = time.perf_counter()
    _, report = maskcodec.salvage(data, inpainter="nconv")
    assert time.perf_counter() - t < MAX_SECONDS
    assert report.lost_segments == [5] and report.segments_expected == len(segs)
