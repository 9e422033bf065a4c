"""Draw an MNIST-like data set of digits, written as real IDX files.

Each digit 0-9 is drawn with one of OpenCV's Hershey fonts (plain, simplex,
duplex, complex, triplex and the two script faces, some italic) at a random
scale and stroke thickness, on a 64 x 64 canvas; one affine warp slants it
(shear), squeezes or stretches it and turns it a few degrees; then, as MNIST
was made, it is cut to its bounding box, fitted into a 20 x 20 box keeping its
aspect ratio (anti-aliased), and placed in a 28 x 28 picture with its centre
of mass at the centre (give or take a pixel of jitter).  A light Gaussian
blur and a little noise on the strokes (the background stays 0) finish it.
The ten labels are balanced (``count // 10`` each, the rest spread from 0)
and shuffled.  Everything follows from ``--seed``: the same seed gives the
same bytes.

    python bench/make_digits.py --count 60000 --out DIR [--seed 0] [--test-count 10000]

writes ``DIR/train-images-idx3-ubyte.gz`` and ``DIR/train-labels-idx1-ubyte.gz``
(and ``t10k-*`` with ``--test-count`` > 0, drawn from another stream of the
same seed).  In Python: :func:`make_digits` and :func:`write_idx`.
"""
from __future__ import annotations

import argparse
import gzip
import sys
import time
from pathlib import Path

import cv2
import numpy as np

SIDE = 28  # the picture
BOX = 20  # the box the digit is fitted into
CANVAS = 64  # where it is drawn
FONTS = (
    cv2.FONT_HERSHEY_SIMPLEX,
    cv2.FONT_HERSHEY_PLAIN,
    cv2.FONT_HERSHEY_DUPLEX,
    cv2.FONT_HERSHEY_COMPLEX,
    cv2.FONT_HERSHEY_TRIPLEX,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX,
    cv2.FONT_HERSHEY_SCRIPT_COMPLEX,
    cv2.FONT_HERSHEY_SIMPLEX | cv2.FONT_ITALIC,
    cv2.FONT_HERSHEY_COMPLEX | cv2.FONT_ITALIC,
    cv2.FONT_HERSHEY_SCRIPT_SIMPLEX | cv2.FONT_ITALIC,
)
# Font scales giving digits about 30-40 pixels tall on the canvas (the plain face is small).
_BASE_SCALE = {cv2.FONT_HERSHEY_PLAIN: 2.6}
_DEFAULT_SCALE = 1.35


def make_digits(count: int, seed: int = 0, *, stream: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``count`` drawn digits: ``images (count, 28, 28) uint8`` (0 background,
    up to 255 ink) and ``labels (count,) uint8``, balanced and shuffled.

    Deterministic: the same ``count``, ``seed`` and ``stream`` give the same
    arrays (``stream`` tells apart sets drawn from one seed, e.g. train and
    test).
    """
    if count < 0:
        raise ValueError(f"count must be >= 0, got {count}")
    rng = np.random.default_rng([seed, stream])
    labels = rng.permutation(np.arange(count) % 10).astype(np.uint8)
    font = rng.integers(0, len(FONTS), count)
    scale = rng.uniform(0.8, 1.2, count)
    thick = rng.uniform(0.6, 1.9, count)  # times the scale, in pixels
    angle = np.radians(rng.normal(0.0, 5.0, count).clip(-12, 12))
    shear = rng.normal(0.0, 0.18, count).clip(-0.45, 0.45)
    aspect = rng.uniform(0.75, 1.15, count)  # width factor
    jitter = rng.uniform(-1.0, 1.0, (count, 2))
    blur = rng.uniform(0.3, 0.7, count)
    noise_level = rng.uniform(2.0, 10.0, count).astype(np.float32)

    images = np.zeros((count, SIDE, SIDE), np.uint8)
    canvas = np.zeros((CANVAS, CANVAS), np.uint8)
    centre = CANVAS / 2
    for i in range(count):
        face = FONTS[font[i]]
        size = _BASE_SCALE.get(face & 0xF, _DEFAULT_SCALE) * scale[i]
        width = max(1, int(round(thick[i] * size * 2)))
        text = chr(48 + int(labels[i]))
        (tw, th), _ = cv2.getTextSize(text, face, size, width)
        canvas[:] = 0
        cv2.putText(canvas, text, (int(centre - tw / 2), int(centre + th / 2)), face, size, 255, width,
                    cv2.LINE_AA)
        # One warp about the canvas centre: turn, slant (x += shear * y), squeeze the width.
        c, s = np.cos(angle[i]), np.sin(angle[i])
        m = np.array([[c, -s], [s, c]]) @ np.array([[aspect[i], -shear[i]], [0.0, 1.0]])
        warp = np.hstack([m, (np.array([centre, centre]) - m @ np.array([centre, centre]))[:, None]])
        drawn = cv2.warpAffine(canvas, warp, (CANVAS, CANVAS), flags=cv2.INTER_LINEAR)
        x, y, w, h = cv2.boundingRect(drawn)
        if w == 0 or h == 0:
            continue
        crop = drawn[y:y + h, x:x + w]
        factor = BOX / max(w, h)
        nw, nh = max(1, int(round(w * factor))), max(1, int(round(h * factor)))
        small = cv2.resize(crop, (nw, nh), interpolation=cv2.INTER_AREA)
        moments = cv2.moments(small)
        if moments["m00"] <= 0:
            continue
        cx, cy = moments["m10"] / moments["m00"], moments["m01"] / moments["m00"]
        shift = np.array([[1.0, 0.0, SIDE / 2 - 0.5 - cx + jitter[i, 0]],
                          [0.0, 1.0, SIDE / 2 - 0.5 - cy + jitter[i, 1]]])
        placed = cv2.warpAffine(small, shift, (SIDE, SIDE), flags=cv2.INTER_LINEAR)
        images[i] = cv2.GaussianBlur(placed, (3, 3), blur[i])
    for start in range(0, count, 8192):  # noise on the ink only, a block at a time (memory)
        block = images[start:start + 8192]
        noise = rng.standard_normal(block.shape, dtype=np.float32) * noise_level[start:start + 8192, None, None]
        ink = block > 0
        block[ink] = np.clip(np.rint(block[ink] + noise[ink]), 1, 255).astype(np.uint8)
    return images, labels


def write_idx(path, array) -> None:
    """Write a ``uint8`` array as an IDX file (magic ``0x000008NN``, NN the
    number of dimensions; each dimension a big-endian 32-bit number; then
    the bytes), gzipped when ``path`` ends in ``.gz`` (no time stamp, so the
    same array gives the same bytes).  The file is written whole and then
    moved into place."""
    array = np.ascontiguousarray(array)
    if array.dtype != np.uint8:
        raise ValueError(f"IDX files here hold uint8 arrays, got {array.dtype}")
    if not 1 <= array.ndim <= 255:
        raise ValueError(f"cannot write a {array.ndim}-dimensional array as IDX")
    data = bytes([0, 0, 0x08, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
    data += array.tobytes()
    path = Path(path)
    if path.name.lower().endswith(".gz"):
        data = gzip.compress(data, compresslevel=6, mtime=0)
    from quantize.imageio import atomic_write

    atomic_write(path, data)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60000, help="training digits (default 60000)")
    parser.add_argument("--test-count", type=int, default=10000, help="test digits, t10k-* (0: none)")
    parser.add_argument("--out", required=True, type=Path, help="the folder to write the IDX files in")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.count < 1 or args.test_count < 0:
        parser.error("--count must be >= 1 and --test-count >= 0")
    sets = [("train", args.count, 0)] + ([("t10k", args.test_count, 1)] if args.test_count else [])
    for prefix, count, stream in sets:
        start = time.perf_counter()
        images, labels = make_digits(count, args.seed, stream=stream)
        drawn = time.perf_counter() - start
        write_idx(args.out / f"{prefix}-images-idx3-ubyte.gz", images)
        write_idx(args.out / f"{prefix}-labels-idx1-ubyte.gz", labels)
        print(f"{prefix}: {count:,} digits drawn in {drawn:.1f} s, written in "
              f"{time.perf_counter() - start - drawn:.1f} s to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
