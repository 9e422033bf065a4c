"""The k-means core: weighted Lloyd iterations on any ``(n, d)`` array of points.

Three layers, as in scikit-learn: :func:`kmeans` validates its arguments and runs
the restarts; :func:`~quantize.core.seeding.init_centroids` picks starting
centroids; :func:`_lloyd` is one run that assumes its input was checked.
Nothing here prints: progress goes up through the ``on_progress`` callback.

The stop rule is the classic one, made relative so that it does not depend on
the data's scale: a run stops after the iteration in which the distortion ``J``
fell by no more than ``tol * J_previous`` (the classic absolute threshold
``epsilon`` is ``tol * J``), when no label changed, or at ``max_iter``.
"""
from __future__ import annotations

import warnings
from dataclasses import replace

import numpy as np

from ..progress import ProgressCallback, notify
from .arguments import check_arguments
from .layouts import ROW_LAYOUT_D, ColumnPoints, RowPoints, sq_distances, sq_to_own
from .nearest import COLUMN_ENTRIES, Entries, rounding_margin, search
from .result import KMeansResult
from .seeding import init_centroids


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
        float64 array).  See :class:`ColumnPoints` and :class:`RowPoints`.
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
    X, w, k, start, n_init, tol, max_iter, dtype = check_arguments(
        points, k, weights, init, n_init, tol, max_iter
    )
    rng = np.random.default_rng(seed)
    layout = RowPoints if X.shape[1] >= ROW_LAYOUT_D else ColumnPoints
    data = layout(X, w, dtype)
    del X
    mean = data.mean
    best = None
    for run in range(n_init):
        centroids = start - mean if start is not None else init_centroids(
            data.X, data.Xa, w, data.x_sq, k, init, rng)
        report = None if on_progress is None else (
            lambda it, run=run: notify(on_progress, (run + it / max_iter) / n_init))
        result = _lloyd(data, centroids, tol, max_iter, report)
        notify(on_progress, (run + 1) / n_init)
        if best is None or result.distortion < best.distortion:
            best = result
    return replace(best, centroids=best.centroids + mean)


def _lloyd(data, centroids, tol, max_iter, report):
    """One k-means run from ``centroids``; assumes validated input, laid out
    and centred in ``data`` (:class:`~quantize.core.layouts.ColumnPoints` or
    :class:`~quantize.core.layouts.RowPoints`).

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
    (:func:`~quantize.core.nearest.rounding_margin`) bounds how far those rounded products can put a
    centroid from its exact squared distance, and every decision taken without
    them keeps that much room: ``upper`` bounds ``sqrt(distance^2 + margin)``
    rather than the distance, and two centroids are told apart by their exact
    distances only when the squares differ by more than ``margin``.  The
    cluster sums are updated in the same order as plain Lloyd's, so the
    centroids are the same to the last bit.

    ``Xa`` is ``[X, 1]`` in the precision of the distance products (float32
    for float32 input, as scikit-learn keeps the input's precision); sums,
    centroids and the distortion are always float64.

    With many dimensions (:class:`~quantize.core.layouts.RowPoints`) the same
    bounds and margin (scaled with ``d``) apply, but BLAS may round an element of a product of
    hundreds of terms differently with the shape of the whole product, so
    there a label may differ from plain Lloyd's only where two centroids'
    squared distances are within the margin of each other (a tie within
    rounding); in float64 such ties are vanishingly rare and the tests find
    the labels of brute-force Lloyd.
    """
    k = len(centroids)
    w, x_sq = data.w, data.x_sq
    w_sum, weighted_sq_sum = w.sum(), float(w @ x_sq)
    bounds = _Bounds(data, centroids)
    labels = bounds.labels
    members, mass, sums = data.sums(labels, k)
    distortion = float(w @ bounds.sq_first) / w_sum
    history = [distortion]
    converged = False
    iteration = 0
    for iteration in range(1, max_iter + 1):
        moved = _move_centroids(data, labels, members, mass, sums, centroids)
        shift = np.sqrt(sq_to_own(moved, centroids))
        centroids = moved
        gaps = _Gaps(centroids, shift)
        check = bounds.loosen(shift, gaps)
        new_labels = bounds.reassign(data, centroids, gaps, check)
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


class _Bounds:
    """The bounds of :func:`_lloyd` for every point, each ``(n,)``: its
    centroid ``labels`` and runner-up ``runner`` (intp), ``upper`` on its
    distance to ``labels``, ``near`` (to ``runner``) and ``rest`` (to every
    other centroid), all with the room ``margin`` for rounding.  Made by a
    full search with ``centroids``; ``sq_first (n,)`` is the squared distance
    that search found to the nearest centroid."""

    def __init__(self, data, centroids):
        self.margin = rounding_margin(data.Xa.dtype, data.x_sq, data.X.shape[1])
        self.labels, self.runner, sq = _search(data.Xa, data.x_sq, centroids)
        self.upper, self.near, self.rest = _bounds(sq, self.margin)
        self.sq_first = sq[0]

    def loosen(self, shift, gaps):
        """Widen the bounds by the centroids' last ``shift (k,)`` (their
        :class:`_Gaps` ``gaps``); the points ``(m,)`` whose label is in doubt."""
        labels, upper = self.labels, self.upper
        upper += np.take(shift, labels)
        self.near -= np.take(shift, self.runner)
        self.rest -= np.take(gaps.drift, labels)
        np.minimum(self.rest, np.take(gaps.reach, labels) - upper, out=self.rest)
        check = upper >= np.take(gaps.half, labels)
        check &= (upper >= self.near) | (upper >= self.rest)
        return np.flatnonzero(check)

    def reassign(self, data, centroids, gaps, check):
        """The labels ``(m,)`` of the points ``check (m,)`` with ``centroids``,
        their runners-up and bounds updated (``labels`` is left to the caller):
        by their exact distances to their centroid ``a`` and runner-up ``b``
        where those settle it, else by a search among all centroids."""
        new_labels = np.take(self.labels, check)
        if not check.size:
            return new_labels
        margin, runner = self.margin, self.runner
        a, b = new_labels, np.take(runner, check)
        sq_a, sq_b = data.sq_to_pair(check, centroids, a, b)
        b_wins = sq_b < sq_a
        win, lose = np.where(b_wins, b, a), np.where(b_wins, a, b)
        sq_win, sq_lose = np.minimum(sq_a, sq_b), np.maximum(sq_a, sq_b)
        up = np.sqrt(sq_win + margin)
        others = gaps.beside(a, b) - np.sqrt(sq_a)  # to the centroids but a and b
        np.maximum(others, np.take(self.rest, check), out=others)
        settled = np.flatnonzero((sq_lose > sq_win + margin) & (up < others))
        done = check[settled]
        new_labels[settled] = win[settled]
        runner[done] = lose[settled]
        self.upper[done], self.near[done], self.rest[done] = up[settled], np.sqrt(sq_lose[settled]), others[settled]
        if settled.size < check.size:
            search_again = np.flatnonzero((sq_lose <= sq_win + margin) | (up >= others))
            redo = check[search_again]
            new_labels[search_again], runner[redo], sq = _search(data.Xa, data.x_sq[redo], centroids, redo)
            self.upper[redo], self.near[redo], self.rest[redo] = _bounds(sq, margin)
        return new_labels


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
    """The assignment step with two runners-up: :func:`~quantize.core.nearest.search`
    with ``top=3`` of the augmented points ``Xa (n, d + 1)``, or of its rows
    ``index (n,)`` when given (``x_sq (n,)`` is then of those rows).

    Returns ``labels (n,) intp`` (the largest ``x.c - c^2/2``, the lowest
    index on ties), ``runner (n,) intp`` (the second largest; ``labels`` when
    k is 1) and ``sq (3, n)`` float64: ``x^2 - 2 (x.c - c^2/2)`` for the best
    three, clipped at 0 (infinity where k is smaller).  Up to
    ``COLUMN_ENTRIES`` centroids a block is laid out one centroid per row.  A
    float32 point gets the same labels here whichever points it is searched
    with (see :mod:`quantize.core.nearest`).
    """
    labels, scores = search(Xa, Entries(centroids, Xa.dtype), top=3, index=index,
                            columns=len(centroids) <= COLUMN_ENTRIES)
    runner = labels[1] if len(centroids) > 1 else labels[0]
    return labels[0], runner, np.maximum(x_sq - 2.0 * scores, 0.0)


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
        sq = sq_distances(centroids, c_sq, centroids)
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
