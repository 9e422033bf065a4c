"""Writing image files, and whole pictures as vectors; with
:mod:`quantize.reading` (reading and decoding, whose names are imported here
too: ``imageio.read_image`` and the rest), the only modules that import cv2.

Images travel through quantize as RGB(A) ``uint8`` arrays; OpenCV's BGR order
stays inside these modules.  Files are written whole to a temporary file beside
the target, then moved into place with ``os.replace``, so no reader ever sees
half a file and a killed run leaves none behind.
"""
from __future__ import annotations

import errno
import os
from contextlib import contextmanager
from pathlib import Path

import cv2
import numpy as np

from . import png
from .checks import is_int
from .errors import ImageReadError, ImageWriteError, OutputExistsError, ParameterError
from .headers import frame_count, header_size  # noqa: F401  (here for callers of imageio)
from .reading import (HEADER_BYTES, READ_SUFFIXES, ImageFile, decode_image, quiet_stderr,  # noqa: F401
                      read_bytes, read_image, read_image_file, stream_limit)

WRITE_SUFFIXES = (".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".jpg", ".jpeg")
_ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp")


def set_threads(count: int) -> None:
    """Let OpenCV use at most ``count`` threads in this process (0: its default)."""
    cv2.setNumThreads(count)


def check_targets(targets, inputs, force: bool) -> None:
    """Refuse, before any work, what would fail or do harm when the targets
    are written: writing over an input (``inputs``: every file read, the
    image and a palette given in advance alike; ``-``, standard input, and
    None are none), twice to one file, over an existing file without
    ``force``, or where a folder is in a target's place or a file in the
    place of its folder (those two even with ``force``).

    Raises :class:`OutputExistsError` (an input, named twice, exists) or
    :class:`ImageWriteError` (a folder or a file in the way) naming the file.
    """
    sources = [os.path.realpath(source) for source in inputs if source is not None and str(source) != "-"]
    seen = set()
    for target in targets:
        resolved = os.path.realpath(target)
        if resolved in sources:
            raise OutputExistsError(f"{target}: is the input; refusing to overwrite it",
                                    reason="is-input", path=target)
        if resolved in seen:
            raise OutputExistsError(f"{target}: named twice as an output", reason="named-twice", path=target)
        seen.add(resolved)
        _check_place(target)
        if not force and os.path.lexists(target):
            raise OutputExistsError(f"{target}: exists; use force=True to overwrite it",
                                    reason="exists", path=target, parameter="force")


def _check_place(target) -> None:
    """:class:`ImageWriteError` when a folder is where the file ``target``
    goes (:func:`write_together` would refuse it after the work), or a file
    where one of its folders would be made (the words of
    :func:`write_together`)."""
    if os.path.isdir(target) and not os.path.islink(target):
        raise ImageWriteError(f"{target}: cannot write: {os.strerror(errno.EISDIR)}", path=target)
    folder = Path(target).parent
    while not os.path.lexists(folder) and folder != folder.parent:
        folder = folder.parent
    if os.path.lexists(folder) and not os.path.isdir(folder):
        raise ImageWriteError(f"{target}: cannot make its folder: {folder} is a file", path=target)


def check_writable(folder) -> None:
    """Make ``folder`` if missing and try writing a file in it: raise
    :class:`ImageWriteError` naming it and the cause when that fails."""
    import tempfile  # 5 ms of start-up (shutil, bz2, lzma): only the batch checks its folder

    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(prefix=".quantize-", suffix=".part", dir=folder)
        os.close(fd)
        os.unlink(probe)
    except FileExistsError:
        raise ImageWriteError(f"{folder}: cannot make the folder: a file is in the way", path=folder) from None
    except OSError as error:
        raise ImageWriteError(f"{folder}: cannot write there: {error.strerror or error}", path=folder) from None


def check_output_suffix(path) -> None:
    """Raise :class:`ParameterError` unless ``path`` ends in a format we write."""
    if Path(path).suffix.lower() not in WRITE_SUFFIXES:
        raise ParameterError(f"{path}: cannot write this format; use one of {', '.join(WRITE_SUFFIXES)}",
                             path=path)


def holds_alpha(suffix: str) -> bool:
    """True when the format named by ``suffix`` keeps transparency: PNG, TIFF
    and WebP their alpha, GIF one transparent entry; JPEG and BMP none."""
    return suffix.lower() in _ALPHA_SUFFIXES + (".gif",)


def encode_quantized(suffix: str, indices: np.ndarray, colors: np.ndarray, text: dict | None = None,
                     path=None, chunks=(), optimize: int = png.OPTIMIZE_DEFAULT, keep_order: bool = False) -> bytes:
    """File bytes of a quantized image in the format named by ``suffix``.

    ``indices (h, w) uint8`` into the palette ``colors (m, 3)`` RGB or
    ``(m, 4)`` RGBA ``uint8``.  A PNG is written as a palette PNG (with tRNS
    for RGBA), with ``text`` (keyword: value) in tEXt chunks and the
    ancillary ``chunks`` (``(kind, data)``), smaller and slower as
    ``optimize`` rises, its palette in the given order when ``keep_order``
    (:func:`quantize.png.encode_indexed`); a GIF by
    :mod:`quantize.gif`; anything else as OpenCV writes the true-colour (or
    RGBA, where the format has alpha) picture.  Raises
    :class:`ImageWriteError` when the picture cannot be encoded so (a GIF
    side over 65,535); its message starts with ``path``, the file the bytes
    are for, when given.
    """
    suffix = suffix.lower()
    with written_for(path):
        if suffix == ".png":
            return png.encode_indexed(indices, colors, text, chunks=chunks, optimize=optimize, keep_order=keep_order)
        if suffix == ".gif":
            from . import gif

            return gif.encode_gif(indices, colors[:, :3], colors[:, 3] if colors.shape[1] == 4 else None)
        pixels = colors[indices]
        if pixels.shape[2] == 4 and suffix in _ALPHA_SUFFIXES:
            pixels = cv2.cvtColor(pixels, cv2.COLOR_RGBA2BGRA)
        else:
            pixels = cv2.cvtColor(np.ascontiguousarray(pixels[:, :, :3]), cv2.COLOR_RGB2BGR)
        ok, buffer = cv2.imencode(suffix, pixels)
        if not ok:
            raise ImageWriteError(f"cannot encode an image as {suffix}")
    return buffer.tobytes()


@contextmanager
def written_for(path):
    """An :class:`ImageWriteError` raised inside names ``path``, the file the
    bytes are for (its message starts with it), when given."""
    try:
        yield
    except ImageWriteError as error:
        if path is None:
            raise
        raise ImageWriteError(f"{path}: {error}", reason=error.reason, path=path, parameter=error.parameter,
                              value=error.value, limit=error.limit) from None


def write_quantized(path, indices: np.ndarray, colors: np.ndarray) -> int:
    """Write a quantized image atomically (see :func:`encode_quantized`); returns the bytes written."""
    path = Path(path)
    data = encode_quantized(path.suffix, indices, colors)
    atomic_write(path, data)
    return len(data)


def atomic_write(path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then ``os.replace`` it.

    Raises :class:`ImageWriteError` naming the file and cause; on failure no
    temporary file is left behind.
    """
    write_together([(path, data)])


def write_together(files) -> None:
    """Write several files as a unit: ``files`` is ``[(path, data), ...]``.

    Each file's folder is made if missing; every file is first written whole
    to a temporary file beside its target (``.NAME.xxxxxxxx.part``, the name
    cut short so that a long target name still fits), and only when all of
    them are written are they moved into place with ``os.replace``.  When any
    write fails (disk full, no permission), or a target is a folder, none of
    the targets is touched and no temporary file is left.  (A move that fails
    for another reason after others succeeded, which takes a change to the
    folder during the write, is the one case that leaves some targets new.)  Raises :class:`ImageWriteError` naming the
    file and the cause.
    """
    temps = []
    try:
        for path, data in files:
            path = Path(path)
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except FileExistsError:
                raise ImageWriteError(f"{path}: cannot make its folder: {path.parent} is a file", path=path) from None
            except OSError as error:
                raise ImageWriteError(f"{path}: cannot make its folder: {error.strerror or error}",
                                      path=path) from None
            temp = path.parent / f".{path.name[:40]}.{os.urandom(4).hex()}.part"
            try:
                # Mode 0o666 less the umask, which the system applies: the usual mode of a new file.
                fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
            except OSError as error:
                raise ImageWriteError(f"{path}: cannot write: {error.strerror or error}", path=path) from None
            temps.append((temp, path))
            try:
                with os.fdopen(fd, "wb") as file:
                    file.write(data)
            except OSError as error:
                raise ImageWriteError(f"{path}: cannot write: {error.strerror or error}", path=path) from None
        for _, path in temps:  # a folder in a target's place would fail its os.replace: before any
            if path.is_dir() and not path.is_symlink():  # file is moved, so that none is
                raise ImageWriteError(f"{path}: cannot write: {os.strerror(errno.EISDIR)}", path=path)
        for temp, path in temps:
            try:
                os.replace(temp, path)
            except OSError as error:
                raise ImageWriteError(f"{path}: cannot write: {error.strerror or error}", path=path) from None
    except BaseException:
        for temp, _ in temps:
            try:
                os.unlink(temp)
            except OSError:
                pass
        raise


# Whole pictures as vectors (see quantize.vectors): alpha, grey, and a square of one size.


def over_black(image: np.ndarray) -> np.ndarray:
    """``(h, w, 3)`` RGB ``uint8`` of an ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA
    ``uint8`` image: an RGBA image is composited over black (each channel
    times alpha / 255, rounded), so transparent pixels become 0 like the
    padding of :func:`resize_padded`; an RGB image comes back as it is.

    >>> over_black(np.array([[[255, 100, 0, 128]]], np.uint8)).tolist()
    [[[128, 50, 0]]]
    """
    if image.ndim != 3 or image.shape[2] not in (3, 4):
        raise ParameterError(f"expected an (h, w, 3) or (h, w, 4) image, got shape {image.shape}")
    if image.shape[2] == 3:
        return image
    alpha = image[:, :, 3:].astype(np.uint32)
    return ((image[:, :, :3].astype(np.uint32) * alpha + 127) // 255).astype(np.uint8)


def to_grey(image: np.ndarray) -> np.ndarray:
    """``(h, w)`` grey ``uint8`` of an ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA
    ``uint8`` image (RGBA composited over black first, see :func:`over_black`):
    OpenCV's luma, ``0.299 R + 0.587 G + 0.114 B`` rounded, so a grey image
    (three equal channels) keeps its values exactly.

    >>> to_grey(np.array([[[255, 255, 255], [7, 7, 7], [255, 0, 0]]], np.uint8)).tolist()
    [[255, 7, 76]]
    """
    return cv2.cvtColor(np.ascontiguousarray(over_black(image)), cv2.COLOR_RGB2GRAY)


def resize_padded(image: np.ndarray, size: int) -> np.ndarray:
    """An ``(h, w)`` or ``(h, w, c)`` ``uint8`` image fitted into a ``size`` x
    ``size`` square, keeping its aspect ratio: ``(size, size)`` or
    ``(size, size, c)`` ``uint8``.

    The longer side is scaled to ``size`` (with ``cv2.INTER_AREA`` when
    shrinking, ``cv2.INTER_LINEAR`` when enlarging; not at all when it is
    ``size`` already), the shorter one by the same factor (rounded half up,
    at least 1 pixel); the picture is centred (an odd margin puts its extra
    pixel after: bottom, right) and the rest padded with 0, black.

    >>> resize_padded(np.full((20, 10), 255, np.uint8), 28)[0].tolist() == [0] * 7 + [255] * 14 + [0] * 7
    True
    """
    if not is_int(size) or size < 1:
        raise ParameterError(f"size must be a whole number >= 1, got {size!r}")
    if image.ndim not in (2, 3) or image.shape[0] < 1 or image.shape[1] < 1:
        raise ParameterError(f"expected an (h, w) or (h, w, c) image, got shape {image.shape}")
    h, w = image.shape[:2]
    long = max(h, w)
    new_h = h if long == size else max(1, min(size, (2 * h * size + long) // (2 * long)))
    new_w = w if long == size else max(1, min(size, (2 * w * size + long) // (2 * long)))
    if (new_h, new_w) != (h, w):
        method = cv2.INTER_AREA if long > size else cv2.INTER_LINEAR
        resized = cv2.resize(np.ascontiguousarray(image), (new_w, new_h), interpolation=method)
        image = resized.reshape((new_h, new_w) + image.shape[2:])  # cv2 drops a channel axis of 1
    out = np.zeros((size, size) + image.shape[2:], np.uint8)
    top, left = (size - new_h) // 2, (size - new_w) // 2
    out[top:top + new_h, left:left + new_w] = image
    return out


@contextmanager
def decoders_quiet():
    """Keep what C libraries write to stderr (libpng's, libjpeg's warnings) off
    it for a while: around many threads decoding at once with
    :func:`read_image` (each of which quiets stderr for itself, by swapping file
    descriptor 2; under this they only ever swap the null device for itself,
    so no race between them can lose the real stderr)."""
    with quiet_stderr():
        yield
