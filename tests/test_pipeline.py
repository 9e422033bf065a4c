"""The colour path, end to end on arrays."""
import numpy as np
import pytest

from conftest import small_photo
from quantize import KMeansOptions, ParameterError, apply_palette, fit_palette, kmeans, quantize_image
from quantize.histogram import color_histogram


def rebuild(result):
    return result.palette[result.indices]


def test_few_colours_come_back_exactly():
    rng = np.random.default_rng(0)
    colours = rng.integers(0, 256, size=(5, 3), dtype=np.uint8)
    image = colours[rng.integers(0, 5, size=(30, 20))]
    for k in (5, 6, 256):
        result = quantize_image(image, k)
        np.testing.assert_array_equal(rebuild(result), image)
        assert result.lossless and result.distortion == 0 and result.psnr == np.inf
        assert len(result.palette) == 5


@pytest.mark.parametrize("k", [1, 2, 8, 64])
def test_palette_and_indices_are_consistent(k):
    image = small_photo()
    result = quantize_image(image, k, KMeansOptions(seed=0))
    assert 1 <= len(result.palette) <= k
    counts = np.bincount(result.indices.ravel(), minlength=len(result.palette))
    np.testing.assert_array_equal(counts, result.counts)
    assert (result.counts > 0).all() and (np.diff(result.counts) <= 0).all()
    # Every pixel gets its nearest palette colour.
    pixels = image.reshape(-1, 3).astype(np.int64)
    d = ((pixels[:, None, :] - result.palette[None, :, :].astype(np.int64)) ** 2).sum(-1)
    chosen = d[np.arange(len(pixels)), result.indices.ravel()]
    np.testing.assert_array_equal(chosen, d.min(axis=1))
    assert result.distortion == pytest.approx(chosen.mean())


def test_unique_colours_give_the_same_optimum_as_raw_pixels():
    image = small_photo(seed=3)
    hist = color_histogram(image)
    assert len(hist.colors) < image.shape[0] * image.shape[1]
    pixels = image.reshape(-1, 3).astype(np.float64)
    start = hist.colors[:: len(hist.colors) // 6][:6].astype(np.float64)
    on_unique = kmeans(hist.colors, 6, weights=hist.counts, init=start, tol=0)
    on_pixels = kmeans(pixels, 6, init=start, tol=0)
    np.testing.assert_allclose(on_unique.centroids, on_pixels.centroids, rtol=1e-10)
    assert on_unique.distortion == pytest.approx(on_pixels.distortion, rel=1e-10)


def test_alpha_is_quantized_with_the_colour_and_transparent_pixels_share_one_entry():
    rgba = np.dstack([small_photo(), np.arange(48 * 64, dtype=np.uint8).reshape(48, 64)])
    rgba[:4, :, 3] = 0  # hidden colours under full transparency
    a = quantize_image(rgba, 8, KMeansOptions(seed=11))
    b = quantize_image(rgba, 8, KMeansOptions(seed=11))
    assert a.palette.shape == (8, 4)
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.palette, b.palette)
    transparent = a.indices[rgba[:, :, 3] == 0]
    assert len(np.unique(transparent)) == 1 and a.palette[transparent[0]].tolist() == [0, 0, 0, 0]
    # only faint pixels (nearer transparent than any other entry) join it: alpha 12 at most here
    assert rgba[:, :, 3][a.palette[a.indices][:, :, 3] == 0].max() <= 22 / 2 + 1
    # the premultiplied distortion, recomputed from the output
    def premultiplied(x):
        x = x.astype(np.float64)
        return np.dstack([x[..., :3] * x[..., 3:] / 255, x[..., 3]])
    expected = ((premultiplied(rgba) - premultiplied(a.palette[a.indices])) ** 2).sum(-1).mean()
    assert a.distortion == pytest.approx(expected, rel=1e-5)  # float32 points: rounding of 1e-7 relative


def test_input_is_not_modified():
    image = small_photo()
    before = image.copy()
    quantize_image(image, 4)
    np.testing.assert_array_equal(image, before)


@pytest.mark.parametrize(
    "image, k, match",
    [
        (np.zeros((4, 4, 3), np.uint8), 0, "K must be an integer from 1 to 256"),
        (np.zeros((4, 4, 3), np.uint8), 257, "K must be an integer from 1 to 256"),
        (np.zeros((4, 4), np.uint8), 2, r"got shape \(4, 4\)"),
        (np.zeros((4, 4, 3), np.float32), 2, "dtype float32"),
        (np.zeros((0, 4, 3), np.uint8), 2, "non-empty"),
    ],
)
def test_bad_input_raises(image, k, match):
    with pytest.raises(ParameterError, match=match):
        quantize_image(image, k)


@pytest.mark.slow
@pytest.mark.parametrize("speed, bound", [(2, 1.005), (4, 1.015)])
def test_coarse_to_fine_is_nearly_as_good_as_the_exact_path(samples, speed, bound):
    """Coarse to fine against one k-means on all unique colours (speed 1): the
    mean distortion ratio over four sample photos and two seeds, at K = 16, 64
    and 256, is within 0.5% at speed 2 and within 1.5% at the default speed 4
    (measured: at most 0.35% and 1.2%)."""
    from quantize import read_image

    for k in (16, 64, 256):
        ratios = []
        for name in ("chelsea.jpg", "rocket.jpg", "hubble.jpg", "retina.jpg"):
            image = read_image(samples / name)
            for seed in range(2):
                fast = quantize_image(image, k, KMeansOptions(seed=seed, speed=speed))
                full = quantize_image(image, k, KMeansOptions(seed=seed, speed=1))
                ratios.append(fast.distortion / full.distortion)
        assert np.mean(ratios) < bound, (k, ratios)


def test_each_speed_runs_its_schedule(samples):
    """Speed 1 is k-means on every colour; 6 runs one iteration on every colour
    after the sample and the 6-bit bins, 7 stops at the bins; 8 to 10 stop at
    the sample, 9 and 10 on fewer pixels."""
    from quantize import read_image
    from quantize.histogram import coarsen, color_histogram, from_working_points
    from quantize.core import kmeans
    from quantize.pipeline import fit_palette, sample_levels

    hist = color_histogram(read_image(samples / "chelsea.jpg"))
    k = 32
    exact = kmeans(hist.points(), k, weights=hist.counts, seed=np.random.default_rng(3))
    np.testing.assert_array_equal(fit_palette(hist, k, KMeansOptions(seed=3, speed=1)).colors,
                                  from_working_points(exact.centroids, 3))
    sizes = {}
    for speed, (per_cluster, least) in ((8, (32, 4096)), (9, (16, 2048)), (10, (8, 1024))):
        rng = np.random.default_rng(3)
        (points, weights), _ = sample_levels(hist, k, rng, per_cluster, least)
        sample = kmeans(points, k, weights=weights, seed=rng)
        palette = fit_palette(hist, k, KMeansOptions(seed=3, speed=speed))
        np.testing.assert_array_equal(palette.colors, from_working_points(sample.centroids, 3))
        assert palette.n_iter == sample.n_iter
        sizes[speed] = weights.sum()
    assert sizes == {8: 4096, 9: 2048, 10: 1024}
    rng = np.random.default_rng(3)
    sample, bins, fine = sample_levels(hist, k, rng, bins=True)
    np.testing.assert_array_equal(bins[0], coarsen(hist, 6)[0])
    first = kmeans(sample[0], k, weights=sample[1], seed=rng)
    second = kmeans(bins[0], k, weights=bins[1], init=first.centroids, seed=rng)
    palette = fit_palette(hist, k, KMeansOptions(seed=3, speed=7))
    np.testing.assert_array_equal(palette.colors, from_working_points(second.centroids, 3))
    assert palette.n_iter == first.n_iter + second.n_iter
    assert fit_palette(hist, k, KMeansOptions(seed=3, speed=6)).n_iter == first.n_iter + second.n_iter + 1


def test_speed_out_of_range_raises():
    for speed in (0, 11, 2.5, True):
        with pytest.raises(ParameterError, match="speed must be an integer from 1 to 10"):
            KMeansOptions(speed=speed)


def test_many_colours_use_binned_last_level(monkeypatch):
    from quantize.pipeline import fit

    image = small_photo(seed=5, shape=(120, 160))
    reference = quantize_image(image, 8, KMeansOptions(seed=1, speed=1))
    monkeypatch.setattr(fit, "FINE_MAX", 100)
    monkeypatch.setitem(fit.SPEED_SCHEDULE, 4, (32, 64, True, 10, None))
    result = quantize_image(image, 8, KMeansOptions(seed=1))
    assert result.distortion < 1.02 * reference.distortion
    assert len(result.palette) == 8


def test_fit_then_apply_gives_the_bytes_of_quantize_image(samples):
    from quantize import read_image
    from quantize.imageio import encode_quantized

    image = read_image(samples / "chelsea.jpg")
    options = KMeansOptions(seed=4)
    whole = quantize_image(image, 32, options)
    palette = fit_palette(image, 32, options)
    parts = apply_palette(image, palette)
    assert encode_quantized(".png", parts.indices, parts.palette) == encode_quantized(
        ".png", whole.indices, whole.palette)
    assert parts.distortion == whole.distortion and parts.n_iter == whole.n_iter
    # A palette applied to another image: the colours it uses, most used first.
    other = apply_palette(read_image(samples / "coffee.jpg"), palette)
    assert set(map(tuple, other.palette)) <= set(map(tuple, palette.colors))
    assert (np.diff(other.counts) <= 0).all()


def test_apply_a_given_palette_in_any_order():
    image = small_photo(seed=2)
    colors = np.array([[0, 0, 0], [255, 255, 255], [200, 100, 50], [30, 90, 160]], np.uint8)
    a = apply_palette(image, colors)
    b = apply_palette(image, colors[::-1])
    pixels = image.reshape(-1, 3).astype(np.int64)
    d = ((pixels[:, None] - colors[None].astype(np.int64)) ** 2).sum(-1)
    assert a.distortion == b.distortion == pytest.approx(d.min(axis=1).mean(), rel=1e-12)
    # Where two entries are equally near, the earlier one wins; elsewhere the order does not matter.
    unique = (d == d.min(axis=1, keepdims=True)).sum(axis=1) == 1
    rebuilt_a, rebuilt_b = (q.palette[q.indices].reshape(-1, 3) for q in (a, b))
    np.testing.assert_array_equal(rebuilt_a[unique], rebuilt_b[unique])
    np.testing.assert_array_equal(rebuilt_a[unique], colors[d.argmin(axis=1)][unique])


@pytest.mark.parametrize("colors", [np.zeros((0, 3)), np.zeros((257, 3), int), np.zeros((2, 5), int),
                                    np.array([[0, 0, 256]]), np.array([[0.5, 0, 0]])])
def test_apply_rejects_bad_palettes(colors):
    with pytest.raises(ParameterError, match="a palette must be 1 to 256 RGB or RGBA colours"):
        apply_palette(small_photo(), colors)


def test_progress_of_a_default_run_never_goes_back(samples):
    from quantize import read_image

    image = read_image(samples / "astronaut.jpg")
    for options in (KMeansOptions(seed=0), KMeansOptions(seed=0, init="random"), KMeansOptions(speed=1, n_init=2)):
        seen = []
        quantize_image(image, 16, options, on_progress=seen.append)
        assert len(seen) > 5
        assert all(b >= a for a, b in zip(seen, seen[1:])), seen
        assert 0 <= seen[0] and seen[-1] == 1.0


def test_progress_callback_can_cancel(samples):
    from quantize import Cancelled, read_image

    image = read_image(samples / "astronaut.jpg")
    seen = []

    def stop_at_half(fraction):
        seen.append(fraction)
        return fraction < 0.5

    with pytest.raises(Cancelled):
        quantize_image(image, 16, KMeansOptions(seed=0), on_progress=stop_at_half)
    assert seen[-1] >= 0.5 and all(f < 0.5 for f in seen[:-1])


@pytest.mark.parametrize("kwargs, match", [
    ({"init": "median-cut"}, "init must be one of k-means\\+\\+, random, wu"),
    ({"n_init": 0}, "n_init must be"),
    ({"tol": -1e-3}, "tol must be a number >= 0"),
    ({"max_iter": 0}, "max_iter must be an integer >= 1"),
    ({"seed": -5}, "seed must be a whole number >= 0"),
    ({"seed": 1.5}, "seed must be a whole number >= 0"),
])
def test_options_are_checked_when_made(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        KMeansOptions(**kwargs)
    assert KMeansOptions().runs == 1 and KMeansOptions(init="random").runs == 10
    assert KMeansOptions(n_init=3, init="random").runs == 3


def test_oklab_space_clusters_and_remaps_in_oklab(samples):
    """With space="oklab" every colour goes to its nearest palette entry in
    Oklab (checked by brute force), the distortion stays the RGB one, and
    the mean Oklab error of three photos at K = 16 is lower than when
    clustering in RGB (what the space is for)."""
    from quantize import read_image
    from quantize.histogram import color_histogram
    from quantize.metrics import delta_e_ok
    from quantize.spaces import srgb_to_oklab

    lower = []
    for name in ("chelsea.jpg", "coffee.jpg", "rocket.jpg"):
        image = read_image(samples / name)
        ok = quantize_image(image, 16, KMeansOptions(seed=0, space="oklab"))
        rgb = quantize_image(image, 16, KMeansOptions(seed=0))
        picture = ok.palette[ok.indices]
        rgb_error = np.square(image.astype(np.float64) - picture).sum(axis=2).mean()
        assert ok.distortion == pytest.approx(rgb_error, rel=1e-9)
        lower.append(delta_e_ok(image, picture) < delta_e_ok(image, rgb.palette[rgb.indices]))
        if name == "chelsea.jpg":
            colors = color_histogram(image).colors
            distance = ((srgb_to_oklab(colors)[:, None, :] - srgb_to_oklab(ok.palette)[None]) ** 2).sum(axis=2)
            chosen = ok.indices.reshape(-1)
            keys = image.reshape(-1, 3)
            # The entry each pixel got is (up to float32 ties) its nearest in Oklab.
            got = srgb_to_oklab(ok.palette[chosen])
            best = distance.min(axis=1)
            lookup = {tuple(c): b for c, b in zip(colors.tolist(), best)}
            nearest = np.array([lookup[tuple(c)] for c in keys[:: 97].tolist()])
            assert np.allclose(((srgb_to_oklab(keys[:: 97]) - got[:: 97]) ** 2).sum(axis=1), nearest, atol=1e-6)
    assert all(lower)


def test_dithering_in_oklab_keeps_the_rgb_distortion(samples):
    from quantize import read_image

    image = read_image(samples / "rocket.jpg")[:200, :200]
    q = quantize_image(image, 8, KMeansOptions(seed=0, space="oklab"), dither="floyd-steinberg")
    error = np.square(image.astype(np.float64) - q.palette[q.indices]).sum(axis=2).mean()
    assert q.distortion == pytest.approx(error, rel=1e-6)
    plain = quantize_image(image, 8, KMeansOptions(seed=0, space="oklab"))
    assert (q.indices != plain.indices).any()


def test_spaces_are_checked():
    with pytest.raises(ParameterError, match="space must be one of rgb, oklab, lab"):
        KMeansOptions(space="xyz")
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[0, 0] = 255
    with pytest.raises(ParameterError, match="works on RGB images"):
        quantize_image(rgba, 2, KMeansOptions(space="lab"))


@pytest.mark.parametrize("strength", [True, 1.5, -0.1, "x", None])
def test_apply_palette_checks_the_dither_strength_once_where_it_enters(strength):
    """The colour path checks method and strength in apply_palette and hands
    the dithering checked values (a string gave a TypeError before)."""
    from quantize import apply_palette

    image = np.zeros((2, 2, 3), np.uint8)
    with pytest.raises(ParameterError, match="dither strength must be from 0 to 1"):
        apply_palette(image, np.array([[0, 0, 0], [9, 9, 9]], np.uint8), dither="ordered", dither_strength=strength)


@pytest.mark.parametrize("speed", [7, 8, 9, 10])
def test_fast_speeds_on_an_image_too_small_to_sample_fit_every_colour(speed):
    """At speeds 7 to 10 the palette comes from a coarse level; an image too
    small for one has only the level of every colour, which is then fitted
    with the usual stop (it failed: 'max_iter must be an integer >= 1, got 0')."""
    from quantize.pipeline import fit_palette

    image = small_photo(seed=3, shape=(30, 40))  # 1,200 pixels: no sample of 1,024 or more is half as many
    palette = fit_palette(image, 16, KMeansOptions(seed=0, speed=speed))
    exact = fit_palette(image, 16, KMeansOptions(seed=0, speed=1))  # one k-means on every colour
    assert len(palette.colors) == 16 and palette.n_iter == exact.n_iter >= 1
    np.testing.assert_array_equal(palette.colors, exact.colors)
