"""How the k-means core keeps the points: :class:`ColumnPoints` for few
dimensions (colours), :class:`RowPoints` for many (images as vectors), and the
cluster sums and distances computed from them.

Both centre the points on their weighted mean (distances do not change, and
the sums the distortion is computed from lose less to rounding) and keep
``Xa = [X, 1]`` in the precision of the distance products for the
nearest-entry search (:mod:`quantize.core.nearest`).
"""
from __future__ import annotations

import numpy as np

from .nearest import augment

# From this dimension on, kmeans keeps the points as rows in their own
# precision (RowPoints) instead of float64 rows and columns (ColumnPoints),
# and passes over them in blocks of about ROW_ELEMENTS coordinates
# (PAIR_ELEMENTS for the distances to two centroids, which stay in the cache).
ROW_LAYOUT_D = 8
ROW_ELEMENTS = 1 << 20
PAIR_ELEMENTS = 1 << 18


class ColumnPoints:
    """The points for few dimensions (``d < ROW_LAYOUT_D``, e.g. colours), as
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
        self.Xa = augment(self.X).astype(dtype, copy=False)
        self.columns = np.ascontiguousarray(self.X.T)  # (d, n): gathers of one coordinate are fast
        self.w_cols = np.ascontiguousarray((self.X * w[:, None]).T)

    def sums(self, labels, k, points=None):
        """:func:`_cluster_sums` of all points (``labels (n,)``) or of ``points (m,)``
        (``labels (m,)``)."""
        if points is None:
            return _cluster_sums(labels, self.w, self.w_cols, k)
        return _cluster_sums(labels, self.w[points], np.take(self.w_cols, points, axis=1), k)

    def sq_to_pair(self, points, centroids, a, b):
        """Exact squared distances ``(m,)`` float64 from ``points (m,)`` to
        ``centroids[a]`` and to ``centroids[b]`` (see :func:`_sq_to_pair`)."""
        return _sq_to_pair(self.columns, points, centroids.T, a, b)

    def sq_to_assigned(self, centroids, labels):
        """Exact squared distances ``(n,)`` float64 from each point to ``centroids[labels]``."""
        return sq_to_own(self.X, np.take(centroids, labels, axis=0))


class RowPoints:
    """The points for many dimensions (``d >= ROW_LAYOUT_D``, e.g. images as
    vectors), lean: one array ``Xa = [X - mean, 1] (n, d + 1)`` in the
    products' ``dtype`` (float32 for float32 input), filled block by block,
    and ``X``, a view of its first ``d`` columns, is the points.  Everything
    else is ``O(n)`` or done in blocks of about ``ROW_ELEMENTS`` coordinates
    (converted to float64 there), so the peak memory is the input plus ``Xa``
    plus a few blocks; for float32 input that is about twice the input.

    The centred points are rounded to float32 for float32 input (float64
    input keeps exactly the values of :class:`ColumnPoints`); the products
    were computed from those values anyway, and sums, centroids and
    distances are float64 computed from them.  Sums are added by rows
    (sorted by cluster) rather than by columns, so they may differ from those
    of :class:`ColumnPoints` in the last bits.
    """

    def __init__(self, X, w, dtype):
        n, d = X.shape
        self.w = w
        self.step = max(2, ROW_ELEMENTS // d)
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
        ``x^2 - 2 x.c + c^2`` (clipped at 0) in blocks of ``PAIR_ELEMENTS``
        coordinates, which stay in the cache (four times faster at d = 784
        than ``sum (x - c)^2``).  Each errs by at most ``(4 d + 12) u64 R2``
        (three dot products of ``d`` terms, three roundings of terms up to
        ``4 R2``), within the ``5 (d + 1) u64 R2`` that the margin of
        :func:`~quantize.core.nearest.rounding_margin` sets aside for it when ``d >= 8``."""
        sq_a, sq_b = np.empty(len(points)), np.empty(len(points))
        c_sq = np.einsum("ij,ij->i", centroids, centroids)
        step = max(2, PAIR_ELEMENTS // self.X.shape[1])
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


def sq_to_own(X, own):
    """Exact squared distances ``(n,)`` between matching rows of two ``(n, d)`` arrays."""
    diff = X - own
    return np.einsum("ij,ij->i", diff, diff)


def sq_distances(X, x_sq, centroids):
    """Squared distances, ``(m, k)`` float64, from each point to each centroid
    (points of another dtype are converted to float64 a block at a time)."""
    if X.dtype != np.float64:
        step = max(1, ROW_ELEMENTS // X.shape[1])
        return np.concatenate([
            sq_distances(X[start:start + step].astype(np.float64), x_sq[start:start + step], centroids)
            for start in range(0, len(X), step)])
    dist = X @ centroids.T
    dist *= -2.0
    dist += np.einsum("ij,ij->i", centroids, centroids)
    dist += x_sq[:, None]
    return np.maximum(dist, 0.0, out=dist)
