"""Which K?  The distortion of every K on one histogram, and the knee of the curve.

The sweep builds the colour histogram once and runs the k-means core for each
K in increasing order, on one pixel sample.  Each K is run from k-means++ and
from the previous K's centroids plus the points served worst by them (greedy:
the point with the largest weight times squared distance, then the next worst
under the centroids chosen so far), and the better run wins.  The warm start
can only be better than the previous K (more centroids at the start, and Lloyd
never raises the distortion), so the curve comes out non-increasing; where the
distortion on all the image's colours would still make a K worse than the one
before, that K takes the previous palette plus its worst-served colours
instead, which cannot be worse.

The knee: on a log-log plot a curve with no cluster structure (a smooth
gradient, a photo's continuum of colours) is close to a straight line, the
power law ``D ~ K^-a`` of quantization theory.  A real elbow is a K where the
curve falls steeply before and flattens after.  For each inner K we compare the
log-log slope of the step into K with the mean log-log slope from K to the
last K; the knee is the K with the largest ratio, and it is "clear" when that
ratio is at least ``CLEAR_RATIO``.  (The chord method, the point farthest from
the line between the ends of the normalised curve, finds a knee on every convex
curve, power laws included, so it cannot say "no clear elbow".)
"""
from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .histogram import Histogram
from .kmeans import kmeans, nearest_centroid
from .pipeline import psnr_from_distortion, sample_levels
from .remap import ColorSet, nearest_palette

CLEAR_RATIO = 4.0


@dataclass(frozen=True)
class ElbowPoint:
    """One K of the sweep.

    ``distortion`` is that of the quantized image (palette rounded to 8 bits,
    every colour to its nearest entry): mean squared RGB distance per pixel.
    """

    k: int
    distortion: float
    psnr: float
    n_iter: int
    seconds: float
    palette: np.ndarray  # (k, 3) uint8, the palette that gave this distortion


def sweep(hist: Histogram, ks, *, seed=None, n_init="auto", tol=1e-4, max_iter=300,
          on_progress=None) -> list[ElbowPoint]:
    """Quantize one histogram at every K in ``ks`` (ascending, each at most the
    number of colours); ``on_progress(k)`` is called after each K.

    k-means runs on the first level of the coarse-to-fine path (a pixel sample
    of max(4096, 32 K) for the largest K, as in :func:`quantize.quantize_image`),
    twice per K: from k-means++ and from the previous K's centroids plus the
    worst-served points; the better run's palette is measured on every colour
    of the image.
    """
    rng = np.random.default_rng(seed)
    levels = sample_levels(hist, max(ks), rng)
    points, weights = levels[0]
    colors = ColorSet(hist.colors)
    results, centroids, palette = [], None, None
    for k in ks:
        started = time.perf_counter()
        fits = [kmeans(points, k, weights=weights, n_init=n_init, tol=tol, max_iter=max_iter, seed=rng)]
        if centroids is not None:  # the warm start: previous centroids plus the worst served
            grown = _grow(points, weights, centroids, k - len(centroids))
            fits.append(kmeans(points, k, weights=weights, init=grown, tol=tol, max_iter=max_iter))
        fit = min(fits, key=lambda f: f.distortion)
        centroids, n_iter = fit.centroids, sum(f.n_iter for f in fits)
        candidate = np.clip(np.rint(fit.centroids), 0, 255).astype(np.uint8)
        distortion = _distortion(hist, colors, candidate)
        if results and distortion > results[-1].distortion:
            grown = _grow(hist.colors.astype(np.float32), hist.counts, palette, k - len(palette))
            candidate = np.rint(grown).astype(np.uint8)
            distortion = _distortion(hist, colors, candidate)
        palette = candidate
        results.append(ElbowPoint(k, distortion, psnr_from_distortion(distortion), n_iter,
                                  time.perf_counter() - started, palette))
        if on_progress is not None:
            on_progress(k)
    return results


def _distortion(hist: Histogram, colors: ColorSet, palette: np.ndarray) -> float:
    _, sq_dist = colors.nearest(palette)
    return float(hist.counts @ sq_dist) / hist.n_pixels


def _grow(points, weights, centroids, extra: int) -> np.ndarray:
    """``centroids`` plus ``extra`` points, each the one served worst so far."""
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


def suggest_k(ks, distortions) -> tuple[int | None, float]:
    """The K at the knee and its strength, or ``(None, strength)`` without a clear one.

    Strength at an inner K: the log-log slope of the step into K divided by the
    mean log-log slope from K to the last K (see the module's docstring).
    Needs at least three K with positive distortion.
    """
    ks = np.asarray(ks, dtype=np.float64)
    d = np.asarray(distortions, dtype=np.float64)
    keep = d > 0
    x, y = np.log(ks[keep]), np.log(d[keep])
    if len(x) < 3:
        return None, 0.0
    best_k, best = None, 0.0
    for j in range(1, len(x) - 1):
        before = (y[j - 1] - y[j]) / (x[j] - x[j - 1])
        after = (y[j] - y[-1]) / (x[-1] - x[j])
        strength = np.inf if after <= 0 < before else before / after
        if strength > best:
            best_k, best = int(ks[keep][j]), float(strength)
    return (best_k if best >= CLEAR_RATIO else None), best


def thumbnails(rgb: np.ndarray, palettes, max_side: int = 320) -> list[np.ndarray]:
    """The image, shrunk by striding to at most ``max_side`` pixels a side,
    in each palette: ``(h, w, 3) uint8`` arrays for a contact sheet."""
    step = max(1, -(-max(rgb.shape[:2]) // max_side))
    small = np.ascontiguousarray(rgb[::step, ::step])
    pixels = small.reshape(-1, 3)
    return [palette[nearest_palette(pixels, palette)[0]].reshape(small.shape) for palette in palettes]
