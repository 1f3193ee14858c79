"""Make the small real product crops of this folder from the originals in ../shared/data (see README.md).

    python tests/data/products/make_crops.py [../shared/data]

Each crop keeps the original sample values, type and byte order; only the label's sizes, file names and
pointers are rewritten (and objects that describe bytes the crop no longer holds are removed).
"""
from __future__ import annotations

import re
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CASSIS = "CAS-MCO-2016-11-26T22.58.02.583-PAN-00020-B1"
CASSIS_WINDOW = (slice(48, 112), slice(1216, 1344))   # 64 lines x 128 samples of 280 x 2048
LRO_WINDOW = (slice(180, 220), slice(200, 248))        # 40 lines x 48 samples of 400 x 400, re-tiled 32 x 32
THEMIS_WINDOW = (slice(80, 120), slice(480, 544))      # 40 lines x 64 samples x 5 bands of 200 x 1024 x 5
NEAR_WINDOW = (slice(180, 244), slice(240, 304))       # 64 x 64 of 412 x 537


def cassis(shared: Path) -> None:
    src = shared / "raw16" / "pds_original"
    data = np.fromfile(src / f"{CASSIS}.dat", "<f4").reshape(280, 2048)[CASSIS_WINDOW]
    name = f"{CASSIS}_CROP"
    (HERE / f"{name}.dat").write_bytes(np.ascontiguousarray(data).astype("<f4").tobytes())
    xml = (src / f"{CASSIS}.xml").read_text()
    xml = xml.replace(f"<file_name>{CASSIS}</file_name>", f"<file_name>{name}</file_name>")
    xml = re.sub(r"(<axis_name>Sample</axis_name>\s*<sequence_number>1</sequence_number>\s*<elements>)2048",
                 r"\g<1>128", xml)
    xml = re.sub(r"(<axis_name>Line</axis_name>\s*<sequence_number>2</sequence_number>\s*<elements>)280",
                 r"\g<1>64", xml)
    xml = xml.replace("<Product_Observational>", "<Product_Observational>\n  <!-- maskcodec test crop: lines "
                      "49-112, samples 1217-1344 of the original; file_name and elements rewritten -->", 1)
    (HERE / f"{name}.xml").write_text(xml)


def lro(shared: Path) -> None:
    src = shared / "raw16" / "pds_original" / "M143947267L.cal.echo.crop.cub"
    raw = src.read_bytes()
    data = np.frombuffer(raw, "<f4", count=400 * 400, offset=65536).reshape(400, 400)[LRO_WINDOW]
    text = raw[:65536].split(b"\x00")[0].decode("latin-1")
    cube = text[:text.index("Object = Label")]
    lines, samples = data.shape
    tile = 32
    start = 16384
    cube = re.sub(r"StartByte   = \d+", f"StartByte   = {start + 1}", cube, count=1)
    cube = re.sub(r"TileSamples = \d+", f"TileSamples = {tile}", cube, count=1)
    cube = re.sub(r"TileLines   = \d+", f"TileLines   = {tile}", cube, count=1)
    cube = re.sub(r"Samples = 400", f"Samples = {samples}", cube, count=1)
    cube = re.sub(r"Lines   = 400", f"Lines   = {lines}", cube, count=1)
    label = ("# maskcodec test crop: lines 181-220, samples 201-248 of the original cube, re-tiled in 32 x 32\n"
             "# tiles; the Table, History and OriginalLabel objects (bytes after the core) were removed\n"
             + cube + f"Object = Label\n  Bytes = {start}\nEnd_Object\nEnd\n").encode("latin-1")
    assert len(label) < start
    ny, nx = -(-lines // tile), -(-samples // tile)
    padded = np.zeros((ny * tile, nx * tile), "<f4")
    padded[:lines, :samples] = data
    tiles = padded.reshape(ny, tile, nx, tile).transpose(0, 2, 1, 3)
    (HERE / "M143947267L_CROP.cub").write_bytes(label + b"\x00" * (start - len(label)) + tiles.tobytes())


def themis(shared: Path) -> None:
    src = shared / "multispectral" / "V00821003RDR_cropped.QUB"
    raw = src.read_bytes()
    label = raw[:2848].decode("latin-1")
    cube = np.frombuffer(raw, ">i2", count=5 * 200 * 1024, offset=2848).reshape(5, 200, 1024)
    crop = np.ascontiguousarray(cube[(slice(None),) + THEMIS_WINDOW])
    label = re.sub(r"\^HISTORY *= 3\n", "", label)
    label = re.sub(r"Object = HISTORY\n.*?End_Object = HISTORY\n", "", label, flags=re.S)
    label = label.replace("CORE_ITEMS                   = (1024, 200, 5)", "CORE_ITEMS                   = (64, 40, 5)")
    label = label.replace("PDS_VERSION_ID               = PDS3\n", "PDS_VERSION_ID               = PDS3\n"
                          "/* maskcodec test crop: lines 81-120, samples 481-544 of the original; HISTORY removed */\n")
    start = 4096  # the label's two records
    total = start + crop.nbytes
    label = label.replace("FILE_RECORDS                 = 2886", f"FILE_RECORDS                 = {-(-total // 2048)}")
    label = re.sub(r"\^SPECTRAL_QUBE *= 2849 <BYTES>", f"^SPECTRAL_QUBE               = {start + 1} <BYTES>", label)
    body = label.encode("latin-1").replace(b"\nEND\n", b"\nEND\r\n")  # pdr finds a label's end by "END\r"
    assert len(body) < start
    data = body + b" " * (start - len(body)) + crop.tobytes()
    (HERE / "V00821003RDR_CROP.QUB").write_bytes(data + b"\x00" * (-len(data) % 2048))


def near(shared: Path) -> None:
    from astropy.io import fits
    src = shared / "raw16" / "pds_original" / "m0157063318f4_2p_iof_gbl.fit"
    with fits.open(src) as hdus:
        header, data = hdus[0].header.copy(), hdus[0].data[NEAR_WINDOW].copy()
    header["HISTORY"] = "maskcodec test crop: lines 181-244, samples 241-304 (1-based) of the original"
    fits.PrimaryHDU(data=data, header=header).writeto(HERE / "m0157063318f4_CROP.fit", overwrite=True)


if __name__ == "__main__":
    shared = Path(sys.argv[1]) if len(sys.argv) > 1 else HERE.parents[2].parent / "shared" / "data"
    for make in (cassis, lro, themis, near):
        make(shared)
    print("\n".join(f"{p.name} {p.stat().st_size}" for p in sorted(HERE.iterdir()) if "CROP" in p.name))
