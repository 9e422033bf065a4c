"""Speed and quality of quantize against its peers, in one run, one table.

Three parts, each a block of rows of one table:

1. in-process, on each sample photo: ``quantize_image`` (histogram, k-means,
   remap) against scikit-learn ``KMeans(n_init=1)`` fitted on the same weighted
   unique colours (its fastest exact use; only the fit is timed), and OpenCV's
   ``cv2.kmeans`` (k-means++ start, 1 attempt, on the pixels: it takes no
   weights) on two photos for reference;
2. whole process against ``pngquant --nofs --speed 4 K``: wall time of each
   command on a PNG copy of each photo, PSNR of the file each writes
   (pngquant comes from Debian's package: ``apt-get install pngquant``; the
   part is skipped with a message when it is missing);
3. a 24 MP image the benchmark generates (astronaut upscaled to 6000x4000 with
   cubic interpolation, plus Gaussian noise, sigma 3: about 1.6 million unique
   colours), ``quantize -k 256`` under ``/usr/bin/time -v``: wall time and peak
   resident memory.

Times are medians of --repeats runs (seeds 0, 1, ...); ratio = peer time / our
time, so above 1 means we are faster.  PSNR in dB over R, G and B.

    python bench/bench_speed.py [--repeats 3] [--ks 16,64,256] [--parts 1,2,3]
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from common import OUT, SAMPLES, median_time, palette_psnr, upscaled_photo
from sklearn.cluster import KMeans

from quantize import KMeansOptions, quantize_image, read_image
from quantize.histogram import color_histogram
PHOTOS = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg", "hubble.jpg", "retina.jpg"]
OPENCV_PHOTOS = PHOTOS[:2]
QUANTIZE = [sys.executable, "-m", "quantize"]
HEADER = f"{'image':<16} {'K':>4} {'peer':<12} {'ours s':>8} {'peer s':>8} {'ratio':>6} {'ours dB':>8} {'peer dB':>8}"


def row(image, k, peer, ours_s, peer_s, ours_db, peer_db, extra=""):
    print(f"{image:<16} {k:>4} {peer:<12} {ours_s:>8.3f} {peer_s:>8.3f} {peer_s / ours_s:>6.2f} "
          f"{ours_db:>8.2f} {peer_db:>8.2f}{extra}", flush=True)


def file_psnr(original, path):
    a = original.astype(np.float64)
    b = read_image(path)[:, :, :3].astype(np.float64)
    return 10 * np.log10(255.0**2 / ((a - b) ** 2).mean())


def part_in_process(ks, repeats, summary):
    for name in PHOTOS:
        image = read_image(SAMPLES / name)
        hist = color_histogram(image)
        colors = hist.colors.astype(np.float64)
        for k in ks:
            ours_s, ours = median_time(lambda s: quantize_image(image, k, KMeansOptions(seed=s)), repeats)
            peer_s, peer = median_time(
                lambda s: KMeans(k, n_init=1, random_state=s).fit(colors, sample_weight=hist.counts), repeats)
            peer_db = palette_psnr(hist, peer.cluster_centers_)
            row(name, k, "sklearn", ours_s, peer_s, ours.psnr, peer_db)
            summary.setdefault(("sklearn", k), []).append((peer_s / ours_s, ours.psnr - peer_db))
            if name in OPENCV_PHOTOS:
                pixels = image.reshape(-1, 3).astype(np.float32)
                criteria = (cv2.TERM_CRITERIA_EPS + cv2.TERM_CRITERIA_MAX_ITER, 300, 0.01)
                cv2.setRNGSeed(0)
                start = time.perf_counter()
                _, _, centers = cv2.kmeans(pixels, k, None, criteria, 1, cv2.KMEANS_PP_CENTERS)
                cv_s = time.perf_counter() - start
                cv_db = palette_psnr(hist, centers)
                row(name, k, "cv2.kmeans", ours_s, cv_s, ours.psnr, cv_db, "  (1 run)")
                summary.setdefault(("cv2.kmeans", k), []).append((cv_s / ours_s, ours.psnr - cv_db))


def wall(command, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def part_pngquant(ks, repeats, summary):
    if shutil.which("pngquant") is None:
        print("# pngquant is not installed: part 2 skipped (apt-get install pngquant)")
        return
    OUT.mkdir(parents=True, exist_ok=True)
    for name in PHOTOS:
        image = read_image(SAMPLES / name)
        source = OUT / (Path(name).stem + ".png")
        cv2.imwrite(str(source), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
        for k in ks:
            ours_out, peer_out = OUT / f"{source.stem}-q{k}.png", OUT / f"{source.stem}-pq{k}.png"
            ours_s = wall(QUANTIZE + [str(source), "-k", str(k), "-o", str(ours_out),
                                      "--no-palette", "--quiet", "--force"], repeats)
            peer_s = wall(["pngquant", "--nofs", "--speed", "4", "--force", "-o", str(peer_out),
                           str(k), str(source)], repeats)
            ours_db, peer_db = file_psnr(image, ours_out), file_psnr(image, peer_out)
            extra = f"  bytes {ours_out.stat().st_size:,} vs {peer_out.stat().st_size:,}"
            row(name, k, "pngquant", ours_s, peer_s, ours_db, peer_db, extra)
            summary.setdefault(("pngquant", k), []).append((peer_s / ours_s, ours_db - peer_db))


def part_large(repeats):
    path = upscaled_photo("large-24mp.png", 6000, 4000, sigma=3.0, seed=0)
    walls, peaks = [], []
    for _ in range(repeats):
        proc = subprocess.run(
            ["/usr/bin/time", "-v"] + QUANTIZE + [str(path), "-k", "256", "-o", str(OUT / "large-q256.png"),
                                                  "--no-palette", "--quiet", "--force"],
            check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        clock = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
        h, m, s = clock.groups()
        walls.append(int(h or 0) * 3600 + int(m) * 60 + float(s))
        peaks.append(int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1)) / 1024)
    image = read_image(path)
    print(f"# 24 MP ({image.shape[1]}x{image.shape[0]}, {len(color_histogram(image).colors):,} colours), "
          f"K=256, whole process: median wall {statistics.median(walls):.2f} s "
          f"(runs {', '.join(f'{w:.2f}' for w in walls)}), peak RSS {max(peaks):.0f} MB, "
          f"PSNR {file_psnr(image, OUT / 'large-q256.png'):.2f} dB")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ks", default="16,64,256")
    parser.add_argument("--parts", default="1,2,3")
    args = parser.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    parts = {int(p) for p in args.parts.split(",")}
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, median of {args.repeats}; ratio = peer time / our time")
    print(HEADER)
    summary = {}
    if 1 in parts:
        part_in_process(ks, args.repeats, summary)
    if 2 in parts:
        part_pngquant(ks, args.repeats, summary)
    for (peer, k), values in summary.items():
        ratios, diffs = zip(*values)
        print(f"{'median / mean':<16} {k:>4} {peer:<12} {'':>8} {'':>8} {statistics.median(ratios):>6.2f} "
              f"{'dB diff':>8} {statistics.mean(diffs):>+8.2f}")
    if 3 in parts:
        part_large(args.repeats)


if __name__ == "__main__":
    main()
