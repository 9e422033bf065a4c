"""The colour path, end to end on arrays."""
import numpy as np
import pytest

from conftest import small_photo
from quantize import ParameterError, kmeans, quantize_image
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
    result = quantize_image(image, k, seed=0)
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


def test_alpha_is_kept_and_same_seed_same_result():
    rgba = np.dstack([small_photo(), np.arange(48 * 64, dtype=np.uint8).reshape(48, 64)])
    a = quantize_image(rgba, 8, seed=11)
    b = quantize_image(rgba, 8, seed=11)
    np.testing.assert_array_equal(a.alpha, rgba[:, :, 3])
    np.testing.assert_array_equal(a.indices, b.indices)
    np.testing.assert_array_equal(a.palette, b.palette)


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


def test_fast_path_is_as_good_as_the_exact_one(samples):
    """Coarse to fine against one k-means on all unique colours: the mean
    distortion ratio over four sample photos and two seeds is within 0.5%."""
    from quantize import read_image

    for k in (16, 64, 256):
        ratios = []
        for name in ("chelsea.jpg", "rocket.jpg", "hubble.jpg", "retina.jpg"):
            image = read_image(samples / name)
            for seed in range(2):
                fast = quantize_image(image, k, seed=seed)
                full = quantize_image(image, k, seed=seed, fast=False)
                ratios.append(fast.distortion / full.distortion)
        assert np.mean(ratios) < 1.005, (k, ratios)


def test_many_colours_use_binned_last_level(monkeypatch):
    from quantize import pipeline

    image = small_photo(seed=5, shape=(120, 160))
    reference = quantize_image(image, 8, seed=1, fast=False)
    monkeypatch.setattr(pipeline, "FINE_MAX", 100)
    monkeypatch.setattr(pipeline, "SAMPLE_MIN", 64)
    result = quantize_image(image, 8, seed=1)
    assert result.distortion < 1.02 * reference.distortion
    assert len(result.palette) == 8
