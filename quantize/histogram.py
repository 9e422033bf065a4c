"""Unique colours of an image and their pixel counts.

Each 8-bit RGB colour is packed into one 24-bit integer key
(``r << 16 | g << 8 | b``), so counting colours is counting integers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_KEYS = 1 << 24
BLOCK = 1 << 22  # pixels packed at a time by the block-wise passes: bounded temporaries
TABLE_FROM = 1 << 21  # RGB images of at least this many pixels are counted in a table of all 2**24 keys


@dataclass(frozen=True)
class Histogram:
    """The colours of an image.

    Attributes
    ----------
    keys : (n,) uint32
        The packed keys of the distinct colours, in increasing order (see
        :func:`pack`).
    colors : (n, c) uint8
        The distinct colours, RGB (c = 3) or RGBA (c = 4), in the order of
        their keys.  Every fully transparent pixel counts as (0, 0, 0, 0),
        whatever colour it hides.
    counts : (n,) int64
        Pixels of each colour.
    """

    keys: np.ndarray
    colors: np.ndarray
    counts: np.ndarray

    @property
    def n_pixels(self) -> int:
        return int(self.counts.sum())

    @property
    def channels(self) -> int:
        return self.colors.shape[1]

    def pixel_mean(self, values: np.ndarray) -> float:
        """Mean over the image's pixels of a value given per colour, ``(n,)``:
        e.g. the squared distance of each colour to its palette entry gives the
        distortion."""
        return float(self.counts @ values) / self.n_pixels

    def points(self) -> np.ndarray:
        """The colours where k-means clusters them, ``(n, c) float32``: see
        :func:`working_points`."""
        return working_points(self.colors)


def working_points(colors: np.ndarray) -> np.ndarray:
    """Colours ``(..., c) uint8`` as points of the space k-means works in,
    ``(..., c) float32``: RGB as it is; RGBA premultiplied, ``(r a/255, g a/255,
    b a/255, a)``.

    Premultiplied, because what the eye sees of a translucent pixel over a
    background ``bg`` is ``rgb a/255 + (1 - a/255) bg``: all fully transparent
    pixels are one point whatever colour they hide, and a difference of colour
    counts as much as it shows, little on a faint anti-aliased edge, fully
    where the pixel is opaque.  (Measured on sample_images/badge-rgba.png, this
    gave a smaller alpha error at K = 4, 16 and 64 than the same colours
    composited over black and over white, a metric that weighs alpha more.)
    The map is linear in the colour for a given alpha, and a centroid's alpha is
    the mean alpha of its pixels.
    """
    points = colors.astype(np.float32)
    if colors.shape[-1] == 4:
        points[..., :3] *= points[..., 3:] / 255.0
    return points


def from_working_points(points: np.ndarray, channels: int) -> np.ndarray:
    """The 8-bit colours ``(k, c) uint8`` nearest to points ``(k, c)`` of the
    working space (for RGBA: un-premultiplied; alpha 0 gives (0, 0, 0, 0))."""
    points = np.asarray(points, dtype=np.float64)
    if channels == 4:
        alpha = np.clip(np.rint(points[:, 3]), 0, 255)
        rgb = points[:, :3] * (255.0 / np.maximum(alpha, 1e-12))[:, None]
        rgb[alpha == 0] = 0
        points = np.column_stack([rgb, alpha])
    return np.clip(np.rint(points), 0, 255).astype(np.uint8)


def pack(pixels: np.ndarray) -> np.ndarray:
    """Packed keys, ``(...) uint32``, of ``(..., 3)`` RGB or ``(..., 4)`` RGBA uint8.

    RGB: ``r << 16 | g << 8 | b``.  RGBA: ``r << 24 | g << 16 | b << 8 | a``, and 0
    for every fully transparent pixel.
    """
    channels = pixels.shape[-1]
    keys = pixels[..., 0].astype(np.uint32)
    for channel in range(1, channels):  # in place: no 32-bit temporary per channel
        keys <<= 8
        keys |= pixels[..., channel]
    if channels == 4:
        keys[pixels[..., 3] == 0] = 0
    return keys


def unpack(keys: np.ndarray, channels: int = 3) -> np.ndarray:
    """Colours, ``(n, channels) uint8``, of packed keys ``(n,)``."""
    keys = np.asarray(keys, dtype=np.uint32)
    shifts = range(8 * (channels - 1), -1, -8)
    return np.stack([(keys >> shift) & 0xFF for shift in shifts], axis=-1).astype(np.uint8)


def row_blocks(image: np.ndarray, block: int | None = None):
    """``(start, stop)`` row ranges of an ``(h, w, ...)`` image, each of about
    ``block`` pixels (default :data:`BLOCK`), at least one row: the
    block-wise passes (counting colours, remapping) hold temporaries of one
    block, never of the whole image."""
    h, w = image.shape[:2]
    rows = max(1, (BLOCK if block is None else block) // max(w, 1))
    return [(start, min(h, start + rows)) for start in range(0, h, rows)]


def color_histogram(image: np.ndarray) -> Histogram:
    """Unique colours and pixel counts of an ``(h, w, 3)`` RGB or ``(h, w, 4)``
    RGBA uint8 image.

    A large RGB image (:data:`TABLE_FROM` pixels or more) is counted in row
    blocks into a table over all 2**24 keys (see :func:`table_histogram`);
    a smaller one, or RGBA, by sorting its packed keys (:func:`key_histogram`).
    Both give the same histogram."""
    if image.shape[-1] == 3 and image.shape[0] * image.shape[1] >= TABLE_FROM:
        return table_histogram(image)
    return key_histogram(pack(image), image.shape[-1])


def table_histogram(image: np.ndarray, block: int | None = None) -> Histogram:
    """:func:`color_histogram` of an ``(h, w, 3)`` RGB uint8 image, counted in
    row blocks of about ``block`` pixels (see :func:`row_blocks`) with
    ``np.bincount`` into a table over all 2**24 keys: no packed copy of the
    whole image and no sort.  The table (32-bit counts) and one block's counts
    take 192 MiB together whatever the image, so this pays from a few megapixels on (on a
    100 MP photo: 1.0 s against 5.6 s, and 0.2 GB of temporaries against 0.9 GB)."""
    wide = image.shape[0] * image.shape[1] >= 1 << 32  # counts beyond 32 bits: an int64 table
    table = np.zeros(N_KEYS, dtype=np.int64 if wide else np.uint32)
    for start, stop in row_blocks(image, block):
        counted = np.bincount(pack(image[start:stop]).ravel(), minlength=N_KEYS)
        np.add(table, counted, out=table, casting="unsafe")  # exact: no count reaches the table's limit
        del counted
    keys = np.flatnonzero(table)
    counts = table[keys]
    del table
    keys = keys.astype(np.uint32)
    return Histogram(keys=keys, colors=unpack(keys, 3), counts=counts.astype(np.int64, copy=False))


def key_histogram(keys: np.ndarray, channels: int = 3) -> Histogram:
    """Unique colours and pixel counts of packed keys (any shape, uint32).

    A sort, not ``np.bincount`` over all 2**24 keys: on a small image the
    sort is faster than filling and scanning a 128 MiB table (see
    :func:`table_histogram` for large ones).
    """
    unique, counts = np.unique(keys.ravel(), return_counts=True)
    return Histogram(keys=unique, colors=unpack(unique, channels), counts=counts.astype(np.int64))


def sum_histograms(histograms) -> Histogram:
    """One histogram of several images' ``histograms`` (a non-empty
    sequence), each colour counted by its pixels in all of them, as if they
    were one picture (a batch's shared palette, the frames of an animation).
    RGBA when any is RGBA (the colours of the RGB ones taken as opaque)."""
    channels = max(hist.channels for hist in histograms)
    keys = np.concatenate([_keys_with(hist, channels) for hist in histograms])
    unique, inverse = np.unique(keys, return_inverse=True)
    summed = np.bincount(inverse, weights=np.concatenate([hist.counts for hist in histograms])).astype(np.int64)
    return Histogram(unique, unpack(unique, channels), summed)


def _keys_with(hist: Histogram, channels: int) -> np.ndarray:
    """The packed keys ``(n,) uint32`` of a histogram's colours with
    ``channels`` channels: an RGB histogram's colours become opaque RGBA."""
    if hist.channels == channels:
        return hist.keys
    opaque = np.full((len(hist.colors), 1), 255, dtype=np.uint8)
    return pack(np.concatenate([hist.colors, opaque], axis=1))


def coarsen(hist: Histogram, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The colours binned to ``bits`` bits per channel.

    Returns ``points (m, c) float32``, the pixel-weighted mean of each occupied
    bin in the working space (:func:`working_points`), and ``weights (m,)
    float64``, its pixel count.  Clustering these gives the clusters of the
    full histogram under the constraint that a bin's colours stay together, at
    a fraction of the cost.
    """
    channels = hist.channels
    c = (hist.colors >> (8 - bits)).astype(np.int64)
    keys = np.zeros(len(c), dtype=np.int64)
    for j in range(channels):
        keys = (keys << bits) | c[:, j]
    size = 1 << (channels * bits)
    if size > 16 * len(keys):  # a sparse table (RGBA: 2**24 bins): number the occupied bins, in the same order
        keys, size = np.unique(keys, return_inverse=True)[1], 0
    counts = hist.counts.astype(np.float64)
    weights = np.bincount(keys, weights=counts, minlength=size)
    occupied = np.flatnonzero(weights)
    points = hist.points()
    sums = np.stack(
        [np.bincount(keys, weights=counts * points[:, j], minlength=size)[occupied]
         for j in range(points.shape[1])],
        axis=1,
    )
    weights = weights[occupied]
    return (sums / weights[:, None]).astype(np.float32), weights
