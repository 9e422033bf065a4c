"""A minimal encoder of indexed-colour (palette) PNG files.

OpenCV writes only grey and true-colour PNGs; a quantized image is smallest as
a palette PNG (colour type 3) with 1, 2, 4 or 8 bits per pixel, so we write
those chunks ourselves: IHDR, PLTE, IDAT (zlib), IEND.  At ``optimize`` 0 rows
use filter type 0, which libpng recommends for palette images; above it the
palette is reordered and the rows filtered for deflate (:mod:`quantize.png_order`)
and deflated by libdeflate, the smallest of a few trials kept.

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

from .limits import PNG_OPTIMIZE_DEFAULT, PNG_OPTIMIZE_MAX

PIECE = 4 << 20  # bytes of filtered rows deflated as one piece
LEVEL_SMALL, LEVEL_LARGE = 9, 4  # zlib levels below / from LARGE_FROM bytes of rows
LARGE_FROM = 4 << 20
SMALL = 1 << 16  # bytes of pixels below which every trial is deflated in full
OPTIMIZE_DEFAULT = PNG_OPTIMIZE_DEFAULT
# Per --optimize level: the palette orders and row filters tried (each pair a
# trial; "auto": "minsum" at 8 bits a pixel, "2" (up) below), libdeflate's level
# for a first pass that ranks the trials (None: no such pass, every trial
# compressed at the final level) and its final level.  The smallest is kept.
_ORDERS, _FILTERS = ("battiato", "mzeng", "luminance"), ("minsum", "0", "1", "2", "4")
TRIALS = {
    1: (("battiato",), ("auto",), None, 10),
    2: (("battiato",), _FILTERS, 1, 10),
    3: (_ORDERS + ("popularity",), _FILTERS + ("3",), 6, 12),
    4: (_ORDERS + ("popularity",), _FILTERS + ("3",), None, 12),
}
OPTIMIZE_MAX = max(TRIALS)
assert OPTIMIZE_MAX == PNG_OPTIMIZE_MAX

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_threads: int | None = None  # deflate threads; None: as many as the pieces, up to the CPUs


def set_threads(count: int | None) -> None:
    """Deflate with at most ``count`` threads in this process (None: the default).
    The bytes written do not depend on it."""
    global _threads
    _threads = count


def _chunk(kind: bytes, data: bytes) -> bytes:
    return b"".join([struct.pack(">I", len(data)), kind, data, struct.pack(">I", zlib.crc32(data, zlib.crc32(kind)))])


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
    return _deflate_pieces(len(data), lambda start, stop: data[start:stop], level)


def _deflate_pieces(size: int, piece_of, level: int) -> bytes:
    """A zlib stream of ``size`` bytes whose bytes ``[start, stop)`` are
    ``piece_of(start, stop)``, asked for one ``PIECE`` at a time, each in the
    thread that compresses it: the whole input is never held at once.  Each
    piece's Adler-32 is combined in order (:func:`adler32_combine`)."""
    starts = list(range(0, size, PIECE)) or [0]

    def compress(index: int) -> tuple[bytes, int, int]:
        piece = piece_of(starts[index], min(size, starts[index] + PIECE))
        engine = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS)
        last = index == len(starts) - 1
        body = engine.compress(piece) + engine.flush(zlib.Z_FINISH if last else zlib.Z_SYNC_FLUSH)
        return body, zlib.adler32(piece), len(piece)

    if len(starts) == 1 or _threads == 1:
        parts = [compress(i) for i in range(len(starts))]
    else:
        from concurrent.futures import ThreadPoolExecutor  # 4 ms of start-up: only for large images

        with ThreadPoolExecutor(max_workers=_threads) as pool:
            parts = list(pool.map(compress, range(len(starts))))
    checksum = 1
    for _, adler, length in parts:
        checksum = adler32_combine(checksum, adler, length)
    flevel = 0 if level < 2 else 1 if level < 6 else 2 if level == 6 else 3
    flags = flevel << 6
    flags += 31 - (0x7800 + flags) % 31
    return b"".join([bytes([0x78, flags]), *(body for body, _, _ in parts), struct.pack(">I", checksum)])


_ADLER_BASE = 65521


def adler32_combine(first: int, second: int, length: int) -> int:
    """The Adler-32 of two byte strings one after the other, from the Adler-32
    ``first`` of the first, ``second`` of the second and the second's
    ``length`` (zlib's ``adler32_combine``, which Python's zlib does not
    offer).

    >>> adler32_combine(zlib.adler32(b"ab"), zlib.adler32(b"cde"), 3) == zlib.adler32(b"abcde")
    True
    """
    rem = length % _ADLER_BASE
    low = ((first & 0xFFFF) + (second & 0xFFFF) - 1) % _ADLER_BASE
    high = (rem * (first & 0xFFFF) + (first >> 16) + (second >> 16) - rem) % _ADLER_BASE
    return (high << 16) | low


BEFORE_PALETTE = (b"cHRM", b"cICP", b"gAMA", b"iCCP", b"sBIT", b"sRGB")  # the PNG spec's order


def encode_indexed(indices: np.ndarray, colors: np.ndarray, text: dict | None = None, *,
                   chunks=(), optimize: int = OPTIMIZE_DEFAULT, keep_order: bool = False) -> bytes:
    """PNG bytes of ``indices (h, w) uint8`` into the palette ``colors (m, 3)`` RGB or
    ``(m, 4)`` RGBA ``uint8``, m <= 256, with ``text`` (keyword: Latin-1 value)
    in tEXt chunks before the image data.  ``chunks``: more ancillary chunks,
    ``(kind, data)`` byte pairs, written in the given order, the colour-space
    ones (:data:`BEFORE_PALETTE`) before PLTE as the PNG spec requires, the
    others (pHYs, iTXt, ...) after it, before the image data.

    An RGBA palette is written as PLTE plus a tRNS chunk of the alphas; the
    entries that are not opaque are moved to the front (and the indices with
    them) so that tRNS is as short as it can be, and no tRNS is written when
    every entry is opaque.

    ``optimize`` (0 to :data:`OPTIMIZE_MAX`) trades time for bytes, as
    oxipng's ``-o``: 0 writes the entries in the given order, filter type 0,
    zlib level 9; from 1 the palette is reordered for deflate and each row
    filtered (:mod:`quantize.png_order`), then deflated by libdeflate, harder
    and with more trials at each level (:data:`TRIALS`; below :data:`SMALL`
    bytes of pixels every trial in full, the given order among them); ``keep_order``
    keeps the entries in the given order at every level (a palette shared by
    several files).  The pixels are the same at every level.  Images of :data:`LARGE_FROM` bytes of rows or more
    are written as at level 0 (zlib level 4, in parallel pieces).
    """
    colors = np.ascontiguousarray(colors, dtype=np.uint8)
    h, w = indices.shape
    if optimize and h * (-(-w * bit_depth(len(colors)) // 8) + 1) < LARGE_FROM:
        return _encode_optimized(indices, colors, text, chunks, optimize, keep_order)
    transparency = b""
    if colors.shape[1] == 4:
        order = np.argsort(colors[:, 3] == 255, kind="stable")  # translucent entries first
        if (order != np.arange(len(order))).any():
            inverse = np.empty(256, dtype=np.uint8)
            inverse[order] = np.arange(len(order))
            indices, colors = inverse[indices], colors[order]
        transparency = _transparency(colors)
        colors = np.ascontiguousarray(colors[:, :3])
    depth = bit_depth(len(colors))
    return _png(w, depth, 3, _pack_rows(indices, depth), _ancillary(colors, transparency, text, chunks))


def _ancillary(colors: np.ndarray, transparency: bytes, text, chunks) -> list[bytes]:
    """The encoded chunks between IHDR and IDAT: the colour-space ``chunks``,
    PLTE of ``colors (m, 3)``, the tRNS chunk ``transparency`` (encoded, or
    empty), the other ``chunks`` and the ``text``."""
    texts = [_chunk(b"tEXt", key.encode("latin-1") + b"\0" + value.encode("latin-1"))
             for key, value in (text or {}).items()]
    first = [_chunk(kind, data) for kind, data in chunks if kind in BEFORE_PALETTE]
    later = [_chunk(kind, data) for kind, data in chunks if kind not in BEFORE_PALETTE]
    return [*first, _chunk(b"PLTE", colors.tobytes()), transparency, *later, *texts]


def _encode_optimized(indices: np.ndarray, colors: np.ndarray, text, chunks, optimize: int,
                      keep_order: bool) -> bytes:
    """:func:`encode_indexed` at ``optimize`` level 1 or more (past
    :data:`OPTIMIZE_MAX`: as that): the smallest of the level's trials."""
    import deflate  # libdeflate: level 10 3 % smaller than zlib level 9 in a third of the time

    from . import png_order

    orders, filters, first_level, level = TRIALS[min(optimize, OPTIMIZE_MAX)]
    depth = bit_depth(len(colors))
    h, w = indices.shape
    filters = tuple(dict.fromkeys(("minsum" if depth == 8 else "2") if f == "auto" else f for f in filters))
    if h * w * depth < 8 * SMALL:  # a small image: every trial in full, the given order too
        orders, first_level = tuple(dict.fromkeys(orders + ("popularity",))), None
    # From level 2, fewer than 8 bits a pixel are tried at 8 bits too: a byte a pixel
    # often deflates smaller (1-4 % on half the photos at K = 8 and 16).
    depths = (depth,) if depth == 8 or optimize < 2 else (depth, 8)
    layouts = [(png_order.palette_order(indices, colors, method), bits)  # (palette order, bits a pixel)
               for method in (("popularity",) if keep_order else orders) for bits in depths]
    trials = [(layout, kind) for layout in layouts for kind in filters]
    if first_level is not None and len(trials) > 1:
        trials = [_first_pass(indices, colors, layouts, filters, first_level)]
    best = None
    for (order, bits), kind in trials:
        ordered, palette = png_order.reorder(indices, colors, order)
        raw = png_order.filtered(_pack_rows(ordered, bits), kind)
        data = deflate.zlib_compress(raw.tobytes(), level)
        if best is None or len(data) < len(best[0]):
            best = data, palette, bits
    data, palette, depth = best
    extra = _ancillary(np.ascontiguousarray(palette[:, :3]), _transparency(palette), text, chunks)
    return _file(w, h, depth, 3, extra, data)


def _transparency(palette: np.ndarray) -> bytes:
    """The tRNS chunk of an RGBA ``palette`` whose entries that are not opaque
    come first (empty when every entry is opaque, or the palette is RGB)."""
    translucent = int(np.count_nonzero(palette[:, 3] < 255)) if palette.shape[1] == 4 else 0
    return _chunk(b"tRNS", palette[:translucent, 3].tobytes()) if translucent else b""


def _first_pass(indices: np.ndarray, colors: np.ndarray, layouts, filters, level: int):
    """The trial ``((order, bits), filter)`` whose band of 16 rows in four
    (all of them in a small image), reordered, packed and filtered so,
    deflates smallest at libdeflate ``level`` (the first on a tie): a quick
    ranking of the trials.  Each layout's band is packed once."""
    import deflate

    from . import png_order

    band = indices[(np.arange(len(indices)) // 16) % 4 == 0] if len(indices) >= 64 else indices
    sizes = []
    for order, bits in layouts:
        packed = _pack_rows(png_order.reorder(band, colors, order)[0], bits)
        sizes += [(len(deflate.zlib_compress(png_order.filtered(packed, kind).tobytes(), level)), ((order, bits), kind))
                  for kind in filters]
    return min(sizes, key=lambda pair: pair[0])[1]


def _file(width: int, height: int, depth: int, colour_type: int, chunks, data: bytes) -> bytes:
    """PNG bytes: the signature, IHDR, the encoded ``chunks``, IDAT of the zlib
    stream ``data``, IEND."""
    header = struct.pack(">IIBBBBB", width, height, depth, colour_type, 0, 0, 0)
    return b"".join([_SIGNATURE, _chunk(b"IHDR", header), *chunks, _chunk(b"IDAT", data), _chunk(b"IEND", b"")])


def _png(width: int, depth: int, colour_type: int, rows: np.ndarray, chunks=()) -> bytes:
    """PNG bytes of the packed ``rows (h, bytes per row) uint8``, filter type 0,
    with ``chunks`` (encoded) between IHDR and IDAT.  The filtered rows (a
    filter byte before each row) are made one deflate piece at a time
    (:func:`filtered_piece`), never all at once."""
    height, stride = rows.shape[0], rows.shape[1] + 1
    size = height * stride
    data = _deflate_pieces(size, lambda start, stop: filtered_piece(rows, start, stop),
                           LEVEL_SMALL if size < LARGE_FROM else LEVEL_LARGE)
    return _file(width, height, depth, colour_type, chunks, data)


def filtered_piece(rows: np.ndarray, start: int, stop: int) -> bytes:
    """Bytes ``[start, stop)`` of the filtered rows of ``rows (h, n) uint8``:
    each row after its filter-type byte 0, the rows one after the other."""
    stride = rows.shape[1] + 1
    first, last = start // stride, -(-stop // stride)
    raw = np.zeros((last - first, stride), dtype=np.uint8)  # column 0: filter type 0
    raw[:, 1:] = rows[first:last]
    offset = first * stride
    return raw.reshape(-1)[start - offset:stop - offset].tobytes()


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
