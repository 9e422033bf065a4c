"""A minimal encoder of indexed-colour (palette) PNG files.

OpenCV writes only grey and true-colour PNGs; a quantized image is smallest as
a palette PNG (colour type 3) with 1, 2, 4 or 8 bits per pixel, so we write
those chunks ourselves: IHDR, PLTE, IDAT (zlib), IEND.  Rows use filter type 0,
which libpng recommends for palette images.

Large images are deflated in parallel, pigz-style: the filtered rows are cut
into fixed 4 MiB pieces, each compressed on its own thread (zlib releases the
GIL) and ended with a sync flush, and the pieces are joined into one zlib
stream.  The pieces do not depend on the number of cores, so the bytes are the
same on every machine.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

PIECE = 4 << 20  # bytes of filtered rows deflated as one piece
LEVEL_SMALL, LEVEL_LARGE = 9, 4  # zlib levels below / from LARGE_FROM bytes of rows
LARGE_FROM = 4 << 20

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_threads: int | None = None  # deflate threads; None: as many as the pieces, up to the CPUs


def set_threads(count: int | None) -> None:
    """Deflate with at most ``count`` threads in this process (None: the default).
    The bytes written do not depend on it."""
    global _threads
    _threads = count


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


def deflate(data: bytes, level: int) -> bytes:
    """A zlib stream of ``data``, its fixed-size pieces compressed in parallel."""
    pieces = [data[i : i + PIECE] for i in range(0, len(data), PIECE)] or [b""]

    def compress(index: int) -> bytes:
        engine = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        last = index == len(pieces) - 1
        return engine.compress(pieces[index]) + engine.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)

    if len(pieces) == 1 or _threads == 1:
        body = [compress(i) for i in range(len(pieces))]
    else:
        from concurrent.futures import ThreadPoolExecutor  # 4 ms of start-up: only for large images

        with ThreadPoolExecutor(max_workers=_threads) as pool:
            body = list(pool.map(compress, range(len(pieces))))
    flevel = 0 if level < 2 else 1 if level < 6 else 2 if level == 6 else 3
    flags = flevel << 6
    flags += 31 - (0x7800 + flags) % 31
    return bytes([0x78, flags]) + b"".join(body) + struct.pack(">I", zlib.adler32(data))


def encode_indexed(indices: np.ndarray, colors: np.ndarray, text: dict | None = None) -> bytes:
    """PNG bytes of ``indices (h, w) uint8`` into the palette ``colors (m, 3)`` RGB or
    ``(m, 4)`` RGBA ``uint8``, m <= 256, with ``text`` (keyword: Latin-1 value)
    in tEXt chunks before the image data.

    An RGBA palette is written as PLTE plus a tRNS chunk of the alphas; the
    entries that are not opaque are moved to the front (and the indices with
    them) so that tRNS is as short as it can be, and no tRNS is written when
    every entry is opaque.
    """
    colors = np.ascontiguousarray(colors, dtype=np.uint8)
    transparency = b""
    if colors.shape[1] == 4:
        order = np.argsort(colors[:, 3] == 255, kind="stable")  # translucent entries first
        if (order != np.arange(len(order))).any():
            inverse = np.empty(256, dtype=np.uint8)
            inverse[order] = np.arange(len(order))
            indices, colors = inverse[indices], colors[order]
        translucent = int(np.count_nonzero(colors[:, 3] < 255))
        transparency = _chunk(b"tRNS", colors[:translucent, 3].tobytes()) if translucent else b""
        colors = np.ascontiguousarray(colors[:, :3])
    h, w = indices.shape
    depth = bit_depth(len(colors))
    texts = [_chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))
             for key, value in (text or {}).items()]
    return _png(w, depth, 3, _pack_rows(indices, depth),
                [_chunk(b"PLTE", colors.tobytes()), transparency, *texts])


def _png(width: int, depth: int, colour_type: int, rows: np.ndarray, chunks=()) -> bytes:
    """PNG bytes of the packed ``rows (h, bytes per row) uint8``, filter type 0,
    with ``chunks`` (encoded) between IHDR and IDAT."""
    raw = np.zeros((rows.shape[0], rows.shape[1] + 1), dtype=np.uint8)  # column 0: filter type 0
    raw[:, 1:] = rows
    raw = raw.tobytes()
    header = struct.pack(">IIBBBBB", width, rows.shape[0], depth, colour_type, 0, 0, 0)
    return b"".join([_SIGNATURE, _chunk(b"IHDR", header), *chunks,
                     _chunk(b"IDAT", deflate(raw, LEVEL_SMALL if len(raw) < LARGE_FROM else LEVEL_LARGE)),
                     _chunk(b"IEND", b"")])


def encode_truecolor(pixels: np.ndarray) -> bytes:
    """PNG bytes of ``pixels``, ``(h, w)`` grey or ``(h, w, 3)`` RGB ``uint8``
    (colour type 0 or 2, 8 bits, filter type 0).

    >>> encode_truecolor(np.zeros((2, 3), np.uint8))[:8] == _SIGNATURE
    True
    """
    pixels = np.ascontiguousarray(pixels, dtype=np.uint8)
    return _png(pixels.shape[1], 8, 2 if pixels.ndim == 3 else 0, pixels.reshape(pixels.shape[0], -1))


def read_text(data: bytes) -> dict:
    """The tEXt chunks before the image data of PNG bytes, as ``{keyword: value}``
    (empty for anything that is not a PNG or is cut short).

    >>> read_text(encode_indexed(np.zeros((1, 1), np.uint8), np.zeros((1, 3), np.uint8), {"a": "b"}))
    {'a': 'b'}
    """
    found, pos = {}, len(_SIGNATURE)
    if not data.startswith(_SIGNATURE):
        return found
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind in (b"IDAT", b"IEND"):
            break
        if kind == b"tEXt":
            key, _, value = data[pos + 8:pos + 8 + length].partition(b"\0")
            found[key.decode("latin-1")] = value.decode("latin-1")
        pos += 12 + length
    return found
