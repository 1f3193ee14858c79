"""Write the conformance vectors of spec/format.md into spec/vectors/ (once).

Run from the project root: ``python spec/make_vectors.py``. Existing vectors are
never overwritten: a vector whose bytes would change means the format changed,
which needs a new version and new vector names, not a silent rewrite. With
``--descriptions`` the header descriptions ``valid/NAME.json`` (spec section 10.1)
and the fault texts of ``errors/index.json`` are rewritten when their text changed; the
files they describe and the error classes still may not. Error vectors leave the index
only when retired with what they test (``RETIRED``, spec section 13).
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
import zlib
from pathlib import Path

import numpy as np
import zstandard

import maskcodec
import maskcodec.records
from maskcodec.runtime import manifest
from maskcodec.modes.mask import chains as mask_chains, stream as mask_stream
from maskcodec.survivors import predictive, ranked, rice
from maskcodec.framing import container
from maskcodec.framing.fixed import MODE_LATENT, MODE_MASK
from maskcodec.codec import coded
from maskcodec.framing.zstd_frame import ZSTD_LEVEL, compress
from maskcodec.modes.latent import CODER_IDS, QUANTIZATION_IDS, RANGE_CODERS
from maskcodec.entropy.context import ContextTables, symbols
from maskcodec.survivors.scan import pack
from maskcodec.tools.train.latent_export import laplace_tables

ROOT = Path(__file__).resolve().parent / "vectors"
MODELS = ROOT / "models"  # the reference latent models the latent-mode vectors are coded with

# name: (sample, crop rows, crop cols, keep, seed, bits, metadata, add channel axis). (Seeds 7, 8 and 13 were the
# format 2.0 segmented vectors seg_*, retired with 2.0: section 13.)
VALID = {
    "rgb8_keep0.1": ("mastcam_pano", slice(0, 64), slice(0, 80), 0.1, 1, None, None, False),
    "rgb8_keep1": ("mastcam", slice(100, 116), slice(100, 124), 1.0, 2, None, None, False),
    "gray8_keep0.25": ("navcam", slice(0, 61), slice(0, 97), 0.25, 3, None, None, False),
    "gray12_keep0.1": ("navcam12", slice(20, 83), slice(30, 111), 0.1, 4, 12, None, False),
    "gray8_hwc1_meta_keep0.5": ("navcam", slice(100, 133), slice(50, 77), 0.5, 5, None,
                                {"instrument": "MSL NAVCAM", "source": "ai4mars NLA_412233646EDR"}, True),
    "gray8_empty_keep0.01": ("navcam", slice(0, 5), slice(0, 7), 0.01, 6, None, None, False),
    # uint16 samples with 8 significant bits: one byte per value (section 6.4); the input is cast to uint16
    "gray16_bits8_keep0.25": ("navcam", slice(0, 61), slice(100, 197), 0.25, 9, 8, None, False),
    # metadata bytes of section 4.1: nested objects, non-ASCII (BMP and beyond), escapes, numbers
    "gray8_meta_unicode_keep0.25": ("navcam", slice(61, 90), slice(0, 50), 0.25, 10, None,
                                    {"target": "Gale crater \u2013 Aeolis Mons", "instrument": "MSL NAVCAM",
                                     "z": {"b": [1, 2.5, True, None, -0.1], "a": "\u00b5 \"q\" \\ \n \U0001f600"}},
                                    False),
    # mask kind 1 (section 5.2): larger than a tile, partial tiles at the bottom and right
    "rgb8_bluenoise_keep0.1": ("mastcam", slice(0, 150), slice(0, 200), 0.1, 11, None, None, False),
    "gray12_bluenoise_keep0.25": ("navcam12", slice(20, 170), slice(30, 200), 0.25, 12, 12, None, False),
}
# Predictive coding (sections 6.5, 4.2). name: (sample, crop rows, crop cols, keep, seed, bits, mask kind,
# max_error, channels taken from the sample or None for all)
PREDICTIVE = {
    "p_rgb8_keep0.1": ("mastcam", slice(0, 150), slice(0, 200), 0.1, 21, None, "bluenoise", 0, None),
    "p_gray12_hash_keep0.25": ("navcam12", slice(20, 170), slice(30, 200), 0.25, 22, 12, "hash", 0, None),
    "p_rgb8_maxerr2_keep0.2": ("mastcam", slice(100, 200), slice(50, 180), 0.2, 23, None, "bluenoise", 2, None),
    "p_gray8_maxerr3_keep1": ("navcam", slice(40, 100), slice(60, 130), 1.0, 24, None, "bluenoise", 3, None),
    # two bands (Mastcam's R and G): the encoder tries transforms 0 and 2 (band difference)
    "p_2band8_keep0.3": ("mastcam", slice(0, 90), slice(100, 190), 0.3, 25, None, "bluenoise", 0, [0, 1]),
    # four bands (Mastcam's R, G, B and G again): band 3's prediction is corrected by band 2's error, whose
    # own prediction was corrected by band 1's (section 6.5, planes: S_ref, not the corrected prediction)
    "p_4band8_keep0.3": ("mastcam", slice(90, 160), slice(0, 110), 0.3, 27, None, "bluenoise", 0, [0, 1, 2, 1]),
    # smaller than a cell: every pixel of level 0 has no candidate
    "p_gray8_tiny_keep0.5": ("navcam", slice(0, 5), slice(0, 7), 0.5, 26, None, "hash", 0, None),
}
# Ranked coding (flag bits 1 and 2, section 6.7). name: as PREDICTIVE
RANKED = {
    "r_rgb8_keep0.1": ("mastcam", slice(0, 150), slice(0, 200), 0.1, 51, None, "bluenoise", 0, None),
    "r_gray12_hash_keep0.25": ("navcam12", slice(20, 170), slice(30, 200), 0.25, 52, 12, "hash", 0, None),
    # every pixel within +-8: mostly token 0, raw bits rare
    "r_rgb8_maxerr8_keep1": ("mastcam", slice(100, 164), slice(50, 130), 1.0, 53, None, "bluenoise", 8, None),
    "r_gray8_maxerr3_keep0.5": ("navcam", slice(40, 100), slice(60, 130), 0.5, 54, None, "hash", 3, None),
    # four bands: transforms 0 and 2 tried, the smaller payload kept
    "r_4band8_keep0.3": ("mastcam", slice(90, 160), slice(0, 110), 0.3, 55, None, "bluenoise", 0, [0, 1, 2, 1]),
    # 16 significant bits (the 12-bit crop scaled by 16): tokens up to 33, up to 14 raw bits
    "r_gray16_keep0.5": ("navcam12", slice(0, 40), slice(0, 60), 0.5, 56, 16, "bluenoise", 0, None),
    # smaller than a cell: every pixel of level 0 has no candidate; and a file with no kept pixel
    "r_gray8_tiny_keep0.5": ("navcam", slice(0, 5), slice(0, 7), 0.5, 57, None, "hash", 0, None),
    "r_gray8_empty_keep0.01": ("navcam", slice(0, 4), slice(0, 5), 0.01, 58, None, "hash", 0, None),
}
SCALED = {"r_gray16_keep0.5": 16}  # ranked vectors whose crop is multiplied by this (uint16)
# Chains of refinements (section 6.6). name: (sample, rows, cols, bits, seed, mask kind,
# [(keep, max_error, coding of the first file), ...])
CHAINS = {
    "chain_rgb8_lossless": ("mastcam", slice(0, 64), slice(0, 80), None, 31, "bluenoise",
                            [(0.02, 0, "predictive"), (0.2, 0, None), (1.0, 0, None)]),
    "chain_gray12_maxerr": ("navcam12", slice(20, 83), slice(30, 111), 12, 32, "bluenoise",
                            [(0.05, 2, "predictive"), (0.5, 1, None)]),
    "chain_rgb8_ranked": ("mastcam", slice(0, 64), slice(0, 80), None, 34, "bluenoise",
                          [(0.05, 0, "ranked"), (0.3, 2, None), (1.0, 0, None)]),
    "chain_gray8_scan_base": ("navcam", slice(0, 61), slice(0, 97), None, 33, "hash",
                              [(0.1, 0, "scan"), (0.3, 0, None)]),
}
# Lean segmented streams (format 4.0, section 11). name: (sample, rows, cols, keep, seed, bits, mask kind,
# max_error, metadata, channels taken or None, segment size)
LEAN = {
    "s4_rgb8_meta_keep0.1_s256": ("mastcam", slice(0, 120), slice(0, 160), 0.1, 41, None, "bluenoise", 0,
                                  {"instrument": "MAST_RIGHT", "sol": 1044}, None, 256),
    "s4_gray12_hash_maxerr2_s200": ("navcam12", slice(20, 120), slice(30, 150), 0.2, 42, 12, "hash", 2, None,
                                    None, 200),
    "s4_4band8_keep0.3_s300": ("mastcam", slice(90, 160), slice(0, 110), 0.3, 43, None, "bluenoise", 0, None,
                               [0, 1, 2, 1], 300),
    # no kept pixel: one segment with n = 0
    "s4_gray8_empty_s128": ("navcam", slice(0, 4), slice(0, 5), 0.01, 44, None, "hash", 0, None, None, 128),
}
AS_UINT16 = {"gray16_bits8_keep0.25"}  # valid vectors whose 8-bit crop is stored as uint16
# the mask kind of each valid vector: kind 0 (hash) unless named here
BLUENOISE = {"rgb8_bluenoise_keep0.1", "gray12_bluenoise_keep0.25"}
# Latent mode (section 12). name: (sample, crop rows, crop cols, model, bits, metadata, add channel axis)
LATENT = {
    "latent_rgb8_minmax": ("mastcam", slice(100, 157), slice(50, 131), "ref-rgb", None, None, False),
    "latent_rgb8_edge": ("mastcam", slice(10, 15), slice(20, 27), "ref-rgb", None, None, False),
    "latent_gray8_integer": ("navcam", slice(0, 61), slice(0, 97), "ref-gray-int", None, None, False),
    "latent_gray12_hwc1_meta": ("navcam12", slice(20, 83), slice(30, 111), "ref-gray-int", 12,
                                {"instrument": "MSL NAVCAM"}, True),
    "latent_rgb8_context": ("mastcam", slice(72, 129), slice(216, 297), "ref-rgb-context", None, None, False),
    "latent_rgb8_context_edge": ("mastcam", slice(10, 15), slice(20, 27), "ref-rgb-context", None, None, False),
}
# Coder 3 (section 12.6): a family of 4 tables; 3 x 3 classes; channel c's table at class (qs, qe) is
# min(3, qs + qe + c mod 2); centres near Mastcam's block maxima and minima (channel 0's is the edge
# vector's value, so that channel is left out there). The edges are chosen so that latent_rgb8_context
# visits all 9 classes and has escapes whose decoding order differs from C order.
_FAMILY = laplace_tables([0.0] * 4, [1.0, 4.0, 12.0, 30.0], precision=13)
REF_CONTEXT = ContextTables(precision=13, lows=_FAMILY.lows, freqs=_FAMILY.freqs, centers=(203, 142, 116, 104, 91, 65),
                            spatial_edges=(6, 10), energy_edges=(130, 155),
                            map=tuple(tuple(min(3, qs + qe + c % 2) for qs in range(3) for qe in range(3))
                                      for c in range(6)))
# Reference latent models (maskcodec.tools.train.latent_export.reference_model): id -> its arguments.
REFERENCE_MODELS = {
    "ref-rgb": dict(channels=3, factor=16, quantization="minmax"),
    "ref-gray-int": dict(channels=1, factor=16, quantization="integer", scale=255.0),
    "ref-rgb-context": dict(channels=3, factor=16, quantization="integer", scale=255.0, tables=REF_CONTEXT),
}


# Error vectors retired with format 2.0 and latent coder 1 (section 13): the only entries that may leave
# errors/index.json (a decoder refuses such files with UnsupportedVersionError; their files were removed).
RETIRED = {"seg_missing_segment", "seg_truncated_last", "seg_cut_inside", "seg_bad_payload_crc", "seg_nonzero_padding",
           "seg_unknown_version", "seg_unknown_mask_kind", "seg_mode_latent", "seg_predictive_flag",
           "latent_rans_minmax", "latent_rans_truncated", "latent_rans_short_stream", "latent_rans_extra_word",
           "latent_rans_odd_size", "latent_rans_low_state", "latent_rans_escape_count",
           "latent_rans_huge_escape_count", "latent_rans_channel_map", "latent_rans_channel_left_out",
           "latent_rans_flipped_word", "latent_rans_model_without_tables", "latent_context_as_coder_1",
           # format 3.0 (Rice-coded segments), retired by 4.0: its must-fail vectors left with it
           "s3_missing_segment", "s3_truncated_last", "s3_cut_inside", "s3_bad_crc", "s3_reserved_flag",
           "s3_unknown_version", "s3_description_missing", "s3_stream_id", "s3_first_gap", "s3_nonzero_padding",
           "s3_rice_parameter", "s3_count_mismatch", "s3_size_mismatch", "s3_trailing_bytes", "s3_mode_latent",
           "s3_index_beyond_first"}


def _coded(data: bytes) -> bytes:
    """What a file's payload codes (:func:`maskcodec.codec.coded`)."""
    return coded(data)[1]


def _file(header, raw: bytes, *, model_id: str | None = None, model_sha256: bytes | None = None,
          latent=None, **fields) -> bytes:
    """A container like ``header``'s holding ``raw`` (a zstd frame of it; a range code as it is), with the latent
    block ``latent`` (:class:`maskcodec.records.LatentFields`) in latent mode."""
    block, payload, raw_size = None, compress(raw), len(raw)
    if latent is not None:
        block = dict(latent_channels=latent.channels, latent_height=latent.height, latent_width=latent.width,
                     factor=latent.factor, quantization=QUANTIZATION_IDS[latent.quantization],
                     coder=CODER_IDS[latent.coder], offsets=None, steps=None)
        if latent.coder in RANGE_CODERS:
            payload, raw_size = raw, latent.channels * latent.height * latent.width
        else:
            block |= dict(offsets=np.asarray(latent.offsets, "<f4").tobytes(),
                          steps=np.asarray(latent.steps, "<f4").tobytes())
    model_id = header.model_id if model_id is None else model_id
    sha = bytes.fromhex(header.model_sha256) if model_sha256 is None and model_id else (model_sha256 or bytes(32))
    return container.build(shape=header.shape, dtype=np.dtype(header.dtype), bits=header.bits,
                           mode=MODE_MASK if latent is None else MODE_LATENT, payload=payload,
                           payload_raw_size=raw_size, model_id=model_id, model_sha256=sha, block=block, **fields)


def _write_new(path: Path, data: bytes, descriptions: bool = False) -> None:
    """Write a vector file once. With ``descriptions``, the header descriptions ``valid/NAME.json`` may be
    rewritten (what ``info --json`` prints of an unchanged file), never a ``.mcx`` or an array."""
    if path.exists():
        if path.read_bytes() != data and not (descriptions and path.parent.name in ("valid", "chains")
                                               and path.suffix == ".json"):
            sys.exit(f"refusing to change existing vector {path}: bytes differ (format change?)")
        if path.read_bytes() == data:
            return
    path.write_bytes(data)


def _npy_bytes(a: np.ndarray) -> bytes:
    import io
    buf = io.BytesIO()
    np.save(buf, a, allow_pickle=False)
    return buf.getvalue()


def valid_vectors() -> dict[str, bytes]:
    out = {}
    for name, (sample, rows, cols, keep, seed, bits, meta, hwc1) in VALID.items():
        img = np.ascontiguousarray(maskcodec.sample_image(sample)[rows, cols])
        if name in AS_UINT16:
            img = img.astype(np.uint16)
        if hwc1:
            img = img[..., None]
        data = maskcodec.encode(img, keep=keep, seed=seed, bits=bits, metadata=meta,
                                mask="bluenoise" if name in BLUENOISE else "hash",
                                coding="scan")  # written before predictive coding
        out |= _valid(name, img, data)
    for coding, table in (("predictive", PREDICTIVE), ("ranked", RANKED)):
        for name, (sample, rows, cols, keep, seed, bits, kind, max_error, bands) in table.items():
            img = np.ascontiguousarray(_crop(sample, rows, cols)[..., bands] if bands else _crop(sample, rows, cols))
            if name in SCALED:
                img = img.astype(np.uint16) * SCALED[name]
            out |= _valid(name, img, maskcodec.encode(img, keep=keep, seed=seed, bits=bits, mask=kind,
                                                      max_error=max_error, coding=coding))
    for name, (sample, rows, cols, keep, seed, bits, kind, max_error, meta, bands, size) in LEAN.items():
        img = np.ascontiguousarray(_crop(sample, rows, cols)[..., bands] if bands else _crop(sample, rows, cols))
        out |= _valid(name, img, maskcodec.encode(img, keep=keep, seed=seed, bits=bits, mask=kind, metadata=meta,
                                                  max_error=max_error, segment_size=size))
    return out


def _crop(sample: str, rows: slice, cols: slice) -> np.ndarray:
    return np.ascontiguousarray(maskcodec.sample_image(sample)[rows, cols])


def _description(data: bytes) -> bytes:
    return (json.dumps(maskcodec.inspect(data).to_json(), indent=2, sort_keys=True) + "\n").encode()


def _valid(name: str, img: np.ndarray, data: bytes) -> dict[str, bytes]:
    """A valid vector's four files: input, file, header description, kept values as decoded."""
    return {f"valid/{name}.input.npy": _npy_bytes(img), f"valid/{name}.mcx": data,
            f"valid/{name}.json": _description(data), f"valid/{name}.survivors.npy": _npy_bytes(maskcodec.survivors(data)[2])}


def chain_vectors() -> tuple[dict[str, bytes], dict[str, list[bytes]]]:
    """The chains of section 6.6, their files and index (with the failing orders), and each chain's files."""
    out, chains, index = {}, {}, {"chains": {}, "fail": {}}
    for name, (sample, rows, cols, bits, seed, kind, steps) in CHAINS.items():
        img = _crop(sample, rows, cols)
        (keep, max_error, coding), *rest = steps
        files = [maskcodec.encode(img, keep=keep, seed=seed, bits=bits, mask=kind, max_error=max_error, coding=coding)]
        for keep, max_error, _ in rest:
            files.append(maskcodec.refine(img, files, keep, max_error=max_error))
        _, known, values = mask_chains.read_chain_image(files, maskcodec.Limits())
        out[f"chains/{name}.input.npy"] = _npy_bytes(img)
        out[f"chains/{name}.survivors.npy"] = _npy_bytes(values)
        for k, data in enumerate(files):
            out[f"chains/{name}.{k}.mcx"] = data
            out[f"chains/{name}.{k}.json"] = _description(data)
        index["chains"][name] = {"files": [f"{name}.{k}.mcx" for k in range(len(files))],
                                 "input": f"{name}.input.npy", "survivors": f"{name}.survivors.npy"}
        chains[name] = files
    index["fail"] = {
        "chain_wrong_order": {"files": ["chain_rgb8_lossless.1.mcx", "chain_rgb8_lossless.0.mcx"],
                              "error": "ChainError", "fault": "a refinement before the file it refines"},
        "chain_missing_link": {"files": ["chain_rgb8_lossless.0.mcx", "chain_rgb8_lossless.2.mcx"],
                               "error": "ChainError", "fault": "the middle file of a chain left out"},
        "chain_repeated_link": {"files": ["chain_rgb8_lossless.0.mcx", "chain_rgb8_lossless.1.mcx",
                                          "chain_rgb8_lossless.1.mcx"],
                                "error": "ChainError", "fault": "a refinement given twice"},
        "chain_other_image": {"files": ["chain_gray12_maxerr.0.mcx", "chain_gray8_scan_base.1.mcx"],
                              "error": "ChainError", "fault": "a refinement of another image's chain"},
        "chain_two_first_files": {"files": ["chain_rgb8_lossless.0.mcx", "chain_gray12_maxerr.0.mcx"],
                                  "error": "ChainError", "fault": "a first file where a refinement must be"},
    }
    out["chains/index.json"] = (json.dumps(index, indent=2, sort_keys=True) + "\n").encode()
    return out, chains


def reference_models() -> None:
    """Write the reference latent models missing from spec/vectors/models (their bytes are then fixed)."""
    from maskcodec.tools.train.latent_export import reference_model
    path = MODELS / "manifest.json"
    listed = {m["id"] for m in json.loads(path.read_text())["models"]} if path.exists() else set()
    for model_id, kwargs in REFERENCE_MODELS.items():
        if model_id not in listed:
            reference_model(MODELS, model_id, **kwargs)


def latent_vectors() -> dict[str, bytes]:
    """Valid latent-mode files with their input, latent bytes, dequantized latents and decoded image."""
    out = {}
    for name, (sample, rows, cols, model, bits, meta, hwc1) in LATENT.items():
        img = np.ascontiguousarray(maskcodec.sample_image(sample)[rows, cols])
        if hwc1:
            img = img[..., None]
        data = maskcodec.encode(img, mode="latent", model=model, bits=bits, metadata=meta)
        header, raw = maskcodec.inspect(data), _coded(data)
        lat = header.latent
        out[f"valid/{name}.input.npy"] = _npy_bytes(img)
        out[f"valid/{name}.mcx"] = data
        out[f"valid/{name}.json"] = (json.dumps(header.to_json(), indent=2, sort_keys=True) + "\n").encode()
        # the values the payload codes: uint8 bytes (coder 0) or the integers themselves (coder 3)
        out[f"valid/{name}.latent.npy"] = _npy_bytes(
            maskcodec.latents(data).astype(np.int16) if lat.coder in RANGE_CODERS
            else np.frombuffer(raw, np.uint8).reshape(lat.channels, lat.height, lat.width))
        out[f"valid/{name}.latents.npy"] = _npy_bytes(maskcodec.latents(data))
        out[f"valid/{name}.output.npy"] = _npy_bytes(maskcodec.decode(data))
    return out


def latent_error_vectors(base: bytes) -> dict[str, tuple[bytes, str, str]]:
    """Latent-mode files that must be rejected, derived from a valid one."""
    h = maskcodec.inspect(base)
    lat = h.latent
    block = 73 + len(h.model_id)  # the latent block follows the (empty) metadata
    flipped = bytearray(base)
    flipped[h.header_size + 3] ^= 0x01
    raw = _coded(base)
    wide = maskcodec.records.LatentFields(channels=2000, height=lat.height, width=lat.width, factor=lat.factor,
                                  quantization=lat.quantization, offsets=(0.0,) * 2000, steps=(1.0,) * 2000)
    other = bytearray(bytes.fromhex(h.model_sha256))
    other[0] ^= 0xFF
    return {
        "latent_truncated_block": (base[:block + 20], "TruncatedError", "file ends inside the latent block"),
        "latent_truncated_payload": (base[:-7], "TruncatedError", "latent payload cut short"),
        "latent_bad_payload_crc": (bytes(flipped), "ChecksumError", "one bit of the latent payload flipped"),
        "latent_bad_shape": (_patch(base, block + 2, (lat.height + 1).to_bytes(4, "little")), "FormatError",
                             "latent height is not ceil(image height / factor)"),
        "latent_unknown_quantization": (_patch(base, block + 12, bytes([7])), "FormatError",
                                        "quantization kind 7"),
        "latent_zero_step": (_patch(base, block + 14 + 4 * lat.channels, bytes(4)), "FormatError",
                             "step of latent channel 0 is 0"),
        "latent_seed_set": (_patch(base, 24, (5).to_bytes(4, "little")), "FormatError",
                            "a latent-mode file with a mask seed"),
        "latent_mask_kind": (_patch(base, 14, bytes([1])), "FormatError", "a latent-mode file with mask kind 1"),
        "latent_too_many_channels": (_file(h, bytes(2000 * lat.height * lat.width), latent=wide),
                                     "LimitExceededError", "2000 latent channels"),
        "latent_unknown_model": (_file(h, raw, model_id="no-such-model", model_sha256=bytes.fromhex(h.model_sha256),
                                       latent=lat),
                                 "ModelError", "names a latent model that is not installed"),
        "latent_wrong_model_hash": (_file(h, raw, model_sha256=bytes(other), latent=lat),
                                    "ModelError", "asks for another decoder than the installed one (sha256)"),
    }


def unknown_coder_vector(zstd_base: bytes) -> dict[str, tuple[bytes, str, str]]:
    """Coder byte 2 (never defined) in a coder-0 file: its latent block is laid out with offsets and steps
    (section 12.2), so the header checksum is found and checked before the coder is refused. (Coder 1's
    vectors latent_rans_* were retired with coder 1: section 13.)"""
    no_tables = maskcodec.inspect(zstd_base)
    return {
        "latent_unknown_coder": (_patch(zstd_base, 73 + len(no_tables.model_id) + 13, bytes([2])), "FormatError",
                                 "latent coder 2"),
    }


def retired_vectors(context: bytes) -> dict[str, tuple[bytes, str, str]]:
    """What was retired (section 13), refused by name: the last 3.0 stream (as its encoder wrote it, kept in
    ``errors/``), that stream under format 2.0's sync marker, and a coder-3 file whose coder byte says 1 (its
    block has coder 3's layout, so the header checksum is found and checked before the coder is refused)."""
    model_id = maskcodec.inspect(context).model_id
    stream = (ROOT / "errors" / "retired_format_3_0.mcx").read_bytes()
    return {
        "retired_format_3_0": (stream, "UnsupportedVersionError",
                               "a format 3.0 stream (Rice-coded segments, retired by 4.0), as its encoder wrote it"),
        "retired_format_2_0": (b"\x89MCS" + stream[4:], "UnsupportedVersionError",
                               "a 3.0 stream whose first sync marker is format 2.0's \\x89MCS: 2.0 was retired"),
        "latent_retired_coder_1": (_patch(context, 73 + len(model_id) + 13, bytes([1])), "UnsupportedVersionError",
                                   "latent coder 1 (fixed per-channel tables), retired"),
    }


def context_error_vectors(base: bytes, no_tables: bytes) -> dict[str, tuple[bytes, str, str]]:
    """Coder-3 files that must be rejected, from a valid one with escapes (all channels coded) and a coder-0
    file of a model with the same C, K and f but no context tables."""
    h = maskcodec.inspect(base)
    block = 73 + len(h.model_id)
    payload = _coded(base)
    m = (h.latent.channels + 7) // 8
    e = int.from_bytes(payload[m:m + 4], "little")
    assert e >= 2 and payload[:m] == bytes([0x3F]), "the base vector must code every channel and escape twice"
    escapes = np.frombuffer(payload[m + 4:m + 4 + 2 * e], "<i2")
    rest = payload[m + 4 + 2 * e:]

    def rewrite(new_payload: bytes, model_id: str = h.model_id, sha: str = h.model_sha256, coder=None) -> bytes:
        lat = h.latent if coder is None else replace(h.latent, coder=coder)
        return _file(h, new_payload, model_id=model_id, model_sha256=bytes.fromhex(sha), latent=lat)

    def with_escapes(values) -> bytes:
        return payload[:m] + len(values).to_bytes(4, "little") + np.asarray(values, "<i2").tobytes() + rest

    z = maskcodec.latents(base).astype(np.int64)
    escaped = symbols(REF_CONTEXT, z)[1]
    c_order = z[escaped]  # the escaped values in channel-major order, not the decoding order of the file
    assert list(c_order) != list(escapes), "the base vector's escapes must differ in the two orders"
    inside = list(escapes)
    inside[0] = REF_CONTEXT.centers[int(np.argwhere(escaped.reshape(len(z), -1).T)[0][1])]  # residual 0
    other = maskcodec.inspect(no_tables)
    return {
        "latent_context_minmax": (_patch(base, block + 12, bytes([0])), "FormatError",
                                  "coder 3 (range-coded integers) with minmax quantization"),
        "latent_context_truncated": (base[:-5], "TruncatedError", "context-coded payload cut short"),
        "latent_context_short_stream": (rewrite(payload[:-2]), "FormatError",
                                        "last word of the range code missing (sizes and CRC consistent)"),
        "latent_context_escape_count_low": (rewrite(with_escapes(escapes[:-1])), "FormatError",
                                            "the last escaped value missing: more escape symbols than values"),
        "latent_context_escape_inside": (rewrite(with_escapes(inside)), "FormatError",
                                         "an escaped value whose residual lies inside its table"),
        "latent_context_escape_order": (rewrite(with_escapes(c_order)), "FormatError",
                                        "the escaped values in C order instead of decoding order"),
        "latent_context_flipped_word": (rewrite(payload[:-6] + bytes([payload[-6] ^ 0x20]) + payload[-5:]),
                                        "FormatError", "one bit of a word flipped (CRC consistent)"),
        "latent_context_model_without_tables": (rewrite(payload, other.model_id, other.model_sha256), "ModelError",
                                                "names a model (same C, K, f) that has no context tables"),
    }


def _patch(data: bytes, offset: int, new: bytes, fix_crc: bool = True, header_size: int | None = None) -> bytes:
    """Replace bytes in the header and (optionally) recompute the header CRC (at ``header_size - 4``: by
    default where ``data``'s own header says)."""
    b = bytearray(data)
    b[offset:offset + len(new)] = new
    if fix_crc:
        n = (header_size or maskcodec.inspect(data).header_size) - 4
        b[n:n + 4] = zlib.crc32(bytes(b[:n])).to_bytes(4, "little")
    return bytes(b)


def hostile_sample_count() -> bytes:
    """106 bytes that declare 16384 x 16384 pixels of 1024 uint16 channels and no survivors (512 GiB decoded)."""
    raw = b""
    return container.build(shape=(16384, 16384, 1024), dtype=np.dtype(np.uint16), bits=16, mode=MODE_MASK,
                           payload=compress(raw), payload_raw_size=len(raw), transform=2, seed=1, keep_threshold=0,
                           survivors=0)


def error_vectors(base: bytes, base12: bytes, base16_8: bytes) -> dict[str, tuple[bytes, str, str]]:
    h = maskcodec.inspect(base)
    u32 = lambda v: int(v).to_bytes(4, "little")  # noqa: E731
    flipped_payload = bytearray(base)
    flipped_payload[h.header_size + 5] ^= 0x10
    wide = np.full((maskcodec.inspect(base12).survivors, 1), 0, np.uint16)
    wide_raw = bytearray(pack(wide, 16, 0))
    wide_raw[-1] = 0xFF  # a zigzag code of 16 bits in a 12-bit file
    h12 = maskcodec.inspect(base12)
    too_wide = _file(h12, bytes(wide_raw), transform=0, seed=h12.seed, keep_threshold=h12.keep_threshold,
                     survivors=h12.survivors)
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
        "hostile_sample_count": (hostile_sample_count(), "LimitExceededError",
                                 "16384 x 16384 pixels x 1024 uint16 channels, no survivors: 2^38 samples"),
        "channels_without_axis": (_patch(base, 6, (0).to_bytes(2, "little")), "FormatError",
                                  "3 channels with flag bit 0 (CHANNEL_AXIS) clear"),
        "huge_payload_size": (_patch(base, 81, (2 ** 64 - 1).to_bytes(8, "little")), "TruncatedError",
                              "payload_size 2^64 - 1 (an offset computed from it would wrap in u64)"),
        "unknown_mask_kind": (_patch(base, 14, bytes([2])), "UnsupportedVersionError", "mask kind 2"),
        "reserved_byte_15": (_patch(base, 15, bytes([1])), "FormatError", "reserved byte 15 of the fixed header set"),
        "raw_size_two_bytes_at_8_bits": (_patch(base16_8, 73, u32(2 * maskcodec.inspect(base16_8).survivors)
                                                + bytes(4)), "FormatError",
                                         "uint16 samples with bits = 8 and payload_raw_size counting 2 bytes a value"),
    }


def _streams(data: bytes) -> tuple[maskcodec.Header, bytes, bytes, bytes]:
    """A predictive file's header and the three parts of its payload: Rice parameters, unary and fixed streams."""
    h, payload = coded(data)
    head = 9 * h.channels
    size = int.from_bytes(payload[head:head + 4], "little")
    return h, payload[:head], payload[head + 4:head + 4 + size], payload[head + 4 + size:]


def _predictive_file(h, table: bytes, unary: bytes, fixed: bytes, coding: dict | None = None) -> bytes:
    """A predictive container like ``h``'s with the payload made of these parts (both CRCs consistent)."""
    return container.build(shape=h.shape, dtype=np.dtype(h.dtype), bits=h.bits, mode=MODE_MASK,
                           transform=h.transform, seed=h.seed, keep_threshold=h.keep_threshold, survivors=h.survivors,
                           mask_kind=h.mask_kind, payload=table + len(unary).to_bytes(4, "little") + unary + fixed,
                           payload_raw_size=h.payload_raw_size,
                           coding=coding or dict(max_error=h.max_error, refines=0, previous_threshold=None,
                                                 predecessor=None))


def predictive_error_vectors(exact: bytes, bounded: bytes, refinement: bytes) -> dict[str, tuple[bytes, str, str]]:
    """Predictive files (sections 4.2 and 6.5) that must be rejected, from valid ones (the header offsets assume
    no model id and no metadata: the coding block starts at byte 73)."""
    h, table, unary, fixed = _streams(exact)
    hb, table_b, unary_b, fixed_b = _streams(bounded)
    step, rng, _ = predictive.quantizer(hb.bits, hb.max_error)
    bits = np.unpackbits(np.frombuffer(unary, np.uint8))
    ones = np.flatnonzero(bits)
    long_run = np.concatenate([np.zeros(rice.QMAX + 1, np.uint8), bits[ones[0]:]])  # first code: 17 zeros
    # a code of RANGE in the first escape of the bounded file: the first code's unary becomes an escape and its
    # fixed field `bits` wide (the first code of level 0 has context 8, whose Rice parameter is read from the table)
    k0 = table_b[8]
    ub = np.unpackbits(np.frombuffer(unary_b, np.uint8))
    first_one = int(np.flatnonzero(ub)[0])
    assert first_one < rice.QMAX, "the bounded vector's first code must not be an escape"
    escaped_unary = np.concatenate([np.zeros(rice.QMAX, np.uint8), [1], ub[first_one + 1:]])
    fb = np.unpackbits(np.frombuffer(fixed_b, np.uint8))
    overflow_field = np.unpackbits(np.array([rng >> 8, rng & 0xFF], ">u2").view(np.uint8))[-hb.bits:]
    overflow_fixed = np.concatenate([overflow_field, fb[k0:]])
    pad = lambda b: np.packbits(b).tobytes()  # noqa: E731
    rh = maskcodec.inspect(refinement)
    return {
        "p_max_error_out_of_range": (_patch(exact, 73, (2048).to_bytes(2, "little")), "FormatError",
                                     "max_error 2048 in a 12-bit file (at most 2047)"),
        "p_refines_2": (_patch(exact, 75, bytes([2])), "FormatError", "coding block's refines = 2"),
        "p_refinement_threshold": (_patch(refinement, 76, rh.keep_threshold.to_bytes(4, "little")), "FormatError",
                                   "a refinement whose previous threshold equals its own"),
        "p_refinement_alone": (refinement, "ChainError", "a refinement decoded without the files it refines"),
        "p_flag_in_latent": (None, "FormatError", "flag bit 1 (PREDICTIVE) in a latent-mode file"),
        "p_rice_parameter": (_predictive_file(h, bytes([h.bits + 1]) + table[1:], unary, fixed), "FormatError",
                             "a Rice parameter above bits"),
        "p_unary_missing_code": (_predictive_file(h, table, unary[:-1], fixed), "FormatError",
                                 "the unary stream's last byte missing (sizes and CRCs consistent)"),
        "p_unary_padding": (_predictive_file(h, table, unary + bytes(1), fixed), "FormatError",
                            "a whole byte of padding after the unary stream's last code"),
        "p_unary_too_long": (_predictive_file(h, table, pad(long_run), fixed), "FormatError",
                             "a unary code of 17 zeros"),
        "p_fixed_short": (_predictive_file(h, table, unary, fixed[:-1]), "FormatError",
                          "the fixed stream's last byte missing"),
        "p_fixed_padding": (_predictive_file(h, table, unary, fixed + bytes(1)), "FormatError",
                            "a byte after the fixed stream's last code"),
        "p_residual_overflow": (_predictive_file(hb, table_b, pad(escaped_unary), pad(overflow_fixed)), "FormatError",
                                f"an escaped code of RANGE = {rng} (max_error 2: codes are below RANGE)"),
        "p_payload_too_short": (_predictive_file(h, table, b"", b""), "FormatError",
                                "a payload too short for one unary bit per code (refused before the mask)"),
        "p_survivor_count": (_patch(exact[:32] + (h.survivors - 1).to_bytes(4, "little") + exact[36:], 76,
                                    ((h.survivors - 1) * 2).to_bytes(8, "little"), header_size=h.header_size),
                             "FormatError",
                             "survivor count (and payload_raw_size) one less than the mask keeps"),
    }


def _ranked_file(h, payload: bytes, flags: int | None = None) -> bytes:
    """A ranked container like ``h``'s (a first file) holding ``payload`` (both CRCs consistent); ``flags``
    rewrites the flags too (the header CRC recomputed)."""
    data = container.build(shape=h.shape, dtype=np.dtype(h.dtype), bits=h.bits, mode=MODE_MASK,
                           transform=h.transform, seed=h.seed, keep_threshold=h.keep_threshold, survivors=h.survivors,
                           mask_kind=h.mask_kind, payload=payload, payload_raw_size=h.payload_raw_size,
                           coding=dict(max_error=h.max_error, refines=0, previous_threshold=None, predecessor=None),
                           ranked=True)
    return data if flags is None else _patch(data, 6, flags.to_bytes(2, "little"), header_size=h.header_size)


def ranked_error_vectors(exact: bytes, bounded: bytes, scan: bytes) -> dict[str, tuple[bytes, str, str]]:
    """Ranked files (section 6.7) that must be rejected, from valid ones."""
    h, payload = coded(exact)
    hb = maskcodec.inspect(bounded)
    _, rng, _ = predictive.quantizer(hb.bits, hb.max_error)
    # the bounded file's codes with the first one replaced by RANGE (a token that exists, a code too large)
    idx, keys = mask_chains.new_pixels(hb.shape[0], hb.shape[1], hb.keep_threshold, None, hb.seed, hb.mask_kind)
    levels, _ = ranked.codes(idx, keys, maskcodec.survivors(bounded)[2].reshape(idx.size, -1),
                             predictive.Prior.empty(hb.channels), hb.shape[:2], hb.bits, hb.transform, hb.max_error)
    levels[0][1][0, 0] = rng
    hs = maskcodec.inspect(scan)
    return {
        "r_code_out_of_range": (_ranked_file(hb, ranked.pack(levels, hb.bits)), "FormatError",
                                f"the first code is RANGE = {rng} (max_error {hb.max_error}: codes are below RANGE)"),
        "r_bytes_after_last_symbol": (_ranked_file(h, payload + bytes(1)), "FormatError",
                                      "a zero byte after the range code's last byte"),
        "r_payload_ends_early": (_ranked_file(h, payload[:-1]), "FormatError",
                                 "the range code's last byte missing (sizes and CRCs consistent)"),
        "r_interval_overrun": (_ranked_file(h, b"\xff" * len(payload)), "FormatError",
                               "a code word of all ones: the first symbol lies outside its interval"),
        "r_payload_too_short": (_ranked_file(h, payload[:3]), "FormatError",
                                "a ranked payload of 3 bytes (a range code has at least 4)"),
        "r_flag_without_predictive": (_patch(scan, 6, (int.from_bytes(scan[6:8], "little") | 4).to_bytes(2, "little"),
                                             header_size=hs.header_size), "FormatError",
                                      "flag bit 2 (ranked) in a scan-coded file, without bit 1"),
    }


def _lean_parts(stream: bytes) -> list[bytes]:
    size = int.from_bytes(stream[7:9], "little")
    return [stream[i:i + size] for i in range(0, len(stream), size)]


def _lean_crc(segment: bytes) -> bytes:
    """A lean segment with its CRC32 (its last four bytes) recomputed."""
    return segment[:-4] + zlib.crc32(segment[:-4]).to_bytes(4, "little")


def _lean_patch(segment: bytes, offset: int, new: bytes) -> bytes:
    return _lean_crc(segment[:offset] + new + segment[offset + len(new):])


def lean_error_vectors(stream: bytes, bounded: bytes) -> dict[str, tuple[bytes, str, str]]:
    """Must-fail lean streams (section 11.4), from the valid vector ``stream`` (a description in segments 0, 1,
    8, ...; metadata) and ``bounded`` (max_error 2, 12 bits)."""
    parts = _lean_parts(stream)
    rest = lambda k: b"".join(parts[k:])  # noqa: E731
    d_size = 46 + int.from_bytes(parts[0][23 + 44:23 + 46], "little")  # D = 46 + M (no model id)
    body1 = parts[1][23 + d_size:-4]
    without = _lean_rebuilt(parts[1], description=False, body=body1)
    last = parts[-1]
    b = _lean_parts(bounded)
    bd = 23 + 46 + int.from_bytes(b[0][23 + 44:23 + 46], "little")  # segment 0's body (max_error 2, 12 bits)
    n0 = int.from_bytes(b[0][21:23], "little")
    overflow = _range_code([820] + [0] * (n0 - 1), 1, 12)  # RANGE = (4095 + 4) // 5 + 1 = 820
    return {
        "s4_missing_segment": (parts[0] + rest(2), "FormatError", "segment 1 lost: segment 2 follows segment 0"),
        "s4_truncated_last": (b"".join(parts[:-1]), "TruncatedError", "last segment lost: survivors missing"),
        "s4_cut_inside": (stream[:len(parts[0]) + 100], "TruncatedError", "stream ends inside segment 1"),
        "s4_bad_crc": (parts[0] + parts[1][:40] + bytes([parts[1][40] ^ 0x10]) + parts[1][41:] + rest(2),
                       "ChecksumError", "one bit flipped in segment 1"),
        "s4_reserved_flag": (parts[0] + _lean_patch(parts[1], 6, bytes([parts[1][6] | 2])) + rest(2),
                             "FormatError", "segment 1 with reserved flag bit 1 set, CRC32 consistent"),
        "s4_unknown_version": (_lean_patch(parts[0], 4, bytes([5])) + rest(1), "UnsupportedVersionError",
                               "segment 0 with major version 5, CRC32 consistent"),
        "s4_description_missing": (parts[0] + without + rest(2), "FormatError",
                                   "segment 1 without the description that segments 0 and 1 must carry"),
        "s4_stream_id": (parts[0] + parts[1] + _lean_patch(parts[2], 9, bytes(4)) + rest(3), "FormatError",
                         "segment 2 names another stream id, CRC32 consistent"),
        "s4_first_gap": (parts[0] + parts[1] + _lean_patch(parts[2], 17, (int.from_bytes(parts[2][17:21], "little")
                                                                          + 1).to_bytes(4, "little")) + rest(3),
                         "FormatError", "segment 2 starts one survivor after segment 1 ends"),
        "s4_nonzero_padding": (b"".join(parts[:-1]) + _lean_patch(last, len(last) - 5, b"\x01"), "FormatError",
                               "last byte before the last segment's CRC32 is not zero, CRC32 consistent"),
        "s4_payload_size": (_lean_patch(b[0], bd, (len(b[0]) - 4 - bd - 1).to_bytes(2, "little")) + b"".join(b[1:]),
                            "FormatError", "segment 0's payload_size one byte past its body, CRC32 consistent"),
        "s4_residual_overflow": (_lean_patch(b[0], bd, len(overflow).to_bytes(2, "little") + overflow)
                                 + b"".join(b[1:]), "FormatError",
                                 "segment 0's first code 820 = RANGE (12 bits, max_error 2), range coded, CRC32 "
                                 "consistent"),
        "s4_count_mismatch": (_lean_patch(parts[0], 21, (int.from_bytes(parts[0][21:23], "little") - 1)
                                          .to_bytes(2, "little")) + rest(1), "FormatError",
                              "segment 0's count one less than its range code holds (bytes left after its last symbol; and segment 1 "
                              "expects one more)"),
        "s4_size_mismatch": (parts[0] + _lean_rebuilt(parts[1], description=True, body=parts[1][23 + d_size:-4],
                                                     size=len(parts[1]) + 1) + rest(2), "FormatError",
                             "segment 1 one byte longer than segment 0 (its own CRC32 consistent)"),
        "s4_trailing_bytes": (stream + bytes(30), "FormatError", "30 zero bytes after the last segment"),
        "s4_mode_latent": (_lean_patch(parts[0], 23 + 8, b"\x01") + rest(1), "UnsupportedVersionError",
                           "description in mode 1 (latent), CRC32 consistent, stream id not updated (the CRC32 of "
                           "the unchanged description): the mode is checked before the stream id"),
        "s4_index_beyond_first": (_lean_patch(parts[0], 13, (0xFFFFFFFE).to_bytes(4, "little")) + rest(1),
                                  "FormatError", "segment 0 with segment_index 2^32 - 2, above its first (0), "
                                                 "CRC32 consistent"),
    }


def _range_code(codes: list[int], planes: int, bits: int) -> bytes:
    """The range code of ``codes`` (survivor by survivor, plane p under model p), as section 11.3 writes it."""
    from maskcodec.entropy.range_coder import AdaptiveEncoder
    from maskcodec.survivors.ranked import token_of, tokens
    enc = AdaptiveEncoder(planes, tokens(bits))
    for i, z in enumerate(codes):
        enc.code(i % planes, *token_of(z))
    return enc.finish()


def _lean_rebuilt(segment: bytes, *, description: bool, body: bytes, size: int | None = None) -> bytes:
    """A lean segment like ``segment`` (same head fields) with or without its description, holding ``body``."""
    from maskcodec.framing import stream as lean_segments
    h = lean_segments.HEAD.parse(segment[:lean_segments.HEAD_SIZE])
    d_size = 46 + int.from_bytes(segment[23 + 44:23 + 46], "little")
    return lean_segments.build(size=size or h.segment_size, stream_id=h.stream_id, index=h.segment_index, first=h.first,
                               count=h.count, description=segment[23:23 + d_size] if description else None,
                               body=body)


def lean_salvage_vectors(stream: bytes) -> dict[str, bytes]:
    """Damaged lean streams that salvage must recover, with the expected report: losing the first segment
    keeps the metadata (segment 1 carries the description)."""
    parts = _lean_parts(stream)
    size = len(parts[0])
    flipped = bytearray(stream)
    flipped[3 * size + 50] ^= 0x08
    hostile = _lean_patch(parts[5], 13, (0xFFFFFFFE).to_bytes(4, "little"))  # index above first: dropped
    cases = {"s4_lost_first": b"".join(parts[1:]), "s4_zeroed_packet": parts[0] + bytes(size) + b"".join(parts[2:]),
             "s4_flipped_bit": bytes(flipped), "s4_garbage_between": parts[0] + b"\x89MCL garbage" + b"".join(parts[1:]),
             "s4_index_beyond_first": b"".join(parts[:5]) + hostile + b"".join(parts[6:])}
    out = {}
    for name, data in cases.items():
        header, _, _, report = mask_stream.salvage(data, maskcodec.Limits())
        out[f"salvage/{name}.mcx"] = data
        out[f"salvage/{name}.json"] = (json.dumps(dict(vars(report)) | {"metadata": header.metadata}, indent=2,
                                                  sort_keys=True) + "\n").encode()
    return out


def main(argv: list[str]) -> int:
    reference_models()
    with manifest.using(MODELS):  # the latent-mode vectors are coded with the reference models
        return write_all(descriptions="--descriptions" in argv)


def write_all(descriptions: bool) -> int:
    files = valid_vectors() | latent_vectors()
    errors = error_vectors(files["valid/rgb8_keep0.1.mcx"], files["valid/gray12_keep0.1.mcx"],
                           files["valid/gray16_bits8_keep0.25.mcx"])
    errors |= latent_error_vectors(files["valid/latent_rgb8_minmax.mcx"])
    errors |= unknown_coder_vector(files["valid/latent_gray8_integer.mcx"])
    errors |= context_error_vectors(files["valid/latent_rgb8_context.mcx"], files["valid/latent_rgb8_minmax.mcx"])
    errors |= retired_vectors(files["valid/latent_rgb8_context.mcx"])
    errors |= lean_error_vectors(files["valid/s4_rgb8_meta_keep0.1_s256.mcx"], files["valid/s4_gray12_hash_maxerr2_s200.mcx"])
    chain_files, chains = chain_vectors()
    files |= chain_files
    errors |= predictive_error_vectors(files["valid/p_gray12_hash_keep0.25.mcx"],
                                       files["valid/p_rgb8_maxerr2_keep0.2.mcx"], chains["chain_gray12_maxerr"][1])
    errors |= ranked_error_vectors(files["valid/r_gray12_hash_keep0.25.mcx"], files["valid/r_gray8_maxerr3_keep0.5.mcx"],
                                   files["valid/gray8_keep0.25.mcx"])
    latent = files["valid/latent_gray8_integer.mcx"]
    errors["p_flag_in_latent"] = (_patch(latent, 6, bytes([latent[6] | 2, latent[7]])),) + errors["p_flag_in_latent"][1:]
    files |= lean_salvage_vectors(files["valid/s4_rgb8_meta_keep0.1_s256.mcx"])
    index = {}
    for name, (data, exc, fault) in errors.items():
        files[f"errors/{name}.mcx"] = data
        index[name] = {"error": exc, "fault": fault}
    index_path = ROOT / "errors" / "index.json"
    old = json.loads(index_path.read_text()) if index_path.exists() else {}
    # an entry may not leave (unless retired) nor change its error class; its fault text (a description of the
    # file, like valid/NAME.json) may be corrected with --descriptions
    if any(name not in RETIRED and (name not in index or index[name]["error"] != entry["error"]
                                    or (index[name] != entry and not descriptions)) for name, entry in old.items()):
        sys.exit(f"refusing to change existing entries of {index_path}")
    index_path.unlink(missing_ok=True)  # the index may only grow
    files["errors/index.json"] = (json.dumps(index, indent=2, sort_keys=True) + "\n").encode()
    files["valid/PROVENANCE.json"] = (json.dumps({
        "zstd_version": ".".join(map(str, zstandard.ZSTD_VERSION)), "zstandard_python": zstandard.__version__,
        "level": ZSTD_LEVEL}, indent=2) + "\n").encode()
    for rel, data in files.items():
        path = ROOT / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        _write_new(path, data, descriptions)
    print(f"{len(files)} vector files in {ROOT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
