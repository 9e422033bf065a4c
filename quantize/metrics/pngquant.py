"""pngquant's quality scale, 0-100.

libimagequant's colour difference and its curve from quality to mean squared
error, restated from its source (src/pal.rs: f_pixel::from_rgba,
f_pixel::diff, gamma_lut; src/quant.rs: quality_to_mse, mse_to_quality) so
that ``--quality`` means what it means to pngquant.  One difference: pngquant
averages over its histogram with per-pixel importance weights (noisy areas
count for less), we over every pixel alike; bench/bench_quality.py compares
the two figures.
"""
from __future__ import annotations

import numpy as np

from ..checks import is_int
from ..errors import ParameterError
from .image import _check_pair

__all__ = ["mse_to_quality", "pngquant_difference", "quality", "quality_to_mse"]

_LIQ_INTERNAL_GAMMA = 0.57
_LIQ_IMAGE_GAMMA = 0.45455          # what libimagequant assumes for an sRGB image
_LIQ_WEIGHT_A = 0.625
_LIQ_WEIGHTS = np.array([0.5, 1.0, 0.45])   # R, G, B
_LIQ_WEIGHT_MSE = 0.45
_LIQ_LUT = (np.arange(256) / 255.0) ** (_LIQ_INTERNAL_GAMMA / _LIQ_IMAGE_GAMMA)
_LIQ_LUT.setflags(write=False)


def quality_to_mse(quality: int) -> float:
    """The largest mean colour difference (:func:`pngquant_difference`) of a
    given quality, 0-100: libimagequant's curve, "fudged to be roughly similar
    to quality of libjpeg".  100 gives 0; 0 gives 1e20 (anything goes).

    >>> round(quality_to_mse(80), 10), quality_to_mse(100)
    (0.0002508829, 0.0)
    """
    if not (is_int(quality) and 0 <= quality <= 100):
        raise ParameterError(f"quality must be an integer from 0 to 100, got {quality!r}")
    if quality == 0:
        return 1e20
    if quality == 100:
        return 0.0
    fudge = max(0.016 / (0.001 + quality) - 0.001, 0.0)
    return _LIQ_WEIGHT_MSE * (fudge + 2.5 / (210.0 + quality) ** 1.2 * (100.1 - quality) / 100.0)


def mse_to_quality(mse: float) -> int:
    """The quality, 0-100, of a mean colour difference: the highest quality
    whose :func:`quality_to_mse` is at least ``mse`` less a slack for
    rounding, 0 when none is.  Non-increasing in ``mse``.

    The slack is pngquant 2.17's: 1e-6 added to the curve before its 0.45
    weight (libimagequant 4 adds it after); with it the 56 (MSE, quality)
    pairs pngquant 2.17 printed for the sample photos are all reproduced
    (tests/test_quality.py).

    >>> mse_to_quality(0.0), mse_to_quality(quality_to_mse(80)), mse_to_quality(1.0)
    (100, 80, 0)
    """
    for q in range(100, 0, -1):
        if mse <= _CURVE[q] + _LIQ_WEIGHT_MSE * 1e-6:
            return q
    return 0


def pngquant_difference(colors_a, colors_b) -> np.ndarray:
    """libimagequant's difference of colours, pair by pair.

    ``colors_a``, ``colors_b``: ``(n, 3)`` RGB or ``(n, 4)`` RGBA ``uint8``
    (both the same).  Each channel goes through ``(v / 255) ** (0.57 /
    0.45455)`` (libimagequant's internal gamma), is weighted (R 0.5, G 1,
    B 0.45) and multiplied by the alpha ``a / 255``; alpha itself is ``0.625
    a / 255``.  The difference is the sum over R, G, B of ``max(d**2, (d +
    da)**2)``, ``d`` the difference of the channel and ``da`` that of the
    alphas: the larger of the errors seen over black and over white.  Returns
    ``(n,) float64``.
    """
    a = np.asarray(colors_a)
    b = np.asarray(colors_b)
    if a.shape != b.shape or a.ndim != 2 or a.shape[1] not in (3, 4) or a.dtype != np.uint8 or b.dtype != np.uint8:
        raise ParameterError(f"colours must be two (n, 3) or (n, 4) uint8 arrays of one shape, "
                             f"got {a.shape} {a.dtype} and {b.shape} {b.dtype}")
    d = (_LIQ_LUT[a[:, :3]] - _LIQ_LUT[b[:, :3]]) * _LIQ_WEIGHTS
    if a.shape[1] == 3:
        return np.einsum("ij,ij->i", d, d)
    alpha_a, alpha_b = a[:, 3:] / 255.0, b[:, 3:] / 255.0
    d = _LIQ_LUT[a[:, :3]] * alpha_a * _LIQ_WEIGHTS - _LIQ_LUT[b[:, :3]] * alpha_b * _LIQ_WEIGHTS
    da = _LIQ_WEIGHT_A * (alpha_b - alpha_a)
    return np.maximum(d * d, (d + da) ** 2).sum(axis=1)


def quality(reference, image) -> int:
    """pngquant's quality, 0-100, of ``image`` as a copy of ``reference``:
    :func:`mse_to_quality` of the mean over pixels of
    :func:`pngquant_difference`.  ``(h, w, 3)`` or ``(h, w, 4)`` ``uint8`` of
    the same shape; 100 means identical (or within libimagequant's slack).

    >>> img = np.zeros((1, 2, 3), np.uint8); grey = img + 128
    >>> quality(img, img), quality(img, grey)
    (100, 0)
    """
    ref, img = np.asarray(reference), np.asarray(image)
    _check_pair(ref, img)
    if ref.shape != img.shape:
        raise ParameterError(f"images differ in channels: {ref.shape} and {img.shape}")
    channels = ref.shape[2]
    return mse_to_quality(float(pngquant_difference(ref.reshape(-1, channels), img.reshape(-1, channels)).mean()))


_CURVE = [quality_to_mse(q) for q in range(101)]
