"""What --speed trades: time and PSNR of ``quantize_image`` at each speed.

Four sample photos made 768x512 (as in bench_targets.py part 1), K = 16, 64
and 256, in process (decoding, imports and writing excluded: they do not
depend on the speed).  Per photo and speed the median time over --repeats
seeds (0, 1, ...) and the mean PSNR of those runs; the table gives the mean
over the photos, and the time as a ratio against speed 1 in the same run
(the exact path: one k-means on every unique colour).

    python bench/bench_speed_curve.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import time

import numpy as np
from bench_targets import SINGLE, fit
from common import SAMPLES

from quantize import read_image
from quantize.limits import DEFAULT_SPEED, SPEEDS
from quantize.pipeline import KMeansOptions, quantize_image

KS = [16, 64, 256]


def measure(image, k, speed, repeats):
    times, psnrs = [], []
    for seed in range(repeats):
        start = time.perf_counter()
        result = quantize_image(image, k, KMeansOptions(seed=seed, speed=speed))
        times.append(time.perf_counter() - start)
        psnrs.append(result.psnr)
    return statistics.median(times), statistics.mean(psnrs)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, Python "
          f"{platform.python_version()}, numpy {np.__version__}; {len(SINGLE)} photos 768x512, "
          f"median of {args.repeats} seeds; ratio = time / time at speed 1 (lower is faster)")
    images = [np.ascontiguousarray(fit(read_image(SAMPLES / name))) for name in SINGLE]
    found = {}
    for image in images:  # speeds interleaved, so that load changes touch them alike
        for k in KS:
            for speed in SPEEDS:
                found.setdefault((k, speed), []).append(measure(image, k, speed, args.repeats))
    head = " ".join(f"{f'K={k} ms':>9} {'ratio':>6} {'dB':>6}" for k in KS)
    print(f"{'speed':<9} {head}")
    for speed in SPEEDS:
        cells = []
        for k in KS:
            ms = 1000 * statistics.mean(t for t, _ in found[(k, speed)])
            exact = 1000 * statistics.mean(t for t, _ in found[(k, 1)])
            db = statistics.mean(p for _, p in found[(k, speed)])
            cells.append(f"{ms:>9.0f} {ms / exact:>6.2f} {db:>6.2f}")
        label = f"{speed}{' (def)' if speed == DEFAULT_SPEED else ''}"
        print(f"{label:<9} {' '.join(cells)}")


if __name__ == "__main__":
    main()
