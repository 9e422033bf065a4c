"""The command line: the only module that imports click and tqdm, and the only
one that names its options in what a user reads.

Every command parses its options, calls one library function and prints what
it returned.  A :class:`QuantizeError` becomes one line on stderr, worded by
:func:`describe`, and its exit code (see README, "Exit codes").
"""
from __future__ import annotations

import functools
import json
import os
import sys
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

import click
from click_default_group import DefaultGroup

from . import __version__
from .errors import Cancelled, OutputLargerError, ParameterError, QualityTooLowError, QuantizeError
from .limits import DEFAULT_SPEED, DITHER_METHODS, INITS, MAX_COLORS, MAX_PIXELS, PALETTE_FORMATS, SPACES, SPEEDS

EXIT_LARGER = OutputLargerError.exit_code
EXIT_QUALITY = QualityTooLowError.exit_code
EXIT_INTERRUPTED = Cancelled.exit_code
CONTEXT = {"help_option_names": ["-h", "--help"]}

# The library's errors whose sentences would name a parameter where the user gave an option, as
# the user reads them, by reason (see quantize.errors.REASONS); any other error reads as str(error).
WORDS = {
    "too-many-pixels": lambda e: f"{e.path}: {e.value[0]}x{e.value[1]} is {e.value[0] * e.value[1] / 1e6:.1f} MP, "
                                 f"above the limit of {e.limit / 1e6:g} MP (--max-pixels)",
    "exists": lambda e: f"{e.path}: exists; use --force to overwrite it",
    "made-differently": lambda e: f"exists, made with {', '.join(f'{n} {old}' for n, old, _ in e.value)}, "
                                  f"not {', '.join(str(new) for _, _, new in e.value)}; --force redoes it",
    "output-is-input-folder": lambda e: f"{e.path}: is an input folder; name another output folder with -o",
    "quality-and-palette": lambda e: f"{e.path}: a quality target (--quality) chooses K by k-means: "
                                     "not with a palette given in advance (--map)",
    "quality-and-batch-palette": lambda e: "a quality target (--quality) chooses K for each image: not with a "
                                           "palette given in advance (--map) or shared (--shared-palette)",
    "alpha-in-space": lambda e: f"{e.path}: has alpha; --space {e.value} works on RGB images only (use --space rgb)",
    "needs-dask": lambda e: "--executor dask needs Dask: pip install 'quantize[dask]'",
}


def describe(error: QuantizeError) -> str:
    """The sentence a user of the command line reads for ``error`` (without ``quantize: ``)."""
    words = WORDS.get(error.reason)
    return str(error) if words is None else words(error)


class Failure(click.ClickException):
    """An error of ours: one line, ``quantize: FILE: cause``, and its exit code."""

    def __init__(self, message: str, exit_code: int):
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file=None) -> None:
        click.echo(f"quantize: {self.format_message()}", err=True)


class OneLineUsageError(click.UsageError):
    """Click's usage error in one line, with where to find help."""

    def show(self, file=None) -> None:
        ctx = self.ctx
        hint = f"quantize {ctx.info_name} --help" if ctx is not None and ctx.parent is not None else "quantize --help"
        click.echo(f"quantize: error: {self.format_message()} (see '{hint}')", err=True)


class QuantizeGroup(DefaultGroup):
    """A group with a default command whose errors are one line each."""

    def make_context(self, info_name, args, parent=None, **extra):
        with _one_line_errors():
            return super().make_context(info_name, args, parent=parent, **extra)

    def invoke(self, ctx):
        with _one_line_errors():
            return super().invoke(ctx)


@contextmanager
def _one_line_errors():
    try:
        yield
    except click.exceptions.NoArgsIsHelpError:
        raise  # bare 'quantize': Click prints the help
    except (OneLineUsageError, Failure):
        raise
    except click.UsageError as error:
        raise OneLineUsageError(error.format_message(), error.ctx) from None
    except QuantizeError as error:
        raise Failure(describe(error), error.exit_code) from None
    except KeyboardInterrupt:
        raise Failure("interrupted", EXIT_INTERRUPTED) from None


def note(message: str, quiet: bool) -> None:
    """A remark on stderr that is neither an error nor data."""
    if not quiet:
        click.echo(f"quantize: note: {message}", err=True)


class _NoBar:
    """What :func:`progress_bar` yields when the bar is off."""

    @staticmethod
    def write(text, file=None):
        click.echo(text, err=True)

    def set_postfix(self, **kwargs):
        pass


@contextmanager
def progress_bar(desc: str, quiet: bool, total: int = 100, unit: str = "%"):
    """A tqdm bar on stderr, off with --quiet or when stderr is not a terminal
    (then tqdm is not even imported).

    Yields ``(on_progress, bar)``: ``on_progress(fraction)`` moves the bar to
    ``fraction`` of ``total`` (the progress protocol of the library), or None
    when the bar is off.
    """
    if quiet or not sys.stderr.isatty():
        yield None, _NoBar()
        return
    from tqdm import tqdm

    with tqdm(total=total, desc=desc, unit=unit, file=sys.stderr, leave=False,
              bar_format="{l_bar}{bar}| [{elapsed}<{remaining}]" if unit == "%" else None) as bar:
        def on_progress(fraction: float) -> None:
            bar.update(round(fraction * total, 1) - bar.n)

        yield on_progress, bar


def kmeans_options(speed: bool = True, space: bool | None = None):
    """The k-means options, gathered into one :class:`KMeansOptions` argument
    ``options``; with ``speed``, --speed and --exact too; with ``space``
    (default: as ``speed``), --space."""
    space = speed if space is None else space
    options = [
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Random seed; the same seed gives the same bytes."),
        click.option("--init", type=click.Choice(INITS), default="k-means++", show_default=True,
                     help="How to pick the starting centroids."),
        click.option("--n-init", type=click.IntRange(min=1), default=None,
                     help="Restarts; the least distortion wins.  [default: 1, or 10 with --init random]"),
        click.option("--tol", type=click.FloatRange(min=0), default=1e-4, show_default=True,
                     help="Stop when an iteration lowers the distortion by no more than this fraction."),
        click.option("--max-iter", type=click.IntRange(min=1), default=300, show_default=True,
                     help="Iteration limit of one run."),
    ]
    if speed:
        options.append(click.option(
            "--speed", type=click.IntRange(SPEEDS[0], SPEEDS[-1]), default=DEFAULT_SPEED, show_default=True,
            help="1 slowest and best (one k-means on every unique colour) to 10 fastest (a pixel "
                 "sample only); in between, a sample first, then every colour."))
        options.append(click.option(
            "--exact", is_flag=True, help="The same as --speed 1: the exact weighted k-means on the pixels."))
    if space:
        options.append(click.option(
            "--space", type=click.Choice(SPACES), default="rgb", show_default=True,
            help="Where colour distances are measured, for k-means, the nearest colour and dithering: "
                 "sRGB values, Oklab or CIELAB (RGB images; alpha images stay in rgb)."))

    def decorate(command):
        @functools.wraps(command)
        def gather(*args, seed, init, n_init, tol, max_iter, speed=1, exact=False, space="rgb", **kwargs):
            from .options import KMeansOptions

            chosen = KMeansOptions(init=init, n_init=n_init or "auto", tol=tol, max_iter=max_iter,
                                   seed=seed, speed=1 if exact else speed, space=space)
            return command(*args, options=chosen, **kwargs)

        for option in reversed(options):
            gather = option(gather)
        return gather

    return decorate


class QualityRange(click.ParamType):
    """pngquant's --quality forms: ``MIN-MAX``; ``N`` (MIN is 9/10 of N, rounded
    down); ``-N`` (0-N); ``N-`` (N-100).  Gives ``(minimum, target)``."""

    name = "MIN-MAX"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        low, dash, high = str(value).strip().partition("-")
        try:
            if not dash:
                minimum, target = int(low) * 9 // 10, int(low)
            else:
                minimum, target = int(low or 0), int(high or 100)
        except ValueError:
            self.fail(f"{value!r} is not MIN-MAX, N, -N or N- with whole numbers 0-100", param, ctx)
        if not 0 <= minimum <= target <= 100:
            self.fail(f"{value!r}: need 0 <= MIN <= MAX <= 100", param, ctx)
        return minimum, target


max_pixels_option = click.option(  # the largest image to decode: with the image options, and for elbow
    "--max-pixels", type=click.IntRange(min=1), default=MAX_PIXELS, show_default=True,
    help="Refuse images with more pixels than this (checked from the header before decoding).")


def image_output_options(command):
    """How the image is read and written: dithering, --map, orientation, limits;
    gathered into one :class:`OutputOptions` argument ``render`` (and ``map_path``)."""
    options = [
        click.option("--dither", type=click.Choice(DITHER_METHODS), default="none", show_default=True,
                     help="Error diffusion (Floyd-Steinberg), an ordered pattern, or none."),
        click.option("--dither-strength", type=click.FloatRange(0, 1), default=1.0, show_default=True,
                     help="How much of the error is spread, 0-1."),
        click.option("--map", "map_path", type=click.Path(path_type=Path, readable=False),
                     help="Map onto this palette (no k-means): .gpl .json .txt .hex, or an image's colours."),
        click.option("--no-autorotate", is_flag=True, help="Keep the stored orientation (ignore EXIF)."),
        click.option("--quality", type=QualityRange(),
                     help="pngquant's quality target, 0-100: the fewest colours up to -k that reach MAX; "
                          f"write nothing and exit {EXIT_QUALITY} if -k colours stay below MIN.  "
                          "N alone means (9/10 N)-N."),
        click.option("--skip-if-larger", is_flag=True,
                     help=f"Write nothing if the output would be larger than the input (exit {EXIT_LARGER})."),
        max_pixels_option,
    ]

    @functools.wraps(command)
    def gather(*args, dither, dither_strength, no_autorotate, skip_if_larger, max_pixels, quality, **kwargs):
        from .files import OutputOptions, ReadOptions

        read = ReadOptions(autorotate=not no_autorotate, max_pixels=max_pixels)
        render = OutputOptions(dither=dither, dither_strength=dither_strength, skip_if_larger=skip_if_larger,
                               quality=quality, read=read)
        return command(*args, render=render, **kwargs)

    for option in reversed(options):
        gather = option(gather)
    return gather


def output_options(command):
    """--force, --quiet and --json."""
    command = click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")(command)
    command = click.option("-q", "--quiet", is_flag=True, help="No progress bar and no notes.")(command)
    command = click.option("--force", is_flag=True, help="Overwrite existing outputs (never the input).")(command)
    return command


@click.group(cls=QuantizeGroup, default="image", default_if_no_args=False, context_settings=CONTEXT)
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
@click.argument("image", type=click.Path(path_type=Path, readable=False, allow_dash=True))
@click.option("-k", "--colors", "k", type=click.IntRange(1, MAX_COLORS),
              help=f"Number of colours, 1-{MAX_COLORS} (or --map).")
@click.option("-o", "--output", type=click.Path(path_type=Path, allow_dash=True),
              help="Output image: .png (palette PNG), .gif, or true colour .webp .tif .bmp .jpg; "
                   "- writes a PNG to stdout.  [default: IMAGE-kK.png beside IMAGE]")
@click.option("--palette", "palette_path", type=click.Path(path_type=Path),
              help="Palette file: .gpl, .json, .txt, .hex or .png (swatch).  [default: OUTPUT with .gpl]")
@click.option("--no-palette", is_flag=True, help="Write no palette file.")
@click.option("--trace", "trace_path", type=click.Path(path_type=Path),
              help="Write the distortion after every iteration: .csv, or .png for a plot.")
@click.option("--show-palette", is_flag=True, help="List every palette colour as hex and share on stdout.")
@click.option("--dssim", "measure_dssim", is_flag=True,
              help="Also measure the DSSIM-like score of the output (RGB images; ~0.35 s per 0.4 megapixels).")
@kmeans_options()
@image_output_options
@output_options
def image_command(image, k, output, palette_path, no_palette, trace_path, show_palette, measure_dssim, options,
                  map_path, render, force, quiet, as_json):
    """Quantize IMAGE to K colours (the default command).  IMAGE - reads stdin.

    \b
    Examples:
      quantize photo.jpg -k 8
      quantize photo.jpg -k 32 -o out/photo.png --palette out/photo.json --seed 3
      quantize logo.png -k 16 --dither floyd-steinberg --no-palette --json
      quantize photo.jpg -k 256 --quality 65-80   # fewest colours reaching quality 80
      quantize sprite.png --map game.gpl -o sprite-game.png
      curl -s https://example.org/a.png | quantize - -k 16 -o - > small.png
      quantize photo.jpg -k 16 --trace trace.png   # the distortion must only go down
    """
    from .files import quantize_file

    if (k is None) == (map_path is None):
        raise OneLineUsageError("give -k K or --map PALETTE (one of them)", click.get_current_context())
    if str(image) == "-" and output is None:
        raise OneLineUsageError("reading the image from stdin (-) needs -o", click.get_current_context())
    to_stdout = output is not None and str(output) == "-"
    tag = f"k{k}" if map_path is None else Path(map_path).stem
    output = output or image.with_name(f"{image.stem}-{tag}.png")
    palette_path = None if no_palette or (to_stdout and palette_path is None) else (
        palette_path or output.with_suffix(".gpl"))
    with progress_bar("k-means", quiet) as (on_progress, _):
        result = quantize_file(image, k, output=output, palette_path=palette_path, trace_path=trace_path,
                               options=options, output_options=render, map_path=map_path, force=force,
                               measure_dssim=measure_dssim, on_progress=on_progress)
        if result.encoded is not None:
            sys.stdout.buffer.write(result.encoded)
            sys.stdout.buffer.flush()
    for message in result.notes:
        note(message, quiet)
    if result.lossless and map_path is None:
        note(f"{image} has {result.input_colors} colours, no more than K={k}: kept them exactly", quiet)
    if as_json:
        click.echo(json.dumps(result.to_dict()), err=to_stdout)
        return
    psnr = "inf" if result.psnr_db is None else f"{result.psnr_db:.2f}"
    lines = [
        f"{result.input} -> {result.output}" + (f" (palette {result.palette_file})" if result.palette_file else ""),
        f"K {result.k}  colours {result.colors}  PSNR {psnr} dB  quality {result.quality}"
        + ("" if result.delta_e_ok is None else f"  dE(Oklab) {result.delta_e_ok:.2f}")
        + ("" if result.dssim is None else f"  DSSIM {result.dssim:.4f}")
        + f"  time {result.seconds:.2f} s  bytes {result.bytes_in:,} -> {result.bytes_out:,}",
    ]
    stream = sys.stderr if to_stdout else sys.stdout
    lines += palette_lines(result.palette, show_palette, colour=stream.isatty() and not os.environ.get("NO_COLOR"))
    click.echo("\n".join(lines), err=to_stdout)


def palette_lines(entries, show_all: bool, colour: bool, top: int = 5, per_row: int = 16) -> list[str]:
    """The palette for a person: every colour as ``#hex share`` with ``show_all``;
    else, on a colour terminal, coloured blocks 16 to a row and the ``top`` most
    used as hex; else nothing."""
    if show_all:
        return [f"  {e['hex']}  {100 * e['share']:5.1f}%" for e in entries]
    if not colour:
        return []
    blocks = ["".join(f"\x1b[48;2;{e['rgb'][0]};{e['rgb'][1]};{e['rgb'][2]}m  \x1b[0m" for e in entries[i:i + per_row])
              for i in range(0, len(entries), per_row)]
    most = "  ".join(f"{e['hex']} {100 * e['share']:.1f}%" for e in entries[:top])
    return [f"  {row}" for row in blocks] + [f"  most used: {most}"]


@cli.command("elbow")
@click.argument("image", type=click.Path(path_type=Path, readable=False))
@click.option("--k-min", type=click.IntRange(1, MAX_COLORS), default=1, show_default=True,
              help="Smallest K of the sweep.")
@click.option("--k-max", type=click.IntRange(1, MAX_COLORS), default=16, show_default=True,
              help="Largest K of the sweep.")
@click.option("--ks", "ks_text", metavar="LIST", help="K values instead of a range, e.g. 2,4,8,16,32.")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path),
              help="Report folder.  [default: IMAGE-elbow/ beside IMAGE]")
@click.option("--previews", is_flag=True, help="Also write previews.png: the image at every K.")
@kmeans_options(speed=False, space=True)
@max_pixels_option
@output_options
def elbow_command(image, k_min, k_max, ks_text, out_dir, previews, options, max_pixels, force, quiet, as_json):
    """Sweep K over one image and suggest the K at the elbow of the distortion curve.

    Writes elbow.csv, elbow.json and elbow.png (and previews.png) into the
    report folder, and prints the table and the suggestion.

    \b
    Examples:
      quantize elbow photo.jpg                 # K = 1..16, report in photo-elbow/
      quantize elbow photo.jpg --ks 2,4,8,16,32,64 --previews
      quantize elbow photo.jpg --k-max 32 --json
      quantize elbow photo.jpg --space oklab   # cluster and find the knee in Oklab
    """
    from . import elbow

    ks = parse_ks(ks_text, k_min, k_max)
    out_dir = out_dir or image.with_name(f"{image.stem}-elbow")
    with progress_bar("elbow", quiet) as (on_progress, _):
        report = elbow.run(image, ks, options, out_dir=out_dir, previews=previews, force=force,
                           max_pixels=max_pixels, on_progress=on_progress)
    for message in report.notes:
        note(message, quiet)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "report_dir": str(out_dir), "files": list(report.files)}))
        return
    lines = [f"{'K':>4} {'distortion':>12} {'PSNR dB':>8} {'dE ok':>6} {'iterations':>10} {'seconds':>8}"]
    lines += [f"{p.k:>4} {p.distortion:>12.2f} {p.psnr:>8.2f} {p.delta_e:>6.2f} {p.n_iter:>10} {p.seconds:>8.3f}"
              for p in report.points]
    if report.suggested_k is None:
        lines.append(f"no clear elbow (largest knee strength {report.knee_strength:.1f}; "
                     f"a clear elbow needs {elbow.CLEAR_RATIO:g})")
    else:
        lines.append(f"suggested K: {report.suggested_k} (knee strength {report.knee_strength:.1f}; "
                     f"clear from {elbow.CLEAR_RATIO:g})")
    lines.append(f"report in {out_dir}/: {' '.join(Path(f).name for f in report.files)}")
    click.echo("\n".join(lines))


@cli.command("batch")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("-k", "--colors", "k", type=click.IntRange(1, MAX_COLORS),
              help=f"Number of colours, 1-{MAX_COLORS} (or --map).")
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
@click.option("--palette-format", type=click.Choice(PALETTE_FORMATS), default="gpl", show_default=True,
              help="Palette file written beside each output, or none.")
@click.option("--dry-run", is_flag=True, help="Say what would be done; write nothing.")
@click.option("--shared-palette", is_flag=True,
              help="Fit one palette of K colours to all the images together; every output holds it.")
@kmeans_options()
@image_output_options
@output_options
def batch_command(inputs, k, out_dir, recursive, patterns, jobs, executor, scheduler, palette_format,
                  dry_run, shared_palette, options, map_path, render, force, quiet, as_json):
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
      quantize batch frames/ -k 64 -o out/ --shared-palette --dither floyd-steinberg
      quantize batch photos/ -k 32 -o /shared/out --executor dask --scheduler tcp://10.0.0.5:8786
    """
    from . import batch
    from .discover import default_jobs

    if executor == "dask" and not scheduler:
        raise ParameterError("--executor dask needs --scheduler ADDRESS")
    if scheduler and executor != "dask":
        raise ParameterError("--scheduler goes with --executor dask")
    if (k is None) == (map_path is None):
        raise OneLineUsageError("give -k K or --map PALETTE (one of them)", click.get_current_context())
    if shared_palette and map_path is not None:
        raise OneLineUsageError("--shared-palette fits a palette; --map gives one: use one of them",
                                click.get_current_context())
    with progress_bar("palette", quiet or not shared_palette) as (on_progress, _):
        work = batch.plan(inputs, out_dir, k, patterns=patterns or batch.DEFAULT_PATTERNS, recursive=recursive,
                          palette_format=palette_format, force=force, options=options, output_options=render,
                          palette=map_path, shared_palette=shared_palette, on_progress=on_progress)
    work = replace(work, **{name: tuple(record.worded(describe) for record in getattr(work, name))
                            for name in ("existing", "loops", "problems")})
    for record in work.problems:
        click.echo(f"quantize: {record.input}: {record.error}", err=True)
    for record in work.loops:
        note(f"{record.input}: {record.error}", quiet)
    stale = [record for record in work.existing if record.error]
    if stale:
        others = f" (and {len(stale) - 1} more like it)" if len(stale) > 1 else ""
        note(f"skipped {stale[0].output}: {stale[0].error}{others}", quiet)
    if dry_run:
        for job in work.jobs:
            click.echo(f"would quantize {job.source} -> {job.output}")
        for record in work.existing:
            click.echo(f"would skip {record.input} ({record.output} {record.error or 'exists'})")
        if work.problems:
            raise click.exceptions.Exit(1)
        return
    saved = 0
    with progress_bar("batch", quiet, total=len(work.jobs), unit="file") as (on_progress, bar):
        def on_record(record):
            nonlocal saved
            if record.status is batch.Status.FAILED:
                bar.write(f"quantize: {record.error}", file=sys.stderr)
            elif record.status is batch.Status.DONE:
                saved += record.bytes_in - record.bytes_out
                bar.set_postfix(saved=f"{saved / 1e6:.1f} MB", refresh=False)

        summary = batch.run(work, out_dir, workers=jobs or default_jobs(),
                            scheduler=scheduler if executor == "dask" else None,
                            on_progress=on_progress, on_record=on_record, describe=describe)
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
    else:
        click.echo(f"done {summary.done}, skipped {summary.skipped}, failed {summary.failed}; "
                   f"bytes {summary.bytes_in:,} -> {summary.bytes_out:,}; "
                   f"{summary.seconds:.1f} s; manifest {summary.manifest}")
    if summary.failed:
        raise click.exceptions.Exit(1)


@cli.command("cluster")
@click.argument("source", type=click.Path(path_type=Path, readable=False))
@click.option("-k", "--clusters", "k", type=click.IntRange(min=1), required=True,
              help="Number of clusters of the written assignments and pictures.")
@click.option("--ks", "ks_text", metavar="LIST", help="Also score every K of this list, e.g. 10,16,36,64,144,256.")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path),
              help="Report folder.  [default: SOURCE-clusters/ beside SOURCE]")
@click.option("--size", type=click.IntRange(min=1), default=28, show_default=True,
              help="Images of a folder are made SIZE x SIZE (aspect kept by padding).")
@click.option("--grey/--colour", "grey", default=True, show_default=True,
              help="Images of a folder as grey levels, or as RGB.")
@click.option("--labels", "labels_path", type=click.Path(path_type=Path, readable=False),
              help="True labels: a .npy array, or a CSV (one label a line, or name,label).")
@click.option("--minibatch", is_flag=True, help="Mini-batch k-means (Sculley 2010) instead of full k-means.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Vectors per mini-batch step.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Threads decoding a folder's images.  [default: the CPUs this process may use]")
@kmeans_options(speed=False)
@output_options
def cluster_command(source, k, ks_text, out_dir, size, grey, labels_path, minibatch, batch_size, jobs, options,
                    force, quiet, as_json):
    """Group whole images with k-means: every centroid is a picture.

    SOURCE is a folder of images (one subfolder per class gives the true
    labels), MNIST's train-images-idx3-ubyte[.gz] (labels from the matching
    labels file), or a .npy array (n, d), (n, h, w) or (n, h, w, 3).  Writes
    assignments.csv, centroids.png, clusters.json, metrics.csv, metrics.png
    and one contact sheet per cluster (sheets/) into the report folder.  With
    labels, each cluster is named by its most common label and scored
    (accuracy, homogeneity, completeness, V-measure, adjusted Rand index).
    A file that cannot be read is reported and the rest are clustered; the
    exit code is then 1.

    \b
    Examples:
      quantize cluster train-images-idx3-ubyte.gz -k 36 --ks 10,16,36,64,144,256 --minibatch
      quantize cluster photos/ -k 8 --size 32 --colour -o photo-groups/
      quantize cluster digits.npy -k 10 --labels digit-labels.npy --json
    """
    from . import cluster
    from .discover import default_jobs
    from .report import metric_rows

    ks = parse_ks(ks_text, k, k, most=None) if ks_text else []
    out_dir = out_dir or source.with_name(f"{source.name.split('.')[0]}-clusters")
    with progress_bar("cluster", quiet) as (on_progress, _):
        report = cluster.run(source, k, ks, options, out_dir=out_dir, size=size, grey=grey, labels=labels_path,
                             minibatch=minibatch, batch_size=batch_size, jobs=jobs or default_jobs(),
                             force=force, on_progress=on_progress, describe=describe)
    for name, cause in report.failures:
        click.echo(f"quantize: {name}: {cause}", err=True)
    for message in report.notes:
        note(message, quiet)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "report_dir": str(out_dir)}))
    else:
        labelled = report.labels is not None
        head = f"{'K':>4} {'inertia':>12}" + (f" {'accuracy':>8} {'V-meas.':>7} {'ARI':>6} {'homog.':>6} "
                                              f"{'compl.':>6}" if labelled else "")
        lines = [f"{len(report.names)} vectors of {'x'.join(map(str, report.shape))}, {report.method}",
                 head + f" {'iter':>5} {'seconds':>8}"]
        for row in metric_rows(report):
            line = f"{row['k']:>4} {row['inertia']:>12.1f}"
            if labelled:
                line += (f" {row['accuracy']:>8.3f} {row['v_measure']:>7.3f} {row['adjusted_rand']:>6.3f} "
                         f"{row['homogeneity']:>6.3f} {row['completeness']:>6.3f}")
            lines.append(line + f" {row['iterations']:>5} {row['seconds']:>8.2f}")
        parts = sorted({Path(f).relative_to(out_dir).parts[0] for f in report.files})
        lines.append(f"report in {out_dir}/: {' '.join(parts)}")
        click.echo("\n".join(lines))
    if report.failures:
        raise click.exceptions.Exit(1)


def parse_ks(text, k_min: int, k_max: int, most: int | None = MAX_COLORS) -> list[int]:
    """The sorted K values of --ks, or of --k-min..--k-max; each at most ``most``
    (None: no limit)."""
    if text is None:
        if k_min > k_max:
            raise ParameterError(f"--k-min {k_min} is above --k-max {k_max}: the K range is empty")
        return list(range(k_min, k_max + 1))
    try:
        ks = sorted({int(part) for part in text.split(",") if part.strip()})
    except ValueError:
        raise ParameterError(f"--ks takes whole numbers separated by commas, got {text!r}") from None
    if not ks or ks[0] < 1 or (most is not None and ks[-1] > most):
        bound = f"from 1 to {most}" if most is not None else "whole numbers >= 1"
        raise ParameterError(f"--ks values must be {bound}, got {text!r}")
    return ks


def main():
    """Console-script entry point."""
    cli(prog_name="quantize")


if __name__ == "__main__":
    main()
