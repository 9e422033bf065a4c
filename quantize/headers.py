"""What the first bytes of an image file say, without decoding it: whether a
format OpenCV reads starts so (:func:`opencv_reads`), the size the header
declares (:func:`header_size`: the canvas of an animation), and the frames or
pages (:func:`frame_count`).
Pure Python on ``bytes`` (or anything indexable as bytes); nothing here
allocates more than it is given.
"""
from __future__ import annotations

import struct

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"

# How every file starts that one of OpenCV's decoders takes (its checkSignature, or a
# looser test that lets through at least what it takes): BMP, Sun raster, JPEG, JPEG
# 2000 (JP2 box, J2K codestream), JPEG XL (container, codestream), PNG, GIF, TIFF and
# BigTIFF, OpenEXR, Radiance HDR ("#?RADIANCE", "#?RGBE").
_SIGNATURES = (b"BM", b"\x59\xa6\x6a\x95", b"\xff\xd8", b"\0\0\0\x0cjP  \r\n\x87\n", b"\xff\x4f\xff\x51",
               b"\0\0\0\x0cJXL \r\n\x87\n", b"\xff\x0a", PNG_SIGNATURE, b"GIF87a", b"GIF89a", b"II*\0",
               b"MM\0*", b"II+\0", b"MM\0+", b"\x76\x2f\x31\x01", b"#?")


def opencv_reads(head: bytes) -> bool:
    r"""Whether ``head``, the first bytes of a file, starts as a format OpenCV
    reads: those of ``_SIGNATURES``, WebP (``RIFF....WEBP``), AVIF (an ISO box
    ``ftyp`` at byte 4), and the Netpbm family (``P1`` to ``P7``: PBM, PGM, PPM,
    PAM; ``PF``, ``Pf``: PFM).  False says that no decoder of OpenCV would take
    the file, whatever follows; True only that one may.

    >>> opencv_reads(b"\x89PNG\r\n\x1a\n"), opencv_reads(b"P6\n4 4\n255\n"), opencv_reads(bytes(16))
    (True, True, False)
    """
    if head.startswith(_SIGNATURES):
        return True
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return True
    if head[4:8] == b"ftyp":
        return True
    return head[:1] == b"P" and head[1:2] != b"" and head[1:2] in b"1234567Ff"


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
    """Frames of a GIF (its image descriptors), an APNG (as its acTL chunk
    declares) or an animated WebP (its ANMF chunks), or pages of a TIFF (1
    for any other file, or when the structure cannot be followed).  Reads the
    blocks' and chunks' headers only, never their pixels."""
    head = bytes(data[:16])
    try:
        if head[:6] in (b"GIF87a", b"GIF89a"):
            return max(1, _gif_frames(memoryview(data).cast("B") if not isinstance(data, bytes) else data))
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            return max(1, _tiff_pages(bytes(data)))
        if head[:8] == PNG_SIGNATURE:
            return max(1, _apng_frames(data))
        if head[:4] == b"RIFF" and head[8:16] == b"WEBPVP8X":
            return max(1, _webp_frames(data))
    except (IndexError, struct.error):
        return 1
    return 1


def _apng_frames(data) -> int:
    """The frames an APNG's acTL chunk declares (it comes before the image
    data), or 1 for a PNG without one."""
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", bytes(data[pos:pos + 8]))
        if kind == b"acTL":
            return struct.unpack(">I", bytes(data[pos + 8:pos + 12]))[0]
        if kind in (b"IDAT", b"IEND"):
            return 1
        pos += 12 + length
    return 1


def _webp_frames(data) -> int:
    """The ANMF (frame) chunks of an extended WebP, walked from chunk header
    to chunk header; 1 when it has none."""
    pos, frames = 12, 0
    while pos + 8 <= len(data):
        kind, length = struct.unpack("<4sI", bytes(data[pos:pos + 8]))
        frames += kind == b"ANMF"
        pos += 8 + length + (length & 1)  # chunks are padded to an even size
    return frames


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
