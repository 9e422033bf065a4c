"""The colour path: fit a palette to an image, then apply it.

``fit_palette``: image -> histogram -> k-means -> :class:`Palette`.
``apply_palette``: image + palette -> :class:`QuantizedImage` (indices, counts,
distortion).  ``quantize_image`` is the two together; the K sweep, batch jobs
and the command line use the same pieces.
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field, replace
from typing import ClassVar

import numpy as np

from .errors import ParameterError, QualityTooLowError
from .limits import DEFAULT_SPEED, DITHER_METHODS, MAX_COLORS, SPACES, SPEEDS
from .histogram import (Histogram, coarsen, color_histogram, from_working_points, key_histogram, pack,
                        working_points)
from .core import INITS, auto_n_init, kmeans
from .core.nearest import nearest_centroid, nearest_palette
from .progress import ProgressCallback, notify, span
from .remap import remap

FINE_MAX = 1 << 18  # more unique colours than this: the last level is 6-bit bins
SAMPLE_SHARE = 0.3  # of the progress bar, for the first level
_SCORE_BLOCK = 1 << 20  # colours (or pixels, after dithering) scored at a time: bounded memory

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


@dataclass(frozen=True)
class KMeansOptions:
    """How k-means fits a palette: one object shared by every command.

    Attributes
    ----------
    init : {"k-means++", "random"}
        Starting centroids (see :func:`quantize.kmeans`); the names are in
        ``KMeansOptions.INITS``.
    n_init : int >= 1 or "auto"
        Runs from different starts; the least distortion wins.  "auto" means
        ``runs``: 1 for "k-means++", 10 for "random".
    tol : float >= 0
        Relative stop threshold of one run.
    max_iter : int >= 1
        Iteration limit of one run.
    seed : int >= 0 or None
        Seed of the one random generator; None draws fresh entropy.
    speed : int, 1 to 10
        1: one k-means on every unique colour; 2 to 10: coarse to fine, a
        pixel sample first, then the unique colours with a looser stop or
        fewer iterations as the speed rises (``SPEED_SCHEDULE``, see
        :func:`fit_palette`).
    space : {"rgb", "oklab", "lab"}
        Where distances are measured, for k-means and for the nearest palette
        colour (:mod:`quantize.spaces`): sRGB values, Oklab, or CIELAB D65.
        Images with alpha are clustered in RGB only.

    Examples
    --------
    >>> KMeansOptions(init="random").runs
    10
    >>> KMeansOptions(tol=-1)
    Traceback (most recent call last):
    ...
    quantize.errors.ParameterError: tol must be a number >= 0, got -1
    """

    init: str = "k-means++"
    n_init: int | str = "auto"
    tol: float = 1e-4
    max_iter: int = 300
    seed: int | None = None
    speed: int = DEFAULT_SPEED
    space: str = "rgb"

    INITS: ClassVar[tuple[str, ...]] = INITS

    def __post_init__(self):
        if self.init not in INITS:
            raise ParameterError(f"init must be one of {', '.join(INITS)}, got {self.init!r}")
        if self.n_init != "auto" and not (_is_int(self.n_init) and self.n_init >= 1):
            raise ParameterError(f"n_init must be 'auto' or an integer >= 1, got {self.n_init!r}")
        if isinstance(self.tol, bool) or not isinstance(self.tol, numbers.Real) or not self.tol >= 0:
            raise ParameterError(f"tol must be a number >= 0, got {self.tol!r}")
        if not (_is_int(self.max_iter) and self.max_iter >= 1):
            raise ParameterError(f"max_iter must be an integer >= 1, got {self.max_iter!r}")
        if self.seed is not None and not (_is_int(self.seed) and self.seed >= 0):
            raise ParameterError(f"seed must be a whole number >= 0, got {self.seed!r}")
        if self.space not in SPACES:
            raise ParameterError(f"space must be one of {', '.join(SPACES)}, got {self.space!r}")
        if not (_is_int(self.speed) and self.speed in SPEEDS):
            raise ParameterError(f"speed must be an integer from {SPEEDS[0]} to {SPEEDS[-1]}, got {self.speed!r}")

    @property
    def runs(self) -> int:
        """The number of runs ``n_init`` stands for."""
        return auto_n_init(self.init) if self.n_init == "auto" else int(self.n_init)


@dataclass(frozen=True)
class Palette:
    """The colours an image is reduced to, and how they were found.

    Attributes
    ----------
    colors : (m, 3) or (m, 4) uint8
        RGB or RGBA colours, 1 <= m <= 256, in no particular order.
    n_input_colors : int
        Distinct colours of the data the palette was fitted on (0 when given).
    exact : bool
        True when that data had no more than K colours: ``colors`` are its own.
    n_iter, converged, history :
        Iterations of all k-means levels together; whether the last level
        converged; the distortion history of the last level (0, True and
        ``[0.0]`` when no k-means ran).
    quality : int or None
        With a quality target (:func:`fit_to_quality`): pngquant's quality,
        0-100, of the data mapped to its nearest colours; else None.
    """

    colors: np.ndarray
    n_input_colors: int = 0
    exact: bool = False
    n_iter: int = 0
    converged: bool = True
    history: np.ndarray = field(default_factory=lambda: np.zeros(1))
    quality: int | None = None


@dataclass(frozen=True)
class QuantizedImage:
    """An image in at most K colours.

    Attributes
    ----------
    indices : (h, w) uint8
        Palette index of every pixel.
    palette : (m, 3) RGB or (m, 4) RGBA uint8
        The colours, most used first; every entry is used.  RGBA for an image
        with alpha: colour and alpha are quantized together, and every fully
        transparent pixel has the one entry (0, 0, 0, 0).
    counts : (m,) int64
        Pixels of each palette colour.
    distortion : float
        Mean over pixels of the squared distance between input and output in
        the working space: RGB, or premultiplied RGBA (see
        :func:`quantize.histogram.working_points`).
    n_input_colors : int
        Distinct colours of the input.
    n_iter, converged, history :
        As in the :class:`Palette` that was applied.
    quality : int
        pngquant's quality, 0-100, of the output as a copy of the input
        (:func:`quantize.metrics.quality`; 100 when lossless).
    delta_e_ok : float or None
        Mean over pixels of the Oklab distance x 100 between input and output
        (:func:`quantize.metrics.delta_e_ok` x 100); None for images with alpha.
    """

    indices: np.ndarray
    palette: np.ndarray
    counts: np.ndarray
    distortion: float
    n_input_colors: int
    n_iter: int
    converged: bool
    history: np.ndarray
    quality: int = 100
    delta_e_ok: float | None = None

    @property
    def lossless(self) -> bool:
        """True when every pixel kept its colour."""
        return self.distortion == 0.0

    @property
    def psnr(self) -> float:
        """Peak signal-to-noise ratio in dB over the samples of the working space
        (R, G, B; for RGBA premultiplied R, G, B and A), inf if lossless."""
        return psnr_from_distortion(self.distortion, self.palette.shape[1])


def psnr_from_distortion(distortion: float, channels: int = 3) -> float:
    """PSNR in dB of 8-bit samples from the mean squared distance per pixel
    over ``channels`` channels."""
    mse = distortion / channels
    return math.inf if mse == 0 else 10.0 * math.log10(255.0**2 / mse)


def to_palette(centroids) -> np.ndarray:
    """Centroids ``(k, 3)`` of real numbers rounded to 8-bit colours, ``(k, 3) uint8``."""
    return from_working_points(centroids, 3)


def quantize_image(image, k: int, options: KMeansOptions | None = None, *, dither: str = "none",
                   dither_strength: float = 1.0, quality: tuple[int, int] | None = None,
                   on_progress: ProgressCallback | None = None) -> QuantizedImage:
    """Reduce an image to at most ``k`` colours with weighted k-means:
    :func:`fit_palette` (or :func:`fit_to_quality`), then :func:`apply_palette`.

    Parameters
    ----------
    image : (h, w, 3) RGB or (h, w, 4) RGBA uint8
        With alpha, colour and alpha are quantized together (see
        :class:`QuantizedImage`).
    k : int
        Number of colours, 1 to 256.  An image with no more than ``k``
        colours is returned exactly, with its own colours.
    options : KMeansOptions, optional
        Default ``KMeansOptions()``.
    dither, dither_strength :
        See :func:`apply_palette`.
    quality : (minimum, target) ints, 0 <= minimum <= target <= 100, optional
        pngquant's quality target: the fewest colours, up to ``k``, whose
        palette reaches ``target`` (:func:`fit_to_quality`); raises
        :class:`quantize.errors.QualityTooLowError` when even ``k`` colours
        stay below ``minimum``.  Judged on the nearest-colour mapping, before
        any dithering.
    on_progress : callable(fraction) -> bool or None, optional
        See :mod:`quantize.progress`.

    Examples
    --------
    >>> img = np.zeros((2, 2, 3), np.uint8); img[0, 0] = 255
    >>> q = quantize_image(img, 4)
    >>> q.palette.tolist(), q.counts.tolist(), q.lossless
    ([[0, 0, 0], [255, 255, 255]], [3, 1], True)
    """
    image = _check_image(image)
    hist = color_histogram(image)
    if quality is None:
        palette = fit_palette(hist, k, options, on_progress=on_progress)
    else:
        minimum, target = check_quality(quality)
        palette = fit_to_quality(hist, k, target, options, on_progress=on_progress)
        if palette.quality < minimum:
            raise QualityTooLowError(f"quality {palette.quality} with {k} colours is below the minimum {minimum}: "
                                     f"nothing written")
    return apply_palette(image, palette, histogram=hist, dither=dither, dither_strength=dither_strength,
                         space=(options or KMeansOptions()).space)


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
    on_progress : callable(fraction) -> bool or None, optional
        See :mod:`quantize.progress`; the first level counts for 30%.
    """
    options = options or KMeansOptions()
    hist = source if isinstance(source, Histogram) else color_histogram(_check_image(source))
    _check_k(k)
    _check_space(options.space, hist.channels)
    n_colors = len(hist.colors)
    if n_colors <= k:
        notify(on_progress, 1.0)
        return Palette(hist.colors, n_colors, exact=True)
    reserve = hist.channels == 4 and hist.keys[0] == 0 and k > 1  # the fully transparent entry
    data = Histogram(hist.keys[1:], hist.colors[1:], hist.counts[1:]) if reserve else hist
    k_fit = k - reserve
    rng = np.random.default_rng(options.seed)
    if options.speed == 1:
        levels = [(data.points(), data.counts)]
        runs = [(options.tol, options.max_iter)]  # (tol, max_iter) of each level
    else:
        per_cluster, least, bins, fine_tol, fine_iter = SPEED_SCHEDULE[options.speed]
        levels = sample_levels(data, k_fit, rng, per_cluster, least, bins=bins)
        fine_iter = options.max_iter if fine_iter is None else min(fine_iter, options.max_iter)
        runs = [(options.tol, options.max_iter)] * (len(levels) - 1) + [(options.tol * fine_tol, fine_iter)]
        if fine_iter == 0 and len(levels) > 1:
            levels, runs = levels[:-1], runs[:-1]
    # Progress: the first level takes SAMPLE_SHARE of the bar, the others share the rest.
    shares = [0.0, *np.linspace(SAMPLE_SHARE, 1.0, len(levels)).tolist()] if len(levels) > 1 else [0.0, 1.0]
    if options.space != "rgb":  # the levels' RGB points (0..255) into the space, float32 as in RGB
        from .spaces import to_space

        levels = [(to_space(points / 255.0, options.space).astype(np.float32), weights) for points, weights in levels]
    init, n_iter = options.init, 0
    for level, ((points, weights), (tol, max_iter)) in enumerate(zip(levels, runs)):
        result = kmeans(
            points, int(k_fit), weights=weights, init=init, n_init=options.n_init, tol=tol,
            max_iter=max_iter, seed=rng, on_progress=span(on_progress, shares[level], shares[level + 1]),
        )
        init, n_iter = result.centroids, n_iter + result.n_iter
    if options.space != "rgb":
        from .spaces import from_space

        colors = from_space(result.centroids, options.space)
    else:
        colors = from_working_points(result.centroids, hist.channels)
    if reserve:
        colors = np.vstack([np.zeros((1, 4), np.uint8), colors])
    return Palette(colors, n_colors, exact=False, n_iter=n_iter, converged=result.converged,
                   history=result.history)


def fit_to_quality(source, k: int, target: int, options: KMeansOptions | None = None, *,
                   on_progress: ProgressCallback | None = None) -> Palette:
    """The palette of fewest colours, up to ``k``, that reaches pngquant's
    quality ``target`` (0-100), or the palette of ``k`` colours when none does.

    ``source``, ``options`` as in :func:`fit_palette`.  Each candidate K is
    fitted by :func:`fit_palette` on the one histogram, every K from the same
    seed (so a K's palette does not depend on the order of the search; with
    ``seed=None`` one seed is drawn for the whole search), and judged by the
    quality of every colour mapped to its nearest entry in ``options.space``
    (:func:`quantize.metrics.quality`, from the histogram).  ``k`` (or the
    number of colours, if fewer) is fitted first; if it reaches ``target``,
    a search over 1..k finds the K where a palette reaches it and one of
    K - 1 colours does not, assuming quality rises with K (k-means from
    different starts makes that nearly, not strictly, true).  The search
    guesses K where the mean colour difference would meet the target's on a
    straight line through the last two fits on a log-log plot (a power law in
    K, as quantization theory has it; from the first fit alone, a slope of
    -0.8; the slope kept within -2..-0.3), and after three guesses in a row on
    the same side steps 2, 4, 8, ... colours towards the other side.
    ``Palette.quality`` holds the quality found.
    """
    from .metrics import mse_to_quality, pngquant_difference, quality_to_mse

    options = options or KMeansOptions()
    hist = source if isinstance(source, Histogram) else color_histogram(_check_image(source))
    _check_k(k)
    if not (_is_int(target) and 0 <= target <= 100):
        raise ParameterError(f"quality target must be an integer from 0 to 100, got {target!r}")
    if options.seed is None:  # one seed for every K
        options = replace(options, seed=int(np.random.SeedSequence().generate_state(1)[0]))
    done = 0

    def fit(n: int) -> tuple[Palette, float]:
        nonlocal done
        share = span(on_progress, done / (done + 3), (done + 1) / (done + 4))  # the number of fits is not known
        palette = fit_palette(hist, n, options, on_progress=share)
        done += 1
        labels, _ = _nearest(hist, palette.colors, options.space)  # the colours have the histogram's channels
        mse = hist.pixel_mean(pngquant_difference(hist.colors, palette.colors[labels]))
        return replace(palette, quality=mse_to_quality(mse)), mse

    high = min(k, len(hist.colors))
    best, high_mse = fit(high)
    wanted = math.log(quality_to_mse(target) + 1e-12) if target < 100 else -math.inf
    tried = [(high, high_mse)]  # (K, mean colour difference) of every fit, latest last
    low, side, streak = 0, None, 0  # low: the largest K known to miss
    while best.quality >= target and high - low > 1:
        (k0, y0), (k1, y1) = tried[-2:] if len(tried) > 1 else (tried[-1], tried[-1])
        slope = (math.log(y1) - math.log(y0)) / (math.log(k1) - math.log(k0)) if k0 != k1 and y0 > 0 < y1 else 0
        if target in (0, 100) or y1 == 0:
            guess = (low + high) / 2
        elif streak >= 3:  # the line keeps missing on one side: gallop towards the other
            guess = high - 2 ** (streak - 2) if side else low + 2 ** (streak - 2)
        else:  # on the line through the last two fits (slope kept in -2..-0.3), or of slope -0.8
            slope = min(max(slope, -2.0), -0.3) if slope < 0 else -0.8
            guess = k1 * math.exp((wanted - math.log(y1)) / slope)
        guess = min(max(math.ceil(guess), low + 1), high - 1)
        candidate, mse = fit(guess)
        tried.append((guess, mse))
        reached = candidate.quality >= target
        streak = streak + 1 if reached == side else 1
        side = reached
        if reached:
            high, best = guess, candidate
        else:
            low = guess
    notify(on_progress, 1.0)
    return best


def check_quality(quality) -> tuple[int, int]:
    """``(minimum, target)`` checked: integers, ``0 <= minimum <= target <= 100``."""
    try:
        minimum, target = quality
    except (TypeError, ValueError):
        raise ParameterError(f"quality must be a pair (minimum, target), got {quality!r}") from None
    if not (_is_int(minimum) and _is_int(target) and 0 <= minimum <= target <= 100):
        raise ParameterError(f"quality must be integers 0 <= minimum <= target <= 100, got {quality!r}")
    return int(minimum), int(target)


def apply_palette(image, palette, *, histogram: Histogram | None = None, dither: str = "none",
                  dither_strength: float = 1.0, reorder: bool = True, space: str = "rgb") -> QuantizedImage:
    """Map every pixel of ``image`` to a palette colour: its nearest, or as
    error diffusion or ordered dithering chooses.

    Parameters
    ----------
    image : (h, w, 3) RGB or (h, w, 4) RGBA uint8
    palette : Palette or (m, 3) / (m, 4) uint8 array_like
        1 to 256 colours.  An RGB palette on an image with alpha is opaque, and
        gets the entry (0, 0, 0, 0) for the image's fully transparent pixels
        (when it has fewer than 256 entries); an RGBA palette on an RGB image
        is taken as RGB.  With ``reorder``, entries no pixel uses are dropped
        and the rest are ordered most used first (ties by colour), so the
        result does not depend on the palette's order; without, the palette is
        kept whole and in its order (a palette given in advance).
    histogram : Histogram, optional
        The histogram of ``image``, when the caller has it already.
    dither : {"none", "floyd-steinberg", "ordered"}
        "none": every pixel gets its nearest entry (in the working space, see
        :func:`quantize.histogram.working_points`).  Otherwise see
        :func:`quantize.dither.dither`; fully transparent pixels always keep
        the transparent entry.
    dither_strength : float in [0, 1]
        How much of the dithering error is spread (1: all of it).
    space : {"rgb", "oklab", "lab"}
        Where the nearest colour is found and the dithering error is spread
        (RGB only for images with alpha).  ``distortion`` is always the mean
        squared RGB distance, whatever the space.

    Examples
    --------
    >>> img = np.array([[[0, 0, 0], [250, 250, 250], [10, 0, 0]]], np.uint8)
    >>> q = apply_palette(img, np.array([[255, 255, 255], [0, 0, 0], [9, 9, 9]], np.uint8))
    >>> q.indices.tolist(), q.palette.tolist(), q.distortion
    ([[0, 1, 0]], [[0, 0, 0], [255, 255, 255]], 58.333333333333336)
    """
    image = _check_image(image)
    if dither not in DITHER_METHODS:
        raise ParameterError(f"dither must be one of {', '.join(DITHER_METHODS)}, got {dither!r}")
    if not 0.0 <= dither_strength <= 1.0:
        raise ParameterError(f"dither strength must be from 0 to 1, got {dither_strength!r}")
    if not isinstance(palette, Palette):
        palette = Palette(_check_colors(palette))
    channels = image.shape[2]
    _check_space(space, channels)
    colors = _fit_channels(palette.colors, image)
    keys = pack(image)
    hist = histogram if histogram is not None else key_histogram(keys, channels)
    labels, sq_dist = _nearest(hist, colors, space)
    if dither == "none" or dither_strength == 0:
        per_pixel = remap(keys, hist.keys, labels)
        counts = np.bincount(labels, weights=hist.counts, minlength=len(colors)).astype(np.int64)
        distortion = hist.pixel_mean(sq_dist)
        quality, delta_e = _scores(hist.colors, labels, hist.counts, colors)
    else:
        from .dither import dither as diffuse

        points, entries = working_points(image), working_points(colors)
        if space != "rgb":  # the error is spread in the space
            from .spaces import to_space

            per_pixel = diffuse(to_space(image, space).astype(np.float32),
                                to_space(colors, space).astype(np.float32), dither, dither_strength)
        else:
            per_pixel = diffuse(points, entries, dither, dither_strength)
        if channels == 4 and hist.keys[0] == 0:  # fully transparent pixels stay so
            per_pixel[image[:, :, 3] == 0] = labels[0]
        counts = np.bincount(per_pixel.ravel(), minlength=len(colors)).astype(np.int64)
        diff = points - entries[per_pixel]
        distortion = float(np.einsum("ijk,ijk->", diff, diff, dtype=np.float64)) / per_pixel.size
        quality, delta_e = _scores(image.reshape(-1, channels), per_pixel.ravel(), None, colors)
    if reorder:  # most used first; ties by colour so the order never depends on the run
        order = np.lexsort((*colors.T[::-1], -counts))
        order = order[counts[order] > 0]
    else:
        order = np.arange(len(colors))
    new_index = np.zeros(len(colors), dtype=np.uint8)
    new_index[order] = np.arange(len(order))
    return QuantizedImage(
        indices=new_index[per_pixel],
        palette=np.ascontiguousarray(colors[order]),
        counts=counts[order],
        distortion=distortion,
        n_input_colors=len(hist.colors),
        n_iter=palette.n_iter,
        converged=palette.converged,
        history=palette.history,
        quality=quality,
        delta_e_ok=delta_e,
    )


def _nearest(hist: Histogram, colors: np.ndarray, space: str) -> tuple[np.ndarray, np.ndarray]:
    """Each histogram colour's nearest entry of ``colors`` (the image's
    channels) in ``space``, ``(n,) int``, and the squared distance to it in the
    working space (RGB, or premultiplied RGBA), ``(n,)``."""
    if hist.channels == 4:
        return nearest_centroid(hist.points(), working_points(colors))
    if space == "rgb":
        return nearest_palette(hist.colors, colors)
    from .spaces import to_space

    labels, _ = nearest_centroid(to_space(hist.colors, space).astype(np.float32),
                                 to_space(colors, space).astype(np.float32))
    return labels, np.square(hist.colors.astype(np.float64) - colors[labels]).sum(axis=1)


def _scores(source: np.ndarray, entries: np.ndarray, weights: np.ndarray | None,
            colors: np.ndarray) -> tuple[int, float | None]:
    """pngquant's quality and the mean Oklab distance x 100 (None with alpha)
    of the colours ``source (n, c) uint8`` mapped to ``colors[entries]``,
    each counted ``weights (n,)`` times (None: once); in blocks of
    ``_SCORE_BLOCK``, so memory stays bounded."""
    from .metrics import mse_to_quality, pngquant_difference
    from .spaces import srgb_to_oklab

    oklab = srgb_to_oklab(colors) if colors.shape[1] == 3 else None
    difference = distance = 0.0
    for start in range(0, len(source), _SCORE_BLOCK):
        part, chosen = source[start:start + _SCORE_BLOCK], entries[start:start + _SCORE_BLOCK]
        weight = np.ones(len(part)) if weights is None else weights[start:start + _SCORE_BLOCK]
        difference += float(weight @ pngquant_difference(part, colors[chosen]))
        if oklab is not None:
            step = srgb_to_oklab(part) - oklab[chosen]
            distance += float(weight @ np.sqrt(np.einsum("ij,ij->i", step, step)))
    total = float(len(source) if weights is None else weights.sum())
    return mse_to_quality(difference / total), (None if oklab is None else 100.0 * distance / total)


def _fit_channels(colors: np.ndarray, image: np.ndarray) -> np.ndarray:
    """The palette with the image's channels (see :func:`apply_palette`)."""
    if image.shape[2] == 3:
        return colors[:, :3]
    if colors.shape[1] == 4:
        return colors
    colors = np.column_stack([colors, np.full(len(colors), 255, np.uint8)])
    if len(colors) < MAX_COLORS and (image[:, :, 3] == 0).any():
        colors = np.vstack([colors, np.zeros((1, 4), np.uint8)])
    return colors


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


def _check_space(space, channels: int) -> None:
    if space not in SPACES:
        raise ParameterError(f"space must be one of {', '.join(SPACES)}, got {space!r}")
    if space != "rgb" and channels == 4:
        raise ParameterError(f"space {space} works on RGB images; images with alpha are quantized in rgb")


def _is_int(value) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _check_k(k) -> None:
    if not _is_int(k) or not 1 <= k <= MAX_COLORS:
        raise ParameterError(f"K must be an integer from 1 to {MAX_COLORS}, got {k!r}")


def _check_image(image) -> np.ndarray:
    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4) or image.size == 0:
        raise ParameterError(
            f"image must be a non-empty (h, w, 3) or (h, w, 4) uint8 array, "
            f"got shape {image.shape} and dtype {image.dtype}"
        )
    return image


def _check_colors(colors) -> np.ndarray:
    array = np.asarray(colors)
    if (array.ndim != 2 or array.shape[1] not in (3, 4) or not 1 <= len(array) <= MAX_COLORS
            or array.dtype.kind not in "iu" or (array < 0).any() or (array > 255).any()):
        raise ParameterError(
            f"a palette must be 1 to {MAX_COLORS} RGB or RGBA colours of 0-255, (m, 3) or (m, 4) integers, "
            f"got shape {array.shape} and dtype {array.dtype}"
        )
    return array.astype(np.uint8)
