"""Mission products (PDS3/VICAR through pdr, FITS through astropy) into the codec, on real products."""
from pathlib import Path

import numpy as np
import pytest

import maskcodec
from maskcodec.errors import InvalidInputError
from maskcodec.io.images import read_image

pytest.importorskip("pdr")
from maskcodec.io.products import PRODUCT_SUFFIXES, Product, is_product, read_product

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
    data = maskcodec.encode(crop.image, 0.1, seed=1, bits=crop.bits, metadata=crop.metadata)
    assert len(data) < 2 * maskcodec.inspect(data).survivors


@needs_shared
def test_bundled_crop_is_the_original_data(crop):
    original = read_product(PDS_DIR / "W1884114531_2.LBL").image
    assert np.array_equal(crop.image, original[CROP_WINDOW])


@needs_shared
@pytest.mark.parametrize("name", SHARED_PRODUCTS)
def test_every_shared_product_reads_or_fails_clearly(name):
    """Products beyond what maskcodec reads (PDS4 float arrays, ISIS3 cubes, float FITS, raw Bayer dumps) fail
    with an InvalidInputError naming the file and the reason, never with another exception."""
    try:
        product = read_product(PDS_DIR / name)
    except InvalidInputError as e:
        assert name in str(e) and len(str(e)) > len(str(PDS_DIR / name)) + 10
        return
    assert product.image.dtype in (np.uint8, np.uint16) and 1 <= product.bits <= 16


@needs_shared
@pytest.mark.parametrize("name", PNG_TWINS)
def test_shared_product_matches_its_16_bit_png(name):
    product = read_product(PDS_DIR / name)
    png = SHARED / "raw16" / (name.split(".")[0] + ".png")
    assert np.array_equal(product.image, read_image(png))
    assert product.bits == (16 if name.startswith(("NRB", "RLB")) else 12)  # RAD/RAS labels say 16 bits
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
    data = maskcodec.encode(product.image, 0.1, seed=1, bits=product.bits, metadata=product.metadata)
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
    assert product.bits == 12 and product.metadata["instrument"] == "ISSWA"
    assert product.metadata["format"] == "FITS"


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


def test_integer_valued_float_is_accepted_and_other_float_refused(tmp_path, crop):
    product = read_product(write_fits(tmp_path / "whole.fits", crop.image.astype(np.float32)))
    assert np.array_equal(product.image, crop.image)
    with pytest.raises(InvalidInputError, match="quantized"):
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
