"""Write the bad-and-odd-input corpus: tests/corpus/files/* and tests/corpus/expected.json.

Run it with the project's venv (numpy, OpenCV and Pillow):

    .venv/bin/python tests/corpus/make_corpus.py

The output is committed, so the tests never run this script; run it again only
to change the corpus.  It is deterministic (fixed seeds, no time stamps): a
second run rewrites the same bytes with the same library versions.

expected.json is a list of entries, one per case:

    file    the input's name in files/, or "<folder>" (a folder given as IMAGE),
            "<missing>" (a file that does not exist) or "<fifo>" (a named pipe)
    exit    0 (quantized) or 1 (refused)
    expect  a short substring of stderr (of the one error line when exit is 1;
            of a note when exit is 0); "" when nothing in particular
    shape   [height, width] of the first frame as stored (exit 0 only)
    any_orientation
            true when the output may also be the image turned a quarter
            (the EXIF orientation case)
    why     one line: why this outcome is the right one

The outcome follows what a user of pngquant or ImageMagick expects: a file an
ordinary viewer shows (a truncated JPEG, which libjpeg shows grey-filled at
the bottom; a PNG with junk after IEND) is quantized; a file no viewer can
show, or one too large for --max-pixels, is refused with exit 1.
"""
from __future__ import annotations

import io
import json
import shutil
import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

HERE = Path(__file__).resolve().parent
FILES = HERE / "files"
FOLDER, MISSING = "<folder>", "<missing>"
CORRUPT = "corrupt"  # the cause of a file a decoder gives up on
TOO_LARGE = "--max-pixels"

CASES: list[dict] = []


def case(file, data, exit, why, *, expect="", shape=None, any_orientation=False, args=None, with_=(),
         outputs=(), names=None, same_palette=False):
    """Record one case; ``data`` (bytes) is written to files/``file`` unless None.
    ``args``, ``with_``, ``outputs`` and ``names``: a command line of its own (see
    tests/test_corpus.py), the other files it needs, what it writes, and the
    name its error line holds (default: the input's); ``same_palette``: every
    output PNG holds the same PLTE and tRNS."""
    if data is not None:
        (FILES / file).write_bytes(data)
    entry = {"file": file, "exit": exit, "expect": expect}
    if args is not None:
        entry.update(args=list(args), outputs=list(outputs))
        if with_:
            entry["with"] = list(with_)
        if names is not None:
            entry["names"] = names
        if same_palette:
            entry["same_palette"] = True
    elif exit == 0:
        entry["shape"] = list(shape)
    if any_orientation:
        entry["any_orientation"] = True
    entry["why"] = why
    CASES.append(entry)


# --- pictures -----------------------------------------------------------------------------------

def photo(h=24, w=32, seed=0):
    """(h, w, 3) RGB uint8: a smooth gradient with noise, many colours like a photo."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w] / max(h, w, 2)
    base = np.stack([200 * x + 30, 150 * y + 50, 60 * (x + y) + 80], axis=-1)
    return np.clip(base + rng.normal(0, 10, size=base.shape), 0, 255).astype(np.uint8)


def alpha(h=24, w=32):
    """(h, w) uint8: a left-to-right ramp with a fully transparent corner."""
    a = np.tile(np.linspace(0, 255, w).astype(np.uint8), (h, 1))
    a[: h // 3, : w // 3] = 0
    return a


def bgr(rgb):
    return np.ascontiguousarray(rgb[..., ::-1])


def encode(suffix, image, params=()):
    ok, buffer = cv2.imencode(suffix, image, list(params))
    assert ok, suffix
    return buffer.tobytes()


# --- PNG by hand ---------------------------------------------------------------------------------

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunk(kind: bytes, data: bytes, crc=None) -> bytes:
    crc = zlib.crc32(kind + data) if crc is None else crc
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def ihdr(w, h, depth, colour, interlace=0) -> bytes:
    return chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, colour, 0, 0, interlace))


def scanlines(pixels) -> bytes:
    """Filter-0 scanlines of (h, w[, c]) uint8 or uint16 (stored big-endian)."""
    pixels = pixels.astype(">u2") if pixels.dtype == np.uint16 else pixels
    return b"".join(b"\0" + row.tobytes() for row in pixels)


def adam7(pixels) -> bytes:
    """The seven Adam7 passes of ``pixels``, each as filter-0 scanlines; empty passes are left out."""
    out = b""
    for x0, y0, dx, dy in ((0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2),
                           (0, 1, 1, 2)):
        sub = pixels[y0::dy, x0::dx]
        if sub.shape[0] and sub.shape[1]:
            out += scanlines(sub)
    return out


def png(pixels, colour, depth=8, *, extra=b"", interlace=0, idat_size=None, width=None) -> bytes:
    """A PNG of ``pixels`` in colour type ``colour`` (0 grey, 2 RGB, 3 palette, 4 grey+alpha,
    6 RGBA); ``extra`` chunks go before IDAT; ``idat_size`` splits IDAT into chunks that big;
    ``width`` in pixels when ``pixels`` holds packed rows (depth below 8)."""
    h, w = pixels.shape[0], width or pixels.shape[1]
    raw = adam7(pixels) if interlace else scanlines(pixels)
    data = zlib.compress(raw, 9)
    size = idat_size or len(data)
    idats = b"".join(chunk(b"IDAT", data[i:i + size]) for i in range(0, len(data), size))
    return SIGNATURE + ihdr(w, h, depth, colour, interlace) + extra + idats + chunk(b"IEND", b"")


def bomb_png(side=20000) -> bytes:
    """A side x side grey PNG of zeros; compressed row by row, so memory stays small."""
    compressor = zlib.compressobj(9)
    row = bytes(side + 1)
    parts = [compressor.compress(row) for _ in range(side)]
    data = b"".join(parts) + compressor.flush()
    return SIGNATURE + ihdr(side, side, 8, 0) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def with_bad_crc(data: bytes, kind: bytes) -> bytes:
    """``data`` with the CRC of its first ``kind`` chunk changed."""
    start = data.index(kind) - 4
    (length,) = struct.unpack(">I", data[start:start + 4])
    end = start + 8 + length
    return data[:end] + bytes([data[end] ^ 0xFF]) + data[end + 1:]


# --- JPEG, BMP, GIF, WebP by hand ------------------------------------------------------------------

def jpeg(rgb, *params) -> bytes:
    return encode(".jpg", bgr(rgb), (cv2.IMWRITE_JPEG_QUALITY, 90, *params))


def exif_orientation(value: int) -> bytes:
    """An APP1 Exif segment whose IFD0 holds one tag: Orientation (0x0112) = ``value``."""
    tiff = b"MM\0*" + struct.pack(">I", 8) + struct.pack(">H", 1)
    tiff += struct.pack(">HHIHH", 0x0112, 3, 1, value, 0) + struct.pack(">I", 0)
    body = b"Exif\0\0" + tiff
    return b"\xff\xe1" + struct.pack(">H", len(body) + 2) + body


def segment_end(data: bytes, marker: int) -> tuple[int, int]:
    """(start, end) of the first JPEG segment with ``marker`` (after SOI)."""
    pos = 2
    while True:
        assert data[pos] == 0xFF
        (length,) = struct.unpack(">H", data[pos + 2:pos + 4])
        if data[pos + 1] == marker:
            return pos, pos + 2 + length
        pos += 2 + length


def bmp_top_down(rgb) -> bytes:
    """A 24-bit BMP with a negative height: rows stored top row first."""
    h, w = rgb.shape[:2]
    stride = (3 * w + 3) & ~3
    rows = b"".join(bgr(row).tobytes().ljust(stride, b"\0") for row in rgb)
    info = struct.pack("<IiiHHIIiiII", 40, w, -h, 1, 24, 0, len(rows), 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + len(rows), 0, 0, 54) + info + rows


def bmp_huge(w=30000, h=30000) -> bytes:
    """A BMP header claiming w x h, 24-bit, followed by a few bytes of pixels."""
    rows = bytes(64)
    info = struct.pack("<IiiHHIIiiII", 40, w, h, 1, 24, 0, 3 * w * h & 0xFFFFFFFF, 2835, 2835, 0, 0)
    return b"BM" + struct.pack("<IHHI", 14 + 40 + len(rows), 0, 0, 54) + info + rows


def gif_huge() -> bytes:
    """A GIF whose logical screen and only frame claim 65535 x 65535, with a few bytes of LZW."""
    screen = b"GIF89a" + struct.pack("<HHBBB", 65535, 65535, 0x80, 0, 0) + b"\0\0\0\xff\xff\xff"
    frame = b"\x2c" + struct.pack("<HHHHB", 0, 0, 65535, 65535, 0) + b"\x02" + b"\x02\x4c\x01" + b"\0"
    return screen + frame + b"\x3b"


def webp_huge() -> bytes:
    """A WebP whose VP8X canvas is 20000 x 20000, holding a 4 x 4 lossless image."""
    small = encode(".webp", bgr(photo(4, 4)), (cv2.IMWRITE_WEBP_QUALITY, 101))
    assert small[12:16] == b"VP8L"
    vp8x = b"VP8X" + struct.pack("<I", 10) + bytes(4) + (20000 - 1).to_bytes(3, "little") * 2
    body = b"WEBP" + vp8x + small[12:]
    return b"RIFF" + struct.pack("<I", len(body)) + body


def pillow(image: Image.Image, fmt: str, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt, **options)
    return buffer.getvalue()


def main() -> None:
    shutil.rmtree(FILES, ignore_errors=True)
    FILES.mkdir(parents=True)
    pic = photo()
    shape = pic.shape[:2]
    good_png = png(pic, 2)
    good_jpg = jpeg(pic)

    # --- not images at all, or damaged beyond showing ---
    case("empty.png", b"", 1, "zero bytes: nothing to show", expect="empty")
    case("text.png", b"This is a text file, not a picture.\n" * 3, 1,
         "plain text named .png: no viewer shows it", expect="not an image")
    case("vector.svg", b'<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16">'
         b'<rect width="16" height="16" fill="#c33"/></svg>\n', 1,
         "SVG is vector text, which OpenCV cannot rasterize: unsupported, say so", expect="not an image")
    case("signature-only.png", SIGNATURE, 1, "a PNG signature and nothing else: no header, no pixels",
         expect=CORRUPT)
    case("truncated.png", good_png[: len(good_png) * 6 // 10], 0,
         "PNG cut inside IDAT, no IEND: libpng (pngquant, ImageMagick) stops with an error; browsers show "
         "the rows that arrived, and so do we (the rest black)", expect="cut short", shape=shape)
    case("bad-crc-ihdr.png", with_bad_crc(good_png, b"IHDR"), 1,
         "wrong CRC on the critical IHDR chunk: libpng (pngquant, ImageMagick) refuses the file", expect=CORRUPT)
    case("bad-crc-idat.png", with_bad_crc(good_png, b"IDAT"), 1,
         "wrong CRC on the critical IDAT chunk: libpng (pngquant, ImageMagick) refuses the file", expect=CORRUPT)
    case("zero-width.png", SIGNATURE + ihdr(0, 10, 8, 0) + chunk(b"IDAT", zlib.compress(bytes(10)))
         + chunk(b"IEND", b""), 1, "IHDR width 0 is invalid PNG: nothing to show", expect=CORRUPT)
    case("soi-eoi.jpg", b"\xff\xd8\xff\xd9", 1, "a JPEG of only SOI and EOI: no frame, nothing to show",
         expect=CORRUPT)

    # --- headers claiming more pixels than --max-pixels allows ---
    case("ihdr-100000x100000.png", SIGNATURE + ihdr(100000, 100000, 8, 0)
         + chunk(b"IDAT", zlib.compress(bytes(100001))) + chunk(b"IEND", b""), 1,
         "IHDR claims 10 gigapixels (valid CRC, tiny IDAT): refuse from the header", expect=TOO_LARGE)
    case("bomb-400mp.png", bomb_png(), 1,
         "400 KB that inflates to a 20000x20000 (400 MP) image: above the default limit", expect=TOO_LARGE)
    sof_start, _ = segment_end(good_jpg, 0xC0)
    huge_jpg = bytearray(good_jpg)
    huge_jpg[sof_start + 5:sof_start + 9] = struct.pack(">HH", 60000, 60000)
    _, sos_end = segment_end(good_jpg, 0xDA)
    case("sof-60000x60000.jpg", bytes(huge_jpg[:sos_end]) + b"\xff\xd9", 1,
         "SOF claims 60000x60000 (3.6 GP) and no scan data follows: refuse from the header", expect=TOO_LARGE)
    case("gif-65535x65535.gif", gif_huge(), 1,
         "GIF screen and frame claim 65535x65535 (4.3 GP): refuse from the header", expect=TOO_LARGE)
    case("webp-vp8x-20000x20000.webp", webp_huge(), 1,
         "WebP VP8X canvas claims 20000x20000 (400 MP): refuse from the header", expect=TOO_LARGE)
    case("bmp-30000x30000.bmp", bmp_huge(), 1,
         "BMP header claims 30000x30000 (900 MP) with 64 bytes of pixels: refuse from the header",
         expect=TOO_LARGE)

    # --- damaged, but viewers show them ---
    _, scan = segment_end(good_jpg, 0xDA)
    case("truncated.jpg", good_jpg[: (scan + len(good_jpg)) // 2], 0,
         "JPEG cut in the scan: libjpeg shows the top part and fills the rest grey, as viewers do",
         expect="cut short", shape=shape)
    case("trailing-garbage.png", good_png + b"garbage after IEND\n" * 8, 0,
         "bytes after IEND are ignored by libpng and by every viewer", shape=shape)
    case("bad-crc-text.png", with_bad_crc(png(pic, 2, extra=chunk(b"tEXt", b"Comment\0hello")), b"tEXt"), 0,
         "wrong CRC on an ancillary tEXt chunk: libpng drops the chunk and shows the image", shape=shape)

    # --- PNG kinds ---
    rng = np.random.default_rng(1)
    wide = (pic.astype(np.uint16) * 257 + rng.integers(0, 257, pic.shape)).astype(np.uint16)
    case("rgb16.png", png(wide, 2, 16), 0, "16-bit RGB PNG: valid, scaled to 8 bits", shape=shape)
    case("grey16.png", png(wide[..., 0], 0, 16), 0, "16-bit grey PNG: valid", shape=shape)
    case("rgba16.png", png(np.dstack([wide, alpha().astype(np.uint16) * 257]), 6, 16), 0,
         "16-bit RGBA PNG: valid", shape=shape)
    case("grey8.png", png(pic[..., 1], 0), 0, "8-bit grey PNG: valid", shape=shape)
    case("grey-alpha.png", png(np.dstack([pic[..., 1], alpha()]), 4), 0, "8-bit grey+alpha PNG: valid",
         shape=shape)
    case("rgba8.png", png(np.dstack([pic, alpha()]), 6), 0, "8-bit RGBA PNG: valid", shape=shape)
    indices = (pic[..., 0] // 32).astype(np.uint8)  # 8 entries
    plte = chunk(b"PLTE", bytes(np.array([[i * 32, 255 - i * 32, 128] for i in range(8)], np.uint8)))
    case("palette.png", png(indices, 3, extra=plte), 0, "palette PNG without tRNS: valid", shape=shape)
    case("palette-trns.png", png(indices, 3, extra=plte + chunk(b"tRNS", bytes([0, 64, 128, 255]))), 0,
         "palette PNG with tRNS (some entries transparent): valid, has alpha", shape=shape)
    bits = np.packbits(pic[..., 0] > 128, axis=1)
    case("palette-1bit.png", png(bits, 3, 1, width=pic.shape[1], extra=chunk(b"PLTE", b"\x10\x20\x30\xf0\xe0\xd0")), 0,
         "1-bit palette PNG (8 pixels a byte): valid", shape=shape)
    key = pic.copy()
    key[:8, :8] = (1, 2, 3)
    case("rgb-trns.png", png(key, 2, extra=chunk(b"tRNS", struct.pack(">HHH", 1, 2, 3))), 0,
         "RGB PNG with a tRNS colour key: valid, one colour transparent", shape=shape)
    case("interlaced.png", png(pic, 2, interlace=1), 0, "Adam7-interlaced PNG: valid", shape=shape)
    case("many-idat.png", png(pic, 2, idat_size=64), 0, "IDAT split into 64-byte chunks: valid", shape=shape)
    case("no-iend.png", good_png[:-12], 0,
         "every pixel present, only the IEND chunk missing: browsers, Pillow and ImageMagick show it",
         expect="cut short", shape=shape)
    case("really-a-png.jpg", good_png, 0, "a PNG named .jpg: formats are told by content, not by name",
         shape=shape)

    # --- JPEG kinds ---
    case("cmyk.jpg", pillow(Image.fromarray(pic).convert("CMYK"), "JPEG", quality=90), 0,
         "CMYK JPEG (Adobe, as Photoshop writes): valid", shape=shape)
    case("progressive.jpg", jpeg(pic, cv2.IMWRITE_JPEG_PROGRESSIVE, 1), 0, "progressive JPEG: valid",
         shape=shape)
    case("grey.jpg", encode(".jpg", pic[..., 1]), 0, "one-component (grey) JPEG: valid", shape=shape)
    tall = photo(40, 24, seed=2)
    case("exif-rotated.jpg", b"\xff\xd8" + exif_orientation(6) + jpeg(tall)[2:], 0,
         "EXIF orientation 6 (turn 90 degrees): valid; output either as stored or turned",
         shape=tall.shape[:2], any_orientation=True)
    comments = b"".join(b"\xff\xfe" + struct.pack(">H", 40002) + (b"metadata " * 4445)[:40000] for _ in range(2))
    case("big-metadata.jpg", good_jpg[:2] + comments + good_jpg[2:], 0,
         "80 KB of COM segments before SOF: valid, the size is found past them", shape=shape)

    # --- other formats ---
    case("plain.bmp", encode(".bmp", bgr(pic)), 0, "24-bit BMP (bottom-up): valid", shape=shape)
    case("top-down.bmp", bmp_top_down(pic), 0, "BMP with a negative height (rows top-down): valid",
         shape=shape)
    pages = [Image.fromarray(photo(*size, seed=i)) for i, size in enumerate([(24, 32), (10, 10), (5, 7)])]
    case("multipage.tiff", pillow(pages[0], "TIFF", save_all=True, append_images=pages[1:]), 0,
         "three-page TIFF: quantize the first page and say so", expect="frames", shape=shape)
    case("float32.tiff", encode(".tiff", bgr(pic).astype(np.float32) / 255), 0,
         "32-bit float TIFF with values 0..1: valid", shape=shape)
    case("rgb16.tiff", encode(".tiff", bgr(wide)), 0, "16-bit RGB TIFF: valid", shape=shape)
    case("lossy.webp", encode(".webp", bgr(pic), (cv2.IMWRITE_WEBP_QUALITY, 80)), 0, "lossy WebP: valid",
         shape=shape)
    case("lossless.webp", encode(".webp", bgr(pic), (cv2.IMWRITE_WEBP_QUALITY, 101)), 0,
         "lossless WebP: valid", shape=shape)
    case("alpha.webp", encode(".webp", np.dstack([bgr(pic), alpha()]), (cv2.IMWRITE_WEBP_QUALITY, 80)), 0,
         "lossy WebP with alpha: valid, has alpha", shape=shape)
    case("still.gif", pillow(Image.fromarray(pic).quantize(64), "GIF"), 0, "single-frame GIF: valid",
         shape=shape)
    frames = [Image.fromarray(photo(seed=i)).quantize(64) for i in range(3)]
    case("animated.gif", pillow(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100,
                                loop=0), 0,
         "three-frame animated GIF: quantize all frames with one palette (an APNG out) and say so",
         expect="frames", shape=shape)

    # --- odd sizes and colour counts ---
    case("1x1.png", png(np.array([[[200, 30, 60]]], np.uint8), 2), 0, "a single pixel: valid", shape=(1, 1))
    case("1xN.png", png(photo(37, 1, seed=3), 2), 0, "one pixel wide, 37 high: valid", shape=(37, 1))
    case("Nx1.png", png(photo(1, 37, seed=4), 2), 0, "37 wide, one pixel high: valid", shape=(1, 37))
    case("aspect-4000x1.png", png(photo(1, 4000, seed=5), 2), 0, "4000 wide, 1 high: valid",
         shape=(1, 4000))
    case("one-colour.png", png(np.full((16, 16, 3), (40, 90, 200), np.uint8), 2), 0,
         "one colour only, fewer than K: kept exactly", shape=(16, 16))
    four = np.zeros((16, 16, 3), np.uint8)
    four[:8, :8], four[:8, 8:], four[8:, :8], four[8:, 8:] = (255, 0, 0), (0, 255, 0), (0, 0, 255), (250, 250, 250)
    case("four-colours.png", png(four, 2), 0, "exactly K=4 colours: kept exactly", shape=(16, 16))
    two = np.zeros((16, 16, 3), np.uint8)
    two[:, 8:] = (255, 255, 255)
    case("two-colours.png", png(two, 2), 0, "two colours, fewer than K: kept exactly", shape=(16, 16))

    # --- names and paths ---
    case("café-日本.png", good_png, 0, "non-ASCII name (UTF-8): any name is read", shape=shape)
    case(" leading-space.png", good_png, 0, "a name starting with a space", shape=shape)
    case("-leading-dash.png", good_png, 0, "a name starting with a dash, given after --", shape=shape)
    long_name = ("long-name-" * 24)[:240] + ".png"
    case(long_name, good_png, 0, "a 244-character name (the longest part a file system allows is 255)",
         shape=shape)
    case(FOLDER, None, 1, "a folder is not an image", expect="folder")
    case(MISSING, None, 1, "a file that does not exist", expect="no such file")

    # --- palettes given with --map, vectors for cluster, folders for batch, named pipes ---
    given = ["image", "--map", "{input}", "-o", "out.png", "--no-palette", "--", "four-colours.png"]
    for name, data, why, expect in (
            ("binary.gpl", bytes(range(256)) * 4, "binary bytes named .gpl: not a palette", "not a valid .gpl"),
            ("binary.json", b"\xff\xfe\x00" * 50, "binary bytes named .json: not UTF-8 text", "not utf-8"),
            ("many.hex", "".join(f"#{i * 55001:06x}\n" for i in range(300)).encode(),
             "300 colours: a palette holds at most 256", "has 300 colours"),
            ("five.json", b'{"colors": [{"rgb": [1, 2, 3, 4, 5]}]}', "a colour of 5 values", "5 values"),
            ("float.json", b'{"colors": [{"rgb": [10.7, 2, 3]}]}', "10.7 is no 8-bit value: refused, not cut",
             "10.7")):
        case(name, data, 1, why, expect=expect, args=given, with_=["four-colours.png"])
    for name, data, why in (
            ("bom.txt", b"\xef\xbb\xbf#ff0000\n#00ff00\n", "a UTF-8 BOM before the first colour (Windows editors)"),
            ("commented.hex", b"# lospec\n; x\nff0000\n00ff00\n", "comment lines, # and ;, and Lospec's bare hex"),
            ("paintnet.txt", b"; paint.net Palette File\nFFFF0000\nFF0000FF\n", "Paint.NET's aarrggbb with ; comments"),
            ("aseprite.gpl", b"GIMP Palette\nChannels: RGBA\n0 0 0 0 Clear\n254 91 89 255 Red\n",
             "Aseprite's .gpl with an alpha channel")):
        case(name, data, 0, why, args=given, with_=["four-colours.png"], outputs=["out.png"])
    buffer = io.BytesIO()
    bits = np.zeros((6, 4, 4), bool)
    bits[3:, 1:3, 1:3] = True
    np.save(buffer, bits)
    case("bits.npy", buffer.getvalue(), 0, "a boolean array, 2 distinct pictures for K=6: 0 and 1, empty clusters "
         "said", expect="of the clusters are empty", args=["cluster", "{input}", "-k", "6", "-o", "rep"],
         outputs=["rep/clusters.json", "rep/centroids.png"])
    buffer = io.BytesIO()
    np.save(buffer, np.random.default_rng(7).random((5, 3, 3)).astype(np.float32))
    case("five-vectors.npy", buffer.getvalue(), 0, "K equal to the number of vectors: each its own cluster",
         args=["cluster", "{input}", "-k", "5", "-o", "rep"], outputs=["rep/clusters.json"])
    case("<fifo>", None, 0, "a named pipe given by name is read as a stream, as - is",
         args=["image", "-k", "4", "-o", "out.png", "--no-palette", "--", "{input}"], with_=["four-colours.png"],
         outputs=["out.png"])
    case("<fifo>", None, 1, "a named pipe among a batch's inputs is no regular file: reported, the rest done",
         expect="not a regular file", args=["batch", "{input}", "four-colours.png", "-k", "4", "-o", "out"],
         with_=["two-colours.png", "four-colours.png"], outputs=["out/four-colours.png"])
    case("rgba8.png", None, 0, "one shared palette over an RGB and an RGBA image: the same PLTE and tRNS in both",
         args=["batch", "set", "-k", "4", "-o", "out", "--shared-palette"],
         with_=["set/four-colours.png", "set/rgba8.png"], outputs=["out/four-colours.png", "out/rgba8.png"],
         same_palette=True)

    (HERE / "expected.json").write_text(json.dumps(CASES, indent=1, ensure_ascii=False) + "\n", "utf-8")
    total = sum(p.stat().st_size for p in FILES.iterdir())
    print(f"{len(CASES)} cases, {len(list(FILES.iterdir()))} files, {total / 1e3:.0f} KB in {FILES}")


if __name__ == "__main__":
    main()
