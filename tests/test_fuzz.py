"""Fuzzing decode, inspect and the segment parser with mutated real files.

Nothing but MaskcodecError subclasses may escape, no input may take long, and
allocations stay bounded (the decoder's limits are checked before allocating).
The parsers are fuzzed through ``survivors`` (the whole strict parse, without
inpainting) and the salvage parser; inpainting a parsed image is not input
handling. A seeded mutation loop covers 10,000 inputs under tracemalloc;
hypothesis explores (and shrinks) another 1,000. Range-coded latent payloads
are mutated behind valid sizes and CRCs, so that they reach the range decoder.
"""
import time
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import maskcodec
import maskcodec.codec
import maskcodec.modes.mask.stream
from maskcodec.modes import latent as latent_mode
from maskcodec.framing import container

VALID = Path(__file__).resolve().parent.parent / "spec" / "vectors" / "valid"
SEEDS = [(VALID / f"{name}.mcx").read_bytes() for name in
         ("rgb8_keep0.1", "gray12_keep0.1", "gray8_hwc1_meta_keep0.5", "s4_rgb8_meta_keep0.1_s256",
          "s4_gray12_hash_maxerr2_s200")]
OPS = ("flip", "set", "insert", "delete", "truncate", "u32")
U32S = (0, 1, 0xFFFF, 0x7FFFFFFF, 0xFFFFFFFF)
MAX_SECONDS = 2.0
MAX_PEAK_BYTES = 256 << 20


def mutate(data: bytes, ops) -> bytes:
    b = bytearray(data)
    for op, pos, arg in ops:
        if not b:
            break
        i = pos % len(b)
        if op == "flip":
            b[i] ^= 1 << (arg % 8)
        elif op == "set":
            b[i] = arg % 256
        elif op == "insert":
            b[i:i] = bytes([arg % 256]) * (1 + arg % 40) if isinstance(arg, int) else arg
        elif op == "delete":
            del b[i:i + 1 + arg % 300]
        elif op == "truncate":
            del b[i:]
        else:
            b[i:i + 4] = U32S[arg % len(U32S)].to_bytes(4, "little")
    return bytes(b)


def attack(data: bytes, call: str) -> float:
    """Feed one input to one entry point; returns the seconds it took."""
    t = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", maskcodec.SalvageWarning)
            if call == "decode":
                header, m, values = maskcodec.survivors(data)
                assert values.shape == (int(m.sum()), header.channels)
            elif call == "inspect":
                maskcodec.inspect(data)
            else:
                maskcodec.modes.mask.stream.salvage(data, maskcodec.Limits())
    except maskcodec.MaskcodecError as e:
        assert str(e)
    return time.perf_counter() - t


def test_ten_thousand_mutated_inputs():
    rng = np.random.default_rng(20261126)
    slowest = 0.0
    tracemalloc.start()
    try:
        for n in range(10_000):
            ops = [(OPS[rng.integers(len(OPS))], int(rng.integers(1 << 20)), int(rng.integers(1 << 16)))
                   for _ in range(rng.integers(1, 5))]
            data = mutate(SEEDS[n % len(SEEDS)], ops)
            slowest = max(slowest, attack(data, ("decode", "inspect", "salvage")[n % 3]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert slowest < MAX_SECONDS
    assert peak < MAX_PEAK_BYTES


mutation = st.tuples(st.sampled_from(OPS), st.integers(0, 1 << 20),
                     st.one_of(st.integers(0, 1 << 16), st.binary(min_size=1, max_size=40)))


@settings(max_examples=1_000, deadline=None, derandomize=True, database=None,
          suppress_health_check=list(HealthCheck))
@given(base=st.sampled_from(range(len(SEEDS))), ops=st.lists(mutation, min_size=1, max_size=4),
       call=st.sampled_from(["decode", "inspect", "salvage"]))
def test_hypothesis_mutations(base, ops, call):
    ops = [(op, pos, arg if op == "insert" or isinstance(arg, int) else len(arg)) for op, pos, arg in ops]
    assert attack(mutate(SEEDS[base], ops), call) < MAX_SECONDS


def test_forged_range_coded_payloads(monkeypatch):
    """Range-coded latent payloads mutated and re-wrapped with valid sizes and CRCs (what a forger or a
    buggy encoder produces) reach the range decoder: it ends in a MaskcodecError or decodes, quickly."""
    monkeypatch.setenv("MASKCODEC_MODELS", str(VALID.parent / "models"))
    rng = np.random.default_rng(20261127)
    files = [(VALID / f"{name}.mcx").read_bytes() for name in ("latent_rgb8_context", "latent_rgb8_context_edge")]
    bases = [(data, container.parse_header(data), maskcodec.codec.coded(data)[1]) for data in files]
    outcomes = set()
    for n in range(2_000):
        _, frame, payload = bases[n % len(bases)]
        header = latent_mode.describe(frame)
        ops = [(OPS[rng.integers(len(OPS))], int(rng.integers(1 << 20)), int(rng.integers(1 << 16)))
               for _ in range(rng.integers(1, 4))]
        data = container.build(shape=header.shape, dtype=frame.dtype, mode=frame.mode, bits=header.bits,
                               payload=mutate(payload, ops), payload_raw_size=frame.payload_raw_size,
                               model_id=frame.model_id, model_sha256=frame.model_sha256, block=frame.block)
        t = time.perf_counter()
        try:
            z = maskcodec.latents(data)
            assert z.shape == (header.latent.channels, header.latent.height, header.latent.width)
            outcomes.add("decoded")
        except maskcodec.MaskcodecError as e:
            assert str(e)
            outcomes.add(type(e).__name__)
        assert time.perf_counter() - t < MAX_SECONDS
    assert "FormatError" in outcomes  # the mutations do reach the range decoder's checks
