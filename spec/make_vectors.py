"""Write the conformance vectors of spec/format.md into spec/vectors/ (once).

Run from the project root: ``python spec/make_vectors.py``. Existing vectors are
never overwritten: a vector whose bytes would change means the format changed,
which needs a new version and new vector names, not a silent rewrite.
"""
from __future__ import annotations

import json
import sys
import zlib
from pathlib import Path

import numpy as np
import zstandard

import maskcodec
from maskcodec import container
from maskcodec.pack import pack

ROOT = Path(__file__).resolve().parent / "vectors"

# name: (sample, crop rows, crop cols, keep, seed, bits, metadata, add channel axis[, segment size])
VALID = {
    "rgb8_keep0.1": ("mastcam_pano", slice(0, 64), slice(0, 80), 0.1, 1, None, None, False),
    "rgb8_keep1": ("mastcam", slice(100, 116), slice(100, 124), 1.0, 2, None, None, False),
    "gray8_keep0.25": ("navcam", slice(0, 61), slice(0, 97), 0.25, 3, None, None, False),
    "gray12_keep0.1": ("navcam12", slice(20, 83), slice(30, 111), 0.1, 4, 12, None, False),
    "gray8_hwc1_meta_keep0.5": ("navcam", slice(100, 133), slice(50, 77), 0.5, 5, None,
                                {"instrument": "MSL NAVCAM", "source": "ai4mars NLA_412233646EDR"}, True),
    "gray8_empty_keep0.01": ("navcam", slice(0, 5), slice(0, 7), 0.01, 6, None, None, False),
    "seg_rgb8_keep0.25_s256": ("mastcam_pano", slice(0, 64), slice(0, 80), 0.25, 7, None, None, False, 256),
    "seg_gray12_keep0.1_s200": ("navcam12", slice(20, 83), slice(30, 111), 0.1, 8, 12, None, False, 200),
}


def _write_new(path: Path, data: bytes) -> None:
    if path.exists():
        if path.read_bytes() != data:
            sys.exit(f"refusing to change existing vector {path}: bytes differ (format change?)")
        return
    path.write_bytes(data)


def _npy_bytes(a: np.ndarray) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def valid_vectors() -> dict[str, bytes]:
    out = {}
    for name, (sample, rows, cols, keep, seed, bits, meta, hwc1, *segment) in VALID.items():
        img = np.ascontiguousarray(maskcodec.sample_image(sample)[rows, cols])
        if hwc1:
            img = img[..., None]
        data = maskcodec.encode(img, keep=keep, seed=seed, bits=bits, metadata=meta,
                                segment_size=segment[0] if segment else None)
        header, _, values = maskcodec.survivors(data)
        out[f"valid/{name}.input.npy"] = _npy_bytes(img)
        out[f"valid/{name}.mcx"] = data
        out[f"valid/{name}.json"] = (json.dumps(header.to_json(), indent=2, sort_keys=True) + "\n").encode()
        out[f"valid/{name}.survivors.npy"] = _npy_bytes(values)
    return out


def _patch(data: bytes, offset: int, new: bytes, fix_crc: bool = True) -> bytes:
    """Replace bytes in the header and (optionally) recompute the header CRC."""
    b = bytearray(data)
    b[offset:offset + len(new)] = new
    if fix_crc:
        n = maskcodec.inspect(data).header_size - 4
        b[n:n + 4] = zlib.crc32(bytes(b[:n])).to_bytes(4, "little")
    return bytes(b)


def error_vectors(base: bytes, base12: bytes) -> dict[str, tuple[bytes, str, str]]:
    h = maskcodec.inspect(base)
    u32 = lambda v: int(v).to_bytes(4, "little")  # noqa: E731
    flipped_payload = bytearray(base)
    flipped_payload[h.header_size + 5] ^= 0x10
    wide = np.full((maskcodec.inspect(base12).survivors, 1), 0, np.uint16)
    wide_raw = bytearray(pack(wide, 16, 0))
    wide_raw[-1] = 0xFF  # a zigzag code of 16 bits in a 12-bit file
    h12 = maskcodec.inspect(base12)
    too_wide = container.write(shape=h12.shape, dtype=np.dtype(np.uint16), bits=12, transform=0, seed=h12.seed,
                               keep_threshold=h12.keep_threshold, survivors=h12.survivors, raw=bytes(wide_raw))
    return {
        "bad_magic": (b"\x89PNG" + base[4:], "FormatError", "magic number is not \\x89MCX"),
        "empty": (b"", "TruncatedError", "zero-length file"),
        "truncated_magic": (base[:2], "TruncatedError", "file ends inside the magic number"),
        "truncated_header": (base[:30], "TruncatedError", "file ends inside the fixed header"),
        "truncated_header_crc": (base[:h.header_size - 2], "TruncatedError", "file ends inside the header checksum"),
        "truncated_payload": (base[:-9], "TruncatedError", "payload cut short"),
        "trailing_bytes": (base + b"\0\0", "FormatError", "bytes after the payload checksum"),
        "bad_header_crc": (_patch(base, 24, u32(h.seed ^ 1), fix_crc=False), "ChecksumError",
                           "seed changed, header CRC not updated"),
        "bad_payload_crc": (bytes(flipped_payload), "ChecksumError", "one payload bit flipped"),
        "unknown_version": (_patch(base, 4, bytes([2, 0])), "UnsupportedVersionError", "major version 2"),
        "unknown_mode": (_patch(base, 8, bytes([7])), "UnsupportedVersionError", "mode 7"),
        "reserved_flags": (_patch(base, 6, (0x8001).to_bytes(2, "little")), "FormatError", "reserved flag bit 15 set"),
        "bad_sample_format": (_patch(base, 9, bytes([3])), "FormatError", "sample format 3"),
        "bits_too_wide": (_patch(base, 10, bytes([9])), "FormatError", "bits = 9 for uint8 samples"),
        "absurd_dimensions": (_patch(base, 16, u32(0x7FFFFFFF) + u32(0x7FFFFFFF)), "LimitExceededError",
                              "2^31 x 2^31 pixels"),
        "zero_width": (_patch(base, 20, u32(0)), "FormatError", "width 0"),
        "survivors_exceed_pixels": (_patch(base, 32, u32(h.shape[0] * h.shape[1] + 1)), "FormatError",
                                    "more kept pixels than the image has"),
        "wrong_seed": (_patch(base, 24, u32(h.seed + 1)), "FormatError",
                       "seed changed with a valid CRC: the mask keeps another number of pixels"),
        "zigzag_overflow": (too_wide, "FormatError", "a survivor code wider than bits = 12"),
    }


def segmented_error_vectors(seg: bytes, size: int) -> dict[str, tuple[bytes, str, str]]:
    parts = [seg[i:i + size] for i in range(0, len(seg), size)]
    flipped = bytearray(seg)
    flipped[size + 70] ^= 0x04
    padded = bytearray(seg)
    padded[size - 1] = 1  # last padding byte of segment 0
    return {
        "seg_missing_segment": (b"".join(parts[:1] + parts[2:]), "FormatError",
                                "segment 1 lost: segment 2 follows segment 0"),
        "seg_truncated_last": (b"".join(parts[:-1]), "TruncatedError", "last segment lost"),
        "seg_cut_inside": (seg[:size + 100], "TruncatedError", "stream ends inside segment 1"),
        "seg_bad_payload_crc": (bytes(flipped), "ChecksumError", "one bit flipped in segment 1's payload"),
        "seg_nonzero_padding": (bytes(padded), "FormatError", "padding byte of segment 0 is not zero"),
        "seg_unknown_version": (parts[0][:4] + bytes([3]) + parts[0][5:] + b"".join(parts[1:]),
                                "UnsupportedVersionError", "segment major version 3"),
    }


def salvage_vectors(seg: bytes, size: int) -> dict[str, bytes]:
    """Damaged segmented streams that salvage decoding must recover, with the expected report."""
    n = len(seg) // size
    zeroed = seg[:size] + bytes(size) + seg[2 * size:]
    flipped = bytearray(seg)
    flipped[(n - 1) * size + 60] ^= 0x80
    cases = {"lost_packet": seg[:size] + seg[2 * size:], "zeroed_packet": zeroed,
             "flipped_bit": bytes(flipped), "garbage_between": seg[:size] + b"\x89MCS garbage" + seg[size:]}
    out = {}
    for name, data in cases.items():
        _, report = maskcodec.salvage(data, inpainter="nconv")
        out[f"salvage/{name}.mcx"] = data
        out[f"salvage/{name}.json"] = (json.dumps(dict(vars(report)), indent=2, sort_keys=True) + "\n").encode()
    return out


def main() -> int:
    files = valid_vectors()
    errors = error_vectors(files["valid/rgb8_keep0.1.mcx"], files["valid/gray12_keep0.1.mcx"])
    errors |= segmented_error_vectors(files["valid/seg_rgb8_keep0.25_s256.mcx"], 256)
    files |= salvage_vectors(files["valid/seg_rgb8_keep0.25_s256.mcx"], 256)
    index = {}
    for name, (data, exc, fault) in errors.items():
        files[f"errors/{name}.mcx"] = data
        index[name] = {"error": exc, "fault": fault}
    index_path = ROOT / "errors" / "index.json"
    old = json.loads(index_path.read_text()) if index_path.exists() else {}
    if any(index.get(name) != entry for name, entry in old.items()):
        sys.exit(f"refusing to change existing entries of {index_path}")
    index_path.unlink(missing_ok=True)  # the index may only grow
    files["errors/index.json"] = (json.dumps(index, indent=2, sort_keys=True) + "\n").encode()
    files["valid/PROVENANCE.json"] = (json.dumps({
        "zstd_version": ".".join(map(str, zstandard.ZSTD_VERSION)), "zstandard_python": zstandard.__version__,
        "level": container.ZSTD_LEVEL}, indent=2) + "\n").encode()
    for rel, data in files.items():
        path = ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_new(path, data)
    print(f"{len(files)} vector files in {ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
