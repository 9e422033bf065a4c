"""The k-means core, checked by hand, by its invariants, and against scikit-learn."""
import warnings

import numpy as np
import pytest
from sklearn.cluster import KMeans

from quantize import ParameterError, kmeans
from quantize.histogram import color_histogram
from quantize.imageio import read_image
from quantize.core import HISTORY_ROUNDING, HISTORY_ROUNDING_FLOAT32, layouts, lloyd, seeding

from conftest import spread


def test_toy_case_worked_by_hand():
    points = np.array([[0.0], [1.0], [10.0], [11.0]])
    res = kmeans(points, 2, init=[[0.0], [1.0]], tol=0)
    # Start: labels [0, 1, 1, 1], J0 = (0 + 0 + 81 + 100) / 4.
    # Iteration 1: centroids 0 and 22/3; labels [0, 0, 1, 1].
    # Iteration 2: centroids 0.5 and 10.5; labels unchanged, so it stops.
    c = 22 / 3
    expected = [181 / 4, (0 + 1 + (10 - c) ** 2 + (11 - c) ** 2) / 4, 0.25]
    np.testing.assert_allclose(res.history, expected)
    np.testing.assert_allclose(res.centroids.ravel(), [0.5, 10.5])
    assert res.labels.tolist() == [0, 0, 1, 1]
    assert res.distortion == pytest.approx(0.25)
    assert res.n_iter == 2 and res.converged


def test_weighted_equals_repeated(blobs):
    points, weights, _ = blobs
    start = points[[0, 1, 2]]  # a poor start: all three in the first blob
    weighted = kmeans(points, 3, weights=weights, init=start, tol=0)
    repeated = kmeans(np.repeat(points, weights, axis=0), 3, init=start, tol=0)
    np.testing.assert_allclose(weighted.centroids, repeated.centroids, rtol=1e-12)
    assert weighted.distortion == pytest.approx(repeated.distortion, rel=1e-12)
    np.testing.assert_array_equal(np.repeat(weighted.labels, weights), repeated.labels)
    np.testing.assert_allclose(weighted.history, repeated.history, rtol=1e-12)


def test_unit_and_scaled_weights_change_nothing(blobs):
    points, weights, _ = blobs
    start = points[[0, 50, 100]]
    plain = kmeans(points, 3, init=start)
    unit = kmeans(points, 3, weights=np.ones(len(points)), init=start)
    np.testing.assert_array_equal(plain.centroids, unit.centroids)
    a = kmeans(points, 3, weights=weights, init=start)
    b = kmeans(points, 3, weights=weights * 7.5, init=start)
    np.testing.assert_allclose(a.centroids, b.centroids, rtol=1e-12)
    assert a.distortion == pytest.approx(b.distortion, rel=1e-12)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_distortion_never_rises(init):
    rng = np.random.default_rng(1)
    points = rng.normal(size=(500, 3)) * [1, 5, 10]
    for seed in range(5):
        res = kmeans(points, 12, init=init, n_init=1, tol=0, seed=seed)
        assert (np.diff(res.history) <= HISTORY_ROUNDING * spread(points)).all()  # the documented bound
        assert res.distortion == res.history[-1]


def test_distortion_history_of_float32_points_keeps_its_bound(samples):
    """Float32 points are compared in float32: the documented, looser bound."""
    colors, counts = _sample_colours(samples, "chelsea.jpg")
    for seed in range(3):
        res = kmeans(colors.astype(np.float32), 32, weights=counts, tol=0, seed=seed)
        assert (np.diff(res.history) <= HISTORY_ROUNDING_FLOAT32 * spread(colors, counts)).all()


def test_more_restarts_or_iterations_never_worse():
    rng = np.random.default_rng(2)
    points = rng.uniform(0, 255, size=(800, 3))
    for seed in range(3):
        one = kmeans(points, 16, n_init=1, seed=seed, init="random")
        many = kmeans(points, 16, n_init=6, seed=seed, init="random")
        assert many.distortion <= one.distortion
        short = kmeans(points, 16, max_iter=2, seed=seed)
        long = kmeans(points, 16, max_iter=100, seed=seed)
        assert long.distortion <= short.distortion


def test_same_seed_same_result_and_seed_matters():
    points = np.random.default_rng(3).uniform(size=(300, 4))
    a = kmeans(points, 8, seed=42)
    b = kmeans(points, 8, seed=42)
    np.testing.assert_array_equal(a.centroids, b.centroids)
    np.testing.assert_array_equal(a.labels, b.labels)
    others = [kmeans(points, 8, seed=s).centroids for s in range(1, 4)]
    assert any(not np.array_equal(a.centroids, c) for c in others)


def test_empty_cluster_is_reseeded(blobs):
    points, weights, centres = blobs
    # Centroid 2 is far from every point: no point picks it in the first assignment.
    start = np.array([[0.0, 0.0], [20.0, 0.0], [1e4, 1e4]])
    res = kmeans(points, 3, weights=weights, init=start)
    assert np.isfinite(res.centroids).all()
    assert (np.bincount(res.labels, minlength=3) > 0).all()
    found = sorted(map(tuple, np.round(res.centroids)))
    assert found == sorted(map(tuple, centres))


def test_empty_clusters_with_too_few_distinct_points_warn():
    points = np.array([[0.0, 0.0]] * 5 + [[1.0, 1.0]] * 5)
    with pytest.warns(RuntimeWarning, match="fewer distinct points"):
        res = kmeans(points, 3, init=[[0.0, 0.0], [1.0, 1.0], [5.0, 5.0]])
    assert res.distortion == 0.0
    assert np.isfinite(res.centroids).all()


def test_k_one_is_the_weighted_mean(blobs):
    points, weights, _ = blobs
    res = kmeans(points, 1, weights=weights)
    mean = np.average(points, axis=0, weights=weights)
    np.testing.assert_allclose(res.centroids[0], mean)
    expected = np.average(((points - mean) ** 2).sum(1), weights=weights)
    assert res.distortion == pytest.approx(expected)


@pytest.mark.parametrize("init", ["k-means++", "random"])
def test_k_equal_to_number_of_points_is_exact(init):
    points = np.random.default_rng(4).uniform(size=(20, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = kmeans(points, 20, init=init, n_init=1, seed=0)
    assert res.distortion == pytest.approx(0.0, abs=1e-12)
    assert sorted(res.labels.tolist()) == list(range(20))


def test_starting_from_converged_centroids_changes_nothing(blobs):
    points, weights, _ = blobs
    first = kmeans(points, 3, weights=weights, seed=0, tol=0)
    again = kmeans(points, 3, weights=weights, init=first.centroids, tol=0)
    np.testing.assert_allclose(again.centroids, first.centroids)
    assert again.n_iter == 1 and again.converged


def test_float32_agrees_with_float64(blobs):
    points, weights, _ = blobs
    a = kmeans(points, 3, weights=weights, seed=5)
    b = kmeans(points.astype(np.float32), 3, weights=weights, seed=5)
    np.testing.assert_allclose(a.centroids, b.centroids, rtol=1e-5)
    assert a.distortion == pytest.approx(b.distortion, rel=1e-5)


def test_inputs_are_not_modified(blobs):
    points, weights, _ = blobs
    start = points[:3].copy()
    copies = points.copy(), weights.copy(), start.copy()
    kmeans(points, 3, weights=weights, init=start)
    for before, after in zip(copies, (points, weights, start)):
        np.testing.assert_array_equal(before, after)


def test_clusters_any_dimension():
    rng = np.random.default_rng(6)
    centres = rng.uniform(-100, 100, size=(4, 64))
    points = np.concatenate([c + rng.normal(size=(30, 64)) for c in centres])
    res = kmeans(points, 4, n_init=3, seed=0)
    # Each centroid is the mean of 30 points with unit noise: about sqrt(64/30) away.
    for c in centres:
        assert np.min(np.linalg.norm(res.centroids - c, axis=1)) < 3.0


def test_progress_callback_reports_every_iteration_and_can_cancel():
    from quantize import Cancelled

    points = np.random.default_rng(8).uniform(size=(200, 3))
    calls = []
    kmeans(points, 5, n_init=2, max_iter=50, seed=0, on_progress=calls.append)
    assert all(b >= a for a, b in zip(calls, calls[1:])) and calls[-1] == 1.0
    assert 0.5 in calls  # the end of the first run of two
    first_run = [f for f in calls if f < 0.5]
    assert first_run == [i / 50 / 2 for i in range(1, len(first_run) + 1)]  # one call per iteration
    with pytest.raises(Cancelled):
        kmeans(points, 5, n_init=2, seed=0, on_progress=lambda fraction: fraction < 0.5)


def _sample_colours(samples, name="coffee.jpg"):
    hist = color_histogram(read_image(samples / name)[:, :, :3])
    return hist.colors.astype(np.float64), hist.counts


@pytest.mark.slow
@pytest.mark.parametrize("name", ["coffee.jpg", "chelsea.jpg"])
@pytest.mark.parametrize("k", [4, 16, 64])
def test_matches_scikit_learn_from_the_same_start(samples, name, k):
    """The same method from the same start: the same labels and the same
    distortion up to float64 rounding.  The start is sample colours moved by
    up to half a unit, so that no colour is exactly as far from two starting
    centroids (integer colours and integer centroids tie often, and the two
    implementations may break a tie differently, after which the runs follow
    different paths to different local optima)."""
    colors, counts = _sample_colours(samples, name)
    rng = np.random.default_rng(k)
    start = colors[rng.choice(len(colors), k, replace=False)] + rng.uniform(-0.5, 0.5, (k, 3))
    ours = kmeans(colors, k, weights=counts, init=start, tol=0, max_iter=1000)
    theirs = KMeans(n_clusters=k, init=start, n_init=1, tol=0, max_iter=1000, algorithm="lloyd").fit(
        colors, sample_weight=counts
    )
    np.testing.assert_array_equal(ours.labels, theirs.labels_)
    assert ours.distortion == pytest.approx(theirs.inertia_ / counts.sum(), rel=1e-9)
    np.testing.assert_allclose(ours.centroids, theirs.cluster_centers_, rtol=0, atol=1e-6)


def test_kmeans_plus_plus_is_as_good_as_scikit_learns(samples):
    colors, counts = _sample_colours(samples, "astronaut.jpg")
    ours = [kmeans(colors, 16, weights=counts, seed=s).distortion for s in range(4)]
    theirs = [
        KMeans(16, n_init=1, random_state=s).fit(colors, sample_weight=counts).inertia_ / counts.sum()
        for s in range(4)
    ]
    assert np.median(ours) <= 1.02 * np.median(theirs)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"k": 0}, "k must be an integer from 1"),
        ({"k": 11}, "k must be an integer from 1"),
        ({"k": 2.5}, "k must be an integer"),
        ({"k": True}, "k must be an integer"),
        ({"init": "median-cut"}, "init must be one of"),
        ({"init": np.zeros((3, 2))}, r"init array must be finite with shape \(2, 2\)"),
        ({"n_init": 0}, "n_init must be"),
        ({"tol": -1.0}, "tol must be a number >= 0"),
        ({"max_iter": 0}, "max_iter must be an integer >= 1"),
        ({"weights": np.ones(3)}, r"weights must have shape \(10,\)"),
        ({"weights": -np.ones(10)}, "non-negative"),
        ({"weights": np.r_[1.0, np.zeros(9)]}, "positive weight"),
    ],
)
def test_bad_parameters_raise(kwargs, match):
    args = {"k": 2, **kwargs}
    points = np.arange(20.0).reshape(10, 2)
    with pytest.raises(ParameterError, match=match):
        kmeans(points, args.pop("k"), **args)


@pytest.mark.parametrize(
    "points, match",
    [
        (np.arange(5.0), "2-D array"),
        (np.zeros((0, 3)), "2-D array"),
        (np.array([[1.0, np.nan]]), "finite"),
        (np.array([["a", "b"]]), "real numbers"),
    ],
)
def test_bad_points_raise(points, match):
    with pytest.raises(ValueError, match=match):
        kmeans(points, 1)


def plain_lloyd(points, weights, centroids, n_iter):
    """A brute-force reference: n_iter rounds of move-then-assign, no bounds."""
    def assign(c):
        d = ((points[:, None, :] - c[None]) ** 2).sum(-1)
        return d.argmin(1), d.min(1)

    labels, sq = assign(centroids)
    for _ in range(n_iter):
        centroids = np.array([
            np.average(points[labels == j], axis=0, weights=weights[labels == j])
            for j in range(len(centroids))
        ])
        labels, sq = assign(centroids)
    return centroids, labels, np.average(sq, weights=weights)


@pytest.mark.parametrize("n_iter", [1, 2, 5, 20])
def test_bounds_skip_work_but_not_results(n_iter):
    """Hamerly's bounds must give exactly the labels of brute-force Lloyd."""
    rng = np.random.default_rng(n_iter)
    points = rng.uniform(0, 255, size=(3000, 3))
    weights = rng.integers(1, 9, size=3000).astype(float)
    start = points[:32].copy()
    ours = kmeans(points, 32, weights=weights, init=start, tol=0, max_iter=n_iter)
    centroids, labels, distortion = plain_lloyd(points, weights, start, ours.n_iter)
    np.testing.assert_array_equal(ours.labels, labels)
    np.testing.assert_allclose(ours.centroids, centroids, rtol=1e-10)
    assert ours.distortion == pytest.approx(distortion, rel=1e-10)


def straightforward_kmeans(points, k, weights, seed, tol=1e-4, max_iter=300):
    """A reference for :func:`kmeans` with k-means++ and one run: the same steps
    and the same arithmetic (products ``x.c - c^2/2`` in the points' precision,
    float64 sums updated by the points that switch), but every distance computed
    at every step, as in a textbook: no bounds, no spatial index."""
    X = np.asarray(points, dtype=np.float64)
    dtype = np.float32 if points.dtype == np.float32 else np.float64
    w = np.asarray(weights, dtype=np.float64)
    mean = (w @ X) / w.sum()
    X = X - mean
    x_sq = np.einsum("ij,ij->i", X, X)
    Xa = np.hstack([X, np.ones((len(X), 1))]).astype(dtype)
    rng = np.random.default_rng(seed)
    n, d = X.shape

    # Greedy k-means++, every candidate against every point.
    n_trials = 2 + int(np.log(k))
    centroids = np.empty((k, d))
    centroids[0] = X[rng.choice(n, p=w / w.sum())]
    closest = np.maximum(x_sq - 2.0 * (X @ centroids[0]) + centroids[0] @ centroids[0], 0.0)
    potential = float(w @ closest)
    for c in range(1, k):
        if potential <= 0:
            centroids[c] = X[rng.choice(np.flatnonzero(w > 0))]
            continue
        cumulative = np.cumsum(w * closest)
        targets = rng.random(n_trials) * cumulative[-1]
        candidates = np.minimum(np.searchsorted(cumulative, targets, side="right"), n - 1)
        cand = X[candidates]
        cand_aug = np.hstack([cand, -0.5 * np.einsum("ij,ij->i", cand, cand)[:, None]])
        trial = x_sq - 2.0 * (cand_aug.astype(dtype) @ Xa.T)
        trial = np.maximum(np.minimum(trial, closest), 0.0)
        potentials = trial @ w
        best = int(np.argmin(potentials))
        centroids[c], closest, potential = cand[best], trial[best], float(potentials[best])

    def assign(centroids):
        c_aug = np.hstack([centroids, -0.5 * np.einsum("ij,ij->i", centroids, centroids)[:, None]])
        scores = Xa @ c_aug.T.astype(dtype)
        labels = scores.argmax(axis=1)
        return labels, np.maximum(x_sq - 2.0 * scores[np.arange(n), labels].astype(np.float64), 0.0)

    def cluster_sums(labels, w, X):
        sums = [np.bincount(labels, weights=col, minlength=k) for col in (X * w[:, None]).T]
        members, mass = np.bincount(labels[w > 0], minlength=k), np.bincount(labels, weights=w, minlength=k)
        return members, mass, np.stack(sums, axis=1)

    def cost(mass, sums, centroids):
        cross = np.einsum("ij,ij->", centroids, sums)
        own = mass @ np.einsum("ij,ij->i", centroids, centroids)
        return max(float(w @ x_sq) - 2.0 * cross + own, 0.0) / w.sum()

    labels, sq = assign(centroids)
    members, mass, sums = cluster_sums(labels, w, X)
    history = [float(w @ sq) / w.sum()]
    for iteration in range(1, max_iter + 1):
        moved = centroids.copy()
        filled = members > 0
        moved[filled] = sums[filled] / mass[filled, None]
        empty = np.flatnonzero(~filled)
        if empty.size:  # re-seeded with the points served worst
            badness = np.where(w > 0, ((X - centroids[labels]) ** 2).sum(axis=1), -1.0)
            moved[empty] = X[np.argsort(badness, kind="stable")[::-1][: empty.size]]
        centroids = moved
        new_labels, _ = assign(centroids)
        points = np.flatnonzero(new_labels != labels)
        for sign, side in ((-1, labels[points]), (1, new_labels[points])):
            delta = cluster_sums(side, w[points], X[points])
            members, mass, sums = members + sign * delta[0], mass + sign * delta[1], sums + sign * delta[2]
        labels[points] = new_labels[points]
        history.append(cost(mass, sums, centroids))
        if points.size == 0 or history[-2] - history[-1] <= tol * history[-2]:
            break
    return centroids + mean, labels, np.array(history[:-1]), iteration


@pytest.mark.slow
@pytest.mark.parametrize("name, k, dtype", [
    ("chelsea.jpg", 16, np.float32),
    ("chelsea.jpg", 64, np.float32),
    ("coffee.jpg", 200, np.float32),
    ("chelsea.jpg", 150, np.float64),
])
def test_same_result_as_the_straightforward_algorithm(samples, name, k, dtype, monkeypatch):
    """The bounds of the Lloyd steps and the spatial index of the seeding (used
    from k = 64 on, here on any number of points) skip work, never change a
    decision: labels, centroids and the distortion history are those of
    computing every distance, to the bit, rounding of the float32 products
    included."""
    monkeypatch.setattr(seeding, "_SEED_SPARSE_N", 0)
    colors, counts = _sample_colours(samples, name)
    points = colors.astype(dtype)
    for seed in (0, 1):
        ours = kmeans(points, k, weights=counts, seed=seed)
        centroids, labels, history, n_iter = straightforward_kmeans(points, k, counts, seed)
        assert ours.n_iter == n_iter
        np.testing.assert_array_equal(ours.labels, labels)
        np.testing.assert_array_equal(ours.centroids, centroids)
        np.testing.assert_array_equal(ours.history[:-1], history)  # the last entry is recomputed exactly


@pytest.mark.parametrize("k", [1, 2, 3, 16, 100])
def test_search_gives_each_point_the_same_answer_in_any_company(k):
    """The assignment step of the bounded Lloyd iterations searches a few points
    at a time; each must get what it gets among all points (BLAS computes an
    element of a matrix product alike whatever the other rows; one row alone
    would go through another routine, so it is never searched alone)."""
    rng = np.random.default_rng(k)
    X = rng.integers(0, 256, size=(3000, 3)).astype(np.float64)
    X -= X.mean(axis=0)
    Xa = np.hstack([X, np.ones((len(X), 1))]).astype(np.float32)
    x_sq = np.einsum("ij,ij->i", X, X)
    centroids = X[rng.choice(len(X), k, replace=False)] + rng.uniform(-0.5, 0.5, (k, 3))
    every = lloyd._search(Xa, x_sq, centroids)
    for size in (1, 2, 3, 700):
        some = np.sort(rng.choice(len(X), size, replace=False))
        labels, runner, sq = lloyd._search(Xa[some], x_sq[some], centroids)
        np.testing.assert_array_equal(labels, every[0][some])
        np.testing.assert_array_equal(runner, every[1][some])
        np.testing.assert_array_equal(sq, every[2][:, some])


def test_seeding_shortcuts_fall_back_to_the_same_choices(samples, monkeypatch):
    """Where rounding could sway them, the seeding's shortcuts (candidates drawn
    from sums by blocks, compared by their gains alone) fall back on the full
    sums.  With all the room in the world they fall back every time, and the
    result is the same."""
    monkeypatch.setattr(seeding, "_SEED_SPARSE_N", 0)
    colors, counts = _sample_colours(samples, "chelsea.jpg")
    points = colors.astype(np.float32)
    usual = kmeans(points, 140, weights=counts, seed=3, max_iter=1)
    monkeypatch.setattr(seeding, "_SUM_SLACK", 1e12)
    cautious = kmeans(points, 140, weights=counts, seed=3, max_iter=1)
    np.testing.assert_array_equal(usual.centroids, cautious.centroids)
    centroids, _, _, _ = straightforward_kmeans(points, 140, counts, 3, max_iter=1)
    np.testing.assert_array_equal(usual.centroids, centroids)


def test_many_dimensions_give_the_labels_of_brute_force_lloyd():
    """From d = _ROW_LAYOUT_D on, the points are kept as rows in their own
    precision and the pair distances computed as ``x^2 - 2 x.c + c^2``; the
    bounds still only skip work.  In float64 the products err by ~1e-13 of the
    distances, far below the gaps between them here, so the labels are those
    of brute-force Lloyd and the centroids agree to rounding."""
    rng = np.random.default_rng(11)
    d = 50
    assert d >= layouts.ROW_LAYOUT_D
    centres = rng.normal(size=(12, d)) * 3
    points = centres[rng.integers(0, 12, 2500)] + rng.normal(size=(2500, d))
    weights = rng.integers(1, 5, 2500).astype(float)
    start = points[:20].copy()
    for n_iter in (1, 3, 30):
        ours = kmeans(points, 20, weights=weights, init=start, tol=0, max_iter=n_iter)
        centroids, labels, distortion = plain_lloyd(points, weights, start, ours.n_iter)
        np.testing.assert_array_equal(ours.labels, labels)
        np.testing.assert_allclose(ours.centroids, centroids, rtol=1e-10, atol=1e-12)
        assert ours.distortion == pytest.approx(distortion, rel=1e-10)


def test_many_dimensions_float32_follow_float64():
    """Float32 vectors in 784-D (products in float32) from the same start: the
    same clusters, and the distortion within 1e-5 (measured 1e-7)."""
    rng = np.random.default_rng(12)
    centres = rng.uniform(0, 1, size=(8, 784))
    points = np.clip(centres[rng.integers(0, 8, 1500)] + rng.normal(0, 0.2, size=(1500, 784)), 0, 1)
    start = points[rng.choice(1500, 8, replace=False)]
    a = kmeans(points, 8, init=start)
    b = kmeans(points.astype(np.float32), 8, init=start)
    np.testing.assert_array_equal(a.labels, b.labels)
    assert b.distortion == pytest.approx(a.distortion, rel=1e-5)


def test_many_dimensions_use_little_memory():
    """The row layout copies float32 points once, as ``[x - mean, 1]`` in
    float32, and does everything else in blocks: the peak of NumPy's memory
    traced during kmeans is 1.0 times the points for that copy, plus blocks
    of _ROW_ELEMENTS float64 numbers (8 MiB each) and O(n + k d) arrays; the
    bound is 1.6 times the points (measured 1.4; the float64 columns of the
    old layout took 9 times)."""
    import tracemalloc

    points = np.random.default_rng(13).random((20000, 784), dtype=np.float32)
    tracemalloc.start()
    try:
        kmeans(points, 16, seed=0, max_iter=3)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1.6 * points.nbytes


def test_quantize_kmeans_is_the_function_for_users():
    """``quantize.kmeans`` is the core's function, however the package was
    imported (no module of that name shadows it any more)."""
    import quantize
    import quantize.core

    assert quantize.kmeans is quantize.core.kmeans is kmeans
    assert callable(quantize.kmeans) and quantize.KMeansOptions is __import__("quantize.options").options.KMeansOptions
