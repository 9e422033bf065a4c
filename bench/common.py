"""Helpers shared by the benchmark scripts."""
from __future__ import annotations

import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from quantize import read_image
from quantize.pipeline import psnr_from_distortion, to_palette
from quantize.core.nearest import nearest_palette

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_images"
OUT = ROOT / "bench" / "output"


def median_time(fn, repeats):
    """Median seconds of ``fn(seed)`` over seeds 0..repeats-1, and the last result."""
    times, value = [], None
    for seed in range(repeats):
        start = time.perf_counter()
        value = fn(seed)
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def palette_psnr(hist, centroids):
    """PSNR of the image of ``hist`` remapped to ``centroids`` rounded to 8 bits."""
    _, sq_dist = nearest_palette(hist.colors, to_palette(centroids))
    return psnr_from_distortion(hist.pixel_mean(sq_dist))


def upscaled_photo(name: str, width: int, height: int, sigma: float, seed: int) -> Path:
    """bench/output/NAME (made once): astronaut.jpg resized to width x height with
    cubic interpolation, plus Gaussian noise: a large photo with millions of colours."""
    path = OUT / name
    if not path.exists():
        OUT.mkdir(parents=True, exist_ok=True)
        small = read_image(SAMPLES / "astronaut.jpg")
        big = cv2.resize(small, (width, height), interpolation=cv2.INTER_CUBIC).astype(np.float32)
        big += np.random.default_rng(seed).normal(0.0, sigma, big.shape).astype(np.float32)
        cv2.imwrite(str(path), cv2.cvtColor(np.clip(big, 0, 255).astype(np.uint8), cv2.COLOR_RGB2BGR))
    return path
