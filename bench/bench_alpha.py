"""RGBA images: our palette PNG with tRNS against pngquant --nofs on the same files.

For each RGBA sample image (the anti-aliased logo and the soft-edged badge) and
K: the file size, the mean absolute alpha error over all pixels and over the
edge (pixels neither transparent nor opaque), and whether every fully
transparent pixel stayed fully transparent.  Whole processes, K as given.
Sizes and errors do not depend on the machine; the times are medians of
--repeats runs, ratio = pngquant time / ours.
"""
from __future__ import annotations

import argparse
import platform
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from common import OUT, SAMPLES

from quantize import read_image

IMAGES = ["logo-rgba.png", "badge-rgba.png"]
QUANTIZE = Path(sys.executable).with_name("quantize")


def timed(command, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def alpha_errors(source, path):
    was, now = source[:, :, 3].astype(int), read_image(path)[:, :, 3].astype(int)
    edge = (was > 0) & (was < 255)
    return np.abs(now - was).mean(), np.abs(now - was)[edge].mean(), bool((now[was == 0] == 0).all())


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ks", default="4,8,16,64")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    have_pngquant = shutil.which("pngquant") is not None
    print(f"# {platform.machine()}, Python {platform.python_version()}, median of {args.repeats}; "
          f"alpha error: mean |output alpha - input alpha|, all pixels / edge pixels")
    if not have_pngquant:
        print("# pngquant is not installed: its rows are skipped (apt-get install pngquant)")
    print(f"{'image':15} {'K':>3} {'tool':9} {'bytes':>7} {'alpha err':>9} {'edge err':>8} "
          f"{'clear kept':>10} {'seconds':>8} {'ratio':>6}")
    for name in IMAGES:
        source = read_image(SAMPLES / name)
        for k in map(int, args.ks.split(",")):
            ours = OUT / f"alpha-{k}-{name}"
            ours_s = timed([str(QUANTIZE), str(SAMPLES / name), "-k", str(k), "-o", str(ours), "--no-palette",
                            "--force", "--quiet"], args.repeats)
            rows = [("quantize", ours, ours_s)]
            if have_pngquant:
                theirs = OUT / f"alpha-{k}-pngquant-{name}"
                theirs_s = timed(["pngquant", "--nofs", "--force", "--output", str(theirs), str(k),
                                  str(SAMPLES / name)], args.repeats)
                rows.append(("pngquant", theirs, theirs_s))
            for tool, path, seconds in rows:
                error, edge, kept = alpha_errors(source, path)
                ratio = f"{rows[1][2] / ours_s:6.2f}" if tool == "quantize" and len(rows) > 1 else ""
                print(f"{name:15} {k:>3} {tool:9} {path.stat().st_size:>7,} {error:>9.2f} {edge:>8.1f} "
                      f"{'yes' if kept else 'no':>10} {seconds:>8.3f} {ratio:>6}")


if __name__ == "__main__":
    main()
