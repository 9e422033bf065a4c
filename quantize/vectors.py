"""Many images as vectors, for k-means on whole pictures (``quantize cluster``).

:func:`load_vectors` reads one ``source``:

* **a folder of images**: every image file below it (any depth, following
  symbolic links but not loops), in the order of their paths sorted folder
  by folder (``a/z.png`` before ``a.png``: the folder ``a`` sorts first).  In the ImageFolder layout, ``root/<class>/<image>``
  (deeper folders allowed: the first folder below the root is the class),
  the class folders' names are the labels; when some images lie directly in
  the root (no class), there are no labels at all.  Each image is decoded
  (:func:`quantize.imageio.read_image`, EXIF orientation applied; ``jobs``
  threads at once), made grey (or kept RGB), an alpha channel composited
  over black, fitted into a ``size`` x ``size`` square keeping its aspect
  ratio, padded with black (:func:`quantize.imageio.resize_padded`), and
  scaled to [0, 1].  A file that cannot be read goes to ``failures`` and
  loading goes on.  Report folders are never inputs: ``exclude`` (the
  report folder of this run) is not walked, nor any folder below the root
  that holds a cluster report (``clusters.json`` and ``assignments.csv``),
  which gets a note.
* **MNIST's IDX files**: ``train-images-idx3-ubyte`` (or any ``*idx3-ubyte``),
  optionally gzipped; labels come from the matching
  ``train-labels-idx1-ubyte[.gz]`` beside it when there is one.
* **a ``.npy`` array**: ``(n, d)``, ``(n, h, w)``, ``(n, h, w, 1)`` or
  ``(n, h, w, 3)``; ``uint8`` (or any integers within 0..255) scaled by
  1/255, floats kept as they are (they must be finite and within [0, 1]),
  booleans as 0 and 1.

IDX files and arrays keep their own picture size: ``size``, ``grey`` and
``max_pixels`` apply to folders only.

``labels`` (a file) gives or replaces the true labels: a ``.npy`` array
``(n,)``, or a CSV file, either one label per line in the order of the
vectors or ``name,label`` rows matched to :attr:`VectorSet.names` (or to
their base names), with an optional header (``input,label`` or
``name,label``; ``label`` for one column).  Labels from a CSV file are text.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.save(folder / "four.npy", np.arange(4 * 9, dtype=np.uint8).reshape(4, 9))
>>> data = load_vectors(folder / "four.npy")
>>> data.vectors.shape, data.vectors.dtype, data.shape, data.names[1], data.labels
((4, 9), dtype('float32'), (3, 3), 'four.npy#1', None)
"""
from __future__ import annotations

import csv
import gzip
import io
import math
import re
import zlib
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import numpy as np

from .discover import Kind, find_images
from .errors import ImageReadError, ParameterError
from .imageio import READ_SUFFIXES, decoders_quiet, over_black, read_image, resize_padded, to_grey
from .limits import MAX_PIXELS
from .progress import ProgressCallback, notify

IDX_IMAGES = 0x00000803  # unsigned bytes, three dimensions: (n, h, w)
IDX_LABELS = 0x00000801  # unsigned bytes, one dimension: (n,)
MAX_SIZE = 1024  # the largest picture side a folder's images are fitted into
_IDX_NAME = re.compile(r"idx\d-ubyte(\.gz)?$", re.IGNORECASE)
_BLOCK = 256  # images handed to the threads at a time (memory, and a prompt stop)
REPORT_MARKERS = ("clusters.json", "assignments.csv")  # a folder holding both holds a cluster report


@dataclass(frozen=True)
class VectorSet:
    """Images as vectors.

    Attributes
    ----------
    vectors : (n, d) float32
        One image a row, values in [0, 1] (0 black).
    shape : tuple of int
        One vector as a picture: ``(h, w)`` grey or ``(h, w, 3)`` RGB, or
        ``(d,)`` for vectors that are not pictures; ``d = prod(shape)``.
    names : tuple of str, length n
        Each vector's name: for a folder, the file's path below it (with ``/``);
        for an IDX file or array, ``"<file name>#<index>"`` (index from 0).
    labels : (n,) array or None
        The true labels, when known: ints (``int64``) from IDX and ``.npy``
        labels, text (``str``) from class folders and CSV files.
    failures : tuple of (str, str)
        ``(name, cause)`` of each file of a folder that could not be read
        (the cause one line), in path order.
    notes : tuple of str
        Remarks for the user: the folders skipped as cluster reports.
    """

    vectors: np.ndarray
    shape: tuple[int, ...]
    names: tuple[str, ...]
    labels: np.ndarray | None
    failures: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()


def load_vectors(source, *, size: int = 28, grey: bool = True, labels=None, jobs: int = 1,
                 max_pixels: int | None = MAX_PIXELS, on_progress: ProgressCallback | None = None,
                 describe=None, exclude=None) -> VectorSet:
    """Load the images of ``source`` (a folder, an IDX file or a ``.npy`` array;
    see the module's notes) as a :class:`VectorSet`.

    ``size`` (1 to 1024): the side of the square a folder's images are
    fitted into; ``grey``: make them grey (``shape (size, size)``), else RGB
    (``(size, size, 3)``); ``labels``: a labels file, which replaces any labels
    the source has; ``jobs``: threads decoding a folder's images; ``max_pixels``:
    a larger image of a folder is a failure; ``on_progress``: see
    :mod:`quantize.progress`; ``describe(error) -> str``: how the causes of
    failures are worded (default ``str``); ``exclude``: a folder not to walk
    (the report folder).  The result does not depend on ``jobs``.

    Raises :class:`ImageReadError` when ``source`` is missing, is not a valid
    IDX file or array, or (a folder) holds no image that can be read;
    :class:`ParameterError` for a bad argument, a single image as ``source``,
    or labels that do not match the vectors.
    """
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or not 1 <= size <= MAX_SIZE:
        raise ParameterError(f"size must be a whole number from 1 to {MAX_SIZE}, got {size!r}")
    if not isinstance(jobs, (int, np.integer)) or isinstance(jobs, bool) or jobs < 1:
        raise ParameterError(f"jobs must be a whole number >= 1, got {jobs!r}")
    path = Path(source)
    notify(on_progress, 0.0)
    if path.is_dir():
        data = _load_folder(path, int(size), bool(grey), int(jobs), max_pixels, on_progress, describe or str,
                            exclude)
    elif not path.exists():
        raise ImageReadError(f"{source}: no such file or folder")
    elif path.suffix.lower() == ".npy":
        data = _load_npy(path)
    elif _IDX_NAME.search(path.name) or _sniff_idx(path):
        data = _load_idx(path, want_labels=labels is None)
    elif path.suffix.lower() in READ_SUFFIXES:
        raise ParameterError(f"{source}: is a single image; give a folder, an IDX file or a .npy array")
    else:
        raise ParameterError(f"{source}: not a folder, an IDX file or a .npy array; give one of those")
    if labels is not None:
        data = replace(data, labels=read_labels(labels, data.names))
    notify(on_progress, 1.0)
    return data


# --- a folder of images ---------------------------------------------------------------------------


def _load_folder(folder: Path, size, grey, jobs, max_pixels, on_progress, describe, exclude) -> VectorSet:
    files, failures = [], []
    reports = _ReportFolders(folder)
    for found in find_images([folder], recursive=True, exclude=exclude):
        if reports.holds(found.path):
            continue
        if found.kind is Kind.FILE:
            files.append((found.relative.parts, found.path))
        elif found.kind is Kind.PROBLEM:
            failures.append((_name(folder, found.path), found.detail))
        # Kind.LOOP: a link back into the folder; its images are reached anyway.
    if not files:
        raise ImageReadError(f"{folder}: no image files found (looked for {', '.join(READ_SUFFIXES)})")
    files.sort(key=lambda item: item[0])

    def load(item):
        parts, path = item
        try:
            image = read_image(path, max_pixels=max_pixels)
        except ImageReadError as error:
            return None, _cause(describe(error), str(path))
        return resize_padded(to_grey(image) if grey else over_black(image), size), None

    pictures, names, classes = [], [], []
    with decoders_quiet(), (ThreadPoolExecutor(max_workers=jobs) if jobs > 1 else nullcontext()) as pool:
        for start in range(0, len(files), _BLOCK):
            block = files[start:start + _BLOCK]
            results = pool.map(load, block) if pool is not None else map(load, block)
            for (parts, _), (picture, cause) in zip(block, results):
                name = "/".join(parts)
                if picture is None:
                    failures.append((name, cause))
                    continue
                pictures.append(picture)
                names.append(name)
                classes.append(parts[0] if len(parts) > 1 else None)
            notify(on_progress, (start + len(block)) / len(files))
    if not pictures:
        first, cause = failures[0]
        raise ImageReadError(f"{folder}: none of the {len(files):,} image files could be read "
                             f"(first: {first}: {cause})")
    stack = np.stack(pictures)
    vectors = stack.reshape(len(stack), -1).astype(np.float32) / np.float32(255)
    labels = None if None in classes else np.array(classes, dtype=str)
    return VectorSet(vectors, tuple(stack.shape[1:]), tuple(names), labels, tuple(failures), reports.notes())


class _ReportFolders:
    """The folders below ``root`` that hold a cluster report (both
    :data:`REPORT_MARKERS`): never inputs, each skipped with a note."""

    def __init__(self, root: Path):
        self.root = root
        self.known: dict[Path, bool] = {}
        self.skipped: set[Path] = set()

    def holds(self, path: Path) -> bool:
        """Whether ``path`` (found below the root) lies in a report folder."""
        try:
            parts = Path(path).relative_to(self.root).parts
        except ValueError:
            return False
        for depth in range(1, len(parts)):  # the folders below the root, outermost first
            folder = self.root.joinpath(*parts[:depth])
            if folder not in self.known:
                self.known[folder] = all((folder / name).is_file() for name in REPORT_MARKERS)
            if self.known[folder]:
                self.skipped.add(folder)
                return True
        return False

    def notes(self) -> tuple[str, ...]:
        return tuple(f"{folder}: holds a cluster report ({', '.join(REPORT_MARKERS)}): not read as input"
                     for folder in sorted(self.skipped))


def _name(folder: Path, path: Path) -> str:
    try:
        return PurePosixPath(*Path(path).relative_to(folder).parts).as_posix()
    except ValueError:
        return str(path)


def _cause(message: str, path: str) -> str:
    """The cause in ``"path: cause"`` (one line)."""
    cause = message[len(path) + 2:] if message.startswith(path + ": ") else message
    return " ".join(cause.split())


# --- MNIST's IDX files ----------------------------------------------------------------------------


def _sniff_idx(path: Path) -> bool:
    """Whether the file starts as an IDX file of unsigned bytes does (gzipped or not)."""
    try:
        with open(path, "rb") as file:
            head = file.read(4)
            if head[:2] == b"\x1f\x8b":
                file.seek(0)
                with gzip.GzipFile(fileobj=file) as unzipped:
                    head = unzipped.read(4)
    except (OSError, EOFError, zlib.error):
        return False
    return len(head) == 4 and head[:3] == b"\0\0\x08" and 1 <= head[3] <= 4


def _read_bytes(path: Path) -> bytes:
    """The bytes of a file, ungzipped when it is gzipped (by its first bytes)."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read: {error.strerror or error}") from None
    if data[:2] == b"\x1f\x8b":
        try:
            data = gzip.decompress(data)
        except EOFError:
            raise ImageReadError(f"{path}: truncated gzip file (it ends before its compressed data does)") from None
        except (OSError, zlib.error) as error:
            raise ImageReadError(f"{path}: corrupt gzip file ({' '.join(str(error).split())})") from None
    return data


def read_idx(path, magic: int) -> np.ndarray:
    """The ``uint8`` array of an IDX file (gzipped or not) whose magic number
    must be ``magic`` (``0x00000803``: images ``(n, h, w)``; ``0x00000801``:
    labels ``(n,)``).  Raises :class:`ImageReadError` naming the file for a
    wrong magic number, a header cut short, a file shorter or longer than its
    header says, an empty array, or a corrupt gzip stream."""
    path = Path(path)
    data = _read_bytes(path)
    ndim = magic & 0xFF
    if len(data) < 4:
        raise ImageReadError(f"{path}: not an IDX file (only {len(data)} bytes)")
    found = int.from_bytes(data[:4], "big")
    if found != magic:
        raise ImageReadError(f"{path}: not an IDX {'image' if ndim == 3 else 'label'} file "
                             f"(magic number 0x{found:08x}, expected 0x{magic:08x})")
    head = 4 + 4 * ndim
    if len(data) < head:
        raise ImageReadError(f"{path}: truncated IDX header ({len(data)} bytes, expected {head})")
    dims = tuple(int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim))
    need = math.prod(dims)
    have = len(data) - head
    what = " x ".join(f"{d:,}" for d in dims)
    if have < need:
        raise ImageReadError(f"{path}: truncated: the header says {what} = {need:,} bytes of data, "
                             f"the file has {have:,}")
    if have > need:
        raise ImageReadError(f"{path}: {have - need:,} bytes more than the header says ({what} = {need:,})")
    if need == 0:
        raise ImageReadError(f"{path}: holds no data (dimensions {what})")
    return np.frombuffer(data, np.uint8, need, head).reshape(dims)


def idx_labels_path(images) -> Path | None:
    """The labels file beside an IDX images file (``train-images-idx3-ubyte.gz``:
    ``train-labels-idx1-ubyte.gz`` or ``train-labels-idx1-ubyte``, in the
    gzip-ness of the images first), or None when there is none."""
    images = Path(images)
    name = images.name
    stem = name[:-3] if name.lower().endswith(".gz") else name
    if "images" not in stem or "idx3" not in stem:
        return None
    stem = stem.replace("images", "labels").replace("idx3", "idx1")
    order = (stem + ".gz", stem) if name.lower().endswith(".gz") else (stem, stem + ".gz")
    for candidate in order:
        if (images.parent / candidate).is_file():
            return images.parent / candidate
    return None


def _load_idx(path: Path, want_labels: bool) -> VectorSet:
    images = read_idx(path, IDX_IMAGES)
    n = len(images)
    labels = None
    labels_path = idx_labels_path(path) if want_labels else None
    if labels_path is not None:
        labels = read_idx(labels_path, IDX_LABELS).astype(np.int64)
        if len(labels) != n:
            raise ImageReadError(f"{labels_path}: {len(labels):,} labels for the {n:,} images of {path.name}")
    vectors = images.reshape(n, -1).astype(np.float32) / np.float32(255)
    names = tuple(f"{path.name}#{i}" for i in range(n))
    return VectorSet(vectors, tuple(images.shape[1:]), names, labels)


# --- a .npy array ---------------------------------------------------------------------------------


def _load_npy(path: Path) -> VectorSet:
    array = _np_load(path, ImageReadError)
    if array.ndim == 2:
        side = math.isqrt(array.shape[1])
        shape = (side, side) if side * side == array.shape[1] else (array.shape[1],)
    elif array.ndim == 3:
        shape = array.shape[1:]
    elif array.ndim == 4 and array.shape[3] in (1, 3):
        shape = array.shape[1:3] if array.shape[3] == 1 else array.shape[1:]
    else:
        raise ImageReadError(f"{path}: an array of shape {array.shape}; expected (n, d), (n, h, w), "
                             "(n, h, w, 1) or (n, h, w, 3)")
    if array.shape[0] == 0 or 0 in shape:
        raise ImageReadError(f"{path}: holds no vectors (shape {array.shape})")
    n = len(array)
    flat = array.reshape(n, -1)
    if array.dtype == np.uint8:
        vectors = flat.astype(np.float32) / np.float32(255)
    elif array.dtype == np.bool_:
        vectors = flat.astype(np.float32)
    elif np.issubdtype(array.dtype, np.integer):
        low, high = int(flat.min()), int(flat.max())
        if low < 0 or high > 255:
            raise ImageReadError(f"{path}: integer values must lie in 0..255 (found {low}..{high}); "
                                 "scale them, or give floats in [0, 1]")
        vectors = flat.astype(np.float32) / np.float32(255)
    elif np.issubdtype(array.dtype, np.floating):
        vectors = flat.astype(np.float32)
        if not np.isfinite(vectors).all():
            raise ImageReadError(f"{path}: holds NaN or infinite values")
        low, high = float(vectors.min()), float(vectors.max())
        if low < 0.0 or high > 1.0:
            raise ImageReadError(f"{path}: float values must lie in [0, 1] (found {low:g} to {high:g}); "
                                 "scale the array first (or give uint8 0..255)")
    else:
        raise ImageReadError(f"{path}: unsupported element type {array.dtype} (uint8, integers 0..255 "
                             "or floats in [0, 1])")
    names = tuple(f"{path.name}#{i}" for i in range(n))
    return VectorSet(np.ascontiguousarray(vectors), tuple(int(s) for s in shape), names, None)


def _np_load(path: Path, error) -> np.ndarray:
    """``np.load`` of a ``.npy`` file (no pickles), its failures as ``error``
    naming the file."""
    try:
        array = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise error(f"{path}: no such file") from None
    except OSError as cause:
        raise error(f"{path}: cannot read: {cause.strerror or ' '.join(str(cause).split())}") from None
    except (ValueError, EOFError) as cause:
        raise error(f"{path}: not a readable .npy array ({' '.join(str(cause).split())})") from None
    if not isinstance(array, np.ndarray):  # an .npz archive under a .npy name
        raise error(f"{path}: not a .npy array (an .npz archive?)")
    return array


# --- labels files ---------------------------------------------------------------------------------


def read_labels(path, names) -> np.ndarray:
    """The ``(n,)`` labels, from the file ``path``, of the vectors named
    ``names`` (length n).

    A ``.npy`` file holds an ``(n,)`` array (integers, or floats that are
    whole numbers, as ``int64``; text as ``str``).  Any other file is CSV
    text: one label per line in the order of ``names``, or ``name,label``
    rows, each name one of ``names`` or its base name (the file's name
    without its folders); a first row ``input,label``, ``name,label`` or
    ``label`` is a header.  Blank lines are skipped; labels are text.

    Raises :class:`ImageReadError` when the file is missing or unreadable,
    :class:`ParameterError` when its labels do not match ``names``.
    """
    path = Path(path)
    n = len(names)
    if path.suffix.lower() == ".npy":
        labels = _np_load(path, ImageReadError)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels[:, 0]
        if labels.ndim != 1:
            raise ParameterError(f"{path}: labels must be a 1-D array (n,), got shape {labels.shape}")
        if len(labels) != n:
            raise ParameterError(f"{path}: {len(labels):,} labels for {n:,} vectors")
        if labels.dtype == np.bool_ or np.issubdtype(labels.dtype, np.integer):
            return labels.astype(np.int64)
        if np.issubdtype(labels.dtype, np.floating):
            if not (np.isfinite(labels).all() and (labels == np.round(labels)).all()):
                raise ParameterError(f"{path}: float labels must be whole numbers")
            return labels.astype(np.int64)
        if labels.dtype.kind in "US":
            return labels.astype(str)
        raise ParameterError(f"{path}: unsupported label type {labels.dtype} (integers or text)")
    rows = _read_csv(path)
    if not rows:
        raise ParameterError(f"{path}: no labels in the file")
    widths = {len(row) for row in rows}
    if widths == {1}:
        if rows[0][0].lower() == "label" and len(rows) == n + 1:
            rows = rows[1:]
        if len(rows) != n:
            raise ParameterError(f"{path}: {len(rows):,} labels for {n:,} vectors (one label a line, in order)")
        return np.array([row[0] for row in rows], dtype=str)
    if widths != {2}:
        raise ParameterError(f"{path}: expected one label a line, or name,label rows; "
                             f"found rows of {', '.join(str(w) for w in sorted(widths))} columns")
    if [cell.lower() for cell in rows[0]] in (["input", "label"], ["name", "label"]):
        rows = rows[1:]
    given = {}
    for name, label in rows:
        key = _clean(name)
        if given.setdefault(key, label) != label:
            raise ParameterError(f"{path}: {name!r} has two labels ({given[key]!r} and {label!r})")
    out, missing = [], []
    bases = {}
    for name in names:
        base = PurePosixPath(name).name
        bases.setdefault(base, []).append(name)
    for name in names:
        base = PurePosixPath(name).name
        if name in given:
            out.append(given[name])
        elif base in given and len(bases[base]) == 1:
            out.append(given[base])
        elif base in given:
            raise ParameterError(f"{path}: {base!r} is ambiguous: {len(bases[base])} inputs have that base name "
                                 f"(e.g. {bases[base][0]}, {bases[base][1]}); name them by their paths")
        else:
            missing.append(name)
    if missing:
        raise ParameterError(f"{path}: no label for {len(missing):,} of {n:,} inputs (first: {missing[0]})")
    return np.array(out, dtype=str)


def _clean(name: str) -> str:
    """A name of a labels file as the names of vectors are written (``/``, no ``./``)."""
    name = name.replace("\\", "/")
    while name.startswith("./"):
        name = name[2:]
    return name


def _read_csv(path: Path) -> list[list[str]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not a labels file") from None
    except UnicodeDecodeError:
        raise ParameterError(f"{path}: not a UTF-8 text file (a labels file is CSV text or a .npy array)") from None
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read: {error.strerror or error}") from None
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise ParameterError(f"{path}: not readable as CSV ({error})") from None
    return [[cell.strip() for cell in row] for row in rows if any(cell.strip() for cell in row)]
