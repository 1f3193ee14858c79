"""``maskcodec bench``: maskcodec against JPEG2000 and JPEG on real images, at equal bytes.

One run codes the same images with every codec in :data:`CODECS`:

- ``maskcodec/<inpainter>``: mask mode at each keep, decoded by every
  available inpainter (the classical ones and every installed model of
  ``models/manifest.json`` whose channel count fits the image);
- ``latent``: latent mode with every installed latent model that fits the
  image; the ``latent-q<n>`` models form one curve (parameter ``quality``),
  any other latent model is a point of its own (``latent/<id>``);
- ``jpeg2000@maskcodec``: JPEG2000 (OpenJPEG, irreversible 9/7, ``mct=1``)
  at the byte size of each maskcodec file, no larger;
- ``jpeg2000``: JPEG2000 at a sweep of rates (its own curve);
- ``jpeg``: baseline JPEG at a sweep of qualities.

Each codec is a small runner that yields :class:`Encoding` entries (how to
make a file, how to time its encoder, which decoders read it); the harness
measures them all the same way, so a new codec is one more row in
:data:`CODECS`.

Measurements per image and point: bytes, bits per pixel, PSNR, SSIM, mean
absolute difference, difference variance (quality from one run), encode and
decode time per megapixel (median of up to ``repeats`` runs, the first being
the quality run, after every code path was warmed up on a small crop) and,
on the first image, the peak of the Python-side allocations
(``tracemalloc``, in separate untimed runs) during encode and decode.
Summaries give mean and standard deviation per point and the Bjøntegaard
deltas (BD-rate, BD-PSNR) of every curve against JPEG2000.
Separately, the maskcodec encoder and OpenJPEG's lossy encoder are timed
interleaved on every image, and the maskcodec encoder is broken down into its
stages.

Outputs, in ``out_dir``: ``bench.json``, ``bench.md``, ``psnr_bpp.png``,
``ssim_bpp.png`` and ``examples.png``.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
import tracemalloc
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from ..codec import decode, encode
from ..errors import InvalidInputError
from ..io.images import find_images, read_image
from ..inpainting import CLASSICAL_NAMES
from ..masks import DEFAULT_KIND, check_kind
from ..masks import KIND_IDS
from ..metrics import bits_per_pixel, diff_variance, mad, psnr, ssim
from ..optional import require
from ..options import QUALITY_ID, check_keep, parse_keeps

__all__ = ["run_bench", "run_timed", "bd_rate", "bd_psnr", "configure_parser", "run_cli", "CODECS", "Codec", "Encoding"]

DEFAULT_KEEPS = (0.5, 0.25, 0.1, 0.05, 0.02, 0.01)
DEFAULT_OUT = "bench-out"
SEED = 2025
J2K_BPP = (0.01, 0.02, 0.05, 0.12, 0.3, 0.75, 1.8, 4.0)  # the JPEG2000 curve's target rates (low ones: latent mode)
JPEG_QUALITIES = (5, 15, 35, 60, 85)
REFERENCE = "jpeg2000"                           # the codec family BD deltas are taken against
RACE_KEEP = 0.1                                  # keep of the interleaved encoder comparison
ENCODER_ROUNDS_PER_REPEAT = 5                    # encoder race and stages are cheap: more rounds
EXAMPLE_KEEPS = 3
EXAMPLE_CROP = 160
MEMORY_NOTE = ("peak memory (encode_peak_mib, decode_peak_mib) is the tracemalloc peak of Python-side "
               "allocations (numpy arrays, bytes) during one untimed encode or decode, measured on the first "
               "image only; native allocations inside OpenJPEG, OpenJPH, libjxl, libjpeg, zstd and onnxruntime are "
               "not seen, "
               "so it under-counts the reference codecs and the models")
TIMING_NOTE = ("Encode/decode times: median of up to `repeats` runs of each operation, the first of them the "
               "run that gives the quality numbers, fewer once `timing_budget_s` is spent on it; every code "
               "path was first warmed up on a 64x64 crop. The encoder comparison interleaves maskcodec, "
               "OpenJPEG and HTJ2K encodes on each image")


# --------------------------------------------------------------------------- codec registry

@dataclass
class Encoding:
    """One coded file of one image and the decoders that read it back.

    Attributes
    ----------
    codec : str
        Codec family (``"maskcodec"``, ``"jpeg2000"``, ...).
    param : str
        Name of the operating-point parameter (``"keep"``, ``"bpp"``, ``"quality"``).
    value : float
        Its value; points of the same curve and value are averaged over images.
    encode : callable
        ``encode() -> bytes`` produces the file.
    timed : bool
        Whether ``encode`` is one plain encode worth timing; False when it is
        a search (its time would say nothing about the codec's speed).
    decoders : dict
        Curve name -> ``decode(bytes) -> image``.
    """

    codec: str
    param: str
    value: float
    encode: Callable[[], bytes]
    timed: bool
    decoders: dict[str, Callable[[bytes], np.ndarray]]


@dataclass
class Context:
    """What a codec runner may use besides the image."""

    keeps: tuple[float, ...]
    seed: int
    inpainters: list[str]
    latent_models: list[str] = field(default_factory=list)  # installed latent models that fit the image
    mask: str = DEFAULT_KIND  # the mask kind of the maskcodec files
    points: list[dict] = field(default_factory=list)  # results so far on this image


@dataclass(frozen=True)
class Codec:
    """A row of the registry: a runner and the images it accepts."""

    name: str
    accepts: Callable[[np.ndarray], bool]
    run: Callable[[np.ndarray, Context], Iterator[Encoding]]


def _any_image(image: np.ndarray) -> bool:
    return True


def _pil_image(image: np.ndarray) -> bool:
    """JPEG and JPEG2000 (through Pillow) take 8-bit gray or RGB."""
    return image.dtype == np.uint8 and (image.ndim == 2 or image.shape[2] in (1, 3))


def _maskcodec(image: np.ndarray, ctx: Context) -> Iterator[Encoding]:
    for keep in ctx.keeps:
        yield Encoding("maskcodec", "keep", keep, partial(encode, image, keep, seed=ctx.seed, mask=ctx.mask), True,
                       {f"maskcodec/{name}": partial(decode, inpainter=name) for name in ctx.inpainters})


def _latent(image: np.ndarray, ctx: Context) -> Iterator[Encoding]:
    prefix = QUALITY_ID.format("")
    for model_id in ctx.latent_models:
        quality = model_id[len(prefix):]
        curve, param, value = (("latent", "quality", float(quality)) if model_id.startswith(prefix)
                               and quality.isdigit() else (f"latent/{model_id}", "model", 0.0))
        yield Encoding("latent", param, value, partial(encode, image, mode="latent", model=model_id), True,
                       {curve: decode})


def _matched(family: str, image: np.ndarray, ctx: Context) -> Iterator[Encoding]:
    """An anchor codec at the byte size of each maskcodec file of this image (the largest file not above it)."""
    from .reference_codecs import ANCHORS
    _, at_size, decoder = ANCHORS[family]
    sizes = {p["value"]: p["bytes"] for p in ctx.points if p["codec"] == "maskcodec"}
    for keep, target in sizes.items():
        yield Encoding(family, "keep", keep, partial(at_size, image, target), False,
                       {f"{family}@maskcodec": partial(decoder, like=image)})


def _jpeg2000_sweep(image: np.ndarray, ctx: Context) -> Iterator[Encoding]:
    from .reference_codecs import decode_pil, jpeg2000_encode
    raw_bpp = 8 * image.dtype.itemsize * (image.shape[2] if image.ndim == 3 else 1)
    for bpp in J2K_BPP:
        yield Encoding("jpeg2000", "bpp", bpp, partial(jpeg2000_encode, image, raw_bpp / bpp), True,
                       {"jpeg2000": partial(decode_pil, like=image)})


def _jpeg(image: np.ndarray, ctx: Context) -> Iterator[Encoding]:
    from .reference_codecs import decode_pil, jpeg_encode
    for quality in JPEG_QUALITIES:
        yield Encoding("jpeg", "quality", quality, partial(jpeg_encode, image, quality), True,
                       {"jpeg": partial(decode_pil, like=image)})


def _imagecodecs_image(image: np.ndarray) -> bool:
    from .reference_codecs import imagecodecs_takes
    return imagecodecs_takes(image)


#: The codecs a bench runs, in order (the ``@maskcodec`` anchors read the maskcodec sizes).
CODECS: tuple[Codec, ...] = (
    Codec("maskcodec", _any_image, _maskcodec),
    Codec("latent", _any_image, _latent),
    Codec("jpeg2000@maskcodec", _pil_image, partial(_matched, "jpeg2000")),
    Codec("htj2k@maskcodec", _imagecodecs_image, partial(_matched, "htj2k")),
    Codec("jpegxl@maskcodec", _imagecodecs_image, partial(_matched, "jpegxl")),
    Codec("jpeg2000", _pil_image, _jpeg2000_sweep),
    Codec("jpeg", _pil_image, _jpeg),
)


# --------------------------------------------------------------------------- measuring

def _traced(fn: Callable[[], object]) -> tuple[object, int]:
    """``fn()`` and the peak bytes of Python-side allocations while it ran."""
    tracemalloc.start()
    try:
        out = fn()
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    return out, peak


def run_timed(fn: Callable[[], object], repeats: int, budget_s: float) -> tuple[object, float, int]:
    """``fn()``'s result, the median seconds of up to ``repeats`` calls, and the number of calls.

    The first call's result is kept; calls stop early once ``budget_s``
    seconds are spent (there is always one).

    Examples
    --------
    >>> out, t, n = run_timed(lambda: sum(range(100)), repeats=3, budget_s=10.0)
    >>> out, n, t > 0
    (4950, 3, True)
    """
    t0 = time.perf_counter()
    out = fn()
    times = [time.perf_counter() - t0]
    while len(times) < repeats and sum(times) < budget_s:
        times.append(_seconds(fn))
    return out, statistics.median(times), len(times)


def _seconds(fn: Callable[[], object]) -> float:
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _megapixels(image: np.ndarray) -> float:
    return image.shape[0] * image.shape[1] / 1e6


def _detail_box(image: np.ndarray) -> tuple[slice, slice]:
    """The ``EXAMPLE_CROP``-sized window (on a half-window grid) where ``image`` varies most.

    Examples
    --------
    >>> img = np.zeros((400, 400), np.uint8); img[300:, 300:] = np.arange(100)
    >>> _detail_box(img)
    (slice(240, 400, None), slice(240, 400, None))
    """
    h, w = image.shape[:2]
    ch, cw = min(EXAMPLE_CROP, h), min(EXAMPLE_CROP, w)
    a = image.astype(np.float32)
    corners = [(y, x) for y in range(0, h - ch + 1, max(1, ch // 2)) for x in range(0, w - cw + 1, max(1, cw // 2))]
    y, x = max(corners, key=lambda c: float(a[c[0]:c[0] + ch, c[1]:c[1] + cw].std()))
    return slice(y, y + ch), slice(x, x + cw)


def _quality(image: np.ndarray, out: np.ndarray) -> dict:
    return dict(psnr=psnr(image, out), ssim=ssim(image, out), mad=mad(image, out),
                diff_variance=diff_variance(image, out))


def _bench_image(image: np.ndarray, ctx: Context, codecs: Iterable[Codec], repeats: int, budget_s: float,
                 memory: bool = False, examples: dict | None = None) -> list[dict]:
    """Every point of every codec on one image; fills ``ctx.points`` and returns it.

    ``memory`` adds a traced (untimed) run of every encode and decode for
    the peak memory; ``examples``, when given, collects the reconstructions
    of the keep points keyed by ``(curve, keep)``.
    """
    mp = _megapixels(image)

    def peak_mib(fn: Callable[[], object]) -> float | None:
        return _traced(fn)[1] / 2 ** 20 if memory else None

    for codec in codecs:
        if not codec.accepts(image):
            continue
        for e in codec.run(image, ctx):
            if e.timed:
                data, enc_t, enc_n = run_timed(e.encode, repeats, budget_s)
            else:
                data, enc_t, enc_n = e.encode(), None, 0
            enc_peak = peak_mib(e.encode)
            for curve, dec in e.decoders.items():
                out, dec_t, dec_n = run_timed(partial(dec, data), repeats, budget_s)
                ctx.points.append(dict(
                    curve=curve, codec=e.codec, param=e.param, value=e.value, bytes=len(data),
                    bpp=bits_per_pixel(len(data), image.shape), **_quality(image, out),
                    encode_ms_per_mp=None if enc_t is None else 1e3 * enc_t / mp, encode_runs=enc_n,
                    decode_ms_per_mp=1e3 * dec_t / mp, decode_runs=dec_n,
                    encode_peak_mib=enc_peak, decode_peak_mib=peak_mib(partial(dec, data))))
                if examples is not None and e.param == "keep":
                    examples[(curve, e.value)] = out
    return ctx.points


def _encoder_race(image: np.ndarray, seed: int, rounds: int) -> dict:
    """maskcodec ``encode`` at keep 0.1 (ranked coding, the default, and scan coding), OpenJPEG at the
    default's rate, HTJ2K (OpenJPH) at the quantization step that gives the same bytes (found first,
    untimed) and JPEG-LS (CharLS) lossless, timed interleaved.

    Each runs once as a warm-up, then they alternate ``rounds`` times; the
    medians are compared, so a load change on the machine hits all alike.
    """
    from .reference_codecs import htj2k_at_size, htj2k_encode, jpeg2000_encode
    mc = partial(encode, image, RACE_KEEP, seed=seed)
    size = len(mc())
    ratio = image.size * image.dtype.itemsize / size
    qstep, _ = htj2k_at_size(image, size)
    codecs = require("imagecodecs", "the JPEG-LS encoder of the race")
    coders = {"maskcodec": mc, "maskcodec_scan": partial(encode, image, RACE_KEEP, seed=seed, coding="scan"),
              "openjpeg": partial(jpeg2000_encode, image, ratio), "htj2k": partial(htj2k_encode, image, qstep),
              "jpegls": partial(codecs.jpegls_encode, image)}
    ms = _interleaved_ms_per_mp(coders, image, rounds)
    return {**{f"{name}_ms_per_mp": t for name, t in ms.items()},
            "openjpeg_ratio": ratio, "htj2k_qstep": qstep, "rounds": rounds}


def _interleaved_ms_per_mp(fns: dict[str, Callable[[], object]], image: np.ndarray, rounds: int) -> dict[str, float]:
    """Median ms per megapixel of each of ``fns``: one warm-up call each, then ``rounds`` rounds calling
    them in turn, so that a change of load on the machine hits all of them alike."""
    times: dict[str, list[float]] = {name: [] for name in fns}
    for fn in fns.values():
        fn()
    for _ in range(rounds):
        for name, fn in fns.items():
            times[name].append(_seconds(fn))
    return {name: 1e3 * statistics.median(t) / _megapixels(image) for name, t in times.items()}


def _encoder_stages(image: np.ndarray, seed: int, rounds: int) -> dict:
    """Median ms per megapixel of each stage of the maskcodec encoder at keep 0.1.

    The stages are the library's own functions called in the order
    :func:`maskcodec.encode` calls them (ranked coding, the default), each once per round after a
    warm-up round (interleaved, so a load change hits all stages alike). ``ranked coding`` codes with
    every candidate transform, as the encoder does (the C coder where it is built: ``maskcodec --version``).
    The scan coding's total is timed beside them.
    """
    from ..survivors import predictive, ranked
    from ..framing import container
    from ..framing.fixed import MODE_MASK
    from ..survivors.transform import candidate_transforms
    from ..masks import keep_to_threshold, keys_at, kept_indices
    threshold = keep_to_threshold(RACE_KEEP)
    bits = 8 * image.dtype.itemsize
    pixels = image.shape[0] * image.shape[1]
    flat = image.reshape(pixels, -1)
    h, w = image.shape[:2]
    kept = kept_indices(h, w, threshold, seed)
    values = np.take(flat, kept, axis=0)
    keys = keys_at(kept, w, seed)
    prior = predictive.Prior.empty(values.shape[1])
    transforms = candidate_transforms(values.shape[1])
    payload, _ = ranked.encode(kept, keys, values, prior, (h, w), bits, transforms[0], 0)
    stages = {
        "mask generation": partial(kept_indices, h, w, threshold, seed),
        "gather": partial(np.take, flat, kept, axis=0),
        "keys": partial(keys_at, kept, w, seed),
        "ranked coding": lambda: [ranked.encode(kept, keys, values, prior, (h, w), bits, t, 0) for t in transforms],
        "container": partial(container.build, shape=image.shape, dtype=image.dtype, mode=MODE_MASK, bits=bits,
                             transform=transforms[0], seed=seed, keep_threshold=threshold,
                             survivors=values.shape[0], payload=payload, payload_raw_size=values.size,
                             coding=dict(max_error=0, refines=0, previous_threshold=None, predecessor=None),
                             ranked=True),
        "encode() total": partial(encode, image, RACE_KEEP, seed=seed),
        "encode(coding='scan') total": partial(encode, image, RACE_KEEP, seed=seed, coding="scan"),
    }
    return _interleaved_ms_per_mp(stages, image, rounds)


# --------------------------------------------------------------------------- Bjøntegaard

def _bd(x_ref, y_ref, x_test, y_test) -> float | None:
    """Mean of ``y_test(x) - y_ref(x)`` over the x interval both cover, each fitted by a polynomial.

    The fit is cubic (least squares when a curve has more than 4 points),
    lower when a curve has fewer; non-finite points are dropped. ``None``
    when a curve has under 2 distinct points or the intervals do not overlap.
    """
    fits = []
    for x, y in ((x_ref, y_ref), (x_test, y_test)):
        x, y = np.asarray(x, float), np.asarray(y, float)
        ok = np.isfinite(x) & np.isfinite(y)
        x, y = x[ok], y[ok]
        if np.unique(x).size < 2:
            return None
        fits.append((x.min(), x.max(), np.polyint(np.polyfit(x, y, min(3, np.unique(x).size - 1)))))
    lo, hi = max(fits[0][0], fits[1][0]), min(fits[0][1], fits[1][1])
    if hi <= lo:
        return None
    (_, _, ref), (_, _, test) = fits
    return float(((np.polyval(test, hi) - np.polyval(test, lo)) - (np.polyval(ref, hi) - np.polyval(ref, lo)))
                 / (hi - lo))


def bd_rate(ref_rate, ref_psnr, test_rate, test_psnr) -> float | None:
    """Bjøntegaard delta rate of ``test`` against ``ref``, in percent.

    The average rate difference at equal PSNR: log-rate is fitted as a cubic
    in PSNR for each curve and integrated over the PSNR interval both curves
    cover. Negative means ``test`` needs fewer bytes. ``None`` without overlap.

    Examples
    --------
    >>> rate, q = [0.25, 0.5, 1.0, 2.0], [30.0, 33.0, 36.5, 40.0]
    >>> round(bd_rate(rate, q, [r / 2 for r in rate], q), 6)
    -50.0
    """
    d = _bd(ref_psnr, np.log(ref_rate), test_psnr, np.log(test_rate))
    return None if d is None else 100.0 * (math.exp(d) - 1.0)


def bd_psnr(ref_rate, ref_psnr, test_rate, test_psnr) -> float | None:
    """Bjøntegaard delta PSNR of ``test`` against ``ref``, in dB.

    The average PSNR difference at equal rate: PSNR is fitted as a cubic in
    log-rate and integrated over the log-rate interval both curves cover.
    ``None`` without overlap.

    Examples
    --------
    >>> rate, q = [0.25, 0.5, 1.0, 2.0], [30.0, 33.0, 36.5, 40.0]
    >>> round(bd_psnr(rate, q, rate, [v + 1 for v in q]), 6)
    1.0
    """
    return _bd(np.log(ref_rate), ref_psnr, np.log(test_rate), test_psnr)


# --------------------------------------------------------------------------- summaries

def mean_std(values: list) -> tuple[float | None, float | None]:
    v = [x for x in values if x is not None and math.isfinite(x)]
    if not v:
        return None, None
    return float(np.mean(v)), float(np.std(v))


def _summarize(images: list[dict]) -> list[dict]:
    """Mean and spread over images of every ``(curve, value)`` point."""
    groups: dict[tuple, list[dict]] = {}
    for im in images:
        for p in im["points"]:
            groups.setdefault((p["curve"], p["param"], p["value"]), []).append(p)
    keys = ("bytes", "bpp", "psnr", "ssim", "mad", "diff_variance", "encode_ms_per_mp", "decode_ms_per_mp",
            "encode_peak_mib", "decode_peak_mib")
    rows = []
    for (curve, param, value), pts in groups.items():
        row = dict(curve=curve, param=param, value=value, images=len(pts),
                   psnr_infinite=sum(1 for p in pts if p["psnr"] == math.inf))
        for k in keys:
            row[f"{k}_mean"], row[f"{k}_std"] = mean_std([p[k] for p in pts])
        rows.append(row)
    order = {c: i for i, c in enumerate(dict.fromkeys(r["curve"] for r in rows))}  # codec registry order
    return sorted(rows, key=lambda r: (order[r["curve"]], -r["value"]))


def _bd_table(images: list[dict]) -> list[dict]:
    """BD-rate and BD-PSNR of each curve against the JPEG2000 points (sweep and size-matched), per image."""
    curves = sorted({p["curve"] for im in images for p in im["points"] if p["codec"] != REFERENCE})
    rows = []
    for curve in curves:
        rates, psnrs = [], []
        for im in images:
            ref = [p for p in im["points"] if p["codec"] == REFERENCE]
            test = [p for p in im["points"] if p["curve"] == curve]
            if not ref or not test:
                continue
            args = ([p["bpp"] for p in ref], [p["psnr"] for p in ref],
                    [p["bpp"] for p in test], [p["psnr"] for p in test])
            rates.append(bd_rate(*args))
            psnrs.append(bd_psnr(*args))
        rate_mean, rate_std = mean_std(rates)
        psnr_mean, psnr_std = mean_std(psnrs)
        rows.append(dict(curve=curve, reference=REFERENCE, bd_rate_percent_mean=rate_mean,
                         bd_rate_percent_std=rate_std, bd_rate_images=sum(r is not None for r in rates),
                         bd_psnr_db_mean=psnr_mean, bd_psnr_db_std=psnr_std,
                         bd_psnr_images=sum(r is not None for r in psnrs), images=len(rates)))
    return rows


def _timing_summary(images: list[dict]) -> dict:
    races = [im["encoder_race"] for im in images if im.get("encoder_race")]
    if not races:
        return dict(statement="no image could be coded by OpenJPEG; no encoder comparison")
    mps = [im["megapixels"] for im in images if im.get("encoder_race")]
    mc, scan, j2k, ht, jls = (sum(r[f"{name}_ms_per_mp"] * w for r, w in zip(races, mps)) / sum(mps)
                              for name in ("maskcodec", "maskcodec_scan", "openjpeg", "htj2k", "jpegls"))
    ratio, ht_ratio, scan_ratio, scan_ht_ratio = j2k / mc, ht / mc, j2k / scan, ht / scan
    per_image = [r["openjpeg_ms_per_mp"] / r["maskcodec_ms_per_mp"] for r in races]
    ht_per_image = [r["htj2k_ms_per_mp"] / r["maskcodec_ms_per_mp"] for r in races]
    names = dict.fromkeys(k for im in images for k in im["encoder_stages"])
    stages = {k: float(np.mean([im["encoder_stages"].get(k, 0.0) for im in images])) for k in names}
    def word(r: float) -> str:
        return f"{r:.1f} x faster" if r >= 1 else f"{1 / r:.1f} x slower"

    return dict(
        keep=RACE_KEEP, maskcodec_encode_ms_per_mp=mc, openjpeg_encode_ms_per_mp=j2k, speed_ratio=ratio,
        speed_ratio_per_image_median=float(np.median(per_image)),
        speed_ratio_per_image_min=float(np.min(per_image)), speed_ratio_per_image_max=float(np.max(per_image)),
        htj2k_encode_ms_per_mp=ht, htj2k_speed_ratio=ht_ratio,
        htj2k_speed_ratio_per_image_median=float(np.median(ht_per_image)),
        htj2k_speed_ratio_per_image_min=float(np.min(ht_per_image)),
        htj2k_speed_ratio_per_image_max=float(np.max(ht_per_image)),
        jpegls_lossless_encode_ms_per_mp=jls, jpegls_speed_ratio=jls / mc,
        scan_encode_ms_per_mp=scan, scan_speed_ratio=scan_ratio, scan_htj2k_speed_ratio=scan_ht_ratio,
        statement=f"maskcodec encode (ranked coding, the default) is {word(ratio)} per megapixel than OpenJPEG "
                  f"and {word(ht_ratio)} than HTJ2K (OpenJPH); with scan coding {word(scan_ratio)} than OpenJPEG "
                  f"and {word(scan_ht_ratio)} than HTJ2K (keep {RACE_KEEP}; OpenJPEG at the default file's "
                  f"compression ratio, HTJ2K at the quantization step that gives its bytes; interleaved, medians); "
                  f"{word(jls / mc)} than lossless JPEG-LS (CharLS)",
        goal_20x_met=ratio >= 20, encoder_stages_ms_per_mp=stages)


# --------------------------------------------------------------------------- inputs and environment

def _installed_models(latent: bool = False) -> dict[str, int]:
    """Model id -> channel count, for the inpainting (or, with ``latent``, the latent) models
    of the manifest whose files are there (denoisers are neither)."""
    from ..runtime.manifest import InpainterEntry, LatentEntry, load
    manifest = load()

    def files(e) -> list:
        return [e.encoder, e.decoder] if latent else [e.onnx]

    entries = manifest.of_kind(LatentEntry if latent else InpainterEntry).values()
    return {e.id: e.channels for e in entries if all(manifest.path(f).exists() for f in files(e))}


def _default_models() -> set[str]:
    """The models ``auto`` picks for some image kind (their entry's ``default_for``)."""
    from ..runtime.manifest import InpainterEntry, load
    return {e.id for e in load().of_kind(InpainterEntry).values() if e.default_for}


def _check_inpainters(inpainters: Iterable[str] | None, models: dict[str, int]) -> list[str]:
    names = list(CLASSICAL_NAMES) + sorted(models)
    if inpainters is None:  # what a user decodes with: the classical ones and the models auto picks
        return list(CLASSICAL_NAMES) + sorted(set(models) & _default_models())
    chosen = list(inpainters)
    unknown = [n for n in chosen if n not in names]
    if unknown or not chosen:
        raise InvalidInputError(f"unknown inpainters {unknown}; available: {names}" if unknown else
                                f"no inpainter given; available: {names}")
    return chosen


def _check_keeps(keeps: Iterable[float]) -> tuple[float, ...]:
    keeps = tuple(check_keep(k) for k in keeps)
    if not keeps:
        raise InvalidInputError("no keep fraction given; expected values in (0, 1] like 0.5,0.1,0.01")
    return keeps


def _versions() -> dict:
    from importlib.metadata import PackageNotFoundError, version

    from PIL import features

    from .. import __version__

    def pkg(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    cpu = platform.processor() or None
    if Path("/proc/cpuinfo").exists():
        cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")), cpu)
    return dict(maskcodec=__version__, numpy=np.__version__, onnxruntime=pkg("onnxruntime"),
                Pillow=pkg("Pillow"), OpenJPEG=features.version("jpg_2000"), zstandard=pkg("zstandard"),
                scipy=pkg("scipy"), python=platform.python_version(), platform=platform.platform(), cpu=cpu,
                cpu_count=os.cpu_count(),
                thread_env={k: os.environ.get(k) for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS",
                                                           "MKL_NUM_THREADS")})


def _json_ready(obj):
    """``obj`` with non-finite floats as ``None`` (JSON has no Infinity) and numpy scalars as Python ones."""
    if isinstance(obj, dict):
        return {str(k): _json_ready(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_json_ready(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


# --------------------------------------------------------------------------- reports

def _fmt(x, spec: str = ".2f", none: str = "-") -> str:
    return none if x is None else format(x, spec)


def _write_markdown(path: Path, result: dict) -> None:
    s = result["settings"]
    lines = [
        "# maskcodec bench", "",
        f"{len(result['images'])} images, keeps {', '.join(f'{k:g}' for k in s['keeps'])}, {s['mask']} mask, "
        f"seed {s['seed']}, inpainters "
        f"{', '.join(dict.fromkeys(n for im in result['images'] for n in im['inpainters']))}; "
        f"runtime {result['runtime_s']:.0f} s (CPU time "
        f"{result['cpu_s']:.0f} s) on {result['versions']['cpu']} "
        f"({result['versions']['cpu_count']} CPUs, load average {s['load_average_start']} at start). "
        f"{result['notes']['timing']}.", "",
        "## Quality per byte", "",
        "| codec | point | bpp | PSNR (dB) | SSIM | MAD | encode ms/MP | decode ms/MP | images |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["summary"]:
        psnr_txt = ("lossless" if r["psnr_infinite"] == r["images"] else
                    f"{_fmt(r['psnr_mean'])} ± {_fmt(r['psnr_std'])}")
        lines.append(f"| {r['curve']} | {r['param']} {r['value']:g} | {_fmt(r['bpp_mean'], '.3f')} | {psnr_txt} | "
                     f"{_fmt(r['ssim_mean'], '.4f')} | {_fmt(r['mad_mean'], '.4f')} | "
                     f"{_fmt(r['encode_ms_per_mp_mean'], '.1f')} | {_fmt(r['decode_ms_per_mp_mean'], '.1f')} | "
                     f"{r['images']} |")
    lines += ["", "`jpeg2000@maskcodec`, `htj2k@maskcodec` and `jpegxl@maskcodec` are JPEG2000 (OpenJPEG, mct=1), "
              "HTJ2K (OpenJPH) and JPEG-XL (libjxl, effort 7) at the byte size of the maskcodec file of the same "
              "keep (the largest file found not above it); their encode times are not given because producing "
              "them is a size search (see the `jpeg2000` sweep and the encoder comparison for encode speeds).", "",
              f"Memory: {MEMORY_NOTE}. Per-point values are in bench.json.", "",
              "## Bjøntegaard deltas against JPEG2000", "",
              "Per image, then averaged over the images where the curves overlap (cubic fit in log-rate; "
              "JPEG2000 curve = rate sweep plus size-matched points). Negative BD-rate: fewer bytes than "
              "JPEG2000 for the same PSNR.", "",
              "| codec | BD-rate (%) | BD-PSNR (dB) | images with overlap (rate / PSNR) |",
              "|---|---:|---:|---:|"]
    for r in result["bd"]:
        rate = ("no overlap" if r["bd_rate_percent_mean"] is None else
                f"{r['bd_rate_percent_mean']:+.1f} ± {_fmt(r['bd_rate_percent_std'], '.1f')}")
        db = ("no overlap" if r["bd_psnr_db_mean"] is None else
              f"{r['bd_psnr_db_mean']:+.2f} ± {_fmt(r['bd_psnr_db_std'])}")
        lines.append(f"| {r['curve']} | {rate} | {db} | {r['bd_rate_images']} / {r['bd_psnr_images']} of "
                     f"{r['images']} |")
    t = result["timing"]
    lines += ["", "## Encoder speed", "", f"**{t['statement']}.**", ""]
    if "speed_ratio" in t:
        lines += [f"maskcodec `encode()` {t['maskcodec_encode_ms_per_mp']:.1f} ms/MP, OpenJPEG lossy encode "
                  f"{t['openjpeg_encode_ms_per_mp']:.1f} ms/MP (megapixel-weighted over images); per-image "
                  f"ratio median {t['speed_ratio_per_image_median']:.2f} (range "
                  f"{t['speed_ratio_per_image_min']:.2f} to {t['speed_ratio_per_image_max']:.2f}). "
                  f"HTJ2K (OpenJPH through imagecodecs) {t['htj2k_encode_ms_per_mp']:.1f} ms/MP: maskcodec is "
                  f"{t['htj2k_speed_ratio']:.2f} x faster (per-image median "
                  f"{t['htj2k_speed_ratio_per_image_median']:.2f}, range {t['htj2k_speed_ratio_per_image_min']:.2f} "
                  f"to {t['htj2k_speed_ratio_per_image_max']:.2f}). "
                  f"Goal of 20 x over OpenJPEG: {'met' if t['goal_20x_met'] else 'not met'}. The machine was shared "
                  f"with other work (load average {s['load_average_start']} at start, "
                  f"{s['load_average_end']} at end); interleaving keeps the ratio fair, not the absolute times.",
                  f"Scan coding (`coding=\"scan\"`): {t['scan_encode_ms_per_mp']:.1f} ms/MP. JPEG-LS lossless "
                  f"(CharLS): {t.get('jpegls_lossless_encode_ms_per_mp', float('nan')):.1f} ms/MP.",
                  "", "Where maskcodec's encode time goes (keep 0.1, each stage's library function timed alone, "
                  "mean over images; `container` is `format.container.build` framing the payload):",
                  "", "| stage | ms/MP | share of encode() |", "|---|---:|---:|"]
        total = t["encoder_stages_ms_per_mp"]["encode() total"]
        for name, ms in t["encoder_stages_ms_per_mp"].items():
            lines.append(f"| {name} | {ms:.2f} | {100 * ms / total:.0f}% |")
    path.write_text("\n".join(lines) + "\n")


def _plot_curves(result: dict, out_dir: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    curves: dict[str, list[dict]] = {}
    for r in result["summary"]:
        curves.setdefault(r["curve"], []).append(r)
    for metric, label, name in (("psnr", "PSNR (dB)", "psnr_bpp.png"), ("ssim", "SSIM", "ssim_bpp.png")):
        fig, ax = plt.subplots(figsize=(9, 5))
        colours = plt.get_cmap("tab20")
        for n, (curve, rows) in enumerate(sorted(curves.items())):
            pts = sorted((r["bpp_mean"], r[f"{metric}_mean"]) for r in rows if r[f"{metric}_mean"] is not None)
            if pts:
                style = "o:" if curve.endswith("@maskcodec") else ("s--" if not curve.startswith(("maskcodec",
                                                                                                   "latent")) else "o-")
                ax.plot(*zip(*pts), style, label=curve, ms=4, color=colours(n % 20))
        ax.set_xscale("log")
        ax.set_xlabel("bits per pixel (mean over images)")
        ax.set_ylabel(f"{label} (mean over images)")
        ax.set_title(f"{label} per byte, {len(result['images'])} images")
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the data, not over it
        fig.tight_layout()
        fig.savefig(out_dir / name, dpi=110)
        plt.close(fig)


def _display(image: np.ndarray) -> np.ndarray:
    a = image.astype(np.float64) / np.iinfo(image.dtype).max
    if a.ndim == 3 and a.shape[2] != 3:
        a = a[..., 0]
    return a


def _plot_examples(result: dict, recons: dict, original: np.ndarray, out_path: Path) -> None:
    """Original, best maskcodec and JPEG2000 at the same bytes, for a few keeps, as one grid of crops."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    first = result["images"][0]["points"]
    box = _detail_box(original)
    keeps = sorted({k for (_, k) in recons}, reverse=True)
    best = {}
    for k in keeps:
        rows = [r for r in result["summary"] if r["param"] == "keep" and r["value"] == k
                and r["curve"].startswith("maskcodec/")]
        best[k] = max(rows, key=lambda r: -math.inf if r["psnr_mean"] is None else r["psnr_mean"])["curve"]
    fig, axes = plt.subplots(len(keeps), 3, figsize=(9, 3.1 * len(keeps)), squeeze=False)
    for row, k in zip(axes, keeps):
        cells = [(f"original (row: keep {k:g})", original[box])]
        for curve in (best[k], "jpeg2000@maskcodec"):
            if (curve, k) in recons:
                p = next(p for p in first if p["curve"] == curve and p["value"] == k)
                cells.append((f"{curve}\n{p['bytes']} B, {_fmt(p['psnr'], '.2f', 'lossless')} dB",
                              recons[(curve, k)][box]))
        for ax, (title, img) in zip(row, cells):
            ax.imshow(_display(img), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
            ax.set_title(title, fontsize=8)
        for ax in row:
            ax.axis("off")
    fig.suptitle(f"{Path(result['images'][0]['path']).name}: crop at rows {box[0].start}-{box[0].stop}, "
                 f"columns {box[1].start}-{box[1].stop}; equal bytes per row", fontsize=9)
    fig.tight_layout()
    fig.savefig(out_path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- the harness

def _example_keeps(keeps: tuple[float, ...]) -> set[float]:
    lossy = sorted((k for k in keeps if k < 1.0), reverse=True) or list(keeps)
    idx = np.unique(np.round(np.linspace(0, len(lossy) - 1, min(EXAMPLE_KEEPS, len(lossy)))).astype(int))
    return {lossy[i] for i in idx}


def run_bench(paths, keeps=DEFAULT_KEEPS, out_dir=DEFAULT_OUT, inpainters=None, repeats: int = 3,
              progress: bool = True, seed: int = SEED, timing_budget_s: float = 0.25, mask: str = DEFAULT_KIND) -> dict:
    """Measure maskcodec against JPEG2000 and JPEG on real images, at equal bytes, and write the report.

    Parameters
    ----------
    paths : str, path or iterable of them
        Image files and folders of images (``.png``, ``.tif``, ``.npy``; not recursive).
    keeps : iterable of float
        maskcodec keep fractions, each in (0, 1].
    out_dir : str or path
        Where ``bench.json``, ``bench.md``, ``psnr_bpp.png``, ``ssim_bpp.png``
        and ``examples.png`` are written (created if needed).
    inpainters : list of str, optional
        Inpainters to decode maskcodec files with; default every classical one
        and every installed model (a model is used on the images whose channel
        count it fits). Every installed latent model that fits an image codes
        it in latent mode too.
    repeats : int
        Timed runs per encode/decode; the first is also the one whose output
        is measured for quality (every code path is warmed up on a small crop
        before any measurement).
    progress : bool
        Show a progress bar on stderr.
    seed : int
        maskcodec mask seed (one for all images and keeps: masks are nested).
    timing_budget_s : float
        Timed runs of one operation stop early once they took this long (at
        least one runs), so slow decoders do not dominate the bench's time.

    Returns
    -------
    dict
        What ``bench.json`` holds: ``versions``, ``settings``, ``images`` (per
        image and point), ``summary``, ``bd``, ``timing``, ``notes``,
        ``runtime_s`` and ``cpu_s`` (up to writing the JSON); infinite PSNR
        (lossless points) is ``None``.
    """
    from tqdm import tqdm
    require("matplotlib", "maskcodec bench's figures")  # before any work, not after it
    require("imagecodecs", "maskcodec bench's HTJ2K and JPEG-XL anchors")

    t_start, cpu_start = time.perf_counter(), time.process_time()
    load_start = _load_average()
    keeps = _check_keeps(keeps)
    if isinstance(repeats, bool) or not isinstance(repeats, int) or repeats < 1:
        raise InvalidInputError(f"repeats must be a positive integer, got {repeats!r}")
    paths = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    files = find_images(paths)
    images = [read_image(f) for f in files]
    models, latent_models = _installed_models(), _installed_models(latent=True)
    chosen = _check_inpainters(inpainters, models)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)

    def context(image: np.ndarray) -> Context:
        """The inpainters and latent models that fit the image's channel count."""
        channels = image.shape[2] if image.ndim == 3 else 1
        return Context(keeps, seed, [n for n in chosen if n not in models or models[n] == channels],
                       [n for n, c in latent_models.items() if c == channels], mask=check_kind(mask))

    # Warm-up on a small crop: imports, model sessions and first-call costs stay out of the measurements.
    crop = images[0][:64, :64]
    _bench_image(crop, context(crop), CODECS, 1, 0.0, memory=True)

    recons: dict = {}
    per_image = []
    bar = tqdm(total=len(images), unit="image", desc="bench", file=sys.stderr, disable=not progress)
    for i, (f, image) in enumerate(zip(files, images)):
        bar.set_postfix_str(f.name[-32:])
        ctx = context(image)
        points = _bench_image(image, ctx, CODECS, repeats, timing_budget_s, memory=i == 0,
                              examples=recons if i == 0 else None)
        entry = dict(path=str(f), shape=list(image.shape), dtype=str(image.dtype), megapixels=_megapixels(image),
                     inpainters=ctx.inpainters, latent_models=ctx.latent_models, points=points,
                     encoder_stages=_encoder_stages(image, seed, ENCODER_ROUNDS_PER_REPEAT * repeats),
                     encoder_race=(_encoder_race(image, seed, ENCODER_ROUNDS_PER_REPEAT * repeats)
                                   if _pil_image(image) else None))
        per_image.append(entry)
        bar.update()
    bar.close()

    result = dict(
        versions=_versions(),
        settings=dict(keeps=list(keeps), seed=seed, mask=mask, inpainters=chosen, latent_models=sorted(latent_models),
                      repeats=repeats,
                      timing_budget_s=timing_budget_s, j2k_bpp=list(J2K_BPP), jpeg_qualities=list(JPEG_QUALITIES),
                      codecs=[c.name for c in CODECS], load_average_start=load_start,
                      load_average_end=_load_average()),
        notes=dict(memory=MEMORY_NOTE,
                   timing=TIMING_NOTE,
                   jpeg2000_matched="jpeg2000@maskcodec: JPEG2000 (Pillow/OpenJPEG, irreversible, mct=1 for RGB) "
                                    "at the largest size found not above the maskcodec file of the same keep",
                   bd="Bjøntegaard deltas per image against all JPEG2000 points of that image, mean over images "
                      "where curves overlap; None where they do not"),
        images=per_image,
        summary=_summarize(per_image),
        bd=_bd_table(per_image),
        timing=_timing_summary(per_image),
    )
    result["runtime_s"] = time.perf_counter() - t_start
    result["cpu_s"] = time.process_time() - cpu_start  # all threads of this process; steadier than wall time
    result = _json_ready(result)
    (out_dir / "bench.json").write_text(json.dumps(result, indent=1, allow_nan=False))
    _write_markdown(out_dir / "bench.md", result)
    _plot_curves(result, out_dir)
    _plot_examples(result, {k: v for k, v in recons.items() if k[1] in _example_keeps(keeps)}, images[0],
                   out_dir / "examples.png")
    return result


def _load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return None


# --------------------------------------------------------------------------- command line

def configure_parser(p: argparse.ArgumentParser) -> None:
    """Add the ``bench`` arguments to ``p``.

    Examples
    --------
    >>> p = argparse.ArgumentParser(); configure_parser(p)
    >>> a = p.parse_args(["imgs/", "--keep", "0.1,0.02", "--repeats", "1"])
    >>> a.keep, a.repeats, a.output
    ((0.1, 0.02), 1, 'bench-out')
    """
    from ..options import argument
    p.description = ("Code real images with maskcodec (every inpainter), JPEG2000 at the same bytes and at a "
                     "rate sweep, and JPEG; write bench.json, bench.md and plots."
                     " Example: maskcodec bench ../shared/data/mars_rgb/val --keep 0.1 -o bench-out")
    p.add_argument("inputs", nargs="+", help="images (.png, .tif, .npy) or folders of them")
    p.add_argument("--keep", type=argument(parse_keeps), default=DEFAULT_KEEPS,
                   help=f"comma-separated keep fractions (default {','.join(map(str, DEFAULT_KEEPS))})")
    p.add_argument("-o", "--output", default=DEFAULT_OUT, help=f"output folder (default {DEFAULT_OUT})")
    p.add_argument("--inpainters", type=lambda t: [n for n in t.split(",") if n.strip()], default=None,
                   help="comma-separated inpainters (default: linear, nconv and the installed models that auto "
                        "picks, each on the images it fits; maskcodec bench-models compares every model)")
    p.add_argument("--repeats", type=int, default=3, help="timed runs per encode/decode (default 3)")
    p.add_argument("--seed", type=int, default=SEED, help=f"mask seed (default {SEED})")
    p.add_argument("--mask", choices=sorted(KIND_IDS), default=DEFAULT_KIND,
                   help=f"mask kind of the maskcodec files (default {DEFAULT_KIND})")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar")


def run_cli(args: argparse.Namespace) -> int:
    """Run ``maskcodec bench`` from parsed arguments; returns the exit status."""
    r = run_bench(args.inputs, keeps=args.keep, out_dir=args.output, inpainters=args.inpainters,
                  repeats=args.repeats, progress=not args.quiet, seed=args.seed, mask=args.mask)
    print(f"benchmarked {len(r['images'])} images in {r['runtime_s']:.0f} s; {r['timing']['statement']}")
    for row in r["bd"]:
        rate, db = row["bd_rate_percent_mean"], row["bd_psnr_db_mean"]
        print(f"  {row['curve']}: BD-rate {'no overlap' if rate is None else f'{rate:+.1f} %'}, "
              f"BD-PSNR {'no overlap' if db is None else f'{db:+.2f} dB'} against JPEG2000")
    print(f"report: {Path(args.output) / 'bench.md'} (and bench.json, psnr_bpp.png, ssim_bpp.png, examples.png)")
    return 0
