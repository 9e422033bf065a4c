"""The k-means core on memory-mapped arrays (``np.load(path, mmap_mode="r")``):
``minibatch_kmeans`` and ``nearest_centroid`` read them a block or a batch at
a time, never a copy of the whole, and give exactly what they give on the same
array in memory.

NumPy reports its allocations to tracemalloc, so the peak it traces during a
call bounds the memory the call took beside the map (whose pages belong to the
file, not to the process's anonymous memory)."""
import tracemalloc

import numpy as np
import pytest

from quantize import ParameterError
from quantize.core import minibatch_kmeans, nearest_centroid

N, D, K = 50_000, 256, 32  # 51 MB of float32
BATCH = 256


def write_map(path, dtype, n=N, d=D, seed=0):
    """A ``.npy`` of ``n x d`` points of ``dtype`` round ``K`` centres, written
    a block at a time, opened read-only memory-mapped."""
    rng = np.random.default_rng(seed)
    centres = rng.random((K, d), dtype=np.float32) * 100
    out = np.lib.format.open_memmap(path, mode="w+", dtype=dtype, shape=(n, d))
    for start in range(0, n, 10_000):
        stop = min(n, start + 10_000)
        block = centres[rng.integers(0, K, stop - start)]
        block += rng.random(block.shape, dtype=np.float32) * 20
        out[start:stop] = block.astype(dtype)
    out.flush()
    del out
    return np.load(path, mmap_mode="r")


def traced(fn):
    """``fn()`` and the peak bytes tracemalloc traced during it."""
    tracemalloc.start()
    try:
        result = fn()
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def assert_same(mapped, in_memory, fit=None):
    """Both functions give the same bits on the map (``fit``: the map's fit,
    when already made) and on the array in memory; the map's fit and labels."""
    fit = fit or minibatch_kmeans(mapped, K, batch_size=BATCH, max_iter=1, seed=0)
    again = minibatch_kmeans(in_memory, K, batch_size=BATCH, max_iter=1, seed=0)
    np.testing.assert_array_equal(fit.centroids, again.centroids)
    np.testing.assert_array_equal(fit.labels, again.labels)
    assert fit.distortion == again.distortion and fit.n_iter == again.n_iter
    labels, sq = nearest_centroid(mapped, fit.centroids)
    labels_mem, sq_mem = nearest_centroid(in_memory, fit.centroids)
    np.testing.assert_array_equal(labels, labels_mem)
    np.testing.assert_array_equal(sq, sq_mem)
    return fit, labels, sq


def test_float32_map_is_read_in_blocks(tmp_path):
    X = write_map(tmp_path / "x.npy", np.float32)
    assert isinstance(X, np.memmap) and not X.flags.writeable and X.nbytes == 51_200_000
    # Measured: 8.2 MB traced at the peak of the fit (the k-means++ subset of
    # 3 * 256 points in float64 and its products, the last labelling's blocks
    # of 2^18 coordinates in float64 and float32 for each of 2 workers, the
    # (n,) outputs) and 5.7 MB for nearest_centroid (its search blocks of
    # 2048 rows of 257 float64 and the (n,) outputs); a whole float32 copy
    # would be 51 MB, a float64 one 102 MB.  The bound is a fifth of the array.
    fit, peak_fit = traced(lambda: minibatch_kmeans(X, K, batch_size=BATCH, max_iter=1, seed=0))
    (labels, sq), peak_labels = traced(lambda: nearest_centroid(X, fit.centroids))
    assert peak_fit < X.nbytes / 5, peak_fit
    assert peak_labels < X.nbytes / 5, peak_labels
    assert labels.dtype == np.int32 and sq.dtype == np.float64 and labels.shape == sq.shape == (N,)
    # The last labelling and nearest_centroid agree, and every centre has its cluster.
    np.testing.assert_array_equal(labels, fit.labels)
    assert fit.distortion == pytest.approx(sq.mean(), rel=1e-9)
    assert len(np.unique(fit.labels)) == K


@pytest.mark.slow
@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.int16, np.uint16, np.float16])
def test_a_map_gives_what_memory_gives(tmp_path, dtype):
    X = write_map(tmp_path / "x.npy", dtype, n=20_000)
    fit, peak = traced(lambda: minibatch_kmeans(X, K, batch_size=BATCH, max_iter=1, seed=0))
    # No whole float64 (41 MB) or float32 (20 MB) copy: measured 7 to 8 MB.
    assert peak < 10_000_000, peak
    _, labels, _ = assert_same(X, np.load(tmp_path / "x.npy"), fit)
    np.testing.assert_array_equal(labels, fit.labels)


def test_not_finite_row_in_a_map_is_refused(tmp_path):
    path = tmp_path / "bad.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(5000, 8))
    out[:] = 1.0
    out[4321, 3] = np.nan
    out.flush()
    del out
    X = np.load(path, mmap_mode="r")
    with pytest.raises(ParameterError, match="finite"):
        minibatch_kmeans(X, 2, seed=0)
