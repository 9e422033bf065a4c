"""The SHA-256 of every output of a fixed script of quantize commands.

A restructuring must keep every output byte the same: run this before the
first move (``--record FILE``) and after the last (``--check FILE``).  Each
command runs as ``python -m quantize ...`` in a fresh folder with copies of
the sample images; every file it writes is hashed, and so is its stdout.
Timings are the only figures that may differ from run to run, so JSON keys
and CSV columns named ``seconds`` (and the ``time`` of the summary line) are
blanked before hashing; the plots that draw timings are left out (listed in
``VOLATILE``: the cluster command's metrics.png, whose last panel is the
seconds of each K).

    python bench/output_hashes.py --record bench/output/hashes-before.json
    python bench/output_hashes.py --check bench/output/hashes-before.json

Committed: ``bench/hashes.json``, the outputs as they are now (the reference
for the next restructuring), and ``bench/hashes-before-restructure.json``,
those from before the package was reshaped into core/, pipeline/, metrics/
and cli/ (which kept all 173).  They differ in the six outputs of the
shared-palette batch over RGB and RGBA images, which now hold one palette,
and in the last digits of the floats the main command prints (--json) and
traces, computed with one BLAS thread since (the images are the same).
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_images"
CORPUS = ROOT / "tests" / "corpus" / "files"
VOLATILE_KEYS = {"seconds", "time", "elapsed"}
VOLATILE = ("metrics.png",)  # files whose bytes depend on timings: cluster's plot has a panel of seconds

# name -> argument list; "Q" is python -m quantize, paths are relative to the work folder.
COMMANDS: dict[str, list[str]] = {}
for k in (2, 16, 64, 256):
    for speed in (1, 4, 8):
        COMMANDS[f"astronaut-k{k}-s{speed}"] = [
            "astronaut.jpg", "-k", str(k), "--speed", str(speed), "-o", f"a-k{k}-s{speed}.png",
            "--palette", f"a-k{k}-s{speed}.gpl", "--json"]
COMMANDS.update({
    "hubble-k256": ["hubble.jpg", "-k", "256", "-o", "h.png", "--json"],
    "camera-k16-exact": ["camera.png", "-k", "16", "--exact", "-o", "cam.png", "--json"],
    "blobs-lossless": ["blobs.png", "-k", "256", "-o", "blobs-q.png", "--json"],
    "rocket-fs": ["rocket.jpg", "-k", "16", "--dither", "floyd-steinberg", "-o", "r-fs.png", "--json"],
    "rocket-ordered": ["rocket.jpg", "-k", "16", "--dither", "ordered", "-o", "r-ord.png", "--json"],
    "rocket-fs-half": ["rocket.jpg", "-k", "8", "--dither", "floyd-steinberg", "--dither-strength", "0.5",
                       "-o", "r-fs5.png", "--no-palette", "--json"],
    "chelsea-oklab": ["chelsea.jpg", "-k", "16", "--space", "oklab", "-o", "c-ok.png", "--json"],
    "chelsea-lab": ["chelsea.jpg", "-k", "64", "--space", "lab", "-o", "c-lab.png", "--json"],
    "chelsea-oklab-fs": ["chelsea.jpg", "-k", "16", "--space", "oklab", "--dither", "floyd-steinberg",
                         "-o", "c-ok-fs.png", "--json"],
    "chelsea-lab-ordered": ["chelsea.jpg", "-k", "16", "--space", "lab", "--dither", "ordered",
                            "-o", "c-lab-ord.png", "--json"],
    "logo-rgba": ["logo-rgba.png", "-k", "8", "-o", "logo.png", "--palette", "logo.json", "--json"],
    "badge-rgba-fs": ["badge-rgba.png", "-k", "16", "--dither", "floyd-steinberg", "-o", "badge.png",
                      "--palette", "badge.txt", "--json"],
    "map-gpl": ["coffee.jpg", "--map", "a-k16-s4.gpl", "-o", "coffee-map.png", "--json"],
    "map-image": ["retina.jpg", "--map", "h.png", "-o", "retina-map.png", "--dither", "floyd-steinberg", "--json"],
    "gif-out": ["coffee.jpg", "-k", "32", "-o", "coffee.gif", "--json"],
    "gif-animated": ["animated.gif", "-k", "4", "-o", "anim-q.gif", "--json"],
    "quality": ["coffee.jpg", "-k", "256", "--quality", "60-80", "-o", "coffee-q.png", "--json"],
    "quality-fast": ["rocket.jpg", "-k", "128", "--quality", "70", "--speed", "8", "-o", "rocket-q.png",
                     "--json"],
    "swatch-hex": ["retina.jpg", "-k", "12", "-o", "ret.png", "--palette", "ret-swatch.png", "--json"],
    "hex-palette": ["retina.jpg", "-k", "12", "--seed", "3", "-o", "ret3.png", "--palette", "ret3.hex"],
    "trace": ["astronaut.jpg", "-k", "8", "--speed", "1", "-o", "a-trace.png", "--trace", "trace.csv", "--json"],
    "true-colour": ["coffee.jpg", "-k", "8", "-o", "coffee8.bmp", "--json"],
    "stdout-png": ["chelsea.jpg", "-k", "8", "-o", "-"],
    "random-init": ["chelsea.jpg", "-k", "8", "--init", "random", "-o", "c-rand.png", "--json"],
    "show-palette": ["chelsea.jpg", "-k", "6", "-o", "c6.png", "--show-palette"],
    "batch-shared": ["batch", "set", "-k", "16", "-o", "out-shared", "--shared-palette", "--jobs", "2", "--json"],
    "batch-json": ["batch", "set", "-k", "8", "-o", "out-json", "--palette-format", "json", "--jobs", "2",
                   "--dither", "ordered", "--json"],
    "elbow": ["elbow", "coffee.jpg", "--ks", "2,4,8,16", "--previews", "-o", "coffee-elbow", "--json"],
    "elbow-oklab": ["elbow", "rocket.jpg", "--k-max", "6", "--space", "oklab", "-o", "rocket-elbow"],
    "cluster": ["cluster", "digits/train-images-idx3-ubyte.gz", "-k", "10", "--ks", "5,10,16", "-o", "dig",
                "--json"],
    "cluster-minibatch": ["cluster", "digits/train-images-idx3-ubyte.gz", "-k", "12", "--minibatch",
                          "--batch-size", "256", "-o", "dig-mb", "--json"],
    "cluster-npy": ["cluster", "vectors.npy", "-k", "4", "--init", "random", "-o", "vec", "--json"],
})


def normalised(name: str, data: bytes) -> bytes:
    """``data`` with its timings blanked (JSON keys, CSV columns, summary times)."""
    text = None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data

    def scrub(value):
        if isinstance(value, dict):
            return {key: (None if key in VOLATILE_KEYS else scrub(item)) for key, item in value.items()}
        if isinstance(value, list):
            return [scrub(item) for item in value]
        return value

    if name.endswith((".json", ".jsonl", "stdout")):
        try:
            return json.dumps(scrub(json.loads(text)), sort_keys=True).encode()
        except ValueError:
            pass
        lines = []
        for line in text.splitlines():
            try:
                lines.append(json.dumps(scrub(json.loads(line)), sort_keys=True))
            except ValueError:
                line = re.sub(r"time [0-9.]+ s", "time - s", line)  # the summary line
                lines.append(re.sub(r" [0-9]+\.[0-9]{3}$", " -", line))  # the seconds column of a table
        return "\n".join(lines).encode()
    if name.endswith(".csv"):
        rows = list(csv.reader(io.StringIO(text)))
        if rows:
            drop = {i for i, head in enumerate(rows[0]) if head in VOLATILE_KEYS}
            rows = [[cell for i, cell in enumerate(row) if i not in drop] for row in rows]
        return "\n".join(",".join(row) for row in rows).encode()
    return data


def prepare(work: Path) -> None:
    """Copies of the inputs in ``work``: sample images, a folder for batch,
    generated digits and a .npy of vectors."""
    for path in SAMPLES.iterdir():
        if path.suffix in (".jpg", ".png"):
            shutil.copy(path, work / path.name)
    shutil.copy(CORPUS / "animated.gif", work / "animated.gif")
    (work / "set" / "sub").mkdir(parents=True)
    for name in ("chelsea.jpg", "coffee.jpg", "logo-rgba.png"):
        shutil.copy(SAMPLES / name, work / "set" / name)
    shutil.copy(SAMPLES / "rocket.jpg", work / "set" / "sub" / "rocket.jpg")
    subprocess.run([sys.executable, str(ROOT / "bench" / "make_digits.py"), "--count", "1500",
                    "--test-count", "0", "--seed", "0", "--out", str(work / "digits")],
                   check=True, capture_output=True)
    import numpy as np

    rng = np.random.default_rng(7)
    centres = rng.normal(0, 5, (4, 12))
    vectors = centres[rng.integers(0, 4, 400)] + rng.normal(0, 1, (400, 12))
    vectors = ((vectors - vectors.min()) / (vectors.max() - vectors.min())).astype(np.float32)
    np.save(work / "vectors.npy", vectors)


def run_all(work: Path) -> dict[str, str]:
    """Run every command in order; the hash of every output and stdout."""
    hashes: dict[str, str] = {}
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    for name, args in COMMANDS.items():
        before = {p for p in work.rglob("*") if p.is_file()}
        done = subprocess.run([sys.executable, "-m", "quantize", *args, "--seed", "0"]
                              if "--seed" not in args else [sys.executable, "-m", "quantize", *args],
                              cwd=work, capture_output=True, env=env)
        if done.returncode != 0:
            raise SystemExit(f"{name}: exit {done.returncode}: {done.stderr.decode()[-2000:]}")
        hashes[f"{name}/stdout"] = hashlib.sha256(normalised("stdout", done.stdout)).hexdigest()
        for path in sorted({p for p in work.rglob("*") if p.is_file()} - before):
            rel = path.relative_to(work).as_posix()
            if path.name in VOLATILE:
                continue
            hashes[f"{name}/{rel}"] = hashlib.sha256(normalised(path.name, path.read_bytes())).hexdigest()
    return hashes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--record", type=Path, help="write the hashes to this JSON file")
    group.add_argument("--check", type=Path, help="compare with the hashes in this JSON file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        prepare(work)
        hashes = run_all(work)
    print(f"{len(COMMANDS)} commands, {len(hashes)} outputs hashed")
    if args.record:
        args.record.parent.mkdir(parents=True, exist_ok=True)
        args.record.write_text(json.dumps(hashes, indent=1, sort_keys=True) + "\n")
        print(f"recorded in {args.record}")
        return
    expected = json.loads(args.check.read_text())
    differ = sorted(key for key in expected.keys() & hashes.keys() if expected[key] != hashes[key])
    missing, extra = sorted(expected.keys() - hashes.keys()), sorted(hashes.keys() - expected.keys())
    for key in differ:
        print(f"DIFFERS  {key}")
    for key in missing:
        print(f"MISSING  {key}")
    for key in extra:
        print(f"NEW      {key}")
    same = len(expected) - len(differ) - len(missing)
    print(f"{same} of {len(expected)} identical")
    sys.exit(1 if differ or missing or extra else 0)


if __name__ == "__main__":
    main()
