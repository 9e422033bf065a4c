"""The k-means core: weighted Lloyd iterations on any ``(n, d)`` array of points.

Three layers, as in scikit-learn: :func:`kmeans` validates its arguments and runs
the restarts; :func:`_init_centroids` picks starting centroids; :func:`_lloyd` is
one run that assumes its input was checked.  Nothing here prints: progress goes
up through the ``on_progress`` callback.

The stop rule is the classic one, made relative so that it does not depend on
the data's scale: a run stops after the iteration in which the distortion ``J``
fell by no more than ``tol * J_previous`` (the classic absolute threshold
``epsilon`` is ``tol * J``), when no label changed, or at ``max_iter``.
"""
from __future__ import annotations

import numbers
import warnings
from dataclasses import dataclass, replace
import numpy as np

from .errors import ParameterError
from .progress import ProgressCallback, notify

INITS = ("k-means++", "random")

# The most a step of KMeansResult.history may rise by rounding, as a multiple of
# the points' weighted mean squared distance from their weighted mean.
HISTORY_ROUNDING = 1e-14
HISTORY_ROUNDING_FLOAT32 = 1e-6

# Rows of points per block in the assignment step, so that the (rows, k)
# distance block stays near 2 MiB whatever n is.
_BLOCK_ELEMENTS = 1 << 18


@dataclass(frozen=True)
class KMeansResult:
    """The best run of :func:`kmeans`.

    Attributes
    ----------
    centroids : (k, d) float64
        The cluster centres; every cluster has at least one point when the data
        has at least ``k`` distinct points.
    labels : (n,) int32
        Index of the centroid nearest to each point (the final assignment step
        is done with the returned centroids, so the two always agree).
    distortion : float
        Weighted mean of squared Euclidean distances from each point to its
        centroid (the cost ``J``).
    n_iter : int
        Iterations (move-centroids step then assignment step) the run made.
    converged : bool
        True when the run met the stop rule before ``max_iter``.
    history : (n_iter + 1,) float64
        ``history[0]`` is the distortion of the initial centroids and
        ``history[i]`` the distortion after iteration ``i``.  It never rises
        but by rounding: a step up is at most ``HISTORY_ROUNDING`` times ``s``,
        the weighted mean squared distance of the points from their weighted
        mean (``HISTORY_ROUNDING_FLOAT32`` for float32 points, whose distances
        are compared in float32).  The entries are computed from cluster sums,
        ``sum w|x|^2 - 2 c.S + m|c|^2``, which cancel as the distortion falls
        far below ``s``; rises seen in tests are below ``1e-17 s``.
    """

    centroids: np.ndarray
    labels: np.ndarray
    distortion: float
    n_iter: int
    converged: bool
    history: np.ndarray


def kmeans(
    points,
    k: int,
    *,
    weights=None,
    init="k-means++",
    n_init="auto",
    tol: float = 1e-4,
    max_iter: int = 300,
    seed=None,
    on_progress: ProgressCallback | None = None,
) -> KMeansResult:
    """Cluster ``points`` into ``k`` clusters with (weighted) k-means.

    Parameters
    ----------
    points : (n, d) array_like of real numbers
        The points; any dimension ``d``, not only colours.  Never modified.
        Distances are computed in float32 when ``points`` is float32 (faster,
        as precise as the data), otherwise in float64.
    k : int
        Number of clusters, 1 to ``n``.
    weights : (n,) array_like, optional
        Non-negative weight of each point (e.g. the pixel count of each unique
        colour); at least ``k`` must be positive.  Weighted k-means on unique
        points equals k-means on the points repeated ``weights`` times.
        Default: all ones.
    init : {"k-means++", "random"} or (k, d) array_like
        "random" picks ``k`` distinct points, each with probability
        proportional to its weight (the classic method).  "k-means++" is the
        greedy, weighted k-means++ of Arthur & Vassilvitskii (2007) with
        ``2 + ln k`` candidates per centroid, as in scikit-learn.  An array is
        used as the starting centroids.  Default "k-means++".
    n_init : int or "auto"
        Runs from different starts; the one of least distortion is returned.
        "auto" is 1 for "k-means++" or an array and 10 for "random".
    tol : float
        Relative stop threshold, >= 0 (default 1e-4): a run stops when an
        iteration lowers the distortion by no more than ``tol`` times its
        previous value.
    max_iter : int
        Iteration limit of one run, >= 1 (default 300).
    seed : None, int or numpy.random.Generator
        Seed of the one generator used for every random choice.  The same seed
        and input give the same result.
    on_progress : callable(fraction) -> bool or None, optional
        Called after every iteration with the fraction of the work done:
        ``(run + iteration / max_iter) / n_init``, then ``(run + 1) / n_init``
        when a run ends; never decreasing.  Returning ``False`` stops the work
        with :class:`quantize.Cancelled` (see :mod:`quantize.progress`).

    Returns
    -------
    KMeansResult

    Raises
    ------
    ParameterError
        (a ``ValueError``) when an argument is out of range.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> res = kmeans(pts, 2, init=np.array([[0.0], [1.0]]))
    >>> res.centroids.ravel().tolist(), res.labels.tolist(), res.distortion
    ([0.5, 10.5], [0, 0, 1, 1], 0.25)
    """
    X, w, k, start, n_init, tol, max_iter, dtype = _validate(
        points, k, weights, init, n_init, tol, max_iter
    )
    rng = np.random.default_rng(seed)
    # Centre the points on their weighted mean: distances do not change, and
    # the sums the distortion is computed from lose less to rounding.
    mean = (w @ X) / w.sum()
    X = X - mean
    x_sq = np.einsum("ij,ij->i", X, X)
    Xa = _augment(X).astype(dtype, copy=False)
    best = None
    for run in range(n_init):
        centroids = start - mean if start is not None else _init_centroids(X, Xa, w, x_sq, k, init, rng)
        report = None if on_progress is None else (
            lambda it, run=run: notify(on_progress, (run + it / max_iter) / n_init))
        result = _lloyd(X, Xa, w, x_sq, centroids, tol, max_iter, report)
        notify(on_progress, (run + 1) / n_init)
        if best is None or result.distortion < best.distortion:
            best = result
    return replace(best, centroids=best.centroids + mean)


def _validate(points, k, weights, init, n_init, tol, max_iter):
    X = np.asarray(points)
    if X.dtype.kind not in "biuf":
        raise ParameterError(f"points must be real numbers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ParameterError(f"points must be a non-empty 2-D array (n, d), got shape {X.shape}")
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    X = X.astype(np.float64, copy=False)
    if not np.isfinite(X).all():
        raise ParameterError("points must be finite (no NaN or infinity)")
    n, d = X.shape
    if not _is_int(k) or not 1 <= k <= n:
        raise ParameterError(f"k must be an integer from 1 to the number of points ({n}), got {k!r}")
    k = int(k)
    if weights is None:
        w = np.ones(n)
    else:
        w = np.asarray(weights, dtype=np.float64)
        if w.shape != (n,):
            raise ParameterError(f"weights must have shape ({n},), got {w.shape}")
        if not np.isfinite(w).all() or (w < 0).any():
            raise ParameterError("weights must be finite and non-negative")
        positive = int(np.count_nonzero(w))
        if positive < k:
            raise ParameterError(f"k={k} exceeds the number of points with positive weight ({positive})")
    start = None
    if isinstance(init, str):
        if init not in INITS:
            raise ParameterError(f"init must be one of {', '.join(INITS)} or an array, got {init!r}")
    else:
        start = np.array(init, dtype=np.float64)
        if start.shape != (k, d) or not np.isfinite(start).all():
            raise ParameterError(f"init array must be finite with shape ({k}, {d}), got {start.shape}")
    if n_init == "auto":
        n_init = auto_n_init(init)
    elif not _is_int(n_init) or n_init < 1:
        raise ParameterError(f"n_init must be 'auto' or an integer >= 1, got {n_init!r}")
    if start is not None:
        n_init = 1  # every run would start from the same centroids
    if not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ParameterError(f"tol must be a number >= 0, got {tol!r}")
    if not _is_int(max_iter) or max_iter < 1:
        raise ParameterError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    return X, w, k, start, int(n_init), float(tol), int(max_iter), dtype


def auto_n_init(init) -> int:
    """The runs ``n_init="auto"`` means: 10 for "random", 1 for "k-means++" or an array."""
    return 10 if isinstance(init, str) and init == "random" else 1


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _sq_distances(X, x_sq, centroids):
    """Squared distances, ``(m, k)`` float64, from each point to each centroid."""
    dist = X @ centroids.T
    dist *= -2.0
    dist += np.einsum("ij,ij->i", centroids, centroids)
    dist += x_sq[:, None]
    return np.maximum(dist, 0.0, out=dist)


def nearest_centroid(points, centroids):
    """The assignment step on its own, for callers outside the core.

    ``points (n, d)`` and ``centroids (k, d)`` of real numbers; returns
    ``labels (n,) int32`` (ties go to the lower index) and ``sq_dist (n,) float64``.
    """
    X = np.asarray(points, dtype=np.float64)
    labels, sq_dist, _ = _assign(_augment(X), np.einsum("ij,ij->i", X, X), np.asarray(centroids, dtype=np.float64))
    return labels, sq_dist


def _augment(X):
    """``[X, 1]``, ``(n, d + 1)``: with :func:`_assign` one matrix product gives
    ``x . c - |c|^2 / 2``, whose largest value over ``c`` is the nearest centroid."""
    return np.hstack([X, np.ones((len(X), 1))])


def _assign(Xa, x_sq, centroids, second=False):
    """The assignment step, in blocks of rows of the augmented points ``Xa``.

    Returns ``labels (n,) int32`` and ``sq_dist (n,) float64``, and with
    ``second`` also the squared distance to the second-nearest centroid
    (infinity when k is 1), which the bounds of :func:`_lloyd` need.
    """
    n, k = Xa.shape[0], len(centroids)
    c_aug = np.hstack([centroids, -0.5 * np.einsum("ij,ij->i", centroids, centroids)[:, None]])
    c_aug = np.ascontiguousarray(c_aug.T, dtype=Xa.dtype)
    labels = np.empty(n, dtype=np.int32)
    best = np.empty(n, dtype=np.float64)
    runner_up = np.full(n, -np.inf) if second else None
    step = max(1, _BLOCK_ELEMENTS // k)
    for start in range(0, n, step):
        stop = min(start + step, n)
        scores = Xa[start:stop] @ c_aug
        rows = np.arange(stop - start)
        block_labels = scores.argmax(axis=1)
        labels[start:stop] = block_labels
        best[start:stop] = scores[rows, block_labels]
        if second and k > 1:
            scores[rows, block_labels] = -np.inf
            runner_up[start:stop] = scores.max(axis=1)
    sq_dist = np.maximum(x_sq - 2.0 * best, 0.0)
    second_sq = np.maximum(x_sq - 2.0 * runner_up, 0.0) if second else None
    return labels, sq_dist, second_sq


def _sq_to_own(X, own):
    """Exact squared distances ``(n,)`` between matching rows of two ``(n, d)`` arrays."""
    diff = X - own
    return np.einsum("ij,ij->i", diff, diff)


def _half_gaps(centroids):
    """Half the distance from each centroid to its nearest other centroid, ``(k,)``."""
    if len(centroids) == 1:
        return np.full(1, np.inf)
    c_sq = np.einsum("ij,ij->i", centroids, centroids)
    gaps = _sq_distances(centroids, c_sq, centroids)
    np.fill_diagonal(gaps, np.inf)
    return 0.5 * np.sqrt(gaps.min(axis=1))


def _cluster_sums(labels, w, w_cols, k):
    """Points of positive weight ``members (k,) int``, weight ``mass (k,)`` and
    weighted coordinate sums ``(k, d)`` of each cluster.

    ``w_cols (d, n)`` holds the weighted coordinates column by column, so each
    ``np.bincount`` reads contiguous memory.
    """
    members = np.bincount(labels[w > 0], minlength=k)
    mass = np.bincount(labels, weights=w, minlength=k)
    sums = np.stack([np.bincount(labels, weights=col, minlength=k) for col in w_cols], axis=1)
    return members, mass, sums


def _distortion(weighted_sq_sum, w_sum, mass, sums, centroids):
    """Distortion of the labels behind ``mass`` and ``sums`` with ``centroids``.

    ``sum_i w_i |x_i - c_j|^2 = sum_i w_i |x_i|^2 - 2 c_j . S_j + m_j |c_j|^2``
    summed over clusters j: O(k d) instead of O(n d).
    """
    cross = np.einsum("ij,ij->", centroids, sums)
    own = mass @ np.einsum("ij,ij->i", centroids, centroids)
    return max(weighted_sq_sum - 2.0 * cross + own, 0.0) / w_sum


def _move_centroids(X, w, labels, members, mass, sums, centroids):
    """The move-centroid step: each centroid becomes the weighted mean of its points.

    A cluster left with no weight is re-seeded with the point served worst
    (largest squared distance to its centroid, among points of positive weight),
    as libimagequant and scikit-learn do, so no cluster stays empty.
    """
    new = centroids.copy()
    filled = members > 0
    new[filled] = sums[filled] / mass[filled, None]
    empty = np.flatnonzero(~filled)
    if empty.size:
        badness = np.where(w > 0, _sq_to_own(X, centroids[labels]), -1.0)
        worst = np.argsort(badness, kind="stable")[::-1][: empty.size]
        if badness[worst[-1]] <= 0:
            warnings.warn(
                "fewer distinct points than clusters: some clusters stay empty",
                RuntimeWarning,
                stacklevel=4,
            )
        new[empty] = X[worst]
    return new


def _lloyd(X, Xa, w, x_sq, centroids, tol, max_iter, report):
    """One k-means run from ``centroids``; assumes validated, centred input.

    Lloyd's algorithm with Hamerly's two bounds (Hamerly 2010): for each point
    an upper bound on the distance to its centroid and a lower bound on the
    distance to any other.  A point whose upper bound is below both its lower
    bound and half the gap from its centroid to the nearest other centroid
    cannot change cluster, so the assignment step skips it.  The labels are
    exactly those of plain Lloyd; only the work differs.

    ``Xa`` is ``[X, 1]`` in the precision of the distance products (float32
    for float32 input, as scikit-learn keeps the input's precision); sums,
    centroids and the distortion are always float64.
    """
    k = len(centroids)
    w_cols = np.ascontiguousarray((X * w[:, None]).T)
    w_sum, weighted_sq_sum = w.sum(), float(w @ x_sq)
    labels, sq_dist, second_sq = _assign(Xa, x_sq, centroids, second=True)
    upper, lower = np.sqrt(sq_dist), np.sqrt(second_sq)
    members, mass, sums = _cluster_sums(labels, w, w_cols, k)
    distortion = float(w @ sq_dist) / w_sum
    history = [distortion]
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):
        moved = _move_centroids(X, w, labels, members, mass, sums, centroids)
        shift = np.sqrt(_sq_to_own(moved, centroids))
        centroids = moved
        upper += shift[labels]
        lower -= shift.max()
        bound = np.maximum(_half_gaps(centroids)[labels], lower)
        check = np.flatnonzero(upper > bound)
        if check.size:  # tighten the upper bound, then look again
            upper[check] = np.sqrt(_sq_to_own(X[check], centroids[labels[check]]))
            check = check[upper[check] > bound[check]]
        changed = False
        if check.size:
            new_labels, new_sq, new_second = _assign(Xa[check], x_sq[check], centroids, second=True)
            upper[check], lower[check] = np.sqrt(new_sq), np.sqrt(new_second)
            switched = new_labels != labels[check]
            if switched.any():
                changed = True
                points = check[switched]
                # Move the switched points' weight and sums between clusters.
                for sign, side in ((-1, labels[points]), (1, new_labels[switched])):
                    members_delta, mass_delta, sums_delta = _cluster_sums(side, w[points], w_cols[:, points], k)
                    members += sign * members_delta
                    mass += sign * mass_delta
                    sums += sign * sums_delta
                labels[points] = new_labels[switched]
        new_distortion = _distortion(weighted_sq_sum, w_sum, mass, sums, centroids)
        history.append(new_distortion)
        if report is not None:
            report(iteration)
        converged = not changed or distortion - new_distortion <= tol * distortion
        distortion = new_distortion
        if converged:
            break
    distortion = float(w @ _sq_to_own(X, centroids[labels]) / w_sum)  # exact, once
    history[-1] = distortion
    return KMeansResult(
        centroids=centroids,
        labels=labels,
        distortion=distortion,
        n_iter=iteration,
        converged=converged,
        history=np.array(history),
    )


def _init_centroids(X, Xa, w, x_sq, k, init, rng):
    """Starting centroids, ``(k, d)`` float64, by the named method."""
    if init == "random":
        chosen = rng.choice(len(X), size=k, replace=False, p=w / w.sum())
        return X[chosen].copy()
    return _kmeans_plus_plus(X, Xa, w, x_sq, k, rng)


def _kmeans_plus_plus(X, Xa, w, x_sq, k, rng):
    """Greedy weighted k-means++: each new centroid is the best of a few
    candidates drawn with probability proportional to weight times squared
    distance to the nearest centroid chosen so far."""
    n, d = X.shape
    n_trials = 2 + int(np.log(k))
    centroids = np.empty((k, d))
    first = rng.choice(n, p=w / w.sum())
    centroids[0] = X[first]
    closest = _sq_distances(X, x_sq, centroids[:1])[:, 0]
    potential = float(w @ closest)
    for c in range(1, k):
        if potential <= 0:  # every point sits on a centroid already
            centroids[c] = X[rng.choice(np.flatnonzero(w > 0))]
            continue
        cumulative = np.cumsum(w * closest)
        targets = rng.random(n_trials) * cumulative[-1]
        candidates = np.minimum(np.searchsorted(cumulative, targets, side="right"), n - 1)
        # (trials, n) squared distances from the candidates, as x^2 - 2 (x.c - c^2/2)
        cand = X[candidates]
        cand_aug = np.hstack([cand, -0.5 * np.einsum("ij,ij->i", cand, cand)[:, None]])
        trial = cand_aug.astype(Xa.dtype) @ Xa.T
        trial = x_sq - 2.0 * trial
        np.minimum(trial, closest, out=trial)
        np.maximum(trial, 0.0, out=trial)
        potentials = trial @ w
        best = int(np.argmin(potentials))
        centroids[c] = cand[best]
        closest = trial[best]
        potential = float(potentials[best])
    return centroids
