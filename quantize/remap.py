"""Map colours and pixels to their nearest palette entry."""
from __future__ import annotations

import numpy as np

from .histogram import N_KEYS

_BLOCK_ELEMENTS = 1 << 20


def nearest_palette(colors: np.ndarray, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index ``(n,) int32`` and squared distance ``(n,) int64`` of the nearest
    palette entry for each colour.

    ``colors (n, 3)`` and ``palette (m, 3)`` are uint8.  One float32 matrix
    product per block scores ``x . p - |p|^2 / 2``; with 8-bit values every
    product and partial sum is an integer or half-integer below 2**24, so float32
    holds it exactly and the nearest entry is exact (ties go to the lower index).
    """
    pal = palette.astype(np.float32)
    p_aug = np.hstack([pal, -0.5 * (pal * pal).sum(axis=1, keepdims=True)])
    n = len(colors)
    labels = np.empty(n, dtype=np.int32)
    step = max(1, _BLOCK_ELEMENTS // len(palette))
    block = np.ones((min(step, n), 4), dtype=np.float32)
    for start in range(0, n, step):
        stop = min(start + step, n)
        rows = block[: stop - start]
        rows[:, :3] = colors[start:stop]
        labels[start:stop] = (rows @ p_aug.T).argmax(axis=1)
    diff = colors.astype(np.int64) - palette[labels].astype(np.int64)
    return labels, np.einsum("ij,ij->i", diff, diff)


def remap(keys: np.ndarray, color_keys: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Palette indices ``uint8``, in the shape of ``keys``, of packed pixels.

    ``color_keys (n,)`` must hold every key in ``keys`` and ``labels (n,)`` the
    palette index (< 256) of each; a lookup table over all 2**24 packed colours
    turns the per-colour labels into per-pixel indices in one gather, without
    a distance computation per pixel.
    """
    table = np.zeros(N_KEYS, dtype=np.uint8)
    table[color_keys] = labels
    return table[keys]
