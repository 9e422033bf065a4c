"""The block-wise passes of the colour path and the PNG writer give what the
whole-array computations give: the histogram counted in row blocks into a
table, the remap in row blocks, the filtered rows deflated piece by piece."""
from __future__ import annotations

import zlib

import numpy as np
import pytest

from quantize import KMeansOptions, histogram, png
from quantize.histogram import color_histogram, key_histogram, pack, row_blocks, table_histogram
from quantize.pipeline import apply_palette, quantize_image
from quantize.remap import remap, remap_image


def _image(seed: int, h: int, w: int, channels: int = 3, levels: int = 256) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (rng.integers(0, levels, (h, w, channels)) * (255 // max(levels - 1, 1))).astype(np.uint8)


@pytest.mark.parametrize("block", [1, 7, 64, 10_000])
def test_row_blocks_cover_every_row_once(block):
    image = np.zeros((23, 9, 3), np.uint8)
    blocks = row_blocks(image, block)
    assert blocks[0][0] == 0 and blocks[-1][1] == 23
    assert all(a[1] == b[0] and a[0] < a[1] for a, b in zip(blocks, blocks[1:]))
    assert all(stop - start == max(1, block // 9) for start, stop in blocks[:-1])


@pytest.mark.parametrize("seed, levels, block", [(0, 256, 50), (1, 4, 13), (2, 256, 1), (3, 2, 100_000)])
def test_table_histogram_equals_the_sort(seed, levels, block):
    image = _image(seed, 37, 29, levels=levels)
    expected = key_histogram(pack(image), 3)
    got = table_histogram(image, block=block)
    for name in ("keys", "colors", "counts"):
        assert getattr(got, name).dtype == getattr(expected, name).dtype
        np.testing.assert_array_equal(getattr(got, name), getattr(expected, name))


def test_table_histogram_of_a_view_with_strides():
    image = _image(4, 40, 60)[::3, 5:50:2]  # not contiguous
    expected = key_histogram(pack(image), 3)
    got = table_histogram(image, block=17)
    np.testing.assert_array_equal(got.keys, expected.keys)
    np.testing.assert_array_equal(got.counts, expected.counts)


def test_color_histogram_takes_the_table_from_its_size(monkeypatch):
    image = _image(5, 30, 30)
    small = color_histogram(image)
    monkeypatch.setattr(histogram, "TABLE_FROM", 100)
    monkeypatch.setattr(histogram, "BLOCK", 64)
    large = color_histogram(image)
    np.testing.assert_array_equal(small.keys, large.keys)
    np.testing.assert_array_equal(small.counts, large.counts)
    rgba = _image(6, 30, 30, channels=4, levels=3)  # RGBA: always the sort (32-bit keys)
    np.testing.assert_array_equal(color_histogram(rgba).keys, key_histogram(pack(rgba), 4).keys)


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("block", [1, 31, 1_000_000])
def test_remap_image_in_blocks_equals_remap_at_once(channels, block):
    image = _image(7 + channels, 41, 31, channels=channels, levels=5)
    hist = key_histogram(pack(image), channels)
    labels = np.random.default_rng(8).integers(0, 256, len(hist.keys)).astype(np.uint8)
    expected = remap(pack(image), hist.keys, labels)
    np.testing.assert_array_equal(remap_image(image, hist.keys, labels, block=block), expected)
    assert np.array_equal(expected, labels[np.searchsorted(hist.keys, pack(image))])


@pytest.mark.parametrize("channels", [3, 4])
def test_quantize_image_with_small_blocks_is_the_same(monkeypatch, channels):
    image = _image(9, 48, 40, channels=channels, levels=7)
    if channels == 4:
        image[::5, :, 3] = 0
    expected = quantize_image(image, 16, KMeansOptions(seed=0))
    monkeypatch.setattr(histogram, "TABLE_FROM", 1)
    monkeypatch.setattr(histogram, "BLOCK", 50)
    got = quantize_image(image, 16, KMeansOptions(seed=0))
    np.testing.assert_array_equal(got.indices, expected.indices)
    np.testing.assert_array_equal(got.palette, expected.palette)
    np.testing.assert_array_equal(got.counts, expected.counts)
    assert (got.distortion, got.quality, got.delta_e_ok) == (expected.distortion, expected.quality,
                                                             expected.delta_e_ok)


def test_apply_palette_remaps_to_the_nearest_entry_in_order():
    image = _image(10, 20, 30)
    colors = _image(11, 1, 12)[0]
    q = apply_palette(image, colors)
    d = ((image[:, :, None, :].astype(int) - colors[None, None].astype(int)) ** 2).sum(-1)
    np.testing.assert_array_equal(q.palette[q.indices], colors[d.argmin(-1)])


def _reference_zlib(raw: bytes, level: int) -> bytes:
    """The zlib stream png.py wrote before streaming: the whole filtered rows
    cut into PIECE pieces, each deflated alone, one Adler-32 of them all."""
    pieces = [raw[i:i + png.PIECE] for i in range(0, len(raw), png.PIECE)] or [b""]
    body = []
    for index, piece in enumerate(pieces):
        engine = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        body.append(engine.compress(piece) + engine.flush(zlib.Z_FINISH if index == len(pieces) - 1
                                                          else zlib.Z_SYNC_FLUSH))
    flevel = 0 if level < 2 else 1 if level < 6 else 2 if level == 6 else 3
    flags = flevel << 6
    flags += 31 - (0x7800 + flags) % 31
    return bytes([0x78, flags]) + b"".join(body) + zlib.adler32(raw).to_bytes(4, "big")


@pytest.mark.parametrize("h, w, piece", [(1, 1, 4 << 20), (50, 33, 97), (64, 100, 101), (7, 5, 6), (9, 9, 10)])
def test_streamed_idat_equals_the_whole_rows_deflated(monkeypatch, h, w, piece):
    monkeypatch.setattr(png, "PIECE", piece)
    indices = np.random.default_rng(h * w).integers(0, 256, (h, w)).astype(np.uint8)
    indices[: h // 2] //= 64  # some runs, so deflate finds matches
    raw = np.zeros((h, w + 1), np.uint8)
    raw[:, 1:] = indices
    for level in (4, 9):
        pieces = png._deflate_pieces(raw.size, lambda a, b: png.filtered_piece(indices, a, b), level)
        assert pieces == _reference_zlib(raw.tobytes(), level)
        assert zlib.decompress(pieces) == raw.tobytes()


@pytest.mark.parametrize("threads", [1, None])
def test_encode_indexed_decodes_to_its_indices(monkeypatch, threads):
    monkeypatch.setattr(png, "PIECE", 1000)
    monkeypatch.setattr(png, "_threads", threads)
    indices = np.random.default_rng(12).integers(0, 200, (90, 70)).astype(np.uint8)
    colours = np.random.default_rng(14).integers(0, 256, (200, 3)).astype(np.uint8)
    data = png.encode_indexed(indices, colours)
    import cv2

    decoded = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR_RGB)
    np.testing.assert_array_equal(decoded, colours[indices])


def test_adler32_combine():
    rng = np.random.default_rng(13)
    for size_a, size_b in [(0, 0), (0, 5), (5, 0), (1, 65521), (70000, 3), (200_000, 131_042)]:
        a, b = rng.bytes(size_a), rng.bytes(size_b)
        assert png.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)
        a, b = b"\xff" * size_a, b"\xff" * size_b
        assert png.adler32_combine(zlib.adler32(a), zlib.adler32(b), len(b)) == zlib.adler32(a + b)


@pytest.mark.parametrize("suffix, channels", [(".png", 3), (".jpg", 3), (".png", 4), (".png", 1)])
def test_reading_in_place_and_in_blocks_equals_imdecode(tmp_path, monkeypatch, suffix, channels):
    import cv2

    from quantize import reading

    picture = _image(15, 45, 37, channels=max(channels, 1), levels=256)[:, :, :channels]
    path = tmp_path / f"p{suffix}"
    cv2.imwrite(str(path), picture if channels > 1 else picture[:, :, 0])
    expected = reading.read_image(path)  # small: imdecode, one swap block
    monkeypatch.setattr(reading, "IN_PLACE_FROM", 1)
    monkeypatch.setattr(reading, "SWAP_ROWS_PIXELS", 100)
    got = reading.read_image(path)
    np.testing.assert_array_equal(got, expected)
    if channels >= 3:  # RGB(A) out of the BGR(A) file
        np.testing.assert_array_equal(got[:, :, 0], cv2.imread(str(path), cv2.IMREAD_UNCHANGED)[:, :, 2])
    cut = tmp_path / f"cut{suffix}"
    cut.write_bytes(path.read_bytes()[:-200])  # cut short: never in place, read as before
    patched = reading.read_image_file(cut)
    monkeypatch.undo()
    plain = reading.read_image_file(cut)
    assert patched.cut_short and plain.cut_short
    np.testing.assert_array_equal(patched.pixels, plain.pixels)
