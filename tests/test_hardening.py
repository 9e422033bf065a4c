"""Bad input and hostile conditions: a clear answer, nothing lost, nothing half-written.

Each test pins one defect found by trying quantize as a hostile user would; each
failed before its fix.
"""
import errno
import json
import os
import re
import shutil
import signal
import struct
import subprocess
import sys
import time
import zlib
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from quantize import batch, elbow, imageio, read_image, reading
from quantize.cli import cli
from quantize.files import recorded_parameters

ROOT = Path(__file__).resolve().parent.parent


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def png_header_only(width, height, rows_of_zeros=0):
    """A valid PNG that declares ``width x height`` grey pixels; with
    ``rows_of_zeros`` it holds that many real rows (a small file that inflates)."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    engine = zlib.compressobj(9)
    row = b"\0" * (width + 1)
    body = b"".join(engine.compress(row) for _ in range(rows_of_zeros)) + engine.flush()
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
            + chunk(b"IDAT", body) + chunk(b"IEND", b""))


@pytest.fixture
def photo(tmp_path, samples):
    path = tmp_path / "photo.jpg"
    shutil.copy(samples / "chelsea.jpg", path)
    return path


def names(folder):
    return sorted(p.name for p in folder.iterdir())


# 1. A negative seed is bad usage (exit 2), in every command.
@pytest.mark.parametrize("command", [[], ["elbow"], ["batch", "-o", "out"]])
def test_negative_seed_is_a_usage_error(photo, command):
    args = [*command[:1], photo, *command[1:], *([] if command == ["elbow"] else ["-k", 4]), "--seed", -5]
    result = run(*args)
    assert result.exit_code == 2
    assert re.fullmatch(r"quantize: error: Invalid value for '--seed': -5 is not in the range x>=0\. "
                        r"\(see 'quantize \w+ --help'\)\n", result.stderr)


# 2. An elbow report folder that cannot be written is found before the sweep.
def test_elbow_checks_its_report_folder_before_the_work(photo, monkeypatch):
    monkeypatch.setattr(elbow, "sweep", lambda *a, **k: pytest.fail("swept before checking the folder"))
    (photo.parent / "blocker").write_text("a file where a folder should be")
    for target, cause in [("/proc/quantize-elbow", "cannot write there: No such file or directory"),
                          (photo.parent / "blocker" / "report", "cannot write there: Not a directory")]:
        result = run("elbow", photo, "-o", target)
        assert result.exit_code == 1, result.output
        assert result.stderr == f"quantize: {target}: {cause}\n"


# 3. The pixel limit, from the header before decoding.
def test_a_huge_header_is_refused_before_decoding(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_only(20000, 20000, rows_of_zeros=50))
    monkeypatch.setattr(imageio.cv2, "imdecode", lambda *a: pytest.fail("decoded a 400 MP image"))
    result = run(bomb, "-k", 4)
    assert result.exit_code == 1
    assert result.stderr == (f"quantize: {bomb}: 20000x20000 is 400.0 MP, above the limit of 180 MP "
                             f"(--max-pixels)\n")
    assert names(tmp_path) == ["bomb.png"]


def test_max_pixels_option(photo):
    h, w = read_image(photo).shape[:2]
    result = run(photo, "-k", 4, "--max-pixels", h * w - 1)
    assert result.exit_code == 1 and "above the limit" in result.stderr
    assert run(photo, "-k", 4, "--max-pixels", h * w).exit_code == 0
    assert run("batch", photo, "-k", 4, "-o", photo.parent / "b", "--max-pixels", 10).exit_code == 1


@pytest.mark.parametrize("suffix", [".png", ".jpg", ".bmp", ".webp", ".tiff", ".gif"])
def test_header_size_of_every_format_we_read(suffix):
    import cv2

    ok, data = cv2.imencode(suffix, np.zeros((37, 91, 3), np.uint8))
    assert ok
    assert imageio.header_size(data.tobytes()) == (91, 37)


# 4. Workers die with their parent, however it dies.
def _children(pid):
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        text = (task / "children").read_text().split()
        found.update(int(t) for t in text)
    return found


def _alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def start_batch(tmp_path, samples, finished, **popen):
    """A ``quantize batch --jobs 2`` of 24 photos in a subprocess, once ``finished``
    of them are written: ``(process, output folder)``."""
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for i in range(24):
        shutil.copy(samples / "coffee.jpg", source / f"p{i:02}.jpg")
    proc = subprocess.Popen([sys.executable, "-m", "quantize", "batch", str(source), "-k", "64", "-o", str(out),
                             "--jobs", "2", "--exact", "--quiet"], stdout=subprocess.DEVNULL, **popen)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("*.gpl"))) < finished:
        time.sleep(0.02)
    return proc, out


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs /proc")
def test_kill_9_takes_the_workers_along(tmp_path, samples):
    proc, out = start_batch(tmp_path, samples, 2, stderr=subprocess.DEVNULL)
    workers = {c for c in _children(proc.pid) if "multiprocessing" in Path(f"/proc/{c}/cmdline").read_text()}
    assert len(workers) >= 2, "the pool should be running"
    proc.kill()
    proc.wait()
    deadline = time.time() + 10
    while time.time() < deadline and any(_alive(w) for w in workers):
        time.sleep(0.05)
    assert not any(_alive(w) for w in workers), "a worker outlived its parent"
    written = sorted(out.glob("*.png"))
    time.sleep(1.5)
    assert sorted(out.glob("*.png")) == written, "files were written after the batch died"


# 5. After Ctrl-C the manifest lists every file that was written.
@pytest.mark.slow
def test_ctrl_c_manifest_lists_every_file_written(tmp_path, samples):
    proc, out = start_batch(tmp_path, samples, 3, stderr=subprocess.PIPE, text=True, start_new_session=True)
    os.killpg(proc.pid, signal.SIGINT)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130, stderr
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    listed = {Path(r["output"]).name for r in rows if r["status"] == "done"}
    on_disk = {p.name for p in out.glob("*.png")}
    assert listed == on_disk and 3 <= len(on_disk) < 24


# 6. A rerun keeps what the manifest knew; other parameters are not "done".
def test_rerun_keeps_the_manifest_rows_and_the_parameters(tmp_path, samples):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for name in ("chelsea.jpg", "rocket.jpg"):
        shutil.copy(samples / name, source / name)
    assert run("batch", source, "-k", 8, "-o", out).exit_code == 0
    first = {r["input"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    assert recorded_parameters(out / "chelsea.png") == first[str(source / "chelsea.jpg")]["parameters"]
    assert first[str(source / "chelsea.jpg")]["parameters"]["k"] == 8

    again = run("batch", source, "-k", 8, "-o", out, "--json")
    assert json.loads(again.stdout)["skipped"] == 2
    rows = {r["input"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    for key, row in rows.items():
        assert row["status"] == "skipped" and row["error"] is None
        assert {**row, "status": "done"} == first[key]  # the numbers are kept

    other = run("batch", source, "-k", 16, "-o", out)
    assert other.exit_code == 0
    assert "made with k 8, not 16; --force redoes it" in other.stderr
    rows = {r["input"]: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    assert all(r["k"] == 8 and r["status"] == "skipped" and "--force" in r["error"] for r in rows.values())

    forced = run("batch", source, "-k", 16, "-o", out, "--force")
    assert forced.exit_code == 0
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert [(r["status"], r["k"]) for r in rows] == [("done", 16), ("done", 16)]
    assert recorded_parameters(out / "rocket.png")["k"] == 16


def test_manifest_keeps_rows_of_other_runs(tmp_path, samples):
    out = tmp_path / "out"
    for name in ("chelsea.jpg", "rocket.jpg"):
        assert run("batch", samples / name, "-k", 4, "-o", out).exit_code == 0
    rows = [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]
    assert sorted(Path(r["input"]).name for r in rows) == ["chelsea.jpg", "rocket.jpg"]


# 7. One file named twice is one job.
def test_same_file_twice_is_taken_once(photo, tmp_path):
    result = run("batch", photo, photo, "-k", 4, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["done"] == 1 and json.loads(result.stdout)["failed"] == 0


# 8. An input we may not read: one line, exit 1; in batch the rest goes on.
def test_unreadable_input(photo, tmp_path, samples, monkeypatch):
    """As a normal user sees it (the suite may run as root, who reads anything):
    the permission check says no, and so does the read."""
    secret = tmp_path / "secret"
    secret.mkdir()
    shutil.copy(samples / "rocket.jpg", secret / "rocket.jpg")
    locked = {str(photo), str(secret)}
    real_access, real_scandir = os.access, os.scandir

    def open_file(path, *args, **kwargs):  # quantize.reading opens every input with open()
        if str(path) in locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return open(path, *args, **kwargs)

    def scandir(path="."):
        if str(path) in locked:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "access", lambda p, *a, **k: str(p) not in locked and real_access(p, *a, **k))
    monkeypatch.setattr(reading, "open", open_file, raising=False)  # shadows the built-in there only
    monkeypatch.setattr(os, "scandir", scandir)
    result = run(photo, "-k", 4)
    assert result.exit_code == 1
    assert result.stderr == f"quantize: {photo}: cannot read: Permission denied\n"
    other = tmp_path / "other.jpg"
    shutil.copy(samples / "coffee.jpg", other)
    result = run("batch", photo, secret, other, "-k", 4, "-o", tmp_path / "out", "--json", "--jobs", 1)
    assert result.exit_code == 1
    assert json.loads(result.stdout) | {"seconds": 0} == json.loads(result.stdout) | {
        "done": 1, "failed": 2, "skipped": 0, "seconds": 0}
    assert f"quantize: {secret}: cannot read folder: Permission denied" in result.stderr
    assert f"quantize: {photo}: cannot read: Permission denied" in result.stderr


# 9. A long but legal output name.
def test_long_output_name(photo, tmp_path):
    output = tmp_path / ("x" * 245 + ".png")
    result = run(photo, "-k", 4, "-o", output, "--no-palette")
    assert result.exit_code == 0, result.output
    assert names(tmp_path) == sorted(["photo.jpg", output.name])


# 10. The image and its palette are written as a unit.
def test_disk_full_on_the_palette_writes_neither(photo, disk_full_at):
    disk_full_at(2)  # the second file: the palette
    result = run(photo, "-k", 4)
    assert result.exit_code == 1
    assert result.stderr == f"quantize: {photo.parent / 'photo-k4.gpl'}: cannot write: No space left on device\n"
    assert names(photo.parent) == ["photo.jpg"]


# 11. Decoder messages stay off stderr; bare `quantize` shows the help.
def test_libpng_messages_do_not_leak(tmp_path, capfd):
    data = bytearray(png_header_only(16, 16, rows_of_zeros=16))
    data[-20] ^= 0xFF  # in IDAT: its CRC no longer matches
    path = tmp_path / "bad-crc.png"
    path.write_bytes(bytes(data))
    try:
        imageio.read_image(path)
    except imageio.ImageReadError:
        pass
    assert capfd.readouterr().err == ""


def test_bare_quantize_shows_the_help():
    result = subprocess.run([sys.executable, "-m", "quantize"], capture_output=True, text=True)
    assert result.returncode == 2
    assert result.stderr.startswith("Usage: quantize [OPTIONS] COMMAND [ARGS]...")
    assert "error" not in result.stderr.lower()


# 12. No clear elbow where too little of the curve follows.
def test_no_knee_in_the_last_half_of_the_sweep():
    ks = np.arange(1, 17)
    d = 1000.0 / ks
    d[14:] = d[13] * np.array([0.5, 0.49])  # a sharp drop into K=15, flat after: not judged
    assert elbow.suggest_k(ks, d)[0] is None
    d = np.where(ks <= 5, 1000.0 / ks**2, 40.0 * (5 / ks) ** 0.1)  # a real knee at 5
    assert elbow.suggest_k(ks, d)[0] == 5


# 13. The output's folder is made, as in batch.
def test_output_folder_is_made(photo, tmp_path):
    result = run(photo, "-k", 4, "-o", tmp_path / "out" / "sub" / "photo.png", "--palette",
                 tmp_path / "out" / "photo.json")
    assert result.exit_code == 0, result.output
    assert names(tmp_path / "out") == ["photo.json", "sub"]


# 14. The licence in the form setuptools takes without a warning.
def test_licence_is_an_spdx_expression():
    text = (ROOT / "pyproject.toml").read_text()
    assert re.search(r'^license = "MIT"$', text, re.M)
    assert re.search(r'"setuptools>=77', text)
