"""Colour spaces: quantize --space rgb / oklab / lab against pngquant, by eye-minded scores.

Four sample photos made 768x512 (as bench_targets.py part 1), K = 16, 64, 256.
Ours in process (``quantize_image``, median time of --repeats runs, seed 0;
the time ratio is against ``--space rgb`` in the same run); pngquant
``--nofs --speed 4`` and pngquant with its default dithering as whole
processes (their time is not comparable and is not shown).  Scores of each
result against its photo (``quantize.metrics``): PSNR (RGB), mean Oklab
distance (x100), mean CIEDE2000, and the DSSIM-like score (0 = identical);
bytes of the palette PNG.  Means over the photos.

With --docs, docs/space-crop-k16.png: a crop of one photo at K = 16 in each
space (and the original), titled with its scores.

    python bench/bench_spaces.py [--repeats 3] [--docs]
"""
from __future__ import annotations

import argparse
import os
import platform
import shutil
import statistics
import subprocess
import time

import numpy as np
from bench_targets import SINGLE, fit, save
from common import OUT, SAMPLES

from quantize import read_image
from quantize.imageio import encode_quantized
from quantize.metrics import delta_e_2000, delta_e_ok, dssim
from quantize.pipeline import KMeansOptions, quantize_image

KS = [16, 64, 256]
SPACES = ["rgb", "oklab", "lab"]


def scores(image, picture, size):
    mse = np.square(image.astype(np.float64) - picture).mean()
    psnr = 10 * np.log10(255.0**2 / mse) if mse else float("inf")
    return {"psnr": psnr, "de_ok": 100 * delta_e_ok(image, picture), "de00": delta_e_2000(image, picture),
            "dssim": dssim(image, picture), "bytes": size}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--docs", action="store_true", help="write docs/space-crop-k16.png")
    args = parser.parse_args()
    if args.docs:
        crop_figure()
    have_pngquant = shutil.which("pngquant") is not None
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, Python "
          f"{platform.python_version()}; {len(SINGLE)} photos 768x512, means; time: median of {args.repeats}, "
          f"ratio to --space rgb" + ("" if have_pngquant else "; pngquant not installed: its rows skipped"))
    OUT.mkdir(parents=True, exist_ok=True)
    rows = {}
    for name in SINGLE:
        source = OUT / f"targets-{name.split('.')[0]}-768x512.png"
        if not source.exists():
            save(fit(read_image(SAMPLES / name)), source)
        image = read_image(source)
        for k in KS:
            for space in SPACES:
                times = []
                for _ in range(args.repeats):
                    start = time.perf_counter()
                    q = quantize_image(image, k, KMeansOptions(seed=0, space=space))
                    times.append(time.perf_counter() - start)
                size = len(encode_quantized(".png", q.indices, q.palette))
                rows.setdefault((k, space), []).append(
                    {**scores(image, q.palette[q.indices], size), "seconds": statistics.median(times)})
            for label, extra in (("pngquant --nofs", ["--nofs"]), ("pngquant", [])) if have_pngquant else ():
                target = OUT / f"spaces-{source.stem}-{k}-{'nofs' if extra else 'fs'}.png"
                subprocess.run(["pngquant", *extra, "--speed", "4", str(k), "--force", "--output", str(target),
                                str(source)], check=True)
                picture = read_image(target)[:, :, :3]
                rows.setdefault((k, label), []).append(scores(image, picture, target.stat().st_size))
    print(f"{'K':>4} {'method':<16} {'time x':>6} {'PSNR':>6} {'dE ok':>6} {'dE00':>6} {'DSSIM':>7} {'bytes':>8}")
    for k in KS:
        base = statistics.mean(r["seconds"] for r in rows[(k, "rgb")])
        for method in [*SPACES, *(["pngquant --nofs", "pngquant"] if have_pngquant else [])]:
            found = rows[(k, method)]
            mean = {key: statistics.mean(r[key] for r in found) for key in ("psnr", "de_ok", "de00", "dssim", "bytes")}
            ratio = f"{statistics.mean(r['seconds'] for r in found) / base:6.2f}" if "seconds" in found[0] else " " * 6
            label = f"--space {method}" if method in SPACES else method
            print(f"{k:>4} {label:<16} {ratio} {mean['psnr']:6.2f} {mean['de_ok']:6.3f} {mean['de00']:6.3f} "
                  f"{mean['dssim']:7.4f} {mean['bytes']:8,.0f}", flush=True)


def crop_figure():
    """docs/space-crop-k16.png: coffee.jpg at K = 16 in each space, a crop shown 2x."""
    from common import ROOT

    from quantize.imageio import atomic_write
    from quantize.plots import render_previews

    image = read_image(SAMPLES / "coffee.jpg")
    y, x, h, w = 120, 180, 150, 200
    crop = np.ascontiguousarray(image[y:y + h, x:x + w])
    tiles, labels = [np.kron(crop, np.ones((2, 2, 1), np.uint8))], ["original"]
    for space in SPACES:
        q = quantize_image(image, 16, KMeansOptions(seed=0, space=space))
        picture = q.palette[q.indices]
        found = scores(image, picture, 0)
        tiles.append(np.kron(np.ascontiguousarray(picture[y:y + h, x:x + w]), np.ones((2, 2, 1), np.uint8)))
        labels.append(f"{space}: DSSIM {found['dssim']:.3f}, dE ok {found['de_ok']:.2f}, {found['psnr']:.1f} dB")
    atomic_write(ROOT / "docs" / "space-crop-k16.png", render_previews(tiles, labels))


if __name__ == "__main__":
    main()
