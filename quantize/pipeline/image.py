"""An image in K colours: fit a palette, then apply it."""
from __future__ import annotations

import numpy as np

from ..checks import check_image, check_quality
from ..errors import QualityTooLowError
from ..histogram import color_histogram
from ..options import KMeansOptions
from ..progress import ProgressCallback
from .apply import apply_palette
from .fit import fit_palette
from .quality_search import fit_to_quality
from .records import QuantizedImage


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
    image = check_image(image)
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
