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

from .errors import ParameterError

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
    elif isinstance(k, bool) or not isinstance(k, (int, np.integer)):
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


# =============================================================================
# Image quality
# =============================================================================
#
# How far a quantized picture is from its original, in plain NumPy (no cv2,
# no SciPy): mean colour differences (Oklab distance, CIEDE2000) and a
# structural score (SSIM, and the multi-scale, colour DSSIM-like score built on
# it).  Images are ``(h, w, 3)`` RGB or ``(h, w, 4)`` RGBA ``uint8`` (alpha is
# ignored); the two images of a comparison must have the same height and width,
# else :class:`~quantize.errors.ParameterError`.  The colour conversions come
# from :mod:`quantize.spaces`, imported when first needed.

__all__ += ["ciede2000", "delta_e_2000", "delta_e_ok", "dssim", "ssim"]

# SSIM of Wang, Bovik, Sheikh & Simoncelli (2004): 11x11 Gaussian window of
# sigma 1.5, K1 = 0.01, K2 = 0.03.  The radius is scipy.ndimage's rule
# int(truncate * sigma + 0.5) with truncate = 3.5, as scikit-image uses.
_SSIM_SIGMA = 1.5
_SSIM_TRUNCATE = 3.5
_SSIM_K1 = 0.01
_SSIM_K2 = 0.03

# dssim: MS-SSIM weights of Wang, Simoncelli & Bovik (2003), finest scale first;
# the weights of the scales used are renormalised to sum to 1.
_DSSIM_SCALE_WEIGHTS = (0.0448, 0.2856, 0.3001, 0.2363, 0.1333)
_DSSIM_MIN_SIDE = 8          # a coarser scale is used only if both sides stay >= 8
_DSSIM_CHANNEL_WEIGHTS = (0.5, 0.25, 0.25)   # L*, a*, b*
_DSSIM_CHROMA_SIGMA = 1.0    # Gaussian pre-blur of a*, b* (pixels of the full image)


def _gaussian_weights(sigma: float, truncate: float = _SSIM_TRUNCATE) -> np.ndarray:
    """Normalised 1-D Gaussian of radius ``int(truncate * sigma + 0.5)`` (the
    kernel of ``scipy.ndimage.gaussian_filter``)."""
    radius = int(truncate * sigma + 0.5)
    x = np.arange(-radius, radius + 1, dtype=np.float64)
    w = np.exp(-0.5 / (sigma * sigma) * x * x)
    return w / w.sum()


_STRIP_ROWS = 64   # rows filtered at a time: the temporaries of a strip stay in cache


def _blur(x: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Separable filter of the last two axes of ``x`` (float64, ``(..., h, w)``)
    with the symmetric 1-D ``weights``: a correlation along the rows axis, then
    along the columns axis, the edges extended by half-sample reflection
    (``d c b a | a b c d | d c b a``: NumPy's ``"symmetric"`` pad, SciPy's
    ``"reflect"`` mode, repeated for a side shorter than the radius).

    The same sums in the same order as ``scipy.ndimage.gaussian_filter``'s two
    passes of ``correlate1d`` up to the pairing of symmetric taps (tests: equal
    to ~1e-16), computed a strip of :data:`_STRIP_ROWS` rows at a time so that
    the temporaries stay in cache (4x faster than whole-plane passes on a
    768x512 image).
    """
    r = len(weights) // 2
    h, w = x.shape[-2:]
    lead = x.shape[:-2]
    out = np.empty(x.shape, dtype=np.float64)
    padded = np.pad(x, [(0, 0)] * len(lead) + [(r, r), (r, r)], mode="symmetric")
    for i in np.ndindex(lead):
        plane, result = padded[i], out[i]
        for r0 in range(0, h, _STRIP_ROWS):
            r1 = min(h, r0 + _STRIP_ROWS)
            # Along the rows axis, on every padded column of the strip.
            v = plane[r0 + r:r1 + r] * weights[r]
            tmp = np.empty_like(v)
            for k in range(1, r + 1):   # symmetric kernel: one product per pair of taps
                np.add(plane[r0 + r - k:r1 + r - k], plane[r0 + r + k:r1 + r + k], out=tmp)
                tmp *= weights[r + k]
                v += tmp
            # Along the columns axis, into the output rows.
            o = result[r0:r1]
            np.multiply(v[:, r:r + w], weights[r], out=o)
            tmp = tmp[:, :w]
            for k in range(1, r + 1):
                np.add(v[:, r - k:r - k + w], v[:, r + k:r + k + w], out=tmp)
                tmp *= weights[r + k]
                o += tmp
    return out


def _ssim_means(x: np.ndarray, y: np.ndarray, data_range: float) -> np.ndarray:
    """Mean SSIM of ``x`` against ``y``, both ``(..., h, w)`` float64: one value
    per leading index.  See :func:`ssim` for the definition."""
    w = _gaussian_weights(_SSIM_SIGMA)
    moments = np.empty((5, *x.shape))
    moments[0], moments[1] = x, y
    np.multiply(x, x, out=moments[2])
    np.multiply(y, y, out=moments[3])
    np.multiply(x, y, out=moments[4])
    moments = _blur(moments, w)
    ux, uy, uxx, uyy, uxy = moments
    vx = uxx - ux * ux
    vy = uyy - uy * uy
    vxy = uxy - ux * uy
    c1 = (_SSIM_K1 * data_range) ** 2
    c2 = (_SSIM_K2 * data_range) ** 2
    s = ((2 * ux * uy + c1) * (2 * vxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2))
    pad = len(w) // 2
    h, width = s.shape[-2:]
    rows = slice(pad, h - pad) if h > 2 * pad else slice(None)
    cols = slice(pad, width - pad) if width > 2 * pad else slice(None)
    return s[..., rows, cols].mean(axis=(-2, -1), dtype=np.float64)


def ssim(a, b, data_range: float = 1.0) -> float:
    """Structural similarity (Wang et al. 2004) of two grey images, ``(h, w)``.

    The Gaussian-weighted SSIM with the constants of the paper: window sigma
    1.5 with radius 5 (11x11), ``K1 = 0.01``, ``K2 = 0.03``, ``C1 = (K1 L)**2``,
    ``C2 = (K2 L)**2`` with ``L = data_range``, population (not sample)
    variances.  Local means and moments are filtered with half-sample
    reflection at the edges, and the SSIM map is averaged after dropping a
    border of 5 pixels -- exactly what scikit-image's
    ``structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
    use_sample_covariance=False, data_range=data_range)`` computes, to
    floating-point rounding (at most ~1e-14 in the tests).  Unlike scikit-image,
    an image with a side of 10 pixels or less is accepted: the border is then
    not dropped along that side.

    ``a``, ``b``: 2-D real arrays of the same shape (computed in float64).
    Returns a float in ``[-1, 1]``, ``1.0`` for identical images.

    >>> x = np.linspace(0, 1, 256).reshape(16, 16)
    >>> ssim(x, x)
    1.0
    """
    x = np.asarray(a)
    y = np.asarray(b)
    if x.ndim != 2 or y.ndim != 2:
        raise ParameterError(f"ssim needs 2-D arrays, got shapes {x.shape} and {y.shape}")
    if x.shape != y.shape:
        raise ParameterError(f"ssim: shapes differ, {x.shape} and {y.shape}")
    if x.size == 0:
        raise ParameterError("ssim: empty images")
    if x.dtype.kind not in "fiub" or y.dtype.kind not in "fiub":
        raise ParameterError("ssim needs real numbers")
    if not (np.isfinite(data_range) and data_range > 0):
        raise ParameterError(f"data_range must be a positive number, got {data_range!r}")
    return float(_ssim_means(x.astype(np.float64), y.astype(np.float64), float(data_range)))


def _check_pair(reference, image) -> tuple[np.ndarray, np.ndarray]:
    """The RGB planes ``(h, w, 3) uint8`` of two images of equal height and width."""
    out = []
    for name, value in (("reference", reference), ("image", image)):
        array = np.asarray(value)
        if array.ndim != 3 or array.shape[2] not in (3, 4):
            raise ParameterError(f"{name} must be (h, w, 3) or (h, w, 4), got shape {array.shape}")
        if array.dtype != np.uint8:
            raise ParameterError(f"{name} must be uint8, got {array.dtype}")
        if array.shape[0] == 0 or array.shape[1] == 0:
            raise ParameterError(f"{name} is empty: shape {array.shape}")
        out.append(array[..., :3])
    if out[0].shape != out[1].shape:
        raise ParameterError(
            f"images differ in size: {out[0].shape[1]}x{out[0].shape[0]} and {out[1].shape[1]}x{out[1].shape[0]}")
    return out[0], out[1]


def delta_e_ok(reference, image) -> float:
    """Mean over pixels of the Euclidean distance in Oklab (Ottosson 2020).

    ``reference``, ``image``: ``(h, w, 3)`` or ``(h, w, 4)`` ``uint8`` sRGB of
    the same height and width; alpha is ignored.  The plain Oklab distance is
    returned, in units where white has ``L = 1`` (black to white is 1.0); many
    tools quote it multiplied by 100, which makes it comparable in size to
    CIELAB ΔE (a just-noticeable difference is about 0.02 here, 2 there).

    >>> img = np.zeros((1, 2, 3), np.uint8); white = img.copy(); white[0, 1] = 255
    >>> round(delta_e_ok(img, white), 6)
    0.5
    """
    from .spaces import srgb_to_oklab

    ref, img = _check_pair(reference, image)
    diff = srgb_to_oklab(ref) - srgb_to_oklab(img)
    return float(np.sqrt(np.einsum("...i,...i->...", diff, diff)).mean())


def ciede2000(lab1, lab2) -> np.ndarray:
    """CIEDE2000 colour difference ΔE00 of CIELAB colours, element-wise.

    ``lab1``, ``lab2``: ``(..., 3)`` arrays of ``(L*, a*, b*)``, broadcast
    against each other; returns ``(...)`` float64.  The formulas of Sharma, Wu &
    Dalal, "The CIEDE2000 color-difference formula: implementation notes,
    supplementary test data, and mathematical observations", Color Research &
    Application 30 (2005), with ``kL = kC = kH = 1``: hue angles in degrees in
    ``[0, 360)``, the hue of a neutral colour (``a' = b = 0``) taken as 0, and
    the hue difference and mean hue taken as in their equations (10) and (14),
    including the cases where a chroma is zero.  Reproduces the 34 pairs of
    their test data to their 4 decimals.

    >>> float(ciede2000([50, 2.6772, -79.7751], [50, 0, -82.7485]).round(4))
    2.0425
    """
    lab1 = np.asarray(lab1, dtype=np.float64)
    lab2 = np.asarray(lab2, dtype=np.float64)
    if lab1.ndim == 0 or lab1.shape[-1] != 3 or lab2.ndim == 0 or lab2.shape[-1] != 3:
        raise ParameterError(f"ciede2000 needs (..., 3) colours, got {lab1.shape} and {lab2.shape}")
    try:
        lab1, lab2 = np.broadcast_arrays(lab1, lab2)
    except ValueError as exc:
        raise ParameterError(f"ciede2000: shapes {lab1.shape} and {lab2.shape} do not broadcast") from exc
    L1, a1, b1 = np.moveaxis(lab1, -1, 0)
    L2, a2, b2 = np.moveaxis(lab2, -1, 0)

    # (2)-(7): a' with the G correction, C', h'.
    c_mean = (np.hypot(a1, b1) + np.hypot(a2, b2)) / 2
    c7 = c_mean**7
    g = 0.5 * (1 - np.sqrt(c7 / (c7 + 25.0**7)))
    a1p = (1 + g) * a1
    a2p = (1 + g) * a2
    c1p = np.hypot(a1p, b1)
    c2p = np.hypot(a2p, b2)
    h1p = np.degrees(np.arctan2(b1, a1p)) % 360   # atan2(0, 0) = 0: the neutral case
    h2p = np.degrees(np.arctan2(b2, a2p)) % 360

    # (8)-(11): differences.
    dLp = L2 - L1
    dCp = c2p - c1p
    chroma_product = c1p * c2p
    neutral = chroma_product == 0
    dh = h2p - h1p
    dh = np.where(dh > 180, dh - 360, np.where(dh < -180, dh + 360, dh))
    dh = np.where(neutral, 0.0, dh)
    dHp = 2 * np.sqrt(chroma_product) * np.sin(np.radians(dh) / 2)

    # (12)-(22): means, weighting functions, rotation term.
    Lp_mean = (L1 + L2) / 2
    Cp_mean = (c1p + c2p) / 2
    h_sum = h1p + h2p
    h_mean = np.where(np.abs(h1p - h2p) <= 180, h_sum / 2,
                      np.where(h_sum < 360, (h_sum + 360) / 2, (h_sum - 360) / 2))
    h_mean = np.where(neutral, h_sum, h_mean)
    t = (1 - 0.17 * np.cos(np.radians(h_mean - 30)) + 0.24 * np.cos(np.radians(2 * h_mean))
         + 0.32 * np.cos(np.radians(3 * h_mean + 6)) - 0.20 * np.cos(np.radians(4 * h_mean - 63)))
    d_theta = 30 * np.exp(-(((h_mean - 275) / 25) ** 2))
    cp7 = Cp_mean**7
    r_c = 2 * np.sqrt(cp7 / (cp7 + 25.0**7))
    l50 = (Lp_mean - 50) ** 2
    s_l = 1 + 0.015 * l50 / np.sqrt(20 + l50)
    s_c = 1 + 0.045 * Cp_mean
    s_h = 1 + 0.015 * Cp_mean * t
    r_t = -np.sin(np.radians(2 * d_theta)) * r_c
    l_term = dLp / s_l
    c_term = dCp / s_c
    h_term = dHp / s_h
    return np.sqrt(l_term**2 + c_term**2 + h_term**2 + r_t * c_term * h_term)


def delta_e_2000(reference, image) -> float:
    """Mean over pixels of CIEDE2000 (:func:`ciede2000`) between two images.

    ``reference``, ``image``: ``(h, w, 3)`` or ``(h, w, 4)`` ``uint8`` sRGB of
    the same height and width (alpha ignored), converted to CIELAB D65 by
    :func:`quantize.spaces.srgb_to_lab`.  About 1 is a just-noticeable
    difference; black to white is 100.
    """
    from .spaces import srgb_to_lab

    ref, img = _check_pair(reference, image)
    return float(ciede2000(srgb_to_lab(ref), srgb_to_lab(img)).mean())


def _downsample(x: np.ndarray) -> np.ndarray:
    """Halve the last two axes by averaging 2x2 blocks (an odd last row or
    column is dropped)."""
    h, w = x.shape[-2] // 2 * 2, x.shape[-1] // 2 * 2
    x = x[..., :h, :w]
    return 0.25 * (x[..., 0::2, 0::2] + x[..., 1::2, 0::2] + x[..., 0::2, 1::2] + x[..., 1::2, 1::2])


def _dssim_planes(rgb: np.ndarray) -> np.ndarray:
    """``(3, h, w)``: L*/100, a*/100, b*/100, the chroma planes blurred."""
    from .spaces import srgb_to_lab

    planes = np.moveaxis(srgb_to_lab(rgb), -1, 0) / 100.0
    planes[1:] = _blur(planes[1:], _gaussian_weights(_DSSIM_CHROMA_SIGMA))
    return planes


def dssim(reference, image) -> float:
    """A structural dissimilarity of two colour images: 0 for identical images,
    larger is worse (in the spirit of Kornel Lesiński's DSSIM, not the same
    numbers).

    ``reference``, ``image``: ``(h, w, 3)`` or ``(h, w, 4)`` ``uint8`` sRGB of
    the same height and width; alpha is ignored.  The steps:

    1. Both images go to CIELAB D65 (:func:`quantize.spaces.srgb_to_lab`), and
       each channel is divided by 100: ``L*`` to ``0..1``, ``a*`` and ``b*`` to
       about ``-1..1`` (sRGB colours have ``|a*|, |b*| < 1.1`` then).
    2. The ``a*`` and ``b*`` planes are blurred with a Gaussian of sigma 1
       pixel (radius 4, reflected edges): the eye sees chroma at a lower
       resolution than lightness, so fine chroma noise such as dithering counts
       for less than the same noise in lightness.
    3. Scales: the full image, then up to four halvings by 2x2 averaging (an
       odd last row or column dropped); a halving is used only while both sides
       stay at least 8 pixels.
    4. At every scale, the SSIM of each of the three planes is computed as by
       :func:`ssim` with ``data_range = 1`` (11x11 Gaussian window of sigma
       1.5, ``K1 = 0.01``, ``K2 = 0.03``, reflected edges, the mean over the
       map less a 5-pixel border, or over the whole map along a side of 10
       pixels or less).  The channels are combined as ``0.5 L + 0.25 a +
       0.25 b``: lightness carries most of the structure the eye sees, and the
       two chroma channels together weigh as much as it does.
    5. The scales are averaged with the MS-SSIM weights of Wang, Simoncelli &
       Bovik (2003), ``0.0448, 0.2856, 0.3001, 0.2363, 0.1333`` from the finest
       scale, those of the scales used renormalised to sum to 1.  This is an
       arithmetic weighted mean of whole SSIM values (as DSSIM does), not the
       product of powers of contrast/structure terms of MS-SSIM.
    6. ``dssim = 1 / s - 1`` for that mean SSIM ``s`` (0 when ``s = 1``); if
       ``s <= 0`` (structure inverted everywhere) it is ``inf``.

    ``dssim(a, b) == dssim(b, a)``: both images go through the same steps and
    the SSIM formula is symmetric.  Takes about 0.35 s for a 768x512 image
    (most of it in the Gaussian filtering, done in NumPy a strip at a time).

    >>> img = np.zeros((16, 16, 3), np.uint8)
    >>> dssim(img, img)
    0.0
    """
    ref, img = _check_pair(reference, image)
    x = _dssim_planes(ref)
    y = _dssim_planes(img)
    channel_weights = np.array(_DSSIM_CHANNEL_WEIGHTS)
    values, weights = [], []
    for scale, weight in enumerate(_DSSIM_SCALE_WEIGHTS):
        if scale:
            if min(x.shape[-2:]) // 2 < _DSSIM_MIN_SIDE:
                break
            x, y = _downsample(x), _downsample(y)
        values.append(float(channel_weights @ _ssim_means(x, y, 1.0)))
        weights.append(weight)
    s = float(np.dot(values, weights) / np.sum(weights))
    if s >= 1.0:
        return 0.0
    return math.inf if s <= 0.0 else 1.0 / s - 1.0


# --------------------------------------------------------------------------
# pngquant's quality scale, 0-100.  libimagequant's colour difference and its
# curve from quality to mean squared error, restated from its source
# (src/pal.rs: f_pixel::from_rgba, f_pixel::diff, gamma_lut; src/quant.rs:
# quality_to_mse, mse_to_quality) so that ``--quality`` means what it means to
# pngquant.  One difference: pngquant averages over its histogram with
# per-pixel importance weights (noisy areas count for less), we over every
# pixel alike; bench/bench_quality.py compares the two figures.

__all__ += ["mse_to_quality", "pngquant_difference", "quality", "quality_to_mse"]

_LIQ_INTERNAL_GAMMA = 0.57
_LIQ_IMAGE_GAMMA = 0.45455          # what libimagequant assumes for an sRGB image
_LIQ_WEIGHT_A = 0.625
_LIQ_WEIGHTS = np.array([0.5, 1.0, 0.45])   # R, G, B
_LIQ_WEIGHT_MSE = 0.45
_LIQ_LUT = (np.arange(256) / 255.0) ** (_LIQ_INTERNAL_GAMMA / _LIQ_IMAGE_GAMMA)
_LIQ_LUT.setflags(write=False)


def quality_to_mse(quality: int) -> float:
    """The largest mean colour difference (:func:`pngquant_difference`) of a
    given quality, 0-100: libimagequant's curve, "fudged to be roughly similar
    to quality of libjpeg".  100 gives 0; 0 gives 1e20 (anything goes).

    >>> round(quality_to_mse(80), 10), quality_to_mse(100)
    (0.0002508829, 0.0)
    """
    if not (_is_int_like(quality) and 0 <= quality <= 100):
        raise ParameterError(f"quality must be an integer from 0 to 100, got {quality!r}")
    if quality == 0:
        return 1e20
    if quality == 100:
        return 0.0
    fudge = max(0.016 / (0.001 + quality) - 0.001, 0.0)
    return _LIQ_WEIGHT_MSE * (fudge + 2.5 / (210.0 + quality) ** 1.2 * (100.1 - quality) / 100.0)


def mse_to_quality(mse: float) -> int:
    """The quality, 0-100, of a mean colour difference: the highest quality
    whose :func:`quality_to_mse` is at least ``mse`` less a slack for
    rounding, 0 when none is.  Non-increasing in ``mse``.

    The slack is pngquant 2.17's: 1e-6 added to the curve before its 0.45
    weight (libimagequant 4 adds it after); with it the 56 (MSE, quality)
    pairs pngquant 2.17 printed for the sample photos are all reproduced
    (tests/test_quality.py).

    >>> mse_to_quality(0.0), mse_to_quality(quality_to_mse(80)), mse_to_quality(1.0)
    (100, 80, 0)
    """
    for q in range(100, 0, -1):
        if mse <= _CURVE[q] + _LIQ_WEIGHT_MSE * 1e-6:
            return q
    return 0


def _is_int_like(value) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, bool)


def pngquant_difference(colors_a, colors_b) -> np.ndarray:
    """libimagequant's difference of colours, pair by pair.

    ``colors_a``, ``colors_b``: ``(n, 3)`` RGB or ``(n, 4)`` RGBA ``uint8``
    (both the same).  Each channel goes through ``(v / 255) ** (0.57 /
    0.45455)`` (libimagequant's internal gamma), is weighted (R 0.5, G 1,
    B 0.45) and multiplied by the alpha ``a / 255``; alpha itself is ``0.625
    a / 255``.  The difference is the sum over R, G, B of ``max(d**2, (d +
    da)**2)``, ``d`` the difference of the channel and ``da`` that of the
    alphas: the larger of the errors seen over black and over white.  Returns
    ``(n,) float64``.
    """
    a = np.asarray(colors_a)
    b = np.asarray(colors_b)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] not in (3, 4) or a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ParameterError(f"colours must be two (n, 3) or (n, 4) uint8 arrays of one shape, "
                             f"got {a.shape} {a.dtype} and {b.shape} {b.dtype}")
    d = (_LIQ_LUT[a[:, :3]] - _LIQ_LUT[b[:, :3]]) * _LIQ_WEIGHTS
    if a.shape[1] == 3:
        return np.einsum("ij,ij->i", d, d)
    alpha_a, alpha_b = a[:, 3:] / 255.0, b[:, 3:] / 255.0
    d = _LIQ_LUT[a[:, :3]] * alpha_a * _LIQ_WEIGHTS - _LIQ_LUT[b[:, :3]] * alpha_b * _LIQ_WEIGHTS
    da = _LIQ_WEIGHT_A * (alpha_b - alpha_a)
    return np.maximum(d * d, (d + da) ** 2).sum(axis=1)


def quality(reference, image) -> int:
    """pngquant's quality, 0-100, of ``image`` as a copy of ``reference``:
    :func:`mse_to_quality` of the mean over pixels of
    :func:`pngquant_difference`.  ``(h, w, 3)`` or ``(h, w, 4)`` ``uint8`` of
    the same shape; 100 means identical (or within libimagequant's slack).

    >>> img = np.zeros((1, 2, 3), np.uint8); grey = img + 128
    >>> quality(img, img), quality(img, grey)
    (100, 0)
    """
    ref, img = np.asarray(reference), np.asarray(image)
    _check_pair(ref, img)
    if ref.shape != img.shape:
        raise ParameterError(f"images differ in channels: {ref.shape} and {img.shape}")
    channels = ref.shape[2]
    return mse_to_quality(float(pngquant_difference(ref.reshape(-1, channels), img.reshape(-1, channels)).mean()))


_CURVE = [quality_to_mse(q) for q in range(101)]
