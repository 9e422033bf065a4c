"""Map colours and pixels to their nearest palette entry."""
from __future__ import annotations

import numpy as np

from .histogram import N_KEYS

_BLOCK_ELEMENTS = 1 << 20


class ColorSet:
    """Colours prepared once for many nearest-palette searches.

    ``colors (n, 3) uint8``.  Each search scores ``x . p - |p|^2 / 2`` with
    one float32 matrix product per block; with 8-bit values every product and
    partial sum is an integer or half-integer below 2**24, so float32 holds it
    exactly: the nearest entry is exact (ties go to the lower index), and so is
    the squared distance ``|x|^2 - 2 score``.
    """

    def __init__(self, colors: np.ndarray):
        self.augmented = np.ones((len(colors), 4), dtype=np.float32)
        self.augmented[:, :3] = colors
        self.sq_norm = np.einsum("ij,ij->i", self.augmented[:, :3], self.augmented[:, :3])

    def nearest(self, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index ``(n,) int32`` and squared distance ``(n,) int64`` of the
        nearest entry of ``palette (m, 3) uint8`` for each colour."""
        pal = palette.astype(np.float32)
        p_aug = np.ascontiguousarray(np.hstack([pal, -0.5 * (pal * pal).sum(axis=1, keepdims=True)]).T)
        n = len(self.augmented)
        labels = np.empty(n, dtype=np.int32)
        sq_dist = np.empty(n, dtype=np.int64)
        step = max(1, _BLOCK_ELEMENTS // len(palette))
        for start in range(0, n, step):
            stop = min(start + step, n)
            scores = self.augmented[start:stop] @ p_aug
            best = scores.argmax(axis=1)
            labels[start:stop] = best
            sq_dist[start:stop] = self.sq_norm[start:stop] - 2.0 * scores[np.arange(stop - start), best]
        return labels, sq_dist


def nearest_palette(colors: np.ndarray, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index ``(n,) int32`` and squared distance ``(n,) int64`` of the nearest
    entry of ``palette (m, 3) uint8`` for each of ``colors (n, 3) uint8``
    (exact; see :class:`ColorSet`)."""
    return ColorSet(colors).nearest(palette)


def remap(keys: np.ndarray, color_keys: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Palette indices ``uint8``, in the shape of ``keys``, of packed pixels.

    ``color_keys (n,)``, increasing, must hold every key in ``keys`` and
    ``labels (n,)`` the palette index (< 256) of each.  While the keys fit in
    24 bits (RGB), a lookup table over all 2**24 keys turns the per-colour
    labels into per-pixel indices in one gather; wider keys (RGBA) are found by
    binary search.  No distance is computed per pixel.
    """
    labels = np.asarray(labels, dtype=np.uint8)
    if len(color_keys) and color_keys[-1] >= N_KEYS:
        return labels[np.searchsorted(color_keys, keys)]
    table = np.zeros(N_KEYS, dtype=np.uint8)
    table[color_keys] = labels
    return table[keys]
