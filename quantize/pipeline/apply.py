"""Apply a palette to an image: every pixel's nearest entry, or dithering,
and the scores of the result."""
from __future__ import annotations

import numpy as np

from ..checks import check_choice, check_colors, check_image, is_real
from ..errors import ParameterError
from ..histogram import Histogram, color_histogram, working_points
from ..limits import DITHER_METHODS, MAX_COLORS
from ..remap import remap_image
from .records import Palette, QuantizedImage
from .working_space import WorkingSpace

_SCORE_BLOCK = 1 << 20  # colours (or pixels, after dithering) scored at a time: bounded memory


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
    image = check_image(image)
    check_choice("dither", dither, DITHER_METHODS)
    if not is_real(dither_strength) or not 0.0 <= dither_strength <= 1.0:
        raise ParameterError(f"dither strength must be from 0 to 1, got {dither_strength!r}")
    if not isinstance(palette, Palette):
        palette = Palette(check_colors(palette, MAX_COLORS))
    channels = image.shape[2]
    space = WorkingSpace(space, channels)
    colors = _fit_channels(palette.colors, image)
    hist = histogram if histogram is not None else color_histogram(image)
    labels, sq_dist = space.nearest(hist.colors, colors)
    if dither == "none" or dither_strength == 0:
        per_pixel = None  # remapped in row blocks once the order is known, straight to the final indices
        counts = np.bincount(labels, weights=hist.counts, minlength=len(colors)).astype(np.int64)
        distortion = hist.pixel_mean(sq_dist)
        quality, delta_e = _scores(hist.colors, labels, hist.counts, colors)
    else:
        per_pixel = _dithered(image, colors, space, dither, dither_strength)
        if channels == 4 and hist.keys[0] == 0:  # fully transparent pixels stay so
            per_pixel[image[:, :, 3] == 0] = labels[0]
        distortion = _distortion(image, colors, per_pixel)
        counts = np.bincount(per_pixel.ravel(), minlength=len(colors)).astype(np.int64)
        quality, delta_e = _scores(image.reshape(-1, channels), per_pixel.ravel(), None, colors)
    order = _order(colors, counts) if reorder else np.arange(len(colors))
    new_index = np.zeros(len(colors), dtype=np.uint8)
    new_index[order] = np.arange(len(order))
    return QuantizedImage(
        indices=remap_image(image, hist.keys, new_index[labels]) if per_pixel is None else new_index[per_pixel],
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


def _dithered(image: np.ndarray, colors: np.ndarray, space: WorkingSpace, method: str,
              strength: float) -> np.ndarray:
    """The palette index of every pixel, ``(h, w) uint8``, by ``method``, with
    the error spread in ``space``."""
    from ..dither import dither_checked

    points, entries = space.points(image), space.points(colors)  # finite float32 (method and strength: checked)
    return dither_checked(np.ascontiguousarray(points), np.ascontiguousarray(entries), method, float(strength))


def _distortion(image: np.ndarray, colors: np.ndarray, per_pixel: np.ndarray) -> float:
    """Mean over pixels of the squared distance, in RGB (premultiplied RGBA),
    between ``image (h, w, c) uint8`` and ``colors[per_pixel]``."""
    points, entries = working_points(image), working_points(colors)
    diff = points - entries[per_pixel]
    return float(np.einsum("ijk,ijk->", diff, diff, dtype=np.float64)) / per_pixel.size


def _order(colors: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """The used entries, most used first, ties by colour (so the order never
    depends on the run), ``(m',) int``."""
    order = np.lexsort((*colors.T[::-1], -counts))
    return order[counts[order] > 0]


def _scores(source: np.ndarray, entries: np.ndarray, weights: np.ndarray | None,
            colors: np.ndarray) -> tuple[int, float | None]:
    """pngquant's quality and the mean Oklab distance x 100 (None with alpha)
    of the colours ``source (n, c) uint8`` mapped to ``colors[entries]``,
    each counted ``weights (n,)`` times (None: once); in blocks of
    ``_SCORE_BLOCK``, so memory stays bounded."""
    from ..metrics import mse_to_quality, pngquant_difference
    from ..spaces import srgb_to_oklab

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
