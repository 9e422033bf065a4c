"""Quality targets: our pngquant-scale quality against pngquant's own, and --quality against pngquant --quality.

1. The scale.  Seven sample photos made 768x512, pngquant --nofs --verbose at
   K = 4..256: the quality pngquant prints for its result, and the quality
   ``quantize.metrics.quality`` gives the same result (libimagequant's colour
   difference averaged over every pixel; pngquant averages over its histogram
   with importance weights).
2. The target.  Four photos, ``quantize PHOTO -k 256 --quality MIN-MAX`` and
   ``pngquant --quality MIN-MAX --nofs --speed 4``, both as whole processes
   (median wall time of --repeats runs): colours chosen, quality of the result
   by our measure, bytes; the time ratio ours / pngquant, and ours against our
   own plain ``-k 256`` run (what the search over K costs).
3. The fits the search takes, in process, for four targets on the four photos.
4. What the scores every result carries cost (on the histogram).

    python bench/bench_quality.py [--repeats 3] [--parts 1234]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from bench_targets import SINGLE, fit, save
from common import OUT, SAMPLES

from quantize import read_image
from quantize.metrics import quality

SCALE_PHOTOS = [*SINGLE, "hubble.jpg", "retina.jpg", "camera.png"]
SCALE_KS = [4, 8, 16, 32, 64, 128, 256]
TARGETS = ["50-70", "65-80", "80-90"]
CLI = [sys.executable, "-m", "quantize"]


def source_of(name: str) -> Path:
    path = OUT / f"targets-{Path(name).stem}-768x512.png"
    if not path.exists():
        save(fit(read_image(SAMPLES / name)[:, :, :3]), path)
    return path


def wall(command, repeats):
    """Median wall seconds of ``command`` and its last completed process."""
    times, done = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times), done


def scale():
    print("## 1. the scale: pngquant --nofs's printed quality against ours on the same result")
    diffs = []
    print(f"{'photo':<14} " + " ".join(f"{'K=' + str(k):>9}" for k in SCALE_KS) + "   (pngquant/ours)")
    for name in SCALE_PHOTOS:
        source = source_of(name)
        image = read_image(source)[:, :, :3]
        cells = []
        for k in SCALE_KS:
            target = OUT / f"quality-scale-{source.stem}-{k}.png"
            done = subprocess.run(["pngquant", str(k), "--nofs", "--verbose", "--force", "--output", str(target),
                                   str(source)], capture_output=True, text=True, check=True)
            theirs = int(re.search(r"\(Q=(\d+)\)", done.stderr).group(1))
            ours = quality(image, read_image(target)[:, :, :3])
            diffs.append(ours - theirs)
            cells.append(f"{theirs:>4}/{ours:<4}")
        print(f"{Path(name).stem:<14} " + " ".join(cells))
    absolute = np.abs(diffs)
    print(f"ours - pngquant's over {len(diffs)} results: median {np.median(diffs):+.0f}, mean {np.mean(diffs):+.2f}, "
          f"|diff| <= 3 in {np.mean(absolute <= 3):.0%}, largest |diff| {absolute.max()}")


def targets(repeats):
    print(f"\n## 2. --quality MIN-MAX with -k 256 (ours) and pngquant --quality --nofs --speed 4; "
          f"median wall of {repeats}; quality by our measure")
    print(f"{'photo':<10} {'target':>6} | {'ours K':>6} {'Q':>3} {'bytes':>8} {'s':>5} | "
          f"{'pq K':>5} {'Q':>3} {'bytes':>8} {'s':>5} | {'ours/pq':>7} {'vs -k 256':>9}")
    ratios, costs = {t: [] for t in TARGETS}, {t: [] for t in TARGETS}
    for name in SINGLE:
        source = source_of(name)
        image = read_image(source)[:, :, :3]
        plain_out = OUT / f"quality-plain-{source.stem}.png"
        plain_s, _ = wall([*CLI, str(source), "-k", "256", "-o", str(plain_out), "--no-palette", "--force",
                           "--seed", "0"], repeats)
        for t in TARGETS:
            ours_out, pq_out = OUT / f"quality-ours-{source.stem}-{t}.png", OUT / f"quality-pq-{source.stem}-{t}.png"
            ours_s, done = wall([*CLI, str(source), "-k", "256", "--quality", t, "-o", str(ours_out),
                                 "--no-palette", "--force", "--seed", "0", "--json"], repeats)
            if done.returncode == 0:
                row = json.loads(done.stdout)
                ours = f"{row['colors']:>6} {row['quality']:>3} {row['bytes_out']:>8,} {ours_s:>5.2f}"
            else:
                ours = f"{'exit ' + str(done.returncode):>19} {ours_s:>5.2f}"
            pq_s, done = wall(["pngquant", "--quality", t, "--nofs", "--speed", "4", "--force", "--output",
                               str(pq_out), str(source)], repeats)
            if done.returncode == 0:
                picture = read_image(pq_out)[:, :, :3]
                colours = len(np.unique(picture.reshape(-1, 3), axis=0))
                theirs = f"{colours:>5} {quality(image, picture):>3} {pq_out.stat().st_size:>8,} {pq_s:>5.2f}"
            else:
                theirs = f"{'exit ' + str(done.returncode):>18} {pq_s:>5.2f}"
            ratios[t].append(ours_s / pq_s)
            costs[t].append(ours_s / plain_s)
            print(f"{source.stem.split('-')[1]:<10} {t:>6} | {ours} | {theirs} | {ours_s / pq_s:>7.2f} "
                  f"{ours_s / plain_s:>9.2f}", flush=True)
    for t in TARGETS:
        print(f"target {t}: time ours/pngquant median {statistics.median(ratios[t]):.2f}; "
              f"--quality / plain -k 256 median {statistics.median(costs[t]):.2f}")


def fits():
    """How many k-means fits the search takes, in process (fit_palette counted)."""
    import quantize.pipeline as pipeline
    from quantize.histogram import color_histogram
    from quantize.pipeline import quality_search

    counted, real = [], quality_search.fit_palette

    def counting(hist, k, options=None, **kw):
        counted.append(k)
        return real(hist, k, options, **kw)

    quality_search.fit_palette = counting
    totals = []
    print("\n## 3. fits the search takes (-k 256, seed 0): the K of each fit, in order")
    try:
        for name in SINGLE:
            hist = color_histogram(read_image(source_of(name)))
            for target in (50, 70, 80, 90):
                counted.clear()
                found = pipeline.fit_to_quality(hist, 256, target, pipeline.KMeansOptions(seed=0))
                totals.append(len(counted))
                print(f"{Path(name).stem:<10} target {target}: K {len(found.colors):>3}, quality {found.quality:>3}; "
                      f"fits {counted}")
    finally:
        quality_search.fit_palette = real
    print(f"mean fits per search: {np.mean(totals):.1f} (a bisection over 1..256 takes 9)")


def score_cost(repeats):
    """What the quality and Oklab distance every result carries cost: scored on
    the histogram (as apply_palette does without dithering), median of runs."""
    from common import upscaled_photo

    import quantize.pipeline as pipeline
    from quantize.histogram import color_histogram

    print(f"\n## 4. the cost of the scores every result carries (quality, Oklab distance), K=256, median of {repeats}")
    sources = [source_of(name) for name in SINGLE] + [upscaled_photo("large-24mp.png", 6000, 4000, sigma=3.0, seed=0)]
    for source in sources:
        image = read_image(source)
        hist = color_histogram(image)
        palette = pipeline.fit_palette(hist, 256, pipeline.KMeansOptions(seed=0)).colors
        labels, _ = pipeline.WorkingSpace("rgb").nearest(hist.colors, palette)
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            pipeline.apply._scores(hist.colors, labels, hist.counts, palette)
            times.append(time.perf_counter() - start)
        print(f"{source.stem:<28} {image.shape[1]}x{image.shape[0]}, {len(hist.colors):>9,} colours: "
              f"{1000 * statistics.median(times):6.1f} ms")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", default="1234", help="which parts to run, e.g. 2 or 23")
    args = parser.parse_args()
    if shutil.which("pngquant") is None:
        print("pngquant not installed: nothing to compare (apt install pngquant)")
        return
    version = subprocess.run(["pngquant", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, Python "
          f"{platform.python_version()}, pngquant {version}; photos 768x512")
    OUT.mkdir(parents=True, exist_ok=True)
    if "1" in args.parts:
        scale()
    if "2" in args.parts:
        targets(args.repeats)
    if "3" in args.parts:
        fits()
    if "4" in args.parts:
        score_cost(max(args.repeats, 5))


if __name__ == "__main__":
    main()
