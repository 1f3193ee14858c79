"""Archive-scale decoding and encoding: many ``.mcx`` files to images and many images to ``.mcx``, in parallel.

:func:`encode_many` encodes images and mission products in local processes under one set of
options (:func:`encode_file` is one of them, as ``maskcodec encode`` runs it).

:func:`decode_many` decodes in local processes (``concurrent.futures``) or on
a dask.distributed cluster, one frame per task. Each worker process loads the
inpainting model once (the ONNX sessions are cached per process by
:mod:`maskcodec.runtime.onnx`; workers are warmed on the first input before frames
are handed out), so no frame pays for a model load. A frame that fails (a
damaged file, a missing model...) is reported in :attr:`BatchResult.failures`
and the batch goes on.

Examples
--------
>>> import tempfile, maskcodec
>>> from pathlib import Path
>>> from maskcodec.integrations.batch import decode_many
>>> tmp = Path(tempfile.mkdtemp())
>>> _ = (tmp / "navcam.mcx").write_bytes(maskcodec.encode(maskcodec.sample_image("navcam"), 0.2, seed=1))
>>> result = decode_many([tmp / "navcam.mcx"], tmp / "out", inpainter="nconv", workers=1, progress=False)
>>> result.decoded, result.failures, sorted(p.name for p in (tmp / "out").iterdir())
(1, [], ['navcam.png'])
"""
from __future__ import annotations

import multiprocessing
import os
import sys
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import closing
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InvalidInputError, MaskcodecError
from ..records import DecodeReport
from ..optional import require

__all__ = ["BatchResult", "decode_file", "decode_many", "peek_header", "encode_file", "encode_many", "label_path",
           "output_dtype"]

PEEK_BYTES = 1 << 21  # enough for any header within the default limits (metadata up to 1 MiB)


@dataclass
class BatchResult:
    """What :func:`decode_many` did.

    Attributes
    ----------
    decoded : int
        Frames decoded and written.
    failures : list of (Path, str)
        Frames that failed, in input order, with the error message.
    seconds : float
        Wall time from the first frame handed out to the last one done (the
        start-up of the worker pool or cluster is not counted).
    decoded_by : dict of str to int
        What filled the decoded frames (``"inpainter default"``,
        ``"latent model latent-q1"``, ...) and how many each.
    reports : list of (Path, str)
        Per decoded frame, in input order, its :class:`~maskcodec.DecodeReport` as text.
    """

    decoded: int
    failures: list[tuple[Path, str]] = field(default_factory=list)
    seconds: float = 0.0
    decoded_by: dict[str, int] = field(default_factory=dict)  # "inpainter default" -> frames it decoded
    reports: list[tuple[Path, str]] = field(default_factory=list)  # per decoded frame, what filled it (estimate)

    @property
    def frames_per_second(self) -> float:
        """Decoded frames per second of wall time (0 when nothing was decoded)."""
        return self.decoded / self.seconds if self.seconds > 0 else 0.0


def decode_many(inputs: list[Path], out_dir: Path, *, inpainter: str = "auto", fmt: str = "auto",
                workers: int | None = None, scheduler: str | None = None, salvage: bool = False,
                force: bool = False, progress: bool = True, estimate: bool = False,
                verbose: bool = False, stored: bool = False, label: bool = True, stretch: bool = False) -> BatchResult:
    """Decode ``.mcx`` files into ``out_dir/<stem><fmt>``, in parallel.

    Parameters
    ----------
    inputs : list of Path
        The files to decode; their stems must be distinct.
    out_dir : Path
        Folder for the images (created when missing).
    inpainter : str
        As for :func:`maskcodec.decode`.
    fmt : str
        Output type: ``"auto"`` (default: PNG where it holds the frame, else TIFF), ``".png"``,
        ``".tif"``, ``".tiff"`` or ``".npy"``.
    workers : int, optional
        Worker processes (default ``os.cpu_count()``); with no ``scheduler``,
        ``workers=1`` decodes in this process.
    scheduler : str, optional
        None: local processes (``concurrent.futures``). ``"local"``: a
        dask.distributed ``LocalCluster`` of ``workers`` single-threaded
        processes. ``"tcp://host:port"`` (any dask address): an existing dask
        scheduler, whose workers must have maskcodec installed.
    salvage : bool
        Decode damaged segmented streams as :func:`maskcodec.decode` does with
        ``strict=False``; what was lost is printed on stderr.
    force : bool
        Overwrite existing outputs (else they are refused before any decoding).
    progress : bool
        Show a progress bar on stderr.
    estimate : bool
        Estimate each frame's PSNR also for a named inpainter (``auto``
        always does; see :func:`maskcodec.decode_report`).
    verbose : bool
        Print each frame's report on stderr as it is done.
    stored : bool
        Write the stored integers, not the product's values (see :func:`decode_file`).
    label : bool
        Write each frame's product label beside its image (see :func:`decode_file`).
    stretch : bool
        As for :func:`decode_file`.

    Returns
    -------
    BatchResult

    Raises
    ------
    InvalidInputError
        No inputs, two inputs with the same stem, an unknown ``fmt``, ``out_dir``
        not a folder, outputs that exist (without ``force``) or a PNG that cannot
        hold a frame, a bad ``workers`` or ``scheduler``.
    MissingDependencyError
        dask.distributed missing for a ``scheduler`` (the ``pipeline`` extra).
        Errors of single frames are collected in ``BatchResult.failures``.
    """
    from ..io.images import IMAGE_SUFFIXES, check_output, output_suffix
    sources = [Path(p) for p in inputs]
    if not sources:
        raise InvalidInputError("no .mcx files to decode")
    fmt = output_suffix(fmt)
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int) or workers < 1):
        raise InvalidInputError(f"workers must be a positive integer or None, got {workers!r}")
    if scheduler is not None and scheduler != "local" and "://" not in str(scheduler):
        raise InvalidInputError(f"scheduler must be 'local' or a dask scheduler address like "
                                f"'tcp://host:8786', got {scheduler!r}")
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir() or not out_dir.exists() and out_dir.suffix.lower() in IMAGE_SUFFIXES:
        raise InvalidInputError(f"{out_dir}: several inputs decode into a folder; -o names that folder, not a file")
    headers = [peek_header(src) for src in sources]
    from ..inpainting import choose
    for h in headers:  # an unknown inpainter fails here, before any output
        if h is not None and h.mode == "mask":
            choose(inpainter, h)
    targets = [out_dir / (src.stem + (output_path_suffix(h, stored) if fmt == "auto" else fmt))
               for src, h in zip(sources, headers)]
    labels = [label_path(t, h) if label else None for t, h in zip(targets, headers)]
    written = targets + [p for p in labels if p is not None]
    if len(set(written)) < len(written):
        twice = sorted({t.name for t in written if written.count(t) > 1})
        raise InvalidInputError(f"several inputs would be written to the same file: {', '.join(twice)}; "
                                f"decode inputs with the same name into separate folders")
    created = [d for d in (out_dir, *out_dir.parents) if not d.exists()]  # deepest first
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        for target, h, lbl in zip(targets, headers, labels):  # every output checked before any frame is decoded
            check_output(target, *((output_dtype(h, stored), h.channels) if h else ()), force=force)
            if lbl is not None:
                check_label_output(lbl, force)
    except InvalidInputError:
        for d in created:  # refused: leave no trace of the run
            d.rmdir()
        raise
    jobs = [(str(s), str(t), inpainter, salvage, estimate, stored, label, stretch) for s, t in zip(sources, targets)]
    workers = workers or os.cpu_count() or 1
    if scheduler is not None:
        run = _on_dask(jobs, scheduler, workers)
    elif workers == 1:
        run = _in_process(_decode_file, jobs, _warm)
    else:
        run = _on_pool(_decode_file, jobs, workers, _warm_worker)
    return _collect(run, sources, progress, verbose)


def peek_header(src: str | Path):
    """The header of a file from its first bytes; for a segmented stream whose first segment is damaged, from
    its first intact segment; None when nothing parses (damage, not maskcodec, unreadable)."""
    from ..codec import inspect
    from ..framing import stream
    from ..modes.mask.stream import salvage
    from ..records import Limits
    try:
        with open(src, "rb") as f:
            head = f.read(PEEK_BYTES)
        try:
            return inspect(head)
        except MaskcodecError:
            if stream.SYNC not in head:  # not a segmented stream whose start was damaged
                return None
            return salvage(Path(src).read_bytes(), Limits())[0]
    except (MaskcodecError, OSError):
        return None


def output_dtype(header, stored: bool = False):
    """The type of the image decode writes for a file: the product's values (a quantized product's float type,
    shifted signed data's original type) unless ``stored``, else the stored samples' type."""
    from ..io.products import restored_dtype
    return header.dtype if stored else restored_dtype(header.metadata, header.dtype)


def output_path_suffix(header, stored: bool = False) -> str:
    """The output type of a frame when none is asked for (PNG where it holds the image, else TIFF)."""
    from ..io.images import default_suffix
    return default_suffix(output_dtype(header, stored), header.channels) if header is not None else ".png"


def label_path(image_path: str | Path, header) -> Path | None:
    """Where decode writes the product label a file carries: beside the image, with the label's suffix
    (``frame.decoded.lbl`` for ``frame.decoded.tif``; ``.xml`` for PDS4, ``.hdr`` for FITS headers); None for
    a file without a label."""
    from ..io.products import label_suffix
    suffix = label_suffix(header.metadata) if header is not None else None
    return Path(image_path).with_suffix(suffix) if suffix else None


def check_label_output(path: Path, force: bool = False) -> Path:
    """Refuse a label output that exists (unless ``force``), saying how to leave the label out."""
    if Path(path).exists() and not force:
        raise InvalidInputError(f"{path} exists (the label decode writes beside the image); choose another output "
                                f"(-o), overwrite it with --force, or leave the label out with --no-label")
    return Path(path)


def decode_file(src: str | Path | list, dst: str | Path, inpainter: str = "auto", salvage: bool = False,
                estimate: bool = False, stored: bool = False, label: bool = True, stretch: bool = False
                ) -> tuple[list[str], DecodeReport]:
    """Decode one ``.mcx`` file (or a chain: a list of a first file and its refinements, in order) into an
    image file; returns the salvage messages (empty when intact) and what filled it
    (:func:`maskcodec.decode_report` when ``estimate``, else :func:`maskcodec.decode`'s choice).

    A mission product's values come back (:func:`maskcodec.io.products.restore`: a quantized product as
    float, shifted signed data in their original type) unless ``stored``, which writes the stored integers.
    With ``label``, the product label the file carries is written beside the image (:func:`label_path`).

    Errors are raised (:class:`~maskcodec.errors.MaskcodecError`, ``OSError``).
    """
    from ..codec import SalvageWarning, decode_report
    from ..io.images import scale_up, write_image
    from ..io.products import label_bytes, restore
    data = [Path(s).read_bytes() for s in src] if isinstance(src, list) else Path(src).read_bytes()
    first = data[0] if isinstance(data, list) else data
    header = _header(first) or peek_header(src[0] if isinstance(src, list) else src)
    metadata = header.metadata if header is not None else {}
    text = label_bytes(metadata) if label else None  # a damaged label record is refused before decoding
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", SalvageWarning)
        image, report = decode_report(data, inpainter=inpainter, strict=not salvage, estimate=estimate)
    values = image if stored else restore(image, metadata)
    last = _header(data[-1]) if isinstance(data, list) else header  # a chain's image has its last file's bits
    bits = last.bits if values is image and last is not None else None  # written as a PNG's sBIT
    notes = []
    if stretch and bits is not None and bits < 8 * values.dtype.itemsize:  # for viewing: no longer the data
        notes.append(f"{dst}: stretched for viewing ({8 * values.dtype.itemsize}-bit range); not the data "
                     f"(decode without --stretch for the {bits}-bit values)")
        values, bits = scale_up(values, bits), None
    write_image(dst, values, bits)
    if text is not None:
        label_path(dst, header).write_bytes(text)
    return [str(w.message) for w in caught if issubclass(w.category, SalvageWarning)] + notes, report


def _header(data: bytes):
    """The header of a file's bytes, or None (damage; :func:`peek_header` looks further)."""
    from ..codec import inspect
    try:
        return inspect(data)
    except MaskcodecError:
        return None


def encode_file(src: str | Path, dst: str | Path, opts, budget=None, max_error_given: bool = False,
                quantize=None, label: bool = True) -> tuple[list[str], str]:
    """Encode one image or mission product into ``dst`` under resolved options (and a byte budget); returns
    the notices (the bits a PNG's sBIT or a product's data gave, a quantization, a label left out) and what was
    written, as ``maskcodec encode`` prints it.

    ``quantize`` (``"auto"`` or ``(scale, offset)``, ``--quantize``) stores float data as integers (see
    :func:`maskcodec.io.products.read_product`); ``label`` keeps the product's label in the metadata where it
    fits (else a notice says it was left out)."""
    from ..io.images import read_image_bits
    from ..io.products import (QUANTIZE_IGNORED, describe_quantization, is_product, needs_conversion, read_array,
                                read_product)
    notes = []
    metadata = None
    if is_product(src) or needs_conversion(src):
        read = read_product if is_product(src) else read_array
        product = read(src, quantize, opts.bits)
        notes += product.notes
        if product.bits_from == "data" and opts.bits is None:
            notes.append(f"{product.bits} significant bits, found from the data (largest stored value "
                         f"{int(product.image.max())}; the file does not state them; --bits overrides)")
        image, metadata = product.image, dict(product.metadata)
        if not label:
            metadata.pop("label", None)
        opts = opts.with_found_bits(product.bits)
    else:
        image, bits = read_image_bits(src)
        if bits is not None and opts.bits is None:
            notes.append(f"{bits} significant bits, as its sBIT chunk says (--bits overrides)")
        if quantize is not None:
            notes.append(QUANTIZE_IGNORED.format(image.dtype))
        opts = opts.with_found_bits(bits)
    data, opts = _encode_keeping_label(image, opts, metadata, budget, max_error_given, notes)
    if metadata and "quantization" in metadata:
        notes.append("quantized: " + describe_quantization(metadata["quantization"], opts.max_error or 0))
    Path(dst).write_bytes(data)
    bpp = 8 * len(data) / (image.shape[0] * image.shape[1])
    how = ("" if budget is None else f"budget {budget.describe(budget.bytes_for(image))}: ") + (
           f"keep={opts.keep:.4g}, {opts.mask} mask, seed {opts.seed}"
           + (f", max error {opts.max_error}" if opts.max_error else "") if opts.mode == "mask"
           else f"latent mode, model {opts.latent_model(image.shape[2] if image.ndim == 3 else 1)[0]}")
    return notes, f"{len(data)} bytes, {bpp:.3f} bits/pixel ({how})"


def _encode_keeping_label(image, opts, metadata: dict | None, budget, max_error_given: bool, notes: list):
    """Encode with ``metadata``; a product label that does not fit (the metadata limit, or a segment of
    ``--segment-size`` beside the description) is left out with a notice, never cut."""
    from ..budgets import encode_within
    from ..codec import encode_with
    from ..framing.fixed import encode_metadata
    from ..records import Limits

    def run(opts):
        return (encode_with(image, opts), opts) if budget is None else \
            encode_within(image, opts, budget, max_error_given, encode_with)
    if metadata is None:
        return run(opts)
    record = metadata.get("label")
    if record is not None:
        limit = Limits().max_metadata
        if len(encode_metadata(metadata)) > limit:
            notes.append(_label_left_out(record, f"over the metadata limit of {limit} bytes"))
            metadata = {k: v for k, v in metadata.items() if k != "label"}
            record = None
    try:
        return run(opts.with_metadata(metadata))
    except InvalidInputError:
        if record is None or opts.segment_size is None:
            raise
    without = {k: v for k, v in metadata.items() if k != "label"}
    result = run(opts.with_metadata(without))  # the same error again, when the label was not the cause
    notes.append(_label_left_out(record, f"too large for a segment of --segment-size {opts.segment_size} beside the "
                                         f"description (each segment that repeats the description carries it)"))
    return result


def _label_left_out(record: dict, why: str) -> str:
    return (f"its {record.get('format', '')} label ({record.get('bytes', '?')} bytes, {len(record.get('data', ''))} "
            f"as stored) is {why}: left out, so decode cannot write it back (the other metadata are kept)")


def encode_many(sources: list[Path], out_dir: Path | None, opts, budget=None, max_error_given: bool = False, *,
                workers: int | None = None, force: bool = False, progress: bool = True, quantize=None,
                label: bool = True) -> BatchResult:
    """Encode images (or mission products) into ``out_dir/<stem>.mcx`` (beside each input when ``out_dir`` is
    None), in parallel local processes, under one set of resolved options. Every output is checked before the
    first encode; a frame that fails is reported in :attr:`BatchResult.failures` and the batch goes on."""
    from ..io.images import check_writable
    sources = [Path(p) for p in sources]
    targets = [(Path(out_dir) if out_dir is not None else src.parent) / (src.stem + ".mcx") for src in sources]
    if len(set(targets)) < len(targets):
        twice = sorted({t.name for t in targets if targets.count(t) > 1})
        raise InvalidInputError(f"several inputs would be written to the same file: {', '.join(twice)}; "
                                f"encode inputs with the same name into separate folders")
    created = [d for d in (Path(out_dir), *Path(out_dir).parents) if not d.exists()] if out_dir is not None else []
    if out_dir is not None:
        Path(out_dir).mkdir(parents=True, exist_ok=True)
    try:
        for target in targets:
            check_writable(target, force)
    except InvalidInputError:
        for d in created:
            d.rmdir()
        raise
    from ..io.products import QUANTIZE_IGNORED
    jobs = [(str(s), str(t), opts, budget, max_error_given, quantize, label) for s, t in zip(sources, targets)]
    workers = min(workers or os.cpu_count() or 1, len(jobs))
    run = _in_process(_encode_job, jobs) if workers == 1 else _on_pool(_encode_job, jobs, workers)
    next(run)  # started
    errors, done, start = {}, {}, time.perf_counter()
    from tqdm import tqdm
    with closing(run), tqdm(total=len(jobs), desc="encoding", unit="frame", file=sys.stderr,
                            disable=not progress) as bar:
        for src, error, said, line in run:
            (errors if error else done)[src] = error or line
            for note in said:
                if quantize is None or not note.startswith(QUANTIZE_IGNORED.split("{")[0]):  # not for each integer file
                    tqdm.write(f"maskcodec: {src}: {note}", file=sys.stderr)
            bar.update()
    return BatchResult(decoded=len(done), failures=[(p, errors[str(p)]) for p in sources if str(p) in errors],
                       seconds=time.perf_counter() - start,
                       reports=[(p, done[str(p)]) for p in sources if str(p) in done])


def _encode_job(src: str, dst: str, opts, budget, max_error_given: bool, quantize=None, label: bool = True
                ) -> tuple[str, str | None, list[str], str]:
    """Encode one file; returns (src, error message or None, notices, what was written). Runs in a worker."""
    try:
        return src, None, *encode_file(src, dst, opts, budget, max_error_given, quantize, label)
    except (MaskcodecError, OSError) as e:
        return src, _failure(e), [], ""


def _decode_file(src: str, dst: str, inpainter: str, salvage: bool, estimate: bool, stored: bool = False,
                 label: bool = True, stretch: bool = False) -> tuple[str, str | None, list[str], DecodeReport | None]:
    """Decode one file; returns (src, error message or None, salvage messages, report). Runs in a worker."""
    try:
        return src, None, *decode_file(src, dst, inpainter, salvage, estimate, stored, label, stretch)
    except (MaskcodecError, OSError) as e:
        return src, _failure(e), [], None


def _failure(e: Exception) -> str:
    """What a batch says of a frame that failed: maskcodec's message, or for a file system error the file and
    what went wrong (no Python exception text)."""
    if isinstance(e, MaskcodecError):
        return str(e)
    return f"{e.filename or 'a file'}: {(e.strerror or 'cannot be read or written').lower()}"


def _warm(src: str, inpainter: str) -> None:
    """Load the inpainters that ``src`` may need, once per worker process (a model session is cached)."""
    from .. import inpainting as inpaint
    from ..codec import inspect
    try:
        inpaint.candidates(inpainter, inspect(Path(src).read_bytes()))
    except (MaskcodecError, OSError):
        pass  # the frame's own task reports it


def _warm_worker(src: str, inpainter: str) -> None:
    """:func:`_warm` for a worker process: one onnxruntime thread, the workers share the cores."""
    from ..runtime.onnx import THREADS_ENV
    os.environ.setdefault(THREADS_ENV, "1")
    _warm(src, inpainter)


def _in_process(task, jobs, warm=None):
    """Yield once ready (``warm(source, inpainter)`` run on the first job: the inpainter loaded), then each job's
    ``task`` result."""
    if warm is not None:
        warm(jobs[0][0], jobs[0][2])
    yield
    for job in jobs:
        yield task(*job)


def _on_pool(task, jobs, workers: int, warm=None):
    """Yield once every worker process is started (and warmed by ``warm`` as :func:`_in_process` says), then
    each job's ``task`` result as it completes."""
    workers = min(workers, len(jobs))
    # spawn: a forked child would inherit the parent's onnxruntime threads and sessions, which can hang it
    with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=warm, initargs=(jobs[0][0], jobs[0][2]) if warm else ()) as pool:
        list(pool.map(abs, range(workers)))  # start the workers before the clock starts
        yield
        for future in as_completed([pool.submit(task, *job) for job in jobs]):
            yield future.result()


def _on_dask(jobs, scheduler: str, workers: int):
    """Yield once connected and every dask worker is warmed, then each frame's result."""
    distributed = require("dask.distributed", "decoding on a dask scheduler (--scheduler)")
    Client, LocalCluster, dask_completed = distributed.Client, distributed.LocalCluster, distributed.as_completed
    cluster = None
    try:
        if scheduler == "local":
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster or scheduler, timeout=30)
    except (OSError, TimeoutError) as e:
        if cluster is not None:
            cluster.close()
        raise InvalidInputError(f"cannot reach the dask scheduler at {scheduler}: {e}") from None
    try:
        client.run(_warm_worker, jobs[0][0], jobs[0][2])
        yield
        for future in dask_completed(client.map(_decode_file, *zip(*jobs), pure=False)):
            yield future.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _collect(run, sources: list[Path], progress: bool, verbose: bool) -> BatchResult:
    """Drive a runner: wait until it is ready, then gather the frames' results under a progress bar."""
    from tqdm import tqdm
    errors: dict[str, str] = {}
    reports: dict[str, DecodeReport] = {}
    with closing(run):
        next(run)  # workers started and warmed: the clock starts now
        start = time.perf_counter()
        with tqdm(total=len(sources), desc="decoding", unit="frame", file=sys.stderr, disable=not progress) as bar:
            for src, error, notes, report in run:
                if error is not None:
                    errors[src] = error
                else:
                    reports[src] = report
                for note in notes + ([str(report)] if verbose and report else []):
                    tqdm.write(f"maskcodec: {src}: {note}", file=sys.stderr)
                bar.update()
        seconds = time.perf_counter() - start
    failures = [(p, errors[str(p)]) for p in sources if str(p) in errors]
    done = [(p, reports[str(p)]) for p in sources if str(p) in reports]
    by = Counter(("latent model " if r.mode == "latent" else "inpainter ") + r.inpainter for _, r in done)
    return BatchResult(decoded=len(done), failures=failures, seconds=seconds, decoded_by=dict(by),
                       reports=[(p, str(r)) for p, r in done])
