"""A minimal encoder of indexed-colour (palette) PNG files.

OpenCV writes only grey and true-colour PNGs; a quantized image is smallest as
a palette PNG (colour type 3) with 1, 2, 4 or 8 bits per pixel, so we write
those chunks ourselves: IHDR, PLTE, IDAT (zlib), IEND.  Rows use filter type 0,
which libpng recommends for palette images.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def bit_depth(n_colors: int) -> int:
    """Fewest PNG bits per pixel (1, 2, 4 or 8) that index ``n_colors`` entries."""
    for depth in (1, 2, 4):
        if n_colors <= 1 << depth:
            return depth
    return 8


def _pack_rows(indices: np.ndarray, depth: int) -> np.ndarray:
    """Rows of ``indices (h, w) uint8`` packed ``8 // depth`` pixels a byte, MSB first."""
    if depth == 8:
        return indices
    per_byte = 8 // depth
    h, w = indices.shape
    padded = np.zeros((h, -(-w // per_byte) * per_byte), dtype=np.uint8)
    padded[:, :w] = indices
    groups = padded.reshape(h, -1, per_byte)
    shifts = np.arange(8 - depth, -1, -depth, dtype=np.uint8)
    return np.bitwise_or.reduce(groups << shifts, axis=2).astype(np.uint8)


def encode_indexed(indices: np.ndarray, palette: np.ndarray, level: int = 9) -> bytes:
    """PNG bytes of ``indices (h, w) uint8`` into ``palette (m, 3) uint8``, m <= 256."""
    h, w = indices.shape
    depth = bit_depth(len(palette))
    rows = _pack_rows(indices, depth)
    raw = np.zeros((h, rows.shape[1] + 1), dtype=np.uint8)  # column 0: filter type 0
    raw[:, 1:] = rows
    header = struct.pack(">IIBBBBB", w, h, depth, 3, 0, 0, 0)
    return b"".join(
        [
            _SIGNATURE,
            _chunk(b"IHDR", header),
            _chunk(b"PLTE", np.ascontiguousarray(palette, dtype=np.uint8).tobytes()),
            _chunk(b"IDAT", zlib.compress(raw.tobytes(), level)),
            _chunk(b"IEND", b""),
        ]
    )
