"""EXIF orientation: which way up a picture is, and turning it upright.

Cameras store the sensor's rows as they come and record in the EXIF
Orientation tag (0x0112) how a viewer must turn them; image viewers and
browsers apply it.  :func:`orientation` finds the tag in a file's bytes and
:func:`orient` turns decoded pixels upright.

The tag is read from a JPEG (the first APP1 segment starting ``Exif\\0\\0``,
before the image data), a TIFF file (its first IFD), a WebP (its ``EXIF``
chunk) or a PNG (its ``eXIf`` chunk, which Pillow and OpenCV apply as well),
in either byte order (II, MM); the EXIF in a WebP or PNG chunk may start with
``Exif\\0\\0``, as some writers put it.  Every offset is checked against
the bytes there are: garbage, a file cut short or an odd tag gives 1
(upright), never an exception.

What OpenCV 5 already does (checked, pinned in ``tests/test_exif.py``):
``cv2.imdecode(..., IMREAD_UNCHANGED)``, as :mod:`quantize.imageio` reads,
leaves JPEG, PNG and WebP pixels as stored, so they need :func:`orient`; but
it turns a TIFF upright itself (libtiff), whatever the flags, so a decoded
TIFF must not be turned again.

The table of :func:`orient` follows the EXIF 2.32 / TIFF 6.0 definition of
the tag (the value names where the stored row 0 and column 0 lie on screen)
and was checked, for all 8 values, against Pillow's
``ImageOps.exif_transpose`` (``tests/test_exif.py``).
"""
from __future__ import annotations

import struct

import numpy as np

ORIENTATION_TAG = 0x0112
_FORMATS = {1: "B", 3: "H", 4: "I", 6: "b", 8: "h", 9: "i"}  # TIFF integer types: BYTE SHORT LONG SBYTE SSHORT SLONG
_SIZES = {**{kind: struct.calcsize(form) for kind, form in _FORMATS.items()},
          2: 1, 5: 8, 7: 1, 10: 8}  # and ASCII, RATIONAL, UNDEFINED, SRATIONAL


def orientation(data) -> int:
    r"""The EXIF Orientation of an image file, 1 to 8 (1: upright).

    Parameters
    ----------
    data : bytes-like
        The whole file, or at least its beginning (bytes, bytearray,
        memoryview or a uint8 array).

    Returns
    -------
    int
        The tag's value when the file is a JPEG, TIFF, WebP or PNG whose EXIF
        holds an Orientation from 1 to 8; 1 otherwise (no EXIF, no tag,
        another format, a value out of range, bytes cut short or garbage).
        A TIFF's value is reported too, though OpenCV and Pillow turn a TIFF
        upright as they decode it.

    Examples
    --------
    >>> orientation(b"MM\x00*\x00\x00\x00\x08\x00\x01\x01\x12\x00\x03\x00\x00\x00\x01\x00\x06\x00\x00")
    6
    >>> orientation(b"not an image")
    1
    """
    try:
        value = _tiff_orientation(exif_of(as_bytes_view(data)))
    except (struct.error, IndexError, ValueError):  # a belt to the bounds checks' braces
        return 1
    return value if 1 <= value <= 8 else 1


def exif_of(data: memoryview) -> memoryview:
    """The TIFF structure holding the EXIF of a JPEG, TIFF or WebP file (empty if none)."""
    head = bytes(data[:4])
    if head[:2] == b"\xff\xd8":
        return _jpeg_exif(data)
    if head in (b"II*\x00", b"MM\x00*"):
        return data
    if head == b"RIFF" and bytes(data[8:12]) == b"WEBP":
        return _webp_exif(data)
    if bytes(data[:8]) == b"\x89PNG\r\n\x1a\n":
        return _png_exif(data)
    return data[:0]


def as_bytes_view(data) -> memoryview:
    """``data`` (bytes, bytearray, memoryview or a uint8 array) as a flat byte view."""
    try:
        return memoryview(data).cast("B")
    except TypeError:  # an array that is not C-contiguous
        return memoryview(np.ascontiguousarray(data, dtype=np.uint8).reshape(-1))


def jpeg_segments(data: memoryview):
    """The ``(marker, payload)`` of a JPEG's marker segments before its scan
    (``payload``: the bytes after the length field, cut at the end of ``data``)."""
    pos, size = 2, len(data)
    while pos + 4 <= size:
        if data[pos] != 0xFF:  # stray bytes: libjpeg skips to the next marker, and so do we
            found = np.flatnonzero(np.frombuffer(data, np.uint8, offset=pos) == 0xFF)
            if not found.size:
                break
            pos += int(found[0])
            continue
        marker = data[pos + 1]
        if marker == 0xFF:  # fill byte
            pos += 1
            continue
        if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:  # markers without a length
            pos += 2
            continue
        if marker in (0xDA, 0xD9):  # start of scan, end of image: metadata comes before
            break
        length = (data[pos + 2] << 8) | data[pos + 3]
        if length < 2:
            break
        yield marker, data[pos + 4:pos + 2 + length]
        pos += 2 + length


def webp_chunks(data: memoryview):
    """The ``(kind, body)`` of a WebP's chunks (RIFF, padded to even lengths)."""
    pos, end = 12, min(len(data), 8 + int.from_bytes(data[4:8], "little"))
    while pos + 8 <= end:
        kind, length = bytes(data[pos:pos + 4]), int.from_bytes(data[pos + 4:pos + 8], "little")
        yield kind, data[pos + 8:min(pos + 8 + length, end)]
        pos += 8 + length + (length & 1)  # chunks are padded to an even length


def png_chunks(data: memoryview):
    """The ``(kind, body)`` of a PNG's chunks up to IEND (CRCs not checked)."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = int.from_bytes(data[pos:pos + 4], "big"), bytes(data[pos + 4:pos + 8])
        if kind == b"IEND":
            break
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


def _jpeg_exif(data: memoryview) -> memoryview:
    """The TIFF structure of a JPEG's first ``Exif\\0\\0`` APP1 segment before its scan."""
    for marker, segment in jpeg_segments(data):
        if marker == 0xE1 and bytes(segment[:6]) == b"Exif\0\0":
            return segment[6:]
    return data[:0]


def _webp_exif(data: memoryview) -> memoryview:
    """The TIFF structure of a WebP's ``EXIF`` chunk."""
    return next((_without_prefix(body) for kind, body in webp_chunks(data) if kind == b"EXIF"), data[:0])


def _png_exif(data: memoryview) -> memoryview:
    """The TIFF structure of a PNG's ``eXIf`` chunk."""
    return next((_without_prefix(body) for kind, body in png_chunks(data) if kind == b"eXIf"), data[:0])


def _without_prefix(chunk: memoryview) -> memoryview:
    """A TIFF structure, less the ``Exif\\0\\0`` that some writers put before it."""
    return chunk[6:] if bytes(chunk[:6]) == b"Exif\0\0" else chunk


def _tiff_orientation(tiff: memoryview) -> int:
    """The Orientation entry of the first IFD of a TIFF structure (1 if none)."""
    found = tiff_field(tiff, ORIENTATION_TAG)
    if found is None or found[1] not in _FORMATS or len(found[2]) < _SIZES[found[1]]:
        return 1
    order, kind, value = found
    return struct.unpack_from(order + _FORMATS[kind], value)[0]


def tiff_field(tiff: memoryview, tag: int):
    """The entry ``tag`` of the first IFD of a TIFF structure as ``(byte
    order "<" or ">", type, value bytes)``, the value cut where ``tiff``
    ends; None when there is no such entry, no TIFF or no value."""
    if len(tiff) < 8 or bytes(tiff[:4]) not in (b"II*\x00", b"MM\x00*"):
        return None
    order = "<" if tiff[0] == ord("I") else ">"
    (ifd,) = struct.unpack_from(order + "I", tiff, 4)
    if ifd < 8 or ifd + 2 > len(tiff):
        return None
    (count,) = struct.unpack_from(order + "H", tiff, ifd)
    count = min(count, (len(tiff) - ifd - 2) // 12)  # the entries there are room for
    for entry in range(ifd + 2, ifd + 2 + 12 * count, 12):
        found, kind, n = struct.unpack_from(order + "HHI", tiff, entry)
        if found == tag:
            if kind not in _SIZES or n < 1:
                return None
            at, size = entry + 8, n * _SIZES[kind]  # values of up to 4 bytes lie in the entry
            if size > 4:  # more: the entry holds their offset
                (at,) = struct.unpack_from(order + "I", tiff, at)
            return order, kind, tiff[at:at + size]
    return None


def orient(pixels: np.ndarray, value: int) -> np.ndarray:
    """Turn decoded pixels upright as image viewers do for EXIF Orientation ``value``.

    ====== ========================= ===================== ==================
    value  stored row 0 / column 0   viewers' turn         Pillow's transpose
    ====== ========================= ===================== ==================
    1      top / left                none                  none
    2      top / right               mirror left-right     FLIP_LEFT_RIGHT
    3      bottom / right            rotate 180            ROTATE_180
    4      bottom / left             mirror top-bottom     FLIP_TOP_BOTTOM
    5      left / top                transpose             TRANSPOSE
    6      right / top               rotate 90 clockwise   ROTATE_270
    7      right / bottom            transverse            TRANSVERSE
    8      left / bottom             rotate 90 anticlock.  ROTATE_90
    ====== ========================= ===================== ==================

    (Transpose swaps rows and columns, the top-left pixel staying there;
    transverse mirrors across the other diagonal, the top-left pixel going to
    the bottom-right.  Pillow's ROTATE_270 and ROTATE_90 turn anticlockwise.)

    Parameters
    ----------
    pixels : (h, w, c) or (h, w) array
        As decoded, row 0 first.
    value : int
        The EXIF Orientation; anything but 2 to 8 leaves the pixels as they are.

    Returns
    -------
    (h, w, c) or (w, h, c) array
        Upright (w, h for values 5 to 8), C-contiguous, same dtype.

    Examples
    --------
    >>> orient(np.array([[1, 2, 3], [4, 5, 6]]), 6)
    array([[4, 1],
           [5, 2],
           [6, 3]])
    """
    turned = {
        2: lambda p: p[:, ::-1],
        3: lambda p: p[::-1, ::-1],
        4: lambda p: p[::-1],
        5: lambda p: p.swapaxes(0, 1),
        6: lambda p: p.swapaxes(0, 1)[:, ::-1],
        7: lambda p: p[::-1, ::-1].swapaxes(0, 1),
        8: lambda p: p.swapaxes(0, 1)[::-1],
    }.get(value, lambda p: p)(pixels)
    return np.ascontiguousarray(turned)
