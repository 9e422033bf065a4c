"""A GIF encoder that keeps our palette and indices exactly.

OpenCV's GIF encoder takes a true-colour picture and quantizes it again (its
colours differ from ours by up to 77 per channel), so it cannot write a
quantized image.  Pillow's GIF writer, given a palette ("P") image, writes the
palette and the indices as they are, provided it is asked not to optimize:

* ``optimize=False``: otherwise Pillow drops unused entries of a small image's
  palette and renumbers the pixels;
* ``interlace=False``: Pillow interlaces by default; interlacing only reorders
  the rows and costs up to 9 % in size (measured on the sample images).

Checked with Pillow 13.0 (and in ``tests/test_gif.py``): the global colour
table holds our ``m`` entries in our order, byte for byte, padded with black to
a power of two (at least 4 entries: Pillow never writes a 2-entry table); the
indices read back (Pillow) are ours, and OpenCV decodes ``palette[indices]``;
for m = 1, 2, 3, 17 and 256, with unused and duplicate entries.  Pillow's C
encoder writes standard LZW (its data bytes equal those of a textbook LZW
encoder with a clear code when the 4096-entry table is full), always with an
8-bit minimum code size; an encoder starting at the palette's bit depth would
write 2-4 % fewer bytes for m <= 64 on photos (up to 8 % on a small picture of
2 flat colours; measured), not worth an LZW encoder of our own, which would
also be far slower in Python.  Pillow is imported when a GIF is written, so
``import quantize`` does not pay for it.  The bytes depend only on the input
(no date, no name), for a given Pillow version.
"""
from __future__ import annotations

import io

import numpy as np

from .errors import ImageWriteError
from .limits import MAX_COLORS

MAX_SIDE = 65535  # a GIF stores its width and height in 16 bits
OPAQUE_FROM = 128  # palette alpha from which an entry is opaque; below it, transparent


def transparent_index(alpha) -> int | None:
    """The palette entry a GIF marks transparent, or None.

    Parameters
    ----------
    alpha : (m,) uint8 or None
        Opacity of each palette entry.

    Returns
    -------
    int or None
        The first entry whose alpha is below 128 (GIF has only opaque and
        transparent pixels), or None when every entry is opaque.

    >>> transparent_index(np.array([255, 0, 90], np.uint8))
    1
    >>> transparent_index(np.array([255, 128], np.uint8)) is None
    True
    """
    if alpha is None:
        return None
    clear = np.flatnonzero(np.asarray(alpha) < OPAQUE_FROM)
    return int(clear[0]) if clear.size else None


def _check(indices, colors, alpha) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    """The inputs as contiguous uint8 arrays; raises :class:`ImageWriteError` when
    they do not make a GIF."""
    indices, colors = np.asarray(indices), np.asarray(colors)
    if colors.ndim != 2 or colors.shape[1] != 3 or not 1 <= len(colors) <= MAX_COLORS:
        raise ImageWriteError(f"cannot encode a GIF: the palette must be (m, 3), m from 1 to {MAX_COLORS}, "
                              f"not {colors.shape}")
    m = len(colors)
    if indices.ndim != 2 or indices.dtype.kind not in "ui":
        raise ImageWriteError(f"cannot encode a GIF: the indices must be an (h, w) integer array, "
                              f"not {indices.shape} {indices.dtype}")
    h, w = indices.shape
    if not (1 <= h <= MAX_SIDE and 1 <= w <= MAX_SIDE):
        raise ImageWriteError(f"cannot encode a GIF of {w}x{h} pixels: each side must be 1 to {MAX_SIDE}",
                              value=(w, h), limit=MAX_SIDE)
    if indices.min() < 0 or indices.max() >= m:
        raise ImageWriteError(f"cannot encode a GIF: indices from {indices.min()} to {indices.max()} "
                              f"into a palette of {m}")
    if alpha is not None:
        alpha = np.asarray(alpha)
        if alpha.shape != (m,):
            raise ImageWriteError(f"cannot encode a GIF: alpha must be ({m},), one per palette entry, "
                                  f"not {alpha.shape}")
    return (np.ascontiguousarray(indices, dtype=np.uint8),
            np.ascontiguousarray(colors, dtype=np.uint8), alpha)


def encode_gif(indices: np.ndarray, colors: np.ndarray, alpha: np.ndarray | None = None) -> bytes:
    """GIF bytes of ``indices`` into the palette ``colors``, both kept exactly.

    Parameters
    ----------
    indices : (h, w) uint8
        Palette index of every pixel, each below ``m``; h and w from 1 to 65535.
    colors : (m, 3) uint8
        RGB colours, 1 <= m <= 256.  The file's global colour table holds them
        in this order, padded with black to a power of two (at least 4).
    alpha : (m,) uint8 or None
        Opacity of each palette entry (None: all opaque).  A GIF pixel is
        either opaque or transparent, and one index at most is transparent:
        an entry with alpha below 128 is transparent, 128 and above opaque.
        The first transparent entry becomes the GIF's transparent index (and
        its background colour, so that decoders which fill transparent pixels
        with the background colour show that entry's RGB); pixels of any
        other transparent entry are written with that index, which shows
        them transparent as well.  Apart from those, the indices are written
        as given, and all ``m`` entries stay in the colour table.

    Returns
    -------
    bytes
        A single-frame, non-interlaced GIF (GIF87a, or GIF89a with a
        transparent index), LZW compressed; the same input gives the same
        bytes.

    Raises
    ------
    ImageWriteError
        When the arrays do not make a GIF (shapes, sizes, an index outside
        the palette) or Pillow, which writes it, is not installed.

    Examples
    --------
    >>> data = encode_gif(np.array([[0, 1]], np.uint8), np.array([[255, 0, 0], [0, 0, 255]], np.uint8))
    >>> data[:6], data[13:25].hex()
    (b'GIF87a', 'ff00000000ff000000000000')
    """
    indices, colors, alpha = _check(indices, colors, alpha)
    clear = transparent_index(alpha)
    if clear is not None:
        others = np.flatnonzero(alpha < OPAQUE_FROM)[1:]
        if others.size:
            indices = np.where(np.isin(indices, others), np.uint8(clear), indices)
    try:
        from PIL import Image
    except ImportError:
        raise ImageWriteError("cannot encode a GIF: it needs Pillow (pip install pillow)") from None
    h, w = indices.shape
    image = Image.frombytes("P", (w, h), indices.tobytes())
    image.putpalette(colors.tobytes(), "RGB")
    options = {} if clear is None else {"transparency": clear, "background": clear}
    buffer = io.BytesIO()
    try:
        image.save(buffer, format="GIF", optimize=False, interlace=False, **options)
    except (OSError, ValueError) as error:
        raise ImageWriteError(f"cannot encode a GIF: {error}") from None
    return buffer.getvalue()


def encode_gif_frames(frames: np.ndarray, colors: np.ndarray, alpha: np.ndarray | None = None, *,
                      durations=(), loop: int | None = 0) -> bytes:
    """An animated GIF of ``frames (n, h, w) uint8``, every frame a whole
    canvas of indices into the one palette ``colors (m, 3)`` (the global
    colour table; ``alpha`` as in :func:`encode_gif`).

    Each frame is encoded by :func:`encode_gif` (so its indices and the
    palette are kept exactly) and its image block put into one file, after a
    graphic control extension with its duration (``durations``, ms, rounded
    to the GIF's hundredths of a second) and the transparent index; with a
    transparent index every frame is disposed to the background (transparent)
    before the next is drawn, so a transparent pixel shows no earlier frame.
    ``loop``: the NETSCAPE2.0 loop count (0: for ever); None writes none (the
    animation plays once).  Pillow's own animated writer is not used: it
    merges identical frames (the frame count would change) and crops frames
    to what changed.  Deterministic, as :func:`encode_gif`.
    """
    frames = np.asarray(frames)
    if frames.ndim != 3 or len(frames) == 0:
        raise ImageWriteError(f"cannot encode an animated GIF: the frames must be (n, h, w), not {frames.shape}")
    blocks, head = [], b""
    for index, frame in enumerate(frames):
        data = encode_gif(frame, colors, alpha)
        head, block = _split_single(data)
        blocks.append((_control(durations[index] if index < len(durations) else 0,
                                transparent_index(alpha)), block))
    table = b"" if loop is None else (b"\x21\xff\x0bNETSCAPE2.0\x03\x01" + min(loop, 0xFFFF).to_bytes(2, "little")
                                      + b"\x00")
    return b"".join([b"GIF89a", head[6:], table, *(control + block for control, block in blocks), b"\x3b"])


def _control(milliseconds, clear: int | None) -> bytes:
    """A graphic control extension: the delay in hundredths of a second,
    disposal 2 (to the background) with a transparent index, else 1 (left)."""
    delay = min(int(round(float(milliseconds or 0) / 10.0)), 0xFFFF)
    flags = (2 << 2 | 1) if clear is not None else 1 << 2
    return b"\x21\xf9\x04" + bytes([flags]) + delay.to_bytes(2, "little") + bytes([clear or 0]) + b"\x00"


def _split_single(data: bytes) -> tuple[bytes, bytes]:
    """The screen descriptor and colour table (the head) of a one-frame GIF
    written by :func:`encode_gif`, and its image block (descriptor, LZW data),
    without the extensions before it or the trailer."""
    pos = 13 + ((3 << ((data[10] & 7) + 1)) if data[10] & 0x80 else 0)
    head = data[:pos]
    while data[pos] == 0x21:  # extensions (the graphic control one): skipped, ours replace them
        pos += 2
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    if data[pos] != 0x2C or data[-1] != 0x3B:
        raise ImageWriteError("cannot encode an animated GIF: Pillow wrote an unexpected frame")
    return head, data[pos:-1]
