"""The command line: the only module that imports click and tqdm.

Commands are thin: parse, call the library, report.  Errors become one line on
stderr and an exit code (see README, "Exit codes").
"""
from __future__ import annotations

import json
import math
import os
import sys
import time
from pathlib import Path

import click
from click_default_group import DefaultGroup
from tqdm import tqdm

from . import __version__
from . import batch
from .elbow import CLEAR_RATIO, suggest_k, sweep, thumbnails
from .errors import ImageWriteError, OutputExistsError, ParameterError, QuantizeError
from .histogram import color_histogram
from .imageio import check_output_suffix, read_image, write_quantized
from .kmeans import INITS, auto_n_init
from .palette import check_palette_suffix, palette_entries, write_palette
from .pipeline import MAX_COLORS, quantize_image

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class QuantizeGroup(DefaultGroup):
    """A group with a default command whose errors are one line each."""

    def main(self, args=None, prog_name=None, **extra):
        extra.pop("standalone_mode", None)
        try:
            code = super().main(args, prog_name="quantize", standalone_mode=False, **extra)
        except click.UsageError as error:
            hint = f" (see 'quantize {error.ctx.info_name} --help')" if error.ctx and error.ctx.parent else " (see 'quantize --help')"
            _fail(f"error: {error.format_message()}{hint}", EXIT_USAGE)
        except QuantizeError as error:
            _fail(str(error), error.exit_code)
        except click.ClickException as error:
            _fail(error.format_message(), error.exit_code)
        except (click.Abort, KeyboardInterrupt):
            _fail("interrupted", EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int):
    click.echo(f"quantize: {message}", err=True)
    sys.exit(code)


def note(message: str, quiet: bool) -> None:
    """A remark on stderr that is neither an error nor data."""
    if not quiet:
        click.echo(f"quantize: note: {message}", err=True)


def progress_bar(total, desc: str, quiet: bool, unit: str = "it"):
    """A tqdm bar on stderr; off with --quiet or when stderr is not a terminal."""
    return tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
                disable=quiet or not sys.stderr.isatty())


def kmeans_options(command):
    """The k-means options shared by every command that quantizes."""
    options = [
        click.option("--seed", type=int, default=0, show_default=True,
                     help="Random seed; the same seed gives the same bytes."),
        click.option("--init", type=click.Choice(INITS), default="k-means++", show_default=True,
                     help="How to pick the starting centroids."),
        click.option("--n-init", type=click.IntRange(min=1), default=None,
                     help="Restarts; the least distortion wins.  [default: 1, or 10 with --init random]"),
        click.option("--tol", type=click.FloatRange(min=0), default=1e-4, show_default=True,
                     help="Stop when an iteration lowers the distortion by no more than this fraction."),
        click.option("--max-iter", type=click.IntRange(min=1), default=300, show_default=True,
                     help="Iteration limit of one run."),
        click.option("--fast/--exact", default=True, show_default=True,
                     help="Coarse to fine (a pixel sample first, then every unique colour), or "
                          "one k-means on every unique colour (slower, the same optimum as on pixels)."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def output_options(command):
    """--force, --quiet and --json."""
    command = click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")(command)
    command = click.option("-q", "--quiet", is_flag=True, help="No progress bar and no notes.")(command)
    command = click.option("--force", is_flag=True, help="Overwrite existing outputs (never the input).")(command)
    return command


@click.group(cls=QuantizeGroup, default="image", default_if_no_args=False)
@click.version_option(__version__, "-V", "--version", prog_name="quantize")
def cli():
    """Reduce images to K colours with k-means.

    \b
    Examples:
      quantize photo.jpg -k 8              # photo-k8.png and photo-k8.gpl
      quantize photo.jpg -k 16 -o small.png --palette colours.json
      quantize image --help                # every option of the default command
    """


@cli.command("image")
@click.argument("image", type=click.Path(path_type=Path, dir_okay=True))
@click.option("-k", "--colors", "k", type=click.IntRange(1, MAX_COLORS), required=True,
              help=f"Number of colours, 1-{MAX_COLORS}.")
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Output image (.png is a palette PNG).  [default: IMAGE-kK.png beside IMAGE]")
@click.option("--palette", "palette_path", type=click.Path(path_type=Path),
              help="Palette file: .gpl, .json, .txt, .hex or .png (swatch).  [default: OUTPUT with .gpl]")
@click.option("--no-palette", is_flag=True, help="Write no palette file.")
@click.option("--trace", "trace_path", type=click.Path(path_type=Path),
              help="Write the distortion after every iteration: .csv, or .png for a plot.")
@kmeans_options
@output_options
def image_command(image, k, output, palette_path, no_palette, trace_path, seed, init, n_init, tol,
                  max_iter, fast, force, quiet, as_json):
    """Quantize IMAGE to K colours (the default command).

    \b
    Examples:
      quantize photo.jpg -k 8
      quantize photo.jpg -k 32 -o out/photo.png --palette out/photo.json --seed 3
      quantize logo.png -k 4 --no-palette --json
      quantize photo.jpg -k 16 --trace trace.png   # the distortion must only go down
    """
    started = time.perf_counter()
    output = output or image.with_name(f"{image.stem}-k{k}.png")
    check_output_suffix(output)
    if no_palette:
        palette_path = None
    else:
        palette_path = palette_path or output.with_suffix(".gpl")
        check_palette_suffix(palette_path)
    if trace_path and trace_path.suffix.lower() not in (".csv", ".png"):
        raise ParameterError(f"{trace_path}: a trace is written as .csv or .png")
    targets = [p for p in (output, palette_path, trace_path) if p]
    check_targets(targets, inputs=[image], force=force)
    pixels = read_image(image)
    n_runs = n_init or auto_n_init(init)
    with progress_bar(n_runs, "k-means", quiet, unit="run") as bar:
        def on_progress(run, iteration, distortion):
            bar.n = run  # runs finished so far
            bar.set_postfix(iteration=iteration, distortion=f"{distortion:.1f}", refresh=True)

        result = quantize_image(pixels, k, init=init, n_init=n_init or "auto", tol=tol,
                                max_iter=max_iter, seed=seed, fast=fast, on_progress=on_progress)
        bar.n = n_runs
    if result.lossless:
        note(f"{image} has {result.n_input_colors} colours, no more than K={k}: kept them exactly", quiet)
    bytes_out = write_quantized(output, result.indices, result.palette, result.alpha)
    if palette_path:
        write_palette(palette_path, result.palette, result.counts, name=output.stem)
    if trace_path:
        from .report import write_trace  # matplotlib only when asked for

        write_trace(trace_path, result.history)
    summary = {
        "input": str(image),
        "output": str(output),
        "palette_file": str(palette_path) if palette_path else None,
        "trace_file": str(trace_path) if trace_path else None,
        "k": k,
        "colors": len(result.palette),
        "input_colors": result.n_input_colors,
        "distortion": result.distortion,
        "psnr_db": None if math.isinf(result.psnr) else result.psnr,
        "iterations": result.n_iter,
        "converged": bool(result.converged),
        "seconds": time.perf_counter() - started,
        "bytes_in": image.stat().st_size,
        "bytes_out": bytes_out,
        "palette": palette_entries(result.palette, result.counts),
    }
    print_summary(summary, as_json)


@cli.command("elbow")
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--k-min", type=click.IntRange(1, MAX_COLORS), default=1, show_default=True,
              help="Smallest K of the sweep.")
@click.option("--k-max", type=click.IntRange(1, MAX_COLORS), default=16, show_default=True,
              help="Largest K of the sweep.")
@click.option("--ks", "ks_text", metavar="LIST", help="K values instead of a range, e.g. 2,4,8,16,32.")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path),
              help="Report folder.  [default: IMAGE-elbow/ beside IMAGE]")
@click.option("--seed", type=int, default=0, show_default=True, help="Random seed.")
@click.option("--n-init", type=click.IntRange(min=1), default=1, show_default=True,
              help="k-means++ restarts per K.")
@click.option("--previews", is_flag=True, help="Also write previews.png: the image at every K.")
@output_options
def elbow_command(image, k_min, k_max, ks_text, out_dir, seed, n_init, previews, force, quiet, as_json):
    """Sweep K over one image and suggest the K at the elbow of the distortion curve.

    Writes elbow.csv, elbow.json and elbow.png (and previews.png) into the
    report folder, and prints the table and the suggestion.

    \b
    Examples:
      quantize elbow photo.jpg                 # K = 1..16, report in photo-elbow/
      quantize elbow photo.jpg --ks 2,4,8,16,32,64 --previews
      quantize elbow photo.jpg --k-max 32 --json
    """
    ks = parse_ks(ks_text, k_min, k_max)
    out_dir = out_dir or image.with_name(f"{image.stem}-elbow")
    names = ["elbow.csv", "elbow.json", "elbow.png"] + (["previews.png"] if previews else [])
    files = [out_dir / name for name in names]
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is not a folder")
    check_targets(files if out_dir.is_dir() else [out_dir], inputs=[image], force=force)
    rgb = read_image(image)[:, :, :3]
    hist = color_histogram(rgb)
    n_colors = len(hist.colors)
    if ks[-1] > n_colors:
        note(f"{image} has {n_colors} colours: K above {n_colors} is swept as {n_colors}", quiet)
        ks = sorted({min(k, n_colors) for k in ks})
    with progress_bar(len(ks), "elbow", quiet, unit="K") as bar:
        points = sweep(hist, ks, seed=seed, n_init=n_init, on_progress=lambda k: bar.update())
    suggested, strength = suggest_k([p.k for p in points], [p.distortion for p in points])
    from .report import elbow_report, plot_elbow, plot_previews, write_elbow_csv, write_json

    method = (f"largest ratio of the log-log slope into K to the mean log-log slope after K; "
              f"clear when >= {CLEAR_RATIO:g}")
    report = elbow_report(str(image), points, suggested, strength, method)
    out_dir.mkdir(exist_ok=True)
    write_elbow_csv(files[0], report)
    write_json(files[1], report)
    plot_elbow(files[2], report)
    if previews:
        labels = [f"K = {p.k}   {p.psnr:.1f} dB" for p in points]
        plot_previews(files[3], thumbnails(rgb, [p.palette for p in points]), labels)
    if as_json:
        click.echo(json.dumps({**report, "report_dir": str(out_dir), "files": [str(f) for f in files]}))
        return
    lines = [f"{'K':>4} {'distortion':>12} {'PSNR dB':>8} {'iterations':>10} {'seconds':>8}"]
    lines += [f"{p.k:>4} {p.distortion:>12.2f} {p.psnr:>8.2f} {p.n_iter:>10} {p.seconds:>8.3f}" for p in points]
    if suggested is None:
        lines.append(f"no clear elbow (largest knee strength {strength:.1f}; a clear elbow needs {CLEAR_RATIO:g})")
    else:
        lines.append(f"suggested K: {suggested} (knee strength {strength:.1f}; clear from {CLEAR_RATIO:g})")
    lines.append(f"report in {out_dir}/: {' '.join(names)}")
    click.echo("\n".join(lines))


@cli.command("batch")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-k", "--colors", "k", type=click.IntRange(1, MAX_COLORS), required=True,
              help=f"Number of colours, 1-{MAX_COLORS}.")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Output folder; the input tree is mirrored under it.")
@click.option("-r", "--recursive", is_flag=True, help="Walk sub-folders too.")
@click.option("--pattern", "patterns", multiple=True, metavar="GLOB",
              help="File names to take (repeatable).  [default: the image types OpenCV reads]")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes.  [default: the CPUs this process may use]")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Run on local processes, or on a Dask distributed cluster (pip install 'quantize[dask]').")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")
@click.option("--palette-format", type=click.Choice(batch.PALETTE_FORMATS), default="gpl", show_default=True,
              help="Palette file written beside each output, or none.")
@click.option("--dry-run", is_flag=True, help="Say what would be done; write nothing.")
@kmeans_options
@output_options
def batch_command(inputs, k, out_dir, recursive, patterns, jobs, executor, scheduler, palette_format,
                  dry_run, seed, init, n_init, tol, max_iter, fast, force, quiet, as_json):
    """Quantize every image in folders or files INPUTS into OUT_DIR.

    The input tree is mirrored (photos/a/b.jpg -> OUT/a/b.png, with OUT/a/b.gpl).
    Outputs that exist are skipped unless --force, so a run that was stopped
    (even by kill -9) finishes only what is missing when run again.  A bad
    file is reported and the batch goes on; OUT_DIR/manifest.jsonl gets one
    line per file.  Exit code 0 when every file is done or skipped, 1 when any
    failed.

    \b
    Examples:
      quantize batch photos/ -k 64 -o small/ --recursive
      quantize batch a.jpg b.png -k 16 -o out/ --palette-format json
      quantize batch photos/ -k 32 -o /shared/out --executor dask --scheduler tcp://10.0.0.5:8786
    """
    started = time.perf_counter()
    if executor == "dask" and not scheduler:
        raise ParameterError("--executor dask needs --scheduler ADDRESS")
    if scheduler and executor != "dask":
        raise ParameterError("--scheduler goes with --executor dask")
    options = {"init": init, "n_init": n_init or "auto", "tol": tol, "max_iter": max_iter,
               "seed": seed, "fast": fast}
    work = batch.plan(inputs, out_dir, k, patterns=patterns or batch.DEFAULT_PATTERNS,
                      recursive=recursive, palette_format=palette_format, force=force, options=options)
    for problem in work.problems:
        click.echo(f"quantize: {problem['input']}: {problem['error']}", err=True)
    for record in work.skipped:
        if record["error"]:
            note(f"{record['input']}: {record['error']}", quiet)
    if dry_run:
        for job in work.jobs:
            click.echo(f"would quantize {job.source} -> {job.output}")
        for record in work.skipped:
            if record["output"]:
                click.echo(f"would skip {record['input']} ({record['output']} exists)")
        return 1 if work.problems else 0
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is not a folder")
    out_dir.mkdir(parents=True, exist_ok=True)
    batch.remove_stale_parts(out_dir)
    workers = jobs or len(os.sched_getaffinity(0))
    records = list(work.skipped) + list(work.problems)
    saved = 0
    with progress_bar(len(work.jobs), "batch", quiet, unit="file") as bar:
        def on_record(record):
            nonlocal saved
            records.append(record)
            if record["status"] == "failed":
                bar.write(f"quantize: {record['error']}", file=sys.stderr)
            else:
                saved += record["bytes_in"] - record["bytes_out"]
            bar.set_postfix(saved=f"{saved / 1e6:.1f} MB", refresh=False)
            bar.update()

        try:
            batch.run_jobs(work.jobs, workers=workers, scheduler=scheduler if executor == "dask" else None,
                           on_record=on_record)
        finally:
            manifest = batch.write_manifest(out_dir, records)
    counts = {status: sum(r["status"] == status for r in records) for status in ("done", "skipped", "failed")}
    done = [r for r in records if r["status"] == "done"]
    summary = {**counts, "bytes_in": sum(r["bytes_in"] for r in done),
               "bytes_out": sum(r["bytes_out"] for r in done),
               "seconds": time.perf_counter() - started, "manifest": str(manifest)}
    if as_json:
        click.echo(json.dumps(summary))
    else:
        click.echo(f"done {summary['done']}, skipped {summary['skipped']}, failed {summary['failed']}; "
                   f"bytes {summary['bytes_in']:,} -> {summary['bytes_out']:,}; "
                   f"{summary['seconds']:.1f} s; manifest {manifest}")
    return 1 if counts["failed"] else 0


def parse_ks(text, k_min: int, k_max: int) -> list[int]:
    """The sorted K values of --ks, or of --k-min..--k-max."""
    if text is None:
        if k_min > k_max:
            raise ParameterError(f"--k-min {k_min} is above --k-max {k_max}: the K range is empty")
        return list(range(k_min, k_max + 1))
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ParameterError(f"--ks takes whole numbers separated by commas, got {text!r}") from None
    if not ks or ks[0] < 1 or ks[-1] > MAX_COLORS:
        raise ParameterError(f"--ks values must be from 1 to {MAX_COLORS}, got {text!r}")
    return ks


def check_targets(targets, inputs, force: bool) -> None:
    """Refuse to write over an input, twice to one file, or over an existing file without --force."""
    seen = set()
    for target in targets:
        resolved = os.path.realpath(target)
        for source in inputs:
            if resolved == os.path.realpath(source):
                raise OutputExistsError(f"{target}: is the input; refusing to overwrite it")
        if resolved in seen:
            raise OutputExistsError(f"{target}: named twice as an output")
        seen.add(resolved)
        if not force and os.path.lexists(target):
            raise OutputExistsError(f"{target}: exists; use --force to overwrite it")
        if not os.path.isdir(os.path.dirname(resolved)):
            raise ImageWriteError(f"{target}: folder {Path(target).parent} does not exist")


def print_summary(summary: dict, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(summary))
        return
    psnr = "inf" if summary["psnr_db"] is None else f"{summary['psnr_db']:.2f}"
    lines = [
        f"{summary['input']} -> {summary['output']}"
        + (f" (palette {summary['palette_file']})" if summary["palette_file"] else ""),
        f"K {summary['k']}  colours {summary['colors']}  distortion {summary['distortion']:.2f}  "
        f"PSNR {psnr} dB  iterations {summary['iterations']}  time {summary['seconds']:.2f} s  "
        f"bytes {summary['bytes_in']:,} -> {summary['bytes_out']:,}",
    ]
    lines += [f"  {e['hex']}  {100 * e['share']:5.1f}%" for e in summary["palette"]]
    click.echo("\n".join(lines))


def main():
    """Console-script entry point."""
    cli.main()


if __name__ == "__main__":
    main()
