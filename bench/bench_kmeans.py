"""Benchmark: quantize.kmeans against scikit-learn's KMeans on unique colours.

Both fit the same weighted unique colours of each sample image (the fastest
exact use of either), with k-means++ and one run (n_init=1), in the same
process.  Time is the median of --repeats runs; the ratio is peer / ours, so
above 1 means we are faster.  PSNR is of the image remapped to each palette
(rounded to 8 bits), so the two are compared on the picture a user gets.

    python bench/bench_kmeans.py [--repeats 3] [--ks 16,64,256]
"""
from __future__ import annotations

import argparse
import platform
import statistics

import numpy as np
from common import SAMPLES, median_time, palette_psnr
from sklearn.cluster import KMeans

from quantize import kmeans, read_image
from quantize.histogram import color_histogram
IMAGES = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg", "camera.png"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ks", default="16,64,256")
    args = parser.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    print(f"# {platform.machine()}, {platform.python_version()}, numpy {np.__version__}, "
          f"median of {args.repeats} runs; ratio = sklearn time / our time")
    print(f"{'image':<14} {'colours':>7} {'K':>4} {'ours s':>8} {'sklearn s':>9} {'ratio':>6} "
          f"{'ours dB':>8} {'sklearn dB':>10} {'dB diff':>7}")
    ratios = {k: [] for k in ks}
    diffs = {k: [] for k in ks}
    for name in IMAGES:
        hist = color_histogram(read_image(SAMPLES / name)[:, :, :3])
        X = hist.colors.astype(np.float64)
        for k in ks:
            ours_s, ours = median_time(
                lambda s: kmeans(X, k, weights=hist.counts, n_init=1, seed=s), args.repeats)
            peer_s, peer = median_time(
                lambda s: KMeans(k, n_init=1, random_state=s).fit(X, sample_weight=hist.counts),
                args.repeats)
            ours_db = palette_psnr(hist, ours.centroids)
            peer_db = palette_psnr(hist, peer.cluster_centers_)
            diff = 0.0 if ours_db == peer_db else ours_db - peer_db  # both inf: exact
            ratios[k].append(peer_s / ours_s)
            diffs[k].append(diff)
            print(f"{name:<14} {len(X):>7} {k:>4} {ours_s:>8.3f} {peer_s:>9.3f} {peer_s / ours_s:>6.2f} "
                  f"{ours_db:>8.2f} {peer_db:>10.2f} {diff:>+7.2f}", flush=True)
    for k in ks:
        print(f"{'median/mean':<14} {'':>7} {k:>4} {'':>8} {'':>9} {statistics.median(ratios[k]):>6.2f} "
              f"{'':>8} {'':>10} {statistics.mean(diffs[k]):>+7.2f}")


if __name__ == "__main__":
    main()
