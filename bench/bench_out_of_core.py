"""Benchmark: mini-batch k-means on a .npy larger than 2 GB, read through a
memory map: the process's peak anonymous memory against the file's size.

Writes BIG.npy (--rows x 784 float32, 700,000 rows = 2.2 GB) into a temporary
folder under /tmp, a block at a time with ``np.lib.format.open_memmap``: the
generated digits of bench/bench_vectors_core.py (60,000, cached), each block a
fresh permutation of them plus Gaussian noise (sigma 0.05), clipped to [0, 1].  Then runs, each in
a subprocess under ``/usr/bin/time -v``:

- ``cli``: ``python -m quantize cluster BIG.npy -k K --minibatch -o OUT --force -q``;
- ``core``: ``minibatch_kmeans(np.load(BIG, mmap_mode="r"), K, batch_size=1024,
  seed=0)`` then ``nearest_centroid`` over the map (what the cluster command
  does with a .npy once it maps it), printing the distortion and the steps;

sampling ``RssAnon`` of the Python process from /proc/PID/status every 50 ms.
It prints the file's size, the peak RssAnon, its ratio to the file's size
(the goal: under 25 %), the wall time and time's "Maximum resident set size"
(which counts the file's pages read through the map too).  The folder is
deleted at the end (--keep keeps it).

    python bench/bench_out_of_core.py [--rows 700000] [--k 64] [--modes core,cli] [--keep]
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_vectors_core import digit_vectors  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
GOAL = 0.25
CORE = """
import sys, time
import numpy as np
from quantize.core import minibatch_kmeans, nearest_centroid
X = np.load(sys.argv[1], mmap_mode="r")
start = time.perf_counter()
fit = minibatch_kmeans(X, int(sys.argv[2]), batch_size=1024, seed=0)
labels, sq = nearest_centroid(X, fit.centroids)
print(f"distortion {fit.distortion:.4f} steps {fit.n_iter} labels agree {bool((labels == fit.labels).all())} "
      f"fit+label {time.perf_counter() - start:.1f} s")
"""


def write_big(path: Path, rows: int, seed: int = 0) -> None:
    """``rows x 784`` float32 digits plus noise, written a block of 60,000 at a time."""
    digits, _ = digit_vectors(60000)
    rng = np.random.default_rng(seed)
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(rows, digits.shape[1]))
    for start in range(0, rows, len(digits)):
        stop = min(rows, start + len(digits))
        block = digits[rng.permutation(len(digits))[: stop - start]]
        block += rng.normal(0.0, 0.05, block.shape).astype(np.float32)
        out[start:stop] = np.clip(block, 0.0, 1.0, out=block)
    out.flush()
    del out


def rss_anon(pid: int) -> int | None:
    """RssAnon of ``pid`` in bytes, None once it is gone."""
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    found = re.search(r"^RssAnon:\s+(\d+) kB", text, re.M)
    return None if found is None else int(found.group(1)) * 1024


def child_of(pid: int) -> int | None:
    """The first child process of ``pid`` (the Python under /usr/bin/time)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def measured(command: list[str], cwd: Path) -> dict:
    """Run ``command`` under /usr/bin/time -v, sampling the RssAnon of its
    Python process every 50 ms: peak RssAnon, wall seconds, time's max RSS,
    the exit code and the last line of its output."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    process = subprocess.Popen(["/usr/bin/time", "-v", *command], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=env, cwd=cwd)
    peak, python = 0, None
    while process.poll() is None:
        python = python or child_of(process.pid)
        value = rss_anon(python) if python else None
        if value is not None:
            peak = max(peak, value)
        time.sleep(0.05)
    wall = time.perf_counter() - start
    out, err = process.communicate()
    found = re.search(r"Maximum resident set size \(kbytes\): (\d+)", err)
    # The output's last line; on failure the first line of the errors
    lines = out.splitlines()[-1:] if process.returncode == 0 else err.splitlines()[:1]
    lines = [line for line in lines if line.strip()]
    return {"peak": peak, "wall": wall, "max_rss": int(found.group(1)) * 1024 if found else 0,
            "code": process.returncode, "note": lines[-1] if lines else ""}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=700_000)
    parser.add_argument("--k", type=int, default=64)
    parser.add_argument("--modes", default="core,cli", help="core, cli or both (comma-separated)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp(prefix="quantize-out-of-core-", dir="/tmp"))
    try:
        big = folder / "BIG.npy"
        started = time.perf_counter()
        write_big(big, args.rows)
        size = big.stat().st_size
        print(f"# {big.name}: {args.rows:,} x 784 float32, {size / 1e9:.2f} GB, written in "
              f"{time.perf_counter() - started:.0f} s; K = {args.k}, batch 1024, seed 0; RssAnon sampled every 50 ms")
        print(f"{'mode':<5} {'file GB':>7} {'peak RssAnon MB':>15} {'ratio':>6} {'goal':>5} {'wall s':>6} "
              f"{'time max RSS MB':>15}  exit  output")
        for mode in args.modes.split(","):
            if mode == "core":
                command = [sys.executable, "-c", CORE, str(big), str(args.k)]
            else:
                command = [sys.executable, "-m", "quantize", "cluster", str(big), "-k", str(args.k), "--minibatch",
                           "-o", str(folder / "clusters"), "--force", "-q"]
            m = measured(command, folder)  # (not /tmp: python -m puts the folder first on sys.path)
            ratio = m["peak"] / size
            print(f"{mode:<5} {size / 1e9:>7.2f} {m['peak'] / 1e6:>15.0f} {ratio:>6.1%} "
                  f"{'met' if ratio < GOAL and m['code'] == 0 else 'no':>5} {m['wall']:>6.1f} "
                  f"{m['max_rss'] / 1e6:>15.0f}  {m['code']:>4}  {m['note'][:100]}", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
