"""Bytes of our palette PNGs at each --optimize level against pngquant --nofs,
and against pngquant followed by oxipng (pyoxipng at its default level 2 and
at its highest, 6), at equal quality: since the palettes differ, at each K
both files' SSIM to the photo is measured, and each photo's log-bytes vs
SSIM curve of ours is interpolated (linearly) at the peer's SSIM points in
our range; the ratio ours/peer is the mean over those points, then the median
over the photos.  Also the time of each level against level 0 (the writer as
it was: zlib level 9, filter 0), encode only in process and one whole-process
comparison, medians of --repeats.

    python bench/bench_filesize.py [--repeats 3] [--ks 8,16,32,64,128,256] [--seed 0]
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_startup import photo_png  # noqa: E402
from common import OUT, ROOT  # noqa: E402

from quantize import KMeansOptions, quantize_image, read_image  # noqa: E402
from quantize import png  # noqa: E402

PHOTOS = ("astronaut.jpg", "chelsea.jpg", "coffee.jpg", "hubble.jpg", "retina.jpg", "rocket.jpg")
LEVELS = range(png.OPTIMIZE_MAX + 1)
PNGQUANT = "/usr/bin/pngquant"


def ssim(a: np.ndarray, b: np.ndarray) -> float:
    from skimage.metrics import structural_similarity

    return float(structural_similarity(a, b, channel_axis=2, data_range=255))


def decode(data: bytes) -> np.ndarray:
    from PIL import Image

    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))


def timed(fn, repeats: int):
    times, value = [], None
    for _ in range(repeats):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), value


def measure_photo(name: str, ks, repeats: int, seed: int = 0) -> list[dict]:
    """One row per K: our bytes and encode time per level, SSIMs, the peers' bytes."""
    import oxipng

    source = photo_png(name)
    photo = read_image(source)
    rows = []
    for k in ks:
        result = quantize_image(photo, k, KMeansOptions(seed=seed))
        row = {"photo": name, "k": k, "bytes": {}, "time": {}}
        for level in LEVELS:
            row["time"][level], data = timed(lambda: png.encode_indexed(result.indices, result.palette,
                                                                        optimize=level), repeats)
            row["bytes"][level] = len(data)
            if level == 0:
                row["ssim"] = ssim(photo, decode(data))
            else:
                assert np.array_equal(decode(data), result.palette[result.indices][..., :3]), (name, k, level)
        peer_out = OUT / f"filesize-{source.stem}-pq{k}.png"
        subprocess.run([PNGQUANT, "--nofs", str(k), "--force", "--output", str(peer_out), str(source)], check=True)
        peer = peer_out.read_bytes()
        row["peer_ssim"] = ssim(photo, decode(peer))
        row["pngquant"] = len(peer)
        row["pngquant+oxipng2"] = len(oxipng.optimize_from_memory(peer, level=2))
        row["pngquant+oxipng6"] = len(oxipng.optimize_from_memory(peer, level=6))
        rows.append(row)
    return rows


def equal_ssim_ratio(rows: list[dict], ours_key, peer_key) -> float | None:
    """exp(mean(log ours - log peer)) at the peer's SSIM points inside our
    range of SSIM over K, ours interpolated linearly in log-bytes vs SSIM."""
    ours = sorted((r["ssim"], np.log(ours_key(r))) for r in rows)
    ssims, logs = np.array([s for s, _ in ours]), np.array([b for _, b in ours])
    gaps = [np.interp(r["peer_ssim"], ssims, logs) - np.log(r[peer_key]) for r in rows
            if ssims[0] <= r["peer_ssim"] <= ssims[-1]]
    return float(np.exp(np.mean(gaps))) if gaps else None


def whole_process(ks, repeats: int) -> list[tuple]:
    """Seconds of ``python -m quantize`` at --optimize 0 and the default, medians of ``repeats``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = []
    for name in ("astronaut.jpg", "coffee.jpg"):
        source = photo_png(name)
        for k in ks:
            times = {}
            for label, extra in (("0", ["--optimize", "0"]), ("default", [])):
                cmd = [sys.executable, "-m", "quantize", str(source), "-k", str(k), "-o",
                       str(OUT / f"filesize-whole-{k}.png"), "--force", "--no-palette", "-q", *extra]
                times[label] = timed(lambda: subprocess.run(cmd, env=env, check=True, capture_output=True),
                                     repeats)[0]
            out.append((name, k, times["0"], times["default"]))
    return out


def report(rows: list[dict], whole: list[tuple]) -> None:
    peers = ("pngquant", "pngquant+oxipng2", "pngquant+oxipng6")
    print("Bytes at equal SSIM, ours / peer (median over photos; < 1: ours smaller)\n")
    print("| --optimize | " + " | ".join(peers) + " | encode time / level 0 |")
    print("|---|" + "---|" * (len(peers) + 1))
    for level in LEVELS:
        ratios = []
        for peer in peers:
            per_photo = [equal_ssim_ratio([r for r in rows if r["photo"] == name],
                                          lambda r: r["bytes"][level], peer) for name in PHOTOS]
            ratios.append(statistics.median([v for v in per_photo if v is not None]))
        slow = statistics.median(r["time"][level] / r["time"][0] for r in rows)
        mark = " (default)" if level == png.OPTIMIZE_DEFAULT else ""
        print(f"| {level}{mark} | " + " | ".join(f"{v:.3f}" for v in ratios) + f" | {slow:.2f}x |")
    print("\nAt each K, median over photos: bytes ours/pngquant at each level, SSIM ours and pngquant\n")
    print("| K | " + " | ".join(f"-o {level}" for level in LEVELS) + " | pq+oxipng2/pq | SSIM ours | SSIM pq |"
          " encode ms -o 0 | -o default |")
    print("|---|" + "---|" * (len(LEVELS) + 5))
    for k in sorted({r["k"] for r in rows}):
        at = [r for r in rows if r["k"] == k]
        med = lambda f: statistics.median(f(r) for r in at)  # noqa: E731
        cells = [f"{med(lambda r: r['bytes'][level] / r['pngquant']):.3f}" for level in LEVELS]
        print(f"| {k} | " + " | ".join(cells) + f" | {med(lambda r: r['pngquant+oxipng2'] / r['pngquant']):.3f}"
              f" | {med(lambda r: r['ssim']):.4f} | {med(lambda r: r['peer_ssim']):.4f}"
              f" | {1000 * med(lambda r: r['time'][0]):.0f} | {1000 * med(lambda r: r['time'][png.OPTIMIZE_DEFAULT]):.0f} |")
    print("\nWhole process (python -m quantize, 768x512), seconds, medians\n")
    print("| photo | K | --optimize 0 | default | ratio |")
    print("|---|---|---|---|---|")
    for name, k, zero, default in whole:
        print(f"| {name} | {k} | {zero:.3f} | {default:.3f} | {default / zero:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--ks", default="8,16,32,64,128,256")
    parser.add_argument("--seed", type=int, default=0, help="seed of each K's palette (the summary moves by ~0.02 with it)")
    args = parser.parse_args()
    if not Path(PNGQUANT).exists():
        sys.exit(f"{PNGQUANT} is missing: apt-get install -y pngquant")
    ks = [int(k) for k in args.ks.split(",")]
    rows = [row for name in PHOTOS for row in measure_photo(name, ks, args.repeats, args.seed)]
    report(rows, whole_process((16, 256), args.repeats))


if __name__ == "__main__":
    main()
