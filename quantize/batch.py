"""Quantize many files: find them, plan one picklable job per file, run the jobs.

The jobs run in this process (one worker), on a local process pool, or on a
Dask distributed cluster; each returns a record (a dict) that becomes one line
of the manifest.  Nothing here prints: results go up through a callback.
"""
from __future__ import annotations

import fnmatch
import json
import os
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from multiprocessing import get_context
from pathlib import Path

from .errors import ParameterError, QuantizeError
from .imageio import READ_SUFFIXES, atomic_write, read_image, write_quantized
from .palette import write_palette
from .pipeline import quantize_image

DEFAULT_PATTERNS = tuple(f"*{suffix}" for suffix in READ_SUFFIXES)
PALETTE_FORMATS = ("gpl", "json", "txt", "png", "none")
MANIFEST = "manifest.jsonl"
# One BLAS thread per worker process: with several workers on few cores,
# BLAS's own threads only compete with the other workers.
_ONE_THREAD = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass(frozen=True)
class Job:
    """One file to quantize; picklable, so it can go to another process or machine."""

    source: str
    output: str
    palette: str | None
    k: int
    options: dict = field(default_factory=dict)  # keyword arguments of quantize_image


@dataclass
class Plan:
    """What a batch will do: jobs to run, files to skip, problems found while looking."""

    jobs: list[Job] = field(default_factory=list)
    skipped: list[dict] = field(default_factory=list)
    problems: list[dict] = field(default_factory=list)


def find_images(inputs, patterns=DEFAULT_PATTERNS, recursive=False, exclude=None):
    """Yield ``("file", path, relative_path)`` for each matching file,
    ``("problem", path, cause)`` for what cannot be read and ``("loop", path,
    note)`` for a symbolic link back into a folder being walked.

    Folders are walked (recursively with ``recursive``), following symbolic
    links but never into a folder already being walked (a loop), and never
    into ``exclude`` (the output folder).  A folder that cannot be read is a
    problem, not a stop.
    """
    exclude = os.path.realpath(exclude) if exclude else None
    for given in inputs:
        path = Path(given)
        if path.is_dir() and os.path.realpath(path) == exclude:
            yield ("problem", path, "is the output folder; name another with -o")
        elif path.is_dir():
            yield from _walk(path, Path(), patterns, recursive, exclude, set())
        elif path.exists():
            yield ("file", path, Path(path.name))
        else:
            yield ("problem", path, "no such file or folder")


def _walk(folder: Path, relative: Path, patterns, recursive, exclude, active):
    real = os.path.realpath(folder)
    if real == exclude:
        return
    if real in active:
        yield ("loop", folder, "symbolic link loop: not followed")
        return
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        yield ("problem", folder, f"cannot read folder: {error.strerror or error}")
        return
    active = active | {real}
    for entry in entries:
        path = folder / entry.name
        try:
            is_dir = entry.is_dir()  # follows symbolic links
        except OSError:
            is_dir = False
        if is_dir:
            if recursive:
                yield from _walk(path, relative / entry.name, patterns, recursive, exclude, active)
        elif any(fnmatch.fnmatch(entry.name.lower(), p.lower()) for p in patterns):
            yield ("file", path, relative / entry.name)


def plan(inputs, out_dir, k, *, patterns=DEFAULT_PATTERNS, recursive=False, palette_format="gpl",
         force=False, options=None) -> Plan:
    """Decide, for every image found, its output paths and whether to run or skip it."""
    if palette_format not in PALETTE_FORMATS:
        raise ParameterError(f"palette format must be one of {', '.join(PALETTE_FORMATS)}")
    out_dir = Path(out_dir)
    result, claimed = Plan(), {}
    for kind, path, detail in find_images(inputs, patterns, recursive, exclude=out_dir):
        if kind != "file":  # a loop is skipped with a note; a problem is a failure
            status = "skipped" if kind == "loop" else "failed"
            (result.skipped if kind == "loop" else result.problems).append(
                _record(str(path), None, status, k, error=detail))
            continue
        output = out_dir / detail.with_suffix(".png")
        palette = None if palette_format == "none" else output.with_suffix("." + palette_format)
        key = os.path.realpath(output)
        if key in claimed:
            result.problems.append(_record(str(path), str(output), "failed", k,
                                           error=f"same output as {claimed[key]}"))
            continue
        claimed[key] = str(path)
        if os.path.realpath(path) in {key, os.path.realpath(palette) if palette else None}:
            result.problems.append(_record(str(path), str(output), "failed", k,
                                           error="output would replace the input"))
        elif not force and output.exists() and (palette is None or palette.exists()):
            result.skipped.append(_record(str(path), str(output), "skipped", k))
        else:
            result.jobs.append(Job(str(path), str(output), str(palette) if palette else None, k,
                                   dict(options or {})))
    return result


def _record(source, output, status, k, **extra) -> dict:
    return {"input": source, "output": output, "status": status, "k": k, "distortion": None,
            "psnr_db": None, "bytes_in": None, "bytes_out": None, "error": None, **extra}


def run_job(job: Job) -> dict:
    """Quantize one file; never raises: a failure is a record with its cause."""
    started = time.perf_counter()
    try:
        pixels = read_image(job.source)
        result = quantize_image(pixels, job.k, **job.options)
        Path(job.output).parent.mkdir(parents=True, exist_ok=True)
        bytes_out = write_quantized(job.output, result.indices, result.palette, result.alpha)
        if job.palette:
            write_palette(job.palette, result.palette, result.counts, name=Path(job.output).stem)
    except QuantizeError as error:
        return _record(job.source, job.output, "failed", job.k, error=str(error))
    except Exception as error:  # a bug or the system: still one line, and the batch goes on
        return _record(job.source, job.output, "failed", job.k,
                       error=f"{job.source}: {type(error).__name__}: {error}")
    psnr = result.psnr
    return _record(job.source, job.output, "done", job.k, distortion=result.distortion,
                   psnr_db=None if psnr == float("inf") else psnr,
                   bytes_in=os.path.getsize(job.source), bytes_out=bytes_out,
                   seconds=time.perf_counter() - started)


@contextmanager
def _one_blas_thread():
    saved = {name: os.environ.get(name) for name in _ONE_THREAD}
    os.environ.update({name: "1" for name in _ONE_THREAD})
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def _ignore_interrupt():
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent handles Ctrl-C


def run_jobs(jobs, *, workers=1, scheduler=None, on_record=None):
    """Run ``jobs``; call ``on_record(record)`` as each finishes, in finishing order.

    ``workers`` > 1 uses a process pool of that size (spawned, one BLAS thread
    each); ``scheduler`` (an address) sends the jobs to a Dask distributed
    cluster instead.  On KeyboardInterrupt the jobs not yet started are
    cancelled, the running ones finish (their writes are atomic), and the
    interrupt is raised again.
    """
    report = on_record or (lambda record: None)
    if scheduler is not None:
        _run_on_dask(jobs, scheduler, report)
    elif workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            report(run_job(job))
    else:
        # Workers start when jobs are submitted: keep the variables set until the end.
        with _one_blas_thread():
            pool = ProcessPoolExecutor(max_workers=min(workers, len(jobs)), mp_context=get_context("spawn"),
                                       initializer=_ignore_interrupt)
            try:
                futures = [pool.submit(run_job, job) for job in jobs]
                for future in as_completed(futures):
                    report(future.result())
            except KeyboardInterrupt:
                pool.shutdown(wait=True, cancel_futures=True)
                raise
            pool.shutdown(wait=True)


def _run_on_dask(jobs, scheduler, report):
    try:
        from dask.distributed import Client, as_completed as dask_completed
    except ImportError:
        raise ParameterError("--executor dask needs Dask: pip install 'quantize[dask]'") from None
    try:
        client = Client(scheduler, timeout="10s")
    except OSError as error:
        raise QuantizeError(f"cannot reach the Dask scheduler at {scheduler}: {error}") from None
    # Workers run elsewhere, in other folders: give them absolute paths.
    jobs = [replace(job, source=os.path.abspath(job.source), output=os.path.abspath(job.output),
                    palette=job.palette and os.path.abspath(job.palette)) for job in jobs]
    with client:
        futures = client.map(run_job, jobs, pure=False)
        try:
            for future in dask_completed(futures):
                report(future.result())
        except KeyboardInterrupt:
            client.cancel(futures)
            raise


def write_manifest(out_dir, records) -> Path:
    """``OUT_DIR/manifest.jsonl``: one JSON line per file, in input order."""
    path = Path(out_dir) / MANIFEST
    ordered = sorted(records, key=lambda r: r["input"])
    atomic_write(path, "".join(json.dumps(r) + "\n" for r in ordered).encode())
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
