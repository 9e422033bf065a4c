"""Map pixels to their palette index through their colours' labels (the
labels come from the nearest-entry search, :mod:`quantize.core.nearest`)."""
from __future__ import annotations

import numpy as np

from .histogram import N_KEYS


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
