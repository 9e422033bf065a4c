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
from dataclasses import dataclass
from typing import Callable

import numpy as np

from .errors import ParameterError

INITS = ("k-means++", "random")

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
        ``history[i]`` the distortion after iteration ``i``; it never rises.
    """

    centroids: np.ndarray
    labels: np.ndarray
    distortion: float
    n_iter: int
    converged: bool
    history: np.ndarray


ProgressCallback = Callable[[int, int, float], None]


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
    on_progress : callable(run, iteration, distortion), optional
        Called after every iteration; ``run`` counts from 0.

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
    X, w, k, start, n_init, tol, max_iter = _validate(
        points, k, weights, init, n_init, tol, max_iter
    )
    rng = np.random.default_rng(seed)
    x_sq = np.einsum("ij,ij->i", X, X)
    best = None
    for run in range(n_init):
        centroids = start.copy() if start is not None else _init_centroids(X, w, x_sq, k, init, rng)
        report = None if on_progress is None else (lambda it, j, run=run: on_progress(run, it, j))
        result = _lloyd(X, w, x_sq, centroids, tol, max_iter, report)
        if best is None or result.distortion < best.distortion:
            best = result
    return best


def _validate(points, k, weights, init, n_init, tol, max_iter):
    X = np.asarray(points)
    if X.dtype.kind not in "biuf":
        raise ParameterError(f"points must be real numbers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ParameterError(f"points must be a non-empty 2-D array (n, d), got shape {X.shape}")
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
        n_init = 10 if isinstance(init, str) and init == "random" else 1
    elif not _is_int(n_init) or n_init < 1:
        raise ParameterError(f"n_init must be 'auto' or an integer >= 1, got {n_init!r}")
    if start is not None:
        n_init = 1  # every run would start from the same centroids
    if not isinstance(tol, numbers.Real) or not tol >= 0:
        raise ParameterError(f"tol must be a number >= 0, got {tol!r}")
    if not _is_int(max_iter) or max_iter < 1:
        raise ParameterError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    return X, w, k, start, int(n_init), float(tol), int(max_iter)


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
    return _assign(X, np.einsum("ij,ij->i", X, X), np.asarray(centroids, dtype=np.float64))


def _assign(X, x_sq, centroids):
    """The assignment step: ``labels (n,) int32`` and ``sq_dist (n,) float64``."""
    n = X.shape[0]
    labels = np.empty(n, dtype=np.int32)
    sq_dist = np.empty(n, dtype=np.float64)
    step = max(1, _BLOCK_ELEMENTS // len(centroids))
    for start in range(0, n, step):
        stop = min(start + step, n)
        dist = _sq_distances(X[start:stop], x_sq[start:stop], centroids)
        block_labels = dist.argmin(axis=1)
        labels[start:stop] = block_labels
        sq_dist[start:stop] = dist[np.arange(stop - start), block_labels]
    return labels, sq_dist


def _move_centroids(X, w, labels, sq_dist, centroids):
    """The move-centroid step: each centroid becomes the weighted mean of its points.

    A cluster left with no weight is re-seeded with the point served worst
    (largest squared distance to its centroid, among points of positive weight),
    as libimagequant and scikit-learn do, so no cluster stays empty.
    """
    k, d = centroids.shape
    mass = np.bincount(labels, weights=w, minlength=k)
    sums = np.empty((k, d))
    for j in range(d):
        sums[:, j] = np.bincount(labels, weights=w * X[:, j], minlength=k)
    new = centroids.copy()
    filled = mass > 0
    new[filled] = sums[filled] / mass[filled, None]
    empty = np.flatnonzero(~filled)
    if empty.size:
        badness = np.where(w > 0, sq_dist, -1.0)
        worst = np.argsort(badness, kind="stable")[::-1][: empty.size]
        if badness[worst[-1]] <= 0:
            warnings.warn(
                "fewer distinct points than clusters: some clusters stay empty",
                RuntimeWarning,
                stacklevel=4,
            )
        new[empty] = X[worst]
    return new


def _lloyd(X, w, x_sq, centroids, tol, max_iter, report):
    """One k-means run from ``centroids``; assumes validated input."""
    w_sum = w.sum()
    labels, sq_dist = _assign(X, x_sq, centroids)
    distortion = float(w @ sq_dist) / w_sum
    history = [distortion]
    converged = False
    for iteration in range(1, max_iter + 1):
        centroids = _move_centroids(X, w, labels, sq_dist, centroids)
        new_labels, sq_dist = _assign(X, x_sq, centroids)
        new_distortion = float(w @ sq_dist) / w_sum
        history.append(new_distortion)
        if report is not None:
            report(iteration, new_distortion)
        converged = (
            np.array_equal(new_labels, labels)
            or distortion - new_distortion <= tol * distortion
        )
        labels, distortion = new_labels, new_distortion
        if converged:
            break
    return KMeansResult(
        centroids=centroids,
        labels=labels,
        distortion=distortion,
        n_iter=iteration,
        converged=converged,
        history=np.array(history),
    )


def _init_centroids(X, w, x_sq, k, init, rng):
    """Starting centroids, ``(k, d)`` float64, by the named method."""
    if init == "random":
        chosen = rng.choice(len(X), size=k, replace=False, p=w / w.sum())
        return X[chosen].copy()
    return _kmeans_plus_plus(X, w, x_sq, k, rng)


def _kmeans_plus_plus(X, w, x_sq, k, rng):
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
        trial = np.minimum(closest[:, None], _sq_distances(X, x_sq, X[candidates]))
        potentials = w @ trial
        best = int(np.argmin(potentials))
        centroids[c] = X[candidates[best]]
        closest = trial[:, best]
        potential = float(potentials[best])
    return centroids
