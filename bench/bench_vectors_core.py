"""Benchmark: the k-means core on image vectors (60,000 x 784 float32 digits,
and scikit-learn's 1,797 x 64 digits).

Our ``kmeans`` against scikit-learn's ``KMeans(n_init=1)``, each with its own
k-means++ and default stop rule, and our ``minibatch_kmeans`` with the
parameters ``quantize cluster --minibatch`` passes by default
(``quantize.cluster.fit`` with ``KMeansOptions()``: k-means++ on a subset of
3 x 1024 points, one run, batch_size 1024, max_iter 300 passes, tol 0, early
stop after 10 steps without a new low of the smoothed batch inertia; one BLAS
thread, which ``minibatch_kmeans`` takes itself) against scikit-learn's
defaults, ``MiniBatchKMeans(n_clusters=K, random_state=seed)`` (batch_size
1024, n_init "auto" = 1 for k-means++ on 3 x 1024 points, max_iter 100, tol 0,
max_no_improvement 10; one BLAS thread in its steps, OpenMP on every core),
and the same with one thread (``threadpool_limits(1)``: OpenMP too), as the
2 cores of the machine are shared and scikit-learn's OpenMP threads lose much
time when the other core is busy.  Data: MNIST-like digits drawn with OpenCV
(bench/make_digits.py, cached in bench/output/ as .npy; values in [0, 1]),
and scikit-learn's bundled 8x8 digits (values / 16).  Time is the median over
--repeats seeds, the runs interleaved (seed 0 of each, then seed 1, ...), the
ratio sklearn time / ours (above 1: we are faster); inertia is per point
over all the data (scikit-learn's ``inertia_``, computed by its fit over all
the points, as ours), accuracy the share of points whose cluster's majority
label is their own (median over the seeds).  Full k-means runs are capped at
--max-iter iterations (both libraries alike) to keep the default run near 5
minutes on 2 cores; they use the default threads.

A goal is "met" when our median time is at most theirs and our median
inertia at most theirs plus --slack (default 1%: the spread between the
local optima of k-means++ seeds).

    python bench/bench_vectors_core.py [--repeats 3] [--n 60000] [--ks 10,64,256] [--max-iter 40]
        [--methods k-means,mini-batch] [--no-small]
"""
from __future__ import annotations

import argparse
import platform
import statistics
import time

import numpy as np
from common import OUT
from sklearn.cluster import KMeans, MiniBatchKMeans
from sklearn.datasets import load_digits
from threadpoolctl import threadpool_info, threadpool_limits

from quantize.core import kmeans, minibatch_kmeans
from quantize.metrics import majority_accuracy
from quantize.options import KMeansOptions


def digit_vectors(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray | None]:
    """``(n, 784) float32`` digit images in [0, 1] and their labels ``(n,)``
    (None from the stand-in), made once and cached."""
    path, label_path = OUT / f"digits-{n}-seed{seed}.npy", OUT / f"digits-{n}-seed{seed}-labels.npy"
    if path.exists() and label_path.exists():
        return np.load(path), np.load(label_path)
    labels = None
    try:
        from make_digits import make_digits

        images, labels = make_digits(n, seed)
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
    if labels is not None:
        np.save(label_path, labels)
    return vectors, labels


def timed_together(fns, repeats, y):
    """For each of ``fns`` (``fn(seed) -> (inertia, labels)``), run in turn
    for each seed 0..repeats-1 (interleaved: seed 0 of every one, then seed 1,
    ...): median seconds, inertia per point and accuracy (None without labels
    ``y``)."""
    runs = [([], [], []) for _ in fns]
    for seed in range(repeats):
        for fn, (times, inertias, accuracies) in zip(fns, runs):
            start = time.perf_counter()
            inertia, labels = fn(seed)
            times.append(time.perf_counter() - start)
            inertias.append(inertia)
            accuracies.append(None if y is None else majority_accuracy(y, labels))
    return [(statistics.median(t), statistics.median(i), None if y is None else statistics.median(a))
            for t, i, a in runs]


def compare(name, X, y, ks, args, verdicts):
    n = len(X)
    print(f"# {name}: {n} x {X.shape[1]} float32; median of {args.repeats} seeds, interleaved; "
          f"ratio = sklearn time / ours; full k-means capped at {args.max_iter} iterations")
    print(f"{'method':<22} {'K':>4} {'ours s':>8} {'sklearn s':>9} {'ratio':>6} {'ours J':>9} {'sklearn J':>9} "
          f"{'J diff':>7} {'ours acc':>8} {'skl acc':>7}")
    for k in ks:
        def ours_full(s):
            r = kmeans(X, k, seed=s, max_iter=args.max_iter)
            return r.distortion, r.labels

        def peer_full(s):
            m = KMeans(k, n_init=1, random_state=s, max_iter=args.max_iter).fit(X)
            return m.inertia_ / n, m.labels_

        def ours_mini(s):  # what quantize.cluster.fit passes by default (KMeansOptions(), batch 1024)
            r = minibatch_kmeans(X, k, batch_size=1024, max_iter=KMeansOptions().max_iter,
                                 seed=np.random.default_rng(s))
            return r.distortion, r.labels

        def peer_mini(s):  # scikit-learn's defaults (batch_size 1024, n_init "auto" = 1, max_iter 100)
            m = MiniBatchKMeans(n_clusters=k, random_state=s).fit(X)
            return m.inertia_ / n, m.labels_

        def peer_mini_one(s):
            with threadpool_limits(limits=1):
                return peer_mini(s)

        rows = []
        if "k-means" in args.methods:
            ours, theirs = timed_together([ours_full, peer_full], args.repeats, y)
            rows.append(("k-means", ours, theirs))
        if "mini-batch" in args.methods:
            ours, theirs, theirs_one = timed_together([ours_mini, peer_mini, peer_mini_one], args.repeats, y)
            rows += [("mini-batch", ours, theirs), ("mini-batch, skl 1 thread", ours, theirs_one)]
        for method, ours, theirs in rows:
            ratio = theirs[0] / ours[0]
            diff = ours[1] / theirs[1] - 1
            acc = "" if y is None else f" {ours[2]:>8.3f} {theirs[2]:>7.3f}"
            print(f"{method:<22} {k:>4} {ours[0]:>8.2f} {theirs[0]:>9.2f} {ratio:>6.2f} {ours[1]:>9.4f} "
                  f"{theirs[1]:>9.4f} {diff:>+7.2%}{acc}", flush=True)
            verdicts.append((name, method, k, ratio >= 1 and diff <= args.slack))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--n", type=int, default=60000, help="points (a prefix of the cached 60,000)")
    parser.add_argument("--ks", default="10,64,256")
    parser.add_argument("--max-iter", type=int, default=40, help="cap on full k-means iterations (both)")
    parser.add_argument("--slack", type=float, default=0.01, help="inertia slack of the goals")
    parser.add_argument("--methods", default="k-means,mini-batch", help="k-means, mini-batch or both")
    parser.add_argument("--small", action=argparse.BooleanOptionalAction, default=True,
                        help="also scikit-learn's 8x8 digits")
    args = parser.parse_args()
    X, y = digit_vectors(60000)
    X, y = X[: args.n], None if y is None else y[: args.n]
    ks = [int(k) for k in args.ks.split(",")]
    blas = ", ".join(f"{i['internal_api']} {i['num_threads']} threads" for i in threadpool_info())
    print(f"# {platform.machine()}, {platform.python_version()}, numpy {np.__version__}, {blas}")
    verdicts = []
    compare("generated digits 28x28", X, y, ks, args, verdicts)
    if args.small:
        small = load_digits()
        compare("scikit-learn digits 8x8", (small.data / 16).astype(np.float32), small.target, ks, args, verdicts)
    print()
    for name, method, k, met in verdicts:
        goal = ("our full k-means no slower than sklearn KMeans at the same inertia" if method == "k-means"
                else f"our mini-batch reaches sklearn MiniBatchKMeans's inertia ({method[12:] or 'default threads'}) "
                "in no more time")
        print(f"{name}, K={k:<4} {goal}: {'met' if met else 'not met'}")


if __name__ == "__main__":
    main()
