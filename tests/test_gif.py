"""The GIF writer keeps our palette and indices exactly; read back with Pillow and OpenCV."""
import io
import subprocess
import sys
import time

import cv2
import numpy as np
import pytest

from quantize import ImageWriteError
from quantize.gif import encode_gif, transparent_index
from quantize.imageio import encode_quantized

Image = pytest.importorskip("PIL.Image")


def read_back(data: bytes):
    """(Pillow image, indices, the raw global colour table, OpenCV's BGR(A) pixels)."""
    image = Image.open(io.BytesIO(data))
    indices = np.array(image)
    flags = data[10]
    assert flags & 0x80, "no global colour table"
    table = np.frombuffer(data[13:13 + 3 * (2 << (flags & 7))], np.uint8).reshape(-1, 3)
    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_UNCHANGED)
    return image, indices, table, decoded


def random_image(m: int, shape=(37, 53), seed=None):
    rng = np.random.default_rng(m if seed is None else seed)
    palette = rng.integers(0, 256, size=(m, 3), dtype=np.uint8)
    indices = rng.integers(0, m, size=shape, dtype=np.uint8)
    return indices, palette


@pytest.mark.parametrize("m", [1, 2, 3, 4, 5, 17, 100, 129, 256])
def test_palette_and_indices_read_back_exactly(m):
    indices, palette = random_image(m)
    data = encode_gif(indices, palette)
    image, back, table, decoded = read_back(data)
    assert data[:6] == b"GIF87a" and "transparency" not in image.info
    assert image.mode == "P" and image.size == (53, 37)
    np.testing.assert_array_equal(np.array(image.getpalette(), np.uint8).reshape(-1, 3)[:m], palette)
    # the table in the file: ours in our order, then black up to a power of two (at least 4)
    assert len(table) == max(4, 1 << (m - 1).bit_length())
    assert table[:m].tobytes() == palette.tobytes() and not table[m:].any()
    np.testing.assert_array_equal(back, indices)
    assert decoded.shape == (37, 53, 3)
    np.testing.assert_array_equal(decoded[:, :, ::-1], palette[indices])


def test_unused_duplicate_and_grey_palettes_are_kept():
    indices, palette = random_image(17)
    palette[5] = palette[3]
    palette[16] = palette[3]  # duplicates
    indices = np.where(indices % 2, 3, 16).astype(np.uint8)  # most entries unused
    _, back, table, decoded = read_back(encode_gif(indices, palette))
    assert table[:17].tobytes() == palette.tobytes()
    np.testing.assert_array_equal(back, indices)
    np.testing.assert_array_equal(decoded[:, :, ::-1], palette[indices])

    ramp = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)  # Pillow reads this GIF as "L"
    indices = np.random.default_rng(0).integers(0, 256, size=(20, 30), dtype=np.uint8)
    _, back, table, decoded = read_back(encode_gif(indices, ramp))
    assert table.tobytes() == ramp.tobytes()
    np.testing.assert_array_equal(back, indices)


@pytest.mark.parametrize("m, clear", [(1, 0), (2, 1), (3, 2), (17, 0), (17, 9), (256, 255)])
def test_transparent_entry(m, clear):
    indices, palette = random_image(m, seed=m + clear)
    alpha = np.full(m, 255, np.uint8)
    alpha[clear] = 0
    data = encode_gif(indices, palette, alpha)
    image, back, table, decoded = read_back(data)
    assert data[:6] == b"GIF89a"
    assert image.info["transparency"] == clear and image.info["background"] == clear
    assert table[:m].tobytes() == palette.tobytes()
    np.testing.assert_array_equal(back, indices)
    assert decoded.shape == (37, 53, 4)
    np.testing.assert_array_equal(decoded[:, :, 3], np.where(indices == clear, 0, 255))
    # OpenCV gives transparent pixels the background colour: that entry's own RGB
    np.testing.assert_array_equal(decoded[:, :, 2::-1], palette[indices])


def test_alpha_rule():
    assert transparent_index(None) is None
    assert transparent_index(np.array([255, 128, 200], np.uint8)) is None  # 128 and above: opaque
    assert transparent_index(np.array([255, 127, 0], np.uint8)) == 1  # below 128: transparent, first wins
    indices, palette = random_image(6)
    alpha = np.array([255, 200, 0, 128, 40, 127], np.uint8)  # transparent: 2, 4, 5
    image, back, table, decoded = read_back(encode_gif(indices, palette, alpha))
    assert image.info["transparency"] == 2
    assert table[:6].tobytes() == palette.tobytes()
    np.testing.assert_array_equal(back, np.where(np.isin(indices, [4, 5]), 2, indices))
    np.testing.assert_array_equal(decoded[:, :, 3], np.where(alpha[indices] < 128, 0, 255))
    opaque = alpha[indices] >= 128
    np.testing.assert_array_equal(decoded[:, :, 2::-1][opaque], palette[indices][opaque])

    data = encode_gif(indices, palette, np.full(6, 255, np.uint8))  # all opaque: no transparency
    assert data == encode_gif(indices, palette)


def test_same_input_same_bytes():
    indices, palette = random_image(17, shape=(120, 90))
    alpha = np.full(17, 255, np.uint8)
    alpha[3] = 0
    first = encode_gif(indices, palette, alpha)
    assert encode_gif(indices.copy(), palette.copy(), alpha.copy()) == first
    # other integer types and layouts give the same file
    wide = np.asfortranarray(indices.astype(np.int64))
    assert encode_gif(wide, palette.astype(np.int32), alpha) == first


def test_compresses():
    """A picture of flat areas compresses far below a byte a pixel (LZW)."""
    yy, xx = np.mgrid[0:200, 0:300]
    indices = ((yy // 20) * 4 + xx // 75).astype(np.uint8) % 16
    palette = random_image(16)[1]
    data = encode_gif(indices, palette)
    assert len(data) < indices.size // 20
    np.testing.assert_array_equal(read_back(data)[1], indices)


def test_large_image_time():
    """1000x800 in 64 colours, a smooth picture with noise; the time is printed, not checked."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[0:800, 0:1000]
    indices = ((xx / 1000 * 8).astype(int) * 8 + (yy / 800 * 8).astype(int))
    indices = np.clip(indices + rng.integers(-1, 2, size=indices.shape), 0, 63).astype(np.uint8)
    palette = random_image(64)[1]
    start = time.perf_counter()
    data = encode_gif(indices, palette)
    seconds = time.perf_counter() - start
    print(f"\nencode_gif 1000x800, 64 colours: {seconds * 1000:.0f} ms, {len(data):,} bytes")
    np.testing.assert_array_equal(read_back(data)[1], indices)


@pytest.mark.parametrize(
    "indices, palette, alpha, match",
    [
        (np.zeros((2, 2), np.uint8), np.zeros((0, 3), np.uint8), None, "palette"),
        (np.zeros((2, 2), np.uint8), np.zeros((257, 3), np.uint8), None, "palette"),
        (np.zeros((2, 2), np.uint8), np.zeros((4, 4), np.uint8), None, "palette"),
        (np.full((2, 2), 3, np.uint8), np.zeros((3, 3), np.uint8), None, "indices from 3 to 3"),
        (np.full((2, 2), -1), np.zeros((3, 3), np.uint8), None, "indices from -1"),
        (np.zeros((2, 2, 1), np.uint8), np.zeros((3, 3), np.uint8), None, r"\(h, w\)"),
        (np.zeros((2, 2), np.float32), np.zeros((3, 3), np.uint8), None, "integer"),
        (np.zeros((0, 5), np.uint8), np.zeros((3, 3), np.uint8), None, "5x0"),
        (np.zeros((1, 65536), np.uint8), np.zeros((3, 3), np.uint8), None, "65536x1"),
        (np.zeros((2, 2), np.uint8), np.zeros((3, 3), np.uint8), np.zeros(4, np.uint8), "alpha"),
    ],
)
def test_refuses_what_is_not_a_gif(indices, palette, alpha, match):
    with pytest.raises(ImageWriteError, match=match):
        encode_gif(indices, palette, alpha)


def test_import_quantize_does_not_import_pillow():
    code = "import sys, quantize, quantize.gif; print('PIL' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_a_gif_too_wide_names_its_file(tmp_path):
    out = tmp_path / "wide.gif"
    indices = np.zeros((1, 65536), np.uint8)
    with pytest.raises(ImageWriteError) as caught:
        encode_quantized(".gif", indices, np.zeros((1, 3), np.uint8), path=out)
    assert str(caught.value).startswith(f"{out}: cannot encode a GIF of 65536x1 pixels")
    assert caught.value.path == out and caught.value.limit == 65535


def test_encode_gif_frames_keeps_every_frames_indices_and_timing(monkeypatch):
    from PIL import GifImagePlugin, Image

    from quantize.gif import encode_gif_frames

    monkeypatch.setattr(GifImagePlugin, "LOADING_STRATEGY",
                        GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY)
    rng = np.random.default_rng(3)
    frames = rng.integers(0, 5, (3, 7, 9), dtype=np.uint8)
    frames[1] = frames[0]  # identical frames stay two frames (Pillow's own writer merges them)
    colors = rng.integers(0, 256, (5, 3), dtype=np.uint8)
    alpha = np.array([255, 255, 0, 255, 255], np.uint8)
    data = encode_gif_frames(frames, colors, alpha, durations=[50, 120, 1000], loop=None)
    assert b"NETSCAPE2.0" not in data and data[:6] == b"GIF89a"  # no loop count: played once
    with Image.open(io.BytesIO(data)) as image:
        assert image.n_frames == 3 and "loop" not in image.info
        for i in range(3):
            image.seek(i)
            image.load()
            assert image.mode == "P" and image.info["duration"] == [50, 120, 1000][i]
            assert image.info["transparency"] == 2
            assert np.array_equal(np.asarray(image), frames[i])
            assert image.palette.tobytes()[:15] == colors.tobytes()
    looped = encode_gif_frames(frames, colors, durations=[50, 120, 1000], loop=5)
    assert looped == encode_gif_frames(frames, colors, durations=[50, 120, 1000], loop=5)
    with Image.open(io.BytesIO(looped)) as image:
        assert image.info["loop"] == 5
