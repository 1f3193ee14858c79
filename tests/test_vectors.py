"""Conformance vectors of spec/format.md sections 10 and 12.9: valid ones decode exactly, error ones fail as named.

Latent-mode vectors are coded with the reference latent models of spec/vectors/models, which every test here
uses as the models folder.
"""
import json
from pathlib import Path

import numpy as np
import pytest
import zstandard

import maskcodec
from maskcodec import errors
from maskcodec.codec import coded
from maskcodec.masks import KINDS

VECTORS = Path(__file__).resolve().parent.parent / "spec" / "vectors"
VALID = sorted(p.name[:-len(".survivors.npy")] for p in (VECTORS / "valid").glob("*.survivors.npy"))
LATENT = sorted(p.name[:-len(".latents.npy")] for p in (VECTORS / "valid").glob("*.latents.npy"))
ERRORS = json.loads((VECTORS / "errors" / "index.json").read_text())
PROVENANCE = json.loads((VECTORS / "valid" / "PROVENANCE.json").read_text())
SAME_ZSTD = ".".join(map(str, zstandard.ZSTD_VERSION)) == PROVENANCE["zstd_version"]


def payload_values(data: bytes) -> bytes:
    """What a file's payload codes (maskcodec.codec.coded), whatever zstd version compressed it."""
    return coded(data)[1]


@pytest.fixture(autouse=True)
def reference_models(monkeypatch):
    monkeypatch.setenv("MASKCODEC_MODELS", str(VECTORS / "models"))


def test_vector_sets_are_complete():
    assert len(VALID) >= 6 and len(LATENT) >= 6 and len(ERRORS) >= 40
    assert {p.stem for p in (VECTORS / "errors").glob("*.mcx")} == set(ERRORS)
    assert {p.stem for p in (VECTORS / "valid").glob("*.mcx")} == set(VALID) | set(LATENT)


@pytest.mark.parametrize("name", VALID)
def test_valid_vector_decodes_exactly(name):
    data = (VECTORS / "valid" / f"{name}.mcx").read_bytes()
    expected = json.loads((VECTORS / "valid" / f"{name}.json").read_text())
    image = np.load(VECTORS / "valid" / f"{name}.input.npy")
    kept = np.load(VECTORS / "valid" / f"{name}.survivors.npy")
    header, m, values = maskcodec.survivors(data)
    assert header.to_json() == expected
    assert (values == kept).all() and values.dtype == kept.dtype
    out = maskcodec.decode(data, inpainter="nconv")
    assert out.shape == image.shape and out.dtype == image.dtype
    assert (out[m] == values.reshape(out[m].shape)).all()  # the decoder pastes back what the file holds ...
    assert np.abs(out[m].astype(np.int64) - image[m]).max(initial=0) <= header.max_error  # ... within its error


@pytest.mark.parametrize("name", [n for n in VALID if not n.startswith("seg_")])
def test_encoder_reproduces_vector(name):
    data = (VECTORS / "valid" / f"{name}.mcx").read_bytes()
    h = maskcodec.inspect(data)
    image = np.load(VECTORS / "valid" / f"{name}.input.npy")
    segment_size = h.file_size // h.segments if h.segments else None
    again = maskcodec.encode(image, keep=h.keep, seed=h.seed, bits=h.bits, metadata=h.metadata or None,
                             segment_size=segment_size, mask=KINDS[h.mask_kind].name, max_error=h.max_error,
                             coding=None if h.segments else h.coding)
    # header fields and survivors are fixed by the spec on any zstd version ...
    assert maskcodec.inspect(again).to_json() | {"payload_size": 0, "file_size": 0} == \
        h.to_json() | {"payload_size": 0, "file_size": 0}
    if not h.segments:
        assert payload_values(again) == payload_values(data)
    assert (maskcodec.survivors(again)[2] == maskcodec.survivors(data)[2]).all()
    # ... and the bytes themselves with the zstd version that wrote the vectors
    if SAME_ZSTD:
        assert again == data


@pytest.mark.parametrize("name", LATENT)
def test_latent_vector_decodes_exactly(name):
    path = VECTORS / "valid" / name
    data = path.with_suffix(".mcx").read_bytes()
    image = np.load(path.with_suffix(".input.npy"))
    header, raw = maskcodec.inspect(data), payload_values(data)
    assert header.to_json() == json.loads(path.with_suffix(".json").read_text())
    z, expected = maskcodec.latents(data), np.load(path.with_suffix(".latents.npy"))
    assert z.dtype == np.float32 and z.shape == expected.shape and z.tobytes() == expected.tobytes()
    coded = np.load(path.with_suffix(".latent.npy"))  # what the payload codes, exactly
    if header.latent.coder != "zstd":
        assert coded.dtype == np.int16 and (coded == z).all()
    else:
        assert raw == coded.tobytes()
    out = maskcodec.decode(data)
    assert out.shape == image.shape and out.dtype == image.dtype
    # pixels depend on the decoder network's float arithmetic (spec 12.7): within one level of the vector
    assert np.abs(out.astype(np.int64) - np.load(path.with_suffix(".output.npy"))).max() <= 1


@pytest.mark.parametrize("name", LATENT)
def test_encoder_reproduces_latent_vector(name):
    path = VECTORS / "valid" / name
    data = path.with_suffix(".mcx").read_bytes()
    h = maskcodec.inspect(data)
    again = maskcodec.encode(np.load(path.with_suffix(".input.npy")), mode="latent", model=h.model_id, bits=h.bits,
                             metadata=h.metadata or None)
    assert maskcodec.inspect(again).to_json() | {"payload_size": 0, "file_size": 0} == \
        h.to_json() | {"payload_size": 0, "file_size": 0}
    assert payload_values(again) == payload_values(data)
    if SAME_ZSTD:
        assert again == data


@pytest.mark.parametrize("name", sorted(ERRORS))
def test_error_vector_fails_as_named(name):
    data = (VECTORS / "errors" / f"{name}.mcx").read_bytes()
    expected = getattr(errors, ERRORS[name]["error"])
    with pytest.raises(expected) as info:
        maskcodec.decode(data)
    assert type(info.value) is expected
    assert str(info.value)


SALVAGE = sorted(p.stem for p in (VECTORS / "salvage").glob("*.mcx"))


@pytest.mark.parametrize("name", SALVAGE)
def test_salvage_vectors(name):
    data = (VECTORS / "salvage" / f"{name}.mcx").read_bytes()
    expected = json.loads((VECTORS / "salvage" / f"{name}.json").read_text())
    metadata = expected.pop("metadata", None)  # lean streams: the metadata salvage keeps
    with pytest.raises(errors.FormatError):
        maskcodec.decode(data)  # strict mode names the damage
    with pytest.warns(maskcodec.SalvageWarning) as caught:
        out = maskcodec.decode(data, inpainter="nconv", strict=False)
    assert vars(caught[0].message.report) == expected
    source = "s4_rgb8_meta_keep0.1_s256" if name.startswith("s4_") else "seg_rgb8_keep0.25_s256"
    if metadata is not None:
        assert maskcodec.modes.mask.stream.salvage(data, maskcodec.Limits())[0].metadata == metadata != {}
    image = np.load(VECTORS / "valid" / f"{source}.input.npy")
    full = maskcodec.survivors((VECTORS / "valid" / f"{source}.mcx").read_bytes())[1]
    assert out.shape == image.shape
    assert (out[full] == image[full]).mean() >= expected["survivors_recovered"] / expected["survivors_expected"]


@pytest.mark.parametrize("name", ["rgb8_keep0.1", "s4_gray12_hash_maxerr2_s200",
                                  "latent_rgb8_minmax", "latent_rgb8_context"])
def test_every_truncation_of_a_file_is_a_clear_error(name):
    data = (VECTORS / "valid" / f"{name}.mcx").read_bytes()
    for n in range(len(data)):
        with pytest.raises(errors.TruncatedError):
            maskcodec.decode(data[:n])


@pytest.mark.parametrize("name", ["gray8_hwc1_meta_keep0.5", "s4_gray12_hash_maxerr2_s200",
                                  "latent_gray8_integer", "latent_rgb8_context"])
def test_every_single_bit_flip_is_detected(name):
    data = (VECTORS / "valid" / f"{name}.mcx").read_bytes()
    for bit in range(8 * len(data)):
        b = bytearray(data)
        b[bit // 8] ^= 1 << (bit % 8)
        with pytest.raises(errors.FormatError):
            maskcodec.decode(bytes(b))


CHAINS = json.loads((VECTORS / "chains" / "index.json").read_text())


@pytest.mark.parametrize("name", sorted(CHAINS["chains"]))
def test_chain_vector_decodes_and_reencodes(name):
    entry = CHAINS["chains"][name]
    files = [(VECTORS / "chains" / f).read_bytes() for f in entry["files"]]
    image = np.load(VECTORS / "chains" / entry["input"])
    expected = np.load(VECTORS / "chains" / entry["survivors"])
    for f, data in zip(entry["files"], files):
        description = json.loads((VECTORS / "chains" / f).with_suffix(".json").read_text())
        assert maskcodec.inspect(data).to_json() == description
    out = maskcodec.decode(files, inpainter="nconv")
    last = maskcodec.inspect(files[-1])
    m = maskcodec.mask(image.shape, last.keep, last.seed, KINDS[last.mask_kind].name)
    assert (out[m] == expected.reshape(out[m].shape)).all()
    worst = max(maskcodec.inspect(d).max_error for d in files)
    assert np.abs(out[m].astype(np.int64) - image[m]).max() <= worst
    if last.keep == 1.0 and worst == 0:
        assert (out == image).all()  # a chain ending at keep 1 with exact files is lossless
    # the encoder reproduces every refinement from the image and the files before it (no zstd involved)
    for k in range(1, len(files)):
        h = maskcodec.inspect(files[k])
        assert maskcodec.refine(image, files[:k], h.keep, max_error=h.max_error) == files[k]
    with pytest.raises(errors.ChainError):
        maskcodec.decode(files[-1]) if len(files) > 1 else None


@pytest.mark.parametrize("name", sorted(CHAINS["fail"]))
def test_broken_chain_vector_fails(name):
    entry = CHAINS["fail"][name]
    files = [(VECTORS / "chains" / f).read_bytes() for f in entry["files"]]
    with pytest.raises(getattr(errors, entry["error"])) as info:
        maskcodec.decode(files)
    assert type(info.value) is getattr(errors, entry["error"]) and str(info.value)
