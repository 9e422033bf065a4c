"""Memory and time of the whole quantize process on a 100 MP photo, against pngquant.

The photo is generated once into bench/output/: the six sample photos, each
upscaled with cubic interpolation to one tile of a 3x2 mosaic of 12247x8165
(100.0 MP), plus Gaussian noise (sigma 2), so it has millions of distinct
colours like a real photo; it is saved as a JPEG (quality 95) and as a PNG.
Each command runs under ``/usr/bin/time -v``:

1. ``quantize BIG.jpg -k 256 --no-palette --force --quiet`` (the console script
   in the venv, next to this Python);
2. the same from BIG.png;
3. ``pngquant --nofs --speed 4 256`` on BIG.png, the peer (Debian's
   ``pngquant`` package; the row is skipped with a message when it is missing).

Wall time is the median of --repeats runs; peak RSS is the largest "Maximum
resident set size" over those runs.  The ratios are ours / pngquant's, so
below 1 means we are faster or smaller.

    python bench/bench_memory.py [--repeats 3]
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
from pathlib import Path

import cv2
import numpy as np
from common import OUT, SAMPLES

from quantize import read_image
from quantize.histogram import color_histogram

PHOTOS = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg", "hubble.jpg", "retina.jpg"]
WIDTH, HEIGHT = 12247, 8165
QUANTIZE = Path(sys.executable).parent / "quantize"  # not resolved: the venv's script, not the base Python's
TIME = "/usr/bin/time"


def big_photo(sigma: float = 2.0, seed: int = 0) -> tuple[Path, Path]:
    """bench/output/big-100mp.jpg and .png (made once): a 3x2 mosaic of the
    sample photos upscaled to WIDTH x HEIGHT, plus Gaussian noise."""
    jpg, png = OUT / "big-100mp.jpg", OUT / "big-100mp.png"
    if jpg.exists() and png.exists():
        return jpg, png
    OUT.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    big = np.empty((HEIGHT, WIDTH, 3), np.uint8)  # BGR, as cv2 writes it
    xs, ys = np.linspace(0, WIDTH, 4).round().astype(int), np.linspace(0, HEIGHT, 3).round().astype(int)
    for i, name in enumerate(PHOTOS):  # tile by tile, to keep float copies to one tile
        row, col = divmod(i, 3)
        y0, y1, x0, x1 = ys[row], ys[row + 1], xs[col], xs[col + 1]
        tile = cv2.resize(cv2.imread(str(SAMPLES / name), cv2.IMREAD_COLOR), (x1 - x0, y1 - y0),
                          interpolation=cv2.INTER_CUBIC).astype(np.float32)
        tile += sigma * rng.standard_normal(tile.shape, dtype=np.float32)
        big[y0:y1, x0:x1] = np.clip(np.rint(tile), 0, 255).astype(np.uint8)
        del tile
    for path, params in ((jpg, [cv2.IMWRITE_JPEG_QUALITY, 95]), (png, [cv2.IMWRITE_PNG_COMPRESSION, 3])):
        ok, buffer = cv2.imencode(path.suffix, big, params)
        if not ok:
            sys.exit(f"cannot encode {path}")
        buffer.tofile(path)
    return jpg, png


def timed(command) -> tuple[float, float]:
    """Wall seconds and peak resident MB of ``command`` under /usr/bin/time -v."""
    proc = subprocess.run([TIME, "-v"] + [str(c) for c in command],
                          stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(map(str, command))}\n{proc.stderr[-2000:]}")
    clock = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", proc.stderr)
    h, m, s = clock.groups()
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", proc.stderr).group(1))
    return int(h or 0) * 3600 + int(m) * 60 + float(s), rss_kb / 1024


def measure(command, repeats: int) -> tuple[float, float, list[float]]:
    """Median wall seconds, largest peak RSS in MB, and every run's wall time."""
    runs = [timed(command) for _ in range(repeats)]
    walls = [w for w, _ in runs]
    return statistics.median(walls), max(r for _, r in runs), walls


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not os.access(TIME, os.X_OK):
        sys.exit(f"{TIME} is missing (Debian package 'time')")
    if not QUANTIZE.exists():
        sys.exit(f"{QUANTIZE} is missing: install the package in this venv (make install)")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
          f"numpy {np.__version__}, OpenCV {cv2.__version__}, wall: median of {args.repeats}, "
          f"peak RSS: max of {args.repeats}; ratio = ours / pngquant (below 1: we are faster or smaller)",
          flush=True)
    jpg, png = big_photo()
    rows = [
        (f"quantize {jpg.name}", [QUANTIZE, jpg, "-k", "256", "-o", OUT / "big-k256.png",
                                  "--no-palette", "--force", "--quiet"]),
        (f"quantize {png.name}", [QUANTIZE, png, "-k", "256", "-o", OUT / "big-k256-from-png.png",
                                  "--no-palette", "--force", "--quiet"]),
    ]
    pngquant = shutil.which("pngquant")
    if pngquant:
        version = subprocess.run([pngquant, "--version"], capture_output=True, text=True).stdout.split()[0]
        rows.append((f"pngquant {version} {png.name}", [pngquant, "--nofs", "--speed", "4", "256", "--force",
                                                        "--output", OUT / "big-pq256.png", png]))
    results = [(what, *measure(command, args.repeats)) for what, command in rows]

    colours = {}
    for path in (png, jpg):  # one at a time: 300 MB each
        image = read_image(path)
        colours[path.suffix] = len(color_histogram(image).colors)
        shape = image.shape
        del image
    print(f"# {shape[1]}x{shape[0]} = {shape[0] * shape[1] / 1e6:.1f} MP; distinct colours: "
          f"{colours['.png']:,} in the PNG ({png.stat().st_size / 2**20:.1f} MiB), "
          f"{colours['.jpg']:,} in the JPEG ({jpg.stat().st_size / 2**20:.1f} MiB, quality 95); K = 256")
    peer = results[-1] if pngquant else None
    print(f"{'what':<32} {'wall s':>8} {'peak MB':>8} {'time x':>7} {'RSS x':>7}  runs (s)")
    for what, wall, rss, walls in results:
        ratios = (f"{wall / peer[1]:>7.2f} {rss / peer[2]:>7.2f}" if peer and peer[0] != what
                  else f"{'':>7} {'':>7}")
        print(f"{what:<32} {wall:>8.2f} {rss:>8.0f} {ratios}  {', '.join(f'{w:.2f}' for w in walls)}")
    if not pngquant:
        print("# pngquant is not installed: its row is skipped (apt-get install pngquant)")


if __name__ == "__main__":
    main()
