"""What a user of the command line reads besides the results: errors worded
from their facts (:func:`describe`), one line each with their exit codes, notes,
and the progress bar.  With the rest of :mod:`quantize.cli`, the only place
that imports click and tqdm and names the command line's options."""
from __future__ import annotations

import os
import sys
from contextlib import contextmanager

import click
from click_default_group import DefaultGroup

from ..errors import Cancelled, ImageWriteError, OutputLargerError, QualityTooLowError, QuantizeError

EXIT_LARGER = OutputLargerError.exit_code
EXIT_QUALITY = QualityTooLowError.exit_code
EXIT_INTERRUPTED = Cancelled.exit_code
CONTEXT = {"help_option_names": ["-h", "--help"]}

# The library's errors whose sentences would name a parameter where the user gave an option, as
# the user reads them, by reason (see quantize.errors.REASONS); any other error reads as str(error).
WORDS = {
    "too-many-pixels": lambda e: f"{e.path}: {e.value[0]}x{e.value[1]} is {e.value[0] * e.value[1] / 1e6:.1f} MP, "
                                 f"above the limit of {e.limit / 1e6:g} MP (--max-pixels)",
    "too-many-frame-pixels": lambda e: f"{e.path}: {e.value[0]} frames of {e.value[1]}x{e.value[2]} are "
                                       f"{e.value[0] * e.value[1] * e.value[2] / 1e6:.1f} MP, above the limit of "
                                       f"{e.limit / 1e6:g} MP (--max-pixels, on all frames together)",
    "too-many-bytes": lambda e: f"{e.path}: more than {e.limit:,} bytes, more than an image within the pixel "
                                f"limit (--max-pixels {e.value}) takes; not read further",
    "exists": lambda e: f"{e.path}: exists; use --force to overwrite it",
    "made-differently": lambda e: f"exists, made with {', '.join(f'{n} {old}' for n, old, _ in e.value)}, "
                                  f"not {', '.join(str(new) for _, _, new in e.value)}; --force redoes it",
    "output-is-input-folder": lambda e: f"{e.path}: is an input folder; name another output folder with -o",
    "quality-and-palette": lambda e: f"{e.path}: a quality target (--quality) chooses K by k-means: "
                                     "not with a palette given in advance (--map)",
    "quality-and-batch-palette": lambda e: "a quality target (--quality) chooses K for each image: not with a "
                                           "palette given in advance (--map) or shared (--shared-palette)",
    "needs-dask": lambda e: "--executor dask needs Dask: pip install 'quantize[dask]'",
    "needs-minibatch": lambda e: f"{e.path}: full k-means needs about {e.value / 1e6:,.0f} MB for these vectors, "
                                 f"more than the {e.limit / 1e6:,.0f} MB available; use --minibatch (its memory "
                                 "stays near a batch and the centroids)",
}


def nothing_matched(inputs, patterns, recursive: bool) -> str:
    """The sentence of a batch that found no file to take: what it searched."""
    from ..discover import DEFAULT_PATTERNS

    what = " ".join(patterns) if patterns else f"the image types OpenCV reads ({' '.join(DEFAULT_PATTERNS)})"
    depth = "sub-folders too" if recursive else "not in sub-folders (-r searches them)"
    return f"nothing matched: searched {', '.join(map(str, inputs))} for {what}, {depth}"


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


class QuantizeCommand(click.Command):
    """A command whose unknown option says how to name a file that starts
    with '-' (Click's own error named only the first letter it did not know)."""

    def parse_args(self, ctx, args):
        given = list(args)  # the parser consumes args
        try:
            return super().parse_args(ctx, args)
        except click.NoSuchOption as error:
            token = _token(given, error.option_name)
            guess = f" (did you mean {' or '.join(sorted(error.possibilities))}?)" if error.possibilities else ""
            raise OneLineUsageError(f"no such option: {token}{guess}; to name a file that starts with '-', "
                                    f"write ./{token} or put it after --", ctx) from None


def _token(args, option: str) -> str:
    """The argument of ``args`` that holds the unknown ``option`` (``-d`` of
    ``-dash.png``, or ``--bogus`` of ``--bogus=1``)."""
    for arg in args:
        if arg == "--":
            break
        if option.startswith("--") and arg.split("=", 1)[0] == option:
            return arg
        if not option.startswith("--") and arg.startswith("-") and not arg.startswith("--") and option[1:] in arg:
            return arg
    return option


class QuantizeGroup(DefaultGroup):
    """A group with a default command whose errors are one line each.

    Anything but the group's own options (``-h``, ``--help``, ``-V``,
    ``--version``) and its commands' names goes to the default command,
    options and unknown options included: Click would read ``-dash.png`` as
    the group's short options (its ``-h`` among them) and print the help.
    ``quantize -- FILE OPTIONS...`` makes FILE the default command's image,
    whatever it starts with.
    """

    command_class = QuantizeCommand

    def parse_args(self, ctx, args):
        own = {name for param in self.get_params(ctx) for name in param.opts + param.secondary_opts}
        if len(args) > 1 and args[0] == "--":
            args = [self.default_cmd_name, *args[2:], "--", args[1]]
        elif args and args[0].startswith("-") and args[0] not in ("-", "--") and args[0] not in own:
            args = [self.default_cmd_name, *args]
        return super().parse_args(ctx, args)

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


def check_stdout() -> None:
    """Before any work for ``-o -``: :class:`ImageWriteError` when there is no
    standard output to write to (closed: ``>&-``)."""
    if sys.stdout is None:
        raise ImageWriteError("-: cannot write: standard output is closed", path="-")


def write_stdout(data: bytes) -> None:
    """Write ``data``, the bytes of an image, to standard output: all of them,
    or :class:`ImageWriteError` (exit code 1) saying why not: closed, a full
    device, a reader that stopped reading (a broken pipe).  A short write is
    not taken for a whole one.  After a failure standard output goes to the
    null device, so that Python's last flush at exit finds nothing to say
    (as its documentation on SIGPIPE advises)."""
    check_stdout()
    try:
        sys.stdout.flush()
        out, view = sys.stdout.buffer, memoryview(data)
        while view:
            view = view[out.write(view) or 0:]
        out.flush()
    except BrokenPipeError:
        _stdout_to_null()
        raise ImageWriteError("-: cannot write: the reader stopped reading (broken pipe)", path="-") from None
    except OSError as error:
        _stdout_to_null()
        raise ImageWriteError(f"-: cannot write: {error.strerror or error}", path="-") from None


def _stdout_to_null() -> None:
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError):  # no file descriptor (a test's stdout): nothing to flush at exit
        pass


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
