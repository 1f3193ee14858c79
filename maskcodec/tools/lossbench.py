"""Damaged-downlink benchmark: maskcodec segmented streams, JPEG2000 and HTJ2K under the same packet damage.

Each image is coded at keep 0.1 as a segmented stream of 1 KiB segments, and as
codestreams of the same size of each anchor (``LOSSY_LINK_ANCHORS``): JPEG2000
(OpenJPEG through Pillow) in its default configuration, and configured as far as
the bindings allow for a lossy link (they offer neither SOP/EPH markers nor
OpenJPEG's partial-stream option): 128-pixel tiles, decoded with Pillow's
truncated-image loading; and HTJ2K (OpenJPH through imagecodecs) decoded with
its resilient option, as a user on a lossy link would. The byte streams are cut into fixed-size packets; a fraction of the
packets is deleted, zero-filled or has one bit flipped, with the same random
choices for every codec. maskcodec is decoded with ``strict=False`` (salvage);
an anchor's decode that raises counts as a failure, and the PSNR drops are
those of the decodes that worked.

What segmenting costs is measured beside the damage: the segmented stream's
bytes against the single container (ranked, the default, and scan coded)
on every frame, and the encode times of the three on mosaics of the frames of
0.25 to 16 megapixels (``SIDES``; each encode timed once, after a warm-up).
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from functools import partial
from pathlib import Path

import numpy as np

from ..codec import SalvageWarning, decode, encode
from ..errors import InvalidInputError, MaskcodecError
from ..framing.stream import MAX_SEGMENT, MIN_SEGMENT
from ..io.images import read_image
from ..metrics import psnr
from .bench import run_timed
from .reference_codecs import decode_pil, htj2k_at_size, jpeg2000_at_size

__all__ = ["damage", "mosaic", "segment_costs", "run_loss_bench", "KINDS", "RATES", "SIDES", "LOSSY_LINK_ANCHORS",
           "configure_parser", "run_cli"]

KINDS = ("delete", "zero", "flip")
RATES = (0.01, 0.05, 0.1, 0.2, 0.4)
SIDES = (512, 1024, 2048, 4096)  # square mosaics of 0.25, 1, 4 and 16 megapixels
TILE = 128  # JPEG2000 tiles of the resilient configuration: damage stays in the tiles it hits


def damage(data: bytes, fraction: float, kind: str, rng: np.random.Generator, packet: int = 1024) -> bytes:
    """Damage ``fraction`` of the ``packet``-byte packets of ``data`` (at least one).

    ``kind`` is ``"delete"`` (packets vanish), ``"zero"`` (zero-filled gaps) or
    ``"flip"`` (one random bit flipped per packet).

    Examples
    --------
    >>> len(damage(bytes(4096), 0.25, "delete", np.random.default_rng(0)))
    3072
    """
    packets = [data[i:i + packet] for i in range(0, len(data), packet)]
    hit = set(rng.choice(len(packets), size=max(1, round(fraction * len(packets))), replace=False).tolist())
    out = []
    for i, p in enumerate(packets):
        if i not in hit:
            out.append(p)
        elif kind == "zero":
            out.append(bytes(len(p)))
        elif kind == "flip":
            b = bytearray(p)
            b[rng.integers(len(b))] ^= 1 << int(rng.integers(8))
            out.append(bytes(b))
        elif kind != "delete":
            raise InvalidInputError(f"unknown damage kind {kind!r}; expected one of {KINDS}")
    return b"".join(out)


def _htj2k_resilient(data: bytes, like: np.ndarray) -> np.ndarray:
    from ..optional import require
    codecs = require("imagecodecs", "bench-loss's HTJ2K anchor")
    hook, sys.unraisablehook = sys.unraisablehook, lambda _: None  # OpenJPH reports damage it recovers from
    try:
        return codecs.htj2k_decode(data, resilient=True).reshape(like.shape)
    finally:
        sys.unraisablehook = hook


#: The anchors on a lossy link: key -> (name, ``at_size(image, target_bytes) -> bytes``, ``decode(data, like)``).
LOSSY_LINK_ANCHORS = {
    "jpeg2000": ("JPEG2000", jpeg2000_at_size, decode_pil),
    "jpeg2000_tiled": ("JPEG2000, 128 px tiles, truncated decoding", partial(jpeg2000_at_size, tile=TILE),
                       partial(decode_pil, truncated=True)),
    "htj2k_resilient": ("HTJ2K, resilient decoding", lambda image, n: htj2k_at_size(image, n)[1], _htj2k_resilient),
}


def _anchor_decode(decoder, data: bytes, like: np.ndarray) -> np.ndarray | None:
    try:
        return decoder(data, like)
    except Exception:  # any failure of a reference decoder on damaged input counts as a failed decode
        return None


def mosaic(images: list[np.ndarray], side: int) -> np.ndarray:
    """A ``side`` x ``side`` image tiled, row by row, with the top-left squares of ``images`` in turn (as large as
    the smallest frame allows): real pixels at any size."""
    tile = min(min(im.shape[:2]) for im in images)
    out = np.zeros((side, side) + images[0].shape[2:], images[0].dtype)
    k = 0
    for y in range(0, side, tile):
        for x in range(0, side, tile):
            h, w = min(tile, side - y), min(tile, side - x)
            out[y:y + h, x:x + w] = images[k % len(images)][:h, :w]
            k += 1
    return out


def stream_memory(frame: np.ndarray, keep: float, packet: int, rows: int = 16) -> dict:
    """Peak memory the :class:`maskcodec.StreamEncoder` allocates (tracemalloc) while ``frame`` is fed ``rows``
    rows at a time (views: the frame is the instrument's, the segments go out as they come), and whether
    its bytes are ``encode``'s."""
    import hashlib
    import tracemalloc
    from ..modes.mask.stream import StreamEncoder
    sent = hashlib.sha256()
    tracemalloc.start()
    encoder = StreamEncoder(frame.shape, frame.dtype, keep, seed=1, segment_size=packet)
    for y in range(0, frame.shape[0], rows):
        sent.update(encoder.write(frame[y:y + rows]))
    sent.update(encoder.close())
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    same = sent.digest() == hashlib.sha256(encode(frame, keep, seed=1, segment_size=packet)).digest()
    return {"side": frame.shape[0], "frame_bytes": frame.nbytes, "peak_bytes": peak,
            "peak_fraction": peak / frame.nbytes, "rows_per_write": rows, "identical_to_encode": same}


def segment_costs(images: list[np.ndarray], keep: float, packet: int, sides=SIDES) -> dict:
    """Bytes of the segmented stream against the single container on every frame, encode times of the three on
    mosaics of ``sides``, and the StreamEncoder's memory on the largest."""
    frames = []
    for n, image in enumerate(images):
        sizes = {name: len(encode(image, keep, seed=n, **kw)) for name, kw in
                 (("ranked", {}), ("scan", {"coding": "scan"}), ("segmented", {"segment_size": packet}))}
        frames.append(sizes)
    encode(images[0][:64, :64], keep, seed=0, segment_size=packet)  # warm-up
    scaling = []
    same = [im for im in images if im.shape[2:] == images[0].shape[2:] and im.dtype == images[0].dtype]
    for side in sides:
        big = mosaic(same, side)
        row = {"side": side, "megapixels": side * side / 1e6}
        for name, kw in (("ranked", {}), ("scan", {"coding": "scan"}), ("segmented", {"segment_size": packet})):
            data, seconds, _ = run_timed(lambda: encode(big, keep, seed=1, **kw), 1, 0.0)
            row[name] = {"seconds": seconds, "bytes": len(data)}
        scaling.append(row)
    return {"frames": frames, "scaling": scaling,
            "stream_memory": stream_memory(mosaic(same, max(sides)), keep, packet),
            "overhead_vs_ranked": _mean([f["segmented"] / f["ranked"] - 1 for f in frames]),
            "overhead_vs_scan": _mean([f["segmented"] / f["scan"] - 1 for f in frames])}


def run_loss_bench(paths: list[Path], out_dir: Path, *, keep: float = 0.1, packet: int = 1024,
                   rates=RATES, kinds=KINDS, trials: int = 3, inpainter: str = "nconv", sides=SIDES,
                   progress: bool = True) -> dict:
    """Measure PSNR loss under packet damage for maskcodec (salvage) and JPEG2000 (``trials`` damage draws per
    image and cell; 0 measures only what segmenting costs); write JSON and Markdown."""
    from tqdm import tqdm
    rows: dict[tuple, dict] = {}
    images = [read_image(p) for p in paths]
    costs = segment_costs(images, keep, packet, sides)
    bar = tqdm(total=len(images) * len(rates) * len(kinds) * trials, desc="loss bench", unit="decode",
               file=sys.stderr, disable=not progress)
    for n, image in enumerate(images if trials else []):
        stream = encode(image, keep, seed=n, segment_size=packet)
        clean = psnr(image, decode(stream, inpainter=inpainter))
        anchors = {}
        for a, (_, at_size, decoder) in LOSSY_LINK_ANCHORS.items():
            data = at_size(image, len(stream))
            anchors[a] = (data, decoder, psnr(image, decoder(data, image)))
        for rate in rates:
            for kind in kinds:
                r = rows.setdefault((rate, kind), dict(rate=rate, kind=kind, mc_drop=[], mc_fail=0, recovered=[],
                                                       **{f"{a}_drop": [] for a in anchors},
                                                       **{f"{a}_fail": 0 for a in anchors}))
                for t in range(trials):
                    key = [n, round(rate * 1e6), kinds.index(kind), t]  # same damage for every codec
                    rng_mc = np.random.default_rng(key)
                    try:
                        with warnings.catch_warnings(record=True) as caught:
                            warnings.simplefilter("always", SalvageWarning)
                            got = decode(damage(stream, rate, kind, rng_mc, packet), inpainter=inpainter,
                                         strict=False)
                        r["mc_drop"].append(clean - psnr(image, got))
                        reports = [w.message.report for w in caught if isinstance(w.message, SalvageWarning)]
                        r["recovered"].append(reports[0].fraction_recovered if reports else 1.0)
                    except MaskcodecError:
                        r["mc_fail"] += 1
                    for a, (data, decoder, anchor_clean) in anchors.items():
                        got = _anchor_decode(decoder, damage(data, rate, kind, np.random.default_rng(key), packet),
                                             image)
                        if got is None:
                            r[f"{a}_fail"] += 1
                        else:
                            r[f"{a}_drop"].append(anchor_clean - psnr(image, got))
                    bar.update()
    bar.close()
    total = len(images) * trials
    summary = [dict(rate=r["rate"], kind=r["kind"], decodes=total,
                    maskcodec_failures=r["mc_fail"], maskcodec_mean_drop_db=_mean(r["mc_drop"]),
                    maskcodec_max_drop_db=max(r["mc_drop"], default=None),
                    maskcodec_recovered=_mean(r["recovered"]),
                    **{f"{a}_failures": r[f"{a}_fail"] for a in LOSSY_LINK_ANCHORS},
                    **{f"{a}_mean_drop_db": _mean(r[f"{a}_drop"]) for a in LOSSY_LINK_ANCHORS})
               for r in rows.values()]
    result = dict(images=[str(p) for p in paths], keep=keep, packet_bytes=packet, trials=trials,
                  inpainter=inpainter, rows=summary, segment_costs=costs)
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "loss.json").write_text(json.dumps(result, indent=2))
    (out_dir / "loss.md").write_text(_markdown(result))
    return result


def _mean(values: list[float]) -> float | None:
    finite = [v for v in values if np.isfinite(v)]
    return float(np.mean(finite)) if finite else None


def _fmt(v: float | None) -> str:
    return "-" if v is None else f"{v:.2f}"


def _markdown(result: dict) -> str:
    names = [name for name, _, _ in LOSSY_LINK_ANCHORS.values()]
    lines = [f"Damaged downlink: keep {result['keep']}, {result['packet_bytes']}-byte packets, "
             f"{len(result['images'])} images x {result['trials']} trials per cell; PSNR drop against the "
             f"undamaged decode of the same codec (dB); the anchors at the same bytes: JPEG2000 (OpenJPEG via "
             f"Pillow, mct=1; no SOP/EPH markers or partial-stream option in these bindings), as is and in "
             f"{TILE}-pixel tiles decoded with Pillow's truncated-image loading, and HTJ2K (OpenJPH via "
             f"imagecodecs) with resilient decoding. Anchor drops are over the decodes that worked.", "",
             "| damaged packets | damage | maskcodec failed | maskcodec mean / max drop | kept pixels recovered | "
             + " | ".join(f"{n} failed | {n} mean drop" for n in names) + " |",
             "|---|---|---|---|---|" + "---|---|" * len(names)]
    for r in result["rows"]:
        lines.append(f"| {r['rate']:.0%} | {r['kind']} | {r['maskcodec_failures']}/{r['decodes']} | "
                     f"{_fmt(r['maskcodec_mean_drop_db'])} / {_fmt(r['maskcodec_max_drop_db'])} | "
                     f"{_fmt(None if r['maskcodec_recovered'] is None else 100 * r['maskcodec_recovered'])}% | "
                     + " | ".join(f"{r[f'{a}_failures']}/{r['decodes']} | {_fmt(r[f'{a}_mean_drop_db'])}"
                                  for a in LOSSY_LINK_ANCHORS) + " |")
    c = result["segment_costs"]
    lines += ["", f"What segmenting costs: the segmented stream (format 4.0, {result['packet_bytes']}-byte segments) is "
              f"{100 * c['overhead_vs_ranked']:+.1f}% over the default single container (ranked) and "
              f"{100 * c['overhead_vs_scan']:+.1f}% over the scan-coded one (mean over frames). Encode times on "
              f"mosaics of the frames (each timed once):", "",
              "| side | megapixels | ranked container | scan container | segmented | segmented / ranked time | "
              "segmented / scan bytes |", "|---|---|---|---|---|---|---|"]
    for r in c["scaling"]:
        seg, pred, scan = r["segmented"], r["ranked"], r["scan"]
        lines.append(f"| {r['side']} | {r['megapixels']:.2f} | {pred['seconds']:.3f} s | {scan['seconds']:.3f} s | "
                     f"{seg['seconds']:.3f} s | {seg['seconds'] / pred['seconds']:.2f} | "
                     f"{seg['bytes'] / scan['bytes']:.2f} |")
    m = c["stream_memory"]
    lines += ["", f"StreamEncoder on the {m['side']} x {m['side']} mosaic fed {m['rows_per_write']} rows at a time: peak "
              f"traced memory {m['peak_bytes'] / 2**20:.2f} MiB, {100 * m['peak_fraction']:.2f}% of the frame's "
              f"{m['frame_bytes'] / 2**20:.1f} MiB; bytes {'identical to' if m['identical_to_encode'] else 'DIFFERENT from'} "
              f"encode(..., segment_size={result['packet_bytes']})."]
    return "\n".join(lines) + "\n"


def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the ``bench-loss`` arguments to ``p``."""
    from ..options import argument
    from ..options import parse_keep
    p.description = ("Code each image at --keep as 1 KiB segments and as JPEG2000 of the same size, damage 1-40% "
                     "of the packets (deleted, zero-filled, bit-flipped) and compare each decode with the "
                     "undamaged one."
                     " Example: maskcodec bench-loss ../shared/data/mars_rgb/val --trials 2 --packet 1024")
    p.add_argument("inputs", nargs="+", help="images or folders of images")
    p.add_argument("-o", "--output", default="bench-out", help="folder for loss.json and loss.md (default bench-out)")
    p.add_argument("--keep", type=argument(parse_keep), default=0.1, help="fraction of pixels kept (default 0.1)")
    p.add_argument("--packet", type=_packet, default=1024,
                   help=f"packet and segment size in bytes, {MIN_SEGMENT} to {MAX_SEGMENT} (default 1024)")
    p.add_argument("--trials", type=int, default=3,
                   help="random damage draws per image and cell (default 3; 0: only what segmenting costs)")
    p.add_argument("--inpainter", default="nconv", help="inpainter for the salvage decodes (default nconv)")
    p.add_argument("--sides", type=_sides, default=SIDES, metavar="N,N,...",
                   help=f"side lengths of the square mosaics the encoders are timed on (default "
                        f"{','.join(map(str, SIDES))}: 0.25 to 16 megapixels)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def _packet(text: str) -> int:
    """``--packet``: a segment size a stream can have."""
    if not text.isdigit() or not MIN_SEGMENT <= int(text) <= MAX_SEGMENT:
        raise argparse.ArgumentTypeError(f"--packet must be a whole number of bytes from {MIN_SEGMENT} to "
                                         f"{MAX_SEGMENT}, got {text!r}")
    return int(text)


def _sides(text: str) -> tuple[int, ...]:
    try:
        sides = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"--sides must be side lengths separated by commas, got {text!r}") from None
    if any(not 16 <= n <= 16384 for n in sides):
        raise argparse.ArgumentTypeError(f"--sides must be from 16 to 16384 pixels, got {text!r}")
    return sides


def run_cli(args: argparse.Namespace) -> int:
    """Run ``maskcodec bench-loss`` from parsed arguments."""
    from ..io.images import find_images
    if args.trials < 0:
        raise InvalidInputError(f"--trials must be 0 or more, got {args.trials}")
    result = run_loss_bench(find_images(args.inputs), Path(args.output), keep=args.keep, packet=args.packet,
                            trials=args.trials, inpainter=args.inpainter, sides=args.sides,
                            progress=not args.quiet)
    print((Path(args.output) / "loss.md").read_text())
    print(f"results in {args.output}/loss.json and loss.md ({len(result['images'])} images)")
    return 0
