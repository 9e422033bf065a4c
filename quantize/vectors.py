"""Many images as vectors, for k-means on whole pictures (``quantize cluster``)
and for labelling new ones with a model (``quantize classify``).

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
  ``train-labels-idx1-ubyte[.gz]`` beside it when there is one.  MNIST's
  test set beside its training set: :func:`find_test_source`.
* **a ``.npy`` array**: ``(n, d)``, ``(n, h, w)``, ``(n, h, w, 1)`` or
  ``(n, h, w, 3)``.  ``uint8`` is pixels, scaled by 1/255; ``bool`` is 0 and
  1; any other real type (other integers too) is taken as it is, at any
  range, memory-mapped and not copied; NaN or infinity, and types that are
  not real numbers, are refused (:class:`~quantize.errors.VectorDataError`).
  See :mod:`quantize.vector_files`.

IDX files and arrays keep their own picture size: ``size``, ``grey`` and
``max_pixels`` apply to folders only.  :attr:`VectorSet.unit_range` says
whether the vectors are pixels in [0, 1], :attr:`VectorSet.preprocessing`
how they were made.

``labels`` (a file) gives or replaces the true labels: a ``.npy`` array
``(n,)``, or a CSV file, either one label per line in the order of the
vectors or ``name,label`` rows matched to :attr:`VectorSet.names` (or to
their base names), with an optional header (``input,label`` or
``name,label``; ``label`` for one column).  Labels from a CSV file are text.

:func:`load_inputs` reads any mix of single images, folders, IDX files and
arrays as one set (what a model labels); :func:`working_bytes` and
:func:`available_memory` say whether full k-means fits in memory.

>>> import tempfile, pathlib
>>> folder = pathlib.Path(tempfile.mkdtemp())
>>> np.save(folder / "four.npy", np.arange(4 * 9, dtype=np.uint8).reshape(4, 9))
>>> data = load_vectors(folder / "four.npy")
>>> data.vectors.shape, data.vectors.dtype, data.shape, data.names[1], data.labels, data.unit_range
((4, 9), dtype('float32'), (3, 3), 'four.npy#1', None, True)
"""
from __future__ import annotations

import os
import sys
from concurrent.futures import ThreadPoolExecutor
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath

import numpy as np

from .discover import Kind, find_images
from .errors import ImageReadError, ParameterError, VectorDataError
from .imageio import READ_SUFFIXES, decoders_quiet, over_black, read_image, resize_padded, to_grey
from .limits import MAX_PIXELS
from .progress import ProgressCallback, notify
from .vector_files import (IDX_IMAGES, IDX_LABELS, IDX_NAME, find_test_source, idx_labels_path,  # noqa: F401
                           read_idx, read_labels, read_npy, sniff_idx)

MAX_SIZE = 1024  # the largest picture side a folder's images are fitted into
_BLOCK = 256  # images handed to the threads at a time (memory, and a prompt stop)
REPORT_MARKERS = ("clusters.json", "assignments.csv")  # a folder holding both holds a cluster report
PIXELS = 1 / 255  # the scale of 8-bit pixels


def _unknown() -> dict:
    return {"source": None, "size": None, "grey": None, "scale": None}


@dataclass(frozen=True)
class VectorSet:
    """Images as vectors.

    Attributes
    ----------
    vectors : (n, d) array
        One image a row: ``float32`` in [0, 1] (0 black) for folders, IDX
        files and ``uint8`` or ``bool`` arrays; for any other real ``.npy``
        array its own values and type, a read-only memory-mapped view of the
        file (see :mod:`quantize.vector_files`).
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
        Remarks for the user: the folders skipped as cluster reports, an
        array read into memory.
    unit_range : bool
        Whether the vectors are pixels in [0, 1] (False for an array taken
        as it is: a picture of one is then shown at its own min..max).
    preprocessing : dict
        How the vectors were made, JSON-ready: ``source`` (``"folder"``,
        ``"idx"`` or ``"npy"``; from :func:`load_inputs` also ``"image"``, or
        ``"mixed"``), ``size`` and ``grey`` (a folder's pictures; ``grey``
        True for IDX; None where they do not apply) and ``scale`` (1/255 for
        8-bit pixels, 1.0 for booleans, None for values taken as they are).
    """

    vectors: np.ndarray
    shape: tuple[int, ...]
    names: tuple[str, ...]
    labels: np.ndarray | None
    failures: tuple[tuple[str, str], ...] = ()
    notes: tuple[str, ...] = ()
    unit_range: bool = True
    preprocessing: dict = field(default_factory=_unknown)


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
    :class:`VectorDataError` for an array of NaN, infinity or no real
    numbers; :class:`ParameterError` for a bad argument, a single image as
    ``source``, or labels that do not match the vectors.
    """
    _check_arguments(size, jobs)
    path = Path(source)
    notify(on_progress, 0.0)
    if path.is_dir():
        data = _load_folder(path, int(size), bool(grey), int(jobs), max_pixels, on_progress, describe or str,
                            exclude)
    elif not path.exists():
        raise ImageReadError(f"{source}: no such file or folder")
    elif path.suffix.lower() == ".npy":
        data = _load_npy(path)
    elif IDX_NAME.search(path.name) or sniff_idx(path):
        data = _load_idx(path, want_labels=labels is None)
    elif path.suffix.lower() in READ_SUFFIXES:
        raise ParameterError(f"{source}: is a single image; give a folder, an IDX file or a .npy array")
    else:
        raise ParameterError(f"{source}: not a folder, an IDX file or a .npy array; give one of those")
    if labels is not None:
        data = replace(data, labels=read_labels(labels, data.names))
    notify(on_progress, 1.0)
    return data


def _check_arguments(size, jobs) -> None:
    if not isinstance(size, (int, np.integer)) or isinstance(size, bool) or not 1 <= size <= MAX_SIZE:
        raise ParameterError(f"size must be a whole number from 1 to {MAX_SIZE}, got {size!r}")
    if not isinstance(jobs, (int, np.integer)) or isinstance(jobs, bool) or jobs < 1:
        raise ParameterError(f"jobs must be a whole number >= 1, got {jobs!r}")


# --- many inputs at once (quantize classify) -------------------------------------------------------


def load_inputs(paths, *, size: int = 28, grey: bool = True, jobs: int = 1, max_pixels: int | None = MAX_PIXELS,
                describe=None) -> VectorSet:
    """Any mix of single image files, folders, IDX files and ``.npy`` arrays
    as one :class:`VectorSet`, in the order of ``paths``: the vectors a model
    labels (no labels are read).

    Single images and folders' images are made vectors exactly as
    :func:`load_vectors` makes a folder's (``size``, ``grey``, ``max_pixels``,
    ``jobs``, ``describe`` as there); IDX files and arrays as there too.
    Names: a single image's path as given, a folder's images
    ``<folder as given>/<path below it>``, IDX files' and arrays' vectors
    ``<file name>#<index>``.  An image that cannot be read (single, or in a
    folder) goes to ``failures`` and loading goes on.  Every input must give
    vectors of one length, or :class:`VectorDataError` (``shape-mismatch``,
    ``value`` its shape, ``limit`` the first input's) names the first input
    that differs, before any image is decoded; the set's ``shape`` is the
    first input's.  One memory-mapped array alone is returned as it is (no
    copy); several inputs are joined in memory.

    Raises :class:`ImageReadError` for a missing input, an unreadable IDX
    file or array, a folder without a readable image, or when no input at
    all can be read; :class:`ParameterError` for no inputs, a bad argument,
    or a file that is none of those kinds.
    """
    _check_arguments(size, jobs)
    if isinstance(paths, (str, bytes, os.PathLike)):  # one path, not its letters
        paths = [paths]
    sources = [(_kind_of(given), given) for given in paths]
    if not sources:
        raise ParameterError("paths: give at least one input")
    arrays = {i: _load_idx(Path(given), want_labels=False) if kind == "idx" else _load_npy(Path(given))
              for i, (kind, given) in enumerate(sources) if kind in ("idx", "npy")}
    picture = (int(size), int(size)) if grey else (int(size), int(size), 3)
    _check_lengths(sources, arrays, picture)
    options = dict(size=int(size), grey=bool(grey), jobs=int(jobs), max_pixels=max_pixels,
                   describe=describe or str)
    parts, failures = [], []
    index = 0
    while index < len(sources):
        kind, given = sources[index]
        if kind == "image":
            end = index
            while end < len(sources) and sources[end][0] == "image":
                end += 1
            part = _load_images([os.fspath(g) for _, g in sources[index:end]], picture, options)
            index = end
        else:
            part = arrays[index] if index in arrays else _in_folder(given, options)
            index += 1
        failures += part.failures
        if len(part.names):
            parts.append(part)
    if not parts:
        raise ImageReadError(f"none of the {len(failures):,} inputs could be read "
                             f"(first: {failures[0][0]}: {failures[0][1]})")
    return _joined(parts, tuple(failures))


def _kind_of(given) -> str:
    """``"folder"``, ``"npy"``, ``"idx"`` or ``"image"``: what the input ``given`` is."""
    path = Path(given)
    if path.is_dir():
        return "folder"
    if not path.exists():
        raise ImageReadError(f"{os.fspath(given)}: no such file or folder")
    suffix = path.suffix.lower()
    if suffix == ".npy":
        return "npy"
    if IDX_NAME.search(path.name):
        return "idx"
    if suffix in READ_SUFFIXES:
        return "image"
    if sniff_idx(path):
        return "idx"
    raise ParameterError(f"{os.fspath(given)}: not an image, a folder, an IDX file or a .npy array; "
                         "give one of those")


def _check_lengths(sources, arrays, picture) -> None:
    """:class:`VectorDataError` naming the first input whose vectors' length
    differs from the first input's (images and folders give ``picture``)."""
    shapes = [arrays[i].shape if i in arrays else picture for i in range(len(sources))]
    for (_, given), shape in zip(sources, shapes):
        if int(np.prod(shape)) != int(np.prod(shapes[0])):
            raise VectorDataError(
                f"{os.fspath(given)}: vectors of {_shape_words(shape)}, not of {_shape_words(shapes[0])} as "
                f"those of {os.fspath(sources[0][1])}", reason="shape-mismatch", path=given, value=tuple(shape),
                limit=tuple(shapes[0]))


def _shape_words(shape) -> str:
    """``28x28 (784 values)``."""
    return f"{'x'.join(map(str, shape))} ({int(np.prod(shape)):,} values)"


def _load_images(names, picture, options) -> VectorSet:
    """Single image files (named as given) as vectors, made as a folder's are."""
    pictures, kept, failures = _decode([(name, Path(name)) for name in names], options["size"], options["grey"],
                                       options["jobs"], options["max_pixels"], options["describe"])
    vectors = _as_vectors(pictures)[0] if pictures else np.zeros((0, int(np.prod(picture))), np.float32)
    return VectorSet(vectors, picture, tuple(names[i] for i in kept), None, tuple(failures),
                     preprocessing=_pixels("image", options["size"], options["grey"]))


def _in_folder(given, options) -> VectorSet:
    """A folder's images, named ``<folder as given>/<path below it>``."""
    data = _load_folder(Path(given), options["size"], options["grey"], options["jobs"], options["max_pixels"],
                        None, options["describe"], None)
    prefix = os.fspath(given).rstrip("/")
    return replace(data, names=tuple(f"{prefix}/{name}" for name in data.names), labels=None,
                   failures=tuple((f"{prefix}/{name}", cause) for name, cause in data.failures))


def _joined(parts: list[VectorSet], failures) -> VectorSet:
    """One :class:`VectorSet` of ``parts`` (of one vector length), no labels."""
    notes = tuple(note for part in parts for note in part.notes)
    if len(parts) == 1:  # as it is: a memory map stays one
        return replace(parts[0], labels=None, failures=failures, notes=notes)
    vectors = np.concatenate([np.asarray(part.vectors) for part in parts])
    names = tuple(name for part in parts for name in part.names)
    preprocessing = {}  # what the parts have in common
    for key in _unknown():
        values = {repr(part.preprocessing.get(key)) for part in parts}
        preprocessing[key] = parts[0].preprocessing.get(key) if len(values) == 1 else None
    preprocessing["source"] = preprocessing["source"] or "mixed"
    return VectorSet(vectors, parts[0].shape, names, None, failures, notes,
                     all(part.unit_range for part in parts), preprocessing)


def _pixels(source: str, size, grey) -> dict:
    return {"source": source, "size": size, "grey": grey, "scale": PIXELS}


# --- memory ---------------------------------------------------------------------------------------


def working_bytes(data: VectorSet) -> int:
    """The bytes full k-means holds for the vectors of ``data``: ``n * d * 4``
    for ``float32`` vectors, ``n * d * 8`` for any other type (converted to
    ``float64``)."""
    n, d = data.vectors.shape
    return int(n) * int(d) * (4 if data.vectors.dtype == np.float32 else 8)


def available_memory() -> int:
    """The bytes of memory this process can take now: ``MemAvailable`` of
    ``/proc/meminfo`` (Linux), else the free physical pages
    (``os.sysconf``), else all physical memory, else ``sys.maxsize``
    (unknown); never above a container's memory limit (cgroup v2's
    ``memory.max``, v1's ``memory.limit_in_bytes``) when there is one."""
    found = None
    try:
        with open("/proc/meminfo", encoding="ascii") as file:
            for line in file:
                if line.startswith("MemAvailable:"):
                    found = int(line.split()[1]) * 1024
                    break
    except (OSError, ValueError, IndexError):
        pass
    for pages in ("SC_AVPHYS_PAGES", "SC_PHYS_PAGES"):
        if found is None:
            try:
                found = os.sysconf(pages) * os.sysconf("SC_PAGE_SIZE")
            except (AttributeError, ValueError, OSError):
                pass
    found = sys.maxsize if found is None or found <= 0 else found
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            with open(limit_file, encoding="ascii") as file:
                limit = int(file.read().strip())  # "max" (no limit) is no number
        except (OSError, ValueError):
            continue
        found = min(found, limit)
    return int(found)


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
    pictures, kept, missed = _decode([("/".join(parts), path) for parts, path in files], size, grey, jobs,
                                     max_pixels, describe, on_progress)
    failures += missed
    if not pictures:
        first, cause = failures[0]
        raise ImageReadError(f"{folder}: none of the {len(files):,} image files could be read "
                             f"(first: {first}: {cause})")
    vectors, shape = _as_vectors(pictures)
    names = tuple("/".join(files[i][0]) for i in kept)
    classes = [files[i][0][0] if len(files[i][0]) > 1 else None for i in kept]
    labels = None if None in classes else np.array(classes, dtype=str)
    return VectorSet(vectors, shape, names, labels, tuple(failures), reports.notes(),
                     preprocessing=_pixels("folder", size, grey))


def _decode(files, size, grey, jobs, max_pixels, describe, on_progress=None):
    """``(pictures, kept, failures)`` of the image files ``[(name, path)]``:
    each decoded and fitted into ``size`` x ``size`` (grey or RGB) as
    ``uint8``, the indices of those read, and ``(name, cause)`` of the others."""

    def load(item):
        _, path = item
        try:
            image = read_image(path, max_pixels=max_pixels)
        except ImageReadError as error:
            return None, _cause(describe(error), str(path))
        return resize_padded(to_grey(image) if grey else over_black(image), size), None

    pictures, kept, failures = [], [], []
    with decoders_quiet(), (ThreadPoolExecutor(max_workers=jobs) if jobs > 1 else nullcontext()) as pool:
        for start in range(0, len(files), _BLOCK):
            block = files[start:start + _BLOCK]
            results = pool.map(load, block) if pool is not None else map(load, block)
            for index, (picture, cause) in enumerate(results, start):
                if picture is None:
                    failures.append((files[index][0], cause))
                    continue
                pictures.append(picture)
                kept.append(index)
            notify(on_progress, (start + len(block)) / len(files))
    return pictures, kept, failures


def _as_vectors(pictures) -> tuple[np.ndarray, tuple[int, ...]]:
    """``(vectors (n, d) float32 in [0, 1], shape)`` of ``uint8`` pictures of one shape."""
    stack = np.stack(pictures)
    return stack.reshape(len(stack), -1).astype(np.float32) / np.float32(255), tuple(stack.shape[1:])


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


# --- IDX files and arrays -------------------------------------------------------------------------


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
    return VectorSet(vectors, tuple(images.shape[1:]), names, labels,
                     preprocessing={"source": "idx", "size": None, "grey": True, "scale": PIXELS})


def _load_npy(path: Path) -> VectorSet:
    array = read_npy(path)
    names = tuple(f"{path.name}#{i}" for i in range(len(array.vectors)))
    return VectorSet(array.vectors, array.shape, names, None, notes=array.notes, unit_range=array.scale is not None,
                     preprocessing={"source": "npy", "size": None, "grey": None, "scale": array.scale})
