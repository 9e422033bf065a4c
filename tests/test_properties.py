"""Properties that hold for any image or point set (Hypothesis)."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from quantize import KMeansOptions, kmeans, quantize_image
from quantize.imageio import encode_quantized
from quantize.core import HISTORY_ROUNDING

from conftest import spread

images = st.integers(1, 12).flatmap(
    lambda h: st.integers(1, 12).flatmap(
        lambda w: st.one_of(
            arrays(np.uint8, (h, w, 3)),
            arrays(np.uint8, (h, w, 3), elements=st.sampled_from([0, 7, 128, 255])),
        )
    )
)


@settings(max_examples=60, deadline=None)
@given(image=images, k=st.integers(1, 20), seed=st.integers(0, 2**32 - 1))
def test_quantized_image_properties(image, k, seed):
    result = quantize_image(image, k, KMeansOptions(seed=seed))
    n_unique = len(np.unique(image.reshape(-1, 3), axis=0))
    assert len(result.palette) <= min(k, n_unique)
    pixels = image.reshape(-1, 3).astype(np.int64)
    d = ((pixels[:, None] - result.palette[None].astype(np.int64)) ** 2).sum(-1)
    assert (d[np.arange(len(pixels)), result.indices.ravel()] == d.min(1)).all()
    if n_unique <= k:
        np.testing.assert_array_equal(result.palette[result.indices], image)
    again = quantize_image(image, k, KMeansOptions(seed=seed))
    assert encode_quantized(".png", again.indices, again.palette) == encode_quantized(
        ".png", result.indices, result.palette
    )


@pytest.mark.filterwarnings("ignore:fewer distinct points:RuntimeWarning")
@settings(max_examples=60, deadline=None)
@given(
    points=st.integers(2, 60).flatmap(
        lambda n: arrays(np.float64, (n, 2), elements=st.floats(-1e3, 1e3, allow_subnormal=False))
    ),
    k=st.integers(1, 6),
    seed=st.integers(0, 1000),
)
def test_distortion_never_rises_and_labels_match_centroids(points, k, seed):
    k = min(k, len(points))
    res = kmeans(points, k, seed=seed, tol=0)
    assert (np.diff(res.history) <= HISTORY_ROUNDING * spread(points)).all()  # the documented bound
    d = ((points[:, None] - res.centroids[None]) ** 2).sum(-1)
    chosen = d[np.arange(len(points)), res.labels]
    assert (chosen <= d.min(1) + 1e-7 * (1 + d.min(1))).all()
    assert np.isfinite(res.centroids).all()
