import numpy as np
import pytest

from quantize.histogram import color_histogram, pack, unpack


def test_pack_unpack_round_trip():
    colors = np.random.default_rng(0).integers(0, 256, size=(1000, 3), dtype=np.uint8)
    np.testing.assert_array_equal(unpack(pack(colors)), colors)
    assert pack(np.array([1, 2, 3], dtype=np.uint8)) == (1 << 16) + (2 << 8) + 3


def test_histogram_matches_numpy_unique():
    rng = np.random.default_rng(1)
    image = rng.integers(0, 6, size=(50, 40, 3), dtype=np.uint8) * 51
    hist = color_histogram(image)
    colors, counts = np.unique(image.reshape(-1, 3), axis=0, return_counts=True)
    np.testing.assert_array_equal(hist.colors, colors)
    np.testing.assert_array_equal(hist.counts, counts)
    assert hist.n_pixels == 50 * 40


def test_coarsen_keeps_weight_and_mean():
    from quantize.histogram import coarsen

    rng = np.random.default_rng(2)
    image = rng.integers(0, 256, size=(40, 40, 3), dtype=np.uint8)
    hist = color_histogram(image)
    points, weights = coarsen(hist, 3)
    assert weights.sum() == 40 * 40 and len(points) <= 8**3
    mean = image.reshape(-1, 3).mean(axis=0)
    np.testing.assert_allclose(np.average(points, axis=0, weights=weights), mean, rtol=1e-5)
    # every binned mean lies inside its 32-wide bin
    assert (np.floor(points / 32) == np.floor(points.round(3) / 32)).all()


@pytest.mark.parametrize("bits", [2, 5, 6])
def test_coarsen_of_a_sparse_table_equals_the_whole_table(bits):
    """An RGBA histogram's bins are numbered in key order instead of a table of
    all 2**(4 bits) bins: the same points and weights, to the bit."""
    from quantize import histogram as H

    rng = np.random.default_rng(bits)
    image = rng.integers(0, 256, (60, 50, 4), dtype=np.uint8)
    image[:10, :, 3] = 0
    hist = H.color_histogram(image)
    points, weights = H.coarsen(hist, bits)
    c = (hist.colors >> (8 - bits)).astype(np.int64)
    keys = ((c[:, 0] << (3 * bits)) | (c[:, 1] << (2 * bits)) | (c[:, 2] << bits) | c[:, 3])
    table = np.bincount(keys, weights=hist.counts.astype(np.float64), minlength=1 << (4 * bits))
    occupied = np.flatnonzero(table)
    sums = np.stack([np.bincount(keys, weights=hist.counts * hist.points()[:, j], minlength=table.size)[occupied]
                     for j in range(4)], axis=1)
    np.testing.assert_array_equal(weights, table[occupied])
    np.testing.assert_array_equal(points, (sums / table[occupied][:, None]).astype(np.float32))
