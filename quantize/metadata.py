"""The metadata an output keeps of its input, as pngquant keeps it: the
physical pixel size and the text, as PNG chunks ``(kind, data)`` for
:func:`quantize.png.encode_indexed`.

* From a PNG: its ``pHYs`` chunk, and its ``tEXt``, ``zTXt`` and ``iTXt``
  chunks as they are, except those with the keywords the output writes
  itself (``Software``, and ``quantize``, the parameters it was made with).
* From a JPEG: the pixel density of its JFIF header (in dots per inch or
  per centimetre), else of its EXIF (XResolution, YResolution,
  ResolutionUnit), as a ``pHYs`` chunk in pixels per metre; a JFIF aspect
  ratio without a unit becomes a ``pHYs`` without a unit.  Its text (EXIF,
  XMP, comments) is not carried over.

A picture turned upright a quarter turn (EXIF orientation 5 to 8) has its
horizontal and vertical densities swapped.  Other formats give nothing.
"""
from __future__ import annotations

import struct

from . import exif

TEXT_CHUNKS = (b"tEXt", b"zTXt", b"iTXt")
OWN_KEYWORDS = (b"Software", b"quantize")  # written by the output itself
_X_RESOLUTION, _Y_RESOLUTION, _RESOLUTION_UNIT = 0x011A, 0x011B, 0x0128
_PER_METRE = {1: 1 / 0.0254, 2: 100.0}  # JFIF units: dots per inch, per centimetre
_EXIF_PER_METRE = {2: 1 / 0.0254, 3: 100.0}  # EXIF ResolutionUnit: inch, centimetre


def kept_chunks(data, quarter_turned: bool = False) -> tuple:
    """The ancillary chunks an output keeps of the image file ``data``, as
    ``((kind, data), ...)``; ``quarter_turned``: the picture was turned a
    quarter turn upright (its densities are swapped).  Garbage gives ()."""
    view = exif.as_bytes_view(data)
    head = bytes(view[:8])
    try:
        if head == b"\x89PNG\r\n\x1a\n":
            chunks = tuple((kind, bytes(body)) for kind, body in exif.png_chunks(view)
                           if (kind == b"pHYs" and len(body) == 9)
                           or (kind in TEXT_CHUNKS and bytes(body[:80]).split(b"\0")[0] not in OWN_KEYWORDS))
        elif head[:2] == b"\xff\xd8":
            density = _jfif_density(view) or _exif_density(view)
            chunks = () if density is None else ((b"pHYs", struct.pack(">IIB", *density)),)
        else:
            chunks = ()
    except (struct.error, IndexError, ValueError):
        return ()
    return tuple(_swap_density(kind, body) if quarter_turned else (kind, body) for kind, body in chunks)


def _swap_density(kind: bytes, body: bytes) -> tuple:
    if kind != b"pHYs":
        return kind, body
    x, y, unit = struct.unpack(">IIB", body)
    return kind, struct.pack(">IIB", y, x, unit)


def _jfif_density(view: memoryview):
    """``(x, y, unit)`` of pHYs from a JPEG's JFIF APP0 header, or None."""
    for marker, segment in exif.jpeg_segments(view):
        if marker == 0xE0 and bytes(segment[:5]) == b"JFIF\0" and len(segment) >= 12:
            unit, x, y = struct.unpack_from(">BHH", segment, 7)
            if not x or not y:
                return None
            if unit == 0:
                return (x, y, 0) if x != y else None  # an aspect ratio; 1:1 says nothing
            if unit in _PER_METRE:
                return round(x * _PER_METRE[unit]), round(y * _PER_METRE[unit]), 1
            return None
    return None


def _exif_density(view: memoryview):
    """``(x, y, 1)`` of pHYs from a JPEG's EXIF resolution, or None."""
    tiff = exif.exif_of(view)
    unit = exif.tiff_field(tiff, _RESOLUTION_UNIT)
    unit = 2 if unit is None else struct.unpack_from(unit[0] + "H", unit[2])[0] if unit[1] == 3 else 0
    per_metre = _EXIF_PER_METRE.get(unit)
    values = []
    for tag in (_X_RESOLUTION, _Y_RESOLUTION):
        found = exif.tiff_field(tiff, tag)
        if per_metre is None or found is None or found[1] != 5 or len(found[2]) < 8:
            return None
        numerator, denominator = struct.unpack_from(found[0] + "II", found[2])
        if not numerator or not denominator:
            return None
        values.append(round(numerator / denominator * per_metre))
    return (*values, 1)
