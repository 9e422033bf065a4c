"""A bounded fuzz of decode -> quantize -> encode on mutated image files.

Seeds are small images (16x12: a few flat colours and a gradient, as RGB, grey
and RGBA, plus 16-bit) that OpenCV encodes in memory as PNG, JPEG (baseline and
progressive), BMP, WebP (lossy and lossless), TIFF and GIF.  Hypothesis draws
a seed and one to four mutations: flip a bit, overwrite a byte, truncate,
insert bytes, duplicate a slice, or write a large (or zero, or negative) value
into a width/height field of the header; for PNG the chunk CRCs are then fixed
up half the time, so that libpng gets past its checks.  Every mutated file must
either be refused with a ``QuantizeError`` or decode to a ``uint8`` array of 3
or 4 channels and at most ``MAX_PIXELS`` (``decode_image`` is called with that
limit, so a forged header cannot make it allocate gigabytes), which then
quantizes to ``k`` in 1..16 colours and encodes to a PNG that OpenCV reads back
at the same size.  On Linux the decode's peak resident memory is measured too
(``/proc/self/clear_refs`` resets the high-water mark) and must stay under
``DECODE_MEMORY_MB``: a refused file must not have cost gigabytes first.  Any
other exception fails the test; a crash in a C decoder kills the test process
(pytest's faulthandler prints where).  To see the recipe of the example that
crashed, run with ``QUANTIZE_FUZZ_TRACE=1 pytest -s``: each recipe is printed
before it is decoded.  ``QUANTIZE_FUZZ_EXAMPLES=50000`` runs a longer fuzz.

Palette files given in advance (``--map``) are fuzzed the same way: seeds in
each text format (``.gpl`` as GIMP and Aseprite write it, ``.json`` as we and
Lospec write it, ``.txt`` as we and Paint.NET write it, Lospec's ``.hex``) take
the same mutations (but the header one) and insertions of tokens that
palette readers trip on (a BOM, comments, ``10.7``, ``256``, ``-1``, a stray
quote or bracket, long digit runs).  Every mutated file must either be
refused with a ``QuantizeError`` of one line that names the file, or read as
1 to 256 RGB or RGBA colours that :func:`quantize.apply_palette` maps an image
onto, keeping them whole and in order.

The bound: ``MAX_EXAMPLES`` examples, about 15-25 s on two cores, and
``PALETTE_EXAMPLES`` palette files, about 3 s.  Under CI
(tests/conftest.py loads a derandomized profile) the same examples run every
time; at a desk Hypothesis explores fresh ones.  ``test_both_outcomes_occurred``
then checks that some files decoded and some were refused, so the fuzz neither
refuses everything nor only ever feeds the decoders valid files.
"""
from __future__ import annotations

import atexit
import os
import shutil
import struct
import sys
import tempfile
import zlib
from collections import Counter
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from threadpoolctl import threadpool_limits

from quantize import KMeansOptions, QuantizeError, apply_palette, quantize_image
from quantize.imageio import decode_image, encode_quantized
from quantize.palette import load_palette, write_palette

pytestmark = pytest.mark.slow

MAX_PIXELS = 4_000_000
MAX_EXAMPLES = int(os.environ.get("QUANTIZE_FUZZ_EXAMPLES", 5000))
PALETTE_EXAMPLES = max(200, MAX_EXAMPLES // 5)
TRACE = bool(os.environ.get("QUANTIZE_FUZZ_TRACE"))
# Peak memory one decode may add.  A legitimate 4 MP 16-bit RGBA PNG peaks at
# about 310 MB (OpenCV's buffer, then float64 scaling to 8 bits); a forged
# header or chunk length that slips past the pixel limit costs far more.
DECODE_MEMORY_MB = 128 * MAX_PIXELS // 2**20  # 488 MB

# Outcomes over the run, by seed format: decoded / refused (a QuantizeError from decode_image).
OUTCOMES: Counter = Counter()
PALETTE_OUTCOMES: Counter = Counter()  # by palette format: read / refused


def _pictures():
    """16x12 test pictures: (name, BGR(A) or grey array) as OpenCV expects them."""
    h, w = 12, 16
    y, x = np.mgrid[0:h, 0:w]
    rgb = np.zeros((h, w, 3), np.uint8)
    rgb[:, : w // 2] = (230, 30, 40)  # flat blocks of a few colours ...
    rgb[: h // 2, w // 2:] = (20, 200, 60)
    rgb[h // 2:, w // 2:] = (250, 250, 250)
    rgb[h // 3: 2 * h // 3] = np.stack([x * 16, y * 20, 255 - x * 12], axis=-1)[h // 3: 2 * h // 3]  # ... a gradient
    bgr = rgb[:, :, ::-1].copy()
    grey = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
    alpha = (np.clip(x * 17 + y * 3, 0, 255)).astype(np.uint8)
    alpha[:3, :3] = 0
    bgra = np.dstack([bgr, alpha])
    deep = bgr.astype(np.uint16) * 257 + (x * 7)[:, :, None].astype(np.uint16)
    return {"rgb": bgr, "grey": grey, "rgba": bgra, "rgb16": deep}


def _encode(ext, picture, params=()):
    ok, buffer = cv2.imencode(ext, picture, list(params))
    assert ok, f"cv2 cannot encode {ext}"
    return buffer.tobytes()


def _seeds():
    pic = _pictures()
    seeds = {}
    for kind in ("rgb", "grey", "rgba", "rgb16"):
        seeds[f"png-{kind}"] = _encode(".png", pic[kind])
        seeds[f"tiff-{kind}"] = _encode(".tiff", pic[kind])
    for kind in ("rgb", "grey"):
        seeds[f"jpeg-{kind}"] = _encode(".jpg", pic[kind], [cv2.IMWRITE_JPEG_QUALITY, 90])
    seeds["jpeg-progressive"] = _encode(".jpg", pic["rgb"], [cv2.IMWRITE_JPEG_PROGRESSIVE, 1])
    for kind in ("rgb", "grey", "rgba"):
        seeds[f"bmp-{kind}"] = _encode(".bmp", pic[kind])
    for kind in ("rgb", "rgba"):
        seeds[f"webp-lossy-{kind}"] = _encode(".webp", pic[kind], [cv2.IMWRITE_WEBP_QUALITY, 80])
        seeds[f"webp-lossless-{kind}"] = _encode(".webp", pic[kind], [cv2.IMWRITE_WEBP_QUALITY, 101])
        seeds[f"gif-{kind}"] = _encode(".gif", pic[kind])  # OpenCV >= 4.11 writes GIF (not grey)
    for name, data in seeds.items():  # every seed decodes as it is
        assert decode_image(data, name, max_pixels=MAX_PIXELS).shape[:2] == (12, 16), name
    return seeds


def _png_chunks(data):
    """(offset, type, length) of each PNG chunk that lies wholly in ``data``."""
    pos, chunks = 8, []
    while pos + 12 <= len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        if pos + 12 + length > len(data):
            break
        chunks.append((pos, data[pos + 4:pos + 8], length))
        pos += 12 + length
    return chunks


def _fields(data: bytes):
    """Width/height fields of a seed's header: (offset, size, byte order) each."""
    if data.startswith(b"\x89PNG"):
        return [(16, 4, "big"), (20, 4, "big")]
    if data[:3] == b"GIF":
        fields = [(6, 2, "little"), (8, 2, "little")]  # logical screen
        pos = 13 + (3 << ((data[10] & 7) + 1) if data[10] & 0x80 else 0)
        while data[pos] == 0x21:  # extensions before the first image descriptor
            pos += 2
            while data[pos]:
                pos += data[pos] + 1
            pos += 1
        if data[pos] == 0x2C:  # the first frame's own width and height
            fields += [(pos + 5, 2, "little"), (pos + 7, 2, "little")]
        return fields
    if data[:2] == b"BM":
        return [(18, 4, "little"), (22, 4, "little")]
    if data[:4] == b"RIFF":
        kind = data[12:16]
        if kind == b"VP8 ":
            return [(26, 2, "little"), (28, 2, "little")]
        if kind == b"VP8L":
            return [(21, 4, "little")]  # 14 bits of width - 1, 14 bits of height - 1
        return [(24, 3, "little"), (27, 3, "little")]  # VP8X canvas
    if data[:4] in (b"II*\x00", b"MM\x00*"):
        order = "little" if data[:2] == b"II" else "big"
        offset = int.from_bytes(data[4:8], order)
        fields = []
        for i in range(int.from_bytes(data[offset:offset + 2], order)):
            entry = offset + 2 + 12 * i
            tag, kind = int.from_bytes(data[entry:entry + 2], order), int.from_bytes(data[entry + 2:entry + 4], order)
            if tag in (256, 257):
                fields.append((entry + 8, 2 if kind == 3 else 4, order))
        return fields
    if data[:2] == b"\xff\xd8":
        pos = 2
        while data[pos] == 0xFF:
            marker = data[pos + 1]
            if marker in (0xC0, 0xC1, 0xC2):
                return [(pos + 5, 2, "big"), (pos + 7, 2, "big")]
            pos += 2 + int.from_bytes(data[pos + 2:pos + 4], "big")
    raise AssertionError("no header fields found")


SEEDS = _seeds()
FIELDS = {name: _fields(data) for name, data in SEEDS.items()}
for _name, _data in SEEDS.items():
    assert FIELDS[_name], _name

# Mutations, as plain tuples so that Hypothesis prints a failing example as a recipe.
_position = st.one_of(st.integers(0, 63), st.integers(0, 4095))  # taken modulo the length
_big = st.one_of(
    st.sampled_from([0, 1, 0x3FFF, 0x7FFF, 0x8000, 0xFFFF, 0x10000, 0xFFFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF,
                     2001, 4097, 30000, 65500]),
    st.integers(0, 2**32 - 1),
)
MUTATION = st.one_of(
    st.tuples(st.just("flip"), _position, st.integers(0, 7)),
    st.tuples(st.just("set"), _position, st.integers(0, 255)),
    st.tuples(st.just("truncate"), _position),
    st.tuples(st.just("insert"), _position, st.binary(min_size=1, max_size=64)),
    st.tuples(st.just("duplicate"), _position, st.integers(1, 256), _position),
    st.tuples(st.just("header"), st.integers(0, 3), _big),
)


def _reset_peak_memory() -> bool:
    """Reset this process's peak-RSS mark (Linux >= 4.0); False where that is not possible."""
    try:
        with open("/proc/self/clear_refs", "w") as file:
            file.write("5")
        return True
    except OSError:
        return False


def _memory_mb(field: str) -> int:
    """``VmRSS`` (now) or ``VmHWM`` (peak since the last reset) in MB."""
    with open("/proc/self/status") as file:
        for line in file:
            if line.startswith(field + ":"):
                return int(line.split()[1]) // 1024
    raise AssertionError(f"no {field} in /proc/self/status")


def mutate(name: str, mutations, fix_crcs: bool = False, seeds=None) -> bytes:
    """Apply ``mutations`` in order to the seed ``name`` (of ``seeds``, default
    the images), then (``fix_crcs``, PNG only) recompute the CRC of every whole
    chunk: the recipe of a fuzzed file."""
    data = bytearray((SEEDS if seeds is None else seeds)[name])
    for mutation in mutations:
        kind, args = mutation[0], mutation[1:]
        n = len(data)
        if kind == "flip" and n:
            data[args[0] % n] ^= 1 << args[1]
        elif kind == "set" and n:
            data[args[0] % n] = args[1]
        elif kind == "truncate":
            del data[args[0] % (n + 1):]
        elif kind == "insert":
            data[args[0] % (n + 1):args[0] % (n + 1)] = args[1]
        elif kind == "duplicate" and n:
            start = args[0] % n
            data[args[2] % (n + 1):args[2] % (n + 1)] = data[start:start + args[1]]
        elif kind == "header":
            fields = FIELDS[name]
            offset, size, order = fields[args[0] % len(fields)]
            if offset + size <= n:
                data[offset:offset + size] = (args[1] & ((1 << 8 * size) - 1)).to_bytes(size, order)
    if fix_crcs and data.startswith(b"\x89PNG"):  # so that libpng looks past its CRC checks
        for pos, _, length in _png_chunks(data):
            crc = zlib.crc32(data[pos + 4:pos + 8 + length])
            data[pos + 8 + length:pos + 12 + length] = crc.to_bytes(4, "big")
    return bytes(data)


# Two ways past the pixel limit that this fuzz found, checked on every run: a
# PNG chunk length forged to 0x40000000 (OpenCV allocates the whole chunk
# before reading it), and a JPEG whose forged 12000x12000 frame header follows
# one stray byte, where header_size loses the marker chain but libjpeg resyncs.
@settings(max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(name="png-rgb", mutations=[("set", 33, 0x40)], fix_crcs=False, k=4)
@example(name="jpeg-rgb", mutations=[("header", 0, 12000), ("header", 1, 12000), ("insert", 25, b"\x00")],
         fix_crcs=False, k=4)
@given(
    name=st.sampled_from(sorted(SEEDS)),
    mutations=st.lists(MUTATION, min_size=1, max_size=4),
    fix_crcs=st.booleans(),
    k=st.integers(1, 16),
)
def test_mutated_files_decode_or_are_refused(name, mutations, fix_crcs, k):
    data = mutate(name, mutations, fix_crcs)
    if TRACE:
        print(f"fuzz: {name} {mutations!r} fix_crcs={fix_crcs} k={k}", file=sys.stderr, flush=True)
    measured = _reset_peak_memory()
    before = _memory_mb("VmRSS") if measured else 0
    try:
        image = decode_image(data, name, max_pixels=MAX_PIXELS)
    except QuantizeError:
        image = None
    if measured:
        peak = _memory_mb("VmHWM") - before
        assert peak <= DECODE_MEMORY_MB, (
            f"decode_image peaked {peak} MB above its start ({'refused' if image is None else 'decoded'} "
            f"{len(data)} bytes); the limit is {DECODE_MEMORY_MB} MB")
    OUTCOMES[name.split("-")[0], "refused" if image is None else "decoded"] += 1
    if image is None:
        return
    assert isinstance(image, np.ndarray) and image.dtype == np.uint8
    assert image.ndim == 3 and image.shape[2] in (3, 4)
    assert 0 < image.shape[0] * image.shape[1] <= MAX_PIXELS
    try:
        with threadpool_limits(limits=1, user_api="blas"):  # as the command runs (threaded: 20 times the time)
            result = quantize_image(image, k, KMeansOptions(seed=0))
        png = encode_quantized(".png", result.indices, result.palette)
    except QuantizeError:
        OUTCOMES[name.split("-")[0], "quantize refused"] += 1
        return
    assert result.indices.shape == image.shape[:2] and result.indices.dtype == np.uint8
    assert 1 <= len(result.palette) <= k
    back = cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_UNCHANGED)
    assert back is not None and back.shape[:2] == image.shape[:2]


def test_both_outcomes_occurred():
    """Run after the fuzz (same module, file order): it both decoded and refused files."""
    if not OUTCOMES:
        pytest.skip("the fuzz test did not run in this session")
    formats = sorted({fmt for fmt, _ in OUTCOMES})
    print("\nfuzz outcomes: " + "; ".join(
        f"{fmt} {OUTCOMES[fmt, 'decoded']} decoded / {OUTCOMES[fmt, 'refused']} refused"
        + (f" / {OUTCOMES[fmt, 'quantize refused']} refused by quantize" if OUTCOMES[fmt, "quantize refused"] else "")
        for fmt in formats))
    assert sum(v for (_, outcome), v in OUTCOMES.items() if outcome == "decoded") > 0
    assert sum(v for (_, outcome), v in OUTCOMES.items() if outcome == "refused") > 0


# --- palette files given in advance ----------------------------------------------------------------


def _palette_seeds(folder) -> dict:
    """Seed palette files by name (``<what>.<format>``): ours as written, and as others write them."""
    colors = np.array([[230, 30, 40], [20, 200, 60], [250, 250, 250], [0, 0, 0]], np.uint8)
    seeds = {}
    for suffix in (".gpl", ".json", ".txt", ".hex"):
        write_palette(folder / f"ours{suffix}", colors, np.array([4, 3, 2, 1]))
        seeds[f"ours{suffix}"] = (folder / f"ours{suffix}").read_bytes()
    rgba = np.array([[230, 30, 40, 255], [0, 0, 0, 0]], np.uint8)
    write_palette(folder / "alpha.json", rgba, np.array([2, 1]))
    seeds["alpha.json"] = (folder / "alpha.json").read_bytes()
    seeds["gimp.gpl"] = b"GIMP Palette\nName: Game\nColumns: 4\n#\n230  30  40\tRed\n 20 200  60\tGreen\n"
    seeds["aseprite.gpl"] = b"GIMP Palette\nChannels: RGBA\n#\n  0   0   0   0 Clear\n254  91  89 255 Red\n"
    seeds["lospec.json"] = b'{"name":"x","author":"","colors":["e61e28","14c83c","fafafa"]}'
    seeds["paintnet.txt"] = b"; paint.net Palette File\n; aarrggbb\nFFE61E28\nFF14C83C\n00000000\n"
    seeds["lospec.hex"] = b"\xef\xbb\xbfe61e28\n14c83c\n# comment\nfafafa\n"
    return seeds


PALETTE_DIR = Path(tempfile.mkdtemp(prefix="quantize-fuzz-"))
atexit.register(shutil.rmtree, PALETTE_DIR, ignore_errors=True)
PALETTE_SEEDS = _palette_seeds(PALETTE_DIR)
_TOKENS = st.sampled_from([b"\xef\xbb\xbf", b"\n", b"\r\n", b"#", b";", b" ", b"\t", b"10.7", b"256", b"-1", b"1e3",
                           b"true", b"null", b'"', b"[", b"]", b"{", b"}", b",", b"Channels: RGBA\n", b"Name: x\n",
                           b"#ffffff\n", b"FF000000\n", b"9" * 30, b"\x00", b"\xff", b"\xc3\xa9",
                           "\u0663".encode()])  # an Arabic-Indic digit: int() reads it, a palette must not
PALETTE_MUTATION = st.one_of(
    st.tuples(st.just("flip"), _position, st.integers(0, 7)),
    st.tuples(st.just("set"), _position, st.integers(0, 255)),
    st.tuples(st.just("truncate"), _position),
    st.tuples(st.just("insert"), _position, st.one_of(_TOKENS, st.binary(min_size=1, max_size=16))),
    st.tuples(st.just("duplicate"), _position, st.integers(1, 256), _position),
)
PICTURE = _pictures()["rgba"][:, :, [2, 1, 0, 3]].copy()  # RGBA, with transparent pixels


@settings(max_examples=PALETTE_EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(name="ours.gpl", mutations=[("insert", 0, bytes(range(128, 256)))])  # binary: not UTF-8
@example(name="ours.json", mutations=[("insert", 40, b"10.7")])
@example(name="ours.hex", mutations=[("duplicate", 0, 256, 0)] * 7)  # over 256 colours
@given(name=st.sampled_from(sorted(PALETTE_SEEDS)), mutations=st.lists(PALETTE_MUTATION, min_size=1, max_size=4))
def test_mutated_palette_files_are_read_or_refused(name, mutations):
    data = mutate(name, mutations, seeds=PALETTE_SEEDS)
    if TRACE:
        print(f"fuzz: {name} {mutations!r}", file=sys.stderr, flush=True)
    path = PALETTE_DIR / f"mutated{Path(name).suffix}"
    path.write_bytes(data)
    try:
        colors = load_palette(path)
    except QuantizeError as error:
        PALETTE_OUTCOMES[path.suffix, "refused"] += 1
        assert str(error).startswith(f"{path}: ") and "\n" not in str(error), str(error)
        assert error.path == path
        return
    PALETTE_OUTCOMES[path.suffix, "read"] += 1
    assert isinstance(colors, np.ndarray) and colors.dtype == np.uint8
    assert colors.ndim == 2 and colors.shape[1] in (3, 4) and 1 <= len(colors) <= 256
    result = apply_palette(PICTURE, colors, reorder=False)
    np.testing.assert_array_equal(result.palette[:len(colors), :colors.shape[1]], colors)


def test_palette_outcomes_occurred():
    """Run after the palette fuzz: each format was both read and refused."""
    if not PALETTE_OUTCOMES:
        pytest.skip("the palette fuzz did not run in this session")
    print("\npalette fuzz outcomes: " + "; ".join(
        f"{fmt} {PALETTE_OUTCOMES[fmt, 'read']} read / {PALETTE_OUTCOMES[fmt, 'refused']} refused"
        for fmt in sorted({fmt for fmt, _ in PALETTE_OUTCOMES})))
    for fmt in (".gpl", ".json", ".txt", ".hex"):
        assert PALETTE_OUTCOMES[fmt, "read"] > 0 and PALETTE_OUTCOMES[fmt, "refused"] > 0, fmt
