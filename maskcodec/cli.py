"""The ``maskcodec`` command line: ``main(argv)`` returns an exit status.

Exit status 0 on success, 1 when some inputs of a batch failed, 2 on a usage
or input error (the message says what was wrong and what was expected).

``encode``, ``decode`` and ``info`` are defined here. The tools (``demo``,
``bench``, ``bench-loss``, ``bench-models``, ``train``) live in
:mod:`maskcodec.tools`; each is imported only when its command runs, and
defines its own arguments (``configure_parser``) and runner (``run_cli``).
"""
from __future__ import annotations

import argparse
import contextlib
import importlib
import json
import sys
from pathlib import Path

from . import __version__
from .options import argument
from .tools import TOOLS
from .errors import InvalidInputError, MaskcodecError
from .io.images import check_writable, output_suffix

__all__ = ["main", "build_parser", "spec_path", "version_text"]

EPILOG = """\
examples:
  maskcodec demo                                  # try it on a bundled real Mars image
  maskcodec encode frame.png -o frame.mcx --keep 0.1 --seed 7
  maskcodec encode frame.png -o f.mcx --mode latent --quality 2   # send a CAE's latents (1..4)
  maskcodec info frame.mcx                        # what the header says (--json for machines)
  maskcodec decode frame.mcx -o frame.png         # kept pixels exact, the rest inpainted
  maskcodec decode -v frame.mcx -o frame.png      # ... and its estimated PSNR, from held-back kept pixels
  maskcodec decode downlink/ -o decoded/          # every .mcx in a folder, with progress
  maskcodec encode NRB_680874728RAD.IMG -o f.mcx  # PDS3/VICAR/PDS4/ISIS3/FITS products, label and metadata kept
  maskcodec encode CAS-MCO-...-PAN.xml -o p.mcx --quantize auto   # float data: scale and offset travel in the file
  maskcodec decode p.mcx -o p.tif                 # float32 values again, and the label beside them (p.xml)
  maskcodec bench ../shared/data/mars_rgb/val     # quality per byte against JPEG2000
  maskcodec bench-models ../shared/data/mars_rgb/val   # every model on the same kept pixels

The format is specified in spec/format.md (installed with maskcodec: {spec}).
Images: PNG and TIFF (8/16-bit) and .npy; mission products: docs/products.md.
"""

# command -> (module under maskcodec.tools with configure_parser and run_cli, one-line help)
def spec_path() -> Path:
    """Where ``spec/format.md`` lies: inside an installed wheel, or in the source checkout."""
    here = Path(__file__).resolve().parent
    shipped = here / "shipped_spec" / "format.md"
    return shipped if shipped.exists() else here.parent / "spec" / "format.md"


_FROM_THE_CHAIN = (("--mode", "mode", "mask"), ("--seed", "seed", None), ("--mask", "mask", None),
                   ("--bits", "bits", None), ("--model", "model", None), ("--quality", "quality", None),
                   ("--segment-size", "segment_size", None), ("--coding", "coding", None),
                   ("--quantize", "quantize", None))


def _mcx_output(path: Path, force: bool) -> Path:
    """An encoder's output file: named ``.mcx`` (an image suffix would hide what it holds) unless ``--force``,
    and writable."""
    if path.suffix.lower() != ".mcx" and not force:
        raise InvalidInputError(f"-o {path}: encoded files end in .mcx (-o {path.with_suffix('.mcx')}); "
                                f"--force writes the name as given")
    return check_writable(path, force)


def _cmd_refine(args: argparse.Namespace, src: Path) -> int:
    """``encode --refines FILES``: a refinement of the chain FILES from the original image."""
    from .codec import refine
    from .io.images import read_image
    from .options import check_max_error
    given = [flag for flag, name, default in _FROM_THE_CHAIN if getattr(args, name) != default]
    if given:
        raise InvalidInputError(f"{', '.join(given)} cannot be given with --refines: a refinement takes them "
                                f"from the chain it extends")
    if args.keep is None:
        raise InvalidInputError("--refines needs --keep: the chain's keep after this file (above its keep now)")
    max_error = check_max_error(args.max_error or 0)
    for flag, value in (("--max-bytes", args.max_bytes), ("--bpp", args.bpp), ("--ratio", args.ratio)):
        if value is not None:
            raise InvalidInputError(f"{flag} cannot be given with --refines: a refinement is sized by --keep")
    chain = [Path(name) for name in args.refines]
    for p in chain:
        if not p.is_file():
            raise InvalidInputError(f"{p}: no such .mcx file (--refines)")
    out = _mcx_output(Path(args.output) if args.output else src.with_suffix(f".keep{args.keep:g}.mcx"),
                      args.force)
    image = read_image(src)
    previous = [p.read_bytes() for p in chain]
    data = refine(image, previous, args.keep, max_error=max_error)
    out.write_bytes(data)
    print(f"{src} -> {out}: {len(data)} bytes, refines {chain[-1]} to keep {args.keep:g} "
          f"(chain of {len(chain) + 1} files, {sum(map(len, previous)) + len(data)} bytes in all)")
    return 0


def _cmd_encode(args: argparse.Namespace) -> int:
    from .budgets import check_budget, resolve
    from .integrations.batch import encode_file, encode_many
    from .io.images import IMAGE_SUFFIXES, PRODUCT_SUFFIXES
    from .io.products import product_sources
    if args.refines:
        if len(args.inputs) != 1:
            raise InvalidInputError("--refines extends a chain with one image: give one input")
        return _cmd_refine(args, Path(args.inputs[0]))
    budget = check_budget(args.max_bytes, args.bpp, args.ratio)
    opts = resolve(args.mode, budget, keep=args.keep, seed=args.seed, bits=args.bits, segment_size=args.segment_size,
                   model=args.model, quality=args.quality, mask=args.mask,
                   max_error=args.max_error, coding=args.coding)  # every option checked before the image is read
    given = args.max_error is not None
    if len(args.inputs) == 1 and not Path(args.inputs[0]).is_dir():
        src = Path(args.inputs[0])
        out = _mcx_output(Path(args.output) if args.output else src.with_suffix(".mcx"), args.force)
        notes, line = encode_file(src, out, opts, budget, given, args.quantize, not args.no_label)
        for note in notes:
            print(f"maskcodec: {src}: {note}", file=sys.stderr)
        print(f"{src} -> {out}: {line}")
        return 0
    sources = []
    for name in args.inputs:
        p = Path(name)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() in IMAGE_SUFFIXES + PRODUCT_SUFFIXES)
            sources += product_sources(found)  # a product once, through its label (x.LBL, not also x.IMG)
        elif p.is_file():
            sources.append(p)
        else:
            raise InvalidInputError(f"{p}: no such image file or folder (input)")
    if not sources:
        raise InvalidInputError(f"no images found in {', '.join(args.inputs)}")
    if args.output and Path(args.output).suffix.lower() == ".mcx":
        raise InvalidInputError(f"-o {args.output}: several inputs encode into a folder; -o names that folder")
    result = encode_many(sources, Path(args.output) if args.output else None, opts, budget, given,
                         workers=args.workers, force=args.force, progress=not args.quiet, quantize=args.quantize,
                         label=not args.no_label)
    for src, message in result.failures:
        print(f"maskcodec: error: {src}: {message}", file=sys.stderr)
    for src, line in result.reports if args.verbose else []:
        print(f"{src}: {line}")
    print(f"encoded {result.decoded} of {len(sources)} images into {args.output or 'the folders beside them'} "
          f"({result.decoded / max(result.seconds, 1e-9):.2f} frames/s)")
    return 1 if result.failures else 0


def _workers(text: str) -> int:
    """``--workers``: a positive number of processes."""
    if not text.isdigit() or int(text) < 1:
        raise InvalidInputError(f"--workers must be a positive number of processes, got {text!r}")
    return int(text)


def _cmd_decode(args: argparse.Namespace) -> int:
    inputs: list[Path] = []
    for name in args.inputs:
        p = Path(name)
        if not p.exists():
            raise InvalidInputError(f"{p}: no such .mcx file or folder (input)")
        inputs.extend(sorted(p.glob("*.mcx")) if p.is_dir() else [p])
    if not inputs:
        raise InvalidInputError(f"no .mcx files found in {', '.join(args.inputs)}")
    from .integrations.batch import (check_label_output, decode_file, decode_many, label_path, output_dtype,
                                     output_path_suffix, peek_header)
    from .io.images import check_output
    named = len(inputs) > 1 and not any(Path(name).is_dir() for name in args.inputs)
    # a first file and its refinements, named in any order, are one image (the chain decoder checks the order)
    chain = named and any(h is not None and bool(h.refines) for h in map(peek_header, inputs))
    if chain or len(inputs) == 1 and not Path(args.inputs[0]).is_dir():
        for flag, value in (("--workers", args.workers), ("--scheduler", args.scheduler)):
            if value is not None:
                print(f"maskcodec: {flag} applies to batches (a folder or several images); one image is decoded "
                      f"here, in this process", file=sys.stderr)
        header = peek_header(inputs[-1])
        if args.salvage and header is not None and not header.segments:
            print(f"maskcodec: --salvage applies to segmented streams (--segment-size); {inputs[-1]} is a single "
                  f"container, read strictly", file=sys.stderr)
        fmt = output_suffix(args.format)
        if args.output and fmt != "auto" and Path(args.output).suffix.lower() != fmt:
            raise InvalidInputError(f"-o {args.output} and --format {args.format} disagree; give one of them")
        first = peek_header(inputs[0]) if chain else header  # a chain's first file holds the product's metadata
        if header is not None and first is not None:
            header = _with_metadata(header, first.metadata)
        out = Path(args.output) if args.output else inputs[-1].with_suffix(  # never the image it was made from
            ".decoded" + (output_path_suffix(header, args.stored) if fmt == "auto" else fmt))
        check_output(out, *((output_dtype(header, args.stored), header.channels) if header else ()), force=args.force)
        label = None if args.no_label else label_path(out, header)
        if label is not None:
            check_label_output(label, args.force)
        from .runtime.onnx import progress
        with progress() if not args.quiet else contextlib.nullcontext():  # a bar over a large frame's tiles
            messages, report = decode_file(inputs if chain else inputs[0], out, args.inpainter, args.salvage,
                                           estimate=args.verbose, stored=args.stored, label=not args.no_label,
                                           stretch=args.stretch)
        for message in messages + _decode_notes(header, out, label, args.stored):
            print(f"maskcodec: {inputs[0]}: {message}", file=sys.stderr)
        what = f"chain of {len(inputs)} files {inputs[0]} ... {inputs[-1]}" if chain else str(inputs[0])
        print(f"{what} -> {out} ({report})")
        return 0
    outdir = Path(args.output or ".")
    result = decode_many(inputs, outdir, inpainter=args.inpainter, fmt=args.format, workers=args.workers,
                         scheduler=args.scheduler, salvage=args.salvage, force=args.force,
                         progress=not args.quiet, estimate=args.verbose, verbose=args.verbose, stored=args.stored,
                         label=not args.no_label, stretch=args.stretch)
    for src, message in result.failures:
        print(f"maskcodec: {src}: {message}", file=sys.stderr)
    how = ", ".join(f"{what} ({n})" for what, n in result.decoded_by.items())
    print(f"decoded {result.decoded} of {len(inputs)} files into {outdir} "
          f"({result.frames_per_second:.2f} frames/s; {how or 'no header readable'})")
    return 1 if result.failures else 0


def _with_metadata(header, metadata: dict):
    """``header`` with another file's metadata (a refinement's chain: the first file's)."""
    from dataclasses import replace
    return header if header.metadata == metadata else replace(header, metadata=metadata)


def _decode_notes(header, out: Path, label: Path | None, stored: bool) -> list[str]:
    """What decode tells about a product: how its values came back, and where its label went."""
    from .io.products import describe_quantization
    if header is None:
        return []
    notes = []
    q = header.metadata.get("quantization")
    if q is not None and not stored:
        notes.append(f"{out}: " + describe_quantization(q, getattr(header, "max_error", 0) or 0))
    elif q is not None:
        notes.append(f"{out}: the stored integers (--stored); " + describe_quantization(q, getattr(header, "max_error", 0) or 0))
    elif "dtype" in header.metadata and not stored and "offset" in header.metadata:
        notes.append(f"{out}: {header.metadata['dtype']} values = stored - {header.metadata['offset']} (the "
                     f"product's own values; --stored writes the stored integers)")
    if label is not None:
        notes.append(f"its {header.metadata['label'].get('format', '')} label written beside the image: {label}")
    return notes


def _cmd_info(args: argparse.Namespace) -> int:
    from .codec import inspect, verify
    from .integrations.batch import peek_header
    data = Path(args.input).read_bytes()
    problem = verify(data)
    try:
        h = inspect(data)
    except MaskcodecError:
        from .framing import MAGICS
        if data[:4] not in MAGICS:
            raise  # not a maskcodec file at all: an input error, not a damaged file
        h = peek_header(args.input)  # a segmented stream described by its first intact segment
        if h is None:
            if args.json:
                print(json.dumps({"damage": problem}, indent=2))
            else:
                print(f"{args.input}: header unreadable\n  integrity  DAMAGED: {problem}")
            return 1
    if args.json:
        print(json.dumps(h.to_json() | {"damage": problem}, indent=2))
        return 1 if problem else 0
    pixels = h.shape[0] * h.shape[1]
    print(f"{args.input}: maskcodec {h.version[0]}.{h.version[1]}, {h.mode} mode")
    print(f"  image      {' x '.join(map(str, h.shape))} {h.dtype} ({h.bits} significant bits)")
    lines, checked = _MODE_LINES[h.mode](h, pixels)
    for line in lines:
        print(line)
    print(f"  model      {h.model_id + ' sha256 ' + h.model_sha256[:16] + '...' if h.model_id else '(decoder default)'}")
    if getattr(h, "segments", 0):  # a segmented stream (mask mode)
        from .modes.mask.stream import segment_size
        size = segment_size(data)
        print(f"  segments   {h.segments} of {size} bytes each, {h.segments * size} in all (stream of "
              f"{len(data)} bytes = {8 * len(data) / pixels:.3f} bits/pixel; first segment: header "
              f"{h.header_size}" + f"); survivors {h.payload_raw_size} bytes raw")
    else:
        print(f"  size       {h.file_size} bytes = {8 * h.file_size / pixels:.3f} bits/pixel "
              f"(header {h.header_size}, payload {h.payload_size}, raw "
              f"{'latents' if h.mode == 'latent' else 'survivors'} {h.payload_raw_size})"
              + ("" if len(data) == h.file_size else f"; the file has {len(data)} bytes"))
    from .io.products import describe_label, describe_quantization
    for key, value in sorted(h.metadata.items()):
        if key == "label" and describe_label(h.metadata):
            print(f"  label      {describe_label(h.metadata)}")
        elif key == "quantization":
            print(f"  quantize   {describe_quantization(value, getattr(h, 'max_error', 0) or 0)}")
        else:
            print(f"  meta       {key}: {value}")
    print(f"  integrity  {'DAMAGED: ' + problem if problem else f'intact ({checked})'}")
    return 1 if problem else 0


def _mask_lines(h, pixels: int) -> tuple[list[str], str]:
    """What ``info`` prints of a mask-mode header, and what its integrity check covered."""
    from .masks import KINDS, threshold_to_keep
    added = (f"{h.survivors} of {pixels} pixels added to the chain's keep "
             f"{threshold_to_keep(h.previous_threshold):.6g}" if h.refines else f"{h.survivors} of {pixels} pixels kept")
    return [f"  mask       {KINDS[h.mask_kind].name}, seed {h.seed}, keep {h.keep:.6g} (threshold "
            f"{h.keep_threshold}), {added}",
            f"  coding     {CODING_NAMES[h.coding]}, "
            f"{'kept values exact' if not h.max_error else f'kept values within +-{h.max_error}'}"
            + (f"; refines the file with SHA-256 {h.refines[:16]}..." if h.refines else "")], \
        ("sizes and checksums checked; the payload is checked when its chain is decoded" if h.refines else
         "sizes, checksums and payload checked")


def _latent_lines(h, pixels: int) -> tuple[list[str], str]:
    """What ``info`` prints of a latent-mode header, and what its integrity check covered."""
    lat = h.latent
    coding = ("integers range-coded with the model's context tables (coder 3)" if lat.coder == "context" else
              f"{lat.quantization} quantization to 8 bits, per-channel offsets and steps in the header, zstd")
    return [f"  latent     {lat.channels} x {lat.height} x {lat.width} (factor {lat.factor}), {coding}"], \
        ("sizes and checksums checked; the range code is checked when decoded" if lat.coder != "zstd" else
         "sizes, checksums and payload checked")


_MODE_LINES = {"mask": _mask_lines, "latent": _latent_lines}  # what info prints of each mode's fields
CODING_NAMES = {"ranked": "ranked, range coded (spec 6.7)", "predictive": "predictive, Rice codes (spec 6.5)", "scan": "scan order, zstd (spec 6)",
                "segment": "nearest neighbour in each segment, Rice codes (spec 11.3)"}


def _installed_inpainters() -> list[str]:
    from .runtime.manifest import InpainterEntry, load
    try:
        return sorted(load().of_kind(InpainterEntry))
    except MaskcodecError:  # a broken manifest is reported when a model is used, not by --help
        return []


def _add_core(sub) -> None:
    from .inpainting import CLASSICAL_NAMES
    from .io.products import parse_quantize
    from .options import parse_keep
    p = sub.add_parser("encode", help="compress an image to a .mcx file", formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Keep a fraction of the pixels (chosen by the seed) and store them losslessly "
                                   "(mask mode), or send a latent model's quantized bottleneck (--mode latent).",
                       epilog="examples:\n"
                              "  maskcodec encode frame.png --keep 0.1 --seed 7      # -> frame.mcx, 10% of the pixels exact\n"
                              "  maskcodec encode frame.png --bpp 1.2                # a byte budget: keep and --max-error chosen\n"
                              "  maskcodec encode frame.png --keep 0.2 --max-error 2  # kept values within +-2\n"
                              "  maskcodec encode frame.png --segment-size 1024      # 1 KiB segments for a lossy link\n"
                              "  maskcodec encode frame.png --keep 0.5 --refines frame.mcx -o more.mcx   # what keep 0.5 adds\n"
                              "  maskcodec encode frames/ -o encoded/ --workers 2    # a folder, in parallel\n"
                              "  maskcodec encode product.xml --quantize auto        # float data: scale and offset travel\n"
                              "  maskcodec encode frame.png --mode latent --quality 2   # latent mode")
    p.add_argument("inputs", nargs="+", metavar="input",
                   help="image file (.png, .tif, .npy; uint8 or uint16; signed and float .npy too) or mission "
                        "product (PDS3/VICAR .IMG/.LBL, PDS4 .xml/.dat, ISIS3 .cub, qube .QUB, FITS; PDS and FITS "
                        "need the 'products' extra); several files or folders encode as a batch")
    p.add_argument("-o", "--output", help="output .mcx file (default: input with .mcx suffix); for a batch, the "
                                          "output folder (default: each file beside its input)")
    p.add_argument("--workers", type=argument(_workers), default=None,
                   help="batch: worker processes (default: one per CPU core; 1 encodes in this process)")
    p.add_argument("-q", "--quiet", action="store_true", help="batch: no progress bar")
    p.add_argument("-v", "--verbose", action="store_true", help="batch: print what each file became")
    p.add_argument("--mode", choices=["mask", "latent"], default="mask",
                   help="mask: keep a seeded fraction of the pixels (default); latent: send the bottleneck of a "
                        "latent model (--model or --quality)")
    p.add_argument("--keep", type=argument(parse_keep), default=None,
                   help="mask mode: fraction of pixels kept, in (0, 1] (default 0.1)")
    p.add_argument("--seed", type=int, default=None,
                   help="mask mode: 32-bit mask seed (default: random, stored in the file)")
    p.add_argument("--mask", choices=["bluenoise", "hash"], default=None,
                   help="mask mode: which pixels travel: bluenoise (default: kept pixels spread evenly by a "
                        "blue-noise tile) or hash (pseudo-random, the first files' kind)")
    p.add_argument("--bits", type=int, default=None,
                   help="significant bits per sample, e.g. 12 (default: what a PNG's sBIT or a product's label says, "
                        "else found from a product's data, else the dtype width); with --quantize, the bits the "
                        "quantized values fill (default 16)")
    p.add_argument("--quantize", type=argument(parse_quantize), default=None, metavar="auto|SCALE,OFFSET",
                   help="store float data (PDS4, ISIS3, FITS, .npy) as integers: auto maps the finite range onto "
                        "16 bits (or --bits); SCALE,OFFSET stores round((value - OFFSET) / SCALE). The scale, offset "
                        "and error bound travel in the file and decode gives float32 back; NaN and infinities keep "
                        "codes of their own. e.g. --quantize auto, --quantize 1e-5,0")
    p.add_argument("--no-label", action="store_true",
                   help="leave a product's label out of the file (by default it travels, compressed, in the "
                        "metadata where it fits, and decode writes it back)")
    p.add_argument("--model", default=None,
                   help="model id from models/manifest.json, recorded with its hash: the inpainting model for the "
                        "decoder (mask mode) or the latent model (latent mode)")
    p.add_argument("--quality", type=int, default=None,
                   help="latent mode: quality level, 1 (fewest bytes, about 0.06 bits/pixel) to 4 (best, about "
                        "0.3): the latent model latent-q<QUALITY> for 8-bit colour images, latent-gray-q<QUALITY> "
                        "for 8-bit gray ones")
    p.add_argument("--segment-size", type=int, default=None, metavar="BYTES",
                   help="mask mode: write a stream of self-contained segments of this size (e.g. 1024, a transfer "
                        "frame) that survives lost packets (decode --salvage); metadata and --max-error travel in it")
    p.add_argument("--max-error", type=int, default=None, metavar="D",
                   help="mask mode: every kept value decodes within +-D (default 0: exact; with a byte budget, "
                        "chosen with the keep); at the bytes of an exact file, D=2 keeps about 1.9 times the pixels")
    p.add_argument("--max-bytes", type=int, default=None, metavar="N",
                   help="byte budget: the file has at most N bytes; mask mode chooses keep and --max-error (from a "
                        "frontier measured on training frames), latent mode the quality level")
    p.add_argument("--bpp", type=float, default=None, help="byte budget in bits per pixel (as --max-bytes)")
    p.add_argument("--ratio", type=float, default=None,
                   help="byte budget as a compression ratio: raw image bytes / file bytes (as --max-bytes)")
    p.add_argument("--coding", choices=["ranked", "predictive", "scan"], default=None,
                   help="mask mode: ranked (default for one file: kept values coded coarse to fine in rank order, "
                        "each predicted from those before it, range coded), predictive (the same predictions in "
                        "Rice codes) or scan (scan-order deltas and zstd: the cheapest "
                        "encoder, exact values); not with --segment-size, whose segments have their own coding)")
    p.add_argument("--refines", nargs="+", default=None, metavar="FILE",
                   help="write a refinement instead: only the pixels that --keep adds to the chain FILE ... (the "
                        "first file, then its refinements in order), from the same INPUT image; decode the chain "
                        "with 'maskcodec decode FILE ... OUT.mcx -o image.png'")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=_cmd_encode)

    p = sub.add_parser("decode", help="decompress .mcx files to images", formatter_class=argparse.RawDescriptionHelpFormatter,
                       description="Regenerate the mask from the seed, paste the kept pixels back exactly "
                                   "and inpaint the rest. Several inputs or a folder decode as a batch; a first "
                                   "file followed by its refinements (encode --refines), in order, decode as one "
                                   "image: maskcodec decode base.mcx r1.mcx r2.mcx -o frame.png",
                       epilog="examples:\n"
                              "  maskcodec decode frame.mcx                      # -> frame.decoded.png\n"
                              "  maskcodec decode -v frame.mcx -o out.png        # ... and the estimated PSNR\n"
                              "  maskcodec decode frame.mcx --inpainter linear   # a named inpainter instead of auto\n"
                              "  maskcodec decode stream.mcx --salvage           # what survived a damaged downlink\n"
                              "  maskcodec decode downlink/ -o decoded/ --workers 2   # a folder, in parallel\n"
                              "  maskcodec decode frame12.mcx -o view.tif --stretch   # a 12-bit frame, stretched to view")
    p.add_argument("inputs", nargs="+", help=".mcx files or folders of them, or one chain of refinements")
    p.add_argument("-o", "--output", help="output image (one input; default: the input's name with .decoded.png or "
                                          ".decoded.tif, so never the image it was encoded from) or folder (batch)")
    p.add_argument("--inpainter", default="auto",
                   help=f"auto (the default: the model the file names or the shipped model for the image's kind, "
                        f"or linear, whichever fills a few held-back kept pixels best; where no model fits, the "
                        f"classical inpainter measured best for the sample type), "
                        f"{', '.join(CLASSICAL_NAMES)}, or an installed inpainting model: "
                        f"{', '.join(_installed_inpainters()) or '(none installed)'}")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="print what filled each frame and its estimated PSNR, measured on held-back kept pixels "
                        "(for a named --inpainter this costs one more trial fill)")
    p.add_argument("--salvage", action="store_true",
                   help="recover what survived of a damaged segmented stream instead of failing")
    p.add_argument("--format", type=argument(output_suffix), default="auto",
                   help="output type when -o names no file: auto (PNG where it holds the image, else TIFF; the "
                        "default), png, tif, tiff or npy; PNG holds no float or signed values (TIFF and .npy do)")
    p.add_argument("--stretch", action="store_true",
                   help="for viewing: a frame of fewer significant bits than its type (12 of 16) written stretched "
                        "to the type's full range, without sBIT (the values are then not the data; PNG outputs are "
                        "viewable without it, their sBIT scaling does the same)")
    p.add_argument("--stored", action="store_true",
                   help="write the stored integers as coded (uint8/uint16), not the product's values: by default a "
                        "quantized product comes back as float32 (value = stored x scale + offset) and shifted "
                        "signed data in their own type")
    p.add_argument("--no-label", action="store_true",
                   help="do not write the product label a file carries (by default it is written beside the "
                        "image: frame.tif gets frame.lbl for PDS3 and ISIS3, frame.xml for PDS4, frame.hdr for "
                        "FITS headers)")
    p.add_argument("--force", action="store_true", help="overwrite existing output files")
    p.add_argument("--workers", type=argument(_workers), default=None,
                   help="batch: worker processes (default: one per CPU core; 1 decodes in this process)")
    p.add_argument("--scheduler", default=None,
                   help="batch: decode on Dask: 'local' for a LocalCluster or a scheduler address tcp://host:port")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")
    p.set_defaults(func=_cmd_decode)

    p = sub.add_parser("info", help="show a file's header and check it without decoding it",
                       formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="examples:\n"
                              "  maskcodec info frame.mcx           # header, sizes, metadata; exit 1 if damaged\n"
                              "  maskcodec info --json frame.mcx    # the header as JSON (spec section 10.1)\n"
                              "  maskcodec info --version           # the version and which survivor coder runs (C or numpy)",
                       description="Print what a .mcx file or segmented stream says about itself (image, mask or "
                                   "latent block, model, sizes, metadata) and check its sizes, checksums and payload "
                                   "without inpainting. Exit status 1 when the file is damaged (the line 'integrity' "
                                   "says how, and what --salvage would recover from a segmented stream).")
    p.add_argument("input", help=".mcx file")
    p.add_argument("--version", action=_Version)
    p.add_argument("--json", action="store_true",
                   help="print the header as JSON (spec/format.md section 10.1) with a 'damage' entry (null when "
                        "intact)")
    p.set_defaults(func=_cmd_info)


def version_text() -> str:
    """What ``--version`` prints: the version and which survivor coder runs (the C extension or the numpy
    reference, and why)."""
    from .survivors.ranked import IMPLEMENTATION
    return f"maskcodec {__version__}\nsurvivor coder: {IMPLEMENTATION}"


class _Version(argparse.Action):
    """``--version`` (also ``info --version``): print :func:`version_text` and exit."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS,
                 help="print the version and which survivor coder runs (C or the numpy reference), then exit"):
        super().__init__(option_strings, dest=dest, default=default, nargs=0, help=help)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


class _OneLineParser(argparse.ArgumentParser):
    """A parser whose errors are one line (what was wrong, and where ``--help`` is), exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser; the arguments of a tool are added (its module imported) only when ``command`` names it."""
    parser = _OneLineParser(
        prog="maskcodec", formatter_class=argparse.RawDescriptionHelpFormatter, epilog=EPILOG.format(spec=spec_path()),
        description="Compress images by keeping a seeded random subset of pixels; "
                    "decode by inpainting the rest.")
    parser.add_argument("--version", action=_Version)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_core(sub)
    for name, (module, help_text) in TOOLS.items():
        p = sub.add_parser(name, help=help_text)
        if name == command:
            tool = importlib.import_module(f"maskcodec.tools.{module}")
            tool.configure_parser(p)
            p.set_defaults(func=tool.run_cli)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command line with ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    args = build_parser(command).parse_args(argv)
    try:
        return args.func(args)
    except MaskcodecError as e:
        print(f"maskcodec: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"maskcodec: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
