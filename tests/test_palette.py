import json
import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from quantize import ImageReadError, ParameterError, read_image
from quantize.palette import (
    SWATCH_SIZE,
    load_palette,
    palette_entries,
    read_palette,
    write_palette,
)

palettes = arrays(np.uint8, st.tuples(st.integers(1, 40), st.just(3)))


@settings(max_examples=30, deadline=None)
@given(palette=palettes, suffix=st.sampled_from([".gpl", ".json", ".txt", ".hex"]))
def test_round_trip(tmp_path_factory, palette, suffix):
    path = tmp_path_factory.mktemp("p") / f"pal{suffix}"
    counts = np.arange(len(palette), 0, -1)
    write_palette(path, palette, counts)
    np.testing.assert_array_equal(read_palette(path), palette)


def test_json_has_hex_rgb_count_and_share(tmp_path):
    palette = np.array([[255, 0, 0], [0, 128, 255]], np.uint8)
    write_palette(tmp_path / "p.json", palette, np.array([3, 1]), name="demo")
    data = json.loads((tmp_path / "p.json").read_text())
    assert data["name"] == "demo"
    assert data["colors"] == [
        {"hex": "#ff0000", "rgb": [255, 0, 0], "count": 3, "share": 0.75},
        {"hex": "#0080ff", "rgb": [0, 128, 255], "count": 1, "share": 0.25},
    ]


def test_gpl_is_a_gimp_palette(tmp_path):
    write_palette(tmp_path / "p.gpl", np.array([[1, 2, 3]], np.uint8), np.array([5]), name="x")
    lines = (tmp_path / "p.gpl").read_text().splitlines()
    assert lines[:3] == ["GIMP Palette", "Name: x", "Columns: 1"]
    assert lines[-1].split()[:3] == ["1", "2", "3"]


def test_swatch_shows_each_colour(tmp_path):
    palette = np.random.default_rng(0).integers(0, 256, size=(20, 3), dtype=np.uint8)
    write_palette(tmp_path / "s.png", palette, np.ones(20))
    swatch = read_image(tmp_path / "s.png")
    assert swatch.shape == (2 * SWATCH_SIZE, 16 * SWATCH_SIZE, 3)
    centres = swatch[SWATCH_SIZE // 2 :: SWATCH_SIZE, SWATCH_SIZE // 2 :: SWATCH_SIZE].reshape(-1, 3)
    np.testing.assert_array_equal(centres[:20], palette)


def test_shares_sum_to_one():
    entries = palette_entries(np.zeros((3, 3), np.uint8), np.array([1, 2, 7]))
    assert sum(e["share"] for e in entries) == pytest.approx(1.0)


def test_bad_palette_files(tmp_path):
    with pytest.raises(ParameterError, match="unknown palette format"):
        write_palette(tmp_path / "p.aco", np.zeros((1, 3), np.uint8), np.ones(1))
    (tmp_path / "bad.txt").write_text("#12345g\n")
    with pytest.raises(ImageReadError, match="not a valid .txt palette"):
        read_palette(tmp_path / "bad.txt")


# --- palette files given in advance (--map): refused in one line naming the file, or read -------------

BINARY = {
    ".gpl": bytes(range(256)) * 4,
    ".json": b"\xff\xfe\x00" * 50,
    ".txt": b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff",
    ".hex": b"\x80\x81\n",
}


@pytest.mark.parametrize("suffix", sorted(BINARY))
def test_binary_palette_files_are_refused_naming_the_file(tmp_path, suffix):
    path = tmp_path / f"binary{suffix}"
    path.write_bytes(BINARY[suffix])
    with pytest.raises(ImageReadError, match=rf"^{re.escape(str(path))}: not a valid \{suffix} palette \(") as caught:
        read_palette(path)
    assert caught.value.path == path and "\n" not in str(caught.value)


TOO_MANY = "".join(f"#{i:06x}\n" for i in range(300))
REFUSED = {  # file name, content, what the message says after the file's name
    "many.hex": (TOO_MANY, "has 300 colours; a palette holds at most 256"),
    "many.json": (json.dumps({"colors": [{"rgb": [i % 256, 0, 0]} for i in range(257)]}), "has 257 colours"),
    "two.json": ('{"colors": [{"rgb": [1, 2]}]}', "colour 1: 2 values"),
    "five.json": ('{"colors": [{"rgb": [1, 2, 3, 4, 5]}]}', "colour 1: 5 values"),
    "alpha-too.json": ('{"colors": [{"rgb": [1, 2, 3, 4], "alpha": 9}]}', "colour 1: 5 values"),
    "float.json": ('{"colors": [{"rgb": [10.7, 2, 3]}]}', "colour 1: 10.7 is not a whole number from 0 to 255"),
    "bool.json": ('{"colors": [{"rgb": [true, 2, 3]}]}', "colour 1: True is not a whole number from 0 to 255"),
    "big.json": ('{"colors": [{"rgb": [1, 2, 300]}]}', "colour 1: 300 is not a whole number from 0 to 255"),
    "none.json": ('{"name": "x"}', "no \"colors\""),
    "empty.json": ('{"colors": []}', "no colours"),
    "two.gpl": ("GIMP Palette\n#\n1 2\n3 4\n", "line 3: expected R G B"),
    "word.gpl": ("GIMP Palette\n1 2 3 red\n1 two 3\n", "line 3: expected R G B"),
    "big.gpl": ("GIMP Palette\n1 2 256\n", "line 2: 256 is not a whole number from 0 to 255"),
    "rgba.gpl": ("GIMP Palette\nChannels: RGBA\n1 2 3\n", "line 3: expected R G B A"),
    "odd.txt": ("#ff0000\n#12345\n", "line 2: '#12345' is not a colour"),
    "empty.hex": ("\n; nothing\n", "no colours"),
}


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_palette_files_with_bad_content_are_refused_naming_the_file(tmp_path, name):
    content, cause = REFUSED[name]
    path = tmp_path / name
    path.write_text(content)
    for read in (read_palette, load_palette):
        with pytest.raises(ImageReadError) as caught:
            read(path)
        message = str(caught.value)
        assert message.startswith(f"{path}: ") and cause in message and "\n" not in message, message
        assert caught.value.path == path


def test_a_float_colour_is_refused_not_truncated(tmp_path):
    path = tmp_path / "p.json"
    path.write_text('{"colors": [{"rgb": [10.7, 2, 3]}, {"rgb": [0, 0, 0]}]}')
    with pytest.raises(ImageReadError, match="10.7") as caught:
        read_palette(path)
    assert caught.value.value == 10.7
    path.write_text('{"colors": [{"rgb": [10.0, 2, 3]}]}')  # a whole number written as a float loses nothing
    np.testing.assert_array_equal(read_palette(path), [[10, 2, 3]])


HAND_WRITTEN = {  # name, bytes, the colours read
    # GIMP: header, Name/Columns, '#' comments, names after the values (tabs or spaces)
    "gimp.gpl": (b"GIMP Palette\nName: Two\nColumns: 2\n#\n# a comment\n255   0   0\tRed\n  0 128 255 Sky blue\n",
                 [[255, 0, 0], [0, 128, 255]]),
    "bom.gpl": (b"\xef\xbb\xbfGIMP Palette\r\nName: x\r\n  1   2   3\tUntitled\r\n", [[1, 2, 3]]),
    # Aseprite's extension: Channels: RGBA and a fourth value
    "aseprite.gpl": (b"GIMP Palette\nChannels: RGBA\n#\n  0   0   0   0 Transparent\n254  91  89 255 Red\n",
                     [[0, 0, 0, 0], [254, 91, 89, 255]]),
    # Lospec .hex: one RRGGBB a line, no '#'
    "lospec.hex": (b"ff0000\n00ff00\n0000ff\n", [[255, 0, 0], [0, 255, 0], [0, 0, 255]]),
    "commented.hex": (b"# from lospec\n; by hand\n\nff0000\n  #00FF00  \n", [[255, 0, 0], [0, 255, 0]]),
    "bom.txt": (b"\xef\xbb\xbf#ff0000\n#00ff00\n", [[255, 0, 0], [0, 255, 0]]),
    "bom.hex": (b"\xef\xbb\xbfff0000\r\n", [[255, 0, 0]]),
    # Paint.NET: ';' comments, AARRGGBB without '#'
    "paintnet.txt": (b"; paint.net Palette File\n; Lines that start with a semicolon are comments\n"
                     b"; Colors are written as 8-digit hexadecimal numbers: aarrggbb\nFFFF0000\nFF00FF00\n",
                     [[255, 0, 0], [0, 255, 0]]),
    "paintnet-clear.txt": (b"; paint.net Palette File\n00000000\nFF0000FF\n", [[0, 0, 0, 0], [0, 0, 255, 255]]),
    # ours: '#rrggbbaa' (CSS order) stays RGBA as written
    "ours.txt": (b"#ff000080\n#00ff00\n", [[255, 0, 0, 128], [0, 255, 0, 255]]),
    # Lospec JSON: colours as hex strings; an entry may give only its hex
    "lospec.json": (b'{"name": "x", "author": "", "colors": ["ff0000", "00ff00"]}', [[255, 0, 0], [0, 255, 0]]),
    "hex-only.json": (b'{"colors": [{"hex": "#0000ff"}]}', [[0, 0, 255]]),
    "lists.json": (b'{"colors": [[1, 2, 3], [4, 5, 6, 7]]}', [[1, 2, 3, 255], [4, 5, 6, 7]]),
    "bom.json": (b'\xef\xbb\xbf{"colors": [{"rgb": [1, 2, 3]}]}', [[1, 2, 3]]),
}


@pytest.mark.parametrize("name", sorted(HAND_WRITTEN))
def test_palette_files_people_write_are_read(tmp_path, name):
    content, expected = HAND_WRITTEN[name]
    path = tmp_path / name
    path.write_bytes(content)
    np.testing.assert_array_equal(read_palette(path), np.array(expected, np.uint8))


def test_a_huge_palette_file_is_refused_without_reading_it_all(tmp_path):
    path = tmp_path / "huge.txt"
    with open(path, "wb") as file:
        file.truncate(64 << 20)  # sparse: 64 MiB of zeros
    with pytest.raises(ImageReadError, match=r"huge.txt: not a valid \.txt palette \(over 4 MiB\)"):
        read_palette(path)
