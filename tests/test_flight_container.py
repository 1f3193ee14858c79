"""The flight core's single container (flight/src/container.c) and its tool mcx (flight/tools/mcx.c) against the
reference (maskcodec): the C encoder writes the Python encoder's bytes on real crops, ``mcx check`` passes on the
conformance vectors, and a structure-aware fuzz of every ranked vector under AddressSanitizer and UBSan finds C
accepting exactly what maskcodec accepts, with the same values, and refusing the rest with the same error class.

flight/ is copied to a temporary folder and built there (the ``flight_build`` and ``flight_sanitized`` fixtures), so
the checkout's flight/build is left alone.
"""
import hashlib
import json
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec import errors
from maskcodec.codec import _read
from maskcodec.masks import KINDS, kept_indices
from maskcodec.modes.mask.chains import read_chain_image
from maskcodec.records import Limits

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"
SEED = 7


@pytest.fixture
def mcx(flight_build) -> Path:
    """mcx of the built copy of flight/ (``make all check`` passed: ``mcx check`` of the vectors included)."""
    return flight_build / "mcx"


def _run(*args, stdin: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(a) for a in args], input=stdin, capture_output=True, text=True)


# ------------------------------------------------------------------------------------ the encoder, byte for byte

def _scaled(a: np.ndarray, bits: int) -> np.ndarray:
    """8-bit samples stretched to ``bits`` as uint16 (the low bits repeat the high ones): real structure."""
    a = a.astype(np.uint16)
    return (a << (bits - 8)) | (a >> (16 - bits))


def _images():
    """(name, image, bits) of real crops: gray and RGB at 8 and 12 bits, (H, W, 1), 2 and 4 bands."""
    rgb = maskcodec.sample_image("mastcam")[100:180, 120:220]
    gray = maskcodec.sample_image("navcam")[20:116, 30:150]
    bands = np.concatenate([rgb, rgb.mean(axis=2, keepdims=True).astype(np.uint8)], axis=2)
    return [("gray8", gray, 8), ("gray12", maskcodec.sample_image("navcam12")[10:90, 20:120], 12),
            ("rgb8", rgb, 8), ("rgb12", _scaled(rgb, 12), 12), ("gray8_hwc1", gray[:, :, None], 8),
            ("bands2", bands[:, :, :2], 8), ("bands4", bands, 8), ("gray7", gray >> 1, 7)]


def _netpbm(image: np.ndarray, maxval: int) -> bytes:
    """P5 or P6 of an (H, W) or (H, W, 3) image (two bytes a sample, big-endian, above maxval 255)."""
    h, w = image.shape[:2]
    raster = image.astype(">u2" if maxval > 255 else "u1").tobytes()
    return f"P{6 if image.ndim == 3 else 5}\n# a comment\n{w} {h}\n{maxval}\n".encode() + raster


@pytest.mark.parametrize("name,image,bits", [pytest.param(*case, id=case[0]) for case in _images()])
def test_c_encoder_writes_the_python_bytes(mcx, tmp_path, name, image, bits):
    """Keeps from 0.02 to 1, max_error 0 and 2, both mask kinds: ``mcx encode`` of the .npy (and, for gray and RGB,
    of the Netpbm file) writes what maskcodec.encode writes, the transform chosen as the reference chooses it."""
    np.save(tmp_path / "in.npy", image)
    inputs = [tmp_path / "in.npy"]
    if image.ndim == 2 or image.shape[2] == 3:
        (tmp_path / "in.pnm").write_bytes(_netpbm(image, (1 << bits) - 1))
        inputs.append(tmp_path / "in.pnm")
    for keep in (0.02, 0.1, 0.5, 1.0):
        for d in (0, 2):
            for kind in ("bluenoise", "hash"):
                want = maskcodec.encode(image, keep, seed=SEED, mask=kind, max_error=d, bits=bits, coding="ranked")
                for source in inputs:
                    done = _run(mcx, "encode", source, tmp_path / "out.mcx", "--keep", keep, "--seed", SEED,
                                "--mask", kind, "--max-error", d, "--bits", bits)
                    assert done.returncode == 0, done.stderr
                    got = (tmp_path / "out.mcx").read_bytes()
                    assert got == want, (name, source.suffix, keep, d, kind, len(got), len(want))


def test_c_refinements_and_decode(mcx, tmp_path):
    """``mcx encode --refine`` writes maskcodec.refine's bytes along a chain (another max_error a file), and
    ``mcx decode`` of the chain writes every kept pixel as maskcodec reads it, 0 elsewhere."""
    for image, bits, suffix in ((maskcodec.sample_image("mastcam")[:96, :120], 8, ".ppm"),
                                (maskcodec.sample_image("navcam12")[:80, :100], 12, ".pgm")):
        np.save(tmp_path / "in.npy", image)
        chain = []
        for keep, d in ((0.05, 0), (0.3, 2), (1.0, 1)):
            path = tmp_path / f"c{len(chain)}.mcx"
            refine = [a for i in range(len(chain)) for a in ("--refine", tmp_path / f"c{i}.mcx")]
            done = _run(mcx, "encode", tmp_path / "in.npy", path, "--keep", keep, "--seed", SEED, "--max-error", d,
                        "--bits", bits, *refine)
            assert done.returncode == 0, done.stderr
            want = (maskcodec.refine(image, chain, keep, max_error=d) if chain else
                    maskcodec.encode(image, keep, seed=SEED, max_error=d, bits=bits))
            assert path.read_bytes() == want
            chain.append(want)
            done = _run(mcx, "decode", *[tmp_path / f"c{i}.mcx" for i in range(len(chain))], tmp_path / f"o{suffix}")
            assert done.returncode == 0 and "inpainting" in done.stderr, done.stderr
            header, known, values = read_chain_image(chain, Limits())
            raster = (tmp_path / f"o{suffix}").read_bytes()
            pixels = np.frombuffer(raster[-image.size * (2 if bits > 8 else 1):], ">u2" if bits > 8 else "u1")
            pixels = pixels.reshape(image.shape)
            assert (pixels[known] == values.reshape(pixels[known].shape)).all()
            assert not pixels[~known].any()
        alone = _run(mcx, "decode", tmp_path / "c1.mcx", tmp_path / f"o{suffix}")
        assert alone.returncode == 3 and "ChainError" in alone.stderr


def test_c_encoder_refuses_what_python_refuses(mcx, tmp_path):
    """max_error above 2^(bits-1) - 1, a value above 2^bits - 1, an image over the default limits: usage errors."""
    gray = maskcodec.sample_image("mastcam")[:40, :50, 0] >> 1
    gray[0, 1] = 200  # a pixel the mask does not keep: maskcodec checks every sample against bits
    np.save(tmp_path / "in.npy", gray)
    np.save(tmp_path / "big.npy", np.zeros((4, 70000), np.uint8))
    for args in ({"max_error": 128}, {"bits": 7}):
        with pytest.raises(errors.InvalidInputError):
            maskcodec.encode(gray, 0.1, seed=1, **args)
        done = _run(mcx, "encode", tmp_path / "in.npy", tmp_path / "o.mcx", "--seed", 1,
                    *[a for k, v in args.items() for a in (f"--{k.replace('_', '-')}", v)])
        assert done.returncode == 2 and "mcx: encode: arg" in done.stderr, done.stderr
    assert _run(mcx, "encode", tmp_path / "big.npy", tmp_path / "o.mcx").returncode == 2
    assert _run(mcx, "encode", tmp_path / "in.npy", tmp_path / "o.mcx", "--keep", 0).returncode == 2
    assert not (tmp_path / "o.mcx").exists()
    helped = _run(mcx, "--help")
    assert helped.returncode == 0 and all(f"mcx {c}" in helped.stdout for c in ("encode", "decode", "verify", "check"))


# ------------------------------------------------------------------------------------------------- the vectors

def test_mcx_check_passes_on_the_vectors(mcx, flight_sanitized):
    """Every ranked vector and the ranked chain decode and re-encode exactly; so do the segmented streams (format
    4.0) of valid/, and every stream of salvage/ is refused strictly and salvaged with its report; every error
    vector is refused with its class, or "unsupported" only where maskcodec itself passes checks 1-9 on a file (never
    a stream); the same under ASan and UBSan."""
    index = json.loads((VECTORS / "errors" / "index.json").read_text())
    for binary in (mcx, flight_sanitized / "mcx"):
        done = _run(binary, "check", VECTORS)
        assert done.returncode == 0 and not done.stderr, done.stdout[-3000:] + done.stderr
        lines = {line.split()[1].rstrip(":"): line.split()[0] for line in done.stdout.splitlines()[1:-1]}
        ranked = [f"valid/{p.stem}" for p in (VECTORS / "valid").glob("r_*.mcx")]
        assert len(ranked) >= 8 and all(lines[name] == "ok" for name in ranked)
        assert lines["chains/chain_rgb8_ranked"] == "ok"
        streams = [f"{p.parent.name}/{p.stem}" for folder in ("valid", "errors", "salvage")
                   for p in (VECTORS / folder).glob("*.mcx") if p.read_bytes()[:4] == b"\x89MCL"]
        assert len(streams) >= 25 and all(lines[name] == "ok" for name in streams)
        assert {name for name in lines if name.startswith("errors/")} == {f"errors/{n}" for n in index}
        for name, status in lines.items():
            if status != "unsupported":
                assert status in ("ok", "skip"), name
                continue
            data = (VECTORS / f"{name}.mcx").read_bytes()
            assert data[:4] == b"\x89MCX", name
            header, _ = _read(data, Limits())  # checks 1-9 pass in maskcodec too
            assert header.mode == "latent" or header.coding != "ranked", name


# ------------------------------------------------------------------------------ the fuzz, under ASan and UBSan

def _u(b: bytes) -> int:
    return int.from_bytes(b, "little")


def _crc(b: bytes) -> bytes:
    return zlib.crc32(b).to_bytes(4, "little")


def _header_length(data: bytes) -> int | None:
    """Where the header checksum of the bytes lies, read as section 4 lays out a header; None if they end first."""
    if len(data) < 37:
        return None
    at = 37 + data[36] + 32
    if len(data) < at + 4:
        return None
    at += 4 + _u(data[at:at + 4])
    if data[8] == 1:
        if len(data) < at + 14:
            return None
        at += 14 + (0 if data[at + 13] in (1, 3) else 8 * _u(data[at:at + 2]))
    elif _u(data[6:8]) & 2:
        if len(data) < at + 3:
            return None
        at += 3 + (36 if data[at + 2] == 1 else 0)
    at += 16
    return at if len(data) >= at + 4 else None


def _join(head: bytes, payload: bytes, payload_size: int | None = None) -> bytes:
    """A file of a header (without its checksum) and a payload, its payload_size and both CRC32s set."""
    head = head[:-8] + (len(payload) if payload_size is None else payload_size).to_bytes(8, "little")
    return head + _crc(head) + payload + _crc(payload)


def _fix_crcs(data: bytes) -> bytes:
    """Both CRC32s recomputed where the (mutated) layout puts them, so that a mutation reaches the checks after."""
    at = _header_length(data)
    if at is None:
        return data
    data = bytearray(data)
    data[at:at + 4] = _crc(bytes(data[:at]))
    if len(data) >= at + 8:
        data[-4:] = _crc(bytes(data[at + 4:-4]))
    return bytes(data)


def _metadata_blocks(rng) -> list[bytes]:
    """Metadata blocks maskcodec accepts and refuses: JSON objects of every kind of value, Python's extensions
    (NaN, Infinity), strict UTF-8 and strict strings, and random damage to them."""
    objects = [{"a": 1}, {"instrument": "Mastcam", "sol": 1234, "exposure": 0.0125, "tags": ["x", None, True, False]},
               {"é": "ü☃\U0001F680", "\n": "\t\"\\/"}, {"nested": [[[{"d": [], "e": {}}]]]},
               {"n": [-0.0, 1e300, -2.5e-7, 10 ** 30, -1]}]
    texts = [json.dumps(o, ensure_ascii=a, indent=i, separators=s).encode()
             for o in objects for a in (True, False) for i, s in ((None, (",", ":")), (2, (", ", ": ")))]
    texts += [b"{}", b" {\t}\r\n", b'{"a":NaN,"b":-Infinity,"c":Infinity}', b'{"a":1e5,"b":1E+5,"c":-0,"d":0.5e-3}',
              b'{"\\ud800":"\\udc00\\u00E9"}', b'{"a":"\xf4\x8f\xbf\xbf"}', b"{" + b'"a":[' * 200 + b"]" * 200 + b"}"]
    refused = [b"[]", b"1", b'"s"', b"null", b'{"a":1,}', b"{'a':1}", b'{"a":"\x01"}', b'{"a":"\\u12"}',
               b"\xef\xbb\xbf{}", b'{"a":"\xed\xa0\x80"}', b'{"a":"\xc0\x80"}', b'{"a":"\xf4\x90\x80\x80"}',
               b'{"a":"\xe0\x80\x80"}', b'{"a":01}', b'{"a":1.}', b'{"a":.5}', b'{"a":- 1}', b'{"a":tru}',
               b'{"a":1}x', b'{"a":1}\x00', b'{"a":[1,2,]}', b'{"a":[,]}', b"{,}", b'{"a":-NaN}', b'{"a":1e}',
               b'{"a":"\\x"}', b'{"a" 1}', b'{"a":1 "b":2}', b"{", b"", b'{"a":-Inf}', b"{} {}"]
    damaged = []
    for _ in range(60):
        t = bytearray(texts[int(rng.integers(len(texts)))])
        at = int(rng.integers(len(t) + 1))
        what = int(rng.integers(3))
        if what == 0 and at < len(t):
            del t[at]
        elif what == 1:
            chars = b'{}[]",:\\ 0e-.aN\x80\xff\x00\x1f'
            t.insert(at, chars[int(rng.integers(len(chars)))])
        else:
            t = t[:at]
        damaged.append(bytes(t))
    return texts + refused + damaged


class Mutator:
    """Seeded, structure-aware damage of a valid ranked file: each header field set to edge values (alone, or with
    the fields that depend on it made consistent so that the damage reaches the mask and the coder), layout fields
    (model id, metadata, coding block, flags) with or without the bytes they announce, the payload truncated,
    extended, flipped or overwritten (with or without payload_size following), and the file cut or extended
    without fixing its CRC32s."""

    FIXED = {"magic": (0, 4), "version_major": (4, 1), "version_minor": (5, 1), "flags": (6, 2), "mode": (8, 1),
             "sample_format": (9, 1), "bits": (10, 1), "transform": (11, 1), "channels": (12, 2), "mask_kind": (14, 1),
             "reserved": (15, 1), "height": (16, 4), "width": (20, 4), "seed": (24, 4), "keep_threshold": (28, 4),
             "survivors": (32, 4)}

    def __init__(self, rng):
        self.rng = rng
        self.metadata = _metadata_blocks(rng)

    def pick(self, values):
        return values[int(self.rng.integers(len(values)))]

    def value(self, name: str, old: int, size: int) -> int:
        top = (1 << (8 * size)) - 1
        if name in ("height", "width"):  # small, or beyond the limits: never a huge image within them
            pool = [0, 1, 2, old - 1, old + 1, 2 * old, old // 2, 65537, top, int(self.rng.integers(1, 300))]
        elif name == "channels":
            pool = [0, 1, 2, 3, 4, 5, 255, 256, 1024, 1025, top]
        else:
            pool = [0, 1, 2, old ^ 1, old + 1, old - 1, top, top >> 1, int.from_bytes(self.rng.bytes(size), "little")]
        return min(max(self.pick(pool), 0), top)

    @staticmethod
    def consistent(head: bytearray) -> None:
        """survivors (the mask's count, when the image is small) and payload_raw_size made to agree with the fields."""
        h, w, c, bits, kind = _u(head[16:20]), _u(head[20:24]), _u(head[12:14]), head[10], head[14]
        if kind in KINDS and 0 < h * w <= 1 << 18:
            kept = kept_indices(h, w, _u(head[28:32]), _u(head[24:28]), KINDS[kind].name)
            head[32:36] = len(kept).to_bytes(4, "little")
        head[-16:-8] = (_u(head[32:36]) * c * (2 if bits > 8 else 1)).to_bytes(8, "little")

    def __call__(self, data: bytes) -> bytes:
        rng, at = self.rng, _header_length(data)
        head, payload = bytearray(data[:at]), data[at + 4:-4]
        length, meta = head[36], 69 + head[36]
        block = meta + 4 + _u(head[meta:meta + 4])
        op = int(rng.integers(12))
        if op <= 2:  # a field of the fixed part, made consistent or not
            name = self.pick(list(self.FIXED))
            off, size = self.FIXED[name]
            head[off:off + size] = self.value(name, _u(head[off:off + size]), size).to_bytes(size, "little")
            if op > 0:
                self.consistent(head)
        elif op == 3:  # a flag bit (bit 1 takes the coding block away or brings it)
            head[6:8] = (_u(head[6:8]) ^ (1 << int(rng.integers(16)))).to_bytes(2, "little")
        elif op == 4:  # a model id (ASCII or not) and a hash, or only its length
            n = int(rng.integers(1, 70))
            if rng.integers(3):
                ident = bytes(rng.integers(0x20, 0x7F if rng.integers(4) else 0x100, n, dtype=np.uint8))
                digest = bytes(32) if rng.integers(5) == 0 else hashlib.sha256(ident).digest()
                head[36:37 + length + 32] = bytes([n]) + ident + digest
            else:
                head[36] = n
        elif op == 5:  # a metadata block, or only its length
            text = self.pick(self.metadata)
            if rng.integers(4):
                head[meta:block] = len(text).to_bytes(4, "little") + text
            else:
                head[meta:meta + 4] = self.value("metadata_length", _u(head[meta:meta + 4]), 4).to_bytes(4, "little")
        elif op == 6:  # the coding block: max_error, refines (a refinement's fields, or not)
            if rng.integers(2):
                head[block:block + 2] = self.pick([0, 1, 127, 128, 2047, 2048, 32767, 65535]).to_bytes(2, "little")
            else:
                refines = self.pick([0, 1, 1, 2, 255])
                extra = (int(rng.integers(0, 1 << 32)).to_bytes(4, "little") + bytes(rng.integers(0, 256, 32,
                         dtype=np.uint8))) if refines == 1 and rng.integers(4) else b""
                head[block + 2:block + 3] = bytes([refines]) + extra
        elif op == 7:  # payload_raw_size or payload_size
            off = len(head) - int(rng.choice([16, 8]))
            head[off:off + 8] = self.value("size", _u(head[off:off + 8]), 8).to_bytes(8, "little")
            return _fix_crcs(bytes(head) + _crc(bytes(head)) + payload + _crc(payload))
        elif op <= 9:  # the payload
            p, n = bytearray(payload), len(payload)
            what = int(rng.integers(5)) if n else 1
            if what == 0:
                p = p[:int(rng.integers(0, n))]
            elif what == 1:
                p += bytes(rng.integers(0, 256, int(rng.integers(1, 4)), dtype=np.uint8))
            elif what == 2:
                for _ in range(int(rng.integers(1, 4))):
                    p[int(rng.integers(n))] ^= 1 << int(rng.integers(8))
            elif what == 3:
                start = int(rng.integers(n))
                p[start:] = bytes(rng.integers(0, 256, n - start, dtype=np.uint8))
            else:
                p = bytearray(self.pick([b"", b"\0" * 3, b"\0" * 4, b"\xff" * 4, b"\xff" * n]))
            if rng.integers(4) == 0:  # payload_size not following: a truncated file or trailing bytes
                return _join(bytes(head), bytes(p), len(payload))
            payload = bytes(p)
        elif op == 10:  # bytes of the header flipped anywhere, CRCs fixed where the new layout puts them
            out = bytearray(data)
            for _ in range(int(rng.integers(1, 4))):
                out[int(rng.integers(at))] ^= 1 << int(rng.integers(8))
            return _fix_crcs(bytes(out))
        else:  # the file cut, extended or flipped without fixing anything
            what = int(rng.integers(3))
            if what == 0:
                return data[:int(rng.integers(0, len(data)))]
            if what == 1:
                return data + bytes(int(rng.integers(1, 5)))
            out = bytearray(data)
            out[int(rng.integers(len(data)))] ^= 1 << int(rng.integers(8))
            return bytes(out)
        return _join(bytes(head), payload)


def _reference(data: bytes):
    """What maskcodec makes of a file: ("ok", n, SHA-256 of the values as u16 LE) or ("refused", class), and whether
    it passes checks 1-9 as a file the C core does not decode (latent mode, scan or predictive coding, more than
    255 channels; not a refinement, which is a ChainError whatever its coding)."""
    header = None
    try:
        header, _ = _read(data, Limits())
        if header.mode == "mask":
            _, _, values = maskcodec.survivors(data)
    except errors.FormatError as e:
        outcome = ("refused", type(e).__name__)
    else:
        outcome = ("ok", values.shape[0], hashlib.sha256(values.astype("<u2").tobytes()).hexdigest()) \
            if header.mode == "mask" else ("latent",)
    undecided = header is not None and not (header.mode == "mask" and header.refines) and (
        header.mode != "mask" or header.coding != "ranked" or header.channels > 255)
    return outcome, undecided


def _ranked_files() -> list[bytes]:
    chain = json.loads((VECTORS / "chains" / "index.json").read_text())["chains"]["chain_rgb8_ranked"]["files"]
    return [p.read_bytes() for p in sorted((VECTORS / "valid").glob("r_*.mcx"))] + \
        [(VECTORS / "chains" / name).read_bytes() for name in chain]


def test_fuzz_ranked_vectors_under_sanitizers(flight_sanitized, tmp_path):
    """Every ranked vector (and the ranked chain's files, its refinements alone a ChainError), 300 seeded mutations
    each, both CRC32s recomputed so that the damage reaches the parser, the mask and the coder; all of them decoded
    by the sanitized mcx in one process: no ASan or UBSan finding (any aborts it), and C decides as maskcodec:
    the same values, or the same error class, or "unsupported" exactly where maskcodec passes checks 1-9 on a file
    the C core does not decode."""
    rng = np.random.default_rng(28)
    mutate = Mutator(rng)
    cases, paths = [], []
    for base in _ranked_files():
        for _ in range(300):
            data = mutate(base)
            if rng.integers(8) == 0:
                data = mutate(_fix_crcs(data)) if _header_length(data) else data  # two mutations
            paths.append(tmp_path / f"{len(cases)}.mcx")
            paths[-1].write_bytes(data)
            cases.append(data)
    done = _run(flight_sanitized / "mcx", "verify", stdin="\n".join(map(str, paths)) + "\n")
    assert done.returncode == 0 and not done.stderr, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    assert len(lines) == len(cases)
    seen, checks = {}, set()
    for data, line, path in zip(cases, lines, paths):
        where, status, *rest = line.split("\t")
        assert where == str(path)
        want, undecided = _reference(data)
        assert (status == "unsupported") == undecided, (path.name, line, want)
        if status == "ok":
            assert want == ("ok", int(rest[0]), rest[1]), (path.name, line, want)
        elif status == "refused":
            assert want == ("refused", rest[0]), (path.name, line, want)
            checks.add(rest[1])
        key = rest[0] if status == "refused" else status
        seen[key] = seen.get(key, 0) + 1
    assert {"ok", "unsupported", "FormatError", "TruncatedError", "ChecksumError", "UnsupportedVersionError",
            "LimitExceededError", "ChainError"} <= set(seen), seen
    # the damage reached the checks of every part: header fields, metadata, the mask (check 11) and the coder
    assert {"metadata is a JSON object in UTF-8", "the mask keeps the survivors (check 11)", "interval", "truncated",
            "trailing", "payload_raw_size", "model id is ASCII"} <= checks, sorted(checks)
    assert len(checks) >= 30, sorted(checks)
