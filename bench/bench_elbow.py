"""Benchmark: the elbow sweep K=1..16 against one K=16 run, on a 12 MP photo.

The photo is generated (astronaut upscaled to 4243x2828 with cubic
interpolation, plus Gaussian noise, sigma 2).  In process: histogram + sweep
against ``quantize_image(k=16)`` (which builds its own histogram).  Whole
process: ``quantize elbow`` (with its report and plot) against ``quantize -k 16``.
Medians of --repeats runs; the target is a ratio of at most 3.

    python bench/bench_elbow.py [--repeats 3]
"""
from __future__ import annotations

import argparse
import subprocess
import sys

from common import OUT, median_time, upscaled_photo

from quantize import KMeansOptions, quantize_image, read_image
from quantize.elbow import sweep
from quantize.histogram import color_histogram

QUANTIZE = [sys.executable, "-m", "quantize"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    path = upscaled_photo("photo-12mp.png", 4243, 2828, sigma=2.0, seed=1)
    image = read_image(path)
    ks = list(range(1, 17))
    one, _ = median_time(lambda _: quantize_image(image, 16, KMeansOptions(seed=0)), args.repeats)
    both, _ = median_time(lambda _: sweep(color_histogram(image), ks, KMeansOptions(seed=0)), args.repeats)
    run = lambda *a: subprocess.run(QUANTIZE + [str(x) for x in a], check=True, stdout=subprocess.DEVNULL)
    one_cli, _ = median_time(lambda _: run(path, "-k", 16, "-o", OUT / "photo-12mp-k16.png", "--no-palette",
                                         "--quiet", "--force"), args.repeats)
    sweep_cli, _ = median_time(lambda _: run("elbow", path, "-o", OUT / "photo-12mp-elbow", "--quiet",
                                           "--force"), args.repeats)
    print(f"# 12 MP photo ({image.shape[1]}x{image.shape[0]}, {len(color_histogram(image).colors):,} colours), "
          f"median of {args.repeats}")
    print(f"{'what':<34} {'sweep s':>8} {'K=16 s':>8} {'ratio':>6}")
    print(f"{'in process (histogram + k-means)':<34} {both:>8.2f} {one:>8.2f} {both / one:>6.2f}")
    print(f"{'whole command':<34} {sweep_cli:>8.2f} {one_cli:>8.2f} {sweep_cli / one_cli:>6.2f}")


if __name__ == "__main__":
    main()
