"""Dithering: the palette entry of every pixel, chosen so that the image seen
from a distance keeps the shades the palette lacks.

Three methods, on points of any working space with ``c`` channels (RGB,
premultiplied RGBA, or another space; no range is assumed beyond the one of
the points and the palette the caller passes):

``"none"``
    The nearest entry of every pixel, exactly (the search of
    :mod:`quantize.core.nearest`, near ties settled in float64).
``"floyd-steinberg"``
    Error diffusion (Floyd & Steinberg, "An adaptive algorithm for spatial
    greyscale", 1976): pixels are taken in raster order, each gets the entry
    nearest to its colour plus the error carried to it, and its own error
    (carried colour minus entry) goes 7/16 to the right, 3/16 down-left, 5/16
    down and 1/16 down-right.  The carried error is damped as libimagequant
    (``src/remap.rs``, ``get_dithered_pixel`` and ``dither_row``; the limit in
    ``src/quant.rs``, ``remap``) does it, so that edges and noise are not
    smeared over flat areas; see :func:`floyd_steinberg` for the rule.
``"ordered"``
    An 8x8 Bayer threshold matrix (Bayer, "An optimum method for two-level
    rendition of continuous-tone pictures", 1973) added to every pixel along
    the palette's principal axis before the nearest search, its amplitude the
    palette's own spacing where the pixel is (the distance from the pixel's
    nearest entry to that entry's nearest other entry); see :func:`ordered`.

**Why error diffusion needs no per-pixel loop.**  In raster order a pixel
``(y, x)`` waits only for its left neighbour and the three pixels above it.
Give pixel ``(y, x)`` the time ``t = x + 2 y``: the left neighbour and the
upper right one have ``t - 1``, the upper one ``t - 2``, the upper left one
``t - 3``.  So the pixels of one anti-diagonal "wavefront" ``x + 2 y = t`` do
not depend on one another and are done in one NumPy step, ``w + 2 h - 2`` steps
in all instead of ``w h``.  The arithmetic is that of the per-pixel loop, in
the same order (each pixel's shares are added upper left, upper, upper right,
left), so the result is the same.  In the flat image the pixels of a
wavefront lie ``w - 2`` apart (a strided slice), and the errors wait in a ring
of four wavefronts indexed by row, into which each wavefront writes its shares
as four contiguous slices: no index arrays, no scatter.

**Why raster order and not serpentine.**  Serpentine order (odd rows right to
left) has no such schedule: an odd row starts at its right end, which needs
the pixel above it, the last one of the even row before.  Every row waits for
the whole previous row, the chain of dependencies runs through all ``w h``
pixels, and no two pixels could be done in one step.  Serpentine scanning
mainly breaks up the directional "worm" patterns of raster order: that is
what is given up here.
"""
from __future__ import annotations

import math

import numpy as np

from .checks import check_choice, is_real
from .core.nearest import Entries, nearest_entry
from .errors import ParameterError
from .limits import DITHER_METHODS, MAX_COLORS

METHODS = DITHER_METHODS
MAX_ENTRIES = MAX_COLORS

# Floyd-Steinberg weights: right, down-left, down, down-right.
FS_WEIGHTS = (7 / 16, 3 / 16, 5 / 16, 1 / 16)

# The damping rule of libimagequant (src/remap.rs, src/quant.rs).
LIMIT_FACTOR = 2.4  # squared error limit = LIMIT_FACTOR * mean squared palette error
CARRIED_DAMPING = 0.8  # a carried error above the limit is scaled by this
EMITTED_DAMPING = 0.75  # a pixel's own error above the limit is scaled by this
OVERSHOOT = 0.1  # of the widest channel's range: how far a carried colour may leave it

# Pixels over which the palette's error is measured, at most (a regular sample).
_SAMPLE = 1 << 18


def dither(points, palette, method: str, strength: float = 1.0) -> np.ndarray:
    """The palette entry of every pixel, by the named method.

    Parameters
    ----------
    points : (h, w, c) array_like of real numbers
        The image in the working space, usually float32 (other dtypes are
        converted to float32); finite.  Never modified.
    palette : (m, c) array_like of real numbers
        1 <= m <= 256 entries in the same space; finite.
    method : {"none", "floyd-steinberg", "ordered"}
        "none": the nearest entry of every pixel, exactly, ties to the lower
        index (:func:`quantize.core.nearest.nearest_entry` with ``exact``).
        "floyd-steinberg": damped error diffusion in raster order
        (:func:`floyd_steinberg`).  "ordered": 8x8 Bayer
        thresholds (:func:`ordered`).
    strength : float in [0, 1]
        How much dithering: the share of the error passed on, or of the
        ordered threshold's amplitude.  0 is the same as "none".

    Returns
    -------
    indices : (h, w) uint8
        The palette index of every pixel, each below m.

    Raises
    ------
    ParameterError
        (a ``ValueError``) when an argument is out of range.

    Examples
    --------
    >>> grey = np.full((2, 4, 1), 0.25, np.float32)
    >>> palette = np.array([[0.0], [1.0]], np.float32)
    >>> dither(grey, palette, "none").tolist()
    [[0, 0, 0, 0], [0, 0, 0, 0]]
    >>> dither(grey, palette, "ordered").tolist()  # a quarter of the pixels
    [[0, 0, 0, 0], [1, 0, 1, 0]]
    """
    return dither_checked(*_validate(points, palette, method, strength))


def dither_checked(image: np.ndarray, entries: np.ndarray, method: str, strength: float) -> np.ndarray:
    """:func:`dither` on arguments already checked where they entered the
    library (the colour path checks the method and strength in
    :func:`quantize.apply_palette` and makes the points itself): ``image
    (h, w, c)`` and ``entries (m, c)`` finite, C-contiguous float32, ``1 <= m
    <= 256``, ``method`` one of :data:`METHODS`, ``strength`` in [0, 1]."""
    h, w, c = image.shape
    if len(entries) == 1:
        return np.zeros((h, w), dtype=np.uint8)
    if method == "none" or strength == 0.0:
        labels, _ = nearest_entry(image.reshape(h * w, c), Entries(entries, np.float32), exact=True, scores=False)
        return labels.astype(np.uint8).reshape(h, w)
    if method == "ordered":
        return ordered(image, entries, strength)
    return floyd_steinberg(image, entries, strength)


def floyd_steinberg(image: np.ndarray, palette: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Floyd-Steinberg error diffusion in raster order, damped as libimagequant does.

    Each pixel ``x`` receives ``s``, the sum of its neighbours' errors times
    their weights (7/16 from the left; 3/16, 5/16, 1/16 from the upper right,
    upper, upper left) times ``strength``.  Let ``E`` be the mean squared
    distance from a pixel to its nearest entry (the palette's own error,
    libimagequant's ``palette_error``; over every pixel, or over a regular
    sample of 2^18 of them in larger images) and ``L^2 = 2.4 E``
    (libimagequant's ``max_dither_error``).  Then, after libimagequant's
    ``get_dithered_pixel`` and ``dither_row`` (``src/remap.rs``):

    1. the carried colour ``x + r s`` keeps every channel within the range
       of the image and the palette widened by 0.1 of the widest channel's
       range on each side: ``r`` in [0, 1] is the largest ratio that does
       (libimagequant: within [-0.1, 1.1] of its 0..1 channels), so errors
       cannot pile up against the edge of the gamut;
    2. if ``|s|^2 > L^2``, ``r`` is further multiplied by 0.8;
    3. the pixel gets the entry ``p`` nearest to ``x + r s`` (by float32
       scores, the search of :mod:`quantize.core.nearest` without settling
       near ties, on the wavefront as one block);
    4. its error ``e = x + r s - p`` is multiplied by 0.75 when
       ``|e|^2 > L^2``, then diffused.

    Large errors, which come from edges, noise and colours the palette cannot
    reach, are thus damped at both ends, while the small errors of smooth
    areas pass on whole.  Left out from libimagequant: its floor on ``L``
    (an absolute 8-bit quality level, meaningless in other spaces), its
    skipping of errors below an absolute size, its extra factor 15/16 and
    non-linear response to the strength (here the error is simply scaled by
    ``strength``), and its edge map that turns dithering down near edges.

    Parameters
    ----------
    image : (h, w, c) float32
    palette : (m, c) float32, 1 <= m <= 256
    strength : float in [0, 1]

    Returns
    -------
    indices : (h, w) uint8

    Notes
    -----
    Work and memory: one nearest-entry search over (a sample of) the image
    for ``E``, then ``w + 2 h - 2`` wavefront steps (see the module
    docstring), with exactly the result of the per-pixel loop.  Besides the
    output, the only buffers are the errors of 4 wavefronts and the scores of
    one: ``O(h c)`` and ``O(min(h, w / 2) m)`` floats.
    """
    h, w, c = image.shape
    entries = Entries(palette, np.float32)
    limit_sq = _limit_sq(image, palette, entries)
    lo, hi, slack = _carry_bounds(image.reshape(h * w, c), palette)
    lo, hi = lo[:, None], hi[:, None]

    # Pixel (y, x) of wavefront t = x + 2 y is row y * width + x = t + y * step
    # of the flat image (width w, at least 3: narrower images are padded), so
    # a wavefront is the slice from t + y0 * step by step.  Its pixels are
    # then held channels first, (c, n), so that each operation runs along the
    # n pixels of the wavefront, not along the c channels of each pixel.
    width = max(w, 3)
    if width != w:
        image = np.pad(image, ((0, 0), (0, width - w), (0, 0)))
    pixels = image.reshape(h * width, c)
    step = width - 2
    out = np.zeros(h * width, dtype=np.uint8)
    # Errors wait in a ring of 4 wavefronts: errors[t % 4, :, y] is what pixel
    # (y, t - 2 y) receives; column h takes what falls below the image, and
    # what falls beyond its sides lands on no pixel of the next wavefronts.
    errors = np.zeros((4, c, h + 1), dtype=np.float32)
    n_max = min(h, (w + 1) // 2)
    carried_buffer = np.empty((c + 1) * n_max, dtype=np.float32)
    scores = np.empty((n_max, len(palette)), dtype=np.float32)
    pal_t = np.ascontiguousarray(palette.T)
    w_right, w_down_left, w_down, w_down_right = (np.float32(strength * wt) for wt in FS_WEIGHTS)
    carried_damping, emitted_damping, one = (np.float32(v) for v in (CARRIED_DAMPING, EMITTED_DAMPING, 1.0))

    with np.errstate(divide="ignore", over="ignore"):
        for t in range(w + 2 * h - 2):
            y0, y1 = max(0, (t - w + 2) // 2), min(h - 1, t // 2)
            if y0 > y1:
                continue
            n = y1 - y0 + 1
            first = t + y0 * step
            here = slice(first, first + (n - 1) * step + 1, step)
            x = np.ascontiguousarray(pixels[here].T)
            s = errors[t % 4, :, y0:y1 + 1]
            ratio = _carried_share(x, s, limit_sq, lo, hi, slack, carried_damping)  # steps 1 and 2
            # [x + r s; 1]: times [p; -|p|^2/2] it scores every entry
            block = carried_buffer[: (c + 1) * n].reshape(c + 1, n)
            carried = block[:c]
            np.multiply(s, ratio, out=carried)
            carried += x
            block[c] = one
            # Step 3: the nearest entry.
            chosen, _ = entries.nearest_in(block.T, out=scores[:n])
            out[here] = chosen
            # Step 4: damp a large own error, then diffuse it.
            err = carried - np.take(pal_t, chosen, axis=1)
            err *= np.where((err * err).sum(axis=0) > limit_sq, emitted_damping, one)
            errors[(t + 1) % 4, :, y0 + 1:y1 + 2] += err * w_down_left  # before the
            errors[(t + 1) % 4, :, y0:y1 + 1] += err * w_right  # left share, as in raster order
            errors[(t + 2) % 4, :, y0 + 1:y1 + 2] += err * w_down
            errors[(t + 3) % 4, :, y0 + 1:y1 + 2] += err * w_down_right
            errors[t % 4] = 0.0  # free for wavefront t + 4
    return out.reshape(h, width)[:, :w].copy()


def _limit_sq(image: np.ndarray, palette: np.ndarray, entries: Entries) -> np.float32:
    """``L^2`` of :func:`floyd_steinberg`: ``LIMIT_FACTOR`` times the mean
    squared distance from a pixel of ``image (h, w, c)`` (a regular sample of
    them, :func:`_sample`) to its nearest entry of ``palette (m, c)``."""
    h, w, c = image.shape
    sample = _sample(image.reshape(h * w, c), w)
    diff = sample.astype(np.float64) - palette[nearest_entry(sample, entries, scores=False)[0]]
    return np.float32(LIMIT_FACTOR * float(np.einsum("ij,ij->", diff, diff)) / len(sample))


def _carried_share(x, s, limit_sq, lo, hi, slack, carried_damping) -> np.ndarray:
    """Steps 1 and 2 of :func:`floyd_steinberg` for one wavefront: ``r (n,)
    float32``, ``carried_damping`` where ``|s|^2 > L^2`` (else 1), times the
    largest ratio <= 1 that keeps ``x + r s`` within ``lo``..``hi`` (``x``,
    ``s``: ``(c, n)``; ``lo``, ``hi``: ``(c, 1)``).  That ratio is 1 while no
    ``|s|`` exceeds ``slack``, the room between the data and the bounds; the
    bounds lie strictly outside every ``x``, so room / 0 is infinite."""
    one = np.float32(1.0)
    ratio = np.where((s * s).sum(axis=0) > limit_sq, carried_damping, one)
    if s.max() > slack or s.min() < -slack:
        room = np.where(s >= 0, hi, lo)
        room -= x
        room /= s
        np.abs(room, out=room)  # +inf, not -inf, where s is -0.0
        ratio *= np.minimum(room.min(axis=0), one)
    return ratio


def ordered(image: np.ndarray, palette: np.ndarray, strength: float = 1.0) -> np.ndarray:
    """Ordered dithering with an 8x8 Bayer matrix along the palette's main axis.

    Pixel ``(y, x)`` of colour ``x`` gets the entry nearest to
    ``x + a (b - 1/2) u``, where

    - ``b = (B[y mod 8, x mod 8] + 1/2) / 64`` is the Bayer threshold in (0, 1);
    - ``u`` is the palette's principal axis (the first principal component of
      its entries, a unit vector, its largest component positive): in RGB
      photos nearly the grey axis (1, 1, 1) / sqrt(3), in a space such as
      Oklab nearly lightness, whatever the space;
    - ``a = strength * d``, ``d`` the spacing of the palette where the pixel
      is: the distance from the pixel's nearest entry to that entry's nearest
      other entry.  Dense parts of the palette (dark tones, often) get a
      small offset, sparse parts a large one.

    With evenly spaced grey entries this is classic ordered dithering: a pixel
    between two entries takes the upper one at a share of the 64 positions
    equal to its fractional position between them.  Only steps along ``u``
    are dithered; error diffusion also mixes entries of different hue.

    Parameters
    ----------
    image : (h, w, c) float32
    palette : (m, c) float32, 2 <= m <= 256
    strength : float in [0, 1]

    Returns
    -------
    indices : (h, w) uint8
    """
    h, w, c = image.shape
    flat = image.reshape(h * w, c)
    entries = Entries(palette, np.float32)
    labels, _ = nearest_entry(flat, entries, scores=False)
    amplitude = (strength * entry_spacing(palette)).astype(np.float32)[labels].reshape(h, w)
    thresholds = ((bayer_matrix(8) + 0.5) / 64 - 0.5).astype(np.float32)
    amplitude *= np.tile(thresholds, (-(-h // 8), -(-w // 8)))[:h, :w]
    shifted = amplitude[:, :, None] * principal_axis(palette)
    shifted += image
    labels, _ = nearest_entry(shifted.reshape(h * w, c), entries, scores=False)
    return labels.astype(np.uint8).reshape(h, w)


def bayer_matrix(size: int) -> np.ndarray:
    """The Bayer index matrix ``(size, size) int64`` of 0 .. size^2 - 1, for
    a power of two ``size``: ``M_2n = [[4 M, 4 M + 2], [4 M + 3, 4 M + 1]]``.

    >>> bayer_matrix(2).tolist()
    [[0, 2], [3, 1]]
    """
    m = np.zeros((1, 1), dtype=np.int64)
    while len(m) < size:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return m


def entry_spacing(palette: np.ndarray) -> np.ndarray:
    """The distance from each entry to its nearest other entry of another
    colour, ``(m,) float64`` (0 when there is none); ``palette (m, c)``.

    >>> entry_spacing(np.array([[0.0], [1.0], [3.0], [3.0]])).tolist()
    [1.0, 1.0, 2.0, 2.0]
    """
    pal = palette.astype(np.float64)
    diff = pal[:, None, :] - pal[None, :, :]
    sq = np.einsum("ijk,ijk->ij", diff, diff)
    sq[sq == 0] = np.inf
    spacing = np.sqrt(sq.min(axis=1))
    spacing[np.isinf(spacing)] = 0.0
    return spacing


def principal_axis(palette: np.ndarray) -> np.ndarray:
    """The first principal component of the entries, ``(c,) float32``, a unit
    vector whose largest component (the first of equal ones) is positive.

    >>> principal_axis(np.array([[0.0, 0.0], [-3.0, -4.0], [3.0, 4.0]]))
    array([0.6, 0.8], dtype=float32)
    """
    centred = palette.astype(np.float64) - palette.mean(axis=0)
    axis = np.linalg.svd(centred, full_matrices=False)[2][0]
    if axis[np.argmax(np.abs(axis))] < 0:
        axis = -axis
    return axis.astype(np.float32)


def _sample(flat: np.ndarray, width: int) -> np.ndarray:
    """Every k-th row of ``flat (n, c)``, at most ``_SAMPLE`` of them, with k
    prime to ``width`` so that the sample walks across the image's columns."""
    k = -(-len(flat) // _SAMPLE)
    while k > 1 and math.gcd(k, width) != 1:
        k += 1
    return flat[::k]


def _carry_bounds(points: np.ndarray, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Per-channel bounds ``lo, hi (c,) float32`` of a carried colour: the
    range of the points and the palette together, widened on each side by
    ``OVERSHOOT`` times the widest channel's range; and the least width of
    that widening, ``slack``: no error of at most ``slack`` in every channel
    takes a point out of the bounds."""
    low = np.minimum(points.min(axis=0), palette.min(axis=0))
    high = np.maximum(points.max(axis=0), palette.max(axis=0))
    margin = OVERSHOOT * float((high.astype(np.float64) - low).max())
    # At least one float32 step out, so that no point lies on a bound.
    lo = np.minimum((low - margin).astype(np.float32), np.nextafter(low, np.float32(-np.inf)))
    hi = np.maximum((high + margin).astype(np.float32), np.nextafter(high, np.float32(np.inf)))
    slack = min(float((hi.astype(np.float64) - high).min()), float((low.astype(np.float64) - lo).min()))
    return lo, hi, slack


def _validate(points, palette, method, strength):
    check_choice("method", method, METHODS)
    if not is_real(strength) or not 0.0 <= strength <= 1.0:
        raise ParameterError(f"strength must be a number from 0 to 1, got {strength!r}")
    image = np.asarray(points)
    entries = np.asarray(palette)
    if image.dtype.kind not in "biuf" or image.ndim != 3 or image.size == 0:
        raise ParameterError(
            f"points must be a non-empty (h, w, c) array of real numbers, got shape {image.shape} "
            f"and dtype {image.dtype}")
    c = image.shape[2]
    if entries.dtype.kind not in "biuf" or entries.ndim != 2 or entries.shape[1] != c \
            or not 1 <= len(entries) <= MAX_ENTRIES:
        raise ParameterError(
            f"palette must be 1 to {MAX_ENTRIES} entries of {c} real numbers, (m, {c}), got shape "
            f"{entries.shape} and dtype {entries.dtype}")
    image = np.ascontiguousarray(image, dtype=np.float32)
    entries = np.ascontiguousarray(entries, dtype=np.float32)
    if not (np.isfinite(image).all() and np.isfinite(entries).all()):
        raise ParameterError("points and palette must be finite (no NaN or infinity)")
    return image, entries, method, float(strength)
