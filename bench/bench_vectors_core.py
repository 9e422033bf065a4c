"""Benchmark: the k-means core on image vectors (60,000 x 784 float32 digits).

Our ``kmeans`` against scikit-learn's ``KMeans(n_init=1)`` and our
``minibatch_kmeans`` against ``MiniBatchKMeans(batch_size=1024, n_init=1)``,
each with its own k-means++ and default stop rule, on MNIST-like digits drawn
with OpenCV (bench/make_digits.py, cached in bench/output/ as .npy; values in
[0, 1]).  Time is the median over --repeats seeds, the ratio sklearn time /
ours (above 1: we are faster), inertia is per point over all the data.  Full
k-means runs are capped at --max-iter iterations (both libraries alike) to
keep the default run near 5 minutes on 2 cores.  Both libraries use the
default threads (OpenBLAS; scikit-learn also OpenMP), in one process.

A goal is "met" when our median time is at most theirs and our median
inertia at most theirs plus --slack (default 0.5%: the spread between the
local optima of k-means++ seeds).

    python bench/bench_vectors_core.py [--repeats 3] [--n 60000] [--ks 10,64,256] [--max-iter 40]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
from common import OUT
from sklearn.cluster import KMeans, MiniBatchKMeans
from threadpoolctl import threadpool_info

from quantize.kmeans import kmeans, minibatch_kmeans


def digit_vectors(n: int, seed: int = 0) -> np.ndarray:
    """``(n, 784) float32`` digit images in [0, 1], made once and cached."""
    path = OUT / f"digits-{n}-seed{seed}.npy"
    if path.exists():
        return np.load(path)
    try:
        from make_digits import make_digits

        images, _ = make_digits(n, seed)
        vectors = images.reshape(n, 784).astype(np.float32) / np.float32(255)
    except ImportError:  # a quick stand-in: one font, random scale, offset, stroke; blur and noise
        import cv2

        rng = np.random.default_rng(seed)
        vectors = np.zeros((n, 784), np.float32)
        for i in range(n):
            canvas = np.zeros((28, 28), np.float32)
            scale = rng.uniform(0.6, 0.9)
            cv2.putText(canvas, str(i % 10), (int(rng.integers(3, 9)), int(rng.integers(20, 26))),
                        cv2.FONT_HERSHEY_SIMPLEX, scale, 1.0, int(rng.integers(1, 4)), cv2.LINE_AA)
            canvas = cv2.GaussianBlur(canvas, (3, 3), 0.6) + rng.normal(0, 0.05, (28, 28)).astype(np.float32)
            vectors[i] = np.clip(canvas, 0, 1).ravel()
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(path, vectors)
    return vectors


def timed(fn, repeats):
    """Median seconds and median inertia per point of ``fn(seed)`` over seeds 0..repeats-1."""
    times, inertias = [], []
    for seed in range(repeats):
        start = time.perf_counter()
        inertias.append(fn(seed))
        times.append(time.perf_counter() - start)
    return statistics.median(times), statistics.median(inertias)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=60000, help="points (a prefix of the cached 60,000)")
    parser.add_argument("--ks", default="10,64,256")
    parser.add_argument("--max-iter", type=int, default=40, help="cap on full k-means iterations (both)")
    parser.add_argument("--slack", type=float, default=0.005, help="inertia slack of the goals")
    args = parser.parse_args()
    X = digit_vectors(60000)[: args.n]
    n = len(X)
    ks = [int(k) for k in args.ks.split(",")]
    blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    print(f"# {platform.machine()}, {platform.python_version()}, numpy {np.__version__}, {blas}")
    print(f"# {n} x {X.shape[1]} float32 digits; median of {args.repeats} seeds; ratio = sklearn time / ours; "
          f"full k-means capped at {args.max_iter} iterations")
    print(f"{'method':<10} {'K':>4} {'ours s':>8} {'sklearn s':>9} {'ratio':>6} {'ours J':>9} {'sklearn J':>9} "
          f"{'J diff':>7}")
    verdicts = []
    for k in ks:
        full = timed(lambda s: kmeans(X, k, seed=s, max_iter=args.max_iter).distortion, args.repeats)
        peer = timed(lambda s: KMeans(k, n_init=1, random_state=s, max_iter=args.max_iter).fit(X).inertia_ / n,
                     args.repeats)
        mini = timed(lambda s: minibatch_kmeans(X, k, batch_size=1024, seed=s).distortion, args.repeats)
        peer_mini = timed(
            lambda s: MiniBatchKMeans(k, batch_size=1024, n_init=1, random_state=s).fit(X).inertia_ / n,
            args.repeats)
        for name, ours, theirs in (("k-means", full, peer), ("mini-batch", mini, peer_mini)):
            ratio = theirs[0] / ours[0]
            diff = ours[1] / theirs[1] - 1
            print(f"{name:<10} {k:>4} {ours[0]:>8.2f} {theirs[0]:>9.2f} {ratio:>6.2f} {ours[1]:>9.4f} "
                  f"{theirs[1]:>9.4f} {diff:>+7.2%}", flush=True)
            verdicts.append((name, k, ratio >= 1 and diff <= args.slack))
    print()
    for name, k, met in verdicts:
        goal = ("our full k-means no slower than sklearn KMeans at the same inertia" if name == "k-means"
                else "our mini-batch reaches sklearn MiniBatchKMeans's inertia in no more time")
        print(f"K={k:<4} {goal}: {'met' if met else 'not met'}")


if __name__ == "__main__":
    main()
