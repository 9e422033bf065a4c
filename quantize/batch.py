"""Quantize many files: find them, plan one picklable job per file, run the jobs.

The jobs run in this process (one worker), on a local process pool, or on a
Dask distributed cluster; each gives a :class:`BatchRecord`, one line of the
manifest.  Nothing here prints: progress and records go up through callbacks.
"""
from __future__ import annotations

import enum
import json
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

import numpy as np

from .discover import DEFAULT_PATTERNS, Kind, find_images
from .errors import Cancelled, OutputExistsError, ParameterError, QualityTooLowError, QuantizeError
from .errors import OutputLargerError
from .files import OutputOptions, open_source, parameters, quantize_file, recorded_parameters
from .histogram import color_histogram, sum_histograms
from .imageio import atomic_write
from .palette import load_palette
from .pipeline import KMeansOptions, fit_palette
from .limits import PALETTE_FORMATS
from .outfolder import MANIFEST, ManifestLog, locked
from .progress import ProgressCallback, notify, span


class Status(str, enum.Enum):
    """What became of one file."""

    DONE = "done"
    SKIPPED = "skipped"
    FAILED = "failed"


@dataclass(frozen=True)
class Job:
    """One file to quantize; picklable, so it can go to another process or machine."""

    source: str
    output: str
    palette_file: str | None
    k: int | None
    options: KMeansOptions = field(default_factory=KMeansOptions)
    output_options: OutputOptions = field(default_factory=OutputOptions)
    palette: np.ndarray | None = field(default=None, repr=False)  # given in advance, or shared


@dataclass(frozen=True)
class BatchRecord:
    """One line of the manifest.  ``error`` is the cause of a failure, or the
    note of a skipped file (a loop; an output made with other parameters);
    ``seconds`` is set for done files; ``parameters`` are those that made the
    output (see :func:`quantize.files.parameters`), when known; ``colors``,
    ``quality`` and ``delta_e_ok`` are those of :class:`quantize.files.FileResult`.
    A skipped file keeps the numbers of the run that made its output.
    ``notes`` are the remarks on a done file (e.g. quantized in rgb for its
    alpha), written only when there are some.  ``cause`` is the error whose
    sentence ``error`` is, when there is one (its facts, for a caller to word:
    see :meth:`worded`); it is not written."""

    input: str
    output: str | None
    status: Status
    k: int
    distortion: float | None = None
    psnr_db: float | None = None
    bytes_in: int | None = None
    bytes_out: int | None = None
    error: str | None = None
    seconds: float | None = None
    parameters: dict | None = None
    colors: int | None = None
    quality: int | None = None
    delta_e_ok: float | None = None
    notes: tuple = ()
    cause: QuantizeError | None = field(default=None, repr=False, compare=False)

    def to_json(self) -> str:
        row = {**asdict(replace(self, cause=None)), "status": self.status.value}
        del row["cause"]
        if not row["notes"]:  # written only when there are some
            del row["notes"]
        return json.dumps(row)

    def worded(self, describe=None) -> "BatchRecord":
        """The record with ``error`` as ``describe(cause)`` words it (None: as it is)."""
        return self if describe is None or self.cause is None else replace(self, error=describe(self.cause))

    @classmethod
    def from_json(cls, line: str) -> "BatchRecord":
        """The record of a manifest line (ValueError, KeyError or TypeError if it is not one)."""
        row = json.loads(line)
        return cls(**{**row, "status": Status(row["status"]), "notes": tuple(row.get("notes", ()))})

    @property
    def key(self) -> str:
        """What the record is about: its output, or its input when it has none."""
        return self.output or self.input


@dataclass(frozen=True)
class Plan:
    """What a batch will do: ``jobs`` to run; ``existing``, files skipped because
    their outputs exist; ``noted``, what was skipped with a note (links back
    into a folder being walked, files that are not regular files, such as
    FIFOs); ``problems``, what failed while looking (unreadable folders,
    clashing outputs); ``matched``, how many image files were found (0:
    nothing matched)."""

    jobs: tuple[Job, ...] = ()
    existing: tuple[BatchRecord, ...] = ()
    noted: tuple[BatchRecord, ...] = ()
    problems: tuple[BatchRecord, ...] = ()
    matched: int = 0


@dataclass(frozen=True)
class BatchSummary:
    """What a batch did: counts by status, bytes of the done files, the
    manifest; ``manifest_error`` when some finished files could not be
    listed in it (see :func:`run`)."""

    done: int
    skipped: int
    failed: int
    bytes_in: int
    bytes_out: int
    seconds: float
    manifest: str
    records: tuple[BatchRecord, ...] = field(default=(), repr=False)
    manifest_error: QuantizeError | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """The counts, bytes, seconds and manifest (not the records)."""
        return {name: getattr(self, name) for name in
                ("done", "skipped", "failed", "bytes_in", "bytes_out", "seconds", "manifest")}


def plan(inputs, out_dir, k, *, patterns=DEFAULT_PATTERNS, recursive=False, palette_format="gpl",
         force=False, options: KMeansOptions | None = None, output_options: OutputOptions | None = None,
         palette=None, shared_palette: bool = False, on_progress: ProgressCallback | None = None) -> Plan:
    """Decide, for every image found, its output paths and whether to run or skip it.

    ``palette`` (given in advance) maps every file onto it; with
    ``shared_palette`` one palette of ``k`` colours is fitted to all the images
    to be done, together (see :func:`fit_shared_palette`), and every file is
    mapped onto it; either way every output holds the same palette in the
    same order.  ``on_progress`` follows the shared fit.

    The outputs of an image are ``OUT_DIR/NAME.png`` and its palette file (see
    :func:`output_paths`); two images with an output of one name are a
    problem (the first is taken).  What is not a regular file is never
    opened: in a folder it is noted, named in ``inputs`` a problem (see
    :func:`quantize.discover.find_images`).

    An image named twice (or reached twice) is taken once.  An output that
    exists (with its palette) is skipped unless ``force``; it keeps the row the
    manifest had for it, and when it was made with other parameters (as its
    manifest row or its PNG records them) the skip says so.  Raises
    :class:`OutputExistsError` when ``out_dir`` is one of the input folders.
    """
    if palette_format not in PALETTE_FORMATS:
        raise ParameterError(f"palette format must be one of {', '.join(PALETTE_FORMATS)}")
    options = options or KMeansOptions()
    output_options = output_options or OutputOptions()
    if output_options.quality is not None and (palette is not None or shared_palette):
        raise ParameterError("a quality target (quality) chooses K for each image: not with a palette "
                             "given in advance (palette) or shared (shared_palette)",
                             reason="quality-and-batch-palette", parameter="quality")
    out_dir = Path(out_dir)
    for given in inputs:
        if os.path.isdir(given) and os.path.realpath(given) == os.path.realpath(out_dir):
            raise OutputExistsError(f"{out_dir}: is an input folder; name another output folder",
                                    reason="output-is-input-folder", path=out_dir, parameter="out_dir")
    previous = read_manifest(out_dir)
    jobs, existing, noted, problems, claimed, taken, matched = [], [], [], [], {}, set(), 0
    for found in find_images(inputs, patterns, recursive, exclude=out_dir):
        if found.kind in (Kind.LOOP, Kind.SPECIAL):
            noted.append(BatchRecord(str(found.path), None, Status.SKIPPED, k, error=found.detail))
            continue
        if found.kind is Kind.PROBLEM:
            problems.append(BatchRecord(str(found.path), None, Status.FAILED, k, error=found.detail))
            continue
        matched += 1
        path = found.path
        if os.path.realpath(path) in taken:
            continue
        taken.add(os.path.realpath(path))
        output, palette_file = output_paths(out_dir / found.relative, palette_format)
        keys = [os.path.realpath(p) for p in (output, palette_file) if p is not None]
        clash = next((claimed[key] for key in keys if key in claimed), None)
        if clash is not None:
            problems.append(BatchRecord(str(path), str(output), Status.FAILED, k, error=f"same output as {clash}"))
            continue
        claimed.update(dict.fromkeys(keys, str(path)))
        if os.path.realpath(path) in keys:
            problems.append(BatchRecord(str(path), str(output), Status.FAILED, k,
                                        error="output would replace the input"))
        elif not force and output.exists() and (palette_file is None or palette_file.exists()):
            existing.append((str(path), str(output)))
        else:
            jobs.append(Job(str(path), str(output), str(palette_file) if palette_file else None, k, options,
                            output_options))
    if isinstance(palette, (str, Path)):
        palette = load_palette(palette)
    if shared_palette and palette is None and jobs:
        palette = fit_shared_palette([job.source for job in jobs], k, options, output_options,
                                     on_progress=on_progress)
    if palette is not None:
        jobs = [replace(job, palette=palette) for job in jobs]
    wanted = parameters(k, options, output_options, None if shared_palette else palette, shared=shared_palette)
    skipped = [_skipped(source, output, k, wanted, previous.get(output)) for source, output in existing]
    return Plan(tuple(jobs), tuple(skipped), tuple(noted), tuple(problems), matched)


def output_paths(target: Path, palette_format: str) -> tuple[Path, Path | None]:
    """The image and the palette file (None with "none") that a batch writes
    for an input whose mirrored path under the output folder is ``target``:
    ``NAME.png`` and ``NAME.FORMAT``, except a png swatch, ``NAME.palette.png``,
    which must not take the image's name."""
    output = target.with_suffix(".png")
    if palette_format == "none":
        return output, None
    return output, output.with_name(output.stem + (".palette.png" if palette_format == "png" else "." + palette_format))


def fit_shared_palette(sources, k: int, options: KMeansOptions, output_options: OutputOptions, *,
                       on_progress: ProgressCallback | None = None):
    """One palette of ``k`` colours for all the images ``sources``: k-means on
    the sum of their colour histograms, so that each image counts by its
    pixels, as if they were one picture.  RGBA when any image has alpha
    (the others taken as opaque); an animation counts with all its frames.
    Unreadable files are passed over here (their jobs report them).  Returns ``(m, 3) or (m, 4) uint8``, or None when no
    image could be read.  With alpha the palette is fitted in rgb, whatever
    ``options.space``."""
    histograms = []
    for index, source in enumerate(sources):
        try:
            histograms.append(_histogram(source, output_options.read))
        except QuantizeError:
            continue
        notify(on_progress, 0.5 * (index + 1) / len(sources))
    if not histograms:
        return None
    merged = sum_histograms(histograms)
    if merged.channels == 4:  # alpha is clustered in rgb only (each such file says so in its note)
        options = replace(options, space="rgb")
    return fit_palette(merged, k, options, on_progress=span(on_progress, 0.5, 1.0)).colors


def _histogram(source, read):
    """The colour histogram of the image file ``source``, read as ``read``
    says; of an animation, the sum over its frames (its job maps them all)."""
    from .animation import Animation, summed_histogram

    image = open_source(source, read)
    return summed_histogram(image) if isinstance(image, Animation) else color_histogram(image.pixels)


def _skipped(source: str, output: str, k: int, wanted: dict, before: BatchRecord | None) -> BatchRecord:
    """The record of an output that exists: the row that made it, marked skipped,
    with a note when its parameters differ from ``wanted``."""
    made_with = before.parameters if before is not None and before.parameters else recorded_parameters(output)
    record = before or BatchRecord(source, output, Status.SKIPPED, k)
    record = replace(record, input=source, status=Status.SKIPPED, error=None,
                     k=made_with["k"] if made_with else k, parameters=made_with)
    if made_with is not None and made_with != wanted:
        differ = tuple((name, made_with.get(name), wanted[name]) for name in wanted
                       if made_with.get(name) != wanted[name])
        stale = OutputExistsError(f"exists, made with {', '.join(f'{n} {old}' for n, old, _ in differ)}, not "
                                  f"{', '.join(str(new) for _, _, new in differ)}; force=True redoes it",
                                  reason="made-differently", path=output, parameter="force", value=differ)
        record = replace(record, error=str(stale), cause=stale)
    return record


def run_job(job: Job) -> BatchRecord:
    """Quantize one file; never raises: a failure is a record with its cause."""
    try:
        result = quantize_file(job.source, job.k, output=job.output, palette_path=job.palette_file,
                               options=job.options, output_options=job.output_options, colors=job.palette,
                               force=True)
    except OutputLargerError as error:
        return BatchRecord(job.source, job.output, Status.SKIPPED, job.k, error=f"{error} (larger)")
    except QualityTooLowError as error:
        return BatchRecord(job.source, job.output, Status.SKIPPED, job.k, error=f"{error} (quality)")
    except QuantizeError as error:
        return BatchRecord(job.source, job.output, Status.FAILED, job.k, error=str(error), cause=error)
    except Exception as error:  # a bug or the system: still one line, and the batch goes on
        return BatchRecord(job.source, job.output, Status.FAILED, job.k,
                           error=f"{job.source}: {type(error).__name__}: {error}")
    return BatchRecord(job.source, job.output, Status.DONE, job.k, distortion=result.distortion,
                       psnr_db=result.psnr_db, bytes_in=result.bytes_in, bytes_out=result.bytes_out,
                       seconds=result.seconds, parameters=result.parameters, colors=result.colors,
                       quality=result.quality, delta_e_ok=result.delta_e_ok, notes=tuple(result.notes))


def init_worker(parent: int) -> None:
    """The policy of a worker process, set once when it starts.

    Threads: with several workers on few cores, threads inside a worker only
    compete with the other workers: one BLAS thread (threadpoolctl), one
    OpenCV thread, one deflate thread.  Signals: Ctrl-C is left to the parent
    ``parent`` (a pid), which stops the pool.  Death: the worker dies with its
    parent, however the parent ends (``kill -9`` included), so that no worker
    goes on writing files for a batch nobody watches: on Linux the kernel
    kills it (``PR_SET_PDEATHSIG``), elsewhere a thread checks every half
    second that the parent is still there.
    """
    import signal

    from threadpoolctl import threadpool_limits

    from . import imageio, png

    threadpool_limits(limits=1)
    imageio.set_threads(1)
    png.set_threads(1)
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if not _die_with_parent():
        threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()
    if os.getppid() != parent:  # it died before we were watching
        os._exit(1)


def _start_quiet_resource_tracker() -> None:
    """Start multiprocessing's resource tracker, unless it runs already, with
    its warnings about leaked resources off.

    The pool's queues hold semaphores that the tracker (a process of its
    own) removes when the batch ends without removing them, killed by
    ``kill -9``; that is its job, but it also warns "There appear to be N
    leaked semaphore objects" on the stderr it shares with the batch, after
    the batch is gone.  The warning filter goes through the environment the
    tracker starts with (it takes it from this process, once), and only there.
    """
    from multiprocessing import resource_tracker

    quiet = "ignore::UserWarning:multiprocessing.resource_tracker"
    before = os.environ.get("PYTHONWARNINGS")
    os.environ["PYTHONWARNINGS"] = quiet if not before else f"{before},{quiet}"
    try:
        resource_tracker.ensure_running()
    finally:
        if before is None:
            del os.environ["PYTHONWARNINGS"]
        else:
            os.environ["PYTHONWARNINGS"] = before


def _die_with_parent() -> bool:
    """Ask Linux to send this process SIGKILL when its parent ends; False where it cannot."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(1, signal.SIGKILL, 0, 0, 0) == 0  # 1: PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        return False


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(0.5)
    os._exit(1)


def run(work: Plan, out_dir, *, workers: int = 1, scheduler: str | None = None,
        on_progress: ProgressCallback | None = None, on_record=None, describe=None) -> BatchSummary:
    """Run a :class:`Plan` into ``out_dir`` and write ``OUT_DIR/manifest.jsonl``.

    ``workers`` > 1 uses a pool of that many spawned processes (see
    :func:`init_worker`); ``scheduler`` (an address) sends the jobs to a Dask
    distributed cluster instead.  ``on_progress`` gets the share of jobs
    finished; ``on_record(record)`` is called as each job finishes.  On
    Ctrl-C, or when ``on_progress`` answers False, the jobs not yet started
    are cancelled, the running ones finish (their writes are atomic), the
    manifest is written with every finished file, and the interrupt (or
    :class:`Cancelled`) is raised again.  ``describe(error) -> str`` words the
    errors behind the records, reported and written (see :meth:`BatchRecord.worded`).

    The folder is held for the run (see :func:`locked`).  The manifest gets
    one line per record as it comes (see :class:`ManifestLog`), so that it
    lists every finished file even when the run is killed or the folder
    can no longer be written, and is rewritten whole at the end (see
    :func:`write_manifest`).  A manifest that cannot be opened stops the
    run before any work (:class:`ImageWriteError`); one whose lines and
    final rewrite both fail is the summary's ``manifest_error``.
    """
    started = time.perf_counter()
    out_dir = Path(out_dir)
    with locked(out_dir):
        remove_stale_parts(out_dir)
        log = ManifestLog(out_dir)
        records = []

        def keep(record: BatchRecord) -> None:
            records.append(record.worded(describe))
            log.add(records[-1])

        def report(record: BatchRecord) -> None:
            keep(record)
            if on_record is not None:
                on_record(records[-1])
            notify(on_progress, (len(records) - len(work.existing) - len(work.noted) - len(work.problems))
                   / max(1, len(work.jobs)))

        for record in (*work.existing, *work.noted, *work.problems):
            keep(record)
        try:
            _run_jobs(work.jobs, workers, scheduler, report)
        finally:
            log.close()
            manifest_error = _rewrite_manifest(out_dir, records, log)
    done = [r for r in records if r.status is Status.DONE]
    return BatchSummary(
        done=len(done),
        skipped=sum(r.status is Status.SKIPPED for r in records),
        failed=sum(r.status is Status.FAILED for r in records),
        bytes_in=sum(r.bytes_in for r in done),
        bytes_out=sum(r.bytes_out for r in done),
        seconds=time.perf_counter() - started,
        manifest=str(log.path),
        records=tuple(records),
        manifest_error=manifest_error,
    )


def _rewrite_manifest(out_dir: Path, records, log: "ManifestLog") -> QuantizeError | None:
    """The manifest rewritten whole (:func:`write_manifest`); when it cannot
    be, the lines ``log`` appended stand for it, and only when some of those
    failed too is the error returned: some finished files are not listed."""
    try:
        write_manifest(out_dir, records)
    except QuantizeError as error:
        return error if log.error is not None else None
    return None


def _run_jobs(jobs, workers, scheduler, report) -> None:
    if scheduler is not None:
        _run_on_dask(jobs, scheduler, report)
    elif workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            report(run_job(job))
    else:
        _start_quiet_resource_tracker()
        pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn"),
                                   initializer=init_worker, initargs=(os.getpid(),))
        futures, reported = [pool.submit(run_job, job) for job in jobs], set()
        try:
            for future in as_completed(futures):
                reported.add(future)
                report(future.result())
        except (KeyboardInterrupt, Cancelled):
            pool.shutdown(wait=True, cancel_futures=True)
            for future in futures:  # files that finished while the pool stopped
                if future not in reported and future.done() and not future.cancelled():
                    report_quietly(report, future.result())
            raise
        pool.shutdown(wait=True)


def report_quietly(report, record) -> None:
    """``report(record)``, ignoring a cancel request: the work is stopping already."""
    try:
        report(record)
    except Cancelled:
        pass


def _run_on_dask(jobs, scheduler, report):
    try:
        from dask.distributed import Client, as_completed as dask_completed
    except ImportError:
        raise ParameterError("a Dask scheduler needs Dask: pip install 'quantize[dask]'", reason="needs-dask",
                             parameter="scheduler") from None
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as error:
        raise QuantizeError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
    # Workers run elsewhere, in other folders: give them absolute paths.
    jobs = [replace(job, source=os.path.abspath(job.source), output=os.path.abspath(job.output),
                    palette_file=job.palette_file and os.path.abspath(job.palette_file)) for job in jobs]
    with client:
        futures = client.map(run_job, jobs, pure=False)
        try:
            for future in dask_completed(futures):
                report(future.result())
        except (KeyboardInterrupt, Cancelled):
            client.cancel(futures)
            raise


def read_manifest(out_dir) -> dict[str, BatchRecord]:
    """The records of ``OUT_DIR/manifest.jsonl`` by :attr:`BatchRecord.key`
    (empty when there is none; lines that are not records are passed over)."""
    try:
        lines = (Path(out_dir) / MANIFEST).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError):
        return {}
    records = {}
    for line in lines:
        try:
            record = BatchRecord.from_json(line)
        except (ValueError, KeyError, TypeError):
            continue
        records[record.key] = record
    return records


def write_manifest(out_dir, records) -> Path:
    """``OUT_DIR/manifest.jsonl``: one JSON line per file, in input order.

    The rows of an earlier manifest that this run's ``records`` do not speak
    of (files of another run into the same folder) are kept.
    """
    path = Path(out_dir) / MANIFEST
    merged = {**read_manifest(out_dir), **{r.key: r for r in records}}
    ordered = sorted(merged.values(), key=lambda r: (r.input, r.key))
    atomic_write(path, "".join(r.to_json() + "\n" for r in ordered).encode())
    return path


def remove_stale_parts(out_dir) -> int:
    """Delete temporary files a killed run left in ``out_dir`` (``.NAME.*.part``)."""
    removed = 0
    for folder, _, names in os.walk(out_dir):
        for name in names:
            if name.startswith(".") and name.endswith(".part"):
                os.unlink(os.path.join(folder, name))
                removed += 1
    return removed
