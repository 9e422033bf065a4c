"""Reading and writing image files: the only module that imports cv2.

Images travel through quantize as RGB(A) ``uint8`` arrays; OpenCV's BGR order
stays inside this module.  Files are read with ``np.fromfile`` + ``cv2.imdecode``
(any path, any characters) and written whole to a temporary file beside the
target, then moved into place with ``os.replace``, so no reader ever sees half a
file and a killed run leaves none behind.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

import cv2
import numpy as np

from . import png
from .errors import ImageReadError, ImageWriteError, OutputExistsError, ParameterError

READ_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp")
WRITE_SUFFIXES = (".png", ".bmp", ".tif", ".tiff", ".webp", ".jpg", ".jpeg")
_ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp")


def read_image(path) -> np.ndarray:
    """Read an image file as ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA ``uint8``.

    Grey images come back as RGB with three equal channels; 16-bit images are
    scaled to 8 bits.  Raises :class:`ImageReadError` naming the file and cause.
    """
    path = Path(path)
    try:
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not an image") from None
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read: {error.strerror or error}") from None
    if data.size == 0:
        raise ImageReadError(f"{path}: empty file")
    try:
        image = cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
    except cv2.error:
        image = None
    del data  # the encoded file: free it before the work on pixels
    if image is None:
        raise ImageReadError(f"{path}: not an image OpenCV can read (corrupt or unsupported format)")
    if image.dtype == np.uint16:
        image = np.round(image / 257.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageReadError(f"{path}: unsupported pixel type {image.dtype} (8- or 16-bit images only)")
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    channels = image.shape[2]
    if channels == 1:
        return np.repeat(image, 3, axis=2)
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image)  # in place
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA, dst=image)
    raise ImageReadError(f"{path}: unsupported number of channels ({channels})")


def set_threads(count: int) -> None:
    """Let OpenCV use at most ``count`` threads in this process (0: its default)."""
    cv2.setNumThreads(count)


def check_targets(targets, inputs, force: bool) -> None:
    """Refuse to write over an input, twice to one file, or over an existing
    file without ``force``; every target's folder must exist.

    Raises :class:`OutputExistsError` (or :class:`ImageWriteError` for a
    missing folder) naming the file.
    """
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


def check_output_suffix(path) -> None:
    """Raise :class:`ParameterError` unless ``path`` ends in a format we write."""
    if Path(path).suffix.lower() not in WRITE_SUFFIXES:
        raise ParameterError(
            f"{path}: cannot write this format; use one of {', '.join(WRITE_SUFFIXES)}"
        )


def encode_quantized(suffix: str, indices: np.ndarray, palette: np.ndarray, alpha=None) -> bytes:
    """File bytes of a quantized image in the format named by ``suffix``.

    ``indices (h, w) uint8`` into ``palette (m, 3) uint8``; ``alpha (h, w) uint8``
    or None.  A PNG without alpha is written as a palette PNG; anything else as
    OpenCV writes the true-colour (or RGBA) picture.
    """
    suffix = suffix.lower()
    if suffix == ".png" and alpha is None:
        return png.encode_indexed(indices, palette)
    rgb = palette[indices]
    if alpha is not None and suffix in _ALPHA_SUFFIXES:
        pixels = cv2.cvtColor(np.dstack([rgb, alpha]), cv2.COLOR_RGBA2BGRA)
    else:
        pixels = cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)
    params = [cv2.IMWRITE_PNG_COMPRESSION, 9] if suffix == ".png" else []
    ok, buffer = cv2.imencode(suffix, pixels, params)
    if not ok:
        raise ImageWriteError(f"cannot encode an image as {suffix}")
    return buffer.tobytes()


def write_quantized(path, indices: np.ndarray, palette: np.ndarray, alpha=None) -> int:
    """Write a quantized image atomically; returns the bytes written."""
    path = Path(path)
    data = encode_quantized(path.suffix, indices, palette, alpha)
    atomic_write(path, data)
    return len(data)


def atomic_write(path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path``, then ``os.replace`` it.

    Raises :class:`ImageWriteError` naming the file and cause; on failure no
    temporary file is left behind.
    """
    path = Path(path)
    temp = path.parent / f".{path.name}.{secrets.token_hex(4)}.part"
    try:
        # Mode 0o666 less the umask, which the system applies: the usual mode of a new file.
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
    except OSError as error:
        raise ImageWriteError(f"{path}: cannot write: {error.strerror or error}") from None
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
        os.replace(temp, path)
    except BaseException as error:
        try:
            os.unlink(temp)
        except OSError:
            pass
        if isinstance(error, OSError):
            raise ImageWriteError(f"{path}: cannot write: {error.strerror or error}") from None
        raise
