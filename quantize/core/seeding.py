"""Starting centroids for the k-means core: ``k`` points drawn by weight
("random"), or the greedy, weighted k-means++ of Arthur & Vassilvitskii (2007),
whose later steps skip the points a candidate cannot serve better
(:class:`_SeedIndex`, :class:`_Draws`) yet choose exactly the centroids that
computing every distance would."""
from __future__ import annotations

import numpy as np

from .layouts import ROW_LAYOUT_D, sq_distances
from .nearest import nearest_centroid, rounding_margin

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

# _matmul does a product whole when its elements have more terms than this.
_THIN_INNER = 64


def init_centroids(X, Xa, w, x_sq, k, init, rng):
    """Starting centroids, ``(k, d)`` float64, by the named method ``init``
    ("random" or "k-means++") and the generator ``rng``; ``X (n, d)`` are the
    centred points (float64, or the row layout's own dtype), ``Xa (n, d + 1)``
    them augmented in the products' dtype, ``w (n,)`` and ``x_sq (n,)``
    float64 their weights and squared norms."""
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
    closest = sq_distances(X, x_sq, centroids[:1])[:, 0]
    potential = float(w @ closest)
    index = draws = None
    for c in range(1, k):
        if potential <= 0:  # every point sits on a centroid already
            centroids[c] = X[rng.choice(np.flatnonzero(w > 0))]
            continue
        if (index is None and k >= _SEED_SPARSE_K and n >= _SEED_SPARSE_N and c >= _SEED_DENSE_STEPS
                and d < ROW_LAYOUT_D):
            index = _SeedIndex(X, Xa, x_sq, closest)
            draws = _Draws(w * closest)
        if index is None:
            centroids[c], closest, potential = _dense_step(X, Xa, w, x_sq, closest, n_trials, rng)
        else:
            centroids[c], potential = _sparse_step(X, Xa, w, closest, index, draws, n_trials, rng)
    return centroids


def _candidates(X, candidates):
    """The candidate points ``(t, d)`` float64 of indices ``candidates (t,)``
    and ``[c, -c^2/2] (t, d + 1)`` float64."""
    cand = X[candidates].astype(np.float64, copy=False)
    return cand, np.hstack([cand, -0.5 * np.einsum("ij,ij->i", cand, cand)[:, None]])


def _dense_step(X, Xa, w, x_sq, closest, n_trials, rng):
    """A step of :func:`_kmeans_plus_plus` that computes every candidate's
    distance to every point: the new centroid ``(d,)``, the new ``closest
    (n,)`` and the potential."""
    cumulative = np.cumsum(w * closest)
    targets = rng.random(n_trials) * cumulative[-1]
    cand, cand_aug = _candidates(X, np.minimum(np.searchsorted(cumulative, targets, side="right"), len(X) - 1))
    # (trials, n) squared distances from the candidates, as x^2 - 2 (x.c - c^2/2)
    trial = _matmul(cand_aug.astype(Xa.dtype), Xa.T)
    trial = x_sq - 2.0 * trial
    np.minimum(trial, closest, out=trial)
    np.maximum(trial, 0.0, out=trial)
    potentials = trial @ w
    best = int(np.argmin(potentials))
    return cand[best], trial[best], float(potentials[best])


def _sparse_step(X, Xa, w, closest, index, draws, n_trials, rng):
    """A step of :func:`_kmeans_plus_plus` through ``index`` and ``draws``,
    which it updates with ``closest (n,)`` (lowered in place): the new
    centroid ``(d,)`` and the potential."""
    # Rounding of a sum of n terms relative to the sum, for each of two ways of summing
    doubt = 2.0 * _SUM_SLACK * (len(X) + 4) * np.finfo(np.float64).eps / 2
    cand, cand_aug = _candidates(X, draws.draw(rng.random(n_trials)))
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
    lower = np.flatnonzero((trials == best) & (trial < old))
    points, trial = np.take(points, lower), np.take(trial, lower)
    if points.size:
        closest[points] = trial
        index.lowered(points, trial)
        draws.lowered(points, np.take(w, points) * trial)
    # The potential is 0 just when every w * closest is (a sum of non-negative terms).
    return cand[best], draws.total()


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


class _SeedIndex:
    """Where k-means++ candidates can lower ``closest``, for :func:`_kmeans_plus_plus`.

    The points, in :func:`_spatial_order`, are cut into blocks of
    ``_SEED_BLOCK`` (the last one padded); each block keeps its bounding box and
    the largest ``closest`` of its points.  A block whose box is farther than
    ``sqrt(max closest + margin)`` from every candidate is skipped, as no
    distance computed to its points can fall below their ``closest``
    (``margin``, from :func:`rounding_margin`, bounds the rounding of a
    computed distance).  In the other blocks the products ``s = x.c - c^2/2``
    are computed, and a point's distance ``x^2 - 2 s`` only where ``s`` exceeds
    ``threshold``, a value of the products' precision at or below
    ``(x^2 - closest) / 2``: elsewhere the computed distance, rounded, cannot
    fall below ``closest`` either.
    """

    def __init__(self, X, Xa, x_sq, closest):
        n, d = X.shape
        self.n, self.margin, self.x_sq = n, rounding_margin(Xa.dtype, x_sq, d), x_sq
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


def add_worst_served(points, weights, centroids, extra: int) -> np.ndarray:
    """``centroids (k, d)`` plus ``extra`` of ``points (n, d)``, each the one
    served worst so far (largest ``weights (n,)`` times squared distance to
    its nearest centroid, added ones included), ``(k + extra, d)`` float64:
    starts for k-means from fewer centroids than wanted (the elbow's warm
    starts, Wu's palette when its boxes are fewer than K)."""
    if extra <= 0:
        return centroids
    _, sq_dist = nearest_centroid(points, centroids)
    points64 = np.asarray(points, dtype=np.float64)
    added = []
    for _ in range(extra):
        worst = int(np.argmax(weights * sq_dist))
        added.append(points64[worst])
        np.minimum(sq_dist, ((points64 - points64[worst]) ** 2).sum(axis=1), out=sq_dist)
    return np.vstack([np.asarray(centroids, dtype=np.float64), added])
