"""Fit a palette to an image's colours: weighted k-means on its histogram,
coarse to fine as the speed schedule says."""
from __future__ import annotations

import numpy as np

from ..checks import check_image, check_k
from ..histogram import Histogram, coarsen, color_histogram, from_working_points
from ..core import kmeans
from ..limits import MAX_COLORS
from ..options import KMeansOptions
from ..progress import ProgressCallback, notify, span
from .records import Palette
from .working_space import WorkingSpace
from .wu import wu_start

FINE_MAX = 1 << 18  # more unique colours than this: the last level is 6-bit bins
SAMPLE_SHARE = 0.3  # of the progress bar, for the first level

# What each speed above 1 does (speed 1: one k-means on every unique colour):
# pixels drawn for the first level, per cluster and at least; whether a level on
# the colours binned to 6 bits per channel comes next; the last level's stop
# threshold as a multiple of ``tol``, and its iteration limit (None: max_iter;
# 0: no run on every colour, the level before gives the palette).  Time and
# PSNR at each speed: bench/bench_speed_curve.py.
SPEED_SCHEDULE = {
    2: (32, 4096, False, 1, None),
    3: (32, 4096, True, 1, None),
    4: (32, 4096, True, 10, None),
    5: (32, 4096, True, 10, 3),
    6: (32, 4096, True, 10, 1),
    7: (32, 4096, True, 1, 0),
    8: (32, 4096, False, 1, 0),
    9: (16, 2048, False, 1, 0),
    10: (8, 1024, False, 1, 0),
}


def to_palette(centroids) -> np.ndarray:
    """Centroids ``(k, 3)`` of real numbers rounded to 8-bit colours, ``(k, 3) uint8``."""
    return from_working_points(centroids, 3)


def fit_palette(source, k: int, options: KMeansOptions | None = None, *,
                on_progress: ProgressCallback | None = None) -> Palette:
    """Fit a palette of at most ``k`` colours to an image or its histogram.

    The k-means runs on the distinct colours weighted by their pixel counts,
    which gives the same optimum as on the raw pixels at a fraction of the
    cost; the centroids are rounded to 8-bit colours.  With alpha, it runs on
    premultiplied RGBA (:func:`quantize.histogram.working_points`), and when
    some pixels are fully transparent one entry is kept for them,
    (0, 0, 0, 0), and the other ``k - 1`` are fitted to the rest.

    Parameters
    ----------
    source : (h, w, 3) or (h, w, 4) uint8 array, or Histogram
        The image or its colour histogram.
    k : int
        Number of colours, 1 to 256.  Data with no more than ``k`` colours
        gets its own colours (``Palette.exact``).
    options : KMeansOptions, optional
        At ``speed`` 1, one k-means on all the unique colours: the exact
        weighted equivalent of k-means on the pixels.  Above, k-means first
        runs on a sample of max(4096, 32 K) pixels (fewer at speeds 9 and 10;
        ``init`` and ``n_init`` apply there), and its centroids start a run on
        all the unique colours (on the colours binned to 6 bits per channel
        when there are more than 2**18 of them).  From speed 3 on, a level on
        the colours binned to 6 bits per channel comes between the two (see
        :func:`sample_levels`), and the run on every colour stops at 10 tol
        from speed 4, after at most 3 iterations at speed 5 and 1 at speed 6;
        at speed 7 the binned level gives the palette, from speed 8 the
        sample (of 32 K, 16 K, 8 K pixels, at least 4096, 2048, 1024).
        With ``init="wu"`` the first level starts from the palette of Wu's
        quantizer (:func:`quantize.pipeline.wu.wu_start`) in the working
        space, one run; an image with alpha starts from "k-means++".
    on_progress : callable(fraction) -> bool or None, optional
        See :mod:`quantize.progress`; the first level counts for 30%.
    """
    options = options or KMeansOptions()
    hist = source if isinstance(source, Histogram) else color_histogram(check_image(source))
    check_k(k, MAX_COLORS)
    space = WorkingSpace(options.space, hist.channels)
    n_colors = len(hist.colors)
    if n_colors <= k:
        notify(on_progress, 1.0)
        return Palette(hist.colors, n_colors, exact=True)
    reserve = hist.channels == 4 and hist.keys[0] == 0 and k > 1  # the fully transparent entry
    data = Histogram(hist.keys[1:], hist.colors[1:], hist.counts[1:]) if reserve else hist
    k_fit = k - reserve
    rng = np.random.default_rng(options.seed)
    levels, runs = _schedule(data, k_fit, options, rng)
    # Progress: the first level takes SAMPLE_SHARE of the bar, the others share the rest.
    shares = [0.0, *np.linspace(SAMPLE_SHARE, 1.0, len(levels)).tolist()] if len(levels) > 1 else [0.0, 1.0]
    levels = [(space.points(points), weights) for points, weights in levels]  # RGB 0..255 into the space
    init, n_iter = options.init, 0
    if init == "wu":  # Wu's palette starts the first level; RGBA starts from k-means++
        init = wu_start(data, k_fit, space) if hist.channels == 3 else "k-means++"
    for level, ((points, weights), (tol, max_iter)) in enumerate(zip(levels, runs)):
        result = kmeans(
            points, int(k_fit), weights=weights, init=init, n_init=options.n_init, tol=tol,
            max_iter=max_iter, seed=rng, on_progress=span(on_progress, shares[level], shares[level + 1]),
        )
        init, n_iter = result.centroids, n_iter + result.n_iter
    colors = space.colors(result.centroids, hist.channels)
    if reserve:
        colors = np.vstack([np.zeros((1, 4), np.uint8), colors])
    return Palette(colors, n_colors, exact=False, n_iter=n_iter, converged=result.converged,
                   history=result.history)


def _schedule(data: Histogram, k: int, options: KMeansOptions, rng):
    """The weighted point sets of :func:`fit_palette`, coarsest first, and the
    ``(tol, max_iter)`` of the k-means run on each, as ``options.speed`` says
    (:data:`SPEED_SCHEDULE`)."""
    if options.speed == 1:
        return [(data.points(), data.counts)], [(options.tol, options.max_iter)]
    per_cluster, least, bins, fine_tol, fine_iter = SPEED_SCHEDULE[options.speed]
    levels = sample_levels(data, k, rng, per_cluster, least, bins=bins)
    if fine_iter == 0 and len(levels) == 1:  # too few colours for a coarse level: fit them all as usual
        fine_iter, fine_tol = None, 1
    fine_iter = options.max_iter if fine_iter is None else min(fine_iter, options.max_iter)
    runs = [(options.tol, options.max_iter)] * (len(levels) - 1) + [(options.tol * fine_tol, fine_iter)]
    if fine_iter == 0 and len(levels) > 1:
        levels, runs = levels[:-1], runs[:-1]
    return levels, runs


def sample_levels(hist: Histogram, k: int, rng, per_cluster: int = 32, least: int = 4096, *,
                  bins: bool = False) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weighted point sets of coarse-to-fine k-means, coarsest first.

    The first level is a random sample of max(``least``, ``per_cluster`` k)
    pixels (drawn with replacement, so each colour's weight is how often it
    was drawn); the last is every unique colour, or, for very many colours,
    their 6-bit bins.  With ``bins``, the 6-bit bins (each at its
    pixel-weighted mean) come between the two when there are no more than a
    quarter as many bins as colours and at least ``4 k`` of them: k-means on them
    is k-means on the colours with each bin kept whole, so the last level
    starts near its optimum.  When the sample would be more than half as large
    as the last level, or would hold fewer than k colours, there is only the
    last.
    """
    middle = []
    if len(hist.colors) <= FINE_MAX:
        fine = (hist.points(), hist.counts)
        if bins:
            binned = coarsen(hist, 6)
            middle = [binned] if 4 * k <= len(binned[0]) <= len(hist.colors) // 4 else []
    else:
        fine = coarsen(hist, 6)
    size = max(least, per_cluster * k)
    if 2 * size > len(fine[0]):
        return [fine]
    drawn = rng.choice(len(hist.colors), size=size, p=hist.counts / hist.n_pixels)
    picked, times = np.unique(drawn, return_counts=True)
    if len(picked) < k:
        return [fine]
    return [(hist.points()[picked], times), *middle, fine]
