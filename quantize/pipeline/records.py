"""What the colour path returns: a fitted :class:`Palette` and a
:class:`QuantizedImage`, frozen records of arrays and figures."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np


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
