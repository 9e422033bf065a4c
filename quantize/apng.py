"""An APNG encoder: frames of indices into one palette, each deflated by
:func:`quantize.png.encode_indexed` and put into one animated PNG.

APNG (the PNG extension every current browser shows) adds three chunks: acTL
(frames and plays) after IHDR, an fcTL (size, offset, delay, dispose and
blend) before each frame's data, and fdAT (a sequence number and IDAT's bytes)
for the frames after the first, whose data is the ordinary IDAT (so a viewer
without APNG shows the first frame).  Every frame here is a whole canvas drawn
with blend "source" (it replaces what was there, transparency included), so
dispose "none" is enough.  Only the public functions of :mod:`quantize.png`
are used: each frame is encoded as a whole palette PNG and its chunks taken
apart; the palette (PLTE, tRNS) and the text come from the first.
"""
from __future__ import annotations

import struct
import zlib

import numpy as np

from .errors import ImageWriteError
from .png import encode_indexed

_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def chunks(data: bytes) -> list[tuple[bytes, bytes]]:
    """The ``(kind, data)`` chunks of PNG bytes ``data``, in order."""
    found, pos = [], len(_SIGNATURE)
    while pos + 8 <= len(data):
        length, kind = struct.unpack_from(">I4s", data, pos)
        found.append((kind, data[pos + 8:pos + 8 + length]))
        pos += 12 + length
    return found


def _delay(milliseconds) -> tuple[int, int]:
    """fcTL's delay fraction: milliseconds over 1000, or hundredths over 100
    beyond the 16 bits of the numerator."""
    ms = max(0, int(round(float(milliseconds or 0))))
    return (ms, 1000) if ms <= 0xFFFF else (min(round(ms / 10), 0xFFFF), 100)


def encode_apng(frames: np.ndarray, colors: np.ndarray, text: dict | None = None, *, durations=(),
                loop: int | None = 0) -> bytes:
    """APNG bytes of ``frames (n, h, w) uint8``, indices into the palette
    ``colors (m, 3|4) uint8`` (as :func:`quantize.png.encode_indexed` takes
    them; ``text`` in tEXt chunks), each frame shown ``durations[i]``
    milliseconds, played ``loop`` times (0: for ever; None: once).  The same
    input gives the same bytes."""
    frames = np.asarray(frames)
    if frames.ndim != 3 or len(frames) == 0:
        raise ImageWriteError(f"cannot encode an APNG: the frames must be (n, h, w), not {frames.shape}")
    n, h, w = frames.shape
    plays = 1 if loop is None else int(loop)
    head, out, sequence = [], [], 0
    for index in range(n):
        # One PLTE and one IHDR for all frames: the palette in its order, the same bit depth
        # (level 1 never tries another depth), each frame's rows filtered and deflated as it suits.
        parts = chunks(encode_indexed(frames[index], colors, text if index == 0 else None, keep_order=True,
                                      optimize=1))
        data = [body for kind, body in parts if kind == b"IDAT"]
        if index == 0:
            head = [_chunk(kind, body) for kind, body in parts if kind not in (b"IDAT", b"IEND")]
        number, denominator = _delay(durations[index] if index < len(durations) else 0)
        out.append(_chunk(b"fcTL", struct.pack(">IIIIIHHBB", sequence, w, h, 0, 0, number, denominator, 0, 0)))
        sequence += 1
        for body in data:
            if index == 0:
                out.append(_chunk(b"IDAT", body))
            else:
                out.append(_chunk(b"fdAT", struct.pack(">I", sequence) + body))
                sequence += 1
    control = _chunk(b"acTL", struct.pack(">II", n, plays))
    return b"".join([_SIGNATURE, head[0], control, *head[1:], *out, _chunk(b"IEND", b"")])
