import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from quantize import ImageReadError, ParameterError, read_image
from quantize.palette import (
    SWATCH_SIZE,
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
