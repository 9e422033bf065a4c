"""Clustering scores against scikit-learn and against hand-worked numbers.

Why ``rel=1e-12`` against sklearn: quantize.metrics evaluates the same
formulas in the same order (entropies from the class and cluster sizes in
sorted order, the mutual information term by term over the non-zero cells in
row-major order, as ``scipy.sparse.find`` of sklearn's CSR table gives them),
so in practice the floats come out bit-identical.  The adjusted Rand index is
exact integer arithmetic on both sides followed by one or two roundings, a few
ulps at most.  1e-12 is therefore ~4 orders of magnitude of slack above double
precision, room for a summation-order change in NumPy, while any formula error
(a wrong log base, a missing term, a swapped margin) is off by far more.
"""
import math
from collections import Counter
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import adjusted_rand_score
from sklearn.metrics import homogeneity_completeness_v_measure as sk_hcv
from sklearn.metrics.cluster import contingency_matrix

from quantize.errors import ParameterError
from quantize.metrics import (
    ClusterScores,
    adjusted_rand_index,
    cluster_scores,
    contingency,
    homogeneity_completeness_v_measure,
    majority_accuracy,
    majority_labels,
)

REL = 1e-12


def close(ours, theirs):
    """``ours`` equals ``theirs`` to REL (exactly, when ``theirs`` is 0)."""
    return ours == pytest.approx(theirs, rel=REL, abs=0.0)


def reference_accuracy(labels_true, labels_pred):
    """Per cluster, the count of its most common class; their sum over n."""
    right = 0
    for cluster in set(labels_pred):
        members = [t for t, p in zip(labels_true, labels_pred) if p == cluster]
        right += Counter(members).most_common(1)[0][1]
    return right / len(labels_true)


def reference_majority(labels_true, labels_pred, k):
    """Per cluster 0..k-1: the smallest of its most common classes, or None."""
    out = []
    for cluster in range(k):
        counts = Counter(t for t, p in zip(labels_true, labels_pred) if p == cluster)
        if not counts:
            out.append(None)
            continue
        top = max(counts.values())
        out.append(min(label for label, c in counts.items() if c == top))
    return out


def check_against_sklearn(labels_true, labels_pred):
    ours = homogeneity_completeness_v_measure(labels_true, labels_pred)
    theirs = sk_hcv(labels_true, labels_pred)
    for name, a, b in zip(("homogeneity", "completeness", "v_measure"), ours, theirs):
        assert close(a, b), (name, a, b)
    ari = adjusted_rand_index(labels_true, labels_pred)
    assert close(ari, adjusted_rand_score(labels_true, labels_pred))
    acc = majority_accuracy(labels_true, labels_pred)
    assert close(acc, reference_accuracy(list(labels_true), list(labels_pred)))
    scores = cluster_scores(labels_true, labels_pred)
    assert (scores.homogeneity, scores.completeness, scores.v_measure) == ours
    assert scores.adjusted_rand == ari and scores.accuracy == acc
    assert scores.n_clusters_used == len(set(np.asarray(labels_pred).tolist()))


# -- the hand-worked example -------------------------------------------------


def test_worked_example():
    """y_true = [0,0,1,1,2,2], y_pred = [0,0,1,2,2,2] (sklearn's docs example).

    Contingency (rows classes 0,1,2; columns clusters 0,1,2)::

        [[2, 0, 0],
         [0, 1, 1],
         [0, 0, 2]]     class sizes a = (2, 2, 2), cluster sizes b = (2, 1, 3), n = 6

    H(C) = ln 3.
    H(K) = (1/3) ln 3 + (1/6) ln 6 + (1/2) ln 2 = (1/2) ln 3 + (2/3) ln 2.
    H(C|K): clusters 0 and 1 are pure; cluster 2 holds {1: 1, 2: 2} of 3 and
    weighs 3/6, so H(C|K) = (1/2)(ln 3 - (2/3) ln 2) = (1/2) ln 3 - (1/3) ln 2.
    I = H(C) - H(C|K) = (1/2) ln 3 + (1/3) ln 2.
    h = I / H(C) = 1/2 + ln 2 / (3 ln 3)                       = 0.7103099...
    c = I / H(K) = (3 ln 3 + 2 ln 2) / (3 ln 3 + 4 ln 2)       = 0.7715562...
    V = 2 h c / (h + c)                                        = 0.7396674...

    ARI: index = comb(2,2) + comb(1,2) + comb(1,2) + comb(2,2) = 2;
    A = 3 comb(2,2) = 3; B = comb(2,2) + comb(1,2) + comb(3,2) = 4; N = comb(6,2) = 15.
    Expected index A B / N = 0.8, max (A + B)/2 = 3.5, so
    ARI = (2 - 0.8) / (3.5 - 0.8) = 1.2 / 2.7 = 4/9.

    Majorities: cluster 0 -> 0 (2 of 2), 1 -> 1 (1 of 1), 2 -> 2 (2 of 3);
    accuracy = (2 + 1 + 2) / 6 = 5/6.
    """
    y_true, y_pred = [0, 0, 1, 1, 2, 2], [0, 0, 1, 2, 2, 2]
    ln2, ln3 = math.log(2), math.log(3)
    h = 0.5 + ln2 / (3 * ln3)
    c = (3 * ln3 + 2 * ln2) / (3 * ln3 + 4 * ln2)
    v = 2 * h * c / (h + c)
    got = homogeneity_completeness_v_measure(y_true, y_pred)
    assert got == pytest.approx((h, c, v), rel=REL)
    assert got[0] == pytest.approx(0.7103099, abs=1e-7)
    assert got[1] == pytest.approx(0.7715562, abs=1e-7)
    assert got[2] == pytest.approx(0.7396674, abs=1e-7)
    assert adjusted_rand_index(y_true, y_pred) == 4 / 9  # exact: one rounding of 36/81
    assert majority_accuracy(y_true, y_pred) == 5 / 6
    assert majority_labels(y_true, y_pred).tolist() == [0, 1, 2]
    classes, clusters, table = contingency(y_true, y_pred)
    assert classes.tolist() == [0, 1, 2] and clusters.tolist() == [0, 1, 2]
    assert table.tolist() == [[2, 0, 0], [0, 1, 1], [0, 0, 2]]
    assert cluster_scores(y_true, y_pred) == ClusterScores(*got, 4 / 9, 5 / 6, 3)


# -- random labelings against sklearn ----------------------------------------


@pytest.mark.slow
@settings(max_examples=150, deadline=None)
@given(
    data=st.data(),
    n=st.integers(1, 120),
    n_classes=st.integers(1, 6),
    k=st.integers(1, 10),
    strings=st.booleans(),
)
def test_random_labelings_match_sklearn(data, n, n_classes, k, strings):
    true = data.draw(st.lists(st.integers(0, n_classes - 1), min_size=n, max_size=n))
    pred = data.draw(st.lists(st.integers(0, k - 1), min_size=n, max_size=n))
    if strings:
        true = [f"class-{t}" for t in true]
    check_against_sklearn(np.array(true), np.array(pred))


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(40))
def test_seeded_labelings_match_sklearn(seed):
    """Varied sizes: up to 20 000 points, 50 classes, 300 clusters of which
    only a random subset is used (empty clusters), string labels on odd seeds."""
    rng = np.random.default_rng(seed)
    n = int(rng.choice([1, 2, 3, 10, 100, 1000, 20_000]))
    n_classes = int(rng.integers(1, 51))
    k = int(rng.integers(1, 301))
    used = rng.choice(k, size=int(rng.integers(1, k + 1)), replace=False)
    # skewed class sizes, and clusters that follow the classes part of the time
    true = rng.choice(n_classes, size=n, p=rng.dirichlet(np.ones(n_classes)))
    pred = rng.choice(used, size=n)
    follow = rng.random(n) < rng.random()
    pred[follow] = used[true[follow] % len(used)]
    if seed % 2:
        true = np.array([f"digit {t:02d}" for t in true])
    check_against_sklearn(true, pred)


def test_contingency_matches_sklearn():
    rng = np.random.default_rng(3)
    true = rng.choice(np.array(["cat", "dog", "emu"]), size=500)
    pred = rng.choice([0, 2, 5, 7], size=500)
    classes, clusters, table = contingency(true, pred)
    assert classes.tolist() == ["cat", "dog", "emu"]
    assert clusters.tolist() == [0, 2, 5, 7]
    assert table.dtype == np.int64 and table.shape == (3, 4)
    np.testing.assert_array_equal(table, contingency_matrix(true, pred))
    assert table.sum() == 500


def test_large_n_ari_is_exact():
    """n = 10^6: the pair counts' products (~10^22) overflow int64; the result
    must equal the exact rational, correctly rounded, and sklearn."""
    n = 1_000_000
    i = np.arange(n)
    true = i % 3
    pred = np.where(i % 7 == 0, 0, (i // 5) % 4)
    ari = adjusted_rand_index(true, pred)
    comb2 = lambda x: x * (x - 1) // 2  # noqa: E731
    _, _, table = contingency(true, pred)
    index = sum(comb2(int(x)) for x in table.ravel())
    a = sum(comb2(int(x)) for x in table.sum(axis=1))
    b = sum(comb2(int(x)) for x in table.sum(axis=0))
    pairs = comb2(n)
    expected = Fraction(index) - Fraction(a * b, pairs)
    exact = expected / (Fraction(a + b, 2) - Fraction(a * b, pairs))
    assert a * b > 2**63  # the case int64 alone would get wrong
    assert ari == float(exact)
    assert close(ari, adjusted_rand_score(true, pred))


# -- edge cases, with sklearn's conventions ---------------------------------


@pytest.mark.parametrize(
    "true, pred, hcv, ari",
    [
        ([0, 0, 0, 0], [0, 1, 2, 1], (1.0, 0.0, 0.0), 0.0),  # one class
        ([0, 1, 2, 1], [3, 3, 3, 3], (0.0, 1.0, 0.0), 0.0),  # one cluster
        ([4, 4, 4], [9, 9, 9], (1.0, 1.0, 1.0), 1.0),  # both trivial
        ([7], [0], (1.0, 1.0, 1.0), 1.0),  # one point
        ([0, 1, 2, 3], [3, 2, 1, 0], (1.0, 1.0, 1.0), 1.0),  # both all singletons
        ([0, 1, 2, 3], [0, 0, 0, 0], (0.0, 1.0, 0.0), 0.0),  # singletons vs one cluster
        ([0, 0, 0, 0], [0, 1, 2, 3], (1.0, 0.0, 0.0), 0.0),  # one cluster vs singletons
        (["a", "a", "b", "b"], [5, 5, 2, 2], (1.0, 1.0, 1.0), 1.0),  # renamed
        ([0, 0, 1, 1], [0, 1, 0, 1], (0.0, 0.0, 0.0), -0.5),  # independent
    ],
)
def test_edge_cases(true, pred, hcv, ari):
    assert homogeneity_completeness_v_measure(true, pred) == hcv
    assert sk_hcv(true, pred) == hcv  # the conventions are sklearn's
    assert adjusted_rand_index(true, pred) == ari
    assert adjusted_rand_score(true, pred) == ari
    assert close(majority_accuracy(true, pred), reference_accuracy(true, pred))


def test_independent_table_scores_exactly_zero():
    """n_ij = u_i v_j with u = (7, 6, 5), v = (3, 3, 1, 1): every term
    ln(n n_ij / (a_i b_j)) is ln 1 = 0, but in floats the terms leave ~6e-17;
    sklearn zeroes terms below machine epsilon, and so must we."""
    table = np.outer([7, 6, 5], [3, 3, 1, 1])
    true = np.repeat(np.repeat(np.arange(3), 4), table.ravel())
    pred = np.repeat(np.tile(np.arange(4), 3), table.ravel())
    assert homogeneity_completeness_v_measure(true, pred) == (0.0, 0.0, 0.0)
    assert sk_hcv(true, pred) == (0.0, 0.0, 0.0)


@pytest.mark.parametrize("beta", [0.0, 0.5, 2.0, 10.0])
def test_beta_matches_sklearn(beta):
    rng = np.random.default_rng(11)
    for _ in range(20):
        true, pred = rng.integers(0, 4, 60), rng.integers(0, 6, 60)
        ours = homogeneity_completeness_v_measure(true, pred, beta=beta)
        theirs = sk_hcv(true, pred, beta=beta)
        assert all(close(a, b) for a, b in zip(ours, theirs)), (ours, theirs)
    # beta = 0 is V = h
    h, _, v = homogeneity_completeness_v_measure([0, 0, 1, 1], [0, 0, 0, 1], beta=0)
    assert v == h > 0


def test_beta_zero_with_zero_completeness_is_zero():
    """One class split across clusters: h = 1, c = 0; V_0 = 1*0/(0*1 + 0) is
    0/0, taken as 0 (its value for every beta > 0; sklearn divides by zero)."""
    assert homogeneity_completeness_v_measure([0, 0, 0], [0, 1, 2], beta=0) == (1.0, 0.0, 0.0)


@pytest.mark.parametrize("beta", [-1.0, float("nan"), float("inf"), "x", True])
def test_bad_beta(beta):
    with pytest.raises(ParameterError):
        homogeneity_completeness_v_measure([0, 1], [0, 1], beta=beta)


ALL = [
    contingency,
    homogeneity_completeness_v_measure,
    adjusted_rand_index,
    majority_labels,
    majority_accuracy,
    cluster_scores,
]


@pytest.mark.parametrize("fn", ALL)
def test_empty_input_is_an_error(fn):
    with pytest.raises(ParameterError, match="empty"):
        fn([], [])
    with pytest.raises(ValueError):  # ParameterError is a ValueError
        fn(np.array([], dtype=int), np.array([], dtype=int))


@pytest.mark.parametrize("fn", ALL)
def test_bad_shapes_are_errors(fn):
    with pytest.raises(ParameterError, match="length"):
        fn([0, 1, 1], [0, 1])
    with pytest.raises(ParameterError, match="1-D"):
        fn([[0, 1], [1, 0]], [[0, 1], [1, 0]])
    with pytest.raises(ParameterError, match="1-D"):
        fn(3, 3)


def test_unsortable_labels_are_an_error():
    with pytest.raises(ParameterError, match="sorted"):
        adjusted_rand_index(np.array([1, "a", 2], dtype=object), [0, 0, 1])


# -- majorities --------------------------------------------------------------


def test_majority_tie_goes_to_smallest_label():
    # cluster 0: two of each label; cluster 1: one of each of three
    assert majority_labels(["b", "a", "b", "a", "c", "b", "a"], [0, 0, 0, 0, 1, 1, 1]).tolist() == ["a", "a"]
    assert majority_labels([3, 3, 1, 1, -2, 5], [0, 0, 0, 0, 1, 1]).tolist() == [1, -2]
    # a strict majority beats a smaller label
    assert majority_labels([1, 3, 3], [0, 0, 0]).tolist() == [3]


def test_majority_labels_with_empty_clusters_and_larger_k():
    true = [10, 10, 20, 30, 30, 30]
    pred = [4, 4, 4, 1, 1, 4]
    got = majority_labels(true, pred, k=7)
    assert got.dtype == object and got.shape == (7,)
    assert got.tolist() == [None, 30, None, None, 10, None, None]
    assert all(type(x) is int for x in got if x is not None)  # plain Python scalars
    assert majority_labels(true, pred).tolist() == [None, 30, None, None, 10]  # k = max + 1
    assert majority_labels(true, np.array(pred, dtype=np.uint8), k=np.int64(5)).tolist()[4] == 10
    # the sentinel never matches a label, so the per-point comparison is the accuracy
    right = got[np.array(pred)] == np.array(true, dtype=object)
    assert right.mean() == majority_accuracy(true, pred) == 4 / 6


def test_majority_labels_bad_arguments():
    with pytest.raises(ParameterError, match="k = 2"):
        majority_labels([0, 1, 2], [0, 1, 2], k=2)
    with pytest.raises(ParameterError, match=">= 0"):
        majority_labels([0, 1], [-1, 0])
    with pytest.raises(ParameterError, match="integer"):
        majority_labels([0, 1], [0.0, 1.0])
    with pytest.raises(ParameterError, match="integer"):
        majority_labels([0, 1], ["a", "b"])
    with pytest.raises(ParameterError, match="k must be an int"):
        majority_labels([0, 1], [0, 1], k=2.0)


@pytest.mark.parametrize("seed", range(25))
def test_majority_labels_match_reference(seed):
    """Small n and few labels make ties common."""
    rng = np.random.default_rng(100 + seed)
    n, k = int(rng.integers(1, 40)), int(rng.integers(1, 12))
    true = rng.integers(0, 4, n)
    if seed % 2:
        true = np.array(["w", "x", "y", "z"])[true]
    pred = rng.integers(0, k, n)
    k_out = k + int(rng.integers(0, 3))
    expected = reference_majority(true.tolist(), pred.tolist(), k_out)
    assert majority_labels(true, pred, k=k_out).tolist() == expected
