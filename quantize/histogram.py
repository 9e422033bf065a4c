"""Unique colours of an image and their pixel counts.

Each 8-bit RGB colour is packed into one 24-bit integer key
(``r << 16 | g << 8 | b``), so counting colours is counting integers.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

N_KEYS = 1 << 24


@dataclass(frozen=True)
class Histogram:
    """The colours of an image.

    Attributes
    ----------
    keys : (n,) uint32
        The packed keys of the distinct colours, in increasing order.
    colors : (n, 3) uint8
        The distinct RGB colours, in the order of their keys.
    counts : (n,) int64
        Pixels of each colour.
    """

    keys: np.ndarray
    colors: np.ndarray
    counts: np.ndarray

    @property
    def n_pixels(self) -> int:
        return int(self.counts.sum())

    def pixel_mean(self, values: np.ndarray) -> float:
        """Mean over the image's pixels of a value given per colour, ``(n,)``:
        e.g. the squared distance of each colour to its palette entry gives the
        distortion."""
        return float(self.counts @ values) / self.n_pixels


def pack(rgb: np.ndarray) -> np.ndarray:
    """Packed keys, ``(...) uint32``, of an ``(..., 3) uint8`` RGB array."""
    keys = rgb[..., 0].astype(np.uint32)
    for channel in (1, 2):  # in place: no 32-bit temporary per channel
        keys <<= 8
        keys |= rgb[..., channel]
    return keys


def unpack(keys: np.ndarray) -> np.ndarray:
    """RGB colours, ``(n, 3) uint8``, of packed keys ``(n,)``."""
    keys = np.asarray(keys, dtype=np.uint32)
    return np.stack([keys >> 16, (keys >> 8) & 0xFF, keys & 0xFF], axis=-1).astype(np.uint8)


def color_histogram(rgb: np.ndarray) -> Histogram:
    """Unique colours and pixel counts of an ``(h, w, 3) uint8`` RGB image."""
    return key_histogram(pack(rgb))


def key_histogram(keys: np.ndarray) -> Histogram:
    """Unique colours and pixel counts of packed keys (any shape, uint32).

    A sort, not ``np.bincount`` over all 2**24 keys: bincount needs a 64-bit
    copy of the keys and a 128 MiB table, which on a 24 MP image costs more
    memory and, cold, more time than sorting a 32-bit copy.
    """
    unique, counts = np.unique(keys.ravel(), return_counts=True)
    return Histogram(keys=unique, colors=unpack(unique), counts=counts.astype(np.int64))


def coarsen(hist: Histogram, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """The colours binned to ``bits`` bits per channel.

    Returns ``points (m, 3) float32``, the pixel-weighted mean colour of each
    occupied bin, and ``weights (m,) float64``, its pixel count.  Clustering
    these gives the clusters of the full histogram under the constraint that a
    bin's colours stay together, at a fraction of the cost.
    """
    shift = 8 - bits
    c = hist.colors >> shift
    keys = (c[:, 0].astype(np.int64) << (2 * bits)) | (c[:, 1].astype(np.int64) << bits) | c[:, 2]
    size = 1 << (3 * bits)
    counts = hist.counts.astype(np.float64)
    weights = np.bincount(keys, weights=counts, minlength=size)
    occupied = np.flatnonzero(weights)
    sums = np.stack(
        [np.bincount(keys, weights=counts * hist.colors[:, j], minlength=size)[occupied] for j in range(3)],
        axis=1,
    )
    weights = weights[occupied]
    return (sums / weights[:, None]).astype(np.float32), weights
