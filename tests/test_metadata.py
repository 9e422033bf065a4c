"""Metadata kept in a PNG output: pHYs and text chunks of a PNG input, the
density of a JPEG's JFIF header or EXIF; ``strip`` drops them and the
parameters record, and changes no pixel."""
import struct
import zlib

import cv2
import numpy as np
import pytest

from quantize.exif import png_chunks
from quantize.files import PNG_KEYWORD, OutputOptions, quantize_file
from quantize.metadata import kept_chunks
from quantize.png import encode_truecolor
from quantize.reading import decode_image

PHYS = struct.pack(">IIB", 11811, 5906, 1)  # 300 x 150 dpi
AUTHOR = b"Author\0Ada"
NOTE = b"Comment\0\0" + zlib.compress(b"made for a test")
INTERNATIONAL = b"Title\0\0\0en\0Titel\0Bild"


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def picture() -> np.ndarray:
    y, x = np.mgrid[0:40, 0:60]
    return np.dstack([x * 4, y * 6, (x + y) * 2]).astype(np.uint8)


def png_with(pixels, *chunks) -> bytes:
    data = encode_truecolor(pixels)
    return data[:33] + b"".join(chunk(k, b) for k, b in chunks) + data[33:]


def chunks_of(data: bytes) -> list:
    return [(kind, bytes(body)) for kind, body in png_chunks(memoryview(data))]


@pytest.fixture
def tagged(tmp_path):
    source = tmp_path / "in.png"
    source.write_bytes(png_with(picture(), (b"pHYs", PHYS), (b"tEXt", AUTHOR), (b"zTXt", NOTE),
                                (b"iTXt", INTERNATIONAL), (b"tEXt", b"Software\0some editor")))
    return source


def test_phys_and_text_survive(tagged, tmp_path):
    output = tmp_path / "out.png"
    quantize_file(tagged, 8, output=output)
    found = chunks_of(output.read_bytes())
    for kept in ((b"pHYs", PHYS), (b"tEXt", AUTHOR), (b"zTXt", NOTE), (b"iTXt", INTERNATIONAL)):
        assert found.count(kept) == 1, kept
    texts = [body.split(b"\0")[0] for kind, body in found if kind == b"tEXt"]
    assert texts.count(b"Software") == 1 and texts.count(PNG_KEYWORD.encode()) == 1  # ours, not the input's
    assert (b"tEXt", b"Software\0some editor") not in found


def test_strip_drops_metadata_not_pixels(tagged, tmp_path):
    """(A palette given in advance: k-means run twice in one process does not
    repeat itself today, whatever ``strip`` says.)"""
    kept, stripped = tmp_path / "kept.png", tmp_path / "stripped.png"
    colors = np.array([[0, 0, 0], [250, 30, 40], [30, 240, 60], [20, 40, 230], [255, 255, 255]], np.uint8)
    quantize_file(tagged, None, output=kept, colors=colors)
    quantize_file(tagged, None, output=stripped, output_options=OutputOptions(strip=True), colors=colors)
    kinds = [kind for kind, _ in chunks_of(stripped.read_bytes())]
    assert kinds == [b"IHDR", b"PLTE", b"IDAT"]
    assert np.array_equal(decode_image(kept.read_bytes()), decode_image(stripped.read_bytes()))


def jpeg_with(app0: bytes) -> bytes:
    data = cv2.imencode(".jpg", picture())[1].tobytes()
    assert data[2:4] == b"\xff\xe0"  # OpenCV writes a JFIF APP0 first: put ours in its place
    length = int.from_bytes(data[4:6], "big")
    return data[:2] + b"\xff\xe0" + struct.pack(">H", len(app0) + 2) + app0 + data[4 + length:]


def jfif(unit: int, x: int, y: int) -> bytes:
    return b"JFIF\0\x01\x02" + struct.pack(">BHHBB", unit, x, y, 0, 0)


def test_jpeg_density_becomes_phys():
    assert kept_chunks(jpeg_with(jfif(1, 300, 150))) == ((b"pHYs", PHYS),)
    assert kept_chunks(jpeg_with(jfif(2, 100, 100))) == ((b"pHYs", struct.pack(">IIB", 10000, 10000, 1)),)
    assert kept_chunks(jpeg_with(jfif(1, 300, 150)), quarter_turned=True) == (
        (b"pHYs", struct.pack(">IIB", 5906, 11811, 1)),)
    assert kept_chunks(jpeg_with(jfif(0, 1, 1))) == ()  # no unit, square pixels: nothing said


def test_jpeg_exif_resolution():
    tiff = (b"II*\0" + struct.pack("<I", 8) + struct.pack("<H", 3)
            + struct.pack("<HHII", 0x011A, 5, 1, 50) + struct.pack("<HHII", 0x011B, 5, 1, 58)
            + struct.pack("<HHIHH", 0x0128, 3, 1, 3, 0) + struct.pack("<I", 0)
            + struct.pack("<II", 72, 1) + struct.pack("<II", 144, 2))
    app1 = b"\xff\xe1" + struct.pack(">H", len(tiff) + 8) + b"Exif\0\0" + tiff
    data = jpeg_with(jfif(0, 1, 1))
    data = data[:2] + app1 + data[2:]
    assert kept_chunks(data) == ((b"pHYs", struct.pack(">IIB", 7200, 7200, 1)),)  # 72 per cm


def test_garbage_keeps_nothing():
    assert kept_chunks(b"\x89PNG\r\n\x1a\n\0\0\0\x09pHYs\0\0") == ()
    assert kept_chunks(b"not an image") == ()
