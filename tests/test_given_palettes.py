"""Palettes given in advance on the command line (``--map``, ``batch --map``): a
bad palette file is one line, ``quantize: FILE: cause``, with exit code 1 and
nothing written; a palette file people write by hand is used as written."""
import json

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from quantize.cli import cli

BAD = {  # palette file name: (bytes, what the line says after the file's name)
    "binary.gpl": (bytes(range(256)) * 4, "not a valid .gpl palette (not UTF-8 text"),
    "binary.json": (b"\xff\xfe\x00" * 50, "not a valid .json palette (not UTF-8 text"),
    "binary.txt": (b"\x89PNG\r\n\x1a\n\xff", "not a valid .txt palette (not UTF-8 text"),
    "binary.hex": (b"\x80\x81\n", "not a valid .hex palette (not UTF-8 text"),
    "many.hex": ("".join(f"#{i:06x}\n" for i in range(300)).encode(), "has 300 colours; a palette holds at most 256"),
    "two.json": (b'{"colors": [{"rgb": [1, 2]}]}', "colour 1: 2 values"),
    "five.json": (b'{"colors": [{"rgb": [1, 2, 3, 4, 5]}]}', "colour 1: 5 values"),
    "float.json": (b'{"colors": [{"rgb": [10.7, 2, 3]}, {"rgb": [0, 0, 0]}]}', "10.7 is not a whole number"),
    "two.gpl": (b"GIMP Palette\n1 2\n3 4\n", "line 2: expected R G B"),
    "rows.txt": (b"#ff0000\nred\n", "line 2: 'red' is not a colour"),
}


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def picture(tmp_path):
    rng = np.random.default_rng(0)
    cv2.imwrite(str(tmp_path / "in.png"), rng.integers(0, 256, (12, 16, 3), dtype=np.uint8))
    return tmp_path / "in.png"


@pytest.mark.parametrize("name", sorted(BAD))
def test_a_bad_palette_file_is_one_line_naming_it(picture, name):
    folder = picture.parent
    content, cause = BAD[name]
    (folder / name).write_bytes(content)
    before = sorted(p.name for p in folder.iterdir())
    result = run(picture, "--map", folder / name, "-o", folder / "out.png")
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"quantize: {folder / name}: ") and cause in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert sorted(p.name for p in folder.iterdir()) == before


@pytest.mark.parametrize("name", ["many.hex", "five.json", "binary.gpl"])
def test_batch_map_names_the_palette_file(picture, name):
    folder = picture.parent
    content, cause = BAD[name]
    (folder / name).write_bytes(content)
    result = run("batch", picture, "--map", folder / name, "-o", folder / "out", "--jobs", 1)
    assert result.exit_code == 1, result.output
    assert result.stderr.startswith(f"quantize: {folder / name}: ") and cause in result.stderr, result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not (folder / "out").exists()


def test_a_hand_written_palette_is_used_as_written(picture):
    folder = picture.parent
    (folder / "paint.txt").write_bytes(b"\xef\xbb\xbf; paint.net Palette File\n; aarrggbb\nFFFF0000\nFF0000FF\n")
    result = run(picture, "--map", folder / "paint.txt", "-o", folder / "out.png", "--json")
    assert result.exit_code == 0, result.stderr
    assert [entry["hex"] for entry in json.loads(result.stdout)["palette"]] in (
        ["#ff0000", "#0000ff"], ["#0000ff", "#ff0000"])

