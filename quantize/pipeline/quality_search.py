"""pngquant's quality target: the palette of fewest colours that reaches it."""
from __future__ import annotations

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
from .wu import WuRun

PRIOR_RATIO = 4.8e-6  # mean colour difference of k-means / Wu's mean squared RGB distance, before any fit
WU_GAIN = 0.9  # mean colour difference of k-means / that of Wu's palette at the same K (0.83-0.96 on 7 photos)
PRIOR_STEPS = 1  # read-offs scaled by Wu's own palette's difference before the first fit
SLACK = 0.45e-6  # mse_to_quality's rounding slack: a mean difference up to the curve's plus this reaches


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
    The search ends at a K whose palette reaches ``target`` and whose K - 1
    palette does not, or at ``k`` (or the number of colours, if fewer) when
    that one does not reach it; it assumes quality rises with K (k-means from
    different starts makes that nearly, not strictly, true).

    Where to fit is read off one run of Wu's quantizer (:class:`WuRun`: the
    distortion of Wu's palette at every K, :func:`wu_curve`), scaled by how
    much the fits so far beat it: the mean colour difference of a K's fit over
    Wu's distortion at that K, interpolated between the K fitted.  Before any
    fit the scale is :data:`WU_GAIN` times the mean colour difference of Wu's
    own palette at the K read off with :data:`PRIOR_RATIO`, over Wu's
    distortion there (k-means beats Wu's palette by a steadier factor than
    it beats the RGB distortion; with alpha, :data:`PRIOR_RATIO` alone).  The
    next K is the smallest between the largest K known to miss and the
    smallest known to reach whose scaled distortion meets the target's, and
    after three fits in a row on the same side, 2, 4, 8, ... colours towards
    the other side.  ``Palette.quality`` holds the
    quality found.
    """
    options = options or KMeansOptions()
    hist = source if isinstance(source, Histogram) else color_histogram(check_image(source))
    check_k(k, MAX_COLORS)
    check_int("quality target", target, low=0, high=100)
    if options.seed is None:  # one seed for every K
        options = replace(options, seed=int(np.random.SeedSequence().generate_state(1)[0]))
    colors = WorkingSpace(options.space, hist.channels).prepare(hist.colors)
    top = min(k, len(hist.colors))
    run = WuRun(hist, top)
    wu = run.curve / hist.n_pixels  # wu[j]: Wu's mean squared distance at K = j + 1
    wanted = quality_to_mse(target) + SLACK
    prior = PRIOR_RATIO
    for _ in range(PRIOR_STEPS if hist.channels == 3 else 0):  # Wu's own palette at the read-off K
        n = min(_next_k(wu, {}, 0, top + 1, wanted, None, 0, prior), len(wu))
        entries = np.clip(np.rint(run.means(n)), 0, 255).astype(np.uint8)
        labels, _ = colors.nearest(entries)
        prior = WU_GAIN * hist.pixel_mean(pngquant_difference(hist.colors, entries[labels])) / max(wu[n - 1], 1e-300)
    fitted: dict[int, tuple[Palette, float]] = {}  # K -> (palette, mean colour difference)
    low, high, side, streak = 0, top + 1, None, 0  # low: the largest K known to miss; high: the smallest to reach
    while high - low > 1 and not (high > top and low == top):
        n = _next_k(wu, fitted, low, high, wanted, side, streak, prior)
        share = span(on_progress, len(fitted) / (len(fitted) + 3), (len(fitted) + 1) / (len(fitted) + 4))
        palette = fit_palette(hist, n, options, on_progress=share)  # the number of fits is not known
        labels, _ = colors.nearest(palette.colors)  # the colours have the histogram's channels
        mse = hist.pixel_mean(pngquant_difference(hist.colors, palette.colors[labels]))
        fitted[n] = replace(palette, quality=mse_to_quality(mse)), mse
        reached = fitted[n][0].quality >= target
        streak, side = (streak + 1 if reached == side else 1), reached
        high, low = (n, low) if reached else (high, n)
    notify(on_progress, 1.0)
    return fitted[min(high, top)][0]


def _next_k(wu: np.ndarray, fitted: dict, low: int, high: int, wanted: float, side, streak: int,
            prior: float = PRIOR_RATIO) -> int:
    """The next K of :func:`fit_to_quality`, strictly between ``low`` and
    ``high``: read off Wu's curve ``wu`` scaled by the ratios of the
    ``fitted`` K's mean differences to it (interpolated in K), the smallest K
    whose scaled value is at most ``wanted``; or galloping after three fits
    on one ``side``."""
    if streak >= 3:  # the read-off keeps missing on one side: gallop towards the other
        guess = high - 2 ** (streak - 2) if side else low + 2 ** (streak - 2)
    else:
        ks = np.arange(1, len(wu) + 1)
        if fitted:
            at = np.array(sorted(fitted))
            ratio = np.array([fitted[n][1] / max(wu[min(n, len(wu)) - 1], 1e-300) for n in at])
            scale = np.interp(ks, at, ratio)
        else:
            scale = np.full(len(wu), prior)
        meets = np.flatnonzero(wu * scale <= wanted)
        guess = ks[meets[0]] if len(meets) else high - 1
    return int(min(max(guess, low + 1), high - 1))
