"""Reading image files: the bytes of a file or a stream, refused as early as
their first bytes allow, and decoded by OpenCV (with :mod:`quantize.imageio`,
the only modules that import cv2).

A regular file is opened once; its size is checked before anything is read,
its first bytes (``HEADER_BYTES``) before the rest.  Anything else (``-``,
standard input; a FIFO; ``/dev/stdin``; a device) is a stream: it is read in
chunks as it comes, up to :func:`stream_limit` bytes, and refused as soon as
its first bytes show that it is not an image we read.  Images travel on as
RGB(A) ``uint8`` arrays; OpenCV's BGR order stays inside this module.
"""
from __future__ import annotations

import os
import stat
import struct
import sys
import zlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from . import colour_profile, exif, metadata
from .errors import ImageReadError
from .headers import PNG_SIGNATURE, frame_count, header_size, opencv_reads
from .limits import MAX_PIXELS

READ_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff", ".webp", ".gif")
HEADER_BYTES = 1 << 16  # bytes read to find the size (JPEG may have large metadata first)
BYTES_PER_PIXEL = 16  # the widest pixel we take stored plainly: RGBA in 32-bit floats (a TIFF)
HEADROOM = 64 << 20  # what a file holds besides its pixels: headers, metadata, a format's framing
_CHUNK = 16 << 20  # a stream is read this many bytes at a time


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
    colour : str
        What colour management did (:mod:`quantize.colour_profile`):
        "untagged" (the file declares no colour space), "srgb" (it declares
        sRGB), "converted" (to sRGB), "unreadable" or "unsupported" (a
        profile littlecms cannot read or convert from: pixels as they are),
        "ignored" (colour management off).
    profile : str
        The name of the profile converted from, or why it was not.
    metadata : tuple
        The ancillary PNG chunks ``(kind, data)`` an output keeps of the file
        (:func:`quantize.metadata.kept_chunks`).
    """

    pixels: np.ndarray
    frames: int
    size: int
    cut_short: bool = False
    orientation: int = 1
    colour: str = "untagged"
    profile: str = ""
    metadata: tuple = ()


def stream_limit(max_pixels: int | None) -> int | None:
    """The most bytes an input of at most ``max_pixels`` pixels is read to
    (None: no limit, when ``max_pixels`` is None).

    ``BYTES_PER_PIXEL`` (16) bytes a pixel, the widest pixel OpenCV decodes
    for us (RGBA in 32-bit floats, a TIFF) stored uncompressed, plus
    ``HEADROOM`` (64 MiB) for headers, metadata (EXIF, ICC, XMP) and a
    format's framing (PNG's filter bytes and deflate blocks, TIFF's strips):
    for the default limit of 180 MP, 2,947,547,136 bytes.  No image within
    ``max_pixels`` takes more; a stream of more is refused when that many
    bytes have come, a regular file of more before it is read.

    >>> stream_limit(100) == 16 * 100 + 64 * 2**20, stream_limit(None)
    (True, None)
    """
    return None if max_pixels is None else BYTES_PER_PIXEL * max_pixels + HEADROOM


def read_image(path, *, max_pixels: int | None = MAX_PIXELS, autorotate: bool = True,
               colour_management: bool = True) -> np.ndarray:
    """Read an image file as ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA ``uint8``,
    upright and in sRGB (see :func:`read_image_file`).

    See :func:`decode_image`.  Raises :class:`ImageReadError` naming the file
    and the cause.
    """
    return read_image_file(path, max_pixels=max_pixels, autorotate=autorotate,
                           colour_management=colour_management).pixels


def read_image_file(path, *, max_pixels: int | None = MAX_PIXELS, autorotate: bool = True,
                    colour_management: bool = True) -> ImageFile:
    """Read and decode an image file (``-``: standard input; a FIFO or any file
    that is not a regular one is read as a stream, see :func:`read_bytes`):
    :func:`decode_image`, the frame count, and with ``autorotate`` the pixels
    turned upright as the file's EXIF orientation says (JPEG, PNG, WebP;
    OpenCV turns a TIFF upright itself, whatever ``autorotate`` says), as
    image viewers show them; with ``colour_management`` the pixels converted
    to sRGB from the colour space the file declares
    (:func:`quantize.colour_profile.to_srgb`); the metadata an output keeps
    (:func:`quantize.metadata.kept_chunks`)."""
    path = Path(path)
    return image_file(path, read_bytes(path, max_pixels=max_pixels), max_pixels=max_pixels, autorotate=autorotate,
                      colour_management=colour_management)


def image_file(path, data: np.ndarray, *, max_pixels: int | None = MAX_PIXELS, autorotate: bool = True,
               colour_management: bool = True) -> ImageFile:
    """:func:`read_image_file` of the bytes ``data`` that :func:`read_bytes`
    read from ``path`` (for a caller that looks at the bytes first: an
    animation)."""
    path = Path(path)
    frames = frame_count(data)
    pixels, cut_short = _decode(data, path, max_pixels, in_place=str(path) != "-" and path.is_file())
    turn = exif.orientation(data)
    colour, profile = colour_profile.IGNORED, ""
    if colour_management:
        pixels, colour, profile = colour_profile.to_srgb(pixels, data)
    turned = autorotate and turn != 1 and data[:4].tobytes() not in (b"II*\x00", b"MM\x00*")
    if turned:
        pixels = exif.orient(pixels, turn)
    kept = metadata.kept_chunks(data, quarter_turned=turned and turn >= 5)
    return ImageFile(pixels, frames, int(data.size), cut_short, turn, colour, profile, kept)


def read_bytes(path, *, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """The bytes of the file ``path`` (``-``: standard input), ``(n,) uint8``.

    A regular file larger than :func:`stream_limit` of ``max_pixels`` is
    refused before it is read; any other file (standard input, a FIFO,
    ``/dev/stdin``, a device) is read as a stream, in chunks as they come, and
    refused when more than that has come.  Either is refused after its first
    ``HEADER_BYTES`` when they show no image we read (see
    :func:`check_start`).  Raises :class:`ImageReadError` naming the file and
    the cause.
    """
    if str(path) == "-":
        if sys.stdin is None:
            raise ImageReadError("-: cannot read: standard input is closed", path="-")
        return _read_stream(sys.stdin.buffer, "-", max_pixels)
    try:
        with open(path, "rb") as file:
            status = os.fstat(file.fileno())
            limit = stream_limit(max_pixels)
            if stat.S_ISREG(status.st_mode) and limit is not None and status.st_size > limit:
                raise _too_many_bytes(path, max_pixels)
            return _read_stream(file, path, max_pixels)
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file", path=path) from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not an image", path=path) from None
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read: {error.strerror or error}", path=path) from None


def _read_stream(file, name, max_pixels: int | None) -> np.ndarray:
    """All of ``file`` from where it is, its first ``HEADER_BYTES`` checked
    before the rest is read, at most :func:`stream_limit` bytes."""
    head = file.read(HEADER_BYTES)
    while len(head) < HEADER_BYTES:  # a pipe gives what has come: wait for the rest of the head
        more = file.read(HEADER_BYTES - len(head))
        if not more:
            break
        head += more
    check_start(name, head, max_pixels, whole=len(head) < HEADER_BYTES)
    data, limit = bytearray(head), stream_limit(max_pixels)
    chunk = head
    while len(chunk):  # a bytearray grows in place (realloc), so the bytes are held once
        chunk = file.read(_CHUNK)
        data += chunk
        if limit is not None and len(data) > limit:
            raise _too_many_bytes(name, max_pixels)
    return np.frombuffer(data, np.uint8)


def _too_many_bytes(name, max_pixels: int) -> ImageReadError:
    limit = stream_limit(max_pixels)
    return ImageReadError(
        f"{name}: more than {limit:,} bytes, more than an image within the pixel limit "
        f"(max_pixels {max_pixels}) takes; not read further",
        reason="too-many-bytes", path=name, parameter="max_pixels", value=max_pixels, limit=limit)


def check_start(name, head: bytes, max_pixels: int | None, *, whole: bool) -> bool:
    """Refuse a file from its first bytes ``head`` (``whole``: the whole
    file): empty; no format OpenCV reads starts so; a size above
    ``max_pixels``; a PNG whose first chunk is not its header or whose chunks
    within ``head`` do not parse; a JPEG without a frame header.  True when
    the size was found in ``head`` (and checked)."""
    if not head:
        raise ImageReadError(f"{name}: empty file", path=name)
    if not opencv_reads(head):
        raise ImageReadError(f"{name}: not an image OpenCV can read (corrupt or unsupported format)", path=name)
    size = header_size(head)
    if size is not None:
        _check_pixels(name, *size, max_pixels)
    if head.startswith(PNG_SIGNATURE):
        check_png_chunks(name, head, len(head) if whole else None)
        if size is None:
            raise _corrupt_png(name, "it does not begin with its IHDR chunk")
    elif size is None and whole and head[:2] == b"\xff\xd8":  # libjpeg needs a frame header too
        raise ImageReadError(f"{name}: not an image OpenCV can read (corrupt JPEG: no frame header)", path=name)
    return size is not None


def _corrupt_png(name, cause: str) -> ImageReadError:
    return ImageReadError(f"{name}: not an image OpenCV can read (corrupt PNG: {cause})", path=name)


# A PNG chunk may claim this many bytes beyond the end of the file (a file cut short
# inside its last chunk); the decoder allocates what a chunk claims.
PNG_CHUNK_SLACK = 16 << 20


def check_png_chunks(name, data, size: int | None = None) -> None:
    """Walk the chunk headers of a PNG's bytes ``data`` (a uint8 array or
    bytes: the whole file, or its beginning) to IEND or to the end of
    ``data``, and refuse it at the first chunk whose type is not four ASCII
    letters (libpng refuses those too) or, when ``size``, the bytes of the
    whole file, is given, whose length claims far more bytes than the file
    holds (before the decoder allocates them).  Reads the chunk headers only."""
    pos, end = 8, len(data)
    while pos + 8 <= end:
        length, kind = struct.unpack_from(">I4s", data, pos)
        if size is not None and length > size - pos - 12 + PNG_CHUNK_SLACK:
            raise _corrupt_png(name, f"a chunk claims {length:,} bytes, the file has {size - pos:,} left")
        if not kind.isalpha():
            raise _corrupt_png(name, f"a chunk type that is not four letters at byte {pos}")
        if kind == b"IEND":
            return
        pos += 12 + length


def decode_image(data, name="<bytes>", *, max_pixels: int | None = MAX_PIXELS) -> np.ndarray:
    """Decode the bytes of an image file to ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA ``uint8``.

    Grey images come back as RGB with three equal channels; 16-bit images are
    scaled to 8 bits, floating-point ones are taken as 0..1 (values outside are
    clipped); of a GIF or multi-page TIFF only the first frame is decoded.  An
    image of more than ``max_pixels`` pixels (None: no limit) is refused from
    its header, before it is decoded, where the format says its size up front
    (PNG, JPEG, GIF, BMP, WebP, TIFF), and after decoding otherwise.  The
    decoders' own messages (libpng's, libjpeg's) are kept off stderr.  A JPEG
    or PNG cut short is decoded as far as it goes, as image viewers show it:
    the rest of a JPEG grey; of a PNG (not interlaced) the rows that arrived,
    the rest zero (black; transparent with alpha; a palette's first colour).
    Raises :class:`ImageReadError` naming ``name`` and the cause.
    """
    return _decode(data, name, max_pixels)[0]


# What a JPEG or a PNG ends with; a file cut short is given its end and decoded again.
_ENDS = {b"\xff\xd8": b"\xff\xd9", b"\x89P": b"\0\0\0\0IEND\xaeB`\x82"}


def _decode(data, name, max_pixels, in_place: bool = False) -> tuple[np.ndarray, bool]:
    """:func:`decode_image`, and whether the file was cut short; with
    ``in_place``, ``name`` is the regular file ``data`` was read from, and a
    large one may be decoded from it in place (:func:`_imread_in_place`)."""
    data = np.frombuffer(data, dtype=np.uint8) if isinstance(data, (bytes, bytearray)) else data
    found = check_start(name, data[:HEADER_BYTES].tobytes(), max_pixels, whole=data.size <= HEADER_BYTES)
    if not found and data[:2].tobytes() == b"\xff\xd8":  # a JPEG's size may come late
        size = header_size(data.tobytes())
        if size is None:
            raise ImageReadError(f"{name}: not an image OpenCV can read (corrupt JPEG: no frame header)",
                                 path=name)
        _check_pixels(name, *size, max_pixels)
    is_png = data[:8].tobytes() == PNG_SIGNATURE
    if is_png:
        check_png_chunks(name, data, int(data.size))
    end = _ENDS.get(data[:2].tobytes())
    whole = end is not None and data[-len(end):].tobytes() == end
    image = _imread_in_place(name, data) if in_place and whole else None
    image, cut_short = _imdecode(data) if image is None else image, False
    if image is None and end is not None and not whole:
        image, cut_short = _imdecode(np.concatenate([data, np.frombuffer(end, np.uint8)])), True
        if image is None and is_png:
            image = _png_rows_that_arrived(data)
    if image is None or image.size == 0:
        raise ImageReadError(f"{name}: not an image OpenCV can read (corrupt or unsupported format)", path=name)
    _check_pixels(name, image.shape[1], image.shape[0], max_pixels)
    return _to_rgb(name, image), cut_short


def _to_rgb(name, image: np.ndarray) -> np.ndarray:
    """OpenCV's decoded ``image`` (grey, grey+alpha, BGR or BGRA; 8- or 16-bit
    or float) as ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA ``uint8``."""
    if image.dtype == np.uint16:
        image = np.round(image / 257.0).astype(np.uint8)
    elif image.dtype in (np.float32, np.float64):
        image = np.rint(np.clip(np.nan_to_num(image), 0.0, 1.0) * 255.0).astype(np.uint8)
    elif image.dtype != np.uint8:
        raise ImageReadError(f"{name}: unsupported pixel type {image.dtype} (8-, 16-bit or float images only)",
                             path=name)
    if image.ndim == 2:
        return np.repeat(image[:, :, None], 3, axis=2)
    channels = image.shape[2]
    if channels == 1:
        return np.repeat(image, 3, axis=2)
    if channels == 2:  # grey and alpha
        return np.dstack([image[:, :, :1].repeat(3, axis=2), image[:, :, 1:]])
    if channels in (3, 4):
        return _swap_red_blue(image, cv2.COLOR_BGR2RGB if channels == 3 else cv2.COLOR_BGRA2RGBA)
    raise ImageReadError(f"{name}: unsupported number of channels ({channels})", path=name)


SWAP_ROWS_PIXELS = 1 << 22  # pixels whose red and blue OpenCV swaps at a time


def _swap_red_blue(image: np.ndarray, code: int) -> np.ndarray:
    """``image`` (BGR or BGRA, C-contiguous) made RGB or RGBA in place, by
    ``cv2.cvtColor`` with ``code`` in row blocks of about ``SWAP_ROWS_PIXELS``
    pixels: asked to write over its own input, cvtColor works on a copy of
    it, so a block at a time that copy is one block, not the whole picture."""
    rows = max(1, SWAP_ROWS_PIXELS // image.shape[1])
    for start in range(0, image.shape[0], rows):
        block = image[start:start + rows]
        cv2.cvtColor(block, code, dst=block)
    return image


def _imdecode(data: np.ndarray) -> np.ndarray | None:
    """``cv2.imdecode`` keeping every channel and bit depth, its C libraries quiet;
    None when it cannot decode."""
    with quiet_stderr():
        try:
            return cv2.imdecode(data, cv2.IMREAD_UNCHANGED)
        except cv2.error:
            return None


IN_PLACE_FROM = 1 << 24  # pixels from which a whole JPEG or PNG file is decoded in place


def _imread_in_place(path, data: np.ndarray) -> np.ndarray | None:
    """The 8-bit 3-channel picture of the large JPEG or PNG file ``path``
    (``IN_PLACE_FROM`` pixels or more) whose bytes ``data`` were read and
    checked, decoded by ``cv2.imread`` into an array made beforehand of the
    size its header declares; None when it is not such a picture (OpenCV
    refuses another size or type before decoding), or not the file read.

    ``cv2.imdecode`` decodes into memory of its own and OpenCV's Python
    binding then copies the picture into a NumPy array: twice the picture at
    the peak (600 MB more for 100 MP).  ``imread`` with a destination of the
    right size and type writes into it, and reads the file as it decodes."""
    size = header_size(data[:HEADER_BYTES].tobytes())
    if size is None or size[0] * size[1] < IN_PLACE_FROM or data[:2].tobytes() not in (b"\xff\xd8", b"\x89P"):
        return None
    try:
        if os.stat(path).st_size != data.size:
            return None
        with quiet_stderr():
            image = cv2.imread(str(path), np.empty((size[1], size[0], 3), np.uint8), cv2.IMREAD_UNCHANGED)
    except (OSError, cv2.error):
        return None
    return image if image is not None and image.shape == (size[1], size[0], 3) else None


_CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}  # PNG colour type -> samples per pixel


def _png_rows_that_arrived(data: np.ndarray) -> np.ndarray | None:
    """A PNG cut short inside its image data (not interlaced), decoded as far
    as it goes: the chunks before its image data as they are, the rows that
    inflate from the IDAT bytes present, the rows that did not arrive zero
    (filter byte 0 and zero samples), made into a whole PNG again for libpng.
    None when nothing whole arrived (not one row), when the file is
    interlaced, or when it does not parse (a whole IDAT chunk's CRC wrong, its
    data not deflate)."""
    raw = data.tobytes()
    before, idat, pos = [], [], 8
    try:
        width, height, depth, colour, _, _, interlace = struct.unpack_from(">IIBBBBB", raw, 16)
        while pos + 8 <= len(raw):
            length, kind = struct.unpack_from(">I4s", raw, pos)
            whole = pos + 12 + length <= len(raw)
            if kind == b"IDAT":
                if whole and zlib.crc32(raw[pos + 4:pos + 8 + length]) != int.from_bytes(
                        raw[pos + 8 + length:pos + 12 + length], "big"):
                    return None
                idat.append(raw[pos + 8:pos + 8 + length])
            elif not idat and whole:
                before.append(raw[pos:pos + 12 + length])
            pos += 12 + length
        if interlace or colour not in _CHANNELS or not idat or not width or not height:
            return None  # (a max_length of 0 would inflate without a bound)
        stride = 1 + (width * _CHANNELS[colour] * depth + 7) // 8
        rows = zlib.decompressobj().decompress(b"".join(idat), stride * height)
        if len(rows) < stride:
            return None
        body = zlib.compress(rows + bytes(stride * height - len(rows)), 1)
    except (struct.error, zlib.error, ValueError, MemoryError, OverflowError):
        return None
    whole_png = PNG_SIGNATURE + b"".join(before) + _chunk(b"IDAT", body) + _chunk(b"IEND", b"")
    return _imdecode(np.frombuffer(whole_png, np.uint8))


def _chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def _check_pixels(name, width: int, height: int, max_pixels: int | None) -> None:
    if max_pixels is not None and width * height > max_pixels:
        raise ImageReadError(
            f"{name}: {width}x{height} is {width * height / 1e6:.1f} MP, above the limit of "
            f"{max_pixels / 1e6:g} MP (max_pixels)",
            reason="too-many-pixels", path=name, parameter="max_pixels", value=(width, height), limit=max_pixels)


@contextmanager
def quiet_stderr():
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
