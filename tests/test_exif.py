"""EXIF orientation: the tag read from JPEG, TIFF, WebP and PNG bytes built here, and
the turn checked against the EXIF definition and against Pillow's exif_transpose."""
import io
import struct

import cv2
import numpy as np
import pytest

from quantize.exif import orient, orientation
from quantize.imageio import decode_image

Image = pytest.importorskip("PIL.Image")
ImageOps = pytest.importorskip("PIL.ImageOps")

ORDERS = ["<", ">"]  # II (little-endian) and MM (big-endian)
H, W = 4, 6


def picture(channels=3) -> np.ndarray:
    """A 4x6 picture whose every pixel differs, a red top-left corner."""
    values = np.arange(H * W * channels, dtype=np.uint8).reshape(H, W, channels) * 3 + 20
    values[0, 0, :3] = (255, 0, 0)
    return values


def tiff_exif(value, order="<", kind=3, before=True, after=True) -> bytes:
    """A TIFF structure whose IFD0 holds Orientation ``value`` (TIFF type ``kind``),
    with a Make entry (its string out of line) before it and a resolution after it."""
    entries, extra = [], b""
    data_at = 8 + 2 + 12 * (before + 1 + after) + 4
    if before:  # Make: ASCII, 6 bytes, out of line
        entries.append(struct.pack(order + "HHII", 0x010F, 2, 6, data_at))
        extra += b"Canon\0"
    if kind == 3:
        entries.append(struct.pack(order + "HHIHH", 0x0112, 3, 1, value, 0))
    elif kind == 4:
        entries.append(struct.pack(order + "HHII", 0x0112, 4, 1, value))
    else:
        entries.append(struct.pack(order + "HHI", 0x0112, kind, 1) + b"\0\0\0\0")
    if after:  # XResolution: RATIONAL, out of line
        entries.append(struct.pack(order + "HHII", 0x011A, 5, 1, data_at + len(extra)))
        extra += struct.pack(order + "II", 72, 1)
    head = (b"II*\0" if order == "<" else b"MM\0*") + struct.pack(order + "I", 8)
    return head + struct.pack(order + "H", len(entries)) + b"".join(entries) + b"\0\0\0\0" + extra


def blocks() -> np.ndarray:
    """A 16x24 grey picture, a red 8x8 block top left and a blue one top right:
    JPEG keeps blocks of colour where it blurs single pixels."""
    pixels = np.full((16, 24, 3), 128, np.uint8)
    pixels[:8, :8] = (255, 0, 0)
    pixels[:8, 16:] = (0, 0, 255)
    return pixels


def jpeg_bytes(pixels=None) -> bytes:
    pixels = blocks() if pixels is None else pixels
    ok, data = cv2.imencode(".jpg", pixels[:, :, ::-1], [cv2.IMWRITE_JPEG_QUALITY, 100])
    assert ok
    return data.tobytes()


def app1(payload: bytes) -> bytes:
    return b"\xff\xe1" + struct.pack(">H", len(payload) + 2) + payload


def with_exif(jpeg: bytes, tiff: bytes, at: int = 2) -> bytes:
    """The JPEG with an Exif APP1 segment inserted at byte ``at`` (2: right after SOI)."""
    return jpeg[:at] + app1(b"Exif\0\0" + tiff) + jpeg[at:]


def pil_upright(data: bytes) -> np.ndarray:
    return np.array(ImageOps.exif_transpose(Image.open(io.BytesIO(data))))


def pil_orientation(data: bytes):
    return Image.open(io.BytesIO(data)).getexif().get(0x0112)


# ---------------------------------------------------------------- the table

SPEC = {  # EXIF 2.32 / TIFF 6.0: the screen sides of the stored row 0 and column 0
    1: ("top", "left"), 2: ("top", "right"), 3: ("bottom", "right"), 4: ("bottom", "left"),
    5: ("left", "top"), 6: ("right", "top"), 7: ("right", "bottom"), 8: ("left", "bottom"),
}


def spec_position(value, r, c, h=H, w=W):
    """Where the stored pixel (r, c) of an h x w picture is shown, as (row, column)."""
    row_side, col_side = SPEC[value]
    row_at = {"top": ("row", r), "bottom": ("row", h - 1 - r), "left": ("col", r), "right": ("col", h - 1 - r)}
    col_at = {"left": ("col", c), "right": ("col", w - 1 - c), "top": ("row", c), "bottom": ("row", w - 1 - c)}
    place = dict([row_at[row_side], col_at[col_side]])
    return place["row"], place["col"]


@pytest.mark.parametrize("value", range(1, 9))
def test_orient_follows_the_exif_definition(value):
    stored = picture()
    shown = orient(stored, value)
    assert shown.shape == ((H, W, 3) if value <= 4 else (W, H, 3))
    assert shown.flags.c_contiguous and shown.dtype == np.uint8
    for r in range(H):
        for c in range(W):
            np.testing.assert_array_equal(shown[spec_position(value, r, c)], stored[r, c])


@pytest.mark.parametrize("value", range(1, 9))
def test_orient_matches_pillow_exif_transpose(value):
    """Lossless: a PNG with an eXIf chunk (Pillow writes it), so the pixels are exact."""
    stored = picture()
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "PNG", exif=tiff_exif(value))
    data = buffer.getvalue()
    assert orientation(data) == pil_orientation(data) == value
    np.testing.assert_array_equal(orient(stored, value), pil_upright(data))
    # OpenCV (as quantize reads) leaves a PNG's pixels as stored
    np.testing.assert_array_equal(decode_image(data), stored)


def test_orient_other_shapes_and_values():
    grey = np.arange(12, dtype=np.uint16).reshape(3, 4)
    np.testing.assert_array_equal(orient(grey, 6), np.rot90(grey, -1))
    np.testing.assert_array_equal(orient(grey, 8), np.rot90(grey, 1))
    rgba = picture(4)
    np.testing.assert_array_equal(orient(rgba, 3), rgba[::-1, ::-1])
    for value in (0, 1, 9, -1, 65535):
        np.testing.assert_array_equal(orient(rgba, value), rgba)
    assert orient(rgba[:, ::2], 1).flags.c_contiguous


# ---------------------------------------------------------------- JPEG


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("value", range(1, 9))
def test_jpeg(value, order):
    data = with_exif(jpeg_bytes(), tiff_exif(value, order))
    assert orientation(data) == value
    assert pil_orientation(data) == value  # the hand-made EXIF is what Pillow reads too
    stored = decode_image(data)  # OpenCV, IMREAD_UNCHANGED: not turned
    assert stored.shape == (16, 24, 3)
    pillow_stored = np.array(Image.open(io.BytesIO(data)))
    assert np.abs(stored.astype(int) - pillow_stored).max() <= 2  # the same picture, two decoders
    np.testing.assert_array_equal(orient(pillow_stored, orientation(data)), pil_upright(data))
    upright = orient(stored, orientation(data)).astype(int)
    for corner, colour in (((0, 0), (255, 0, 0)), ((0, 23), (0, 0, 255))):
        shown = upright[spec_position(value, *corner, h=16, w=24)]
        assert np.abs(shown - colour).max() <= 8, (corner, shown)


def test_jpeg_exif_placement_and_forms():
    jpeg = jpeg_bytes()
    app0_end = 4 + struct.unpack(">H", jpeg[4:6])[0]
    assert jpeg[2:4] == b"\xff\xe0"  # OpenCV writes a JFIF APP0 first
    assert orientation(with_exif(jpeg, tiff_exif(6), at=app0_end)) == 6  # after APP0
    xmp = app1(b"http://ns.adobe.com/xap/1.0/\0<x:xmpmeta/>")
    assert orientation(jpeg[:2] + xmp + with_exif(jpeg, tiff_exif(8, ">"))[2:]) == 8  # after an XMP APP1
    assert orientation(with_exif(jpeg, tiff_exif(3, before=False, after=False))) == 3  # the only entry
    assert orientation(with_exif(jpeg, tiff_exif(5, ">", kind=4))) == 5  # stored as LONG
    assert orientation(with_exif(jpeg, tiff_exif(6, "<", kind=2))) == 1  # ASCII: not a number
    for odd in (0, 9, 0xFFFF):
        assert orientation(with_exif(jpeg, tiff_exif(odd))) == 1
    assert orientation(jpeg) == 1  # no EXIF
    second = with_exif(with_exif(jpeg, tiff_exif(7)), tiff_exif(2))
    assert orientation(second) == 2  # the first Exif segment counts
    scan = jpeg.index(b"\xff\xda")
    assert orientation(with_exif(jpeg, tiff_exif(6), at=scan + 2)) == 1  # inside the scan: not metadata
    assert orientation(jpeg[:2] + b"\0\0\0" + with_exif(jpeg, tiff_exif(6))[2:]) == 6  # stray bytes skipped
    # the Make string and XResolution out of line, the tag between them, no Exif prefix: not EXIF
    assert orientation(jpeg[:2] + app1(tiff_exif(6)) + jpeg[2:]) == 1


def test_jpeg_exif_value_out_of_line():
    """Orientation with count 3 (6 bytes): the entry holds an offset to the values."""
    tiff = (b"MM\0*" + struct.pack(">IH", 8, 1) + struct.pack(">HHII", 0x0112, 3, 3, 26)
            + b"\0\0\0\0" + struct.pack(">HHH", 8, 1, 1))
    assert orientation(with_exif(jpeg_bytes(), tiff)) == 8
    assert orientation(with_exif(jpeg_bytes(), tiff[:27])) == 1  # the values cut off


# ---------------------------------------------------------------- TIFF


def add_orientation(tiff: bytes, value: int) -> bytes:
    """A copy of a little-endian TIFF whose IFD0, rewritten at the end with an
    Orientation entry added, replaces the old one."""
    assert tiff[:4] == b"II*\0"
    (ifd,) = struct.unpack_from("<I", tiff, 4)
    (count,) = struct.unpack_from("<H", tiff, ifd)
    entries = [tiff[ifd + 2 + 12 * i:ifd + 14 + 12 * i] for i in range(count)]
    next_ifd = tiff[ifd + 2 + 12 * count:ifd + 6 + 12 * count]
    entries = [e for e in entries if struct.unpack_from("<H", e)[0] != 0x0112]
    entries.append(struct.pack("<HHIHH", 0x0112, 3, 1, value, 0))
    entries.sort(key=lambda e: struct.unpack_from("<H", e)[0])
    start = len(tiff) + (len(tiff) & 1)
    tiff = tiff.ljust(start, b"\0") + struct.pack("<H", len(entries)) + b"".join(entries) + next_ifd
    return tiff[:4] + struct.pack("<I", start) + tiff[8:]


def big_endian_tiff(pixels: np.ndarray, value: int) -> bytes:
    """An uncompressed MM TIFF of RGB ``pixels`` with Orientation ``value``, by hand."""
    h, w, _ = pixels.shape
    tags = [(256, 3, 1, w), (257, 3, 1, h), (258, 3, 3, None), (259, 3, 1, 1), (262, 3, 1, 2),
            (273, 4, 1, None), (274, 3, 1, value), (277, 3, 1, 3), (278, 3, 1, h),
            (279, 4, 1, pixels.size), (284, 3, 1, 1)]
    ifd_size = 2 + 12 * len(tags) + 4
    bits_at = 8 + ifd_size
    strip_at = bits_at + 6
    out = b"MM\0*" + struct.pack(">IH", 8, len(tags))
    for tag, kind, count, val in tags:
        val = bits_at if tag == 258 else strip_at if tag == 273 else val
        field = struct.pack(">HH", val, 0) if kind == 3 and tag != 258 else struct.pack(">I", val)
        out += struct.pack(">HHI", tag, kind, count) + field
    return out + b"\0\0\0\0" + struct.pack(">HHH", 8, 8, 8) + pixels.tobytes()


@pytest.mark.parametrize("value", range(1, 9))
def test_tiff(value):
    stored = picture()
    ok, encoded = cv2.imencode(".tiff", stored[:, :, ::-1])
    for data in (add_orientation(encoded.tobytes(), value), big_endian_tiff(stored, value)):
        assert orientation(data) == pil_orientation(data) == value
        np.testing.assert_array_equal(orient(stored, value), pil_upright(data))
        # Pillow and OpenCV both turn a TIFF upright as they decode it, OpenCV even as
        # quantize reads (IMREAD_UNCHANGED): a decoded TIFF must not be turned again
        np.testing.assert_array_equal(np.array(Image.open(io.BytesIO(data))), orient(stored, value))
        np.testing.assert_array_equal(decode_image(data), orient(stored, value))


def test_tiff_written_by_pillow():
    buffer = io.BytesIO()
    Image.fromarray(picture()).save(buffer, "TIFF", exif=tiff_exif(6, ">"))
    assert orientation(buffer.getvalue()) == pil_orientation(buffer.getvalue()) == 6


# ---------------------------------------------------------------- WebP


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("value", range(1, 9))
def test_webp(value, order):
    stored = picture()
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "WEBP", lossless=True, exif=tiff_exif(value, order))
    data = buffer.getvalue()
    assert b"EXIF" in data
    assert orientation(data) == pil_orientation(data) == value
    pixels = decode_image(data)  # OpenCV, IMREAD_UNCHANGED: not turned
    np.testing.assert_array_equal(pixels, stored)
    np.testing.assert_array_equal(orient(pixels, orientation(data)), pil_upright(data))


def test_webp_exif_with_prefix_and_odd_chunks():
    buffer = io.BytesIO()
    Image.fromarray(picture()).save(buffer, "WEBP", lossless=True, exif=b"Exif\0\0" + tiff_exif(3, ">"))
    assert orientation(buffer.getvalue()) == 3
    # an odd-length chunk before EXIF is padded to even
    tiff = tiff_exif(8)
    chunks = b"ABCD" + struct.pack("<I", 3) + b"xyz\0" + b"EXIF" + struct.pack("<I", len(tiff)) + tiff
    riff = b"RIFF" + struct.pack("<I", 4 + len(chunks)) + b"WEBP" + chunks
    assert orientation(riff) == 8
    assert orientation(riff.replace(b"xyz\0", b"xyz")) == 1  # padding missing: lost, not an error


# ---------------------------------------------------------------- garbage


def valid_files():
    stored = picture()
    webp, png = io.BytesIO(), io.BytesIO()
    Image.fromarray(stored).save(webp, "WEBP", lossless=True, exif=tiff_exif(6, ">"))
    Image.fromarray(stored).save(png, "PNG", exif=tiff_exif(6))
    ok, tiff = cv2.imencode(".tiff", stored)
    return {
        "jpeg": with_exif(jpeg_bytes(), tiff_exif(6)),
        "tiff": add_orientation(tiff.tobytes(), 6),
        "mm-tiff": big_endian_tiff(stored, 6),
        "webp": webp.getvalue(),
        "png": png.getvalue(),
    }


@pytest.mark.parametrize("kind", ["jpeg", "tiff", "mm-tiff", "webp", "png"])
def test_cut_short_and_mutated_files_never_raise(kind):
    data = valid_files()[kind]
    assert orientation(data) == 6
    for end in range(len(data)):
        assert orientation(data[:end]) in (1, 6)
    rng = np.random.default_rng(len(data))
    span = min(len(data), 200)  # where the structure and the EXIF are
    for _ in range(3000):
        mutated = bytearray(data)
        for at in rng.integers(0, span, size=rng.integers(1, 4)):
            mutated[at] = rng.integers(0, 256)
        assert 1 <= orientation(bytes(mutated)) <= 8


@pytest.mark.parametrize(
    "data",
    [
        b"", b"\xff", b"\xff\xd8", b"\xff\xd8\xff", b"\xff\xd8\xff\xe1\x00\x00", b"\xff\xd8\xff\xe1\x00\x01",
        b"\xff\xd8" + b"\xff" * 100, b"\xff\xd8" + b"\0" * 100,
        b"II*\0", b"II*\0\xff\xff\xff\xff", b"MM\0*\0\0\0\x08\xff\xff",  # IFD past the end, 65535 entries
        b"II*\0\x04\0\0\0", b"II*\0\0\0\0\0",  # IFD inside the header
        b"RIFF\xff\xff\xff\xffWEBPEXIF\xff\xff\xff\xff", b"RIFF\0\0\0\0WEBP",
        b"\x89PNG\r\n\x1a\n\xff\xff\xff\xffeXIf",
        b"GIF89a", b"not an image at all",
        with_exif(b"\xff\xd8\xff\xd9", b"MM\0*\0\0\0\x08\0\x01\x01\x12\0\x03\0\0\0\x01\0"),  # entry cut short
    ],
)
def test_garbage_gives_1(data):
    assert orientation(data) == 1


def test_random_garbage_never_raises():
    rng = np.random.default_rng(0)
    for head in (b"", b"\xff\xd8", b"II*\0", b"MM\0*", b"RIFF\0\1\0\0WEBP", b"\x89PNG\r\n\x1a\n"):
        for _ in range(500):
            data = head + rng.integers(0, 256, size=rng.integers(0, 300), dtype=np.uint8).tobytes()
            assert 1 <= orientation(data) <= 8


def test_input_types():
    data = with_exif(jpeg_bytes(), tiff_exif(6))
    array = np.frombuffer(data, np.uint8)
    spaced = np.zeros(2 * len(data), np.uint8)
    spaced[::2] = array
    for form in (data, bytearray(data), memoryview(data), array, spaced[::2]):
        assert orientation(form) == 6
