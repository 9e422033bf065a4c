"""Timing of the k-means core against scikit-learn on photo colours.

For each sample photo: its weighted unique colours as float32 points, then
``quantize.kmeans(points, K, weights=counts, seed=0)`` and scikit-learn's
``KMeans(K, n_init=1, random_state=0)`` on the same data, in the same run,
interleaved; the time is the median of --repeats runs and the ratio is
sklearn time / our time.  --baseline FILE also times an older core, which
was one module ``quantize/kmeans.py`` before the package ``quantize/core``
(say ``git show 788f270:quantize/kmeans.py > FILE``; it imports only
``.errors`` and ``.progress``, loaded as a module of the package
``quantize``), and checks that it gives the same labels, centroids and
history.

    python bench/bench_core_profile.py [--ks 16,64,256] [--repeats 3] [--baseline FILE]
"""
from __future__ import annotations

import argparse
import importlib.util
import platform
import statistics
import sys
import time

import numpy as np
from common import SAMPLES
from sklearn.cluster import KMeans

import quantize
from quantize.histogram import color_histogram

IMAGES = ["astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg"]


def load_baseline(path):
    """The module at ``path``, loaded as a module of the package quantize
    (its relative imports find quantize's modules)."""
    spec = importlib.util.spec_from_file_location("quantize._kmeans_baseline", path)
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "quantize"
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default="16,64,256")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--images", default=",".join(IMAGES))
    parser.add_argument("--baseline", help="an older single-module core (kmeans.py) to time and compare with")
    args = parser.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    runners = {"ours": quantize.kmeans}
    if args.baseline:
        runners = {"before": load_baseline(args.baseline).kmeans, **runners}
    print(f"# {platform.machine()}, Python {platform.python_version()}, numpy {np.__version__}; "
          f"median of {args.repeats}; ratio = sklearn s / ours s")
    head = f"{'image':<14} {'colours':>7} {'K':>4} {'iters':>5}"
    head += f" {'before s':>8}" if args.baseline else ""
    head += f" {'ours s':>7} {'sklearn s':>9} {'ratio':>6}"
    head += f" {'speedup':>7} {'same':>5}" if args.baseline else ""
    print(head + f" {'distortion':>12}")
    ratios = {k: [] for k in ks}
    for name in args.images.split(","):
        hist = color_histogram(quantize.read_image(SAMPLES / name)[:, :, :3])
        points, weights = hist.colors.astype(np.float32), hist.counts
        for k in ks:
            jobs = {run: (lambda f=f: f(points, k, weights=weights, seed=0)) for run, f in runners.items()}
            jobs["sklearn"] = lambda: KMeans(n_clusters=k, n_init=1, random_state=0).fit(points, sample_weight=weights)
            times = {job: [] for job in jobs}
            results = {}
            for _ in range(args.repeats):
                for job, fn in jobs.items():
                    start = time.perf_counter()
                    results[job] = fn()
                    times[job].append(time.perf_counter() - start)
            t = {job: statistics.median(v) for job, v in times.items()}
            ours = results["ours"]
            ratios[k].append(t["sklearn"] / t["ours"])
            line = f"{name:<14} {len(points):>7} {k:>4} {ours.n_iter:>5}"
            if args.baseline:
                line += f" {t['before']:>8.3f}"
            line += f" {t['ours']:>7.3f} {t['sklearn']:>9.3f} {t['sklearn'] / t['ours']:>6.2f}"
            if args.baseline:
                before = results["before"]
                same = (np.array_equal(before.labels, ours.labels) and np.array_equal(before.centroids, ours.centroids)
                        and np.array_equal(before.history, ours.history))
                line += f" {t['before'] / t['ours']:>7.2f} {'yes' if same else 'NO':>5}"
            print(line + f" {ours.distortion:>12.4f}", flush=True)
    for k in ks:
        print(f"median ratio at K={k}: {statistics.median(ratios[k]):.2f}")


if __name__ == "__main__":
    main()
