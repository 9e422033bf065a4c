"""quantize batch under hostile conditions, second round: a folder that turns
read-only, FIFOs, mixed RGB and RGBA sets with one shared palette, swatch
names, nothing to do, and two batches into one folder.

Each test pins one defect found by a hostile probe; each failed before its fix.
"""
import errno
import fcntl
import json
import os
import shutil
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from quantize import batch, imageio, outfolder, read_image
from quantize.cli import cli
from quantize.discover import Kind, find_images

PHOTOS = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]


def run(*args):
    return CliRunner().invoke(cli, ["batch", *[str(a) for a in args]])


def rows(out):
    return [json.loads(line) for line in (out / "manifest.jsonl").read_text().splitlines()]


def chunks(path) -> dict[bytes, bytes]:
    """The first chunk of each kind of the PNG ``path``."""
    data, found, at = Path(path).read_bytes(), {}, 8
    while at < len(data):
        (size,), kind = struct.unpack(">I", data[at:at + 4]), data[at + 4:at + 8]
        found.setdefault(kind, data[at + 8:at + 8 + size])
        at += 12 + size
    return found


@pytest.fixture
def photos(tmp_path, samples):
    """in/ holding the four sample photos."""
    source = tmp_path / "in"
    source.mkdir()
    for name in PHOTOS:
        shutil.copy(samples / name, source / name)
    return source


# 7. A folder that turns read-only mid-run: the manifest still lists every finished file.
def test_manifest_lists_the_finished_files_when_the_folder_turns_read_only(photos, tmp_path, monkeypatch):
    out = tmp_path / "out"
    real_open, made = os.open, []

    def os_open(path, flags, *args, **kwargs):
        if str(path).startswith(str(out)) and str(path).endswith(".part"):  # a file written in place
            made.append(path)
            if len(made) > 4:  # two files done (image and palette each): the folder is read-only now
                raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    monkeypatch.setattr(imageio.os, "open", os_open)
    result = run(photos, "-k", 4, "-o", out, "--jobs", 1)
    assert result.exit_code == 1, result.output
    listed = {Path(r["input"]).name: r["status"] for r in rows(out)}
    assert listed == {"astronaut.jpg": "done", "chelsea.jpg": "done", "coffee.jpg": "failed", "rocket.jpg": "failed"}
    assert {p.name for p in out.glob("*.png")} == {"astronaut.png", "chelsea.png"}
    assert "manifest.jsonl" not in result.stderr  # it is whole: nothing to say about it
    assert "done 2, skipped 0, failed 2" in result.stdout


def test_a_manifest_that_cannot_be_written_is_refused_before_the_work(photos, tmp_path):
    out = tmp_path / "out"
    (out / "manifest.jsonl").mkdir(parents=True)
    result = run(photos, "-k", 4, "-o", out, "--jobs", 1)
    assert result.exit_code == 1
    assert result.stderr == f"quantize: {out / 'manifest.jsonl'}: cannot write: Is a directory\n"
    assert not list(out.glob("*.png")), "files were made that no manifest lists"


def test_a_manifest_that_stops_being_written_is_named(photos, tmp_path, monkeypatch):
    """The lines stop going through mid-run (a full disk), and the final
    manifest cannot be written either: one line naming it, exit 1."""
    out = tmp_path / "out"
    class Full:
        def __init__(self, file):
            self.file, self.lines = file, 0

        def write(self, text):
            self.lines += 1
            if self.lines > 1:
                raise OSError(errno.ENOSPC, "No space left on device")
            return self.file.write(text)

        def __getattr__(self, name):
            return getattr(self.file, name)

    def write_manifest(out_dir, records):
        raise imageio.ImageWriteError(f"{out_dir / batch.MANIFEST}: cannot write: No space left on device")

    monkeypatch.setattr(outfolder, "open", lambda *a, **k: Full(open(*a, **k)), raising=False)
    monkeypatch.setattr(batch, "write_manifest", write_manifest)
    result = run(photos, "-k", 4, "-o", out, "--jobs", 1)
    assert result.exit_code == 1
    assert result.stderr == f"quantize: {out / 'manifest.jsonl'}: cannot write: No space left on device\n"
    assert "done 4, skipped 0, failed 0" in result.stdout


# 9. FIFOs (and other files that are not regular files) are never opened by a batch.
def test_find_images_tells_a_fifo_from_a_file(tmp_path, samples):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(samples / "coffee.jpg", folder / "a.jpg")
    os.mkfifo(folder / "pipe.png")
    found = list(find_images([folder]))
    assert [(f.kind, f.path.name) for f in found] == [(Kind.FILE, "a.jpg"), (Kind.SPECIAL, "pipe.png")]
    assert found[1].detail == "a FIFO, not a regular file: skipped"
    named = list(find_images([folder / "pipe.png"]))
    assert [(f.kind, f.detail) for f in named] == [
        (Kind.PROBLEM, "a FIFO, not a regular file: a batch reads files (the main command reads a stream from -)")]
    os.symlink("missing.png", folder / "broken.png")  # not special: its read fails and says why
    assert [f.kind for f in find_images([folder]) if f.path.name == "broken.png"] == [Kind.FILE]


@pytest.mark.slow
def test_a_fifo_in_a_folder_is_skipped_with_a_note_and_one_named_fails(tmp_path, samples):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    shutil.copy(samples / "coffee.jpg", folder / "a.jpg")
    os.mkfifo(folder / "pipe.png")
    command = [sys.executable, "-m", "quantize", "batch", str(folder), "-k", "4", "-o", str(out), "--jobs", "1"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stderr == f"quantize: note: {folder / 'pipe.png'}: a FIFO, not a regular file: skipped\n"
    assert "done 1, skipped 1, failed 0" in done.stdout
    named = subprocess.run(command[:4] + [str(folder / "pipe.png")] + command[5:], capture_output=True, text=True,
                           timeout=30)
    assert named.returncode == 1
    assert named.stderr == (f"quantize: {folder / 'pipe.png'}: a FIFO, not a regular file: a batch reads files "
                            "(the main command reads a stream from -)\n")


# 16. One shared palette over RGB and RGBA images is one PLTE (and one tRNS).
def test_shared_palette_over_rgb_and_rgba_images_is_one_palette(tmp_path, samples):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    for name in ("chelsea.jpg", "coffee.jpg", "logo-rgba.png", "badge-rgba.png"):
        shutil.copy(samples / name, folder / name)
    result = run(folder, "-k", 8, "-o", out, "--shared-palette", "--jobs", 1)
    assert result.exit_code == 0, result.output
    written = sorted(out.glob("*.png"))
    assert len(written) == 4
    palettes = {(chunks(p)[b"PLTE"], chunks(p).get(b"tRNS")) for p in written}
    assert len(palettes) == 1, "one shared palette, one PLTE"
    assert next(iter(palettes))[1], "the RGBA images' transparency is kept"
    for name in ("chelsea", "coffee"):  # an RGB image takes opaque entries only, and keeps its size
        pixels = read_image(out / f"{name}.png")
        assert pixels.shape[2] == 3 or (pixels[:, :, 3] == 255).all()
        assert pixels.shape[:2] == read_image(folder / f"{name}.jpg").shape[:2]


# 17. The png swatch has a name of its own.
def test_a_png_swatch_does_not_take_the_image_name(tmp_path, samples):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    shutil.copy(samples / "chelsea.jpg", folder / "good.jpg")
    result = run(folder, "-k", 4, "-o", out, "--palette-format", "png")
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["good.palette.png", "good.png", "manifest.jsonl"]
    assert read_image(out / "good.png").shape == read_image(folder / "good.jpg").shape
    assert b"quantize" in chunks(out / "good.png")[b"tEXt"]  # the image, not the swatch


def test_a_swatch_name_taken_by_another_image_is_a_clash(tmp_path, samples):
    folder, out = tmp_path / "in", tmp_path / "out"
    folder.mkdir()
    shutil.copy(samples / "chelsea.jpg", folder / "good.jpg")
    shutil.copy(samples / "coffee.jpg", folder / "good.palette.jpg")
    result = run(folder, "-k", 4, "-o", out, "--palette-format", "png")
    assert result.exit_code == 1
    assert f"quantize: {folder / 'good.palette.jpg'}: same output as {folder / 'good.jpg'}" in result.stderr
    assert b"tEXt" not in chunks(out / "good.palette.png")  # the swatch of good.jpg, not an image


# 23. Nothing to do is said, with what was searched, and is a failure.
def test_an_empty_folder_says_nothing_matched(tmp_path):
    empty, out = tmp_path / "empty", tmp_path / "out"
    empty.mkdir()
    (empty / "notes.txt").write_text("not an image")
    result = run(empty, "-k", 4, "-o", out)
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (f"quantize: nothing matched: searched {empty} for the image types OpenCV reads "
                             "(*.png *.jpg *.jpeg *.bmp *.tif *.tiff *.webp *.gif), not in sub-folders "
                             "(-r searches them)\n")
    assert not out.exists(), "nothing to do, nothing written"


def test_a_pattern_that_matches_nothing(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    result = run(photos, tmp_path, "-k", 4, "-o", out, "-r", "--pattern", "*.xyz", "--pattern", "*.abc")
    assert result.exit_code == 1
    assert result.stderr == (f"quantize: nothing matched: searched {photos}, {tmp_path} for *.xyz *.abc, "
                             "sub-folders too\n")
    assert list(out.iterdir()) == []
    dry = run(photos, "-k", 4, "-o", out, "--pattern", "*.xyz", "--dry-run")
    assert dry.exit_code == 1 and dry.stderr.startswith("quantize: nothing matched: searched")


# 24. One batch at a time into a folder; a killed one leaves no warning behind.
def test_a_folder_in_use_is_refused(photos, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with open(out / outfolder.LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        lock.write("4242\n")
        lock.flush()
        result = run(photos, "-k", 4, "-o", out, "--jobs", 1)
    assert result.exit_code == 3
    assert result.stderr == f"quantize: {out}: in use by another quantize batch (pid 4242)\n"
    assert sorted(p.name for p in out.iterdir()) == [outfolder.LOCK]


def test_the_lock_is_held_for_the_run_and_removed_after(photos, tmp_path, monkeypatch):
    out = tmp_path / "out"
    seen = []

    def on_record(record):
        with open(out / outfolder.LOCK) as other:  # another process's attempt, as flock sees it
            try:
                fcntl.flock(other, fcntl.LOCK_EX | fcntl.LOCK_NB)
                seen.append("free")
            except BlockingIOError:
                seen.append(other.read().strip())

    summary = batch.run(batch.plan([photos], out, 4), out, on_record=on_record)
    assert summary.done == 4 and seen == [str(os.getpid())] * 4
    assert not (out / outfolder.LOCK).exists()


@pytest.mark.slow
def test_a_second_batch_is_refused_and_kill_9_leaves_no_warning(tmp_path, samples):
    source, out = tmp_path / "in", tmp_path / "out"
    source.mkdir()
    for i in range(30):
        shutil.copy(samples / "coffee.jpg", source / f"p{i:02}.jpg")
    command = [sys.executable, "-m", "quantize", "batch", str(source), "-k", "64", "-o", str(out), "--exact",
               "--quiet"]
    first = subprocess.Popen(command + ["--jobs", "2"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("*.gpl"))) < 2:
        time.sleep(0.02)
    second = subprocess.run(command + ["--jobs", "1"], capture_output=True, text=True, timeout=30)
    assert second.returncode == 3
    assert second.stderr == f"quantize: {out}: in use by another quantize batch (pid {first.pid})\n"
    first.kill()
    _, stderr = first.communicate(timeout=30)  # its stderr closes when the last process holding it ends
    assert stderr == "", "a killed batch leaves nothing on stderr"
    finished = source / sorted(out.glob("*.gpl"))[0].with_suffix(".jpg").name
    third = subprocess.run(command[:4] + [str(finished)] + command[5:] + ["--json"], capture_output=True, text=True,
                           timeout=30)
    assert third.returncode == 0, third.stderr  # the lock died with the first batch
    assert json.loads(third.stdout)["skipped"] == 1
