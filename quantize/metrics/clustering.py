"""Scores of a clustering against known labels, in plain NumPy.

For the command that clusters whole images with k-means and compares the
clusters with known classes (MNIST digits, say).  Every score matches
scikit-learn's function of the same name (same conventions in the corner
cases, same floating-point formulas, natural logarithms), except that empty
input is an error here rather than a perfect score.

Inputs, for every function:

* ``labels_true``: shape ``(n,)``, the known class of each point; any values
  ``np.unique`` can sort (ints, strings, ...).
* ``labels_pred``: shape ``(n,)``, the cluster of each point.  k-means gives
  ints ``0..k-1``, some of which may be absent (empty clusters); the scores
  only see the clusters present, so absent ones change nothing.
  :func:`majority_labels` needs them to be non-negative ints, the rest accept
  any sortable values.

``n == 0``, unequal lengths, arrays that are not 1-D and values that cannot be
sorted raise :class:`~quantize.errors.ParameterError` (a ``ValueError``).

Notation: ``n_ij`` is the number of points of class ``i`` in cluster ``j``
(the contingency table), ``a_i = sum_j n_ij`` the class sizes, ``b_j = sum_i
n_ij`` the cluster sizes, ``n`` the number of points.  No loop in this module
runs over the points: the table comes from ``np.unique(...,
return_inverse=True)`` and a count of the joint codes.

The worked example of sklearn's documentation, with the numbers worked out in
``tests/test_metrics.py``:

>>> y_true, y_pred = [0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2]
>>> s = cluster_scores(y_true, y_pred)
>>> round(s.homogeneity, 6), round(s.completeness, 6), round(s.v_measure, 6)
(0.71031, 0.771556, 0.739667)
>>> s.adjusted_rand == 4 / 9, s.accuracy == 5 / 6, s.n_clusters_used
(True, True, 3)
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from ..checks import is_int
from ..errors import ParameterError

__all__ = [
    "ClusterScores",
    "adjusted_rand_index",
    "cluster_scores",
    "contingency",
    "homogeneity_completeness_v_measure",
    "majority_accuracy",
    "majority_labels",
]


class _Cells(NamedTuple):
    """The contingency table in sparse form, and its margins.

    ``classes (c,)`` and ``clusters (k',)`` are the sorted distinct values;
    ``rows``, ``cols`` (int64) and ``counts`` (int64, all > 0) are the non-zero
    cells in row-major order (class, then cluster), as ``scipy.sparse.find`` of
    a CSR table gives them; ``a (c,)`` and ``b (k',)`` the int64 class and
    cluster sizes; ``n`` the number of points.
    """

    classes: np.ndarray
    clusters: np.ndarray
    rows: np.ndarray
    cols: np.ndarray
    counts: np.ndarray
    a: np.ndarray
    b: np.ndarray
    n: int


def _as_labels(values, name: str) -> np.ndarray:
    array = np.asarray(values)
    if array.ndim != 1:
        raise ParameterError(f"{name} must be 1-D, got shape {array.shape}")
    return array


def _unique(array: np.ndarray, name: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        values, inverse = np.unique(array, return_inverse=True)
    except TypeError as exc:  # e.g. an object array mixing ints and strings
        raise ParameterError(f"{name} must hold values that can be sorted together: {exc}") from None
    return values, inverse.reshape(-1).astype(np.int64, copy=False)


def _encode(labels_true, labels_pred):
    """Checked inputs -> (classes, clusters, class index (n,), cluster index (n,))."""
    true = _as_labels(labels_true, "labels_true")
    pred = _as_labels(labels_pred, "labels_pred")
    if len(true) != len(pred):
        raise ParameterError(
            f"labels_true and labels_pred differ in length: {len(true)} and {len(pred)}"
        )
    if len(true) == 0:
        raise ParameterError("no points to score: labels_true and labels_pred are empty")
    classes, class_idx = _unique(true, "labels_true")
    clusters, cluster_idx = _unique(pred, "labels_pred")
    return classes, clusters, class_idx, cluster_idx


def _cells(labels_true, labels_pred) -> _Cells:
    classes, clusters, class_idx, cluster_idx = _encode(labels_true, labels_pred)
    k = len(clusters)
    codes, counts = np.unique(class_idx * k + cluster_idx, return_counts=True)
    return _Cells(
        classes,
        clusters,
        codes // k,
        codes % k,
        counts.astype(np.int64, copy=False),
        np.bincount(class_idx, minlength=len(classes)).astype(np.int64, copy=False),
        np.bincount(cluster_idx, minlength=k).astype(np.int64, copy=False),
        len(class_idx),
    )


def contingency(labels_true, labels_pred) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The contingency table of two labelings.

    Returns ``(classes, clusters, table)``: ``classes (c,)`` the sorted
    distinct values of ``labels_true`` (its dtype), ``clusters (k',)`` the
    sorted distinct values of ``labels_pred`` (only the clusters that occur, so
    ``k' <= k``), and ``table (c, k')`` int64 with ``table[i, j] = n_ij``, the
    number of points of class ``classes[i]`` in cluster ``clusters[j]``.  The
    table is dense: ``c * k'`` cells.

    >>> classes, clusters, table = contingency(["b", "a", "a", "b"], [2, 0, 2, 2])
    >>> classes.tolist(), clusters.tolist(), table.tolist()
    (['a', 'b'], [0, 2], [[1, 1], [0, 2]])
    """
    classes, clusters, class_idx, cluster_idx = _encode(labels_true, labels_pred)
    c, k = len(classes), len(clusters)
    table = np.bincount(class_idx * k + cluster_idx, minlength=c * k)
    return classes, clusters, table.astype(np.int64, copy=False).reshape(c, k)


def _entropy(sizes: np.ndarray, n: int) -> float:
    """``H = -sum_i (s_i / n) ln(s_i / n)`` of positive sizes, as sklearn computes it."""
    if sizes.size == 1:
        return 0.0
    p = sizes.astype(np.float64)
    total = float(np.sum(p))
    return float(-np.sum((p / total) * (np.log(p) - math.log(total))))


def _mutual_info(cells: _Cells) -> float:
    """``I(C; K) = sum_ij (n_ij / n) ln(n n_ij / (a_i b_j))`` over the non-zero
    cells, term by term as sklearn's ``mutual_info_score`` (terms smaller than
    machine epsilon in magnitude count as 0, the sum is clipped at 0)."""
    if cells.a.size == 1 or cells.b.size == 1:
        return 0.0
    n = cells.n
    nz = cells.counts.astype(np.float64)
    p = nz / n
    outer = cells.a[cells.rows] * cells.b[cells.cols]  # int64: <= n^2, exact for n < 3e9
    log_outer = -np.log(outer) + math.log(cells.a.sum()) + math.log(cells.b.sum())
    terms = p * (np.log(nz) - math.log(n)) + p * log_outer
    terms = np.where(np.abs(terms) < np.finfo(np.float64).eps, 0.0, terms)
    return float(np.clip(terms.sum(), 0.0, None))


def _hcv(cells: _Cells, beta: float) -> tuple[float, float, float]:
    h_c = _entropy(cells.a, cells.n)
    h_k = _entropy(cells.b, cells.n)
    mi = _mutual_info(cells)
    homogeneity = mi / h_c if h_c else 1.0
    completeness = mi / h_k if h_k else 1.0
    denominator = beta * homogeneity + completeness
    if homogeneity + completeness == 0.0 or denominator == 0.0:
        v = 0.0
    else:
        v = (1 + beta) * homogeneity * completeness / denominator
    return float(homogeneity), float(completeness), float(v)


def homogeneity_completeness_v_measure(
    labels_true, labels_pred, beta: float = 1.0
) -> tuple[float, float, float]:
    """Homogeneity, completeness and V-measure (Rosenberg & Hirschberg 2007,
    "V-Measure: A conditional entropy-based external cluster evaluation
    measure", EMNLP-CoNLL).

    With natural-log entropies ``H(C) = -sum_i (a_i/n) ln(a_i/n)``,
    ``H(K) = -sum_j (b_j/n) ln(b_j/n)`` and the mutual information
    ``I = sum_ij (n_ij/n) ln(n n_ij / (a_i b_j))``:

    * homogeneity ``h = 1 - H(C|K)/H(C) = I / H(C)`` (1.0 when ``H(C) = 0``,
      a single class): each cluster holds one class only;
    * completeness ``c = 1 - H(K|C)/H(K) = I / H(K)`` (1.0 when ``H(K) = 0``,
      a single cluster): each class lies in one cluster only;
    * ``V_beta = (1 + beta) h c / (beta h + c)`` (0.0 when ``h + c = 0``, and
      when ``beta h + c = 0``, its limit as ``beta`` falls to 0 from above).

    ``beta >= 0`` weighs completeness ``beta`` times as much as homogeneity;
    ``beta = 1`` is the harmonic mean, ``beta = 0`` gives ``h``.  Returns three
    floats in [0, 1], equal to ``sklearn.metrics.homogeneity_completeness_v_measure``.

    >>> homogeneity_completeness_v_measure([0, 0, 1, 1], [5, 5, 7, 7])
    (1.0, 1.0, 1.0)
    >>> homogeneity_completeness_v_measure([0, 0, 1, 1], [0, 0, 0, 0])
    (0.0, 1.0, 0.0)
    """
    beta = _check_beta(beta)
    return _hcv(_cells(labels_true, labels_pred), beta)


def _check_beta(beta) -> float:
    try:
        value = float(beta)
    except (TypeError, ValueError):
        raise ParameterError(f"beta must be a number >= 0, got {beta!r}") from None
    if isinstance(beta, bool) or not math.isfinite(value) or value < 0:
        raise ParameterError(f"beta must be a finite number >= 0, got {beta!r}")
    return value


def _pairs(sizes: np.ndarray) -> int:
    """``sum comb(s, 2)`` as a Python int (int64 inside: exact for sizes < 3e9)."""
    sizes = sizes.astype(np.int64, copy=False)
    return int(np.sum(sizes * (sizes - 1) // 2))


def _ari(cells: _Cells) -> float:
    index = _pairs(cells.counts)
    a = _pairs(cells.a)
    b = _pairs(cells.b)
    if index == a == b:  # the same partition: no pair is split by one labeling only
        return 1.0
    pairs = cells.n * (cells.n - 1) // 2
    # (index - a b / N) / ((a + b) / 2 - a b / N), times 2N top and bottom; Python
    # ints are exact and int / int rounds the quotient once.
    return 2 * (index * pairs - a * b) / ((a + b) * pairs - 2 * a * b)


def adjusted_rand_index(labels_true, labels_pred) -> float:
    """The adjusted Rand index (Hubert & Arabie 1985, "Comparing partitions",
    Journal of Classification 2, 193-218).

    With ``N = comb(n, 2)`` pairs of points, ``index = sum_ij comb(n_ij, 2)``
    (pairs together in both labelings), ``A = sum_i comb(a_i, 2)`` and
    ``B = sum_j comb(b_j, 2)``::

        ARI = (index - A B / N) / ((A + B) / 2 - A B / N)

    1.0 for identical partitions (whatever the names), about 0 for a random
    one, negative for worse than random (at least -0.5).  As sklearn's
    ``adjusted_rand_score``, it is exactly 1.0 whenever ``index == A == B``, the
    0/0 cases included: both labelings a single cluster, both all singletons,
    one point.  The sums are exact integers (int64 per cluster, Python ints for
    the products, so ``n`` up to ~10^9 is safe) and the one division rounds
    once.

    >>> adjusted_rand_index([0, 0, 1, 1], [1, 1, 0, 0])
    1.0
    >>> adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1])
    -0.5
    """
    return float(_ari(_cells(labels_true, labels_pred)))


def _winners(cells: _Cells) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each cluster present: (cluster index, class index of its most common
    class, that count); ties go to the smallest class index."""
    order = np.lexsort((cells.rows, -cells.counts, cells.cols))
    cols = cells.cols[order]
    first = np.ones(len(cols), dtype=bool)
    first[1:] = cols[1:] != cols[:-1]
    chosen = order[first]
    return cells.cols[chosen], cells.rows[chosen], cells.counts[chosen]


def majority_labels(labels_true, labels_pred, k: int | None = None) -> np.ndarray:
    """The most common true label in each cluster.

    ``labels_pred`` must be non-negative integers (cluster indices ``0..k-1``).
    Returns an **object** array of shape ``(k,)`` (``k`` defaults to
    ``max(labels_pred) + 1``): entry ``j`` is the most common value of
    ``labels_true`` among the points of cluster ``j``, as a Python scalar
    (``int``, ``str``, ... as ``ndarray.tolist`` gives it); a tie goes to the
    smallest label in sorted order; a cluster with no points (an empty
    cluster, or ``j`` beyond the largest cluster index when ``k`` is given)
    gets the sentinel ``None``.  ``None`` cannot collide with a real label, and
    ``majority_labels(...)[labels_pred] == labels_true`` compares element-wise.

    >>> majority_labels(["a", "b", "b", "a"], [0, 0, 2, 2], k=4).tolist()
    ['a', None, 'a', None]
    """
    pred = _as_labels(labels_pred, "labels_pred")
    if pred.size and not np.issubdtype(pred.dtype, np.integer):
        raise ParameterError(f"labels_pred must be integer cluster indices, got dtype {pred.dtype}")
    cells = _cells(labels_true, pred)
    if cells.clusters[0] < 0:
        raise ParameterError(f"labels_pred must be >= 0, got {cells.clusters[0]}")
    needed = int(cells.clusters[-1]) + 1
    if k is None:
        k = needed
    elif not is_int(k):
        raise ParameterError(f"k must be an int, got {k!r}")
    elif k < needed:
        raise ParameterError(f"k = {k} but labels_pred holds cluster {needed - 1}")
    cols, rows, _ = _winners(cells)
    result = np.full(int(k), None, dtype=object)
    result[cells.clusters[cols].astype(np.int64)] = cells.classes[rows].tolist()
    return result


def majority_accuracy(labels_true, labels_pred) -> float:
    """The share of points whose cluster's majority label is their own label.

    ``sum_j max_i n_ij / n``: each cluster is named after its most common class
    and the points of that class in it count as right.  This is the usual
    "accuracy" of k-means on labelled data such as MNIST; it rewards many
    clusters (``n`` singletons score 1.0), so read it with the number of
    clusters.  How ties are broken does not change it.

    >>> majority_accuracy([0, 0, 1, 1, 1], [0, 0, 0, 1, 1])
    0.8
    """
    return _accuracy(_cells(labels_true, labels_pred))


def _accuracy(cells: _Cells) -> float:
    _, _, counts = _winners(cells)
    return int(counts.sum()) / cells.n


@dataclass(frozen=True)
class ClusterScores:
    """Every score of one clustering against known labels.

    ``homogeneity``, ``completeness``, ``v_measure`` (beta = 1): see
    :func:`homogeneity_completeness_v_measure`; ``adjusted_rand``: see
    :func:`adjusted_rand_index`; ``accuracy``: see :func:`majority_accuracy`;
    ``n_clusters_used``: how many distinct clusters have at least one point.
    """

    homogeneity: float
    completeness: float
    v_measure: float
    adjusted_rand: float
    accuracy: float
    n_clusters_used: int


def cluster_scores(labels_true, labels_pred) -> ClusterScores:
    """All the scores at once, from one contingency table (same values as the
    separate functions)."""
    cells = _cells(labels_true, labels_pred)
    h, c, v = _hcv(cells, 1.0)
    return ClusterScores(
        homogeneity=h,
        completeness=c,
        v_measure=v,
        adjusted_rand=float(_ari(cells)),
        accuracy=_accuracy(cells),
        n_clusters_used=len(cells.clusters),
    )
