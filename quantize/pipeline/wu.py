"""Wu's colour quantizer: a palette from greedy variance-minimising box splits.

Xiaolin Wu, "Efficient statistical computations for optimal color
quantization", Graphics Gems II (1991).  The RGB cube is cut into 32 bins per
channel (the top 5 bits of each value).  Over the bins, with a zero plane in
front of each axis (a ``33 x 33 x 33`` grid), the cumulative moments of the
pixels are kept: their count, the sums of r, g and b, and the sum of
``r**2 + g**2 + b**2`` (of the 8-bit values themselves, not the bins'
centres).  Any box of bins then has its moments from 8 corners of the grid,
and its variance (sum of squared distances to its mean) from them.

Starting from the whole cube, ``k - 1`` times: the box with the largest
variance is cut in two by the plane, along r, g or b and between two of its
bins, that lowers the summed variance most; a box of one bin, or whose pixels
all lie on one side of every plane, is not cut again.  Each box gives the
pixel-weighted mean of its colours.  RGB only: :func:`fit_palette` starts an
image with alpha from k-means++ even when "wu" is asked for.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core import add_worst_served
from ..histogram import Histogram

BITS = 5  # bits of each channel that choose a bin: 32 bins per channel
SIDE = (1 << BITS) + 1  # the grid: a zero plane, then the 32 bins
FRONT = ((0, 1, 2, 3), (1, 0, 2, 3), (2, 0, 1, 3))  # the grid with each axis first, the others in order


@dataclass(frozen=True)
class WuBoxes:
    """The boxes of Wu's quantizer and their colours.

    Attributes
    ----------
    boxes : (m, 3, 2) int64
        Each box's bins along r, g and b: ``(lo, hi)`` holds the grid indices
        ``lo + 1 .. hi`` (bin ``i`` of a channel is grid index ``i + 1``, so
        the whole cube is ``(0, 32)`` on each axis).
    means : (m, 3) float64
        The pixel-weighted mean RGB colour of each box, 0..255.
    weights : (m,) float64
        Pixels in each box (all positive).
    """

    boxes: np.ndarray
    means: np.ndarray
    weights: np.ndarray


def moments(hist: Histogram) -> np.ndarray:
    """The cumulative moments of an RGB histogram, ``(33, 33, 33, 5) float64``.

    ``M[r, g, b]`` holds, over the pixels whose bins are at most ``r - 1``,
    ``g - 1`` and ``b - 1``: their count, sums of r, g and b, and sum of
    ``r**2 + g**2 + b**2`` (8-bit values).  Every entry is an integer below
    2**53, so float64 holds it exactly.
    """
    colors = hist.colors[:, :3].astype(np.int64)
    index = (colors >> (8 - BITS)) + 1
    flat = (index[:, 0] * SIDE + index[:, 1]) * SIDE + index[:, 2]
    counts = hist.counts.astype(np.float64)
    values = [counts, *(counts * colors[:, j] for j in range(3)), counts * (colors ** 2).sum(axis=1)]
    grid = np.stack([np.bincount(flat, weights=v, minlength=SIDE ** 3) for v in values], axis=-1)
    grid = grid.reshape(SIDE, SIDE, SIDE, 5)
    for axis in range(3):
        np.cumsum(grid, axis=axis, out=grid)
    return grid


def _along(M: np.ndarray, box: np.ndarray, axis: int) -> np.ndarray:
    """The moments ``(33, 5)`` of the box's slab ``(0, c]`` along ``axis``
    within its bounds on the two other axes, for every grid index ``c``."""
    lines = M.transpose(FRONT[axis])
    (a0, a1), (b0, b1) = (box[j] for j in range(3) if j != axis)
    return lines[:, a1, b1] - lines[:, a1, b0] - lines[:, a0, b1] + lines[:, a0, b0]


def volume(M: np.ndarray, box: np.ndarray) -> np.ndarray:
    """The moments ``(5,)`` of the pixels in ``box (3, 2)``."""
    slab = _along(M, box, 0)
    return slab[box[0, 1]] - slab[box[0, 0]]


def variance(m: np.ndarray) -> float:
    """The sum of squared distances to their mean of the pixels with moments ``m (5,)``."""
    return float(m[4] - (m[1:4] @ m[1:4]) / m[0]) if m[0] > 0 else 0.0


def best_cut(M: np.ndarray, box: np.ndarray) -> tuple[int, int, float]:
    """The cut of ``box (3, 2)`` that lowers the summed variance most.

    Every plane between two of the box's bins along each axis is scored at
    once from cumulative sums.  Returns ``(axis, c, gain)``: the lower part
    is ``(lo, c]`` along ``axis``, the upper ``(c, hi]``, and ``gain`` the
    variance of the box less that of its two parts; ``(-1, -1, 0.0)`` when
    no plane leaves pixels on both sides (or, by rounding, none lowers the
    variance).  Ties go to the first axis (r, g,
    b), then the lowest ``c``.
    """
    whole = volume(M, box)
    base = (whole[1:4] @ whole[1:4]) / whole[0]
    best = (-1, -1, 0.0)
    for axis in range(3):
        lo, hi = box[axis]
        if hi - lo < 2:
            continue
        slab = _along(M, box, axis)
        lower = slab[lo + 1:hi] - slab[lo]  # (hi - lo - 1, 5): the parts (lo, c] for c in lo+1 .. hi-1
        upper = whole - lower
        both = (lower[:, 0] > 0) & (upper[:, 0] > 0)
        if not both.any():
            continue
        with np.errstate(divide="ignore", invalid="ignore"):
            score = ((lower[:, 1:4] ** 2).sum(axis=1) / lower[:, 0]
                     + (upper[:, 1:4] ** 2).sum(axis=1) / upper[:, 0])
        score = np.where(both, score, -np.inf)
        at = int(np.argmax(score))
        if score[at] - base > best[2]:
            best = (axis, int(lo + 1 + at), float(score[at] - base))
    return best


def wu_boxes(hist: Histogram, k: int) -> WuBoxes:
    """Wu's boxes for at most ``k`` colours of an RGB histogram.

    Parameters
    ----------
    hist : Histogram
        Colours ``(n, 3) uint8`` and their pixel counts (RGB only: the first
        three channels are taken as they are).
    k : int >= 1
        The most boxes; fewer come back when no box can be cut again (fewer
        occupied bins than ``k``, e.g. an image of few colours).

    Returns
    -------
    WuBoxes
        The boxes in the order they were made (a cut box keeps its place and
        its upper part comes last), their means and pixel counts.
    """
    M = moments(hist)
    boxes, _, _ = _cuts(M, k)
    totals = np.array([volume(M, box) for box in boxes])
    return WuBoxes(np.array(boxes), totals[:, 1:4] / totals[:, :1], totals[:, 0])


def wu_curve(hist: Histogram, k: int) -> np.ndarray:
    """The distortion of Wu's palette at every size up to ``k``, from one run.

    Returns ``(m,) float64``, ``m`` the number of boxes ``wu_boxes(hist, k)``
    gives: entry ``j`` is the summed variance of the boxes of
    ``wu_boxes(hist, j + 1)`` (the squared RGB distance of every pixel to the
    mean of its box, summed over pixels; divide by ``hist.n_pixels`` for the
    mean).  The cuts are greedy, so the boxes for ``j + 1`` colours are those
    of the run for ``k`` after its first ``j`` cuts, and each cut lowers the
    sum by the variance of the box less that of its two parts.
    """
    return np.array(_cuts(moments(hist), k)[1])


class WuRun:
    """One run of Wu's cuts for at most ``k`` boxes of an RGB histogram:
    ``curve`` as :func:`wu_curve` gives it, and :meth:`means` the means of the
    boxes of ``wu_boxes(hist, K)`` for any K up to the curve's length (the
    boxes of the run for ``k`` with its cuts after the first ``K - 1``
    undone)."""

    def __init__(self, hist: Histogram, k: int):
        self.M = moments(hist)
        self._boxes, curve, self._undo = _cuts(self.M, k)
        self.curve = np.array(curve)

    def means(self, size: int) -> np.ndarray:
        """The means ``(size, 3) float64`` of Wu's boxes for ``size`` colours."""
        boxes = list(self._boxes)
        while len(boxes) > size:
            boxes.pop()
            at, before = self._undo[len(boxes) - 1]
            boxes[at] = before
        totals = np.array([volume(self.M, box) for box in boxes])
        return totals[:, 1:4] / totals[:, :1]


def _cuts(M: np.ndarray, k: int) -> tuple[list[np.ndarray], list[float], list[tuple[int, np.ndarray]]]:
    """Wu's boxes, at most ``k``, cut from the cube of moments ``M``, the
    summed variance of the boxes after each cut (the first entry: the whole
    cube's), see :func:`wu_boxes` and :func:`wu_curve`, and for each cut the
    box cut and what it was (to undo it)."""
    boxes = [np.array([[0, SIDE - 1]] * 3, dtype=np.int64)]
    parts = [variance(volume(M, boxes[0]))]  # each box's variance
    scores = list(parts)  # what picks the next box to cut: its variance, 0 once it cannot be cut
    curve, undo = [parts[0]], []
    while len(boxes) < k:
        at = int(np.argmax(scores))
        if scores[at] <= 0:
            break
        axis, cut, _ = best_cut(M, boxes[at])
        if axis < 0:
            scores[at] = 0.0  # its pixels cannot be parted
            continue
        upper, lower = boxes[at].copy(), boxes[at].copy()
        undo.append((at, boxes[at]))
        lower[axis, 1], upper[axis, 0] = cut, cut
        boxes[at] = lower
        boxes.append(upper)
        before = parts[at]
        parts[at], scores[at] = variance(volume(M, boxes[at])), 0.0
        parts.append(variance(volume(M, upper)))
        scores.append(0.0)
        for j in (at, len(boxes) - 1):  # a box of one bin is not cut again
            scores[j] = parts[j] if (np.diff(boxes[j], axis=1) > 1).any() else 0.0
        curve.append(max(curve[-1] - before + parts[at] + parts[-1], 0.0))
    return boxes, curve, undo


def wu_palette(hist: Histogram, k: int) -> np.ndarray:
    """Wu's palette of at most ``k`` colours of an RGB histogram, ``(m, 3)
    uint8``: each box's mean colour rounded (see :func:`wu_boxes`)."""
    return np.clip(np.rint(wu_boxes(hist, k).means), 0, 255).astype(np.uint8)


def wu_start(hist: Histogram, k: int, space) -> np.ndarray:
    """Starting centroids for k-means in ``space`` (a
    :class:`~quantize.pipeline.working_space.WorkingSpace`), ``(k, 3)
    float32``: the means of Wu's boxes as points of the space.

    When there are fewer boxes than ``k`` (the colours fill fewer than ``k``
    bins), the rest are the histogram's colours picked one at a time, each the
    one of largest ``count * squared distance`` to its nearest pick so far
    (deterministic).  ``hist`` must hold more than ``k`` colours.
    """
    centres = space.points(wu_boxes(hist, k).means)
    if len(centres) == k:
        return centres
    points = space.points(hist.colors[:, :3])
    grown = add_worst_served(points, hist.counts.astype(np.float64), centres, k - len(centres))
    return grown.astype(np.float32)  # float32 points and centres: exact
