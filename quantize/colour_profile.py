"""Colour management: the colour space a file declares, and its pixels
converted to sRGB, as a colour-managed viewer shows them.

What is honoured, first found first:

* an embedded ICC profile: PNG ``iCCP``, JPEG ``APP2 ICC_PROFILE`` (split over
  as many segments as it takes, joined by their sequence numbers), WebP
  ``ICCP``, TIFF tag 34675;
* a PNG ``sRGB`` chunk: sRGB, nothing to do;
* PNG ``gAMA`` and ``cHRM`` without either: a matrix/TRC profile made from
  them (:func:`matrix_profile`; cHRM missing: sRGB's primaries), except a
  gamma of 2.2 (gAMA 45000 to 46000) with sRGB's primaries, which is taken as
  sRGB, as libpng and browsers take it.

The conversion is littlecms's (Pillow's ``ImageCms``), perceptual intent, on
8-bit RGB (a 16-bit file is converted after it was scaled to 8 bits); alpha
is kept as it is.  A profile that converts every value of a 9x9x9 grid to
within 1 of itself is sRGB: the pixels are left as they are, to the byte.  A
profile littlecms cannot read, or of a space other than RGB or grey (CMYK,
Lab), leaves the pixels as they are too; the caller says so.

The output of a converted (or sRGB) input is tagged sRGB as pngquant tags it:
an ``sRGB`` chunk, rendering intent 0 (perceptual), and a ``gAMA`` of 45455
for decoders that know gAMA only (PNG spec 11.3.3.5).
"""
from __future__ import annotations

import io
import struct
from dataclasses import dataclass

import numpy as np

from . import exif

UNTAGGED, SRGB, CONVERTED, UNREADABLE, UNSUPPORTED, IGNORED = (
    "untagged", "srgb", "converted", "unreadable", "unsupported", "ignored")
SRGB_CHUNKS = ((b"sRGB", b"\0"), (b"gAMA", struct.pack(">I", 45455)))  # what a converted output is tagged
SRGB_PRIMARIES = ((0.3127, 0.3290), (0.64, 0.33), (0.30, 0.60), (0.15, 0.06))  # white, red, green, blue
ICC_TIFF_TAG = 34675
BLOCK_PIXELS = 1 << 20  # pixels converted at a time


@dataclass(frozen=True)
class Declared:
    """The colour space a file declares: an ICC profile's bytes, an sRGB chunk,
    a PNG gAMA (the file gamma x 100000) and cHRM (white, red, green, blue xy)."""

    icc: bytes | None = None
    srgb: bool = False
    gama: int | None = None
    chrm: tuple | None = None

    @property
    def any(self) -> bool:
        return self.icc is not None or self.srgb or self.gama is not None or self.chrm is not None


def declared(data) -> Declared:
    """What the image file's bytes ``data`` declare (nothing for garbage or a
    format without a place for it)."""
    view = exif.as_bytes_view(data)
    head = bytes(view[:12])
    try:
        if head[:8] == b"\x89PNG\r\n\x1a\n":
            return _png_declared(view)
        if head[:2] == b"\xff\xd8":
            return Declared(icc=_jpeg_icc(view))
        if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
            return Declared(icc=next((bytes(body) for kind, body in exif.webp_chunks(view) if kind == b"ICCP"), None))
        if head[:4] in (b"II*\x00", b"MM\x00*"):
            found = exif.tiff_field(view, ICC_TIFF_TAG)
            return Declared(icc=bytes(found[2]) if found and found[1] in (1, 7) else None)
    except (struct.error, IndexError, ValueError):
        pass
    return Declared()


def _png_declared(view: memoryview) -> Declared:
    import zlib

    icc, srgb, gama, chrm = None, False, None, None
    for kind, body in exif.png_chunks(view):
        if kind == b"iCCP" and icc is None:
            name_end = bytes(body[:81]).find(b"\0")
            try:
                icc = zlib.decompress(bytes(body[name_end + 2:])) if name_end > 0 else b""
            except zlib.error:
                icc = b""  # there, but unreadable
        elif kind == b"sRGB":
            srgb = True
        elif kind == b"gAMA" and len(body) == 4:
            gama = int.from_bytes(body, "big") or None
        elif kind == b"cHRM" and len(body) == 32:
            values = struct.unpack(">8I", body)
            chrm = tuple((values[i] / 1e5, values[i + 1] / 1e5) for i in range(0, 8, 2))
        elif kind in (b"IDAT", b"PLTE"):
            break  # colour-space chunks come before these
    return Declared(icc=icc, srgb=srgb, gama=gama, chrm=chrm)


def _jpeg_icc(view: memoryview) -> bytes | None:
    """The ICC profile of a JPEG's ``ICC_PROFILE`` APP2 segments, joined in
    the order of their sequence numbers (b"" when they do not make one)."""
    parts = {}
    for marker, segment in exif.jpeg_segments(view):
        if marker == 0xE2 and bytes(segment[:12]) == b"ICC_PROFILE\0" and len(segment) >= 14:
            parts[segment[12]] = (segment[13], bytes(segment[14:]))
    if not parts:
        return None
    total = {count for count, _ in parts.values()}
    if len(total) != 1 or sorted(parts) != list(range(1, total.pop() + 1)):
        return b""
    return b"".join(parts[number][1] for number in sorted(parts))


def to_srgb(pixels: np.ndarray, data) -> tuple[np.ndarray, str, str]:
    """``pixels`` (RGB or RGBA ``uint8``, decoded from the file bytes
    ``data``) in sRGB, how (:data:`UNTAGGED`, :data:`SRGB`, :data:`CONVERTED`,
    :data:`UNREADABLE`, :data:`UNSUPPORTED`) and the source profile's name or
    the cause.  Converted in place, a block of rows at a time; alpha kept."""
    found = declared(data)
    if not found.any:
        return pixels, UNTAGGED, ""
    if found.icc is None and (found.srgb or _srgb_like(found)):
        return pixels, SRGB, "sRGB"
    from PIL import ImageCms

    try:
        icc = found.icc if found.icc is not None else matrix_profile(
            *(found.chrm or SRGB_PRIMARIES), 1e5 / found.gama if found.gama else 2.2)
        source = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        space = source.profile.xcolor_space.strip()
        name = (source.profile.profile_description or "").strip() or "an ICC profile"
    except (OSError, ImageCms.PyCMSError, ValueError, TypeError, ZeroDivisionError) as error:
        return pixels, UNREADABLE, str(error) or type(error).__name__
    if space not in ("RGB", "GRAY"):
        return pixels, UNSUPPORTED, f"{name} ({space})"
    mode = "RGB" if space == "RGB" else "L"
    try:
        transform = ImageCms.buildTransform(source, ImageCms.createProfile("sRGB"), mode, "RGB",
                                            renderingIntent=ImageCms.Intent.PERCEPTUAL)
    except ImageCms.PyCMSError as error:
        return pixels, UNREADABLE, str(error)
    if _is_identity(transform, mode):
        return pixels, SRGB, name
    _apply(transform, pixels, mode)
    return pixels, CONVERTED, name


def _srgb_like(found: Declared) -> bool:
    """gAMA of about 2.2 (or none) and cHRM of sRGB (or none): taken as sRGB."""
    gamma_ok = found.gama is None or 45000 <= found.gama <= 46000
    chrm_ok = found.chrm is None or np.allclose(found.chrm, SRGB_PRIMARIES, atol=0.01)
    return gamma_ok and chrm_ok


def _is_identity(transform, mode: str) -> bool:
    """True when ``transform`` moves no value of a 9x9x9 grid (9 greys) by more than 1."""
    from PIL import Image, ImageCms

    steps = np.linspace(0, 255, 9).round().astype(np.uint8)
    if mode == "RGB":
        grid = np.stack(np.meshgrid(steps, steps, steps, indexing="ij"), axis=-1).reshape(1, -1, 3)
        expected = grid
    else:
        grid, expected = steps.reshape(1, -1), np.repeat(steps.reshape(1, -1, 1), 3, axis=2)
    out = np.asarray(ImageCms.applyTransform(Image.fromarray(grid), transform))
    return int(np.abs(out.astype(np.int16) - expected).max()) <= 1


def _apply(transform, pixels: np.ndarray, mode: str) -> None:
    """Convert the colour of ``pixels`` in place, ``BLOCK_PIXELS`` at a time."""
    from PIL import Image, ImageCms

    rows = max(1, BLOCK_PIXELS // max(1, pixels.shape[1]))
    for start in range(0, pixels.shape[0], rows):
        block = pixels[start:start + rows, :, :3]
        source = np.ascontiguousarray(block if mode == "RGB" else block[:, :, 0])
        block[...] = np.asarray(ImageCms.applyTransform(Image.fromarray(source), transform))


# Bradford cone response, for adapting a profile's white to the ICC's D50
_BRADFORD = np.array([[0.8951, 0.2664, -0.1614], [-0.7502, 1.7135, 0.0367], [0.0389, -0.0685, 1.0296]])
D50 = np.array([0.9642, 1.0, 0.8249])


def _xyz(xy) -> np.ndarray:
    x, y = xy
    return np.array([x / y, 1.0, (1.0 - x - y) / y])


def matrix_profile(white, red, green, blue, gamma: float, name: str = "quantize matrix/TRC") -> bytes:
    """An ICC v2 display profile (matrix/TRC) of the chromaticities ``white``,
    ``red``, ``green``, ``blue`` (each ``(x, y)``) and a pure power curve of
    ``gamma`` (decoding exponent, e.g. 563/256 for Adobe RGB (1998)), the
    colorants adapted to D50 by Bradford as ICC v2 profiles are made."""
    primaries = np.stack([_xyz(red), _xyz(green), _xyz(blue)], axis=1)
    white_xyz = _xyz(white)
    matrix = primaries * np.linalg.solve(primaries, white_xyz)
    cone = _BRADFORD @ D50 / (_BRADFORD @ white_xyz)
    adapted = np.linalg.inv(_BRADFORD) @ np.diag(cone) @ _BRADFORD @ matrix
    curve = b"curv" + bytes(4) + struct.pack(">IH2x", 1, int(round(gamma * 256)))
    text = name.encode("ascii") + b"\0"
    tags = [(b"desc", b"desc" + bytes(4) + struct.pack(">I", len(text)) + text + bytes(4 + 4 + 2 + 1 + 67)),
            (b"cprt", b"text" + bytes(4) + b"No copyright, use freely\0"),
            (b"wtpt", _xyz_tag(white_xyz)),
            *[(kind, _xyz_tag(adapted[:, i])) for i, kind in enumerate((b"rXYZ", b"gXYZ", b"bXYZ"))],
            (b"rTRC", curve), (b"gTRC", curve), (b"bTRC", curve)]
    return _icc(tags)


def _xyz_tag(xyz) -> bytes:
    return b"XYZ " + bytes(4) + struct.pack(">3i", *(int(round(v * 65536)) for v in xyz))


def _icc(tags) -> bytes:
    """ICC profile bytes: a v2.1 display-class RGB/XYZ header, the tag table, the tags (4-byte aligned)."""
    offset = 128 + 4 + 12 * len(tags)
    table, body = [], b""
    for kind, data in tags:
        table.append(struct.pack(">4sII", kind, offset + len(body), len(data)))
        body += data + bytes(-len(data) % 4)
    size = offset + len(body)
    header = (struct.pack(">I4sI4s4s4s", size, b"lcms", 0x02100000, b"mntr", b"RGB ", b"XYZ ") + bytes(12)
              + b"acsp" + bytes(4 + 4 + 4 + 4 + 8) + struct.pack(">I", 0)
              + struct.pack(">3i", *(int(round(v * 65536)) for v in D50)) + bytes(4 + 16 + 28))
    return header + struct.pack(">I", len(tags)) + b"".join(table) + body
