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

# Rows of points per block in the assignment step of nearest_centroid, so that
# the (rows, k) distance block stays near 2 MiB whatever n is.
_BLOCK_ELEMENTS = 1 << 18

# From this dimension on, kmeans keeps the points as rows in their own
# precision (_RowPoints) instead of float64 rows and columns (_ColumnPoints),
# and passes over them in blocks of about _ROW_ELEMENTS coordinates.
_ROW_LAYOUT_D = 8
_ROW_ELEMENTS = 1 << 20
_PAIR_ELEMENTS = 1 << 18
_THIN_INNER = 64

# Products per block of _search (OpenBLAS threads a matrix product above 2^18
# multiply-adds), and the largest k it searches with a centroid per row.
_SEARCH_ELEMENTS = 1 << 16
_COLUMN_SEARCH = 32

# The k-means++ seeding computes every distance in its first _SEED_DENSE_STEPS
# steps, and after them uses _SeedIndex, with blocks of _SEED_BLOCK points, when
# k >= _SEED_SPARSE_K and there are at least _SEED_SPARSE_N points (below either,
# the index costs more than it saves: twice the time on 5,000 points, the same
# near 25,000, a third of it on 145,000, at k = 64 and 256).
_SEED_DENSE_STEPS = 8
_SEED_SPARSE_K = 64
_SEED_SPARSE_N = 1 << 15
_SEED_BLOCK = 64
_DRAW_BLOCK = 256

# How many times Higham's bound on the rounding of a sum (count * unit roundoff *
# sum, for non-negative terms) the seeding's shortcuts leave as room; within it
# they fall back on the sums the first steps compute.
_SUM_SLACK = 4.0


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
        as precise as the data), otherwise in float64.  Memory: for
        ``d < 8`` (colours) the points are copied to float64 rows and
        columns, about ``5 d`` float64 numbers a point (the layout the
        bit-identical tests check); from ``d = 8`` on (vectors) only one copy
        ``[x - mean, 1]`` in the distance precision is made and everything
        else is done in blocks, so a float32 ``(60000, 784)`` array needs
        about twice its size in all (never an ``(n, k)`` or ``(n, d)``
        float64 array).  See :class:`_ColumnPoints` and :class:`_RowPoints`.
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
    layout = _RowPoints if X.shape[1] >= _ROW_LAYOUT_D else _ColumnPoints
    data = layout(X, w, dtype)
    del X
    mean = data.mean
    best = None
    for run in range(n_init):
        centroids = start - mean if start is not None else _init_centroids(
            data.X, data.Xa, w, data.x_sq, k, init, rng)
        report = None if on_progress is None else (
            lambda it, run=run: notify(on_progress, (run + it / max_iter) / n_init))
        result = _lloyd(data, centroids, tol, max_iter, report)
        notify(on_progress, (run + 1) / n_init)
        if best is None or result.distortion < best.distortion:
            best = result
    return replace(best, centroids=best.centroids + mean)


def _validate(points, k, weights, init, n_init, tol, max_iter):
    """The checked arguments of :func:`kmeans`: ``X`` is ``points`` as an array
    of its own real dtype (not copied), ``dtype`` the precision of the distance
    products (float32 for float32 points, else float64), ``w (n,)`` float64."""
    X = np.asarray(points)
    if X.dtype.kind not in "biuf":
        raise ParameterError(f"points must be real numbers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ParameterError(f"points must be a non-empty 2-D array (n, d), got shape {X.shape}")
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    if X.dtype.kind == "f":
        step = max(1, _ROW_ELEMENTS // X.shape[1])
        if not all(np.isfinite(X[start:start + step]).all() for start in range(0, len(X), step)):
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
    """Squared distances, ``(m, k)`` float64, from each point to each centroid
    (points of another dtype are converted to float64 a block at a time)."""
    if X.dtype != np.float64:
        step = max(1, _ROW_ELEMENTS // X.shape[1])
        return np.concatenate([
            _sq_distances(X[start:start + step].astype(np.float64), x_sq[start:start + step], centroids)
            for start in range(0, len(X), step)])
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


class _ColumnPoints:
    """The points for few dimensions (``d < _ROW_LAYOUT_D``, e.g. colours), as
    the core has always kept them: ``X (n, d)`` float64 centred on the weighted
    ``mean (d,)``, ``Xa = [X, 1] (n, d + 1)`` in the products' ``dtype``,
    ``x_sq (n,)`` float64, and ``columns``/``w_cols (d, n)`` float64 (the
    coordinates and the weighted coordinates, a row per axis) for the per-axis
    passes, which are the fastest way at such ``d``.  About ``5 d + 1`` float64
    numbers a point (plus ``d + 1`` float32 ones for float32 input).
    """

    def __init__(self, X, w, dtype):
        X = X.astype(np.float64, copy=False)
        # Centre the points on their weighted mean: distances do not change, and
        # the sums the distortion is computed from lose less to rounding.
        self.mean = (w @ X) / w.sum()
        self.X = X - self.mean
        self.w = w
        self.x_sq = np.einsum("ij,ij->i", self.X, self.X)
        self.Xa = _augment(self.X).astype(dtype, copy=False)
        self.columns = np.ascontiguousarray(self.X.T)  # (d, n): gathers of one coordinate are fast
        self.w_cols = np.ascontiguousarray((self.X * w[:, None]).T)

    def sums(self, labels, k, points=None):
        """:func:`_cluster_sums` of all points (``labels (n,)``) or of ``points (m,)``
        (``labels (m,)``)."""
        if points is None:
            return _cluster_sums(labels, self.w, self.w_cols, k)
        return _cluster_sums(labels, self.w[points], np.take(self.w_cols, points, axis=1), k)

    def sq_to_pair(self, points, centroids, a, b):
        return _sq_to_pair(self.columns, points, centroids.T, a, b)

    def sq_to_assigned(self, centroids, labels):
        """Exact squared distances ``(n,)`` float64 from each point to ``centroids[labels]``."""
        return _sq_to_own(self.X, np.take(centroids, labels, axis=0))


class _RowPoints:
    """The points for many dimensions (``d >= _ROW_LAYOUT_D``, e.g. images as
    vectors), lean: one array ``Xa = [X - mean, 1] (n, d + 1)`` in the
    products' ``dtype`` (float32 for float32 input), filled block by block,
    and ``X``, a view of its first ``d`` columns, is the points.  Everything
    else is ``O(n)`` or done in blocks of about ``_ROW_ELEMENTS`` coordinates
    (converted to float64 there), so the peak memory is the input plus ``Xa``
    plus a few blocks; for float32 input that is about twice the input.

    The centred points are rounded to float32 for float32 input (float64
    input keeps exactly the values of :class:`_ColumnPoints`); the products
    were computed from those values anyway, and sums, centroids and
    distances are float64 computed from them.  Sums are added by rows
    (sorted by cluster) rather than by columns, so they may differ from those
    of :class:`_ColumnPoints` in the last bits.
    """

    def __init__(self, X, w, dtype):
        n, d = X.shape
        self.w = w
        self.step = max(2, _ROW_ELEMENTS // d)
        mean = np.zeros(d)
        for start in range(0, n, self.step):
            mean += w[start:start + self.step] @ X[start:start + self.step].astype(np.float64)
        self.mean = mean / w.sum()
        self.Xa = np.empty((n, d + 1), dtype=dtype)
        self.Xa[:, d] = 1.0
        self.X = self.Xa[:, :d]
        self.x_sq = np.empty(n)
        for start in range(0, n, self.step):
            block = X[start:start + self.step].astype(np.float64)
            block -= self.mean
            self.X[start:start + self.step] = block
            if dtype != np.float64:
                block = self.X[start:start + self.step].astype(np.float64)
            self.x_sq[start:start + self.step] = np.einsum("ij,ij->i", block, block)

    def _rows(self, points):
        """Rows ``points (m,)`` of ``X``, ``(m, d)`` float64."""
        return self.X[points].astype(np.float64, copy=False)  # (np.take is slower on a view)

    def sums(self, labels, k, points=None):
        """:func:`_cluster_sums` of all points (``labels (n,)``) or of ``points (m,)``
        (``labels (m,)``), the rows added cluster by cluster in blocks."""
        w = self.w if points is None else self.w[points]
        members = np.bincount(labels[w > 0], minlength=k)
        mass = np.bincount(labels, weights=w, minlength=k)
        sums = np.zeros((k, self.X.shape[1]))
        order = np.argsort(labels, kind="stable")
        for start in range(0, len(order), self.step):
            chosen = order[start:start + self.step]
            block_labels = np.take(labels, chosen)
            rows = self._rows(chosen if points is None else np.take(points, chosen))
            rows *= np.take(w, chosen)[:, None]
            firsts = np.flatnonzero(np.r_[True, block_labels[1:] != block_labels[:-1]])
            sums[block_labels[firsts]] += np.add.reduceat(rows, firsts, axis=0)
        return members, mass, sums

    def sq_to_pair(self, points, centroids, a, b):
        """Squared distances ``(m,)`` float64 from ``points (m,)`` to
        ``centroids[a]`` and to ``centroids[b]``, computed in float64 as
        ``x^2 - 2 x.c + c^2`` (clipped at 0) in blocks of ``_PAIR_ELEMENTS``
        coordinates, which stay in the cache (four times faster at d = 784
        than ``sum (x - c)^2``).  Each errs by at most ``(4 d + 12) u64 R2``
        (three dot products of ``d`` terms, three roundings of terms up to
        ``4 R2``), within the ``5 (d + 1) u64 R2`` that the margin of
        :func:`_rounding_margin` sets aside for it when ``d >= 8``."""
        sq_a, sq_b = np.empty(len(points)), np.empty(len(points))
        c_sq = np.einsum("ij,ij->i", centroids, centroids)
        step = max(2, _PAIR_ELEMENTS // self.X.shape[1])
        for start in range(0, len(points), step):
            part = slice(start, start + step)
            chosen = points[part]
            rows = self._rows(chosen)
            x_sq = self.x_sq[chosen]
            for total, centre in ((sq_a, a), (sq_b, b)):
                ids = centre[part]
                value = np.einsum("ij,ij->i", rows, centroids[ids])
                value *= -2.0
                value += x_sq
                value += c_sq[ids]
                total[part] = np.maximum(value, 0.0, out=value)
        return sq_a, sq_b

    def sq_to_assigned(self, centroids, labels):
        """Exact squared distances ``(n,)`` float64 from each point to ``centroids[labels]``."""
        out = np.empty(len(labels))
        for start in range(0, len(labels), self.step):
            diff = self._rows(np.arange(start, min(start + self.step, len(labels))))
            diff -= centroids[labels[start:start + self.step]]
            out[start:start + self.step] = np.einsum("ij,ij->i", diff, diff)
        return out


def _distortion(weighted_sq_sum, w_sum, mass, sums, centroids):
    """Distortion of the labels behind ``mass`` and ``sums`` with ``centroids``.

    ``sum_i w_i |x_i - c_j|^2 = sum_i w_i |x_i|^2 - 2 c_j . S_j + m_j |c_j|^2``
    summed over clusters j: O(k d) instead of O(n d).
    """
    cross = np.einsum("ij,ij->", centroids, sums)
    own = mass @ np.einsum("ij,ij->i", centroids, centroids)
    return max(weighted_sq_sum - 2.0 * cross + own, 0.0) / w_sum


def _move_centroids(data, labels, members, mass, sums, centroids):
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
        badness = np.where(data.w > 0, data.sq_to_assigned(centroids, labels), -1.0)
        worst = np.argsort(badness, kind="stable")[::-1][: empty.size]
        if badness[worst[-1]] <= 0:
            warnings.warn(
                "fewer distinct points than clusters: some clusters stay empty",
                RuntimeWarning,
                stacklevel=4,
            )
        new[empty] = data.X[worst]
    return new


def _lloyd(data, centroids, tol, max_iter, report):
    """One k-means run from ``centroids``; assumes validated input, laid out
    and centred in ``data`` (:class:`_ColumnPoints` or :class:`_RowPoints`).

    Lloyd's algorithm, with bounds that let the assignment step skip most
    points (Hamerly 2010, extended with a second tracked centroid and a local
    decay).  For each point: its centroid ``a`` and runner-up ``b``, an upper
    bound ``upper`` on its distance to ``a``, and lower bounds ``near`` on its
    distance to ``b`` and ``rest`` on its distance to every other centroid.

    - When the centroids move, ``upper`` grows by the shift of ``a`` and
      ``near`` falls by the shift of ``b``.  ``rest`` falls by the largest
      shift among the centroids within ``reach`` of ``a`` (see :class:`_Gaps`)
      and is capped at ``reach - upper``, which bounds the distance to the
      centroids farther than ``reach`` from ``a``.
    - A point keeps ``a`` while ``upper`` is below both ``near`` and ``rest``,
      or below half the distance from ``a`` to the nearest other centroid
      (any other centroid is then farther than ``2 half - upper > upper``).
    - Otherwise its exact distances to ``a`` and ``b`` are computed.  When one
      of the two is clearly nearer, and nearer than ``rest`` or than the
      distance from ``a`` to the nearest centroid other than ``a`` and ``b``
      less the distance to ``a``, that settles it.  Only the remaining points
      are compared with every centroid (:func:`_search`), which also gives
      them fresh bounds.

    The labels are exactly those of plain Lloyd, whose assignment step takes
    for each point the largest ``x.c - c^2/2`` computed by a matrix product in
    the points' precision (:func:`_search`), rounding and all.  ``margin``
    (:func:`_rounding_margin`) bounds how far those rounded products can put a
    centroid from its exact squared distance, and every decision taken without
    them keeps that much room: ``upper`` bounds ``sqrt(distance^2 + margin)``
    rather than the distance, and two centroids are told apart by their exact
    distances only when the squares differ by more than ``margin``.  The
    cluster sums are updated in the same order as plain Lloyd's, so the
    centroids are the same to the last bit.

    ``Xa`` is ``[X, 1]`` in the precision of the distance products (float32
    for float32 input, as scikit-learn keeps the input's precision); sums,
    centroids and the distortion are always float64.

    With many dimensions (:class:`_RowPoints`) the same bounds and margin
    (scaled with ``d``) apply, but BLAS may round an element of a product of
    hundreds of terms differently with the shape of the whole product, so
    there a label may differ from plain Lloyd's only where two centroids'
    squared distances are within the margin of each other (a tie within
    rounding); in float64 such ties are vanishingly rare and the tests find
    the labels of brute-force Lloyd.
    """
    k = len(centroids)
    Xa, w, x_sq = data.Xa, data.w, data.x_sq
    margin = _rounding_margin(Xa.dtype, x_sq, data.X.shape[1])
    w_sum, weighted_sq_sum = w.sum(), float(w @ x_sq)
    labels, runner, sq = _search(Xa, x_sq, centroids)
    upper, near, rest = _bounds(sq, margin)
    members, mass, sums = data.sums(labels, k)
    distortion = float(w @ sq[0]) / w_sum
    history = [distortion]
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):
        moved = _move_centroids(data, labels, members, mass, sums, centroids)
        shift = np.sqrt(_sq_to_own(moved, centroids))
        centroids = moved
        gaps = _Gaps(centroids, shift)
        upper += np.take(shift, labels)
        near -= np.take(shift, runner)
        rest -= np.take(gaps.drift, labels)
        np.minimum(rest, np.take(gaps.reach, labels) - upper, out=rest)
        check = upper >= np.take(gaps.half, labels)
        check &= (upper >= near) | (upper >= rest)
        check = np.flatnonzero(check)
        new_labels = np.take(labels, check)
        if check.size:
            a, b = new_labels, np.take(runner, check)
            sq_a, sq_b = data.sq_to_pair(check, centroids, a, b)
            b_wins = sq_b < sq_a
            win, lose = np.where(b_wins, b, a), np.where(b_wins, a, b)
            sq_win, sq_lose = np.minimum(sq_a, sq_b), np.maximum(sq_a, sq_b)
            up = np.sqrt(sq_win + margin)
            others = gaps.beside(a, b) - np.sqrt(sq_a)  # to the centroids but a and b
            np.maximum(others, np.take(rest, check), out=others)
            settled = np.flatnonzero((sq_lose > sq_win + margin) & (up < others))
            done = check[settled]
            new_labels[settled] = win[settled]
            runner[done] = lose[settled]
            upper[done], near[done], rest[done] = up[settled], np.sqrt(sq_lose[settled]), others[settled]
            if settled.size < check.size:
                search = np.flatnonzero((sq_lose <= sq_win + margin) | (up >= others))
                redo = check[search]
                new_labels[search], runner[redo], sq = _search(Xa, x_sq[redo], centroids, redo)
                upper[redo], near[redo], rest[redo] = _bounds(sq, margin)
        switched = np.flatnonzero(new_labels != np.take(labels, check))
        changed = switched.size > 0
        if changed:
            points = check[switched]
            # Move the switched points' weight and sums between clusters.
            for sign, side in ((-1, labels[points]), (1, new_labels[switched])):
                members_delta, mass_delta, sums_delta = data.sums(side, k, points)
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
    distortion = float(w @ data.sq_to_assigned(centroids, labels) / w_sum)  # exact, once
    history[-1] = distortion
    return KMeansResult(
        centroids=centroids,
        labels=labels.astype(np.int32),
        distortion=distortion,
        n_iter=iteration,
        converged=converged,
        history=np.array(history),
    )


def _bounds(sq, margin):
    """``upper``, ``near`` and ``rest`` of :func:`_lloyd`, each ``(m,)``, from the
    squared distances ``sq (3, m)`` computed by :func:`_search`.  Those are
    within ``margin / 2`` of the exact ones, so ``sqrt(sq + 1.5 margin)``
    bounds ``sqrt(distance^2 + margin)`` and ``sqrt(sq - margin)`` the
    distance."""
    upper = np.sqrt(sq[0] + 1.5 * margin)
    lower = np.sqrt(np.maximum(sq[1:] - margin, 0.0))
    return upper, lower[0], lower[1]


def _search(Xa, x_sq, centroids, index=None):
    """The assignment step with two runners-up, in blocks of rows of the
    augmented points ``Xa (n, d + 1)``, or of its rows ``index (n,)`` when
    given (gathered a block at a time; ``x_sq (n,)`` is then of those rows).

    Returns ``labels (n,) intp`` (the largest ``x.c - c^2/2``, the lowest
    index on ties), ``runner (n,) intp`` (the second largest; ``labels`` when
    k is 1) and ``sq (3, n)`` float64: ``x^2 - 2 (x.c - c^2/2)`` for the best
    three, clipped at 0 (infinity where k is smaller).  Each product is an
    element of a matrix product of at least two points by all the centroids:
    BLAS computes those the same whatever the points around them, so a point
    gets the same labels here whichever points it is searched with (a single
    point would go through a matrix-vector routine that rounds differently).
    Blocks of at most ``_SEARCH_ELEMENTS`` products keep OpenBLAS on one
    thread; up to ``_COLUMN_SEARCH`` centroids the block is laid out one
    centroid per row, as NumPy reduces short rows slowly.
    """
    n, k = (Xa.shape[0] if index is None else len(index)), len(centroids)
    c_aug = np.hstack([centroids, -0.5 * np.einsum("ij,ij->i", centroids, centroids)[:, None]])
    c_aug = np.ascontiguousarray(c_aug.T, dtype=Xa.dtype)  # (d + 1, k)
    labels = np.zeros(n, dtype=np.intp)
    runner = np.zeros(n, dtype=np.intp)
    top = np.full((3, n), -np.inf)
    step = max(2, _SEARCH_ELEMENTS // k)
    by_column = k <= _COLUMN_SEARCH
    if by_column:
        c_rows = np.ascontiguousarray(c_aug.T)  # (k, d + 1)
        preference = np.repeat(np.arange(k, 0, -1, dtype=np.uint8)[:, None], step, axis=1)  # k - j
    for start in range(0, n, step):
        stop = min(start + step, n)
        size = stop - start
        rows = Xa[start:stop] if index is None else Xa[index[start:stop]]
        if size == 1:
            rows = np.repeat(rows, 2, axis=0)
        if by_column:
            scores = c_rows @ rows.T  # (k, size)
            every = np.arange(scores.shape[1])
            for place in range(min(k, 3)):
                best = scores.max(axis=0)
                top[place, start:stop] = best[:size]
                if place < 2:  # the first centroid with the best product
                    ranked = np.multiply(scores == best, preference[:, : len(every)])
                    chosen = k - ranked.max(axis=0).astype(np.intp)
                    (labels if place == 0 else runner)[start:stop] = chosen[:size]
                    scores.ravel()[chosen * len(every) + every] = -np.inf
        else:
            scores = rows @ c_aug  # (size, k)
            every = np.arange(len(scores))
            for place in range(min(k, 3)):  # (argmax is faster than max along rows)
                chosen = scores.argmax(axis=1)
                top[place, start:stop] = scores[every, chosen][:size]
                if place < 2:
                    (labels if place == 0 else runner)[start:stop] = chosen[:size]
                    scores[every, chosen] = -np.inf
    if k == 1:
        runner = labels
    return labels, runner, np.maximum(x_sq - 2.0 * top, 0.0)


def _sq_to_pair(columns, points, c_columns, a, b):
    """Exact squared distances ``(m,)`` from ``points (m,)`` to the centroids
    ``a (m,)`` and to ``b (m,)``; ``columns (d, n)`` and ``c_columns (d, k)``
    hold the points' and the centroids' coordinates, a row per axis."""
    sq_a, sq_b = np.zeros(len(points)), np.zeros(len(points))
    for x, c in zip(columns, c_columns):
        x = np.take(x, points)
        for total, centre in ((sq_a, a), (sq_b, b)):
            diff = x - np.take(c, centre)
            diff *= diff
            total += diff
    return sq_a, sq_b


# _Gaps: the reach of a centroid, in distances to its nearest other centroid.
_REACH = 4.0


class _Gaps:
    """Distances between the centroids ``(k, d)`` for the bounds of
    :func:`_lloyd`, given their last ``shift (k,)``; each attribute ``(k,)``:

    - ``half``: half the distance to the nearest other centroid, ``nearest``
      (infinity when k is 1); ``gap`` that distance and ``next_gap`` the one to
      the second-nearest other centroid;
    - ``reach``: ``_REACH`` times ``gap``, and ``drift``: the largest shift
      among the centroids closer than ``reach``.  The centroids farther than
      ``reach`` from a point's centroid ``a`` are at least ``reach - upper``
      from the point, so a lower bound on the distance to the others need
      only fall by ``drift``, not by the largest shift of all, when capped at
      ``reach - upper``: the shifts of far-away centroids do not matter.
    """

    def __init__(self, centroids, shift):
        k = len(centroids)
        c_sq = np.einsum("ij,ij->i", centroids, centroids)
        sq = _sq_distances(centroids, c_sq, centroids)
        if k == 1:
            self.nearest = np.zeros(1, dtype=np.intp)
            self.gap = self.next_gap = self.half = self.reach = np.full(1, np.inf)
            self.drift = shift.copy()
            return
        every = np.arange(k)
        sq[every, every] = np.inf
        self.nearest = sq.argmin(axis=1)
        self.gap = np.sqrt(sq[every, self.nearest])
        self.half = 0.5 * self.gap
        self.reach = _REACH * self.gap
        sq[every, every] = 0.0
        self.drift = np.multiply(sq < (self.reach**2)[:, None], shift).max(axis=1)
        sq[every, every] = np.inf
        sq[every, self.nearest] = np.inf
        self.next_gap = np.sqrt(sq.min(axis=1))

    def beside(self, a, b):
        """Distance ``(m,)`` from centroid ``a (m,)`` to the nearest centroid other
        than ``a`` and ``b (m,)``."""
        return np.where(np.take(self.nearest, a) == b, np.take(self.next_gap, a), np.take(self.gap, a))


def _init_centroids(X, Xa, w, x_sq, k, init, rng):
    """Starting centroids, ``(k, d)`` float64, by the named method."""
    if init == "random":
        chosen = rng.choice(len(X), size=k, replace=False, p=w / w.sum())
        return np.take(X, chosen, axis=0).astype(np.float64)
    return _kmeans_plus_plus(X, Xa, w, x_sq, k, rng)


def _kmeans_plus_plus(X, Xa, w, x_sq, k, rng):
    """Greedy weighted k-means++: each new centroid is the best of a few
    candidates drawn with probability proportional to weight times squared
    distance to the nearest centroid chosen so far.

    ``closest (n,)`` holds that squared distance, computed as
    ``x^2 - 2 (x.c - c^2/2)`` with the products in the points' precision.
    The first steps compute every candidate's distance to every point.  Later
    on (for ``k >= _SEED_SPARSE_K`` and ``n >= _SEED_SPARSE_N``) a candidate
    lowers ``closest`` only at a few points, and the steps find those without
    computing every distance, yet give exactly the same centroids:

    - :class:`_SeedIndex` skips the blocks of points too far from every
      candidate, and among the rest computes the distance only where the
      product ``x.c - c^2/2`` exceeds a per-point threshold that rounds below
      the value at which the distance would fall under ``closest``; those
      distances are the very numbers the full computation gives;
    - the candidates are drawn by :class:`_Draws`, from sums by blocks that
      are kept up to date, and it falls back on the cumulative sums of the
      first steps when rounding could make a difference;
    - the candidates are compared by the weight they take off the potential,
      summed over the points they change.  That equals the potential but for
      rounding; when two candidates' gains are within the rounding of either
      way of summing, the potentials are summed over all points exactly as in
      the first steps (``(trials, n) @ w``), so the choice never depends on it.
    """
    n, d = X.shape
    n_trials = 2 + int(np.log(k))
    centroids = np.empty((k, d))
    first = rng.choice(n, p=w / w.sum())
    centroids[0] = X[first]
    closest = _sq_distances(X, x_sq, centroids[:1])[:, 0]
    potential = float(w @ closest)
    index = None
    # Rounding of a sum of n terms relative to the sum, for each of two ways of summing
    doubt = 2.0 * _SUM_SLACK * (n + 4) * np.finfo(np.float64).eps / 2
    for c in range(1, k):
        if potential <= 0:  # every point sits on a centroid already
            centroids[c] = X[rng.choice(np.flatnonzero(w > 0))]
            continue
        if (index is None and k >= _SEED_SPARSE_K and n >= _SEED_SPARSE_N and c >= _SEED_DENSE_STEPS
                and d < _ROW_LAYOUT_D):
            index = _SeedIndex(X, Xa, x_sq, closest)
            draws = _Draws(w * closest)
        if index is None:
            cumulative = np.cumsum(w * closest)
            targets = rng.random(n_trials) * cumulative[-1]
            candidates = np.minimum(np.searchsorted(cumulative, targets, side="right"), n - 1)
        else:
            candidates = draws.draw(rng.random(n_trials))
        cand = X[candidates].astype(np.float64, copy=False)
        cand_aug = np.hstack([cand, -0.5 * np.einsum("ij,ij->i", cand, cand)[:, None]])
        if index is None:
            # (trials, n) squared distances from the candidates, as x^2 - 2 (x.c - c^2/2)
            trial = _matmul(cand_aug.astype(Xa.dtype), Xa.T)
            trial = x_sq - 2.0 * trial
            np.minimum(trial, closest, out=trial)
            np.maximum(trial, 0.0, out=trial)
            potentials = trial @ w
            best = int(np.argmin(potentials))
            centroids[c] = cand[best]
            closest = trial[best]
            potential = float(potentials[best])
            continue
        trials, points, trial = index.improvements(cand_aug.astype(Xa.dtype), cand)
        old = np.take(closest, points)
        np.minimum(trial, old, out=trial)
        np.maximum(trial, 0.0, out=trial)
        gains = np.bincount(trials, weights=np.take(w, points) * (old - trial), minlength=n_trials)
        best = int(np.argmax(gains))
        rivals = ~(cand == cand[best]).all(axis=1)  # a candidate at the same place is no rival
        if (gains[rivals] >= gains[best] - doubt * draws.total()).any():
            full = np.repeat(closest[None, :], n_trials, axis=0)
            full[trials, points] = trial
            potentials = full @ w
            best = int(np.argmin(potentials))
        centroids[c] = cand[best]
        lower = np.flatnonzero((trials == best) & (trial < old))
        points, trial = np.take(points, lower), np.take(trial, lower)
        if points.size:
            closest[points] = trial
            index.lowered(points, trial)
            draws.lowered(points, np.take(w, points) * trial)
        # The potential is 0 just when every w * closest is (a sum of non-negative terms).
        potential = draws.total()
    return centroids


class _Draws:
    """Draws for :func:`_kmeans_plus_plus`: ``draw(r)`` returns
    ``np.minimum(np.searchsorted(cumulative, r * cumulative[-1], side="right"), n - 1)``
    for ``cumulative = np.cumsum(weighted)``, without redoing those sums.

    It keeps the sums of ``weighted (n,)`` by blocks of ``_DRAW_BLOCK`` points
    and their running totals ``ends``, which differ from the sequential sums
    by at most ``tolerance`` (each of the two ways of summing errs by less than
    ``count * u * total``, Higham's bound for sums of non-negative terms, with
    ``u`` the unit roundoff and ``count`` the terms added in a row).  A draw
    looks for its target in those, then in the sequential sums within one
    block; when the target is within ``tolerance`` of a sum it is compared
    with, the full cumulative sums are computed, as in the first steps, so the
    result is always the same.
    """

    def __init__(self, weighted):
        n = len(weighted)
        self.n, blocks = n, -(-n // _DRAW_BLOCK)
        self.weighted = np.zeros((blocks, _DRAW_BLOCK))  # padded with zeros
        self.weighted.ravel()[:n] = weighted
        self.sums = self.weighted.sum(axis=1)
        self.ends = np.cumsum(self.sums)
        unit = np.finfo(np.float64).eps / 2
        self.slack = 2.0 * _SUM_SLACK * (n + 2 * _DRAW_BLOCK + blocks + 8) * unit

    def total(self):
        return self.ends[-1]

    def lowered(self, points, weighted):
        """Set ``weighted`` at ``points (m,)`` to ``weighted (m,)``."""
        self.weighted.ravel()[points] = weighted
        touched = np.zeros(len(self.sums), dtype=bool)
        touched[points // _DRAW_BLOCK] = True
        blocks = np.flatnonzero(touched)
        self.sums[blocks] = np.take(self.weighted, blocks, axis=0).sum(axis=1)
        self.ends = np.cumsum(self.sums)

    def draw(self, r):
        """Indices ``(t,)`` drawn by the fractions ``r (t,)`` of the total."""
        total = self.ends[-1]
        targets = r * total
        tolerance = self.slack * total
        block = np.searchsorted(self.ends, targets, side="right")
        if (block < len(self.ends)).all():
            # Running sums before each point of the block and at it, (t, _DRAW_BLOCK + 1).
            before = np.where(block > 0, self.ends[np.maximum(block - 1, 0)], 0.0)
            running = np.cumsum(np.hstack([before[:, None], np.take(self.weighted, block, axis=0)]), axis=1)
            place = np.minimum((running[:, 1:] <= targets[:, None]).sum(axis=1), _DRAW_BLOCK - 1)
            every = np.arange(len(r))
            chosen = block * _DRAW_BLOCK + place
            clear = (targets - running[every, place] > tolerance) & (running[every, place + 1] - targets > tolerance)
            if clear.all() and (chosen < self.n).all():
                return chosen
        cumulative = np.cumsum(self.weighted.ravel()[: self.n])
        return np.minimum(np.searchsorted(cumulative, r * cumulative[-1], side="right"), self.n - 1)


def _rounding_margin(dtype, x_sq, d=3):
    """A bound on the rounding in the squared distances of this module, for
    points and centroids of squared norm at most ``R2 = max(x_sq)`` (centroids
    are weighted means of points, so this holds for them too).

    A squared distance computed as ``x^2 - 2 (x.c - c^2/2)`` with the products
    in ``dtype`` (unit roundoff ``u``) is within ``17u R2`` of the exact one:
    rounding the point and the centroid to ``dtype`` moves ``x.c`` by at most
    ``2u R2`` and ``c^2/2`` by ``u R2 / 2``, a dot product of four terms errs by
    at most ``4u (R2 + R2 / 2)``, and the three are doubled.  Two such values
    for one point are thus ordered as the exact ones when those differ by more
    than ``34u R2``.  A squared distance computed in float64 as
    ``sum (x - c)^2`` errs by at most ``5 u64 d^2 <= 20 u64 R2``, and a square
    root by ``u64``.  The margin, ``64u R2 + 256 u64 R2``, covers all of that
    with room to spare for ``d <= 3``.  In ``d`` dimensions the dot product
    has ``d + 1`` terms and the sum of squares ``d``, and Higham's bounds grow
    with the count of terms: the margin is multiplied by ``(d + 1) / 4`` (at
    least 1), which covers both (``(d + 2) / 5 <= (d + 1) / 4`` for d >= 3).
    """
    unit = np.finfo(dtype).eps / 2
    unit64 = np.finfo(np.float64).eps / 2
    scale = max(1.0, (d + 1) / 4)
    return (64.0 * unit + 256.0 * unit64) * scale * float(x_sq.max()) + np.finfo(np.float64).tiny


class _SeedIndex:
    """Where k-means++ candidates can lower ``closest``, for :func:`_kmeans_plus_plus`.

    The points, in :func:`_spatial_order`, are cut into blocks of
    ``_SEED_BLOCK`` (the last one padded); each block keeps its bounding box and
    the largest ``closest`` of its points.  A block whose box is farther than
    ``sqrt(max closest + margin)`` from every candidate is skipped, as no
    distance computed to its points can fall below their ``closest``
    (``margin``, from :func:`_rounding_margin`, bounds the rounding of a
    computed distance).  In the other blocks the products ``s = x.c - c^2/2``
    are computed, and a point's distance ``x^2 - 2 s`` only where ``s`` exceeds
    ``threshold``, a value of the products' precision at or below
    ``(x^2 - closest) / 2``: elsewhere the computed distance, rounded, cannot
    fall below ``closest`` either.
    """

    def __init__(self, X, Xa, x_sq, closest):
        n, d = X.shape
        self.n, self.margin, self.x_sq = n, _rounding_margin(Xa.dtype, x_sq, d), x_sq
        columns = np.ascontiguousarray(X.T)  # (d, n): reductions over n are fast this way
        order = _spatial_order(columns)
        blocks = -(-n // _SEED_BLOCK)
        # Padded to whole blocks with the last point, whose threshold is +inf.
        self.order = np.concatenate([order, np.repeat(order[-1:], blocks * _SEED_BLOCK - n)])
        self.Xa = np.take(Xa, self.order, axis=0).reshape(blocks, _SEED_BLOCK, -1)
        boxes = np.take(columns, self.order, axis=1).reshape(d, blocks, _SEED_BLOCK)
        self.low, self.high = boxes.min(axis=2), boxes.max(axis=2)  # (d, blocks)
        self.slot = np.empty(n, dtype=np.intp)  # block * _SEED_BLOCK + place in block, of each point
        self.slot[order] = np.arange(n)
        self.threshold = np.full(blocks * _SEED_BLOCK, np.inf, dtype=Xa.dtype)
        self.closest = np.zeros((blocks, _SEED_BLOCK))  # by slot; 0 in the padding
        self.closest.ravel()[:n] = np.take(closest, order)
        self.threshold[:n] = _thresholds(np.take(x_sq, order), self.closest.ravel()[:n], Xa.dtype)
        self.reach = self.closest.max(axis=1) + self.margin

    def improvements(self, cand_aug, cand):
        """The (trial, point) pairs where candidate ``trial`` may lower the
        point's ``closest``: ``trials (p,)``, ``points (p,)`` and the computed
        squared distance ``x^2 - 2 (x.c - c^2/2)`` there, ``(p,)`` float64.
        ``cand_aug (t, d + 1)`` is ``[c, -c^2/2]`` in the products' precision,
        ``cand (t, d)`` the candidates in float64."""
        box_sq = np.zeros((len(cand), len(self.reach)))  # (t, blocks)
        for axis in range(len(self.low)):
            gap = np.maximum(self.low[axis] - cand[:, axis, None], cand[:, axis, None] - self.high[axis])
            np.maximum(gap, 0.0, out=gap)
            gap *= gap
            box_sq += gap
        hit = np.flatnonzero(box_sq.min(axis=0) < self.reach)
        products = _matmul(cand_aug, np.take(self.Xa, hit, axis=0).reshape(-1, self.Xa.shape[2]).T)  # (t, m)
        slots = (hit[:, None] * _SEED_BLOCK + np.arange(_SEED_BLOCK)).ravel()
        pairs = np.flatnonzero(products > np.take(self.threshold, slots))
        trials, where = np.divmod(pairs, len(slots))
        points = np.take(self.order, np.take(slots, where))
        return trials, points, np.take(self.x_sq, points) - 2.0 * np.take(products, pairs)

    def lowered(self, points, closest):
        """Record that ``points (m,)`` now have ``closest (m,)``."""
        slots = np.take(self.slot, points)
        self.closest.ravel()[slots] = closest
        self.threshold[slots] = _thresholds(np.take(self.x_sq, points), closest, self.threshold.dtype)
        touched = np.zeros(len(self.reach), dtype=bool)
        touched[slots // _SEED_BLOCK] = True
        blocks = np.flatnonzero(touched)
        self.reach[blocks] = np.take(self.closest, blocks, axis=0).max(axis=1) + self.margin


def _thresholds(x_sq, closest, dtype):
    """For :class:`_SeedIndex`: a value of ``dtype`` at or below
    ``q = (x^2 - closest) / 2`` for each point, ``(m,)``, so that a product
    ``x.c - c^2/2`` at or below it gives a distance ``x^2 - 2 (x.c - c^2/2)``
    at or above ``closest`` (rounding to float64 keeps that order).

    It is ``q`` lowered by ``2^-19 |q|`` (at least 16 units in the last place
    of ``dtype``: more than the rounding of ``q`` and of its conversion) and by
    a tiny absolute amount.  An overflow to ``+inf`` is capped at the largest
    finite value; one to ``-inf`` is safe as it is."""
    half = 0.5 * (x_sq - closest)
    slack = max(16 * np.finfo(dtype).eps, 2.0**-19)
    with np.errstate(over="ignore"):
        value = (half - np.abs(half) * slack - 1e-30).astype(dtype)
    return np.minimum(value, np.finfo(dtype).max)


def _matmul(a, b):
    """``a @ b`` for a thin product (``a`` of few rows or ``b`` of few
    columns), in pieces small enough that OpenBLAS computes each on one thread.

    OpenBLAS spreads a product over threads above ``2^18`` multiply-adds, and
    waking them costs more than these products take (and far more, erratically,
    on a busy machine).  Every element is the same as in one whole product:
    BLAS computes each by the same kernel whatever the matrix sizes, provided
    both are matrices; the pieces are cut evenly, so none is a single row or
    column (NumPy sends those to a matrix-vector routine that rounds
    differently).  With more than ``_THIN_INNER`` terms per element (points
    of many dimensions) the product is done whole: the pieces would be too
    thin for BLAS to run at full speed, and the threads pay for themselves.
    (There BLAS may also round an element differently with the shape of the
    whole product; it stays deterministic, as the shapes are the same in
    every run.)"""
    m, inner = a.shape
    n = b.shape[1]
    pieces = -(-(m * n * inner) // (1 << 18))
    if pieces <= 1 or max(m, n) < 4 or inner > _THIN_INNER:
        return a @ b
    out = np.empty((m, n), dtype=np.result_type(a, b))
    if n >= m:
        bounds = np.linspace(0, n, min(pieces, n // 2) + 1).astype(int)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            np.matmul(a, b[:, lo:hi], out=out[:, lo:hi])
    else:
        bounds = np.linspace(0, m, min(pieces, m // 2) + 1).astype(int)
        for lo, hi in zip(bounds[:-1], bounds[1:]):
            np.matmul(a[lo:hi], b, out=out[lo:hi])
    return out


def _spatial_order(columns):
    """A permutation ``(n,)`` of the points ``columns (d, n)`` that groups them
    by cell of a 32-step grid over (at most) their first three coordinates,
    cells in Z order, so that runs of consecutive points are compact in space."""
    spread = np.zeros(32, dtype=np.uint16)  # the 5 bits of a cell index, 3 apart
    for bit in range(5):
        spread |= ((np.arange(32, dtype=np.uint16) >> bit) & 1) << (3 * bit)
    code = np.zeros(columns.shape[1], dtype=np.uint16)
    for axis, coord in enumerate(columns[:3]):
        low, high = coord.min(), coord.max()
        cells = ((coord - low) * (31.99 / (high - low) if high > low else 0.0)).astype(np.uint16)
        code |= spread[cells] << axis
    return np.argsort(code, kind="stable")


# minibatch_kmeans: a centroid is re-seeded when its count falls below this
# fraction of the largest count (scikit-learn's reassignment_ratio), checked
# when a count is 0 or after every 10 k points drawn since the last check.
_REASSIGN_RATIO = 0.01


def minibatch_kmeans(
    points,
    k: int,
    *,
    weights=None,
    init="k-means++",
    batch_size: int = 1024,
    max_iter: int = 100,
    tol: float = 0.0,
    max_no_improvement: int | None = 10,
    seed=None,
    on_progress: ProgressCallback | None = None,
) -> KMeansResult:
    """Cluster ``points`` into ``k`` clusters with mini-batch k-means (Sculley 2010).

    Each step draws ``batch_size`` points, assigns them to their nearest
    centroid, and moves each centroid ``c`` that got points towards their
    mean: ``c <- (1 - eta) c + eta * mean`` with ``eta = m / v``, where ``m``
    is the number of the batch's points it got and ``v`` the number it got
    in all the steps so far (Sculley's per-point learning rate ``1 / v``,
    applied to the batch at once, as scikit-learn does).  The memory used is
    the input plus ``O(k d + batch_size d)``: the points are never copied.

    Parameters
    ----------
    points : (n, d) array_like of real numbers
        As for :func:`kmeans`; float32 points are multiplied in float32.
    k : int
        Number of clusters, 1 to ``n``.
    weights : (n,) array_like, optional
        Non-negative weights, as for :func:`kmeans`.  The batches are drawn
        with replacement with probability proportional to the weight, and
        every drawn point counts once: in expectation this is mini-batch
        k-means on the points repeated ``weights`` times.  The initial
        centroids are chosen with the weights, and the returned distortion
        is weighted.  Default: uniform draws.
    init : {"k-means++", "random"} or (k, d) array_like
        As for :func:`kmeans`, but "k-means++" and "random" run on a random
        subset of ``max(3 batch_size, 3 k)`` points of positive weight (all
        of them when there are fewer), drawn without replacement.
    batch_size : int
        Points per step, >= 1 (default 1024).
    max_iter : int
        Passes over the data, >= 1 (default 100): at most
        ``max(1, max_iter * n // batch_size)`` steps.
    tol : float
        >= 0 (default 0, off).  When positive, the run stops after a step in
        which the centroids moved by a total squared distance at most ``tol``
        times the mean variance of the coordinates (scikit-learn's rule).
    max_no_improvement : int or None
        Early stop (default 10; None turns it off): the run stops when the
        smoothed batch inertia (see ``history``) has not reached a new low
        for this many steps in a row.
    seed : None, int or numpy.random.Generator
        Seed of the one generator used for every random choice: the same seed
        and input give the same result.
    on_progress : callable(fraction) -> bool or None, optional
        Called after every step with ``step / max_steps`` and with 1.0 at the
        end; never decreasing.  Returning ``False`` stops the work with
        :class:`quantize.Cancelled`.

    Returns
    -------
    KMeansResult
        ``labels`` and ``distortion`` are computed over all the points with
        the returned centroids (in blocks), exactly as :func:`kmeans` reports
        them.  ``n_iter`` is the number of steps; ``converged`` is True when
        an early stop (``tol`` or ``max_no_improvement``) ended the run before
        the last step.  ``history (n_iter,)`` holds, after each step, the
        exponentially weighted average of the batches' inertia (mean squared
        distance of a batch's points to their nearest centroid before the
        step moved it), with factor ``min(1, 2 batch_size / (n + 1))`` as in
        scikit-learn: a noisy estimate of the distortion, not a bound of it.
        A cluster is never empty when the data has at least ``k`` distinct
        points of positive weight: centroids that get few points are
        re-seeded at random points of the batch during the run (as in
        scikit-learn), and a centroid left without points at the end is
        moved to the point served worst (as :func:`kmeans` does) and the
        labels computed again.

    Raises
    ------
    ParameterError
        (a ``ValueError``) when an argument is out of range, with the
        messages of :func:`kmeans`.

    Examples
    --------
    >>> import numpy as np
    >>> pts = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> res = minibatch_kmeans(pts, 2, init=np.array([[0.0], [11.0]]), batch_size=4, seed=0)
    >>> res.labels.tolist()
    [0, 0, 1, 1]
    """
    X, w, k, start, _, tol, max_iter, dtype = _validate(points, k, weights, init, 1, tol, max_iter)
    if not _is_int(batch_size) or batch_size < 1:
        raise ParameterError(f"batch_size must be an integer >= 1, got {batch_size!r}")
    if max_no_improvement is not None and (not _is_int(max_no_improvement) or max_no_improvement < 1):
        raise ParameterError(f"max_no_improvement must be None or an integer >= 1, got {max_no_improvement!r}")
    rng = np.random.default_rng(seed)
    n, d = X.shape
    batch_size = int(batch_size)
    w_sum = w.sum()
    mean, variance = _mean_and_variance(X, None if weights is None else w, tol > 0)
    tolerance = tol * variance
    if start is not None:
        centroids = start - mean
    else:
        positive = np.flatnonzero(w > 0)
        size = min(len(positive), max(3 * batch_size, 3 * k))
        subset = np.sort(rng.choice(positive, size=size, replace=False)) if size < len(positive) else positive
        S = X[subset].astype(np.float64) - mean
        s_sq = np.einsum("ij,ij->i", S, S)
        centroids = _init_centroids(S, _augment(S).astype(dtype), w[subset], s_sq, k, init, rng)
        del S
    cumulative = None if weights is None else np.cumsum(w)
    counts = np.zeros(k)
    max_steps = max(1, (max_iter * n) // batch_size)
    alpha = min(1.0, 2.0 * batch_size / (n + 1))
    # Buffers reused by every step (fresh large arrays cost page faults each time).
    batch = np.empty((batch_size, d), dtype=dtype)
    in_order = np.empty((batch_size, d), dtype=dtype)
    scores = np.empty((batch_size, k), dtype=dtype)
    sums = np.empty((k, d))
    every = np.arange(batch_size)
    mean_d = mean.astype(dtype)
    direct = X.dtype == dtype and X.flags.c_contiguous
    history = []
    ewa = best_ewa = None
    stale = since_reassign = 0
    converged = False
    step = 0
    for step in range(1, max_steps + 1):
        if cumulative is None:
            index = rng.integers(0, n, batch_size)
        else:
            index = np.minimum(np.searchsorted(cumulative, rng.random(batch_size) * cumulative[-1], side="right"),
                               n - 1)
        if direct:
            np.take(X, index, axis=0, out=batch)
        else:
            batch[...] = X[index]
        batch -= mean_d
        # Assignment: the largest x.c - c^2/2, in the points' precision.
        c_sq = np.einsum("ij,ij->i", centroids, centroids)
        np.matmul(batch, centroids.T.astype(dtype), out=scores)
        scores += (-0.5 * c_sq).astype(dtype)
        labels = scores.argmax(axis=1)
        best = scores[every, labels].astype(np.float64)
        sq = np.maximum(np.einsum("ij,ij->i", batch, batch).astype(np.float64) - 2.0 * best, 0.0)
        batch_inertia = float(sq.mean())
        # Move each centroid to the running mean of all the points it got:
        # float64 sums of the batch's points cluster by cluster.
        order = np.argsort(labels, kind="stable")
        np.take(batch, order, axis=0, out=in_order)
        sorted_labels = labels[order]
        firsts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
        got = sorted_labels[firsts]
        members = np.diff(np.r_[firsts, batch_size])
        for place, (lo, hi) in enumerate(zip(firsts.tolist(), (firsts[1:].tolist() + [batch_size]))):
            np.add.reduce(in_order[lo:hi], axis=0, dtype=np.float64, out=sums[place])
        old = centroids
        centroids = centroids.copy()
        counts[got] += members
        centroids[got] = old[got] + (sums[: len(got)] - members[:, None] * old[got]) / counts[got, None]
        # Re-seed the centroids that get too few points, as scikit-learn does.
        since_reassign += batch_size
        if k > 1 and ((counts == 0).any() or since_reassign >= 10 * k):
            since_reassign = 0
            starved = np.flatnonzero(counts < _REASSIGN_RATIO * counts.max())
            if starved.size:
                starved = starved[np.argsort(counts[starved], kind="stable")][: max(1, batch_size // 2)]
                distinct = np.unique(index)
                starved = starved[: len(distinct)]
                chosen = rng.choice(distinct, size=len(starved), replace=False)
                centroids[starved] = X[chosen].astype(np.float64) - mean
                kept = np.ones(k, dtype=bool)
                kept[starved] = False
                counts[starved] = counts[kept].min() if kept.any() else 0.0
        ewa = batch_inertia if ewa is None else ewa * (1.0 - alpha) + batch_inertia * alpha
        history.append(ewa)
        notify(on_progress, step / max_steps)
        if tol > 0 and float(np.einsum("ij,ij->", centroids - old, centroids - old)) <= tolerance:
            converged = step < max_steps
            break
        if best_ewa is None or ewa < best_ewa:
            best_ewa, stale = ewa, 0
        else:
            stale += 1
        if max_no_improvement is not None and stale >= max_no_improvement:
            converged = step < max_steps
            break
    del batch, in_order, scores
    labels, sq = _label_all(X, w, mean, centroids, dtype)
    notify(on_progress, 1.0)
    return KMeansResult(
        centroids=centroids + mean,
        labels=labels,
        distortion=float(w @ sq) / w_sum,
        n_iter=step,
        converged=converged,
        history=np.array(history),
    )


def _mean_and_variance(X, w, need_variance):
    """The (weighted) mean ``(d,)`` float64 of the rows of ``X (n, d)`` and,
    when asked (else 0.0), the mean over the coordinates of their variances,
    in float64 a block at a time (``w`` None means all ones)."""
    n, d = X.shape
    step = max(2, _PAIR_ELEMENTS // d)
    buffer = np.empty((min(step, n), d))
    w_sum = n if w is None else w.sum()
    mean = np.zeros(d)
    for lo in range(0, n, step):
        block = buffer[: min(step, n - lo)]
        np.copyto(block, X[lo:lo + step], casting="unsafe")
        mean += block.sum(axis=0) if w is None else w[lo:lo + step] @ block
    mean /= w_sum
    if not need_variance:
        return mean, 0.0
    sq = np.zeros(d)
    for lo in range(0, n, step):
        block = buffer[: min(step, n - lo)]
        np.copyto(block, X[lo:lo + step], casting="unsafe")
        block -= mean
        block *= block
        sq += block.sum(axis=0) if w is None else w[lo:lo + step] @ block
    return mean, float(np.mean(sq / w_sum))


def _nearest(rows, centroids, dtype):
    """Nearest centroid ``(m,) intp`` of each of ``rows (m, d)`` float64 (the
    largest ``x.c - c^2/2``, computed in ``dtype``) and the squared distance
    to it, ``x^2 - 2 (x.c - c^2/2)`` clipped at 0, ``(m,)`` float64."""
    c_aug = np.hstack([centroids, -0.5 * np.einsum("ij,ij->i", centroids, centroids)[:, None]])
    scores = _augment(rows).astype(dtype) @ c_aug.T.astype(dtype)
    labels = scores.argmax(axis=1)
    best = scores[np.arange(len(rows)), labels].astype(np.float64)
    return labels, np.maximum(np.einsum("ij,ij->i", rows, rows) - 2.0 * best, 0.0)


def _label_all(X, w, mean, centroids, dtype):
    """Labels ``(n,) int32`` of all points ``X (n, d)`` (any real dtype; the
    centred rows are multiplied in ``dtype``) and their exact squared
    distances ``(n,)`` float64, ``sum (x - c)^2``, in blocks of about
    ``_ROW_ELEMENTS`` coordinates.  A centroid left without points of
    positive weight is moved to the point served worst, and the labels
    computed again (at most ``k`` times), as :func:`_move_centroids` does."""
    n, d = X.shape
    k = len(centroids)
    step = min(n, max(2, _PAIR_ELEMENTS // d))
    rows = np.empty((step, d))
    products = rows if dtype == np.float64 else np.empty((step, d), dtype=dtype)
    scores = np.empty((step, k), dtype=dtype)
    own = np.empty((step, d))
    for attempt in range(k + 1):
        labels = np.empty(n, dtype=np.int32)
        sq = np.empty(n)
        c_t = centroids.T.astype(dtype)
        bias = (-0.5 * np.einsum("ij,ij->i", centroids, centroids)).astype(dtype)
        for lo in range(0, n, step):
            m = min(step, n - lo)
            np.subtract(X[lo:lo + m], mean, out=rows[:m])
            if products is not rows:
                np.copyto(products[:m], rows[:m], casting="same_kind")
            np.matmul(products[:m], c_t, out=scores[:m])
            scores[:m] += bias
            block_labels = scores[:m].argmax(axis=1)
            labels[lo:lo + m] = block_labels
            np.take(centroids, block_labels, axis=0, out=own[:m])
            rows[:m] -= own[:m]
            sq[lo:lo + m] = np.einsum("ij,ij->i", rows[:m], rows[:m])
        empty = np.flatnonzero(np.bincount(labels[w > 0], minlength=k) == 0)
        if not empty.size:
            break
        badness = np.where(w > 0, sq, -1.0)
        worst = np.argsort(badness, kind="stable")[::-1][: empty.size]
        if badness[worst[-1]] <= 0 or attempt == k:
            warnings.warn("fewer distinct points than clusters: some clusters stay empty",
                          RuntimeWarning, stacklevel=3)
            break
        centroids[empty] = X[worst].astype(np.float64) - mean
    return labels, sq
