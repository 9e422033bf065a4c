"""In process, against libimagequant: ``quantize_image`` and the ``imagequant`` binding.

libimagequant (the library under pngquant) through its Python binding
``imagequant`` (``pip install imagequant``; a benchmark-only peer, like
scikit-learn; the script stops with a message when it is missing), with its
defaults (speed 4) and no dithering, ``max_colors=K``.  Both run in this
process, so neither pays a start-up:

1. four sample photos made 768x512 (as bench_startup.py makes them), K = 16,
   64, 256;
2. a 24 MP photo (astronaut upscaled to 6000x4000 plus noise, as
   bench_speed.py part 3), K = 256.

Ours: ``quantize_image(image, K, KMeansOptions(seed=s))`` (histogram,
k-means, remap and the scores of the summary line); the peer:
``quantize_raw_rgba_bytes`` (histogram, its quantizer, remap) on RGBA bytes
made before the clock starts.  One BLAS thread, as the ``quantize`` command
runs (the binding's libimagequant runs on one thread too).  Times are medians of --repeats runs, taken in
turns (ours, the peer, ours, ...); ratio = our time / its time (below 1: we
are faster).  PSNR in dB over R, G and B of each remapped image.

    python bench/bench_liq.py [--repeats 5] [--parts 1,2]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
from bench_startup import photo_png
from common import upscaled_photo

from quantize import KMeansOptions, quantize_image, read_image

PHOTOS = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]
KS = [16, 64, 256]


def psnr(image, remapped):
    mse = ((image.astype(np.float64) - remapped.astype(np.float64)) ** 2).mean()
    return 10 * np.log10(255.0**2 / mse)


def liq_image(imagequant, rgba: bytes, shape, k: int) -> np.ndarray:
    """The RGB image libimagequant makes of ``rgba`` with ``k`` colours."""
    h, w = shape[:2]
    indices, palette = imagequant.quantize_raw_rgba_bytes(rgba, w, h, dithering_level=0.0, max_colors=k)
    palette = np.array(palette, np.uint8).reshape(-1, 4)[:, :3]
    return palette[np.frombuffer(indices, np.uint8)].reshape(h, w, 3)


def compare(imagequant, image, k: int, repeats: int):
    """(our median s, its median s, our dB, its dB), runs in turns."""
    rgba = np.dstack([image, np.full(image.shape[:2], 255, np.uint8)]).tobytes()
    ours, theirs = [], []
    for seed in range(repeats):
        start = time.perf_counter()
        result = quantize_image(image, k, KMeansOptions(seed=seed))
        ours.append(time.perf_counter() - start)
        start = time.perf_counter()
        remapped = liq_image(imagequant, rgba, image.shape, k)
        theirs.append(time.perf_counter() - start)
    ours_db = psnr(image, result.palette[result.indices])
    return statistics.median(ours), statistics.median(theirs), ours_db, psnr(image, remapped)


def row(name, k, ours_s, liq_s, ours_db, liq_db):
    print(f"{name:<22} {k:>4} {ours_s:>8.3f} {liq_s:>8.3f} {ours_s / liq_s:>6.2f} "
          f"{ours_db:>8.2f} {liq_db:>8.2f} {ours_db - liq_db:>+6.2f}", flush=True)
    return ours_s / liq_s, ours_db - liq_db


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--parts", default="1,2")
    args = parser.parse_args()
    try:
        import imagequant
    except ImportError:
        print("# imagequant is not installed (pip install imagequant): skipped")
        return
    from importlib.metadata import version

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # as the command runs (and libimagequant's binding runs on one thread)

    parts = {int(p) for p in args.parts.split(",")}
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, Python "
          f"{platform.python_version()}, imagequant {version('imagequant')}; medians of {args.repeats}")
    print(f"{'image':<22} {'K':>4} {'ours s':>8} {'liq s':>8} {'ratio':>6} {'ours dB':>8} {'liq dB':>8} {'diff':>6}")
    if 1 in parts:
        summary = {k: [] for k in KS}
        for name in PHOTOS:
            path = photo_png(name)
            image = read_image(path)
            for k in KS:
                ours_s, liq_s, ours_db, liq_db = compare(imagequant, image, k, args.repeats)
                summary[k].append(row(path.name.replace("startup-", ""), k, ours_s, liq_s, ours_db, liq_db))
        for k, pairs in summary.items():
            print(f"768x512, K={k}: time ours/libimagequant median {statistics.median(p[0] for p in pairs):.2f}, "
                  f"PSNR difference median {statistics.median(p[1] for p in pairs):+.2f} dB")
    if 2 in parts:
        path = upscaled_photo("large-24mp.png", 6000, 4000, sigma=3.0, seed=0)
        image = read_image(path)
        ratio, diff = row(path.name, 256, *compare(imagequant, image, 256, max(3, args.repeats // 2)))
        print(f"24 MP, K=256: time ours/libimagequant {ratio:.2f}, PSNR difference {diff:+.2f} dB")


if __name__ == "__main__":
    sys.exit(main())
