"""Dithering: quality against pngquant, and time against the undithered run.

Three parts:

1. quality, on a generated 512x256 RGB gradient and the sample photos at
   K = 16 and 64: our "none", "floyd-steinberg" and "ordered" (the palette of
   ``fit_palette(image, K, KMeansOptions(seed=0))``, then
   ``quantize.dither.dither`` on float32 RGB) against ``pngquant K`` with its
   default dithering and ``pngquant --nofs K`` (Debian's ``pngquant``; its rows
   are skipped with a message when it is missing).  "blur dB" is the PSNR after
   a Gaussian blur of sigma 1 on both images (roughly what the eye sees from a
   distance: dithering should raise it), "plain dB" the PSNR as it is
   (dithering lowers it);
2. time, in process, on a 768x512 photo (chelsea.jpg resized with cubic
   interpolation) at K = 256: each method's whole dithering step (float32
   conversion and :func:`quantize.dither.dither`) against the undithered
   ``quantize_image`` (histogram, k-means, remap); then Floyd-Steinberg on the
   12 MP photo of bench_elbow.py (astronaut upscaled to 4243x2828, plus noise);
3. with ``--figure``: docs/dither-crop.png, a 200x150 crop of rocket.jpg (sky
   gradient, rocket and tower) at K = 16, none | floyd-steinberg | ordered,
   each upscaled 2x with nearest-neighbour so the pattern shows.

Times are medians of --repeats runs (seeds 0, 1, ...); ratio = dithering time /
undithered quantize_image time, so below 1 means dithering costs less than the
whole undithered run.

    python bench/bench_dither.py [--repeats 3] [--parts 1,2] [--figure]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
from pathlib import Path

import cv2
import numpy as np
from common import OUT, ROOT, SAMPLES, median_time, upscaled_photo

from quantize import KMeansOptions, fit_palette, quantize_image, read_image
from quantize.imageio import encode_quantized
from quantize.dither import dither

PHOTOS = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "hubble.jpg", "retina.jpg", "rocket.jpg"]
KS = (16, 64)
METHODS = ("none", "floyd-steinberg", "ordered")
FIGURE = ROOT / "docs" / "dither-crop.png"
CROP = (slice(150, 300), slice(220, 420))  # rows, columns of rocket.jpg: 200x150


def gradient(width: int = 512, height: int = 256) -> np.ndarray:
    """A smooth RGB gradient ``(height, width, 3) uint8``: red left to right,
    green top to bottom, blue along the diagonal."""
    x = np.linspace(0.0, 1.0, width)[None, :]
    y = np.linspace(0.0, 1.0, height)[:, None]
    rgb = np.stack(np.broadcast_arrays(x, y, 1.0 - (x + y) / 2), axis=-1)
    return np.rint(255 * rgb).astype(np.uint8)


def psnr(a, b) -> float:
    mse = float(((a.astype(np.float64) - b.astype(np.float64)) ** 2).mean())
    return float("inf") if mse == 0 else 10 * np.log10(255.0**2 / mse)


def blur(image) -> np.ndarray:
    return cv2.GaussianBlur(image.astype(np.float32), (0, 0), 1.0)


def ours(image, k) -> list[tuple[str, np.ndarray, int]]:
    """Each method's output image, ``(h, w, 3) float32``, with one palette, and
    the bytes of its palette PNG."""
    colors = fit_palette(image, k, KMeansOptions(seed=0)).colors
    palette, points = colors.astype(np.float32), image.astype(np.float32)
    outputs = []
    for method in METHODS:
        indices = dither(points, palette, method)
        outputs.append((method, palette[indices], len(encode_quantized(".png", indices, colors))))
    return outputs


def pngquant(image, name, k, nofs) -> np.ndarray:
    source = OUT / f"dither-{name}.png"
    if not source.exists():
        cv2.imwrite(str(source), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    target = OUT / f"dither-{name}-pq{k}{'-nofs' if nofs else ''}.png"
    command = ["pngquant", "--force", "--output", str(target)] + (["--nofs"] if nofs else [])
    command += [str(k), str(source)]
    subprocess.run(command, check=True)
    return cv2.cvtColor(cv2.imread(str(target), cv2.IMREAD_COLOR), cv2.COLOR_BGR2RGB), target.stat().st_size


def part_quality():
    OUT.mkdir(parents=True, exist_ok=True)
    have_pngquant = shutil.which("pngquant") is not None
    if not have_pngquant:
        print("# pngquant is not installed: its rows are skipped (apt-get install pngquant)")
    images = [("gradient", gradient())] + [(Path(n).stem, read_image(SAMPLES / n)) for n in PHOTOS]
    print(f"{'image':<12} {'K':>4} {'method':<17} {'blur dB':>8} {'plain dB':>8} {'bytes':>8}")
    summary = {}
    for name, image in images:
        sharp = blur(image)
        for k in KS:
            outputs = ours(image, k)
            if have_pngquant:
                outputs += [("pngquant", *pngquant(image, name, k, nofs=False)),
                            ("pngquant --nofs", *pngquant(image, name, k, nofs=True))]
            for method, output, size in outputs:
                blurred, plain = psnr(sharp, blur(output)), psnr(image, output)
                print(f"{name:<12} {k:>4} {method:<17} {blurred:>8.2f} {plain:>8.2f} {size:>8,}", flush=True)
                if name != "gradient":
                    summary.setdefault((k, method), []).append((blurred, plain, size))
    for (k, method), values in summary.items():
        blurred, plain, size = zip(*values)
        print(f"{'photo mean':<12} {k:>4} {method:<17} {statistics.mean(blurred):>8.2f} "
              f"{statistics.mean(plain):>8.2f} {statistics.mean(size):>8,.0f}")


def part_time(repeats):
    small = read_image(SAMPLES / "chelsea.jpg")
    image = cv2.resize(small, (768, 512), interpolation=cv2.INTER_CUBIC)
    palette = fit_palette(image, 256, KMeansOptions(seed=0)).colors.astype(np.float32)
    base, _ = median_time(lambda s: quantize_image(image, 256, KMeansOptions(seed=s)), repeats)
    print(f"# 768x512 (chelsea.jpg resized), K=256: undithered quantize_image {base:.3f} s")
    print(f"{'method':<17} {'s':>8} {'ratio':>6}")
    for method in METHODS:
        took, _ = median_time(lambda _: dither(image.astype(np.float32), palette, method), repeats)
        print(f"{method:<17} {took:>8.3f} {took / base:>6.2f}", flush=True)
    big = read_image(upscaled_photo("photo-12mp.png", 4243, 2828, sigma=2.0, seed=1))
    palette = fit_palette(big, 256, KMeansOptions(seed=0)).colors.astype(np.float32)
    base, _ = median_time(lambda s: quantize_image(big, 256, KMeansOptions(seed=s)), repeats)
    took, _ = median_time(lambda _: dither(big.astype(np.float32), palette, "floyd-steinberg"), repeats)
    print(f"# 12 MP ({big.shape[1]}x{big.shape[0]}), K=256: floyd-steinberg {took:.2f} s, "
          f"undithered quantize_image {base:.2f} s, ratio {took / base:.2f}")


def figure():
    image = read_image(SAMPLES / "rocket.jpg")
    panels = []
    for method, output in ours(image, 16):
        crop = output[CROP].astype(np.uint8)
        big = cv2.resize(crop, None, fx=2, fy=2, interpolation=cv2.INTER_NEAREST)
        label = np.full((28, big.shape[1], 3), 255, np.uint8)
        cv2.putText(label, method, (8, 20), cv2.FONT_HERSHEY_SIMPLEX, 0.6, (0, 0, 0), 1, cv2.LINE_AA)
        panels.append(np.vstack([label, big]))
        panels.append(np.full((panels[-1].shape[0], 6, 3), 255, np.uint8))
    sheet = np.hstack(panels[:-1])
    FIGURE.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(FIGURE), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    print(f"# wrote {FIGURE.relative_to(ROOT)} ({sheet.shape[1]}x{sheet.shape[0]}): rocket.jpg "
          f"rows {CROP[0].start}-{CROP[0].stop}, columns {CROP[1].start}-{CROP[1].stop}, K=16, 2x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--parts", default="1,2")
    parser.add_argument("--figure", action="store_true", help="also write docs/dither-crop.png")
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",") if p}
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, OpenCV {cv2.__version__}, median of {args.repeats}")
    if 1 in parts:
        part_quality()
    if 2 in parts:
        part_time(args.repeats)
    if args.figure:
        figure()


if __name__ == "__main__":
    main()
