"""Reading, writing and the palette PNG encoder, checked against OpenCV's decoder."""
import os
import struct

import cv2
import numpy as np
import pytest

from quantize import ImageReadError, ImageWriteError, read_image
from quantize import imageio
from quantize.png import bit_depth, encode_indexed


@pytest.mark.parametrize("n_colors", [1, 2, 3, 4, 5, 16, 17, 200, 256])
def test_palette_png_decodes_to_the_same_pixels(n_colors):
    rng = np.random.default_rng(n_colors)
    palette = rng.integers(0, 256, size=(n_colors, 3), dtype=np.uint8)
    indices = rng.integers(0, n_colors, size=(13, 29), dtype=np.uint8)  # odd width: padding
    data = encode_indexed(indices, palette, optimize=0)  # the plain writer: the fewest bits
    width, height, depth, colour_type = struct.unpack(">IIBB", data[16:26])
    assert (width, height, colour_type) == (29, 13, 3)
    assert depth == bit_depth(n_colors) and depth in (1, 2, 4, 8)
    assert np.array_equal(cv2.imdecode(np.frombuffer(encode_indexed(indices, palette), np.uint8), cv2.IMREAD_COLOR),
                          cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR))  # the default: same pixels
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(decoded[:, :, ::-1], palette[indices])


def test_read_grey_rgba_and_16_bit(tmp_path):
    grey = np.arange(64, dtype=np.uint8).reshape(8, 8)
    cv2.imwrite(str(tmp_path / "grey.png"), grey)
    rgb = read_image(tmp_path / "grey.png")
    assert rgb.shape == (8, 8, 3) and (rgb == grey[:, :, None]).all()

    bgra = np.random.default_rng(0).integers(0, 256, size=(5, 6, 4), dtype=np.uint8)
    cv2.imwrite(str(tmp_path / "rgba.png"), bgra)
    rgba = read_image(tmp_path / "rgba.png")
    np.testing.assert_array_equal(rgba, bgra[:, :, [2, 1, 0, 3]])

    deep = (np.arange(48, dtype=np.uint16).reshape(4, 4, 3) * 1000)
    cv2.imwrite(str(tmp_path / "deep.png"), deep)
    np.testing.assert_array_equal(read_image(tmp_path / "deep.png"), np.round(deep[:, :, ::-1] / 257))


def test_reads_any_path(tmp_path):
    image = np.full((3, 3, 3), 7, np.uint8)
    path = tmp_path / "façade été 写真.png"
    imageio.write_quantized(path, np.zeros((3, 3), np.uint8), image[0, :1])
    np.testing.assert_array_equal(read_image(path), image)


@pytest.mark.parametrize(
    "make, match",
    [
        (lambda p: None, "no such file"),
        (lambda p: p.write_bytes(b""), "empty file"),
        (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n" + b"junk" * 20), "not an image OpenCV can read"),
        (lambda p: p.mkdir(), "is a folder"),
    ],
)
def test_unreadable_inputs_name_the_file_and_cause(tmp_path, make, match):
    path = tmp_path / "bad.png"
    make(path)
    with pytest.raises(ImageReadError, match=match) as error:
        read_image(path)
    assert str(path) in str(error.value)


def test_atomic_write_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "out.png"
    target.write_bytes(b"old")

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(ImageWriteError, match="No space left"):
        imageio.atomic_write(target, b"new contents")
    assert target.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["out.png"]


def test_written_file_has_the_usual_mode(tmp_path):
    target = tmp_path / "out.bin"
    imageio.atomic_write(target, b"x")
    umask = os.umask(0)
    os.umask(umask)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("suffix", [".png", ".bmp", ".tif", ".webp", ".gif"])
def test_other_formats_and_alpha(tmp_path, suffix):
    """An RGBA palette, written in every format and read back: the colours
    everywhere, and alpha where the format has it (GIF: one transparent entry)."""
    palette = np.array([[255, 0, 0, 255], [0, 0, 255, 128], [0, 0, 0, 0]], np.uint8)
    indices = np.array([[0, 1], [2, 0]], np.uint8)
    imageio.write_quantized(tmp_path / f"a{suffix}", indices, palette)
    back = read_image(tmp_path / f"a{suffix}")
    alpha = palette[indices][:, :, 3]
    visible = alpha > 0  # WebP may drop the colour of fully transparent pixels
    np.testing.assert_array_equal(back[:, :, :3][visible], palette[indices][:, :, :3][visible])
    if suffix in (".png", ".tif", ".webp"):
        np.testing.assert_array_equal(back[:, :, 3], alpha)


@pytest.mark.slow
@pytest.mark.parametrize("size, level", [(1000, 9), (3 * (1 << 20) + 17, 6), (9 * (1 << 20) + 5, 1)])
def test_parallel_deflate_is_one_valid_zlib_stream(size, level):
    import zlib

    from quantize.png import deflate

    data = np.random.default_rng(size).integers(0, 4, size=size, dtype=np.uint8).tobytes()
    stream = deflate(data, level)
    assert zlib.decompress(stream) == data
    assert deflate(data, level) == stream
    if size < (4 << 20):  # one piece: byte for byte what zlib itself writes
        assert stream == zlib.compress(data, level)


def test_large_palette_png_decodes(monkeypatch):
    from quantize import png

    monkeypatch.setattr(png, "PIECE", 1000)  # many pieces on a small image
    monkeypatch.setattr(png, "LARGE_FROM", 5000)
    rng = np.random.default_rng(0)
    palette = rng.integers(0, 256, size=(40, 3), dtype=np.uint8)
    indices = rng.integers(0, 40, size=(120, 90), dtype=np.uint8)
    decoded = cv2.imdecode(np.frombuffer(png.encode_indexed(indices, palette), np.uint8), cv2.IMREAD_COLOR)
    np.testing.assert_array_equal(decoded[:, :, ::-1], palette[indices])


def test_write_together_refuses_a_folder_target_before_moving_any_file(tmp_path):
    """All or nothing: a folder in the place of a later target is found before
    the first file is moved, so the earlier targets keep their old bytes and
    no temporary file is left."""
    from quantize.errors import ImageWriteError
    from quantize.imageio import write_together

    first, second = tmp_path / "a.csv", tmp_path / "b.png"
    first.write_bytes(b"old")
    second.mkdir()
    with pytest.raises(ImageWriteError, match="b.png: cannot write: Is a directory"):
        write_together([(first, b"new"), (second, b"new")])
    assert first.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.csv", "b.png"]
