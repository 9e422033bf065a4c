"""Mini-batch k-means (Sculley 2010): each step moves the centroids towards
the means of a small random batch of points, so that the memory and the time
of a step do not grow with the data.

The steps compute their scores with the bias added after the product
(``Entries(..., bias_after=True)`` of :mod:`quantize.core.nearest`), one block
per batch, and the last labelling passes over the points in blocks of
``LABEL_ELEMENTS`` coordinates.  The points are read a batch or a block at a
time and converted as they are read, so that a read-only memory map
(``np.load(path, mmap_mode="r")``, any real dtype) is never copied whole: the
memory a run takes beside the points is its ``(n,)`` outputs, the batch, the
k-means++ subset and one block.  A run multiplies on one BLAS thread, and
cuts the rows of a large step and of the last labelling among a few threads
of its own (:class:`_Workers`); the result does not depend on their number.
"""
from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from ..checks import check_int, is_int
from ..errors import ParameterError
from ..limits import default_jobs
from ..progress import ProgressCallback, notify
from .arguments import check_arguments
from .layouts import PAIR_ELEMENTS
from .nearest import Entries
from .result import KMeansResult
from .seeding import init_centroids

# A centroid is re-seeded when its count falls below this fraction of the
# largest count (scikit-learn's reassignment_ratio), checked when a count is 0
# or after every 10 k points drawn since the last check.
_REASSIGN_RATIO = 0.01

# The last labelling multiplies blocks of about LABEL_ELEMENTS coordinates and
# LABEL_SCORES scores (larger products run faster, on more threads).
LABEL_ELEMENTS = 1 << 18
LABEL_SCORES = 1 << 20
# A step's batch is cut among the workers from this many multiply-adds on.
PARALLEL_STEP = 1 << 22
MAX_WORKERS = 4


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
    the input plus ``O(n + k d + batch_size d)`` and one block of the last
    labelling: the points are never copied, and a read-only memory map of
    any real dtype is read a batch or a block at a time.

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
        As in scikit-learn the average starts at the second step: the first
        entry is the first batch's inertia alone (it measures the initial
        centroids) and the early stop does not count it.
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
    X, w, k, start, _, tol, max_iter, dtype = check_arguments(points, k, weights, init, 1, tol, max_iter)
    batch_size = check_int("batch_size", batch_size, low=1)
    if max_no_improvement is not None and (not is_int(max_no_improvement) or max_no_improvement < 1):
        raise ParameterError(f"max_no_improvement must be None or an integer >= 1, got {max_no_improvement!r}")
    rng = np.random.default_rng(seed)
    with _one_blas_thread(), _Workers() as workers:
        n = len(X)
        mean, variance = _mean_and_variance(X, None if weights is None else w, tol > 0)
        centroids = start - mean if start is not None else _start(X, w, mean, k, init, batch_size, dtype, rng)
        steps = _Steps(X, None if weights is None else w, mean, k, batch_size, dtype, workers)
        stop = _Stop(tol * variance if tol > 0 else None, max_no_improvement)
        max_steps = max(1, (max_iter * n) // batch_size)
        alpha = min(1.0, 2.0 * batch_size / (n + 1))
        history = []
        ewa = None
        converged = False
        step = 0
        for step in range(1, max_steps + 1):
            old = centroids
            centroids, batch_inertia = steps.step(centroids, rng)
            if step == 1:  # its batch measures the initial centroids: not averaged (as in scikit-learn)
                history.append(batch_inertia)
                notify(on_progress, step / max_steps)
                continue
            ewa = batch_inertia if ewa is None else ewa * (1.0 - alpha) + batch_inertia * alpha
            history.append(ewa)
            notify(on_progress, step / max_steps)
            if stop(ewa, old, centroids):
                converged = step < max_steps
                break
        del steps
        labels, sq = _label_all(X, w, mean, centroids, dtype, workers)
        notify(on_progress, 1.0)
        return KMeansResult(
            centroids=centroids + mean,
            labels=labels,
            distortion=float(w @ sq) / w.sum(),
            n_iter=step,
            converged=converged,
            history=np.array(history),
        )


class _Workers:
    """Threads for the large products of a run, one per core up to
    ``MAX_WORKERS`` (NumPy lets go of the interpreter in a product, and each
    multiplies on one BLAS thread): unlike BLAS's own threads they wait
    without spinning, so a busy machine costs them only the time of the
    other work.  ``map`` as the builtin's, at once in the threads."""

    def __init__(self):
        self.count = max(1, min(MAX_WORKERS, default_jobs()))
        self.pool = ThreadPoolExecutor(self.count) if self.count > 1 else None

    def __len__(self):
        return self.count

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.pool is not None:
            self.pool.shutdown()

    def map(self, fn, *args):
        return map(fn, *args) if self.pool is None else self.pool.map(fn, *args)


def _one_blas_thread():
    """One BLAS thread for a run, as scikit-learn's MiniBatchKMeans takes for
    its steps: their products are small (a batch, a few candidates of the
    seeding), and waking BLAS's threads for each costs more than it gives, far
    more on a busy machine, where they spin while the other core is taken
    (K = 64 on 60,000 x 784 digits, with the other core busy: 2.2 s on one
    BLAS thread, 4.8 s on two); the large products are cut among
    :class:`_Workers` instead.  With one thread the result does not depend on
    the machine's cores (a product split over BLAS threads may round
    differently; the workers' parts are computed as they would be whole)."""
    from threadpoolctl import threadpool_limits

    return threadpool_limits(limits=1, user_api="blas")


def _start(X, w, mean, k, init, batch_size, dtype, rng):
    """Starting centroids ``(k, d)`` float64, centred on ``mean``, by
    ``init`` on a random subset of ``max(3 batch_size, 3 k)`` points of
    positive weight (all of them when there are fewer)."""
    positive = np.flatnonzero(w > 0)
    size = min(len(positive), max(3 * batch_size, 3 * k))
    subset = np.sort(rng.choice(positive, size=size, replace=False)) if size < len(positive) else positive
    S = X[subset].astype(np.float64)
    S -= mean
    s_sq = np.einsum("ij,ij->i", S, S)
    # [x, 1] in Fortran order: the seeding's products (candidates) @ Xa.T then
    # read C-ordered rows, three times as fast as a transposed C array, and
    # the same numbers.
    Xa = np.empty((size, S.shape[1] + 1), dtype=dtype, order="F")
    Xa[:, :-1] = S
    Xa[:, -1] = 1.0
    return init_centroids(S, Xa, w[subset], s_sq, k, init, rng)


class _Steps:
    """The steps of one run: the buffers every step reuses (fresh large
    arrays cost page faults each time) and the count of points each centroid
    got so far.  ``X (n, d)`` as given, ``w (n,)`` float64 or None (uniform
    draws), ``mean (d,)`` float64, ``dtype`` of the products."""

    def __init__(self, X, w, mean, k, batch_size, dtype, workers):
        d = X.shape[1]
        self.workers = workers
        # The batch's rows cut among the workers when the step is large.
        parts = len(workers) if batch_size * d * k >= PARALLEL_STEP else 1
        self.parts = np.linspace(0, batch_size, parts + 1).astype(int).tolist()
        self.X, self.mean, self.k, self.dtype = X, mean, k, dtype
        self.cumulative = None if w is None else np.cumsum(w)
        self.counts = np.zeros(k)
        self.since_reassign = 0
        self.batch = np.empty((batch_size, d), dtype=dtype)
        self.in_order = np.empty((batch_size, d), dtype=dtype)
        self.scores = np.empty((batch_size, k), dtype=dtype)
        # The clusters' sums of a batch in the products' precision (as scikit-learn
        # keeps float32 sums for float32 points), then the moves in float64.
        self.sums = np.zeros((k, d), dtype=dtype)
        self.got = np.arange(0)  # the clusters whose sums the last step wrote
        self.every = np.arange(batch_size)
        self.mean_d = mean.astype(dtype)
        self.direct = X.dtype == dtype and X.flags.c_contiguous

    def step(self, centroids, rng):
        """One step from ``centroids (k, d)`` float64 (centred): the moved
        centroids (a new array) and the batch's inertia, the mean squared
        distance of its points to their nearest centroid before the move."""
        index = self._draw(rng)
        entries = Entries(centroids, self.dtype, bias_after=True)
        bounds = self.parts
        run = map if len(bounds) == 2 else self.workers.map
        found = list(run(lambda lo, hi: self._assign(entries, index, lo, hi), bounds[:-1], bounds[1:]))
        labels = found[0][0] if len(found) == 1 else np.concatenate([part[0] for part in found])
        sq = found[0][1] if len(found) == 1 else np.concatenate([part[1] for part in found])
        moved = self._move(centroids, labels)
        self._reseed(moved, index, rng)
        return moved, float(sq.mean())

    def _assign(self, entries, index, lo, hi):
        """Rows ``lo:hi`` of the batch: gathered from the points ``index[lo:hi]``
        and centred (in ``dtype``), and their nearest entry (the largest
        ``x.c - c^2/2``) and squared distance to it ``(hi - lo,)`` float64
        (clipped at 0).  With a large batch each worker does a part (the same
        numbers: a score is computed the same in any block)."""
        batch = self.batch[lo:hi]
        if self.direct:
            np.take(self.X, index[lo:hi], axis=0, out=batch, mode="clip")  # (valid indices; "clip" skips a check)
        else:
            batch[...] = self.X[index[lo:hi]]
        batch -= self.mean_d
        labels, scores = entries.nearest_in(batch, out=self.scores[lo:hi])
        best = scores[self.every[: hi - lo], labels].astype(np.float64)
        return labels, np.maximum(np.einsum("ij,ij->i", batch, batch).astype(np.float64) - 2.0 * best, 0.0)

    def _draw(self, rng):
        """The batch's points ``(batch_size,)``, drawn with replacement by
        weight, in increasing order (rows read in the order they lie in memory,
        or in a mapped file)."""
        n, size = len(self.X), len(self.batch)
        if self.cumulative is None:
            index = rng.integers(0, n, size)
        else:
            cumulative = self.cumulative
            index = np.minimum(np.searchsorted(cumulative, rng.random(size) * cumulative[-1], side="right"), n - 1)
        index.sort()
        return index

    def _move(self, centroids, labels):
        """Each centroid moved to the running mean of all the points it got:
        sums of the batch's points cluster by cluster (in ``dtype``), the move
        in float64."""
        size = len(labels)
        order = np.argsort(labels, kind="stable")
        np.take(self.batch, order, axis=0, out=self.in_order, mode="clip")
        sorted_labels = labels[order]
        firsts = np.flatnonzero(np.r_[True, sorted_labels[1:] != sorted_labels[:-1]])
        got = sorted_labels[firsts]
        members = np.diff(np.r_[firsts, size])
        sums = self.sums  # (k, d), 0 for the clusters that got no point
        sums[self.got] = 0
        for lo, hi, label in zip(firsts.tolist(), firsts[1:].tolist() + [size], got.tolist()):
            np.add.reduce(self.in_order[lo:hi], axis=0, out=sums[label])
        self.got = got
        got_count = np.zeros(self.k)
        got_count[got] = members
        counts = self.counts
        counts += got_count
        # c + (sums - m c) / v for every centroid (c itself where m = 0), in whole rows
        moved = np.multiply(got_count[:, None], centroids)
        np.subtract(sums, moved, out=moved)
        moved /= np.maximum(counts, 1.0)[:, None]
        moved += centroids
        return moved

    def _reseed(self, centroids, index, rng):
        """Re-seed (in place) the centroids that get too few points at random
        points of the batch ``index``, as scikit-learn does."""
        k, counts = self.k, self.counts
        self.since_reassign += len(index)
        if k == 1 or not ((counts == 0).any() or self.since_reassign >= 10 * k):
            return
        self.since_reassign = 0
        starved = np.flatnonzero(counts < _REASSIGN_RATIO * counts.max())
        if not starved.size:
            return
        starved = starved[np.argsort(counts[starved], kind="stable")][: max(1, len(index) // 2)]
        distinct = np.unique(index)
        starved = starved[: len(distinct)]
        chosen = rng.choice(distinct, size=len(starved), replace=False)
        centroids[starved] = self.X[chosen].astype(np.float64) - self.mean
        kept = np.ones(k, dtype=bool)
        kept[starved] = False
        counts[starved] = counts[kept].min() if kept.any() else 0.0


class _Stop:
    """The early stops of a run: ``tolerance`` on the centroids' total squared
    shift (None: off), then ``patience`` steps without a new low of the
    smoothed inertia (None: off)."""

    def __init__(self, tolerance, patience):
        self.tolerance, self.patience = tolerance, patience
        self.best, self.stale = None, 0

    def __call__(self, ewa, old, centroids) -> bool:
        """True when the run stops after a step from ``old`` to ``centroids``
        that left the smoothed inertia at ``ewa``."""
        if self.tolerance is not None and float(np.einsum("ij,ij->", centroids - old, centroids - old)) \
                <= self.tolerance:
            return True
        if self.best is None or ewa < self.best:
            self.best, self.stale = ewa, 0
        else:
            self.stale += 1
        return self.patience is not None and self.stale >= self.patience


def _label_all(X, w, mean, centroids, dtype, workers):
    """Labels ``(n,) int32`` of all points ``X (n, d)`` (any real dtype) and
    their exact squared distances ``(n,)`` float64, ``sum (x - c)^2``, in
    blocks of about ``LABEL_ELEMENTS`` coordinates read one at a time (a
    memory map stays on disk).  The rows are centred in ``dtype`` (``x -
    mean`` with the mean rounded to it, as the steps do) and multiplied in
    it, the bias added after the product; the distances are taken from the
    rows as given and the centroids placed back, ``mean + c``, in float64.  A
    centroid left without points of positive weight is moved to the point
    served worst, and the labels computed again (at most ``k`` times), as
    :func:`~quantize.core.lloyd._move_centroids` does.  ``workers`` (an
    executor) label contiguous parts of the rows at once; the numbers do not
    depend on how many (a score is computed the same in any block)."""
    n, d = X.shape
    k = len(centroids)
    shift = mean.astype(dtype)
    # The rows cut evenly among the workers, each labelling its part in blocks.
    bounds = np.linspace(0, n, min(len(workers), max(1, n // _label_rows(d, k))) + 1).astype(int).tolist()
    for attempt in range(k + 1):
        labels = np.empty(n, dtype=np.int32)
        sq = np.empty(n)
        entries = Entries(centroids, dtype, bias_after=True)
        placed = centroids + mean
        list(workers.map(lambda lo, hi: _label_part(X[lo:hi], shift, entries, placed, labels[lo:hi], sq[lo:hi]),
                         bounds[:-1], bounds[1:]))
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


def _label_part(X, shift, entries, placed, labels, sq):
    """:func:`_label_all` of the rows ``X (m, d)`` into ``labels`` and ``sq``
    (m,), in blocks of :func:`_label_rows` rows."""
    (m, d), k, dtype = X.shape, entries.m, entries.dtype
    step = min(m, _label_rows(d, k))
    products = np.empty((step, d), dtype=dtype)
    scores = np.empty((step, k), dtype=dtype)
    own = np.empty((step, d))
    for lo in range(0, m, step):
        block = X[lo:lo + step]
        size = len(block)
        np.subtract(block, shift, out=products[:size], casting="unsafe")
        block_labels, _ = entries.nearest_in(products[:size], out=scores[:size])
        labels[lo:lo + size] = block_labels
        np.take(placed, block_labels, axis=0, out=own[:size], mode="clip")
        np.subtract(block, own[:size], out=own[:size])
        np.einsum("ij,ij->i", own[:size], own[:size], out=sq[lo:lo + size])


def _label_rows(d, k):
    """Rows per product of the last labelling: about ``LABEL_ELEMENTS``
    coordinates and ``LABEL_SCORES`` scores, at least 2."""
    return max(2, min(LABEL_ELEMENTS // d, LABEL_SCORES // k))


def _mean_and_variance(X, w, need_variance):
    """The (weighted) mean ``(d,)`` float64 of the rows of ``X (n, d)`` and,
    when asked (else 0.0), the mean over the coordinates of their variances,
    in float64 a block at a time (``w`` None means all ones)."""
    n, d = X.shape
    step = max(2, PAIR_ELEMENTS // d)
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
