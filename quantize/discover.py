"""What a run finds to work on: the image files under its inputs (the CPUs it
may use are :func:`quantize.limits.default_jobs`).

Shared by ``quantize batch`` (one job per file found) and ``quantize cluster``
(a folder of images as vectors, :mod:`quantize.vectors`), so that neither
command loads the other.  Nothing here reads an image: files are chosen by
name (:data:`DEFAULT_PATTERNS`).
"""
from __future__ import annotations

import enum
import fnmatch
import os
import stat
from dataclasses import dataclass
from pathlib import Path

from .imageio import READ_SUFFIXES

DEFAULT_PATTERNS = tuple(f"*{suffix}" for suffix in READ_SUFFIXES)


class Kind(enum.Enum):
    """What :func:`find_images` found."""

    FILE = "file"  # an image to quantize
    PROBLEM = "problem"  # something that cannot be read: a failure
    LOOP = "loop"  # a symbolic link back into a folder being walked: skipped with a note
    SPECIAL = "special"  # in a folder, not a regular file (a FIFO, socket, device): skipped with a note


@dataclass(frozen=True)
class Found:
    """One thing :func:`find_images` found: for a FILE, ``relative`` is its path
    below the input folder; for the others, ``detail`` says what is wrong."""

    kind: Kind
    path: Path
    relative: Path | None = None
    detail: str | None = None


def find_images(inputs, patterns=DEFAULT_PATTERNS, recursive=False, exclude=None):
    """Yield a :class:`Found` for each matching file, each thing that cannot be
    read, and each symbolic link back into a folder being walked.

    Folders are walked (recursively with ``recursive``), following symbolic
    links but never into a folder already being walked (a loop), and never
    into ``exclude`` (the output folder).  A folder that cannot be read is a
    problem, not a stop.  Nothing that is not a regular file is ever taken,
    for opening it could wait forever (a FIFO without a writer) or never end
    (a device): in a folder it is SPECIAL, skipped with a note; named in
    ``inputs`` it is a problem.
    """
    exclude = os.path.realpath(exclude) if exclude else None
    for given in inputs:
        path = Path(given)
        if path.is_dir() and os.path.realpath(path) == exclude:
            yield Found(Kind.PROBLEM, path, detail="is the output folder; name another with -o")
        elif path.is_dir():
            yield from _walk(path, Path(), patterns, recursive, exclude, set())
        elif path.exists():
            special = _special(path)
            yield (Found(Kind.FILE, path, Path(path.name)) if special is None else
                   Found(Kind.PROBLEM, path, detail=f"{special}, not a regular file: a batch reads files "
                                                    "(the main command reads a stream from -)"))
        else:
            yield Found(Kind.PROBLEM, path, detail="no such file or folder")


def _walk(folder: Path, relative: Path, patterns, recursive, exclude, active):
    real = os.path.realpath(folder)
    if real == exclude:
        return
    if real in active:
        yield Found(Kind.LOOP, folder, detail="symbolic link loop: not followed")
        return
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as error:
        yield Found(Kind.PROBLEM, folder, detail=f"cannot read folder: {error.strerror or error}")
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
            special = _special(path)
            yield (Found(Kind.FILE, path, relative / entry.name) if special is None else
                   Found(Kind.SPECIAL, path, detail=f"{special}, not a regular file: skipped"))


_SPECIAL = ((stat.S_ISFIFO, "a FIFO"), (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
            (stat.S_ISBLK, "a block device"))


def _special(path) -> str | None:
    """What ``path`` is when it is neither a regular file nor a folder (its
    symbolic links followed), e.g. "a FIFO"; None for a file, and for what
    cannot be looked at (a broken link: reading it will say why)."""
    try:
        mode = os.stat(path).st_mode
    except OSError:
        return None
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode):
        return None
    return next((name for test, name in _SPECIAL if test(mode)), "an unknown kind of file")
