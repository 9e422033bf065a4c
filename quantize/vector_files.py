"""The files of vectors that are not pictures to decode: MNIST's IDX files,
``.npy`` arrays and labels files (see :mod:`quantize.vectors`, which makes
them :class:`quantize.vectors.VectorSet` s), and the test set beside a
training set.

**IDX files** (``train-images-idx3-ubyte``, gzipped or not) hold ``uint8``
pixels: :func:`read_idx`; their labels sit beside them
(:func:`idx_labels_path`), and MNIST's test set beside its training set
(:func:`find_test_source`: ``t10k-images-idx3-ubyte`` beside
``train-images-idx3-ubyte``).

**A .npy array** (:func:`read_npy`), ``(n, d)``, ``(n, h, w)``,
``(n, h, w, 1)`` or ``(n, h, w, 3)``:

* ``uint8`` means pixels 0..255: read into memory as ``float32`` scaled by
  1/255; ``bool`` as 0.0 and 1.0;
* any other real type (other integers, ``float16``, ``float32``, ``float64``)
  is taken as it is, at any range: the vectors are a read-only view of the
  file, memory-mapped (``np.load(mmap_mode="r")``), in the file's own type,
  neither copied nor converted, so that an array larger than the memory can
  be read in batches.  Integers other than ``uint8`` are values, not pixels
  (they are not scaled, whatever their range).  Floats must be finite: a NaN
  or an infinity is a :class:`~quantize.errors.VectorDataError`
  (``not-finite``) naming the first row that holds one, found by reading the
  file in blocks of bounded size.  An array stored in Fortran order is read
  into memory in C order (rows must be contiguous for batches), with a note.
* objects, text, complex numbers, dates and structured types are refused
  (``not-real``, naming the type).

>>> import tempfile, pathlib
>>> path = pathlib.Path(tempfile.mkdtemp()) / "x.npy"
>>> np.save(path, np.arange(12.0).reshape(3, 2, 2) * 40)
>>> array = read_npy(path)
>>> array.vectors.shape, array.vectors.dtype, array.shape, array.scale, float(array.vectors.max())
((3, 4), dtype('float64'), (2, 2), None, 440.0)
"""
from __future__ import annotations

import ast
import csv
import gzip
import io
import math
import re
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from .errors import ImageReadError, ParameterError, VectorDataError

IDX_IMAGES = 0x00000803  # unsigned bytes, three dimensions: (n, h, w)
IDX_LABELS = 0x00000801  # unsigned bytes, one dimension: (n,)
IDX_NAME = re.compile(r"idx\d-ubyte(\.gz)?$", re.IGNORECASE)
# MNIST's (and Fashion-MNIST's) names of the training images, as published and as Kaggle writes them.
_TRAIN_NAMES = ("train-images-idx3-ubyte", "train-images.idx3-ubyte")
_SCAN_VALUES = 1 << 18  # values checked for NaN and infinity at a time (a bool temporary of this many bytes)
_REAL_KINDS = "biuf"  # bool, signed and unsigned integers, floats


# --- MNIST's IDX files ----------------------------------------------------------------------------


def sniff_idx(path) -> bool:
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
    gzip-ness of the images first; letter case aside), or None when there is none."""
    images = Path(images)
    name = images.name
    gz = name.lower().endswith(".gz")
    stem = name[:-3] if gz else name
    if "images" not in stem.lower() or "idx3" not in stem.lower():
        return None
    if "images" in stem and "idx3" in stem:  # the name as written first, then any letter case
        exact = stem.replace("images", "labels").replace("idx3", "idx1")
        found = _beside(images, (exact + ".gz", exact) if gz else (exact, exact + ".gz"), any_case=False)
        if found is not None:
            return found
    stem = stem.lower().replace("images", "labels").replace("idx3", "idx1")
    return _beside(images, (stem + ".gz", stem) if gz else (stem, stem + ".gz"))


def find_test_source(train) -> Path | None:
    """MNIST's test images beside its training images: for ``train`` named
    ``train-images-idx3-ubyte`` (or Kaggle's ``train-images.idx3-ubyte``),
    gzipped (``.gz``) or not, in any letter case, the file ``t10k-images-idx3-ubyte``
    (``t10k-images.idx3-ubyte``) beside it, gzipped as ``train`` is first,
    else the other; None when ``train`` has another name or there is none.
    Its labels are then found by :func:`idx_labels_path`.

    >>> find_test_source("no/such/folder/train-images-idx3-ubyte.gz") is None
    True
    """
    train = Path(train)
    name = train.name.lower()
    gz = name.endswith(".gz")
    stem = name[:-3] if gz else name
    if stem not in _TRAIN_NAMES:
        return None
    twin = "t10k" + stem[len("train"):]
    return _beside(train, (twin + ".gz", twin) if gz else (twin, twin + ".gz"))


def _beside(path: Path, names, any_case: bool = True) -> Path | None:
    """The first of the file ``names`` in the folder of ``path`` that exists
    (with ``any_case``, in any letter case: of several, the first in sorted order)."""
    folder = path.parent
    for name in names:
        if (folder / name).is_file():
            return folder / name
    if not any_case:
        return None
    try:
        found = sorted(entry.name for entry in folder.iterdir())
    except OSError:
        return None
    lower = {}
    for entry in found:
        lower.setdefault(entry.lower(), entry)
    for name in names:
        entry = lower.get(name.lower())
        if entry is not None and (folder / entry).is_file():
            return folder / entry
    return None


# --- a .npy array ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class NpyVectors:
    """The vectors of a ``.npy`` file (see the module's notes).

    ``vectors (n, d)``: ``float32`` in [0, 1] for ``uint8`` and ``bool``
    arrays, else the file's own values and type (a read-only memory map, or
    in memory when the file is in Fortran order); ``shape``: one vector as a
    picture (``(h, w)``, ``(h, w, 3)``) or ``(d,)``; ``scale``: 1/255 for
    ``uint8``, 1.0 for ``bool``, None for values taken as they are;
    ``notes``: remarks for the user."""

    vectors: np.ndarray
    shape: tuple[int, ...]
    scale: float | None
    notes: tuple[str, ...] = ()


def read_npy(path) -> NpyVectors:
    """The vectors of the ``.npy`` file ``path``: see the module's notes.

    Raises :class:`ImageReadError` naming the file when it is missing,
    unreadable, not a ``.npy`` array, of a shape that holds no vectors or
    no pictures, and :class:`VectorDataError` when it holds no real numbers
    (``not-real``) or a NaN or an infinity (``not-finite``).
    """
    path = Path(path)
    shape, fortran, dtype = _npy_header(path)
    if dtype.kind not in _REAL_KINDS or dtype.fields is not None or dtype.subdtype is not None:
        raise VectorDataError(f"{path}: holds {dtype} values, not real numbers (integers, floats or booleans)",
                              reason="not-real", path=path, value=str(dtype))
    picture = _picture_shape(path, shape)
    array = _np_load(path, ImageReadError, mmap_mode="r")
    n = shape[0]
    notes = ()
    if dtype == np.uint8 or dtype == np.bool_:
        flat = np.asarray(array).reshape(n, -1).astype(np.float32)
        if dtype == np.uint8:
            flat /= np.float32(255)
        return NpyVectors(flat, picture, 1 / 255 if dtype == np.uint8 else 1.0)
    if fortran and len(shape) > 1:
        flat = np.ascontiguousarray(array).reshape(n, -1)  # rows must be contiguous for batches
        flat.flags.writeable = False
        notes = (f"{path}: stored in Fortran order (column by column): read into memory, not memory-mapped",)
    else:
        flat = array.reshape(n, -1)  # a view of the memory map
    if dtype.kind == "f":
        check_finite(flat, path)
    return NpyVectors(flat, picture, None, notes)


def check_finite(vectors: np.ndarray, path) -> None:
    """:class:`VectorDataError` (``not-finite``, ``value`` the row) when a row
    of ``vectors (n, d)`` holds a NaN or an infinity: the first such row,
    found block by block (no temporary of the whole array's size)."""
    rows = max(1, _SCAN_VALUES // max(1, vectors.shape[1]))
    for start in range(0, len(vectors), rows):
        block = vectors[start:start + rows]
        good = np.isfinite(block).all(axis=1)
        if not good.all():
            row = start + int(np.argmin(good))
            what = "NaN" if np.isnan(vectors[row]).any() else "an infinity"
            raise VectorDataError(f"{path}: row {row} holds {what}", reason="not-finite", path=path, value=row)


def _picture_shape(path: Path, shape: tuple[int, ...]) -> tuple[int, ...]:
    """One vector of an array of ``shape`` as a picture (see :attr:`NpyVectors.shape`)."""
    if len(shape) == 2:
        side = math.isqrt(shape[1])
        picture = (side, side) if side * side == shape[1] else (shape[1],)
    elif len(shape) == 3:
        picture = shape[1:]
    elif len(shape) == 4 and shape[3] in (1, 3):
        picture = shape[1:3] if shape[3] == 1 else shape[1:]
    else:
        raise ImageReadError(f"{path}: an array of shape {shape}; expected (n, d), (n, h, w), "
                             "(n, h, w, 1) or (n, h, w, 3)")
    if shape[0] == 0 or 0 in picture:
        raise ImageReadError(f"{path}: holds no vectors (shape {shape})")
    return tuple(int(s) for s in picture)


def _npy_header(path: Path):
    """``(shape, fortran_order, dtype)`` from the header of a ``.npy`` file,
    without reading its data (nor unpickling anything)."""
    try:
        with open(path, "rb") as file:
            if file.read(4) == b"PK\x03\x04":
                raise ImageReadError(f"{path}: not a .npy array (an .npz archive?)")
            file.seek(0)
            version = np.lib.format.read_magic(file)
            if version == (1, 0):
                return np.lib.format.read_array_header_1_0(file)
            if version == (2, 0):
                return np.lib.format.read_array_header_2_0(file)
            (length,) = struct.unpack("<I", file.read(4))  # version 3: version 2's header in UTF-8
            header = ast.literal_eval(file.read(length).decode("utf-8"))
            return tuple(header["shape"]), bool(header["fortran_order"]), \
                np.lib.format.descr_to_dtype(header["descr"])
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except OSError as cause:
        raise ImageReadError(f"{path}: cannot read: {cause.strerror or ' '.join(str(cause).split())}") from None
    except (ValueError, EOFError, SyntaxError, KeyError, TypeError, struct.error, UnicodeDecodeError) as cause:
        raise ImageReadError(f"{path}: not a readable .npy array ({' '.join(str(cause).split())})") from None


def _np_load(path: Path, error, mmap_mode=None) -> np.ndarray:
    """``np.load`` of a ``.npy`` file (no pickles), its failures as ``error``
    naming the file."""
    try:
        array = np.load(path, mmap_mode=mmap_mode, allow_pickle=False)
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
