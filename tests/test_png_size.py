"""The smaller palette PNG (png.encode_indexed's ``optimize`` levels) is lossless:
the same pixels as the plain writer (level 0), the fewest bits, a short tRNS."""
import io
import struct
import zlib

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from PIL import Image

from quantize import png, png_order

LEVELS = range(png.OPTIMIZE_MAX + 1)


def decoded(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGBA"))


def chunks(data: bytes) -> dict:
    found, pos = {}, 8
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        found.setdefault(kind, []).append(data[pos + 8:pos + 8 + length])
        pos += 12 + length
    return found


def picture(m: int, h: int = 37, w: int = 53, seed: int = 0) -> np.ndarray:
    """Indices into m entries with smooth regions and noise, every entry used."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[:h, :w]
    smooth = ((x * 3 + y * 5) // 7 + rng.integers(0, 2, (h, w))) % m
    smooth.flat[:m] = np.arange(m)
    return smooth.astype(np.uint8)


def rgba_palette(m: int, seed: int = 1) -> np.ndarray:
    """m entries: some transparent, some translucent, the rest opaque, mixed."""
    rng = np.random.default_rng(seed)
    colors = rng.integers(0, 256, (m, 4), dtype=np.uint8)
    colors[:, 3] = 255
    colors[1::3, 3] = 0
    colors[2::5, 3] = 128
    return colors


@pytest.mark.parametrize("m", [2, 4, 16, 256])
@pytest.mark.parametrize("alpha", [False, True])
def test_every_level_decodes_to_the_plain_writers_pixels(m, alpha):
    indices = picture(m)
    colors = rgba_palette(m) if alpha else np.random.default_rng(m).integers(0, 256, (m, 3), dtype=np.uint8)
    plain = png.encode_indexed(indices, colors, optimize=0)
    expected = decoded(plain)
    assert (expected[..., :3] == colors[indices, :3]).all()
    for level in LEVELS:
        data = png.encode_indexed(indices, colors, optimize=level)
        assert np.array_equal(decoded(data), expected), level
        header = chunks(data)[b"IHDR"][0]
        assert png.bit_depth(m) == {2: 1, 4: 2, 16: 4, 256: 8}[m]
        assert header[8] == png.bit_depth(m) or (level >= 2 and header[8] == 8)  # the fewest bits, or a byte
        assert len(chunks(data)[b"PLTE"][0]) == 3 * m
        assert png.encode_indexed(indices, colors, optimize=level) == data  # deterministic


@pytest.mark.parametrize("level", LEVELS)
def test_trns_holds_exactly_the_entries_that_are_not_opaque(level):
    colors = rgba_palette(40)
    data = png.encode_indexed(picture(40), colors, optimize=level)
    found = chunks(data)
    (alphas,) = found[b"tRNS"]
    assert len(alphas) == int(np.count_nonzero(colors[:, 3] < 255))
    assert all(a < 255 for a in alphas)
    assert sorted(alphas) == sorted(colors[colors[:, 3] < 255, 3].tolist())


def test_an_opaque_rgba_palette_writes_no_trns_and_optimized_is_smaller():
    colors = rgba_palette(64)
    colors[:, 3] = 255
    indices = picture(64, 90, 120)
    sizes = [len(png.encode_indexed(indices, colors, optimize=level)) for level in LEVELS]
    assert b"tRNS" not in chunks(png.encode_indexed(indices, colors))
    assert sizes[png.OPTIMIZE_DEFAULT] < sizes[0]
    assert sizes[png.OPTIMIZE_MAX] <= sizes[png.OPTIMIZE_DEFAULT]


def test_chunks_and_text_are_kept_at_every_level():
    for level in LEVELS:
        data = png.encode_indexed(picture(8), rgba_palette(8)[:, :3], {"a": "b"}, optimize=level,
                                  chunks=[(b"sRGB", b"\0"), (b"pHYs", bytes(9))])
        kinds = [data[pos + 4:pos + 8] for pos in _positions(data)]
        assert kinds == [b"IHDR", b"sRGB", b"PLTE", b"pHYs", b"tEXt", b"IDAT", b"IEND"]
        assert png.read_text(data) == {"a": "b"}


def _positions(data: bytes):
    pos = 8
    while pos < len(data):
        yield pos
        pos += 12 + struct.unpack(">I", data[pos:pos + 4])[0]


@settings(max_examples=40, deadline=None)
@given(m=st.integers(1, 256), h=st.integers(1, 12), w=st.integers(1, 12), seed=st.integers(0, 2**16),
       method=st.sampled_from(["popularity", "luminance", "battiato", "mzeng"]), alpha=st.booleans())
def test_palette_order_is_a_permutation_with_the_translucent_entries_first(m, h, w, seed, method, alpha):
    rng = np.random.default_rng(seed)
    indices = rng.integers(0, m, (h, w)).astype(np.uint8)
    colors = rng.integers(0, 256, (m, 4 if alpha else 3), dtype=np.uint8)
    if alpha:
        colors[rng.random(m) < 0.5, 3] = 255
    order = png_order.palette_order(indices, colors, method)
    assert sorted(order.tolist()) == list(range(m))
    ordered, palette = png_order.reorder(indices, colors, order)
    assert np.array_equal(palette[ordered], colors[indices])
    if alpha:
        opaque = palette[:, 3] == 255
        assert not (opaque[:-1] & ~opaque[1:]).any()  # no translucent entry after an opaque one


def test_battiato_and_mzeng_put_the_heaviest_pair_side_by_side():
    matrix = np.zeros((5, 5), dtype=np.int64)
    for a, b, weight in [(0, 3, 100), (3, 1, 50), (1, 4, 20), (4, 2, 10), (0, 2, 1)]:
        matrix[a, b] = matrix[b, a] = weight
    for method in (png_order.battiato, png_order.mzeng):
        order = method(matrix)
        assert sorted(order) == list(range(5))
        assert abs(order.index(0) - order.index(3)) == 1
    assert png_order.battiato(matrix) in ([2, 4, 1, 3, 0], [0, 3, 1, 4, 2])  # the path of the heaviest edges


@pytest.mark.parametrize("kind", [0, 1, 2, 3, 4, "minsum"])
def test_filters_undo_as_the_png_spec_reconstructs(kind):
    rows = picture(256, 9, 17, seed=3)
    data = png_order.filtered(rows, str(kind))
    assert data.shape == (9, 18)
    if kind != "minsum":
        assert (data[:, 0] == kind).all()
    assert np.array_equal(_unfilter(data), rows)


def _unfilter(data: np.ndarray) -> np.ndarray:
    """PNG reconstruction, one byte a pixel, written out pixel by pixel."""
    h, n = data.shape[0], data.shape[1] - 1
    out = np.zeros((h, n), dtype=np.int64)
    for y in range(h):
        for x in range(n):
            a = out[y, x - 1] if x else 0
            b = out[y - 1, x] if y else 0
            c = out[y - 1, x - 1] if x and y else 0
            p = a + b - c
            guess = {0: 0, 1: a, 2: b, 3: (a + b) // 2,
                     4: a if abs(p - a) <= abs(p - b) and abs(p - a) <= abs(p - c) else b if abs(p - b) <= abs(p - c)
                     else c}[int(data[y, 0])]
            out[y, x] = (int(data[y, x + 1]) + guess) % 256
    return out.astype(np.uint8)


def test_large_images_keep_the_parallel_writer():
    indices = np.zeros((2100, 2100), dtype=np.uint8)  # 4.4 MB of rows: past LARGE_FROM
    indices[::7] = np.arange(2100) % 256
    colors = np.repeat(np.arange(256, dtype=np.uint8)[:, None], 3, axis=1)
    data = png.encode_indexed(indices, colors)
    assert data == png.encode_indexed(indices, colors, optimize=0)
    (body,) = chunks(data)[b"IDAT"]
    assert len(zlib.decompress(body)) == 2100 * 2101


@pytest.mark.parametrize("level", LEVELS)
def test_keep_order_keeps_the_palette_as_given(level):
    colors = rgba_palette(30)
    indices = picture(30)
    data = png.encode_indexed(indices, colors, optimize=level, keep_order=True)
    first = np.argsort(colors[:, 3] == 255, kind="stable")  # the translucent entries first, as at level 0
    assert chunks(data)[b"PLTE"][0] == colors[first, :3].tobytes()
    assert chunks(data)[b"PLTE"] == chunks(png.encode_indexed(indices, colors, optimize=0))[b"PLTE"]
    assert np.array_equal(decoded(data), decoded(png.encode_indexed(indices, colors, optimize=0)))


def test_output_options_check_the_level_and_the_record_leaves_it_out():
    from quantize.errors import ParameterError
    from quantize.files import OutputOptions, parameters
    from quantize.options import KMeansOptions

    for bad in (-1, png.OPTIMIZE_MAX + 1, 1.5):
        with pytest.raises(ParameterError) as caught:
            OutputOptions(optimize=bad)
        assert caught.value.parameter == "optimize"
    assert OutputOptions().optimize == png.OPTIMIZE_DEFAULT
    made = [parameters(16, KMeansOptions(), OutputOptions(optimize=level)) for level in LEVELS]
    assert all(m == made[0] for m in made) and "optimize" not in made[0]  # bytes change, not pixels


@pytest.mark.parametrize("m", [2, 4, 16])
def test_a_byte_a_pixel_is_tried_and_kept_only_when_smaller(m):
    """At the top level (every trial in full), a palette of fewer than 256
    entries is tried at its fewest bits and at 8 bits a pixel: the IDAT
    written is the smallest over both depths' trials, and its depth is one
    of them."""
    import deflate

    from quantize import png_order

    indices = picture(m)
    colors = np.random.default_rng(m).integers(0, 256, (m, 3), dtype=np.uint8)
    data = png.encode_indexed(indices, colors, optimize=png.OPTIMIZE_MAX)
    assert np.array_equal(decoded(data), decoded(png.encode_indexed(indices, colors, optimize=0)))
    orders, filters, _, level = png.TRIALS[png.OPTIMIZE_MAX]
    sizes = {}
    for method in dict.fromkeys(orders + ("popularity",)):
        ordered, _ = png_order.reorder(indices, colors, png_order.palette_order(indices, colors, method))
        for bits in (png.bit_depth(m), 8):
            for kind in filters:
                raw = png_order.filtered(png._pack_rows(ordered, bits), kind).tobytes()
                sizes[bits] = min(sizes.get(bits, 1 << 30), len(deflate.zlib_compress(raw, level)))
    depth = chunks(data)[b"IHDR"][0][8]
    assert len(b"".join(chunks(data)[b"IDAT"])) == min(sizes.values()) == sizes[depth]
