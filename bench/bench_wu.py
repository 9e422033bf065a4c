"""``--init wu`` against the default k-means++ start, and Wu's palette alone.

On each sample photo, at each K and speed: the time of ``fit_palette`` on the
photo's histogram (in process, median of --repeats runs, seeds 0, 1, ...) and
the PSNR of its palette (mean over those runs), from init k-means++ and from
init wu (taking turns); and the time and PSNR of Wu's palette alone (``wu_palette``, no
k-means; deterministic).  PSNR in dB over R, G and B, each pixel at its nearest
palette colour.  The last rows are the means over the photos.

    python bench/bench_wu.py [--repeats 3] [--ks 16,64,256] [--speeds 4,1]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time

import numpy as np
from common import SAMPLES, median_time, palette_psnr

from quantize import KMeansOptions, read_image
from quantize.histogram import color_histogram
from quantize.pipeline import fit_palette
from quantize.pipeline.wu import wu_palette

PHOTOS = ["astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg", "hubble.jpg"]
INITS = ("k-means++", "wu")
HEADER = (f"{'image':<14} {'K':>4} {'speed':>5} {'k-means++ ms':>12} {'dB':>6} {'wu ms':>7} {'dB':>6}"
          f" {'wu alone ms':>11} {'dB':>6}")


def fits(hist, k, speed, repeats):
    """For init k-means++ then wu: the median seconds of fit_palette over seeds
    0..repeats-1 and the mean PSNR; the two inits take turns, seed by seed (the
    machine is shared: a busy moment then slows both)."""
    times, psnrs = {init: [] for init in INITS}, {init: [] for init in INITS}
    for seed in range(repeats):
        for init in INITS:
            start = time.perf_counter()
            palette = fit_palette(hist, k, KMeansOptions(init=init, seed=seed, speed=speed))
            times[init].append(time.perf_counter() - start)
            psnrs[init].append(palette_psnr(hist, palette.colors))
    return [value for init in INITS for value in (statistics.median(times[init]), statistics.fmean(psnrs[init]))]


def row(name, k, speed, values):
    plus_s, plus_db, wu_s, wu_db, alone_s, alone_db = values
    print(f"{name:<14} {k:>4} {speed:>5} {1e3 * plus_s:>12.0f} {plus_db:>6.2f} {1e3 * wu_s:>7.0f} {wu_db:>6.2f}"
          f" {1e3 * alone_s:>11.0f} {alone_db:>6.2f}", flush=True)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ks", default="16,64,256")
    parser.add_argument("--speeds", default="4,1")
    args = parser.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    speeds = [int(s) for s in args.speeds.split(",")]
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, "
          f"Python {sys.version.split()[0]}; fit_palette on the histogram, median of {args.repeats}")
    print(HEADER)
    table = {}
    for name in PHOTOS:
        hist = color_histogram(read_image(SAMPLES / name))
        for k in ks:
            alone_s, palette = median_time(lambda seed: wu_palette(hist, k), args.repeats)
            alone = (alone_s, palette_psnr(hist, palette))
            for speed in speeds:
                values = (*fits(hist, k, speed, args.repeats), *alone)
                table[name, k, speed] = values
                row(name, k, speed, values)
    for k in ks:
        for speed in speeds:
            means = np.mean([table[name, k, speed] for name in PHOTOS], axis=0)
            row("mean", k, speed, means)


if __name__ == "__main__":
    main()
