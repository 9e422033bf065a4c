"""Benchmark: `quantize batch` on 200 photo-sized images, --jobs 2 against
--jobs 1, and against pngquant run over the same files with `xargs -P 2`.

The images are generated once into bench/output/batch-in/: random crops of
the sample photos, resized to 640x480 (0.3 MP), with light noise, as PNG (so
pngquant can read them).  Wall times are medians of --repeats runs, each into
a fresh output folder; speed-up = --jobs 1 time / --jobs 2 time.

    python bench/bench_batch.py [--repeats 3] [-k 64] [--count 200]
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
from common import OUT, SAMPLES

from quantize import read_image

PHOTOS = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg", "hubble.jpg", "retina.jpg"]


def make_inputs(count: int) -> Path:
    folder = OUT / f"batch-in-{count}"
    if folder.exists() and len(list(folder.glob("*.png"))) == count:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    photos = [read_image(SAMPLES / name) for name in PHOTOS]
    for i in range(count):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        ch, cw = int(h * rng.uniform(0.6, 1.0)), int(w * rng.uniform(0.6, 1.0))
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = cv2.resize(photo[y : y + ch, x : x + cw], (640, 480), interpolation=cv2.INTER_CUBIC)
        noisy = np.clip(crop + rng.normal(0, 1.5, crop.shape), 0, 255).astype(np.uint8)
        cv2.imwrite(str(folder / f"img{i:03d}.png"), cv2.cvtColor(noisy, cv2.COLOR_RGB2BGR))
    return folder


def wall(command, repeats, out_dir=None, shell=False):
    times = []
    for _ in range(repeats):
        if out_dir is not None:
            shutil.rmtree(out_dir, ignore_errors=True)
            out_dir.mkdir(parents=True)
        start = time.perf_counter()
        subprocess.run(command, check=True, shell=shell, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("-k", type=int, default=64)
    parser.add_argument("--count", type=int, default=200)
    args = parser.parse_args()
    source = make_inputs(args.count)
    out = OUT / "batch-out"
    base = [sys.executable, "-m", "quantize", "batch", str(source), "-k", str(args.k), "-o", str(out),
            "--quiet", "--palette-format", "none"]
    one = wall(base + ["--jobs", "1"], args.repeats, out)
    two = wall(base + ["--jobs", "2"], args.repeats, out)
    print(f"# {args.count} images of 640x480, K={args.k}, {os.cpu_count()} cores, median of {args.repeats}")
    print(f"{'run':<36} {'seconds':>8} {'files/s':>8}")
    print(f"{'quantize batch --jobs 1':<36} {one:>8.2f} {args.count / one:>8.1f}")
    print(f"{'quantize batch --jobs 2':<36} {two:>8.2f} {args.count / two:>8.1f}")
    print(f"speed-up --jobs 2 over --jobs 1: {one / two:.2f}x (target >= 1.7x)")
    if shutil.which("pngquant") is None:
        print("# pngquant is not installed: comparison skipped (apt-get install pngquant)")
        return
    peer_out = OUT / "batch-pngquant"
    command = (f"ls {source}/*.png | xargs -P 2 -I{{}} sh -c "
               f"'pngquant --nofs --speed 4 --force -o {peer_out}/$(basename {{}}) {args.k} {{}}'")
    peer = wall(command, args.repeats, peer_out, shell=True)
    print(f"{'pngquant --nofs --speed 4, xargs -P 2':<36} {peer:>8.2f} {args.count / peer:>8.1f}")
    print(f"pngquant time / quantize --jobs 2 time: {peer / two:.2f}")


if __name__ == "__main__":
    main()
