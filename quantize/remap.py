"""Map every pixel to its palette index."""
from __future__ import annotations

import numpy as np

from .histogram import N_KEYS, pack


def remap(rgb: np.ndarray, colors: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Palette indices, ``(h, w) uint8``, of an ``(h, w, 3) uint8`` image.

    ``colors (n, 3) uint8`` must hold every colour of the image and ``labels
    (n,)`` the palette index (< 256) of each; a lookup table over all 2**24
    packed colours turns the per-colour labels into per-pixel indices in one
    gather, without a distance computation per pixel.
    """
    table = np.zeros(N_KEYS, dtype=np.uint8)
    table[pack(colors)] = labels
    return table[pack(rgb)]
