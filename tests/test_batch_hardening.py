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

from quantize import batch, imageio, read_image
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
