"""How small a lossless optimiser can make our palette PNGs: our default
(--optimize 2) and highest (--optimize 4) files, and the highest run through
oxipng at its highest level with zopfli (pyoxipng: ``level=6``,
``Deflaters.zopfli(15)``), as bytes at equal SSIM against pngquant --nofs and
against pngquant followed by oxipng -o 2 (as bench_filesize.py measures them:
six 768x512 photos, K = 8..256, median over the photos).  The zopfli column
is a bound, not a level we offer: it takes 4-20 s per image.

    python bench/bench_filesize_bound.py [--ks 8,16,32,64,128,256] [--seed 0]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_filesize import PHOTOS, PNGQUANT, decode, equal_ssim_ratio, ssim  # noqa: E402
from bench_startup import photo_png  # noqa: E402
from common import OUT  # noqa: E402

from quantize import KMeansOptions, png, quantize_image, read_image  # noqa: E402

COLUMNS = (("o2", "--optimize 2 (default)"), ("o4", "--optimize 4"), ("o4zopfli", "--optimize 4 + oxipng -o 6 zopfli"))


def measure(name: str, ks, seed: int) -> list[dict]:
    import oxipng

    source = photo_png(name)
    photo = read_image(source)
    rows = []
    for k in ks:
        result = quantize_image(photo, k, KMeansOptions(seed=seed))
        default = png.encode_indexed(result.indices, result.palette, optimize=2)
        highest = png.encode_indexed(result.indices, result.palette, optimize=4)
        start = time.perf_counter()
        bound = oxipng.optimize_from_memory(highest, level=6, deflate=oxipng.Deflaters.zopfli(15))
        seconds = time.perf_counter() - start
        peer_out = OUT / f"bound-{source.stem}-pq{k}.png"
        subprocess.run([PNGQUANT, "--nofs", str(k), "--force", "--output", str(peer_out), str(source)], check=True)
        peer = peer_out.read_bytes()
        rows.append({"photo": name, "k": k, "ssim": ssim(photo, decode(default)), "o2": len(default),
                     "o4": len(highest), "o4zopfli": len(bound), "zopfli_s": seconds,
                     "peer_ssim": ssim(photo, decode(peer)), "pngquant": len(peer),
                     "pngquant+oxipng2": len(oxipng.optimize_from_memory(peer, level=2))})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--ks", default="8,16,32,64,128,256")
    parser.add_argument("--seed", type=int, default=0, help="seed of each K's palette (the summary moves by ~0.02 with it)")
    args = parser.parse_args()
    ks = [int(k) for k in args.ks.split(",")]
    rows = [row for name in PHOTOS for row in measure(name, ks, args.seed)]
    print("Bytes at equal SSIM, ours / peer (median over photos; per photo in brackets)\n")
    print("| ours | pngquant | pngquant+oxipng2 |")
    print("|---|---|---|")
    for key, label in COLUMNS:
        cells = []
        for peer in ("pngquant", "pngquant+oxipng2"):
            per = [equal_ssim_ratio([r for r in rows if r["photo"] == n], lambda r: r[key], peer) for n in PHOTOS]
            per = [v for v in per if v is not None]
            cells.append(f"{statistics.median(per):.3f} [{', '.join(f'{v:.2f}' for v in per)}]")
        print(f"| {label} | " + " | ".join(cells) + " |")
    seconds = [r["zopfli_s"] for r in rows]
    print(f"\noxipng -o 6 zopfli on our --optimize 4 files: median {statistics.median(seconds):.1f} s an image "
          f"(range {min(seconds):.1f}-{max(seconds):.1f})")


if __name__ == "__main__":
    main()
