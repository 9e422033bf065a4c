"""quantize cluster on 60,000 generated 28x28 digits: accuracy against K, and memory.

1. The whole command, ``quantize cluster train-images-idx3-ubyte.gz -k 36
   --ks 10,16,36,64,144,256 --minibatch`` (and, with --full, without
   --minibatch), under ``/usr/bin/time -v``: per K the inertia, the accuracy
   after mapping each cluster to its majority label, V-measure, adjusted Rand
   index and seconds, as ``quantize cluster`` prints them; wall time and peak
   RSS of the process.  With --docs the K=36 centroid grid is copied to
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
KS = "10,16,36,64,144,256"


def timed(command):
    """(wall seconds, peak RSS MB, stdout) of a command under /usr/bin/time -v."""
    start = time.perf_counter()
    proc = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"failed: {' '.join(command)}\n{proc.stderr}")
    peak = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024
    return wall, peak, proc.stdout


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=60000)
    parser.add_argument("--full", action="store_true", help="also the sweep with full k-means")
    parser.add_argument("--max-iter", type=int, default=20, help="iterations of the memory run (part 2)")
    parser.add_argument("--docs", action="store_true", help="copy the K=36 centroid grid into docs/")
    args = parser.parse_args()
    folder = OUT / f"digits-{args.count}"
    images = folder / "train-images-idx3-ubyte.gz"
    if not images.exists():
        make_digits.main(["--count", str(args.count), "--test-count", "0", "--out", str(folder)])
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
        print(f"{'K':>4} {'inertia':>10} {'accuracy':>8} {'V-meas.':>7} {'ARI':>6} {'seconds':>8}")
        for row in report["metrics"]:
            print(f"{row['k']:>4} {row['inertia']:>10.0f} {row['accuracy']:>8.3f} {row['v_measure']:>7.3f} "
                  f"{row['adjusted_rand']:>6.3f} {row['seconds']:>8.2f}")
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
