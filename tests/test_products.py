"""Mission products (PDS3/VICAR/PDS4 through pdr, PDS4 arrays pdr refuses, ISIS3 cubes, THEMIS qubes, FITS through
astropy, signed and float .npy) into the codec and back out with their labels, on real products."""
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec.errors import InvalidInputError
from maskcodec.io.images import read_image

pytest.importorskip("pdr")
from maskcodec.io.products import (PRODUCT_SUFFIXES, Product, is_product, label_bytes, parse_quantize,
                                   product_sources, read_array, read_product, read_values, restore)

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"
PDS_DIR = SHARED / "raw16" / "pds_original"
BUNDLED = Path(__file__).resolve().parent / "data" / "products"
CROP_LABEL = BUNDLED / "W1884114531_2_CROP.LBL"
CROP_WINDOW = (slice(128, 256), slice(192, 320))  # lines 129-256, samples 193-320 (README.md)
needs_shared = pytest.mark.skipif(not PDS_DIR.is_dir(), reason="../shared/data is not on this machine")
SHARED_PRODUCTS = sorted(p.name for p in PDS_DIR.iterdir()) if PDS_DIR.is_dir() else []
# products whose image ../shared also holds as a 16-bit PNG of the same stem (the rover and Cassini frames)
PNG_TWINS = [n for n in SHARED_PRODUCTS if (SHARED / "raw16" / (n.split(".")[0] + ".png")).is_file()]
SHARED_DATA_FILES = [n for n in SHARED_PRODUCTS if n.lower().endswith(".img")]


def roundtrip(product: Product) -> bytes:
    """Encode with the product's bits and metadata, decode, and check the kept values are exact."""
    data = maskcodec.encode(product.image, 0.1, seed=1, bits=product.bits, metadata=product.metadata)
    out = maskcodec.decode(data, inpainter="nconv")
    m = maskcodec.mask(product.image.shape, 0.1, 1)
    assert out.shape == product.image.shape and out.dtype == product.image.dtype
    assert np.array_equal(out[m], product.image[m])
    return data


@pytest.fixture(scope="module")
def crop() -> Product:
    return read_product(CROP_LABEL)


def test_bundled_product_reads_with_label_bits_and_identity(crop):
    assert crop.image.shape == (128, 128) and crop.image.dtype == np.uint16
    assert crop.bits == 12  # DATA_CONVERSION_TYPE = "12BIT"
    assert crop.metadata["product_id"] == "1_W1884114531.127"
    assert crop.metadata["instrument"] == "ISSWA"
    assert crop.metadata["spacecraft"] == "CASSINI ORBITER"
    assert crop.metadata["start_time"] == "2017-257T19:59:03.895"
    assert crop.metadata["source_file"] == CROP_LABEL.name and "offset" not in crop.metadata
    assert np.array_equal(read_product(CROP_LABEL.with_suffix(".IMG")).image, crop.image)


def test_bundled_product_encodes_with_its_metadata(crop):
    data = roundtrip(crop)
    header = maskcodec.inspect(data)
    assert header.bits == 12
    assert header.metadata["product_id"] == "1_W1884114531.127" and header.metadata["instrument"] == "ISSWA"


def test_12_bit_product_costs_less_than_its_survivors_as_16_bit(crop):
    without_label = {k: v for k, v in crop.metadata.items() if k != "label"}  # the coding alone
    data = maskcodec.encode(crop.image, 0.1, seed=1, bits=crop.bits, metadata=without_label)
    assert len(data) < 2 * maskcodec.inspect(data).survivors


@needs_shared
def test_bundled_crop_is_the_original_data(crop):
    original = read_product(PDS_DIR / "W1884114531_2.LBL").image
    assert np.array_equal(crop.image, original[CROP_WINDOW])


@needs_shared
@pytest.mark.parametrize("name", SHARED_PRODUCTS)
def test_every_shared_product_reads_or_fails_clearly(name):
    """Every product reads (float ones with --quantize auto); the headerless raw Bayer dump fails with an
    InvalidInputError naming the file and the reason, never with another exception."""
    try:
        product = read_product(PDS_DIR / name, "auto")
    except InvalidInputError as e:
        assert name.endswith(".raw"), str(e)
        assert name in str(e) and "unsupported product type" in str(e)
        return
    assert product.image.dtype in (np.uint8, np.uint16) and 1 <= product.bits <= 16
    assert label_bytes(product.metadata)  # every product here has a label that travels


@needs_shared
@pytest.mark.parametrize("name", PNG_TWINS)
def test_shared_product_matches_its_16_bit_png(name):
    product = read_product(PDS_DIR / name)
    png = SHARED / "raw16" / (name.split(".")[0] + ".png")
    assert np.array_equal(product.image, read_image(png))
    assert product.bits == 12  # the label's SAMPLE_BIT_MASK or 12BIT; RAD/RAS labels say only SAMPLE_BITS = 16
    assert product.bits_from == ("data" if name.startswith(("NRB", "RLB")) else "label")
    assert product.metadata["product_id"] and product.metadata["instrument"]


@needs_shared
@pytest.mark.parametrize("name", SHARED_DATA_FILES)
def test_shared_product_through_the_cli(name, tmp_path, capsys):
    from maskcodec.cli import main
    product = read_product(PDS_DIR / name)
    mcx, out = tmp_path / "p.mcx", tmp_path / "p.tif"
    assert main(["encode", str(PDS_DIR / name), "-o", str(mcx), "--keep", "0.1", "--seed", "1"]) == 0
    capsys.readouterr()
    assert main(["info", str(mcx)]) == 0
    shown = capsys.readouterr().out
    assert f"product_id: {product.metadata['product_id']}" in shown
    assert f"instrument: {product.metadata['instrument']}" in shown
    assert f"({product.bits} significant bits)" in shown
    assert main(["decode", str(mcx), "-o", str(out), "--inpainter", "nconv"]) == 0
    m = maskcodec.mask(product.image.shape, 0.1, 1)
    assert np.array_equal(read_image(out)[m], product.image[m])


@needs_shared
def test_shared_12_bit_product_costs_less_than_its_survivors_as_16_bit():
    product = read_product(PDS_DIR / "W1884114531_2.IMG")
    without_label = {k: v for k, v in product.metadata.items() if k != "label"}  # the coding alone
    data = maskcodec.encode(product.image, 0.1, seed=1, bits=product.bits, metadata=without_label)
    assert product.bits == 12 and len(data) < 2 * maskcodec.inspect(data).survivors


@needs_shared
@pytest.mark.parametrize("name", ["v1883935188_1.lbl", "v1883935188_1.qub"])
def test_vims_qube_is_bands_last_and_shifted(name):
    product = read_product(SHARED / "multispectral" / name)
    reference = np.load(SHARED / "multispectral" / "cassini_vims_titan_v1883935188_1.npy")  # (lines, samples, bands)
    offset = product.metadata["offset"]
    assert product.image.shape == (30, 30, 352) and product.image.dtype == np.uint16
    assert offset == -int(reference.min()) > 0
    assert np.array_equal(product.image.astype(np.int32) - offset, reference)
    assert product.metadata["instrument"] == "VIMS" and product.bits == 12
    roundtrip(product)


def write_fits(path: Path, array: np.ndarray) -> Path:
    fits = pytest.importorskip("astropy.io.fits")
    header = fits.Header({"INSTRUME": "ISSWA", "TELESCOP": "CASSINI ORBITER", "DATE-OBS": "2017-09-14T19:59:03"})
    fits.PrimaryHDU(array, header=header).writeto(path)
    return path


def test_fits_unsigned_16_bit(tmp_path, crop):
    product = read_product(write_fits(tmp_path / "crop.fits", crop.image))
    assert np.array_equal(product.image, crop.image) and product.image.dtype == np.uint16
    assert product.bits == 11 and product.bits_from == "data"  # FITS states no significant bits: its maximum, 1592
    assert product.metadata["instrument"] == "ISSWA" and product.metadata["format"] == "FITS"


def test_fits_signed_negative_is_shifted_by_a_recorded_offset(tmp_path, crop):
    signed = crop.image.astype(np.int16) - 1000
    product = read_product(write_fits(tmp_path / "signed.fit", signed))
    assert product.metadata["offset"] == 1000 - int(crop.image.min())
    assert np.array_equal(product.image.astype(np.int32) - product.metadata["offset"], signed)


def test_fits_cube_is_bands_last(tmp_path, crop):
    cube = np.stack([crop.image, crop.image // 2, crop.image // 3])  # (bands, lines, samples)
    product = read_product(write_fits(tmp_path / "cube.fts", cube.astype(np.int16)))
    assert product.image.shape == (128, 128, 3)
    assert np.array_equal(product.image[..., 1], crop.image // 2)


def test_integer_valued_float_is_accepted_and_other_float_needs_quantize(tmp_path, crop):
    product = read_product(write_fits(tmp_path / "whole.fits", crop.image.astype(np.float32)))
    assert np.array_equal(product.image, crop.image) and product.metadata["dtype"] == "float32"
    assert restore(product.image, product.metadata).dtype == np.float32
    with pytest.raises(InvalidInputError, match="--quantize auto"):
        read_product(write_fits(tmp_path / "calibrated.fits", crop.image.astype(np.float32) / 4096))


def test_unreadable_products_say_why(tmp_path, crop):
    with pytest.raises(InvalidInputError, match="no such file"):
        read_product(tmp_path / "missing.IMG")
    (tmp_path / "frame.png").write_bytes(b"")
    with pytest.raises(InvalidInputError, match="unsupported product type"):
        read_product(tmp_path / "frame.png")
    label = tmp_path / CROP_LABEL.name  # the label without its data file
    label.write_bytes(CROP_LABEL.read_bytes())
    with pytest.raises(InvalidInputError, match=CROP_LABEL.name):
        read_product(label)
    (tmp_path / "W1884114531_2_CROP.IMG").write_bytes(crop.image.astype(">i2").tobytes()[:1000])
    with pytest.raises(InvalidInputError):
        read_product(label)


def test_is_product():
    assert all(is_product(f"x{s}") and is_product(f"x{s.upper()}") for s in PRODUCT_SUFFIXES)
    assert not is_product("x.png") and not is_product("x.mcx")


# ------------------------------------------------------------- products in and out: PDS4, ISIS3, qubes, float, labels

CASSIS_CROP = BUNDLED / "CAS-MCO-2016-11-26T22.58.02.583-PAN-00020-B1_CROP.xml"
LRO_CROP = BUNDLED / "M143947267L_CROP.cub"
THEMIS_CROP = BUNDLED / "V00821003RDR_CROP.QUB"
NEAR_CROP = BUNDLED / "m0157063318f4_CROP.fit"
MULTI_DIR = SHARED / "multispectral"
# every product of ../shared's pds_original and multispectral folders but the headerless raw dump and the JSON
# sidecars (wavelength lists), as maskcodec encode lists them: each once, through its label
EVERY_PRODUCT = (product_sources(sorted(q for d in (PDS_DIR, MULTI_DIR) for q in d.iterdir()
                                        if q.suffix.lower() not in (".raw", ".json")))
                 if PDS_DIR.is_dir() and MULTI_DIR.is_dir() else [])


def test_pds4_array_that_pdr_refuses_is_read_from_its_label():
    """The CaSSIS label has no array offset and a first-index-fastest order: pdr refuses it, maskcodec reads the
    array the label describes, through the label or its .dat."""
    values = read_values(CASSIS_CROP)
    assert values.shape == (64, 128) and values.dtype == np.float32 and np.isfinite(values).all()
    assert np.array_equal(read_values(CASSIS_CROP.with_suffix(".dat")), values)
    with pytest.raises(InvalidInputError, match="--quantize auto"):
        read_product(CASSIS_CROP)
    product = read_product(CASSIS_CROP, "auto")
    assert any("no byte offset" in n for n in product.notes)
    assert product.metadata["format"] == "PDS4" and product.metadata["instrument"] == "CaSSIS"
    assert product.metadata["spacecraft"] == "TRACE GAS ORBITER" and product.bits == 16
    assert label_bytes(product.metadata) == CASSIS_CROP.read_bytes()


@pytest.mark.parametrize("path", [CASSIS_CROP, LRO_CROP, NEAR_CROP], ids=lambda p: p.suffix)
def test_auto_quantization_fills_the_bits_and_states_its_error(path):
    values = read_values(path).astype(np.float64)
    for bits in (16, 12):
        product = read_product(path, "auto", bits)
        q = product.metadata["quantization"]
        assert product.bits == bits and product.bits_from == "quantization"
        assert int(product.image.min()) == 0 and int(product.image.max()) == (1 << bits) - 1
        assert q["scale"] == pytest.approx((values.max() - values.min()) / ((1 << bits) - 1))
        assert q["max_error"] <= q["scale"] / 2 * (1 + 1e-6)
        back = restore(product.image, product.metadata)
        assert back.dtype == np.float32 and np.abs(back - values).max() <= q["max_error"]


def test_given_scale_and_offset(tmp_path):
    product = read_product(NEAR_CROP, (1e-5, 0.0))
    q = product.metadata["quantization"]
    assert (q["scale"], q["offset"], q["how"]) == (1e-5, 0.0, "given")
    assert np.array_equal(product.image, np.rint(read_values(NEAR_CROP).astype(np.float64) / 1e-5))
    with pytest.raises(InvalidInputError, match=r"--quantize 1e-07,0 maps .* outside 0..65535"):
        read_product(NEAR_CROP, (1e-7, 0.0))


def test_parse_quantize():
    assert parse_quantize("auto") == "auto" and parse_quantize(" 2e-3, -1 ") == (0.002, -1.0)
    for bad in ("", "1", "0,0", "-1,0", "a,b", "nan,0", "1,2,3"):
        with pytest.raises(InvalidInputError, match=r"--quantize"):
            parse_quantize(bad)


def test_nan_and_infinity_keep_reserved_codes(tmp_path):
    """NaN and infinities are not numbers to quantize: each kind present gets a code below the data's."""
    values = read_values(CASSIS_CROP).copy()
    values[0, :5], values[1, 0], values[2, 0] = np.nan, np.inf, -np.inf
    np.save(tmp_path / "holes.npy", values)
    product = read_array(tmp_path / "holes.npy", "auto")
    special = {s["value"]: (s["code"], s["count"]) for s in product.metadata["quantization"]["special"]}
    assert special == {"NaN": (0, 5), "-Infinity": (1, 1), "Infinity": (2, 1)}
    assert sum("reserved code" in n for n in product.notes) == 3
    finite = np.isfinite(values)
    assert int(product.image[finite].min()) == 3
    back = restore(product.image, product.metadata)
    assert np.isnan(back[0, :5]).all() and back[1, 0] == np.inf and back[2, 0] == -np.inf
    q = product.metadata["quantization"]
    assert np.abs(back[finite] - values[finite]).max() <= q["max_error"]


def test_isis3_cube_read_across_partial_tiles():
    values = read_values(LRO_CROP)
    assert values.shape == (40, 48) and values.dtype == np.float32  # 2 x 2 tiles of 32, the last ones partial
    product = read_product(LRO_CROP, "auto")
    assert product.metadata["format"] == "ISIS3" and product.metadata["instrument"] == "NACL"
    assert product.metadata["spacecraft"] == "LUNAR RECONNAISSANCE ORBITER"
    assert product.metadata["start_time"] == "2010-11-09T13:06:40.356"
    label = label_bytes(product.metadata)
    assert b"Object = IsisCube" in label and label.endswith(b"End\n") and b"\x00" not in label


def test_themis_qube_with_mixed_case_objects_is_shifted_and_restored():
    values = read_values(THEMIS_CROP)
    assert values.shape == (40, 64, 5) and values.dtype.kind == "i" and values.min() == -32768  # band 5: nulls
    product = read_product(THEMIS_CROP)
    assert product.metadata["offset"] == 32768 and product.metadata["dtype"] == "int16"
    assert product.metadata["instrument"] == "THEMIS" and product.bits_from == "data"
    back = restore(product.image, product.metadata)
    assert back.dtype == np.int16 and np.array_equal(back, values)


def test_fits_headers_travel_as_text_astropy_reads(tmp_path):
    fits = pytest.importorskip("astropy.io.fits")
    product = read_product(NEAR_CROP, "auto")
    text = label_bytes(product.metadata)
    (tmp_path / "h.hdr").write_bytes(text)
    header = fits.Header.fromtextfile(str(tmp_path / "h.hdr"))
    assert header["BITPIX"] == -32 and header["NAXIS1"] == 64 and "maskcodec test crop" in str(header["HISTORY"])


def test_bits_found_from_the_data_when_the_label_does_not_say(tmp_path, crop):
    product = read_product(write_fits(tmp_path / "c.fits", crop.image))  # FITS never states significant bits
    assert product.bits == int(crop.image.max()).bit_length() == 11 and product.bits_from == "data"


def test_product_sources_read_each_product_once_through_its_label():
    names = ["a.IMG", "a.LBL", "b.dat", "b.xml", "c.img", "c.img.lbl", "d.fit", "d.lbl", "e.qub", "e.lbl", "f.cub",
             "g.png", "h.npy"]
    assert [p.name for p in product_sources([Path(n) for n in names])] == \
        ["a.LBL", "b.xml", "c.img.lbl", "d.lbl", "e.lbl", "f.cub", "g.png", "h.npy"]


def test_reader_errors_say_why_without_python_texts(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text("<Product_Observational><unclosed>")
    with pytest.raises(InvalidInputError, match="not well-formed XML") as e:
        read_product(bad)
    assert "Error" not in str(e.value) and "Exception" not in str(e.value)
    data = tmp_path / "orphan.dat"
    data.write_bytes(b"\0" * 64)
    with pytest.raises(InvalidInputError, match="its label .* is not beside it"):
        read_product(data)
    label = tmp_path / CASSIS_CROP.name  # the label, its data truncated
    label.write_bytes(CASSIS_CROP.read_bytes())
    label.with_suffix(".dat").write_bytes(CASSIS_CROP.with_suffix(".dat").read_bytes()[:1000])
    with pytest.raises(InvalidInputError, match="truncated"):
        read_product(label, "auto")
    cube = tmp_path / "cut.cub"
    cube.write_bytes(LRO_CROP.read_bytes()[:20000])
    with pytest.raises(InvalidInputError, match="truncated"):
        read_product(cube, "auto")


def test_sizes_are_checked_before_the_pixels_are_read(tmp_path):
    label = tmp_path / CASSIS_CROP.name
    label.write_text(CASSIS_CROP.read_text().replace("<elements>128</elements>", "<elements>900000</elements>")
                     .replace("<elements>64</elements>", "<elements>900000</elements>"))
    label.with_suffix(".dat").write_bytes(CASSIS_CROP.with_suffix(".dat").read_bytes())
    with pytest.raises(maskcodec.errors.LimitExceededError, match="exceed maskcodec's limits"):
        read_product(label, "auto")


# --------------------------------------------------------------------------------------- the command line, both ways

def _cli_roundtrip(path: Path, tmp_path: Path, capsys, *extra: str, keep: float = 0.2, seed: int = 5):
    """encode, info, decode through main(); returns (decoded image, label file or None, info text, encode stderr)."""
    from maskcodec.cli import main
    mcx, out = tmp_path / "p.mcx", tmp_path / "p.tif"
    assert main(["encode", str(path), "-o", str(mcx), "--keep", str(keep), "--seed", str(seed), *extra]) == 0
    said = capsys.readouterr().err
    assert main(["info", str(mcx)]) == 0
    info = capsys.readouterr().out
    assert main(["decode", str(mcx), "-o", str(out), "--inpainter", "nconv"]) == 0
    tifffile = pytest.importorskip("tifffile")
    labels = [q for q in tmp_path.iterdir() if q.stem == "p" and q.suffix in (".lbl", ".xml", ".hdr")]
    return tifffile.imread(out), (labels[0] if labels else None), info, said + capsys.readouterr().err


def check_roundtrip(path: Path, tmp_path: Path, capsys, label: bytes | None, *extra: str, keep: float = 0.2):
    """A product through the command line and back: its values at every kept pixel (exact, or within the
    quantization's stated error) and its label, byte for byte."""
    values = read_values(path)
    decoded, written, info, said = _cli_roundtrip(path, tmp_path, capsys, *extra, keep=keep)
    header = maskcodec.inspect((tmp_path / "p.mcx").read_bytes())
    m = maskcodec.mask(values.shape, keep, 5)
    assert decoded.shape == values.shape
    q = header.metadata.get("quantization")
    if q is None:
        assert decoded.dtype.kind in "iu" and np.array_equal(decoded[m].astype(np.int64), values[m].astype(np.int64))
    else:
        assert decoded.dtype == np.float32 and "quantize   float32 value = stored x" in info
        kept, original = decoded[m], values[m]
        finite = np.isfinite(original)
        assert np.array_equal(np.isnan(kept), np.isnan(original))
        from maskcodec.io.products import error_bound
        bound = error_bound(q, header.max_error)
        assert np.abs(kept[finite] - original[finite]).max() <= bound
        assert f"within +-{bound:.3g}" in said
    if label is None:
        assert written is None
    else:
        assert written is not None and written.read_bytes() == label
        assert f"label of {header.metadata['label']['file']}" in info
    return header, said


@pytest.mark.parametrize("path", [CASSIS_CROP, CASSIS_CROP.with_suffix(".dat"), LRO_CROP, THEMIS_CROP, NEAR_CROP,
                                  CROP_LABEL], ids=lambda p: p.name)
def test_bundled_products_round_trip_with_their_labels(path, tmp_path, capsys):
    label = label_bytes(read_product(path, "auto").metadata)
    expected = {".xml": CASSIS_CROP.read_bytes(), ".dat": CASSIS_CROP.read_bytes(), ".LBL": CROP_LABEL.read_bytes()}
    if path.suffix in expected:
        assert label == expected[path.suffix]  # a detached label, byte for byte
    header, said = check_roundtrip(path, tmp_path, capsys, label, "--quantize", "auto")
    suffix = {"PDS4": ".xml", "PDS3": ".lbl", "ISIS3": ".lbl", "FITS": ".hdr"}[header.metadata["format"]]
    assert f"label written beside the image: {tmp_path / ('p' + suffix)}" in said


def test_quantized_file_with_max_error_states_the_wider_bound(tmp_path, capsys):
    header, said = check_roundtrip(LRO_CROP, tmp_path, capsys, label_bytes(read_product(LRO_CROP, "auto").metadata),
                                   "--quantize", "auto", "--max-error", "3")
    q = header.metadata["quantization"]
    from maskcodec.io.products import error_bound
    bound = error_bound(q, 3)
    assert bound > q["max_error"] + 3 * q["scale"] and f"+-{bound:.3g} of the original (+-3 stored steps)" in said
    decoded = pytest.importorskip("tifffile").imread(tmp_path / "p.tif")
    m = maskcodec.mask(decoded.shape, 0.2, 5)
    assert np.abs(decoded[m] - read_values(LRO_CROP)[m]).max() <= bound


def test_cli_float_without_quantize_names_the_flag(tmp_path, capsys):
    from maskcodec.cli import main
    assert main(["encode", str(LRO_CROP), "-o", str(tmp_path / "x.mcx")]) == 2
    err = capsys.readouterr().err
    assert "--quantize auto" in err and err.count("\n") == 1 and "Traceback" not in err
    with pytest.raises(SystemExit) as e:
        main(["encode", str(LRO_CROP), "-o", str(tmp_path / "x.mcx"), "--quantize", "fine"])
    assert e.value.code == 2 and "(--quantize) must be auto or SCALE,OFFSET" in capsys.readouterr().err


def test_cli_labels_stored_and_png(tmp_path, capsys):
    """--no-label on either side, --stored for the integers, PNG refused for float values, an existing label
    file kept unless --force."""
    from maskcodec.cli import main
    mcx = tmp_path / "c.mcx"
    assert main(["encode", str(CASSIS_CROP), "-o", str(mcx), "--quantize", "auto", "--seed", "1"]) == 0
    assert main(["decode", str(mcx), "-o", str(tmp_path / "c.png")]) == 2
    assert "PNG cannot hold a float32 image" in capsys.readouterr().err and not (tmp_path / "c.xml").exists()
    assert main(["decode", str(mcx), "-o", str(tmp_path / "c.png"), "--stored", "--inpainter", "nconv"]) == 0
    assert read_image(tmp_path / "c.png").dtype == np.uint16 and (tmp_path / "c.xml").exists()
    assert main(["decode", str(mcx), "-o", str(tmp_path / "c.tif"), "--inpainter", "nconv"]) == 2
    assert "c.xml exists" in capsys.readouterr().err and not (tmp_path / "c.tif").exists()
    assert main(["decode", str(mcx), "-o", str(tmp_path / "c.tif"), "--inpainter", "nconv", "--no-label"]) == 0
    assert main(["encode", str(CASSIS_CROP), "-o", str(tmp_path / "n.mcx"), "--quantize", "auto", "--no-label"]) == 0
    assert "label" not in maskcodec.inspect((tmp_path / "n.mcx").read_bytes()).metadata
    assert (tmp_path / "n.mcx").stat().st_size < mcx.stat().st_size - 4000
    capsys.readouterr()
    assert main(["decode", str(tmp_path / "n.mcx"), "--inpainter", "nconv"]) == 0
    assert not (tmp_path / "n.decoded.xml").exists() and (tmp_path / "n.decoded.tif").exists()


def test_a_label_too_large_for_a_segment_is_left_out_and_said(tmp_path, capsys):
    from maskcodec.cli import main
    mcx = tmp_path / "s.mcx"
    assert main(["encode", str(CASSIS_CROP), "-o", str(mcx), "--quantize", "auto", "--segment-size", "1024"]) == 0
    assert "label (14897 bytes" in capsys.readouterr().err
    metadata = maskcodec.inspect(mcx.read_bytes()).metadata
    assert "label" not in metadata and metadata["quantization"]["scale"] > 0


def test_batch_encode_of_a_folder_reads_each_product_once(tmp_path, capsys):
    from maskcodec.cli import main
    folder = tmp_path / "in"
    folder.mkdir()
    for q in (CASSIS_CROP, CASSIS_CROP.with_suffix(".dat"), LRO_CROP, CROP_LABEL, CROP_LABEL.with_suffix(".IMG")):
        (folder / q.name).write_bytes(q.read_bytes())
    assert main(["encode", str(folder), "-o", str(tmp_path / "out"), "--quantize", "auto", "--workers", "1", "-q"]) == 0
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == [
        CASSIS_CROP.stem + ".mcx", "M143947267L_CROP.mcx", "W1884114531_2_CROP.mcx"]
    err = capsys.readouterr().err
    assert "--quantize applies" not in err  # not said for each integer product of a batch
    assert main(["decode", str(tmp_path / "out"), "-o", str(tmp_path / "dec"), "--workers", "1", "-q",
                 "--inpainter", "nconv"]) == 0
    assert sorted(p.name for p in (tmp_path / "dec").iterdir()) == [
        CASSIS_CROP.stem + ".tif", CASSIS_CROP.stem + ".xml", "M143947267L_CROP.lbl", "M143947267L_CROP.tif",
        "W1884114531_2_CROP.lbl", "W1884114531_2_CROP.png"]
    assert (tmp_path / "dec" / "W1884114531_2_CROP.lbl").read_bytes() == CROP_LABEL.read_bytes()


# ----------------------------------------------------------------------------------- the crops and ../shared

@needs_shared
@pytest.mark.parametrize("crop_path, original, window", [
    (CASSIS_CROP, PDS_DIR / "CAS-MCO-2016-11-26T22.58.02.583-PAN-00020-B1.xml", (slice(48, 112), slice(1216, 1344))),
    (LRO_CROP, PDS_DIR / "M143947267L.cal.echo.crop.cub", (slice(180, 220), slice(200, 248))),
    (THEMIS_CROP, MULTI_DIR / "V00821003RDR_cropped.QUB", (slice(80, 120), slice(480, 544))),
    (NEAR_CROP, PDS_DIR / "m0157063318f4_2p_iof_gbl.fit", (slice(180, 244), slice(240, 304)))], ids=lambda v: str(v)[-12:])
def test_bundled_crops_are_the_original_data(crop_path, original, window):
    assert np.array_equal(read_values(crop_path), read_values(original)[window])


@needs_shared
@pytest.mark.parametrize("name, copy", [
    ("CAS-MCO-2016-11-26T22.58.02.583-PAN-00020-B1.dat", "tgo_cassis_CAS-MCO-2016-11-26T22.58.02.583-PAN-00020-B1.npy"),
    ("CAS-MCO-2016-11-26T22.58.02.583-RED-01020-B1.xml", "tgo_cassis_CAS-MCO-2016-11-26T22.58.02.583-RED-01020-B1.npy"),
    ("M143947267L.cal.echo.crop.cub", "lro_nac_M143947267L_cal_echo_crop.npy"),
    ("m0157063318f4_2p_iof_gbl.fit", "near_msi_eros_m0157063318f4_2p_iof.npy"),
    ("m0157063318f4_2p_iof_gbl.lbl", "near_msi_eros_m0157063318f4_2p_iof.npy")])
def test_shared_float_products_read_as_their_decoded_copies(name, copy):
    reference = SHARED / "raw16" / copy
    if not reference.is_file():
        pytest.skip(f"{copy} is not in ../shared")
    assert np.array_equal(read_values(PDS_DIR / name), np.load(reference))


@needs_shared
def test_shared_themis_qube_is_its_decoded_copy():
    product = read_product(MULTI_DIR / "V00821003RDR_cropped.QUB")
    reference = np.load(MULTI_DIR / "odyssey_themis_vis_V00821003RDR_crop_dn.npy")
    assert np.array_equal(restore(product.image, product.metadata), reference)


@needs_shared
def test_shared_crism_nan_are_kept_and_outliers_said():
    product = read_array(MULTI_DIR / "crism_frt0000932c_07_if164j_mtr3_subsampled.npy", "auto")
    q = product.metadata["quantization"]
    assert q["special"] == [{"code": 0, "value": "NaN", "count": 55331}]
    assert any("a few extreme values set the range" in n for n in product.notes)


@needs_shared
@pytest.mark.parametrize("path", EVERY_PRODUCT, ids=lambda p: p.name)
def test_every_shared_product_round_trips_with_its_label(path, tmp_path, capsys):
    """The issue's goal: every product of pds_original and multispectral but the headerless raw dump encodes,
    and decodes back with its label; float products within their stated error."""
    product = read_product(path, "auto") if is_product(path) else read_array(path, "auto")
    label = label_bytes(product.metadata)
    if path.suffix.lower() in (".lbl", ".xml"):
        assert label == path.read_bytes()
    elif path.suffix.lower() != ".npy":
        assert label  # an attached label (PDS3, ISIS3) or the FITS headers
    check_roundtrip(path, tmp_path, capsys, label, "--quantize", "auto", keep=0.05)


def test_damaged_quantization_and_label_records_are_refused_clearly(tmp_path, capsys):
    """A file whose metadata were tampered with: restore and label_bytes refuse with a message naming the way
    out, info still prints, nothing inflates without bound."""
    from maskcodec.cli import main
    image = read_product(LRO_CROP, "auto").image
    bad = {"quantization": {"scale": "x", "offset": 0.0}, "label": {"format": "PDS3", "data": "bm90IHpsaWI="}}
    mcx = tmp_path / "bad.mcx"
    mcx.write_bytes(maskcodec.encode(image, 0.2, seed=1, metadata=bad))
    with pytest.raises(InvalidInputError, match="--stored"):
        restore(image, bad)
    with pytest.raises(InvalidInputError, match="--no-label"):
        label_bytes(bad)
    import base64
    import zlib
    bomb = {"label": {"data": base64.b64encode(zlib.compress(b" " * (1 << 25))).decode()}}
    with pytest.raises(InvalidInputError, match="at most"):
        label_bytes(bomb)
    assert main(["info", str(mcx)]) == 0
    assert "quantization record is not valid" in capsys.readouterr().out
    assert main(["decode", str(mcx), "-o", str(tmp_path / "b.tif"), "--inpainter", "nconv"]) == 2
    err = capsys.readouterr().err
    assert "label record is damaged" in err and err.count("\n") == 1 and not (tmp_path / "b.tif").exists()
    assert main(["decode", str(mcx), "-o", str(tmp_path / "b.tif"), "--inpainter", "nconv", "--no-label"]) == 2
    assert "quantization record is not valid" in capsys.readouterr().err
    assert main(["decode", str(mcx), "-o", str(tmp_path / "b.png"), "--inpainter", "nconv", "--no-label",
                 "--stored"]) == 0
