"""The one nearest-entry search (quantize.core.nearest): exact for 8-bit
colours, the same answer in any company, block and layout, and the exact
nearest entry whatever the values when asked."""
import numpy as np
import pytest

from quantize.core import nearest
from quantize.core.nearest import (ColorSet, Entries, block_rows, nearest_centroid, nearest_entry,
                                   nearest_palette, search)


def brute(points, entries):
    """Labels (ties to the lower index) and squared distances, float64, by hand."""
    diff = np.asarray(points, np.float64)[:, None, :] - np.asarray(entries, np.float64)[None, :, :]
    sq = np.einsum("ijk,ijk->ij", diff, diff)
    labels = sq.argmin(axis=1)
    return labels, sq[np.arange(len(sq)), labels]


def test_a_toy_case_by_hand():
    points = np.array([[0.0, 0.0], [2.0, 0.0], [3.0, 0.0], [10.0, 1.0]])
    entries = np.array([[0.0, 0.0], [4.0, 0.0], [10.0, 0.0]])
    labels, scores = nearest_entry(points, Entries(entries, np.float64))
    assert labels.tolist() == [0, 0, 1, 2]  # (2, 0) is as far from 0 as from 1: the lower index
    x_sq = (points**2).sum(axis=1)
    assert (x_sq - 2 * scores).tolist() == [0.0, 4.0, 1.0, 1.0]


@pytest.mark.parametrize("m", [1, 2, 16, 33, 256])
@pytest.mark.parametrize("channels", [3, 4])
def test_8_bit_colours_are_exact(m, channels):
    """Whole scores below 2^22 are exact in float32: the labels (ties to the
    lower index) and the int64 distances of brute force, with duplicated
    entries for ties."""
    rng = np.random.default_rng(m + channels)
    colors = rng.integers(0, 256, (5000, channels), dtype=np.uint8)
    palette = rng.integers(0, 256, (m, channels), dtype=np.uint8)
    if m > 2:
        palette[m // 2] = palette[0]  # an exact tie for every colour nearest to entry 0
        colors[:50] = palette[1:2] + rng.integers(0, 2, (50, channels)).astype(np.uint8)
    labels, sq = nearest_palette(colors, palette)
    want_labels, want_sq = brute(colors, palette)
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_array_equal(sq, want_sq.astype(np.int64))
    assert labels.dtype == np.int32 and sq.dtype == np.int64
    again = ColorSet(colors)
    for _ in range(2):  # prepared once, searched many times
        np.testing.assert_array_equal(again.nearest(palette)[0], labels)


@pytest.mark.parametrize("dtype, columns", [(np.float32, False), (np.float32, True), (np.float64, False)])
@pytest.mark.parametrize("m", [1, 3, 16, 32, 33, 200])
def test_the_same_answer_in_any_company(dtype, columns, m):
    """A point gets the same labels and scores, to the bit, whichever points it
    is searched with, alone included (never a matrix-vector product; with one
    entry, where every product is one, the float32 score may differ).  Not
    promised for the column layout in float64 (see the module docstring)."""
    rng = np.random.default_rng(m)
    points = nearest.augment(rng.normal(size=(3000, 3)), dtype)
    entries = Entries(rng.normal(size=(m, 3)), dtype)
    every = search(points, entries, top=3, columns=columns)
    for size in (1, 2, 3, 700):
        some = np.sort(rng.choice(len(points), size, replace=False))
        for part in (search(points[some], entries, top=3, columns=columns),
                     search(points, entries, top=3, index=some, columns=columns)):
            np.testing.assert_array_equal(part[0], every[0][:, some])
            if m > 1 or dtype == np.float64:
                np.testing.assert_array_equal(part[1], every[1][:, some])


@pytest.mark.parametrize("m", [2, 5, 16, 32, 40])
def test_the_column_layout_scores_as_the_row_layout(m):
    """A block laid out one entry per row gives the same float32 scores and
    labels as one plain product, on Oklab-like values."""
    rng = np.random.default_rng(m)
    points = nearest.augment(rng.uniform(-0.3, 1.0, size=(5000, 3)), np.float32)
    entries = Entries(rng.uniform(-0.3, 1.0, size=(m, 3)), np.float32)
    by_column = search(points, entries, top=3, columns=True)
    by_row = search(points, entries, top=3)
    plain = points @ entries.matrix
    for got in (by_column, by_row):
        np.testing.assert_array_equal(got[0], by_row[0])
        np.testing.assert_array_equal(got[1], by_row[1])
        np.testing.assert_array_equal(got[0][0], plain.argmax(axis=1))
        np.testing.assert_array_equal(got[1][0], plain.max(axis=1))


@pytest.mark.parametrize("block", [1 << 8, 1 << 12, 1 << 20])
def test_the_block_size_changes_nothing_for_colours(block, monkeypatch):
    """For d + 1 <= 5 terms BLAS computes each score alike in any block of at
    least two rows, so the block rule cannot change a result."""
    rng = np.random.default_rng(7)
    points = rng.uniform(0, 1, size=(20001, 4)).astype(np.float32)
    entries = Entries(rng.uniform(0, 1, size=(64, 4)), np.float32)
    usual = nearest_entry(points, entries)
    monkeypatch.setattr(nearest, "BLOCK_SCORES", block)
    assert block_rows(64) == max(2, block // 64)
    other = nearest_entry(points, entries)
    np.testing.assert_array_equal(other[0], usual[0])
    np.testing.assert_array_equal(other[1], usual[1])


def test_exact_settles_near_ties():
    """Points between two entries closer than float32 can tell apart get the
    exact nearest entry (float64 squared distances), ties to the lower index."""
    rng = np.random.default_rng(3)
    palette = rng.uniform(0, 1, size=(40, 3)).astype(np.float32)
    middle = (palette[:20].astype(np.float64) + palette[20:]) / 2
    points = (middle + rng.normal(scale=1e-7, size=middle.shape)).astype(np.float32)
    points = np.vstack([points, rng.uniform(0, 1, size=(3000, 3)).astype(np.float32)])
    labels, _ = nearest_entry(points, Entries(palette, np.float32), exact=True)
    np.testing.assert_array_equal(labels, brute(points, palette)[0])


def test_exact_scores_need_no_settling(monkeypatch):
    """With whole numbers the float32 argmax is already exact: settling every
    near tie anyway changes nothing."""
    rng = np.random.default_rng(4)
    points = rng.integers(0, 256, (4000, 3)).astype(np.float32)
    palette = rng.integers(0, 256, (64, 3)).astype(np.float32)
    palette[10] = palette[3]
    quick = nearest_entry(points, Entries(palette, np.float32), exact=True)[0]
    monkeypatch.setattr(nearest, "WHOLE_LIMIT", 0.0)
    settled = nearest_entry(points, Entries(palette, np.float32), exact=True)[0]
    np.testing.assert_array_equal(quick, settled)
    np.testing.assert_array_equal(quick, brute(points, palette)[0])


def test_bias_after_is_the_product_then_the_bias():
    """The mini-batch arithmetic, kept: x @ p, then -|p|^2/2 added (two roundings)."""
    rng = np.random.default_rng(5)
    rows = rng.normal(size=(300, 50)).astype(np.float32)
    centroids = rng.normal(size=(7, 50))
    entries = Entries(centroids, np.float32, bias_after=True)
    want = rows @ centroids.T.astype(np.float32)
    want += (-0.5 * np.einsum("ij,ij->i", centroids, centroids)).astype(np.float32)
    np.testing.assert_array_equal(entries.scores(rows), want)
    assert entries.matrix.shape == (50, 7) and entries.bias.dtype == np.float32
    labels, scores = entries.nearest_in(rows, out=np.empty((300, 7), np.float32))
    np.testing.assert_array_equal(labels, want.argmax(axis=1))
    np.testing.assert_array_equal(scores, want)


def test_nearest_centroid_is_brute_force_on_separated_points():
    rng = np.random.default_rng(6)
    centroids = rng.normal(size=(12, 5)) * 10
    points = centroids[rng.integers(0, 12, 3001)] + rng.normal(size=(3001, 5))
    labels, sq = nearest_centroid(points, centroids)
    want_labels, want_sq = brute(points, centroids)
    np.testing.assert_array_equal(labels, want_labels)
    np.testing.assert_allclose(sq, want_sq, rtol=1e-9)
    assert labels.dtype == np.int32 and sq.dtype == np.float64


def test_top_three_are_the_three_best_in_order():
    rng = np.random.default_rng(8)
    points = nearest.augment(rng.normal(size=(500, 3)), np.float32)
    for m, columns in ((1, False), (2, True), (3, False), (20, True), (40, False), (300, True)):
        entries = Entries(rng.normal(size=(m, 3)), np.float32)
        labels, scores = search(points, entries, top=3, columns=columns)
        plain = (points @ entries.matrix).astype(np.float64)
        want = -np.sort(-plain, axis=1)
        np.testing.assert_array_equal(scores[: min(m, 3)].T, want[:, :3])
        assert np.isneginf(scores[min(m, 3):]).all()
        np.testing.assert_array_equal(labels[0], plain.argmax(axis=1))
        if m > 1:
            assert (labels[1] != labels[0]).all()
            np.testing.assert_array_equal(plain[np.arange(500), labels[1]], want[:, 1])
