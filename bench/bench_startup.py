"""Start-up and whole-process time of one photo, against pngquant.

1. whole process: ``python -m quantize PHOTO -k K -o OUT --force --no-palette``
   against ``pngquant --nofs --speed 4 K`` on four sample photos made 768x512
   (PNG, written once to bench/output/ with OpenCV; both tools read the same
   file), K = 16, 64, 256; the two runs interleaved, median of --repeats each;
   ratio = ours / pngquant time (lower is better), per K the median over the
   photos of the per-photo ratio; with ``--compare DIR`` the older tree's
   time too, in the same interleaved runs;
2. start-up alone: wall time of ``python -c pass``, ``python -c "import numpy,
   cv2"`` (the floor no code of ours can remove) and ``python -c "import
   quantize.cli"``, and the total of ``python -X importtime`` (self times of
   every module, the interpreter's own start included) of the K=16 command;
   medians of --repeats.  With ``--compare DIR`` (a copy of an older
   ``quantize`` package's parent folder) parts 1 and 2 are measured for it too.

    python bench/bench_startup.py [--repeats 5] [--parts 1,2] [--compare DIR]
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
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_images"
OUT = ROOT / "bench" / "output"
PHOTOS = ["astronaut.jpg", "coffee.jpg", "chelsea.jpg", "rocket.jpg"]
KS = [16, 64, 256]
W, H = 768, 512


def photo_png(name: str) -> Path:
    """bench/output/startup-NAME-768x512.png (made once): the sample photo scaled
    to cover 768x512 (INTER_AREA down, CUBIC up) and cropped at its centre."""
    path = OUT / f"startup-{Path(name).stem}-{W}x{H}.png"
    if not path.exists():
        import cv2

        image = cv2.imread(str(SAMPLES / name), cv2.IMREAD_COLOR)
        scale = max(W / image.shape[1], H / image.shape[0])
        size = (max(W, round(image.shape[1] * scale)), max(H, round(image.shape[0] * scale)))
        big = cv2.resize(image, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        y, x = (big.shape[0] - H) // 2, (big.shape[1] - W) // 2
        OUT.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), big[y : y + H, x : x + W])
    return path


def environment(pythonpath: Path) -> dict:
    """The keyword arguments of a run of the ``quantize`` package in the folder
    ``pythonpath``: it first on PYTHONPATH and the working folder (``-m`` and
    ``-c`` put the working folder first on the path)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(pythonpath), *filter(None, [env.get("PYTHONPATH")])])
    return {"env": env, "cwd": pythonpath}


def run(command, env) -> float:
    """Seconds of wall time of ``command`` (run with ``env``, see
    :func:`environment`), which must succeed."""
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **env)
    return time.perf_counter() - start


def part_process(repeats: int, env, before_env=None) -> None:
    print(f"## 1. one photo {W}x{H}, whole process, median of {repeats} interleaved; "
          "ratio = ours / pngquant (lower is better)")
    if shutil.which("pngquant") is None:
        print("pngquant is not installed: part 1 skipped (apt-get install pngquant)")
        return
    print(f"{'photo':<10} {'K':>4} {'ours s':>7} {'pngquant s':>10} {'ratio':>6}"
          + (f" {'--compare s':>11} {'ratio':>6}" if before_env else ""))
    ratios, before_ratios = {k: [] for k in KS}, {k: [] for k in KS}
    for name in PHOTOS:
        source = photo_png(name)
        for k in KS:
            ours_out, peer_out = OUT / f"{source.stem}-startup-q{k}.png", OUT / f"{source.stem}-startup-pq{k}.png"
            ours_cmd = [sys.executable, "-m", "quantize", str(source), "-k", str(k), "-o", str(ours_out),
                        "--force", "--no-palette"]
            peer_cmd = ["pngquant", "--nofs", "--speed", "4", str(k), "--force", "--output", str(peer_out),
                        str(source)]
            ours, peer, before = [], [], []
            for _ in range(repeats):
                ours.append(run(ours_cmd, env))
                peer.append(run(peer_cmd, env))
                if before_env:
                    before.append(run(ours_cmd, before_env))
            ours_s, peer_s = statistics.median(ours), statistics.median(peer)
            ratios[k].append(ours_s / peer_s)
            extra = ""
            if before_env:
                before_s = statistics.median(before)
                before_ratios[k].append(before_s / peer_s)
                extra = f" {before_s:>11.3f} {before_s / peer_s:>6.2f}"
            print(f"{Path(name).stem:<10} {k:>4} {ours_s:>7.3f} {peer_s:>10.3f} {ours_s / peer_s:>6.2f}{extra}",
                  flush=True)
    for k in KS:
        print(f"K={k:<4} median ratio over the photos {statistics.median(ratios[k]):.2f}"
              + (f" (--compare {statistics.median(before_ratios[k]):.2f})" if before_env else ""))


def import_total(env, source: Path) -> float:
    """Milliseconds: the sum of the self times ``-X importtime`` reports for the K=16 command."""
    command = [sys.executable, "-X", "importtime", "-m", "quantize", str(source), "-k", "16", "-o",
               str(OUT / "startup-importtime.png"), "--force", "--no-palette"]
    text = subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                          **env).stderr
    return sum(int(us) for us in re.findall(r"import time:\s+(\d+) \|", text)) / 1000


def part_startup(repeats: int, trees: list[tuple[str, Path]]) -> None:
    print(f"## 2. start-up, ms, median of {repeats} interleaved")
    source = photo_png(PHOTOS[2])
    rows = [("python -c pass", [sys.executable, "-c", "pass"], None),
            ("python -c 'import numpy, cv2' (floor)", [sys.executable, "-c", "import numpy, cv2"], None)]
    rows += [(f"python -c 'import quantize.cli' ({label})", [sys.executable, "-c", "import quantize.cli"], tree)
             for label, tree in trees]
    rows += [(f"-X importtime total, K=16 command ({label})", None, tree) for label, tree in trees]
    times = {label: [] for label, _, _ in rows}
    for _ in range(repeats):
        for label, command, tree in rows:
            env = environment(tree or trees[0][1])
            times[label].append(import_total(env, source) if command is None else 1000 * run(command, env))
    for label, _, _ in rows:
        print(f"{label:<50} {statistics.median(times[label]):7.1f}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--parts", default="1,2")
    parser.add_argument("--compare", type=Path, help="the folder holding an older quantize package (part 2)")
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",")}
    env = environment(ROOT)
    version = (subprocess.run(["pngquant", "--version"], capture_output=True, text=True).stdout.strip()
               if shutil.which("pngquant") else "none")
    print(f"# {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}, Python "
          f"{platform.python_version()}, pngquant {version}")
    if 1 in parts:
        part_process(args.repeats, env, environment(args.compare.resolve()) if args.compare else None)
    if 2 in parts:
        trees = [("this tree", ROOT)] + ([("--compare", args.compare.resolve())] if args.compare else [])
        part_startup(args.repeats, trees)


if __name__ == "__main__":
    main()
