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
from .errors import ImageWriteError, OutputExistsError, QuantizeError
from .imageio import check_output_suffix, read_image, write_quantized
from .kmeans import INITS
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
@kmeans_options
@output_options
def image_command(image, k, output, palette_path, no_palette, seed, init, n_init, tol, max_iter,
                  fast, force, quiet, as_json):
    """Quantize IMAGE to K colours (the default command).

    \b
    Examples:
      quantize photo.jpg -k 8
      quantize photo.jpg -k 32 -o out/photo.png --palette out/photo.json --seed 3
      quantize logo.png -k 4 --no-palette --json
    """
    started = time.perf_counter()
    output = output or image.with_name(f"{image.stem}-k{k}.png")
    check_output_suffix(output)
    if no_palette:
        palette_path = None
    else:
        palette_path = palette_path or output.with_suffix(".gpl")
        check_palette_suffix(palette_path)
    targets = [output] + ([palette_path] if palette_path else [])
    check_targets(targets, inputs=[image], force=force)
    pixels = read_image(image)
    n_runs = n_init or (10 if init == "random" else 1)
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
    summary = {
        "input": str(image),
        "output": str(output),
        "palette_file": str(palette_path) if palette_path else None,
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
