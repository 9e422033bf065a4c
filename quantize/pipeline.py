"""The colour path: image -> histogram -> k-means -> palette -> indices."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import ParameterError
from .histogram import Histogram, coarsen, key_histogram, pack
from .kmeans import kmeans
from .remap import nearest_palette, remap

MAX_COLORS = 256
SAMPLE_PER_CLUSTER, SAMPLE_MIN = 32, 4096  # pixels drawn for the first level
FINE_MAX = 1 << 18  # more unique colours than this: the last level is 6-bit bins


@dataclass(frozen=True)
class QuantizedImage:
    """An image in at most K colours.

    Attributes
    ----------
    indices : (h, w) uint8
        Palette index of every pixel.
    palette : (m, 3) uint8
        RGB colours, most used first; m <= K, and every entry is used.
    counts : (m,) int64
        Pixels of each palette colour.
    alpha : (h, w) uint8 or None
        The input's alpha channel, unchanged.
    distortion : float
        Mean over pixels of the squared RGB distance between input and output.
    n_input_colors : int
        Distinct colours of the input.
    n_iter, converged, history :
        Iterations of all k-means levels together; whether the last level
        converged; the distortion history of the last level, the one on the
        image's own colours (0, True and ``[0.0]`` when the input had no more
        than K colours and was kept exactly).
    """

    indices: np.ndarray
    palette: np.ndarray
    counts: np.ndarray
    alpha: np.ndarray | None
    distortion: float
    n_input_colors: int
    n_iter: int
    converged: bool
    history: np.ndarray

    @property
    def lossless(self) -> bool:
        """True when the input had no more than K colours and kept them all."""
        return self.distortion == 0.0

    @property
    def psnr(self) -> float:
        """Peak signal-to-noise ratio in dB over the R, G and B samples (inf if lossless)."""
        return psnr_from_distortion(self.distortion)


def psnr_from_distortion(distortion: float) -> float:
    """PSNR in dB of 8-bit RGB from the mean squared RGB distance per pixel."""
    mse = distortion / 3.0
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def quantize_image(
    image: np.ndarray,
    k: int,
    *,
    init="k-means++",
    n_init="auto",
    tol: float = 1e-4,
    max_iter: int = 300,
    seed=None,
    fast: bool = True,
    on_progress=None,
) -> QuantizedImage:
    """Reduce an image to at most ``k`` colours with weighted k-means.

    The k-means runs on the image's distinct colours weighted by their pixel
    counts, which gives the same optimum as on the raw pixels at a fraction of
    the cost.  Centroids are rounded to 8-bit colours and every pixel is then
    mapped to its nearest palette colour.

    Parameters
    ----------
    image : (h, w, 3) RGB or (h, w, 4) RGBA uint8
        Alpha, when present, is passed through unchanged.
    k : int
        Number of colours, 1 to 256.  An image with no more than ``k``
        colours is returned exactly, with its own colours.
    init, n_init, tol, max_iter, seed, on_progress :
        As for :func:`quantize.kmeans`.
    fast : bool
        True (default): coarse to fine.  k-means first runs on a sample of
        max(4096, 32 K) pixels (``init`` and ``n_init`` apply there), and its
        centroids start a run on all the unique colours (on the colours binned
        to 6 bits per channel when there are more than 2**18 of them).
        False: one k-means on all the unique colours, the exact weighted
        equivalent of k-means on the pixels.

    Examples
    --------
    >>> img = np.zeros((2, 2, 3), np.uint8); img[0, 0] = 255
    >>> q = quantize_image(img, 4)
    >>> q.palette.tolist(), q.counts.tolist(), q.lossless
    ([[0, 0, 0], [255, 255, 255]], [3, 1], True)
    """
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4) or image.size == 0:
        raise ParameterError(
            f"image must be a non-empty (h, w, 3) or (h, w, 4) uint8 array, "
            f"got shape {image.shape} and dtype {image.dtype}"
        )
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or not 1 <= k <= MAX_COLORS:
        raise ParameterError(f"K must be an integer from 1 to {MAX_COLORS}, got {k!r}")
    rgb = image[:, :, :3]
    alpha = image[:, :, 3].copy() if image.shape[2] == 4 else None
    keys = pack(rgb)
    hist = key_histogram(keys)
    n_colors = len(hist.colors)
    if n_colors <= k:
        centroids = hist.colors
        n_iter, converged, history = 0, True, np.zeros(1)
    else:
        rng = np.random.default_rng(seed)
        if fast:
            levels = sample_levels(hist, k, rng)
        else:
            levels = [(hist.colors.astype(np.float32), hist.counts)]
        n_iter = 0
        for points, weights in levels:
            result = kmeans(
                points, int(k), weights=weights, init=init, n_init=n_init, tol=tol,
                max_iter=max_iter, seed=rng, on_progress=on_progress,
            )
            init, n_iter = result.centroids, n_iter + result.n_iter
        centroids = np.clip(np.rint(result.centroids), 0, 255).astype(np.uint8)
        converged, history = result.converged, result.history
    labels, sq_dist = nearest_palette(hist.colors, centroids)
    counts = np.bincount(labels, weights=hist.counts, minlength=len(centroids)).astype(np.int64)
    # Most used first; ties by colour so the order never depends on the run.
    order = np.lexsort((centroids[:, 2], centroids[:, 1], centroids[:, 0], -counts))
    order = order[counts[order] > 0]
    new_index = np.zeros(len(centroids), dtype=np.uint8)
    new_index[order] = np.arange(len(order))
    distortion = float(hist.counts @ sq_dist) / hist.n_pixels
    return QuantizedImage(
        indices=remap(keys, hist.keys, new_index[labels]),
        palette=np.ascontiguousarray(centroids[order]),
        counts=counts[order],
        alpha=alpha,
        distortion=distortion,
        n_input_colors=n_colors,
        n_iter=n_iter,
        converged=converged,
        history=history,
    )


def sample_levels(hist: Histogram, k: int, rng) -> list[tuple[np.ndarray, np.ndarray]]:
    """The weighted point sets of coarse-to-fine k-means, coarsest first.

    The first level is a random sample of pixels (drawn with replacement, so
    each colour's weight is how often it was drawn); the last is every unique
    colour, or, for very many colours, their 6-bit bins.
    """
    if len(hist.colors) <= FINE_MAX:
        fine = (hist.colors.astype(np.float32), hist.counts)
    else:
        fine = coarsen(hist, 6)
    size = max(SAMPLE_MIN, SAMPLE_PER_CLUSTER * k)
    if 2 * size > len(fine[0]):
        return [fine]
    drawn = rng.choice(len(hist.colors), size=size, p=hist.counts / hist.n_pixels)
    picked, times = np.unique(drawn, return_counts=True)
    if len(picked) < k:
        return [fine]
    return [(hist.colors[picked].astype(np.float32), times), fine]
