"""Each speed target of quantize, its measured ratio against a peer timed in
the same run, and whether it is met.

1. one photo, whole process: ``quantize IMG -k K`` (the console script) against
   ``pngquant --nofs --speed 4 K`` on four sample photos made 768x512 (PNG);
   time ratio ours / pngquant, per K the median over photos of the per-photo
   ratio of medians; PSNR of each written file against its input;
2. a folder: 100 photos of 768x512 (seeded crops, flips and scales of the six
   sample photos), K=256, ``quantize batch --jobs 2`` against pngquant through
   ``xargs -n 1 -P 2`` (each file by a ``sh -c`` wrapper that names its output
   in a fresh folder); ratio pngquant time / ours = our files/s over theirs;
3. in process: ``quantize_image`` against scikit-learn ``KMeans(n_init=1)`` on
   the same weighted unique colours (bench_speed.py part 1 without cv2.kmeans);
4. imports of ``python -X importtime -m quantize --help`` and ``... batch --help``:
   was numpy or cv2 imported, and the total of the self times (all modules,
   the interpreter's own start included), median of --repeats;
5. a 24 MP image, K=256, under ``/usr/bin/time -v`` (bench_speed.py part 3).

Times are medians of --repeats runs (--folder-repeats for part 2).

    python bench/bench_targets.py [--repeats 3] [--folder-repeats N] [--parts 1,2,3,4,5]
"""
from __future__ import annotations

import argparse
import contextlib
import io
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
from bench_batch import wall as fresh_wall
from bench_speed import HEADER, PHOTOS, file_psnr, part_in_process, part_large, wall
from common import OUT, SAMPLES

import bench_speed
from quantize import read_image

CLI = str(Path(sys.executable).parent / "quantize")
SINGLE = ["astronaut.jpg", "coffee.jpg", "rocket.jpg", "chelsea.jpg"]
KS = [16, 64, 256]
W, H = 768, 512
FOLDER_COUNT = 100


def fit(image, width=W, height=H):
    """``image`` scaled to cover width x height (INTER_AREA down, CUBIC up), centre crop."""
    scale = max(width / image.shape[1], height / image.shape[0])
    size = (max(width, round(image.shape[1] * scale)), max(height, round(image.shape[0] * scale)))
    big = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
    y, x = (big.shape[0] - height) // 2, (big.shape[1] - width) // 2
    return big[y : y + height, x : x + width]


def save(image, path):
    cv2.imwrite(str(path), cv2.cvtColor(np.ascontiguousarray(image), cv2.COLOR_RGB2BGR))


def make_folder():
    folder = OUT / f"targets-folder-{FOLDER_COUNT}"
    if folder.exists() and len(list(folder.glob("*.png"))) == FOLDER_COUNT:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    photos = [read_image(SAMPLES / name) for name in PHOTOS]
    for i in range(FOLDER_COUNT):
        photo = photos[i % len(photos)]
        h, w = photo.shape[:2]
        cw = int(min(w, h * 1.5) * rng.uniform(0.5, 1.0))
        ch = int(cw / 1.5)
        y, x = rng.integers(0, h - ch + 1), rng.integers(0, w - cw + 1)
        crop = photo[y : y + ch, x : x + cw]
        flip = rng.integers(0, 3)  # 0 none, 1 left-right, 2 up-down
        crop = crop[:, ::-1] if flip == 1 else crop[::-1] if flip == 2 else crop
        save(fit(crop), folder / f"img{i:03d}.png")
    return folder


def part_single(repeats, summary):
    print(f"## 1. one photo {W}x{H}, whole process; ratio = ours / pngquant time (lower is better)")
    print(f"{'image':<14} {'K':>4} {'ours s':>7} {'pq s':>7} {'ratio':>6} {'ours dB':>8} {'pq dB':>7}")
    rows = []
    for name in SINGLE:
        source = OUT / f"targets-{Path(name).stem}-{W}x{H}.png"
        save(fit(read_image(SAMPLES / name)), source)
        image = read_image(source)
        for k in KS:
            ours_out, peer_out = OUT / f"{source.stem}-q{k}.png", OUT / f"{source.stem}-pq{k}.png"
            ours_s = wall([CLI, str(source), "-k", str(k), "-o", str(ours_out), "--no-palette", "--force",
                           "--quiet"], repeats)
            peer_s = wall(["pngquant", "--nofs", "--speed", "4", str(k), "--force", "--output", str(peer_out),
                           str(source)], repeats)
            ours_db, peer_db = file_psnr(image, ours_out), file_psnr(image, peer_out)
            rows.append((k, ours_s / peer_s, ours_db, peer_db))
            print(f"{Path(name).stem:<14} {k:>4} {ours_s:>7.3f} {peer_s:>7.3f} {ours_s / peer_s:>6.2f} "
                  f"{ours_db:>8.2f} {peer_db:>7.2f}", flush=True)
    for k in KS:
        ratio = statistics.median(r for kk, r, _, _ in rows if kk == k)
        ours_db = statistics.mean(d for kk, _, d, _ in rows if kk == k)
        peer_db = statistics.mean(d for kk, _, _, d in rows if kk == k)
        limit = 2.0 if k == 256 else 1.5
        summary.append((f"1. photo K={k}: time ours/pngquant <= {limit}", f"{ratio:.2f}", ratio <= limit))
        summary.append((f"1. photo K={k}: mean PSNR ours >= pngquant + 0.3 dB",
                        f"{ours_db:.2f} vs {peer_db:.2f} ({ours_db - peer_db:+.2f})", ours_db >= peer_db + 0.3))


def part_folder(repeats, summary):
    folder = make_folder()
    files = sorted(folder.glob("*.png"))
    ours_out, peer_out = OUT / "targets-folder-q", OUT / "targets-folder-pq"
    ours_s = fresh_wall([CLI, "batch", str(folder), "-k", "256", "-o", str(ours_out), "--jobs", "2",
                         "--palette-format", "none", "--quiet", "--force"], repeats, ours_out)
    peer = (f"printf '%s\\0' {' '.join(str(f) for f in files)} | xargs -0 -n 1 -P 2 sh -c "
            f"'exec pngquant --nofs --speed 4 256 --force --output \"$0/${{1##*/}}\" \"$1\"' {peer_out}")
    peer_s = fresh_wall(peer, repeats, peer_out, shell=True)
    written = len(list(ours_out.glob("*.png"))), len(list(peer_out.glob("*.png")))
    print(f"## 2. folder of {len(files)} photos {W}x{H}, K=256, 2 processes, median of {repeats}")
    print(f"quantize batch --jobs 2        {ours_s:7.2f} s {len(files) / ours_s:6.1f} files/s ({written[0]} written)")
    print(f"pngquant xargs -P 2            {peer_s:7.2f} s {len(files) / peer_s:6.1f} files/s ({written[1]} written)")
    ratio = peer_s / ours_s
    summary.append(("2. folder K=256: files/s ours / pngquant >= 1", f"{ratio:.2f}", ratio >= 1.0))


def part_sklearn(repeats, summary):
    print("## 3. in process against scikit-learn KMeans(n_init=1); ratio = sklearn time / ours")
    print(HEADER)
    bench_speed.OPENCV_PHOTOS = []  # part 1 of bench_speed without the cv2.kmeans rows
    found = {}
    part_in_process(KS, repeats, found)
    for k in KS:
        ratios, diffs = zip(*found[("sklearn", k)])
        ratio, diff, limit = statistics.median(ratios), statistics.mean(diffs), 3 if k == 16 else 5
        summary.append((f"3. sklearn K={k}: time sklearn/ours >= {limit}", f"{ratio:.2f}", ratio >= limit))
        summary.append((f"3. sklearn K={k}: mean PSNR ours >= sklearn - 0.05 dB", f"{diff:+.3f} dB",
                        diff >= -0.05))


def part_imports(repeats, summary):
    print(f"## 4. python -X importtime -m quantize ...; total = sum of self times, median of {repeats}")
    for args in (["--help"], ["batch", "--help"]):
        totals, heavy = [], set()
        for _ in range(repeats):
            proc = subprocess.run([sys.executable, "-X", "importtime", "-m", "quantize", *args], check=True,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
            lines = [m.groups() for m in re.finditer(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)", proc.stderr)]
            totals.append(sum(int(us) for us, _ in lines) / 1000)
            heavy |= {name.split(".")[0] for _, name in lines if name.split(".")[0] in ("numpy", "cv2")}
        command = " ".join(["quantize", *args])
        print(f"{command:<24} {len(lines):>4} modules, total {statistics.median(totals):6.1f} ms, "
              f"numpy/cv2 imported: {', '.join(sorted(heavy)) or 'neither'}")
        summary.append((f"4. {command}: imports neither numpy nor cv2",
                        f"{', '.join(sorted(heavy)) or 'neither'}; {statistics.median(totals):.0f} ms", not heavy))


def part_big(repeats, summary):
    print("## 5. large image, quantize -k 256 under /usr/bin/time -v")
    text = io.StringIO()
    with contextlib.redirect_stdout(text):
        part_large(repeats)
    print(text.getvalue(), end="")
    seconds = float(re.search(r"median wall ([\d.]+) s", text.getvalue()).group(1))
    peak = float(re.search(r"peak RSS (\d+) MB", text.getvalue()).group(1))
    summary.append(("5. 24 MP K=256: median wall <= 5 s", f"{seconds:.2f} s", seconds <= 5.0))
    summary.append(("5. 24 MP K=256: peak RSS <= 500 MB", f"{peak:.0f} MB", peak <= 500))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--folder-repeats", type=int, default=None, help="runs of part 2 [default: --repeats]")
    parser.add_argument("--parts", default="1,2,3,4,5")
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",")}
    folder_repeats = args.folder_repeats or args.repeats
    if shutil.which("pngquant") is None:
        print("# pngquant is not installed: parts 1 and 2 skipped (apt-get install pngquant)")
        parts -= {1, 2}
        version = "none"
    else:
        version = subprocess.run(["pngquant", "--version"], capture_output=True, text=True).stdout.strip()
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, Python "
          f"{platform.python_version()}, numpy {np.__version__}, pngquant {version}, "
          f"median of {args.repeats} (folder {folder_repeats})")
    OUT.mkdir(parents=True, exist_ok=True)
    summary = []
    if 1 in parts:
        part_single(args.repeats, summary)
    if 2 in parts:
        part_folder(folder_repeats, summary)
    if 3 in parts:
        part_sklearn(args.repeats, summary)
    if 4 in parts:
        part_imports(args.repeats, summary)
    if 5 in parts:
        part_big(args.repeats, summary)
    if not summary:
        return
    width = max(len(t) for t, _, _ in summary)
    mwidth = max(len(m) for _, m, _ in summary)
    print(f"## summary ({sum(ok for _, _, ok in summary)} of {len(summary)} met)")
    print(f"{'target':<{width}} | {'measured':<{mwidth}} | met?")
    for target, measured, ok in summary:
        print(f"{target:<{width}} | {measured:<{mwidth}} | {'met' if ok else 'not met'}")


if __name__ == "__main__":
    main()
