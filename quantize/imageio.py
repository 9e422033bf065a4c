"""Reading and writing image files: the only module that imports cv2.

Images travel through quantize as RGB(A) ``uint8`` arrays; OpenCV's BGR order
stays inside this module.  Files are read with ``np.fromfile`` + ``cv2.imdecode``
(any path, any characters) and written whole to a temporary file beside the
target, then moved into place with ``os.replace``, so no reader ever sees half a
file and a killed run leaves none behind.
"""
from __future__ import annotations

import errno
import os
import secrets
import struct
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import exif, png
from .checks import is_int
from .errors import ImageReadError, ImageWriteError, OutputExistsError, ParameterError
from .limits import MAX_PIXELS

READ_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
WRITE_SUFFIXES = (".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".jpg", ".jpeg")
_ALPHA_SUFFIXES = (".png", ".tif", ".tiff", ".webp")


@dataclass(frozen=True)
class ImageFile:
    """A decoded image file.

    Attributes
    ----------
    pixels : (h, w, 3) RGB or (h, w, 4) RGBA uint8
    frames : int
        Frames (GIF) or pages (TIFF) in the file; only the first is decoded.
    size : int
        Bytes of the file.
    cut_short : bool
        True when the file lacked its end (a JPEG or PNG cut short) and was
        decoded as far as it goes.
    orientation : int
        The file's EXIF orientation, 1 to 8 (1: stored upright, or none).
    """

    pixels: np.ndarray
    frames: int
    size: int
    cut_short: bool = False
    orientation: int = 1


def read_image(path, *, max_pixels: int | None = MAX_PIXELS, autorotate: bool = True) -> np.ndarray:
    """Read an image file as ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA ``uint8``,
    upright (see :func:`read_image_file`).

    See :func:`decode_image`.  Raises :class:`ImageReadError` naming the file
    and the cause.
    """
    return read_image_file(path, max_pixels=max_pixels, autorotate=autorotate).pixels


def read_image_file(path, *, max_pixels: int | None = MAX_PIXELS, autorotate: bool = True) -> ImageFile:
    """Read and decode an image file (``-``: standard input): :func:`decode_image`,
    the frame count, and with ``autorotate`` the pixels turned upright as the
    file's EXIF orientation says (JPEG, PNG, WebP; OpenCV turns a TIFF upright
    itself, whatever ``autorotate`` says), as image viewers show them."""
    path = Path(path)
    try:
        data = np.frombuffer(sys.stdin.buffer.read(), np.uint8) if str(path) == "-" else np.fromfile(path, np.uint8)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file", path=path) from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not an image", path=path) from None
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read: {error.strerror or error}", path=path) from None
    frames = frame_count(data)
    pixels, cut_short = _decode(data, path, max_pixels)
    turn = exif.orientation(data)
    if autorotate and turn != 1 and data[:4].tobytes() not in (b"II*\x00", b"MM\x00*"):
        pixels = exif.orient(pixels, turn)
    return ImageFile(pixels, frames, int(data.size), cut_short, turn)


def decode_image(data, name="<bytes>", *, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Decode the bytes of an image file to ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA ``uint8``.

    Grey images come back as RGB with three equal channels; 16-bit images are
    scaled to 8 bits, floating-point ones are taken as 0..1 (values outside are
    clipped); of a GIF or multi-page TIFF only the first frame is decoded.  An
    image of more than ``max_pixels`` pixels (None: no limit) is refused from
    its header, before it is decoded, where the format says its size up front
    (PNG, JPEG, GIF, BMP, WebP, TIFF), and after decoding otherwise.  The
    decoders' own messages (libpng's, libjpeg's) are kept off stderr.  A JPEG
    or PNG cut short is decoded as far as it goes, as image viewers show it
    (the rest of a JPEG grey).  Raises :class:`ImageReadError` naming
    ``name`` and the cause.
    """
    return _decode(data, name, max_pixels)[0]


# What a JPEG or a PNG ends with; a file cut short is given its end and decoded again.
_ENDS = {b"\xff\xd8": b"\xff\xd9", b"\x89P": b"\0\0\0\0IEND\xaeB`\x82"}


def _decode(data, name, max_pixels) -> tuple[np.ndarray, bool]:
    """:func:`decode_image`, and whether the file was cut short."""
    data = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray)) else data
    if data.size == 0:
        raise ImageReadError(f"{name}: empty file", path=name)
    is_jpeg = data[:2].tobytes() == b"\xff\xd8"
    head = data.tobytes() if is_jpeg else data[:HEADER_BYTES].tobytes()  # a JPEG's size may come late
    size = header_size(head)
    if size is not None:
        _check_pixels(name, *size, max_pixels)
    elif is_jpeg:  # libjpeg needs a frame header too: without one there is nothing to decode
        raise ImageReadError(f"{name}: not an image OpenCV can read (corrupt JPEG: no frame header)", path=name)
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        _check_png_chunks(name, data)
    image, cut_short = _imdecode(data), False
    end = _ENDS.get(data[:2].tobytes())
    if image is None and end is not None and not data[-len(end):].tobytes() == end:
        image, cut_short = _imdecode(np.concatenate([data, np.frombuffer(end, np.uint8)])), True
    if image is None or image.size == 0:
        raise ImageReadError(f"{name}: not an image OpenCV can read (corrupt or unsupported format)", path=name)
    _check_pixels(name, image.shape[1], image.shape[0], max_pixels)
    if image.dtype == np.uint16:
        image = np.round(image / 257.0).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = np.rint(np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageReadError(f"{name}: unsupported pixel type {image.dtype} (8-, 16-bit or float images only)",
                             path=name)
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2), cut_short
    channels = image.shape[2]
    if channels == 1:
        return np.repeat(image, 3, axis=2), cut_short
    if channels == 2:  # grey and alpha
        return np.dstack([image[:, :, :1].repeat(3, axis=2), image[:, :, 1:]]), cut_short
    if channels == 3:
        return cv2.cvtColor(image, cv2.COLOR_BGR2RGB, dst=image), cut_short  # in place
    if channels == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2RGBA, dst=image), cut_short
    raise ImageReadError(f"{name}: unsupported number of channels ({channels})", path=name)


def _imdecode(data: np.ndarray) -> np.ndarray | None:
    """``cv2.imdecode`` keeping every channel and bit depth, its C libraries quiet;
    None when it cannot decode."""
    with _quiet_stderr():
        try:
            return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        except cv2.error:
            return None


# A PNG chunk may claim this many bytes beyond the end of the file (a file cut short
# inside its last chunk); the decoder allocates what a chunk claims.
PNG_CHUNK_SLACK = 16 << 20


def _check_png_chunks(name, data: np.ndarray) -> None:
    """Refuse a PNG whose chunk claims far more bytes than the file holds, before
    the decoder allocates them.  Walks the chunk headers only."""
    pos, size = 8, int(data.size)
    while pos + 8 <= size:
        length = int.from_bytes(data[pos:pos + 4].tobytes(), "big")
        if length > size - pos - 12 + PNG_CHUNK_SLACK:
            raise ImageReadError(
                f"{name}: not an image OpenCV can read (corrupt PNG: a chunk claims {length:,} bytes, "
                f"the file has {size - pos:,} left)", path=name)
        if data[pos + 4:pos + 8].tobytes() == b"IEND":
            return
        pos += 12 + length


def _check_pixels(name, width: int, height: int, max_pixels: int | None) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise ImageReadError(
            f"{name}: {width}x{height} is {width * height / 1e6:.1f} MP, above the limit of "
            f"{max_pixels / 1e6:g} MP (max_pixels)",
            reason="too-many-pixels", path=name, parameter="max_pixels", value=(width, height), limit=max_pixels)


@contextmanager
def _quiet_stderr():
    """Send what C libraries write to file descriptor 2 to the null device for a while."""
    try:
        saved = os.dup(2)
    except OSError:  # no stderr at all
        yield
        return
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


HEADER_BYTES = 1 << 16  # bytes read to find the size (JPEG may have large metadata first)


def header_size(head: bytes) -> tuple[int, int] | None:
    r"""``(width, height)`` as the file's header declares it, or None when the
    format is not one we parse or the header is cut short.

    >>> header_size(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x01\x00\x00\x00\x00\x80")
    (256, 128)
    """
    try:
        if head.startswith(b"\x89PNG\r\n\x1a\n") and head[12:16] == b"IHDR":
            return struct.unpack(">II", head[16:24])
        if head[:6] in (b"GIF87a", b"GIF89a"):
            return struct.unpack("<HH", head[6:10])
        if head[:2] == b"BM":
            if struct.unpack("<I", head[14:18])[0] == 12:
                return struct.unpack("<HH", head[18:22])
            width, height = struct.unpack("<ii", head[18:26])
            return abs(width), abs(height)
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return _webp_size(head)
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            return _tiff_size(head)
        if head[:2] == b"\xff\xd8":
            return _jpeg_size(head)
    except struct.error:  # cut short
        return None
    return None


def _webp_size(head: bytes):
    kind = head[12:16]
    if kind == b"VP8 ":
        width, height = struct.unpack("<HH", head[26:30])
        return width & 0x3FFF, height & 0x3FFF
    if kind == b"VP8L":
        bits = struct.unpack("<I", head[21:25])[0]
        return 1 + (bits & 0x3FFF), 1 + ((bits >> 14) & 0x3FFF)
    if kind == b"VP8X":
        width = int.from_bytes(head[24:27], "little") + 1
        height = int.from_bytes(head[27:30], "little") + 1
        return width, height
    return None


def _tiff_size(head: bytes):
    order = "<" if head[:2] == b"II" else ">"
    offset = struct.unpack(order + "I", head[4:8])[0]
    (count,) = struct.unpack(order + "H", head[offset:offset + 2])
    found = {}
    for i in range(count):
        tag, kind, _, value = struct.unpack(order + "HHII", head[offset + 2 + 12 * i: offset + 14 + 12 * i])
        if tag in (256, 257):
            found[tag] = value >> 16 if kind == 3 and order == ">" else value & 0xFFFF if kind == 3 else value
    return (found[256], found[257]) if len(found) == 2 else None


def _jpeg_size(head: bytes):
    pos = 2
    while pos + 4 <= len(head):
        if head[pos] != 0xFF:  # a stray byte: libjpeg skips to the next marker, and so do we
            pos = head.find(b"\xff", pos)
            if pos < 0:
                return None
            continue
        marker = head[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # no length
            pos += 2
            continue
        (length,) = struct.unpack(">H", head[pos + 2:pos + 4])
        if marker in (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF):
            height, width = struct.unpack(">HH", head[pos + 5:pos + 9])
            return width, height
        if marker == 0xDA:  # start of scan: no frame header before it
            return None
        pos += 2 + length
    return None


def frame_count(data) -> int:
    """Frames of a GIF or pages of a TIFF (1 for any other file, or when the
    structure cannot be followed)."""
    head = bytes(data[:6])
    try:
        if head in (b"GIF87a", b"GIF89a"):
            return max(1, _gif_frames(memoryview(data).cast("B") if not isinstance(data, bytes) else data))
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            return max(1, _tiff_pages(bytes(data)))
    except (IndexError, struct.error):
        return 1
    return 1


def _gif_frames(data) -> int:
    pos, frames = 13, 0
    if data[10] & 0x80:  # global colour table
        pos += 3 << ((data[10] & 7) + 1)
    while pos < len(data):
        block = data[pos]
        if block == 0x3B:  # trailer
            break
        if block == 0x2C:  # image descriptor
            frames += 1
            flags = data[pos + 9]
            pos += 10
            if flags & 0x80:  # local colour table
                pos += 3 << ((flags & 7) + 1)
            pos += 1  # LZW minimum code size
        elif block == 0x21:  # extension
            pos += 2
        else:
            break
        while data[pos]:  # sub-blocks
            pos += data[pos] + 1
        pos += 1
    return frames


def _tiff_pages(data: bytes) -> int:
    order = "<" if data[:2] == b"II" else ">"
    offset, pages, seen = struct.unpack(order + "I", data[4:8])[0], 0, set()
    while offset and offset not in seen and pages < 10_000:
        seen.add(offset)
        (count,) = struct.unpack(order + "H", data[offset:offset + 2])
        (offset,) = struct.unpack(order + "I", data[offset + 2 + 12 * count:offset + 6 + 12 * count])
        pages += 1
    return pages


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
                     path=None) -> bytes:
    """File bytes of a quantized image in the format named by ``suffix``.

    ``indices (h, w) uint8`` into the palette ``colors (m, 3)`` RGB or
    ``(m, 4)`` RGBA ``uint8``.  A PNG is written as a palette PNG (with tRNS
    for RGBA), with ``text`` (keyword: value) in tEXt chunks; a GIF by
    :mod:`quantize.gif`; anything else as OpenCV writes the true-colour (or
    RGBA, where the format has alpha) picture.  Raises
    :class:`ImageWriteError` when the picture cannot be encoded so (a GIF
    side over 65,535); its message starts with ``path``, the file the bytes
    are for, when given.
    """
    suffix = suffix.lower()
    try:
        if suffix == ".png":
            return png.encode_indexed(indices, colors, text)
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
    except ImageWriteError as error:
        if path is None:
            raise
        raise ImageWriteError(f"{path}: {error}", reason=error.reason, path=path, parameter=error.parameter,
                              value=error.value, limit=error.limit) from None
    return buffer.tobytes()


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
            temp = path.parent / f".{path.name[:40]}.{secrets.token_hex(4)}.part"
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
    with _quiet_stderr():
        yield
