"""The command line: the only package that imports click and tqdm, and the
only one that names its options in what a user reads.

:mod:`~.words` words the library's errors (from the facts they carry), notes
and the progress bar; :mod:`~.options` declares the shared options once;
:mod:`~.commands` holds the commands, each parsing its options, calling one
library function and printing what it returned.  A
:class:`~quantize.errors.QuantizeError` becomes one line on stderr, worded by
:func:`describe`, and its exit code (see README, "Exit codes").
"""
from .commands import cli, main, palette_lines
from .options import parse_ks
from .words import WORDS, describe

__all__ = ["WORDS", "cli", "describe", "main", "palette_lines", "parse_ks"]
