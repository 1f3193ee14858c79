"""The C extension maskcodec.survivors._flight (flight/src/*.c and flight/python/flight_module.c, built by
``pip install``): :func:`maskcodec.survivors.ranked.encode` and ``decode`` run it, byte for byte and value for value
the numpy reference (``encode_reference``, ``decode_reference``), refusing what the reference refuses with the same
exception class; without it the package runs the reference and says so once.

The tests of the extension itself skip where it is not built (a checkout used without ``pip install``), unless
``MASKCODEC_REQUIRE_EXTENSION=1`` (CI, which installs with ``pip install -e ".[dev]"``): then a missing extension
fails. The fallback's tests run either way.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from survivor_cases import corruptions, kept_survivors
from maskcodec.cli import main
from maskcodec.errors import FormatError, InvalidInputError, ReferenceCoderWarning
from maskcodec.survivors import ranked
from maskcodec.survivors.predictive import Prior, max_error_limit

try:
    from maskcodec.survivors import _flight
    MISSING = ""
except ImportError as e:
    _flight, MISSING = None, str(e)

ROOT = Path(__file__).resolve().parent.parent
needs_extension = pytest.mark.skipif(_flight is None, reason=f"the C extension is not built (pip install -e .): "
                                                             f"{MISSING}")

SEED = 7
KINDS = ("hash", "bluenoise")
KEEPS = (0.02, 0.1, 0.5, 1.0)


def test_the_extension_is_built_where_required():
    """MASKCODEC_REQUIRE_EXTENSION=1 (CI): the extension must have been built and must be what runs."""
    if _flight is None:
        assert os.environ.get("MASKCODEC_REQUIRE_EXTENSION") != "1", f"the C extension did not load: {MISSING}"
        pytest.skip(f"the C extension is not built (pip install -e .): {MISSING}")
    assert ranked.IMPLEMENTATION == "C (flight core)"
    assert Path(_flight.__file__).parent == Path(ranked.__file__).parent


# ---------------------------------------------------------------------------------------------- real crops

def _scaled(a: np.ndarray, bits: int) -> np.ndarray:
    """8-bit samples stretched to ``bits`` (the low bits repeat the high ones): real structure at any depth."""
    a = a.astype(np.int64)
    return (a << (bits - 8)) | (a >> (16 - bits)) if bits > 8 else a


def _bands(n: int, bits: int) -> np.ndarray:
    rgb = maskcodec.sample_image("mastcam").astype(np.int64)
    bands = [rgb[..., 0], rgb[..., 1], rgb[..., 2], rgb.mean(axis=2).astype(np.int64)]
    return _scaled(np.stack(bands[:n], axis=2), bits)


def _gray(bits: int) -> np.ndarray:
    if bits == 8:
        return maskcodec.sample_image("navcam")[..., None].astype(np.int64)
    v = maskcodec.sample_image("navcam12").astype(np.int64)[..., None]  # 11 bits used of 12
    return v if bits == 12 else (v << 5) | (v & 31)


# (bands, bits): the image and the transforms its bands allow
IMAGES = {(1, 8): ((0,),), (1, 12): ((0,),), (1, 16): ((0,),), (2, 8): ((0, 2),), (2, 12): ((2,),),
          (3, 8): ((0, 1, 2),), (3, 12): ((1,),), (3, 16): ((1, 2),), (4, 8): ((2,),), (4, 16): ((0, 2),)}


def _image(bands: int, bits: int) -> np.ndarray:
    return _gray(bits) if bands == 1 else _bands(bands, bits)


def _crop(img: np.ndarray, rng) -> np.ndarray:
    """A crop of a random number of rows (1 to 72) and columns (24 to 96) at a random place."""
    h, w = int(rng.integers(1, 73)), int(rng.integers(24, 97))
    y, x = int(rng.integers(0, img.shape[0] - h + 1)), int(rng.integers(0, img.shape[1] - w + 1))
    return img[y:y + h, x:x + w]


class Case:
    def __init__(self, img, keep, max_error, kind, transform, bits, prior=None, previous=None):
        h, w, c = img.shape
        self.idx, self.keys, self.values = kept_survivors(img, keep, kind, SEED, previous)
        self.args = ((h, w), bits, transform, max_error)
        self.prior = prior if prior is not None else Prior.empty(c)
        self.channels = c
        self.name = f"{h}x{w}x{c} bits {bits} transform {transform} keep {keep} max_error {max_error} {kind}"

    def encode(self, reference=False):
        f = ranked.encode_reference if reference else ranked.encode
        return f(self.idx, self.keys, self.values, self.prior, *self.args)

    def decode(self, payload, reference=False):
        f = ranked.decode_reference if reference else ranked.decode
        return f(payload, self.idx, self.keys, self.prior, *self.args, self.channels)


def _agree(case: Case, decode_reference: bool = True) -> tuple[bytes, np.ndarray]:
    payload, recon = case.encode()
    want, want_recon = case.encode(reference=True)
    assert payload == want, case.name
    assert recon.dtype == want_recon.dtype == np.int64 and np.array_equal(recon, want_recon), case.name
    decoded = case.decode(payload)
    assert decoded.dtype == np.int64 and np.array_equal(decoded, recon), case.name
    if decode_reference:
        assert np.array_equal(case.decode(payload, reference=True), decoded), case.name
    d = case.args[3]
    assert np.abs(recon - case.values.astype(np.int64)).max(initial=0) <= d, case.name
    return payload, recon


@needs_extension
@pytest.mark.parametrize("bands,bits", sorted(IMAGES))
def test_extension_matches_the_reference_on_real_crops(bands, bits):
    """Every keep, four max_error (up to 2^(bits-5)), both mask kinds and every transform the bands allow, each on
    a crop with a random number of rows: the same payload, reconstruction and decoded values as numpy."""
    rng = np.random.default_rng(1000 * bands + bits)
    img = _image(bands, bits)
    (transforms,) = IMAGES[(bands, bits)]
    for transform in transforms:
        for keep in KEEPS:
            for d in (0, 1, 4, 1 << (bits - 5)):
                for kind in KINDS:
                    case = Case(_crop(img, rng), keep, d, kind, transform, bits)
                    _agree(case, decode_reference=keep <= 0.1)


@needs_extension
def test_extension_matches_the_reference_on_refinements():
    """A chain of four files whose priors are every pixel before them, another max_error each, both kinds."""
    rng = np.random.default_rng(3)
    for img, bits, transform in ((_gray(12), 12, 0), (_bands(3, 8), 8, 1), (_bands(4, 16), 16, 2)):
        crop = _crop(img, rng)
        for kind in KINDS:
            prior, previous = Prior.empty(img.shape[2]), None
            for keep, d in ((0.02, 2), (0.1, 0), (0.5, 3), (1.0, 1)):
                case = Case(crop, keep, d, kind, transform, bits, prior, previous)
                _, recon = _agree(case, decode_reference=keep <= 0.1)
                merged = np.concatenate([prior.idx, case.idx])
                order = np.argsort(merged, kind="stable")
                prior = Prior(merged[order], np.concatenate([prior.values, recon])[order])
                previous = keep


@needs_extension
def test_extension_edges():
    """No survivor (4 zero bytes), one pixel, one row, one column, 1-bit samples, the largest max_error,
    and values given as uint8, uint16 or int64."""
    gray = _gray(8)
    empty = Case(gray[:8, :8], 1.0, 0, "hash", 0, 8)
    empty.idx, empty.keys, empty.values = empty.idx[:0], empty.keys[:0], empty.values[:0]
    assert _agree(empty)[0] == bytes(4)
    for case in (Case(gray[:1, :1], 1.0, 0, "hash", 0, 8), Case(gray[:1, :200], 1.0, 2, "bluenoise", 0, 8),
                 Case(gray[:200, :1], 1.0, 0, "hash", 0, 8), Case(gray[:40, :50] & 1, 1.0, 0, "hash", 0, 1),
                 Case(gray[:40, :50], 0.5, max_error_limit(8), "bluenoise", 0, 8)):
        _agree(case)
    case = Case(maskcodec.sample_image("mastcam")[:40, :48], 0.5, 1, "hash", 1, 8)
    want = case.encode()[0]
    for dtype in (np.uint8, np.uint16, np.int64):
        case.values = case.values.astype(dtype)
        assert case.encode()[0] == want


def test_more_bands_than_the_c_coder_takes_run_in_numpy(recwarn):
    """A spectral cube of more than C_CHANNELS bands: the reference codes it, whether or not the extension is
    built, without the missing-extension warning."""
    rng = np.random.default_rng(2)
    cube = rng.integers(0, 4096, (5, 6, ranked.C_CHANNELS + 2))
    case = Case(cube, 1.0, 1, "hash", 2, 12)
    payload, recon = case.encode()
    assert payload == case.encode(reference=True)[0]
    assert np.array_equal(case.decode(payload), recon)
    if _flight is not None:
        assert not [w for w in recwarn if issubclass(w.category, ReferenceCoderWarning)]


# what the reference's FormatError says of each refusal, and what the extension's says
MEANINGS = ("has at least 4", "outside its interval", "ends early", "is out of range", "after its last symbol")


def _meaning(e: Exception) -> str:
    found = [m for m in MEANINGS if m in str(e)]
    assert len(found) == 1, str(e)
    return found[0]


@needs_extension
def test_corrupted_payloads_raise_what_the_reference_raises():
    """Truncated, extended, bit-flipped and overwritten payloads: the extension raises the reference's exception
    class, for the same reason, or decodes the reference's values."""
    rng = np.random.default_rng(11)
    seen = set()
    rgb = maskcodec.sample_image("mastcam")[:48, :64]
    for case in (Case(rgb, 0.5, 0, "bluenoise", 1, 8), Case(rgb, 1.0, 8, "hash", 2, 8),
                 Case(_gray(12)[:40, :56], 1.0, 1, "hash", 0, 12)):
        payload, _ = case.encode()
        for data in corruptions(payload, rng):
            try:
                want = case.decode(data, reference=True)
            except Exception as e:  # noqa: BLE001 - whatever the reference raises, the extension raises
                with pytest.raises(type(e)) as got:
                    case.decode(data)
                assert type(got.value) is type(e) is FormatError
                assert _meaning(got.value) == _meaning(e), (str(got.value), str(e))
                seen.add(_meaning(e))
            else:
                assert np.array_equal(case.decode(data), want)
    assert {"has at least 4", "ends early", "after its last symbol", "outside its interval"} <= seen, seen


@needs_extension
def test_a_residual_out_of_range_is_a_format_error():
    case = Case(maskcodec.sample_image("mastcam")[:48, :64], 1.0, 8, "hash", 1, 8)
    levels, _ = ranked.codes(case.idx, case.keys, case.values, case.prior, *case.args)
    levels[0][1][0, 0] = (255 + 16) // 17 + 4  # RANGE + 3
    payload = ranked.pack(levels, 8)
    for reference in (True, False):
        with pytest.raises(FormatError, match="is out of range: codes must be below RANGE = 16"):
            case.decode(payload, reference=reference)


@needs_extension
def test_bad_arguments_are_invalid_input():
    gray = _gray(8)[:32, :32]
    good = Case(gray, 0.5, 0, "hash", 0, 8)
    shape = good.args[0]
    bad = [dict(idx=good.idx[::-1].copy(), keys=good.keys[::-1].copy()),  # not ascending
           dict(idx=good.idx + 1024),                                      # outside the image
           dict(idx=good.idx - 1),                                         # negative
           dict(values=good.values | 256),                                 # above 2^bits - 1
           dict(values=good.values - 300),                                 # negative
           dict(keys=good.keys[:-1])]                                      # a key short
    for change in bad:
        args = dict(idx=good.idx, keys=good.keys, values=good.values) | change
        with pytest.raises(InvalidInputError):
            ranked.encode(args["idx"], args["keys"], args["values"], good.prior, shape, 8, 0, 0)
    for bits, transform, max_error in ((8, 1, 0), (8, 2, 0), (8, 0, 128), (17, 0, 0), (0, 0, 0), (8, 3, 0)):
        with pytest.raises(InvalidInputError):
            ranked.encode(good.idx, good.keys, good.values, good.prior, shape, bits, transform, max_error)
        with pytest.raises(InvalidInputError):
            ranked.decode(bytes(4), good.idx, good.keys, good.prior, shape, bits, transform, max_error, 1)
    payload, _ = good.encode()
    with pytest.raises(InvalidInputError):  # a prior pixel outside the image
        ranked.decode(payload, good.idx, good.keys, Prior(np.array([5000]), np.array([[0]])), shape, 8, 0, 0, 1)
    u32 = np.zeros(3, np.uint32)
    with pytest.raises(TypeError):
        _flight.ranked_encode(1, 3, 1, 8, 0, 0, u32, u32, np.zeros(3, np.uint16), u32[:0])
    with pytest.raises(TypeError):  # a buffer not aligned for its items
        _flight.ranked_encode(1, 3, 1, 8, 0, 0, np.arange(13, dtype=np.uint8)[1:], u32, np.zeros(3, np.uint16),
                              u32[:0], np.zeros(0, np.uint16))
    with pytest.raises(InvalidInputError):
        _flight.ranked_encode(-1, 3, 1, 8, 0, 0, u32, u32, np.zeros(3, np.uint16), u32[:0], np.zeros(0, np.uint16))
    with pytest.raises(InvalidInputError):
        _flight.ranked_encode(1, 3, 1, 8, 0, 0, u32, u32, np.zeros(3, np.uint16), u32[:0], np.zeros(1, np.uint16))


@needs_extension
def test_threads_code_at_once_and_agree():
    """The GIL is released while the coder runs, each call with its own workspace: threads get the bytes one
    thread gets."""
    rgb = maskcodec.sample_image("mastcam")
    cases = [Case(rgb[:96, :128], keep, d, kind, 1, 8) for keep in (0.1, 1.0) for d in (0, 2) for kind in KINDS]
    alone = [c.encode()[0] for c in cases]
    with ThreadPoolExecutor(4) as pool:
        together = list(pool.map(lambda c: c.encode()[0], cases * 2))
    assert together == alone * 2


# ------------------------------------------------------------------------------------- the numpy fallback

FALLBACK = r"""
import contextlib, hashlib, io, json, sys, warnings
sys.modules["maskcodec.survivors._flight"] = None  # the import fails, as where the extension was not built
warnings.simplefilter("always")  # the once-only message is maskcodec's doing, not the warnings filter's
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    import maskcodec
    import maskcodec.cli
    from maskcodec.errors import ReferenceCoderWarning
    from maskcodec.survivors import ranked
    before = sum(issubclass(w.category, ReferenceCoderWarning) for w in caught)
    img = maskcodec.sample_image("mastcam")[:64, :80]
    files = [maskcodec.encode(img, keep=0.2, seed=7), maskcodec.encode(img, keep=0.5, seed=7, max_error=2)]
    values = [maskcodec.survivors(f)[2].tolist() for f in files]
out = io.StringIO()
with contextlib.redirect_stdout(out):
    try:
        maskcodec.cli.main(["info", "--version"])
    except SystemExit:
        pass
ours = [w for w in caught if issubclass(w.category, ReferenceCoderWarning)]
print(json.dumps({"implementation": ranked.IMPLEMENTATION, "before": before, "warnings": len(ours),
                  "message": str(ours[0].message) if ours else "", "version": out.getvalue(),
                  "files": [f.hex() for f in files], "values": values}))
"""


def test_without_the_extension_the_reference_runs_and_says_so_once():
    """The extension's import blocked in a fresh interpreter: maskcodec encodes and decodes the same bytes and
    values on the numpy path, warns once (not at import: when the slow path first runs), and ``info --version``
    names the path and why."""
    run = subprocess.run([sys.executable, "-c", FALLBACK], capture_output=True, text=True,
                         cwd=ROOT)
    assert run.returncode == 0, run.stderr
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["implementation"].startswith("numpy reference (the C extension did not load: ")
    assert got["before"] == 0 and got["warnings"] == 1, got
    assert got["message"].startswith("maskcodec codes survivors with the numpy reference (the C extension did not "
                                     "load: import of maskcodec.survivors._flight halted")
    assert got["version"] == f"maskcodec {maskcodec.__version__}\nsurvivor coder: {got['implementation']}\n"
    img = maskcodec.sample_image("mastcam")[:64, :80]
    files = [maskcodec.encode(img, keep=0.2, seed=7), maskcodec.encode(img, keep=0.5, seed=7, max_error=2)]
    assert got["files"] == [f.hex() for f in files]  # the same bytes as this process, whichever path it runs
    assert got["values"] == [maskcodec.survivors(f)[2].tolist() for f in files]


def test_info_version_names_the_survivor_coder(capsys):
    for argv in (["info", "--version"], ["--version"]):
        with pytest.raises(SystemExit) as done:
            main(argv)
        assert done.value.code == 0
        want = "C (flight core)" if _flight is not None else "numpy reference (the C extension did not load: "
        assert capsys.readouterr().out.startswith(f"maskcodec {maskcodec.__version__}\nsurvivor coder: {want}")
