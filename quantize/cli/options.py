"""The options several commands share, each declared once and gathered into
the library's option objects (:class:`~quantize.options.KMeansOptions`,
:class:`~quantize.files.OutputOptions`), and the parsing of K lists."""
from __future__ import annotations

import functools
from pathlib import Path

import click

from ..errors import ParameterError
from ..limits import COLOUR_INITS, DEFAULT_SPEED, DITHER_METHODS, INITS, MAX_COLORS, MAX_PIXELS, SPACES, SPEEDS
from ..limits import PNG_OPTIMIZE_DEFAULT, PNG_OPTIMIZE_MAX
from .words import EXIT_LARGER, EXIT_QUALITY, OneLineUsageError, note

def kmeans_options(speed: bool = True, space: bool | None = None):
    """The k-means options, gathered into one :class:`KMeansOptions` argument
    ``options``; with ``speed``, --speed and --exact too; with ``space``
    (default: as ``speed``), --space.  Commands with --space fit palettes to
    colours, and their --init also offers "wu"."""
    space = speed if space is None else space
    init_help = ("How to pick the starting centroids: k-means++, random colours, or wu (the palette of "
                 "Wu's quantizer; k-means++ for an image with alpha)." if space else
                 "How to pick the starting centroids.")
    options = [
        click.option("--seed", type=click.IntRange(min=0), default=0, show_default=True,
                     help="Random seed; the same seed gives the same bytes."),
        click.option("--init", type=click.Choice(COLOUR_INITS if space else INITS), default="k-means++",
                     show_default=True, help=init_help),
        click.option("--n-init", type=click.IntRange(min=1), default=None,
                     help="Restarts; the least distortion wins" + (" (one with --init wu)" if space else "")
                          + ".  [default: 1, or 10 with --init random]"),
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
            "--exact", is_flag=True,
            help="The same as --speed 1: the exact weighted k-means on the pixels (not with another --speed)."))
    if space:
        options.append(click.option(
            "--space", type=click.Choice(SPACES), default="rgb", show_default=True,
            help="Where colour distances are measured, for k-means, the nearest colour and dithering: "
                 "sRGB values, Oklab or CIELAB (an image with alpha is quantized in rgb, with a note)."))

    def decorate(command):
        @functools.wraps(command)
        def gather(*args, seed, init, n_init, tol, max_iter, speed=1, exact=False, space="rgb", **kwargs):
            from ..options import KMeansOptions

            if exact and speed != 1 and given("speed"):
                raise OneLineUsageError(f"--exact is --speed 1: not with --speed {speed}",
                                        click.get_current_context())

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
    help="Refuse images with more pixels than this (checked from the header before decoding); no input is "
         "read past 16 bytes a pixel plus 64 MiB.")


def image_output_options(command):
    """How the image is read and written: dithering, --map, orientation, limits;
    gathered into one :class:`OutputOptions` argument ``render`` (and ``map_path``)."""
    options = [
        click.option("--dither", type=click.Choice(DITHER_METHODS), default="none", show_default=True,
                     help="Error diffusion (Floyd-Steinberg), an ordered pattern, or none."),
        click.option("--dither-strength", type=click.FloatRange(0, 1), default=1.0, show_default=True,
                     help="How much of the error is spread, 0-1 (with --dither)."),
        click.option("--map", "map_path", type=click.Path(path_type=Path, readable=False),
                     help="Map onto this palette (no k-means): .gpl .json .txt .hex, or an image's colours."),
        click.option("--no-autorotate", is_flag=True, help="Keep the stored orientation (ignore EXIF)."),
        click.option("--no-color-management", is_flag=True,
                     help="Take the pixels as stored: no conversion to sRGB from an embedded ICC profile or "
                          "PNG gAMA/cHRM, and no sRGB tag on the output."),
        click.option("--strip", is_flag=True,
                     help="Keep no metadata in a PNG output: no text, no pixel size (pHYs), no record of the "
                          "parameters."),
        click.option("--quality", type=QualityRange(),
                     help="pngquant's quality target, 0-100: the fewest colours up to -k that reach MAX; "
                          f"write nothing and exit {EXIT_QUALITY} if -k colours stay below MIN.  "
                          "N alone means (9/10 N)-N."),
        click.option("--skip-if-larger", is_flag=True,
                     help=f"Write nothing if the output would be larger than the input (exit {EXIT_LARGER})."),
        click.option("--optimize", type=click.IntRange(0, PNG_OPTIMIZE_MAX), default=PNG_OPTIMIZE_DEFAULT,
                     show_default=True, help=f"PNG compression effort, 0-{PNG_OPTIMIZE_MAX} (as oxipng's -o): higher is "
                     "smaller and slower, 0 is the plain writer; the pixels are the same."),
        max_pixels_option,
    ]

    @functools.wraps(command)
    def gather(*args, dither, dither_strength, no_autorotate, no_color_management, strip, skip_if_larger, max_pixels,
               quality, optimize, **kwargs):
        from ..files import OutputOptions, ReadOptions

        if dither == "none" and given("dither_strength"):
            note("--dither-strength does nothing without --dither", kwargs.get("quiet", False))

        read = ReadOptions(autorotate=not no_autorotate, max_pixels=max_pixels,
                           colour_management=not no_color_management)
        render = OutputOptions(dither=dither, dither_strength=dither_strength, skip_if_larger=skip_if_larger,
                               quality=quality, read=read, strip=strip, optimize=optimize)
        return command(*args, render=render, **kwargs)

    for option in reversed(options):
        gather = option(gather)
    return gather


def given(name: str) -> bool:
    """True when the option ``name`` (its parameter name) of the command being
    run was given, not left at its default."""
    source = click.get_current_context().get_parameter_source(name)
    return source is not None and source is not click.core.ParameterSource.DEFAULT


def output_options(command):
    """--force, --quiet and --json."""
    command = click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object on stdout.")(command)
    command = click.option("-q", "--quiet", is_flag=True, help="No progress bar and no notes.")(command)
    command = click.option("--force", is_flag=True, help="Overwrite existing outputs (never an input).")(command)
    return command


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
