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
