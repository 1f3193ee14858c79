"""The C99 flight ranked survivor coder (flight/src/ranked.c) against the Python reference
(maskcodec.survivors.ranked): payloads byte for byte, decoded values value for value.

flight/ is copied to a temporary folder and built there (``make all check``, then the sanitized mcranked of
``make sanitize``), so the checkout's flight/build is left alone. ``mcranked`` reads a case file (header, survivors' indices, keys and
values, prior) and writes the payload (encode) or the decoded values (decode); a payload it refuses prints
``refused NAME``. Real crops of the bundled samples go through both coders over keeps, max_error, both mask
kinds, 1 to 4 bands with every transform, refinements with a prior and corrupted payloads (the corrupted ones
also through the AddressSanitizer and UBSan build).
"""
import subprocess
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from survivor_cases import corruptions, kept_survivors
from maskcodec.errors import FormatError
from maskcodec.codec import coded
from maskcodec.modes.mask.container import new_pixels
from maskcodec.survivors import ranked
from maskcodec.survivors.predictive import Prior

KINDS = ("hash", "bluenoise")
KEEPS = (0.02, 0.1, 0.5, 1.0)
MAX_ERRORS = (0, 1, 2, 8)
SEED = 7
# mcranked's refusals and the Python decoder's FormatError messages (maskcodec/entropy/range_coder.py,
# maskcodec/survivors/predictive.py)
REFUSALS = {"short": "has at least 4", "interval": "outside its interval", "truncated": "ends early",
            "residual": "is out of range", "trailing": "after its last symbol"}


@pytest.fixture
def flight(flight_build) -> Path:
    """mcranked of the built copy of flight/ (``make all check`` passed)."""
    return flight_build / "mcranked"


@pytest.fixture
def sanitized(flight_sanitized) -> Path:
    """mcranked built with AddressSanitizer and UBSan (``make sanitize`` passed, its round trips included)."""
    return flight_sanitized / "mcranked"


class Case:
    """Survivors of one file: what both coders get."""

    def __init__(self, shape, bits, transform, max_error, idx, keys, values, prior):
        self.shape, self.bits, self.transform, self.max_error = shape, bits, transform, max_error
        self.idx, self.keys, self.values, self.prior = idx, keys, values, prior
        self.channels = values.shape[1]

    def to_bytes(self) -> bytes:
        h, w = self.shape
        head = np.array([h, w, self.channels, self.bits, self.transform, self.max_error, self.idx.size,
                         self.prior.idx.size], "<u4")
        parts = (self.idx.astype("<u4"), self.keys.astype("<u4"), self.values.astype("<u2"),
                 self.prior.idx.astype("<u4"), self.prior.values.astype("<u2"))
        return b"MCRK" + head.tobytes() + b"".join(np.ascontiguousarray(a).tobytes() for a in parts)

    def py_encode(self):  # the numpy reference, never the extension (which runs the C coder under test)
        return ranked.encode_reference(self.idx, self.keys, self.values, self.prior, self.shape, self.bits, self.transform,
                             self.max_error)

    def py_decode(self, payload: bytes) -> np.ndarray:
        return ranked.decode_reference(payload, self.idx, self.keys, self.prior, self.shape, self.bits, self.transform,
                             self.max_error, self.channels)


def _case(img, keep, max_error, kind, transform, bits, prior=None, previous=None) -> Case:
    """The survivors of ``img`` (H, W, C) at ``keep`` (above ``previous``, a refinement, when given)."""
    h, w, c = img.shape
    return Case((h, w), bits, transform, max_error, *kept_survivors(img, keep, kind, SEED, previous),
                prior if prior is not None else Prior.empty(c))


class C:
    """mcranked on case files in a folder."""

    def __init__(self, binary: Path, folder: Path):
        self.binary, self.folder = binary, folder

    def encode(self, case: Case) -> tuple[bytes, np.ndarray]:
        f = self.folder
        (f / "case").write_bytes(case.to_bytes())
        done = subprocess.run([str(self.binary), "encode", str(f / "case"), str(f / "payload"), str(f / "recon")],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stdout + done.stderr
        recon = np.frombuffer((f / "recon").read_bytes(), "<u2").reshape(-1, case.channels)
        return (f / "payload").read_bytes(), recon.astype(np.int64)

    def decode(self, case: Case, payload: bytes):
        """The decoded values, or the name of the refusal."""
        f = self.folder
        (f / "case").write_bytes(case.to_bytes())
        (f / "payload").write_bytes(payload)
        done = subprocess.run([str(self.binary), "decode", str(f / "case"), str(f / "payload"), str(f / "values")],
                              capture_output=True, text=True)
        if done.returncode == 3:
            assert done.stdout.startswith("refused "), done.stdout
            assert not done.stderr, done.stderr
            return done.stdout.split()[1]
        assert done.returncode == 0, done.stdout + done.stderr
        assert not done.stderr, done.stderr
        return np.frombuffer((f / "values").read_bytes(), "<u2").reshape(-1, case.channels).astype(np.int64)

    def decodes(self, case: Case, payloads: list[bytes]) -> list:
        """decode() of many payloads in one process."""
        f = self.folder
        (f / "case").write_bytes(case.to_bytes())
        names = []
        for i, data in enumerate(payloads):
            (f / f"p{i}").write_bytes(data)
            names.append(str(f / f"p{i}"))
        done = subprocess.run([str(self.binary), "decodes", str(f / "case"), str(f / "v"), *names],
                              capture_output=True, text=True)
        assert done.returncode == 0 and not done.stderr, done.stdout + done.stderr
        lines = done.stdout.splitlines()
        assert len(lines) == len(payloads)
        out = []
        for i, line in enumerate(lines):
            at, what, *name = line.split()
            assert int(at) == i
            out.append(name[0] if what == "refused" else
                       np.frombuffer((f / f"v.{i}").read_bytes(), "<u2").reshape(-1, case.channels).astype(np.int64))
        return out


@pytest.fixture
def c_coder(flight, tmp_path) -> C:
    return C(flight, tmp_path)


def _check(coder: C, case: Case, py_decode: bool = True) -> tuple[bytes, np.ndarray]:
    """C and Python agree on the payload, the reconstruction and the decoded values."""
    payload, recon = case.py_encode()
    c_payload, c_recon = coder.encode(case)
    assert c_payload == payload, (len(c_payload), len(payload))
    assert np.array_equal(c_recon, recon)
    decoded = coder.decode(case, payload)
    assert isinstance(decoded, np.ndarray), decoded
    assert np.array_equal(decoded, recon)
    if py_decode:
        assert np.array_equal(case.py_decode(payload), recon)
    return payload, recon


def _bands(n: int) -> np.ndarray:
    """n bands from the Mastcam crop's channels (and their mean for a fourth)."""
    rgb = maskcodec.sample_image("mastcam")[40:136, 60:180].astype(np.int64)
    bands = [rgb[..., 0], rgb[..., 1], rgb[..., 2], rgb.mean(axis=2).astype(np.int64)]
    return np.stack(bands[:n], axis=2)


# (name, image, bits, transforms): real crops, 64 x 80 to 128 x 160 pixels
IMAGES = {
    "navcam": (lambda: maskcodec.sample_image("navcam")[20:148, 30:190, None], 8, (0,)),
    "navcam12": (lambda: maskcodec.sample_image("navcam12")[10:106, 20:140, None], 12, (0,)),
    "mastcam": (lambda: maskcodec.sample_image("mastcam")[100:180, 120:220], 8, (0, 1, 2)),
    "pano": (lambda: maskcodec.sample_image("mastcam_pano")[:64, :80], 8, (1,)),
    "bands2": (lambda: _bands(2)[:80, :96], 8, (0, 2)),
    "bands4": (lambda: _bands(4)[:64, :96], 8, (2, 0)),
}


@pytest.mark.parametrize("name", sorted(IMAGES))
def test_flight_ranked_matches_python(c_coder, name):
    """Every keep and max_error, both mask kinds, every transform of the image: the same payload bytes, the
    same reconstruction, the same decoded values (Python's decoder on the sparse keeps, where it is quick)."""
    make, bits, transforms = IMAGES[name]
    img = make()
    for transform in transforms:
        for keep in KEEPS:
            for d in MAX_ERRORS:
                for kind in KINDS:
                    _check(c_coder, _case(img, keep, d, kind, transform, bits), py_decode=keep <= 0.1)


def test_flight_ranked_refinements(c_coder):
    """A chain: a first file, then refinements whose prior is every pixel before them (as chains.read_chain
    builds it), with another max_error per file; both kinds, 1 and 3 channels."""
    for img, bits, transform in ((maskcodec.sample_image("navcam12")[:96, :120, None], 12, 0),
                                 (maskcodec.sample_image("mastcam")[60:156, 100:220], 8, 1)):
        for kind in KINDS:
            prior, previous = Prior.empty(img.shape[2]), None
            for keep, d in ((0.02, 2), (0.1, 0), (0.5, 8), (1.0, 1)):
                case = _case(img, keep, d, kind, transform, bits, prior, previous)
                _, recon = _check(c_coder, case, py_decode=keep <= 0.5)
                merged = np.concatenate([prior.idx, case.idx])
                order = np.argsort(merged, kind="stable")
                prior = Prior(merged[order], np.concatenate([prior.values, recon])[order])
                previous = keep


def test_flight_ranked_edges(c_coder):
    """No survivor (4 zero bytes), one pixel, one row, one column, 16-bit and 1-bit samples, large errors."""
    rng = np.random.default_rng(5)
    gray = maskcodec.sample_image("navcam")
    empty = _case(gray[:8, :8, None], 1.0, 0, "hash", 0, 8)
    cases = [
        Case(empty.shape, 8, 0, 0, empty.idx[:0], empty.keys[:0], empty.values[:0], empty.prior),
        _case(gray[:1, :1, None], 1.0, 0, "hash", 0, 8),
        _case(gray[:1, :200, None], 1.0, 2, "bluenoise", 0, 8),
        _case(gray[:200, :1, None], 1.0, 0, "hash", 0, 8),
        _case(rng.integers(0, 2**16, (40, 50, 1)), 0.5, 0, "hash", 0, 16),
        _case(rng.integers(0, 2**16, (40, 50, 2)), 1.0, 300, "bluenoise", 2, 16),
        _case(rng.integers(0, 2, (40, 50, 3)), 1.0, 0, "hash", 1, 1),
        _case(rng.integers(0, 4, (30, 40, 1)), 1.0, 1, "bluenoise", 0, 2),
        _case((gray[:64, :64, None] >> 1), 0.5, 127 // 2, "hash", 0, 7),
    ]
    for case in cases:
        payload, _ = _check(c_coder, case)
        if case.idx.size == 0:
            assert payload == bytes(4)


def _agree_on(got, case: Case, data: bytes) -> str:
    """C (``got``: values or a refusal) refuses what Python refuses, for the same reason, and decodes the rest
    to Python's values."""
    try:
        want = case.py_decode(data)
    except FormatError as e:
        assert isinstance(got, str), f"C decoded what Python refuses ({e})"
        assert REFUSALS[got] in str(e), (got, str(e))
        return got
    assert isinstance(got, np.ndarray), f"C refused ({got}) what Python decodes"
    assert np.array_equal(got, want)
    return "decoded"


@pytest.mark.parametrize("build", ["normal", "sanitized"])
def test_flight_ranked_corrupted(request, tmp_path, build):
    """Truncated, extended, bit-flipped and overwritten payloads: the C decoder refuses them as Python does
    (the same check) or decodes Python's values; under ASan and UBSan it never reads or writes out of bounds."""
    binary = request.getfixturevalue("flight" if build == "normal" else "sanitized")
    coder = C(binary, tmp_path)
    rng = np.random.default_rng(11)
    seen = set()
    rgb = maskcodec.sample_image("mastcam")[:48, :64]
    cases = [_case(rgb, 0.5, 0, "bluenoise", 1, 8), _case(rgb, 1.0, 8, "hash", 2, 8),
             _case(maskcodec.sample_image("navcam12")[:40, :56, None], 1.0, 1, "hash", 0, 12)]
    for case in cases:
        payload, recon = case.py_encode()
        corrupted = corruptions(payload, rng)
        got = coder.decodes(case, [payload, *corrupted])
        assert np.array_equal(got[0], recon)
        for data, result in zip(corrupted, got[1:]):
            seen.add(_agree_on(result, case, data))
    assert {"short", "truncated", "trailing", "interval"} <= seen, seen


VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"


def test_flight_ranked_fuzz_of_every_ranked_vector(sanitized, tmp_path):
    """Step 5 of issue 28, the payload half: every ranked vector's payload, truncated, extended, bit-flipped and
    overwritten (the file's CRC32s would be recomputed around it: what reaches the coder), through the ASan and
    UBSan build: no finding, and C refuses what the reference refuses, for the same reason."""
    coder = C(sanitized, tmp_path)
    rng = np.random.default_rng(28)
    seen = set()
    for path in sorted((VECTORS / "valid").glob("r_*.mcx")):
        data = path.read_bytes()
        h, payload = coded(data)
        idx, keys = new_pixels(h.shape[0], h.shape[1], h.keep_threshold, None, h.seed, h.mask_kind)
        values = np.load(path.with_name(f"{path.stem}.survivors.npy")).reshape(idx.size, -1).astype(np.int64)
        case = Case(h.shape[:2], h.bits, h.transform, h.max_error, idx, keys, values, Prior.empty(h.channels))
        corrupted = corruptions(payload, rng)
        got = coder.decodes(case, [payload, *corrupted])
        assert np.array_equal(got[0], values), path.name
        for mutated, result in zip(corrupted, got[1:]):
            seen.add(_agree_on(result, case, mutated))
    assert {"short", "truncated", "trailing", "interval"} <= seen, seen


def test_flight_ranked_sanitized_round_trips(sanitized, tmp_path):
    """A few of the cases above under ASan and UBSan: the same bytes and values."""
    coder = C(sanitized, tmp_path)
    img = maskcodec.sample_image("mastcam")[:64, :80]
    for keep, d, kind, transform in ((0.1, 0, "bluenoise", 1), (1.0, 2, "hash", 2), (0.5, 8, "hash", 0)):
        _check(coder, _case(img, keep, d, kind, transform, 8), py_decode=False)
    case = _case(img, 1.0, 1, "bluenoise", 1, 8, *_first_file(img))
    _check(coder, case, py_decode=False)


def _first_file(img):
    first = _case(img, 0.1, 0, "bluenoise", 1, 8)
    _, recon = first.py_encode()
    return Prior(first.idx, recon), 0.1


def test_flight_ranked_refuses_bad_input(c_coder, flight):
    """Survivors not ascending, a value above 2^bits - 1, a transform the channels do not allow: usage errors."""
    img = maskcodec.sample_image("navcam")[:32, :32, None]
    good = _case(img, 0.5, 0, "hash", 0, 8)
    bad = [Case(good.shape, 8, 0, 0, good.idx[::-1].copy(), good.keys[::-1].copy(), good.values, good.prior),
           Case(good.shape, 7, 0, 0, good.idx, good.keys, good.values | 128, good.prior),
           Case(good.shape, 8, 1, 0, good.idx, good.keys, good.values, good.prior),
           Case(good.shape, 8, 0, 128, good.idx, good.keys, good.values, good.prior)]
    for case in bad:
        (c_coder.folder / "case").write_bytes(case.to_bytes())
        done = subprocess.run([str(flight), "encode", str(c_coder.folder / "case"), str(c_coder.folder / "p")],
                              capture_output=True, text=True)
        assert done.returncode == 2 and "error -1 (arg)" in done.stderr, done.stderr
    (c_coder.folder / "case").write_bytes(good.to_bytes()[:-1])
    done = subprocess.run([str(flight), "encode", str(c_coder.folder / "case"), str(c_coder.folder / "p")],
                          capture_output=True, text=True)
    assert done.returncode == 2 and "not a case file" in done.stderr


def test_flight_ranked_residual_overflow(c_coder):
    """A code at or above RANGE (a payload packed from altered codes) is refused after its level's last code,
    as Python does: a later range-coder failure in the same level is reported instead."""
    case = _case(maskcodec.sample_image("mastcam")[:48, :64], 1.0, 8, "hash", 1, 8)
    rng_ = (255 + 16) // 17 + 1
    levels, _ = ranked.codes(case.idx, case.keys, case.values, case.prior, case.shape, 8, 1, 8)
    for level in (0, len(levels) - 1):
        altered = [(ctx, codes.copy()) for ctx, codes in levels]
        altered[level][1][0, 0] = rng_ + 3
        payload = ranked.pack(altered, 8)
        results = c_coder.decodes(case, [payload, payload[:-1]])
        assert _agree_on(results[0], case, payload) == "residual"
        assert _agree_on(results[1], case, payload[:-1]) == ("truncated" if level == len(levels) - 1 else "residual")


def test_flight_ranked_reconstruct_corner(c_coder):
    """A code the encoder never writes but a decoder accepts (z = 1 on a prediction of 0, bits 8, max_error 3):
    spec 6.5 applies one correction or the other ("else if", as JPEG-LS): -7 + 266 = 259, clamped to 255, not
    corrected back down. C and the reference agree on it."""
    prior = Prior(np.array([0]), np.array([[0]]))
    case = Case((1, 2), 8, 0, 3, np.array([1]), np.array([5], np.uint32), np.array([[0]]), prior)
    payload = ranked.pack([(np.array([0]), np.array([[1]]))], 8)
    assert _agree_on(c_coder.decode(case, payload), case, payload) == "decoded"
