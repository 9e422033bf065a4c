"""pngquant's quality target: the palette of fewest colours that reaches it."""
from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ..checks import check_image, check_int, check_k
from ..histogram import Histogram, color_histogram
from ..limits import MAX_COLORS
from ..metrics import mse_to_quality, pngquant_difference, quality_to_mse
from ..options import KMeansOptions
from ..progress import ProgressCallback, notify, span
from .fit import fit_palette
from .records import Palette
from .working_space import WorkingSpace


def fit_to_quality(source, k: int, target: int, options: KMeansOptions | None = None, *,
                   on_progress: ProgressCallback | None = None) -> Palette:
    """The palette of fewest colours, up to ``k``, that reaches pngquant's
    quality ``target`` (0-100), or the palette of ``k`` colours when none does.

    ``source``, ``options`` as in :func:`quantize.pipeline.fit_palette`.  Each
    candidate K is fitted by ``fit_palette`` on the one histogram, every K from
    the same seed (so a K's palette does not depend on the order of the search;
    with ``seed=None`` one seed is drawn for the whole search), and judged by
    the quality of every colour mapped to its nearest entry in
    ``options.space`` (:func:`quantize.metrics.quality`, from the histogram).
    ``k`` (or the number of colours, if fewer) is fitted first; if it reaches
    ``target``, a search over 1..k finds the K where a palette reaches it and
    one of K - 1 colours does not, assuming quality rises with K (k-means from
    different starts makes that nearly, not strictly, true).  The search
    guesses K where the mean colour difference would meet the target's on a
    straight line through the last two fits on a log-log plot (a power law in
    K, as quantization theory has it; from the first fit alone, a slope of
    -0.8; the slope kept within -2..-0.3), and after three guesses in a row on
    the same side steps 2, 4, 8, ... colours towards the other side.
    ``Palette.quality`` holds the quality found.
    """
    options = options or KMeansOptions()
    hist = source if isinstance(source, Histogram) else color_histogram(check_image(source))
    check_k(k, MAX_COLORS)
    check_int("quality target", target, low=0, high=100)
    if options.seed is None:  # one seed for every K
        options = replace(options, seed=int(np.random.SeedSequence().generate_state(1)[0]))
    space = WorkingSpace(options.space, hist.channels)
    done = 0

    def fit(n: int) -> tuple[Palette, float]:
        nonlocal done
        share = span(on_progress, done / (done + 3), (done + 1) / (done + 4))  # the number of fits is not known
        palette = fit_palette(hist, n, options, on_progress=share)
        done += 1
        labels, _ = space.nearest(hist.colors, palette.colors)  # the colours have the histogram's channels
        mse = hist.pixel_mean(pngquant_difference(hist.colors, palette.colors[labels]))
        return replace(palette, quality=mse_to_quality(mse)), mse

    high = min(k, len(hist.colors))
    best, high_mse = fit(high)
    wanted = math.log(quality_to_mse(target) + 1e-12) if target < 100 else -math.inf
    tried = [(high, high_mse)]  # (K, mean colour difference) of every fit, latest last
    low, side, streak = 0, None, 0  # low: the largest K known to miss
    while best.quality >= target and high - low > 1:
        guess = _guess(tried, low, high, target, wanted, side, streak)
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


def _guess(tried, low: int, high: int, target: int, wanted: float, side, streak: int) -> int:
    """The next K of :func:`fit_to_quality`, strictly between ``low`` and
    ``high``: on the log-log line through the last two ``tried`` (K, mean
    difference) pairs towards ``wanted`` (the log of the target's), or
    galloping after three guesses on one ``side``, or halving at targets 0
    and 100."""
    (k0, y0), (k1, y1) = tried[-2:] if len(tried) > 1 else (tried[-1], tried[-1])
    slope = (math.log(y1) - math.log(y0)) / (math.log(k1) - math.log(k0)) if k0 != k1 and y0 > 0 < y1 else 0
    if target in (0, 100) or y1 == 0:
        guess = (low + high) / 2
    elif streak >= 3:  # the line keeps missing on one side: gallop towards the other
        guess = high - 2 ** (streak - 2) if side else low + 2 ** (streak - 2)
    else:  # on the line through the last two fits (slope kept in -2..-0.3), or of slope -0.8
        slope = min(max(slope, -2.0), -0.3) if slope < 0 else -0.8
        guess = k1 * math.exp((wanted - math.log(y1)) / slope)
    return min(max(math.ceil(guess), low + 1), high - 1)
