"""Whole-process time of the default --optimize against --optimize 0 (the plain writer).

``python -m quantize PHOTO -k K -o OUT --force --no-palette --quiet --optimize O``
for O = 0 and the default, on the four sample photos made 768x512 (as
bench_startup.py makes them), K = 16, 64, 256; the two runs interleaved,
median of --repeats each; ratio = default / level 0 (the cost of the smaller
file over the whole command).

    python bench/bench_optimize_time.py [--repeats 5]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_startup import photo_png

from quantize.limits import PNG_OPTIMIZE_DEFAULT

PHOTOS = ["astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg"]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    levels = (0, PNG_OPTIMIZE_DEFAULT)
    ratios = []
    print(f"photo         K  -o 0 s  -o {PNG_OPTIMIZE_DEFAULT} s  ratio")
    with tempfile.TemporaryDirectory() as folder:
        for name in PHOTOS:
            source = str(photo_png(name))
            for k in (16, 64, 256):
                times = {level: [] for level in levels}
                for _ in range(args.repeats):
                    for level in levels:
                        out = Path(folder) / f"o{level}.png"
                        start = time.perf_counter()
                        subprocess.run([sys.executable, "-m", "quantize", source, "-k", str(k), "-o", str(out),
                                        "--force", "--no-palette", "--quiet", "--optimize", str(level)],
                                       check=True, stdout=subprocess.DEVNULL)
                        times[level].append(time.perf_counter() - start)
                plain, default = (statistics.median(times[level]) for level in levels)
                ratios.append(default / plain)
                print(f"{Path(name).stem:<12} {k:>3} {plain:>7.3f} {default:>7.3f} {default / plain:>6.3f}", flush=True)
    print(f"default / --optimize 0: median {statistics.median(ratios):.3f}, "
          f"range {min(ratios):.3f}-{max(ratios):.3f}")


if __name__ == "__main__":
    sys.exit(main())
