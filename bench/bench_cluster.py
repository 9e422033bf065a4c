"""quantize cluster on 60,000 generated 28x28 digits: accuracy against K, and memory.

1. The whole command, ``quantize cluster train-images-idx3-ubyte.gz -k 36
   --ks 10,16,36,64,144,256,400 --minibatch`` (and, with --full, without
   --minibatch), under ``/usr/bin/time -v``, with the 10,000 test digits
   (``t10k-*``, found beside the training files): per K the inertia, the
   accuracy after mapping each cluster to its majority training label on
   the training and on the test digits, V-measure, adjusted Rand index and
   seconds, as ``quantize cluster`` reports them; wall time and peak RSS of
   the process.  Then ``quantize classify`` with the report's model.npz on
   the test file: how many of its labels match test-assignments.csv (all
   should).  With --docs the K=36 centroid grid is copied to
   docs/cluster-digits-k36.png.
2. Memory of full k-means at K=256 on the 60,000 x 784 float32 vectors
   (``quantize.kmeans``, at most --max-iter iterations: memory does not grow
   with them), peak RSS against the data's size (n x d x 4 bytes); target:
   under 4x.

The digits are drawn once by bench/make_digits.py into bench/output/digits/.

    python bench/bench_cluster.py [--count 60000] [--full] [--max-iter 20] [--docs]
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import make_digits
from common import OUT, ROOT

CLI = str(Path(sys.executable).parent / "quantize")
KS = "10,16,36,64,144,256,400"


def timed(command):
    """(wall seconds, peak RSS MB, stdout) of a command under /usr/bin/time -v."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{proc.stderr}")
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024
    return wall, peak, proc.stdout


def classify_check(report_dir: Path, tests: Path) -> str:
    """``quantize classify`` with the report's model on the test digits,
    against the report's test-assignments.csv, row by row."""
    proc = subprocess.run([CLI, "classify", str(report_dir / "model.npz"), str(tests)], capture_output=True,
                          text=True, check=True)
    ours = list(csv.reader(io.StringIO(proc.stdout)))[1:]
    with open(report_dir / "test-assignments.csv", newline="") as handle:
        reported = list(csv.reader(handle))[1:]
    same = sum(a[:2] == b[:2] and a[2] == b[3] and float(a[3]) == float(b[2]) for a, b in zip(ours, reported))
    return (f"quantize classify model.npz {tests.name}: {same:,} of {len(reported):,} rows give the cluster, "
            "label and distance of test-assignments.csv")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60000)
    parser.add_argument("--full", action="store_true", help="also the sweep with full k-means")
    parser.add_argument("--max-iter", type=int, default=20, help="iterations of the memory run (part 2)")
    parser.add_argument("--docs", action="store_true", help="copy the K=36 centroid grid into docs/")
    args = parser.parse_args()
    folder = OUT / f"digits-{args.count}"
    images = folder / "train-images-idx3-ubyte.gz"
    tests = folder / "t10k-images-idx3-ubyte.gz"
    if not images.exists() or not tests.exists():
        make_digits.main(["--count", str(args.count), "--test-count", "10000", "--out", str(folder)])
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, Python "
          f"{platform.python_version()}; {args.count:,} generated digits of 28x28 (bench/make_digits.py)")
    for minibatch in [True] + ([False] if args.full else []):
        out = OUT / f"digits-clusters-{'mini' if minibatch else 'full'}"
        command = [CLI, "cluster", str(images), "-k", "36", "--ks", KS, "-o", str(out), "--force", "--quiet",
                   "--seed", "0"] + (["--minibatch"] if minibatch else [])
        wall, peak, _ = timed(command)
        report = json.loads((out / "clusters.json").read_text())
        print(f"## 1. quantize cluster ... --ks {KS}{' --minibatch' if minibatch else ''}: "
              f"wall {wall:.1f} s, peak RSS {peak:.0f} MB")
        print(f"{'K':>4} {'inertia':>10} {'train acc.':>10} {'test acc.':>9} {'V-meas.':>7} {'test V':>6} "
              f"{'ARI':>6} {'seconds':>8}")
        for row in report["metrics"]:
            print(f"{row['k']:>4} {row['inertia']:>10.0f} {row['accuracy']:>10.3f} {row['test_accuracy']:>9.3f} "
                  f"{row['v_measure']:>7.3f} {row['test_v_measure']:>6.3f} {row['adjusted_rand']:>6.3f} "
                  f"{row['seconds']:>8.2f}")
        print(classify_check(out, tests))
        if args.docs and minibatch:
            shutil.copyfile(out / "centroids.png", ROOT / "docs" / "cluster-digits-k36.png")
    code = (f"from quantize.vectors import load_vectors; from quantize import kmeans; "
            f"v = load_vectors({str(images)!r}).vectors; "
            f"print(v.nbytes); kmeans(v, 256, seed=0, max_iter={args.max_iter})")
    wall, peak, stdout = timed([sys.executable, "-c", code])
    data_mb = int(stdout.split()[0]) / 2**20
    ratio = peak / data_mb
    print(f"## 2. full k-means, K=256, {args.max_iter} iterations at most: wall {wall:.1f} s, peak RSS "
          f"{peak:.0f} MB, data {data_mb:.0f} MB (float32), ratio {ratio:.2f} "
          f"(target < 4: {'met' if ratio < 4 else 'not met'})")


if __name__ == "__main__":
    main()
