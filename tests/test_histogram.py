import numpy as np
import pytest

from quantize import histogram
from quantize.histogram import color_histogram, pack, unpack


def test_pack_unpack_round_trip():
    colors = np.random.default_rng(0).integers(0, 256, size=(1000, 3), dtype=np.uint8)
    np.testing.assert_array_equal(unpack(pack(colors)), colors)
    assert pack(np.array([1, 2, 3], dtype=np.uint8)) == (1 << 16) + (2 << 8) + 3


@pytest.mark.parametrize("use_bincount", [False, True])
def test_histogram_matches_numpy_unique(monkeypatch, use_bincount):
    if use_bincount:
        monkeypatch.setattr(histogram, "_BINCOUNT_FROM", 0)
    rng = np.random.default_rng(1)
    image = rng.integers(0, 6, size=(50, 40, 3), dtype=np.uint8) * 51
    hist = color_histogram(image)
    colors, counts = np.unique(image.reshape(-1, 3), axis=0, return_counts=True)
    np.testing.assert_array_equal(hist.colors, colors)
    np.testing.assert_array_equal(hist.counts, counts)
    assert hist.n_pixels == 50 * 40
