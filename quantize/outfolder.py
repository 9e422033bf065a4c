"""What a batch keeps in its output folder while it runs: the lock that
holds the folder for one batch at a time (:func:`locked`), and the manifest
written a line at a time (:class:`ManifestLog`).

Nothing here knows what a record holds: a record is anything with
``to_json()``.  Nothing here prints.
"""
from __future__ import annotations

import os
from contextlib import contextmanager, suppress
from pathlib import Path

from .errors import ImageWriteError, OutputExistsError, QuantizeError

try:
    import fcntl
except ImportError:  # Windows: batches do not lock their output folders
    fcntl = None

MANIFEST = "manifest.jsonl"
LOCK = ".quantize-batch.lock"  # in an output folder while a batch runs into it (see locked)
_HELD: dict[str, int | None] = {}  # the output folders this process holds: real path -> lock descriptor


class ManifestLog:
    """``OUT_DIR/manifest.jsonl`` open for appending while a batch runs: one
    JSON line per record (``record.to_json()``), written and flushed as the
    record comes, after the rows already there (the last line about a file
    is the one that counts: see :func:`quantize.batch.read_manifest`).
    Raises :class:`ImageWriteError` when the file cannot be opened; a line
    that cannot be written is ``error``, and no line is written after it."""

    def __init__(self, out_dir):
        self.path = Path(out_dir) / MANIFEST
        self.error: QuantizeError | None = None
        try:
            torn = self.path.exists() and self.path.stat().st_size > 0 and not _ends_a_line(self.path)
            self.file = open(self.path, "a", encoding="utf-8")
            if torn:  # a line cut short by a kill: end it, so that the next one stands alone
                self.file.write("\n")
        except OSError as error:
            raise ImageWriteError(f"{self.path}: cannot write: {error.strerror or error}", path=self.path) from None

    def add(self, record) -> None:
        if self.error is not None:
            return
        try:
            self.file.write(record.to_json() + "\n")
            self.file.flush()
        except OSError as error:
            self.error = ImageWriteError(f"{self.path}: cannot write: {error.strerror or error}", path=self.path)

    def close(self) -> None:
        try:
            self.file.close()
        except OSError as error:
            self.error = self.error or ImageWriteError(f"{self.path}: cannot write: {error.strerror or error}",
                                                       path=self.path)


def _ends_a_line(path: Path) -> bool:
    """True when the file ``path`` ends with a newline (or cannot be read)."""
    try:
        with open(path, "rb") as file:
            file.seek(-1, os.SEEK_END)
            return file.read(1) == b"\n"
    except OSError:
        return True


@contextmanager
def locked(out_dir):
    """Hold the output folder ``out_dir`` for one batch: made when missing,
    with ``OUT_DIR/.quantize-batch.lock`` locked (``flock``) and holding this
    process's id.  A batch of another process that wants the folder meanwhile
    is refused with :class:`OutputExistsError` (reason "in-use"; ``value``:
    the id of the process that holds it, when known), instead of redoing the
    same files.  The lock belongs to the open file, so the system releases
    it however the process ends, ``kill -9`` included.  On leaving, the lock
    file is removed, and so are the folders made here if they are empty.
    Re-entrant within a process; without ``fcntl`` (Windows) nothing is locked.
    """
    out_dir = Path(out_dir)
    key = os.path.realpath(out_dir)
    if key in _HELD:
        yield
        return
    made = _make_folder(out_dir)
    try:
        _HELD[key] = _lock(out_dir)
    except BaseException:
        _remove_empty(made)
        raise
    try:
        yield
    finally:
        fd = _HELD.pop(key)
        if fd is not None:
            with suppress(OSError):  # removed while still held: see _lock
                os.unlink(out_dir / LOCK)
            os.close(fd)
        _remove_empty(made)


def _make_folder(out_dir: Path) -> list[Path]:
    """Make the folder ``out_dir``; the folders made, innermost first."""
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputExistsError(f"{out_dir}: exists and is not a folder", path=out_dir)
    made = [folder for folder in (out_dir, *out_dir.parents) if not folder.exists()]
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise ImageWriteError(f"{out_dir}: cannot make the folder: {error.strerror or error}", path=out_dir) from None
    return made


def _remove_empty(folders) -> None:
    for folder in folders:
        try:
            folder.rmdir()
        except OSError:
            return


def _lock(out_dir: Path) -> int | None:
    """The descriptor of ``OUT_DIR/.quantize-batch.lock``, locked, holding this
    process's id; None where nothing can be locked.  The holder removes the
    file before it lets go, so a lock taken on a file that is no longer the
    one of that name is let go and taken again on the new file."""
    if fcntl is None:
        return None
    path = out_dir / LOCK
    while True:
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as error:
            raise ImageWriteError(f"{path}: cannot write: {error.strerror or error}", path=path) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode("ascii", "replace").strip()
            os.close(fd)
            pid = int(holder) if holder.isdigit() else None
            raise OutputExistsError(f"{out_dir}: in use by another quantize batch"
                                    + ("" if pid is None else f" (pid {pid})"), reason="in-use", path=out_dir,
                                    value=pid) from None
        except OSError:  # a file system that does not lock: go on unlocked
            return fd
        try:
            if os.path.samestat(os.fstat(fd), os.stat(path)):
                break
        except OSError:
            pass
        os.close(fd)
    os.ftruncate(fd, 0)
    os.write(fd, f"{os.getpid()}\n".encode())
    return fd
