"""Dithering: exact nearest entries, error diffusion checked by hand and against
a plain per-pixel loop, the damping rule, and what dithering is for."""
import cv2
import numpy as np
import pytest

from quantize import ParameterError
from quantize import dither as dither_module
from quantize.dither import METHODS, bayer_matrix, dither
from quantize.histogram import working_points

GREYS = np.array([[0, 0, 0], [64, 64, 64], [128, 128, 128], [192, 192, 192], [255, 255, 255]], np.float32)


def brute_nearest(points, palette):
    """Squared distances in float64, lowest index among ties."""
    diff = points.reshape(-1, 1, points.shape[-1]).astype(np.float64) - palette.astype(np.float64)
    return np.einsum("ijk,ijk->ij", diff, diff).argmin(axis=1).reshape(points.shape[:-1])


def reference_fs(image, palette, strength=1.0, limit_factor=dither_module.LIMIT_FACTOR):
    """Floyd-Steinberg as the plain per-pixel loop of the documented rule, in float64."""
    img = image.astype(np.float64)
    pal = palette.astype(np.float64)
    h, w, c = img.shape
    sq = ((img.reshape(-1, 1, c) - pal) ** 2).sum(axis=2).min(axis=1)
    limit_sq = limit_factor * sq.mean()
    low = np.minimum(img.reshape(-1, c).min(axis=0), pal.min(axis=0))
    high = np.maximum(img.reshape(-1, c).max(axis=0), pal.max(axis=0))
    margin = 0.1 * (high - low).max()
    lo, hi = low - margin, high + margin
    err = np.zeros((h + 1, w + 2, c))  # one spare column on each side, one row below
    out = np.zeros((h, w), np.uint8)
    for y in range(h):
        for x in range(w):
            px, s = img[y, x], err[y, x + 1]
            ratio = 1.0
            for ch in range(c):
                if px[ch] + s[ch] > hi[ch]:
                    ratio = min(ratio, (hi[ch] - px[ch]) / s[ch])
                elif px[ch] + s[ch] < lo[ch]:
                    ratio = min(ratio, (lo[ch] - px[ch]) / s[ch])
            if s @ s > limit_sq:
                ratio *= 0.8
            carried = px + ratio * s
            q = int(((pal - carried) ** 2).sum(axis=1).argmin())
            out[y, x] = q
            e = carried - pal[q]
            if e @ e > limit_sq:
                e = e * 0.75
            err[y, x + 2] += e * 7 / 16 * strength
            err[y + 1, x] += e * 3 / 16 * strength
            err[y + 1, x + 1] += e * 5 / 16 * strength
            err[y + 1, x + 2] += e * 1 / 16 * strength
    return out


def blurred_mse(image, palette, indices):
    a = cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.0)
    b = cv2.GaussianBlur(palette[indices].astype(np.float32), (0, 0), 1.0)
    return float(((a - b) ** 2).mean())


def grey_gradient(h=64, w=256):
    row = np.linspace(0, 255, w, dtype=np.float32)
    return np.repeat(np.broadcast_to(row[None, :, None], (h, w, 1)), 3, axis=2).copy()


def random_rgba_points(rng, shape):
    """Premultiplied RGBA points of random 8-bit colours, as the pipeline makes them."""
    return working_points(rng.integers(0, 256, size=shape + (4,), dtype=np.uint8))


def test_none_is_the_exact_nearest_entry():
    rng = np.random.default_rng(0)
    # real values, and whole ones with exact ties: 96 lies halfway between 64 and 128
    reals = rng.uniform(-3, 300, size=(20, 30, 3)).astype(np.float32)
    palette = rng.uniform(0, 255, size=(40, 3)).astype(np.float32)
    np.testing.assert_array_equal(dither(reals, palette, "none"), brute_nearest(reals, palette))
    greys = np.full((2, 3, 3), 96, np.float32)
    tied = GREYS[[2, 1, 0]]  # 128 first: the tie goes to index 0
    assert (dither(greys, tied, "none") == 0).all()
    assert (dither(greys, GREYS, "none") == 1).all()
    # near-ties closer than float32 rounding of the scores are settled in float64
    near = np.array([[[1000.0, 1000.0, 1000.0 + 1e-4]]], np.float32)
    pal = np.array([[1000.0, 1000.0, 1001.0], [1000.0, 1000.0, 999.0]], np.float32)
    assert dither(near, pal, "none")[0, 0] == brute_nearest(near, pal)[0, 0] == 0


@pytest.mark.parametrize("channels", [3, 4])
@pytest.mark.parametrize("method", METHODS)
def test_every_index_is_in_the_palette_and_the_result_is_repeatable(method, channels):
    rng = np.random.default_rng(1)
    if channels == 4:
        image = random_rgba_points(rng, (33, 47))
    else:
        image = rng.uniform(0, 255, size=(33, 47, 3)).astype(np.float32)
    for m in (1, 2, 7, 256):
        palette = image.reshape(-1, channels)[rng.choice(33 * 47, m, replace=False)]
        first = dither(image, palette, method)
        assert first.shape == (33, 47) and first.dtype == np.uint8
        assert int(first.max()) < m
        assert dither(image.copy(), palette.copy(), method).tobytes() == first.tobytes()


@pytest.mark.parametrize("method", ["floyd-steinberg", "ordered"])
def test_strength_zero_is_none(method):
    image = grey_gradient(16, 64) + 0.3
    np.testing.assert_array_equal(dither(image, GREYS, method, 0.0), dither(image, GREYS, "none"))


def test_floyd_steinberg_by_hand():
    # One channel, entries 0 and 100; no damping or bounds come into play:
    # the palette error is E = (30^2 + 40^2 + 40^2 + 20^2 + 45^2 + 30^2) / 6 = 1237.5,
    # so L^2 = 2.4 E = 2970 (L = 54.5), above every |s| and |e| below; the
    # bounds are [-10, 110] and every carried value stays within them.
    #   (0,0): 30          -> 0,   e = 30:  (0,1) += 13.125, (1,0) += 9.375, (1,1) += 1.875
    #   (0,1): 40 + 13.125 -> 100, e = -46.875: (0,2) += -20.5078125, (1,0) += -8.7890625,
    #                                           (1,1) += -14.6484375, (1,2) += -2.9296875
    #   (0,2): 60 - 20.508 -> 0,   e = 39.4921875: (1,1) += 7.4047852, (1,2) += 12.3413086
    #   (1,0): 20 + 0.5859375 -> 0, e = 20.5859375: (1,1) += 9.0063477
    #   (1,1): 45 + 3.6376953 = 48.64 -> 0, e = 48.6376953: (1,2) += 21.2789917
    #   (1,2): 70 + 30.6906128 = 100.69 -> 100
    image = np.array([[30, 40, 60], [20, 45, 70]], np.float32)[:, :, None]
    palette = np.array([[0.0], [100.0]], np.float32)
    assert dither(image, palette, "floyd-steinberg").tolist() == [[0, 1, 0], [0, 0, 1]]
    assert dither(image, palette, "none").tolist() == [[0, 0, 1], [0, 0, 1]]
    # At half strength every share is halved:
    #   (0,0): 30 -> 0; (0,1): 40 + 6.5625 -> 0; (0,2): 60 + 10.1855469 -> 100;
    #   (1,0): 20 + 9.0527344 -> 0; (1,1): 45 + 11.7730713 = 56.77 -> 100;
    #   (1,2): 70 - 12.6593208 = 57.34 -> 100
    assert dither(image, palette, "floyd-steinberg", 0.5).tolist() == [[0, 0, 1], [0, 1, 1]]
    assert reference_fs(image, palette, 0.5).tolist() == [[0, 0, 1], [0, 1, 1]]
    assert reference_fs(image, palette).tolist() == [[0, 1, 0], [0, 0, 1]]


def test_a_large_error_is_damped(monkeypatch):
    # 1x8, entries 0 and 100, pixels [45, 35, 0, ...]: E = (45^2 + 35^2) / 8 = 406.25,
    # L^2 = 975 (L = 31.2).
    # (0,0): 45 -> 0, e = 45 > L, damped to 33.75; (0,1) receives 7/16 of it, 14.77.
    # (0,1): 35 + 14.77 = 49.77 -> 0.  Undamped it would receive 19.69: 54.69 -> 100.
    image = np.array([[45, 35, 0, 0, 0, 0, 0, 0]], np.float32)[:, :, None]
    palette = np.array([[0.0], [100.0]], np.float32)
    assert dither(image, palette, "floyd-steinberg").tolist() == [[0] * 8]
    monkeypatch.setattr(dither_module, "LIMIT_FACTOR", np.inf)
    assert dither(image, palette, "floyd-steinberg")[0, :2].tolist() == [0, 1]


def test_errors_do_not_pile_up_beyond_the_gamut(monkeypatch):
    # White (255) above mid-grey (125), entries 0 and 250: every white pixel
    # leaves +5 that no entry can take.  The carried colour may leave the
    # range [0, 255] by 10% only (x + r s <= 280.5), so the first grey rows
    # get a bounded excess and keep their mean; without the bound the excess
    # grows over the white rows and floods into the grey ones.
    image = np.full((40, 40, 1), 125.0, np.float32)
    image[:20] = 255.0
    palette = np.array([[0.0], [250.0]], np.float32)
    monkeypatch.setattr(dither_module, "LIMIT_FACTOR", np.inf)  # the bound alone
    out = palette[dither(image, palette, "floyd-steinberg")][:, :, 0]
    assert (out[:20] == 250).all() and out[20:24].mean() == pytest.approx(125, abs=3)
    monkeypatch.setattr(dither_module, "OVERSHOOT", np.inf)
    out = palette[dither(image, palette, "floyd-steinberg")][:, :, 0]
    assert out[20:24].mean() > 140


@pytest.mark.parametrize("channels", [1, 3, 4])
@pytest.mark.parametrize("shape", [(1, 1), (1, 9), (9, 1), (2, 2), (5, 3), (7, 11), (12, 5)])
def test_wavefronts_give_the_per_pixel_loop(shape, channels):
    rng = np.random.default_rng(sum(shape) * 10 + channels)
    if channels == 4:
        image = random_rgba_points(rng, shape)
    else:
        image = rng.uniform(0, 255, size=shape + (channels,)).astype(np.float32)
    palette = rng.uniform(0, 255, size=(6, channels)).astype(np.float32)
    for strength in (1.0, 0.6):
        expected = reference_fs(image, palette, strength)
        np.testing.assert_array_equal(dither(image, palette, "floyd-steinberg", strength), expected)


def test_wavefronts_give_the_per_pixel_loop_on_a_photo(samples):
    photo = cv2.cvtColor(cv2.imread(str(samples / "astronaut.jpg")), cv2.COLOR_BGR2RGB)[200:232, 150:190]
    image = photo.astype(np.float32)
    palette = image.reshape(-1, 3)[np.random.default_rng(2).choice(32 * 40, 12, replace=False)]
    np.testing.assert_array_equal(dither(image, palette, "floyd-steinberg"), reference_fs(image, palette))


@pytest.mark.parametrize("method", ["floyd-steinberg", "ordered"])
def test_dithering_a_gradient_lowers_the_blurred_error(method):
    image = grey_gradient()
    palette = GREYS[[0, 2, 4]]  # 0, 128, 255: wide steps
    none = blurred_mse(image, palette, dither(image, palette, "none"))
    dithered = blurred_mse(image, palette, dither(image, palette, method))
    assert dithered < 0.25 * none


@pytest.mark.parametrize("value", [20.0, 100.0, 150.0, 230.0])
@pytest.mark.parametrize("method", ["floyd-steinberg", "ordered"])
def test_a_flat_area_keeps_its_mean(method, value):
    image = np.full((64, 64, 3), value, np.float32)
    out = GREYS[dither(image, GREYS, method)][:, :, 0]
    assert set(np.unique(out)) <= {64 * (value // 64), min(255, 64 * (value // 64 + 1))}
    # every 8x8 block of the interior (error diffusion starts at the edges)
    blocks = out[8:56, 8:56].reshape(6, 8, 6, 8).mean(axis=(1, 3))
    assert np.abs(blocks - value).max() <= 8
    assert abs(out[8:56, 8:56].mean() - value) < 1.0


def test_an_edge_does_not_spread_noise_into_a_flat_area(monkeypatch):
    # A flat area of 64, which the palette holds exactly (with 60 and 68 close
    # by), and one line of 100, which it cannot hold: the line's errors are
    # large next to the palette's error (L = 11, 6.4 per channel), so they are damped and
    # die out within 3 pixels.  Undamped they flip pixels far into the flat area.
    image = np.full((40, 60, 3), 64.0, np.float32)
    image[:, 20] = 100.0
    palette = np.array([[v] * 3 for v in (0, 60, 64, 68, 255)], np.float32)

    def noise_beyond(indices, reach):
        changed = indices != dither(image, palette, "none")
        return int(changed[:, 21 + reach:].sum())

    assert noise_beyond(dither(image, palette, "floyd-steinberg"), 3) == 0
    monkeypatch.setattr(dither_module, "LIMIT_FACTOR", np.inf)
    assert noise_beyond(dither(image, palette, "floyd-steinberg"), 3) > 50


def test_ordered_uses_the_bayer_matrix():
    assert sorted(bayer_matrix(8).ravel().tolist()) == list(range(64))
    # one channel, entries 0 and 64 (spacing 64): value v takes 64 where the
    # threshold (B + 1/2) / 64 - 1/2 exceeds 1/2 - v / 64, at v / 64 * 64 = v positions
    image = np.full((8, 8, 1), 20.0, np.float32)
    out = dither(image, np.array([[0.0], [64.0]], np.float32), "ordered")
    assert out.sum() == 20
    assert (out == (bayer_matrix(8) >= 44)).all()


def test_rgba_premultiplied_points():
    rng = np.random.default_rng(3)
    rgba = np.zeros((32, 64, 4), np.uint8)
    rgba[:, :, :3] = np.linspace(0, 255, 64).astype(np.uint8)[None, :, None]
    rgba[:, :, 3] = np.linspace(255, 64, 32).astype(np.uint8)[:, None]
    points = working_points(rgba)
    palette = points.reshape(-1, 4)[rng.choice(32 * 64, 6, replace=False)]
    none = blurred_mse(points, palette, dither(points, palette, "none"))
    for method in ("floyd-steinberg", "ordered"):
        indices = dither(points, palette, method)
        assert indices.max() < 6
        assert blurred_mse(points, palette, indices) < none


@pytest.mark.parametrize("args", [
    (np.zeros((2, 2, 3)), GREYS, "atkinson", 1.0),
    (np.zeros((2, 2, 3)), GREYS, "ordered", 1.5),
    (np.zeros((2, 2, 3)), GREYS, "ordered", True),
    (np.zeros((2, 2, 3)), GREYS[:, :2], "none", 1.0),
    (np.zeros((2, 2, 3)), np.zeros((257, 3)), "none", 1.0),
    (np.zeros((2, 2, 3)), np.zeros((0, 3)), "none", 1.0),
    (np.zeros((0, 2, 3)), GREYS, "none", 1.0),
    (np.zeros((2, 3)), GREYS, "none", 1.0),
    (np.full((2, 2, 3), np.nan), GREYS, "none", 1.0),
])
def test_bad_arguments(args):
    with pytest.raises(ParameterError):
        dither(*args)


def test_inputs_are_left_alone_and_repeated_entries_are_harmless():
    image = grey_gradient(8, 32)
    palette = GREYS[[0, 2, 2, 4]]  # 128 twice
    before = image.copy(), palette.copy()
    for method in METHODS:
        indices = dither(image, palette, method)
        assert set(np.unique(indices)) <= {0, 1, 3}  # ties go to the first 128
    np.testing.assert_array_equal(image, before[0])
    np.testing.assert_array_equal(palette, before[1])
    # ordered still dithers between 0, 128 and 255
    out = palette[dither(image, palette, "ordered")]
    assert blurred_mse(image, palette, dither(image, palette, "ordered")) < blurred_mse(
        image, palette, dither(image, palette, "none"))
    assert len(np.unique(out[:, 5, 0])) == 2
