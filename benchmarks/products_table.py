"""What maskcodec does with every product of ../shared/data/raw16/pds_original and ../shared/data/multispectral:
the table of docs/products.md.

    python benchmarks/products_table.py [../shared/data] [--keep 0.1]

Each file is encoded on its own as ``maskcodec encode FILE --quantize auto --keep 0.1 --seed 1`` runs it
(``encode_file``), decoded as ``maskcodec decode`` does (``decode_file``, nconv inpainter), and checked: the
kept pixels against the file's own values (exact, or within the quantization's stated error) and the label
written beside the image against the one read (and, for a detached label, against the label file itself).
Prints a Markdown table.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import warnings
from pathlib import Path

import numpy as np

import maskcodec
from maskcodec.errors import MaskcodecError
from maskcodec.integrations.batch import decode_file, encode_file, label_path
from maskcodec.io.products import error_bound, label_bytes, read_values
from maskcodec.options import resolve

FOLDERS = ("raw16/pds_original", "multispectral")


def row(path: Path, keep: float, work: Path) -> list[str]:
    name = f"`{path.parent.name}/{path.name}`"
    what = {".json": "JSON sidecar of a cube (wavelengths, scaling), not an image",
            ".raw": "headerless raw dump (no label: shape and type unknown)"}.get(path.suffix.lower(), "")
    mcx, out = work / (path.name + ".mcx"), work / (path.name + ".tif")
    opts = resolve("mask", keep=keep, seed=1)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            notes, _ = encode_file(path, mcx, opts, quantize="auto")
    except MaskcodecError as e:
        return [name, what, "refused: " + str(e).replace(str(path), "").lstrip(": ").split(";")[0], "", "", "", ""]
    header = maskcodec.inspect(mcx.read_bytes())
    meta = header.metadata
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        decode_file(mcx, out, "nconv")
    import tifffile
    decoded = np.load(out) if out.suffix == ".npy" else tifffile.imread(out)
    values = read_values(path)
    m = maskcodec.mask(values.shape, keep, 1)
    shape = " x ".join(map(str, values.shape))
    read = f"{meta.get('format', '?')}, {shape} {values.dtype.newbyteorder('=').name}"
    q = meta.get("quantization")
    if q:
        finite = np.isfinite(values[m])
        err = float(np.abs(decoded[m][finite].astype(np.float64) - values[m][finite]).max())
        bound = error_bound(q, header.max_error)
        stored = (f"quantized to {q['bits']} bits, step {q['scale']:.3g}"
                  + "".join(f"; {s['value']} = code {s['code']} ({s['count']})" for s in q.get("special", [])))
        check = f"float32 within {err:.2g} (stated {bound:.2g})" + (" **FAIL**" if err > bound else "")
        check += "; NaN kept" if not finite.all() and np.isnan(decoded[m][~finite]).all() else ""
    else:
        same = np.array_equal(decoded[m].astype(np.int64), values[m].astype(np.int64))
        shift = f"shifted by {meta['offset']}, " if "offset" in meta else ""
        stored = f"{shift}{header.dtype}"
        check = f"{decoded.dtype} {'exact' if same else '**DIFFERS**'}"
    source = "quantization" if q else ("data" if any("found from the data" in n for n in notes) else "label")
    bits = f"{header.bits} ({source})"
    text = label_bytes(meta)
    if text is None:
        label = "none (a .npy has none)" if path.suffix == ".npy" else "left out"
    else:
        written = label_path(out, header)
        ok = written is not None and written.is_file() and written.read_bytes() == text
        detached = path.suffix.lower() in (".lbl", ".xml") and text == path.read_bytes()
        label = (f"{meta['label']['format']} {meta['label']['bytes']} B ({len(meta['label']['data'])} in file) -> "
                 f"{written.suffix}{', byte-identical to ' + path.suffix if detached else ''}"
                 + ("" if ok else " **NOT WRITTEN**"))
    size = f"{mcx.stat().st_size} B ({8 * mcx.stat().st_size / (values.shape[0] * values.shape[1]):.2f} bpp)"
    return [name, read, stored, bits, label, size, check]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("data", nargs="?", default=str(Path(__file__).resolve().parents[2] / "shared" / "data"))
    parser.add_argument("--keep", type=float, default=0.1)
    args = parser.parse_args(argv)
    root = Path(args.data)
    files = [q for folder in FOLDERS for q in sorted((root / folder).iterdir()) if q.is_file()]
    print("| file | read as | stored as | bits (from) | label (read -> written beside the image) | "
          f"file at keep {args.keep:g} | decoded, kept pixels |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as tmp:
        for path in files:
            print("| " + " | ".join(row(path, args.keep, Path(tmp))) + " |")
            sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
