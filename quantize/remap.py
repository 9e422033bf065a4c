"""Map pixels to their palette index through their colours' labels (the
labels come from the nearest-entry search, :mod:`quantize.core.nearest`)."""
from __future__ import annotations

import numpy as np

from .histogram import N_KEYS, pack, row_blocks


def remap(keys: np.ndarray, color_keys: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Palette indices ``uint8``, in the shape of ``keys``, of packed pixels.

    ``color_keys (n,)``, increasing, must hold every key in ``keys`` and
    ``labels (n,)`` the palette index (< 256) of each.  While the keys fit in
    24 bits (RGB), a lookup table over all 2**24 keys turns the per-colour
    labels into per-pixel indices in one gather; wider keys (RGBA) are found by
    binary search.  No distance is computed per pixel.
    """
    return _lookup(color_keys, labels)(keys)


def remap_image(image: np.ndarray, color_keys: np.ndarray, labels: np.ndarray,
                block: int | None = None) -> np.ndarray:
    """:func:`remap` of the pixels of an ``(h, w, c)`` uint8 image, ``(h, w)
    uint8``, packed and looked up in row blocks of about ``block`` pixels
    (see :func:`quantize.histogram.row_blocks`): no packed copy of the whole
    image is ever held, only the indices it comes to."""
    lookup = _lookup(color_keys, labels)
    out = np.empty(image.shape[:2], dtype=np.uint8)
    for start, stop in row_blocks(image, block):
        out[start:stop] = lookup(pack(image[start:stop]))
    return out


def _lookup(color_keys: np.ndarray, labels: np.ndarray):
    """A function from packed keys to their labels, ``uint8`` (see :func:`remap`)."""
    labels = np.asarray(labels, dtype=np.uint8)
    if len(color_keys) and color_keys[-1] >= N_KEYS:
        return lambda keys: labels[np.searchsorted(color_keys, keys)]
    table = np.zeros(N_KEYS, dtype=np.uint8)
    table[color_keys] = labels
    return table.__getitem__
