"""The CLI on a corpus of bad and odd image files (tests/corpus/, made by make_corpus.py).

Each case of tests/corpus/expected.json is copied alone into a fresh folder
and run from there as

    quantize image -k 4 -o out.png --palette out.gpl --seed 0 -- INPUT

in-process (Click's CliRunner), with pytest's capfd catching what C libraries
(libpng, libjpeg) write straight to file descriptor 2.  The contract:

* Never a traceback; file descriptor 2 gets nothing but lines starting
  ``quantize: ``; so does Click's stderr.
* exit 0: out.png and out.gpl exist and nothing else was added; out.png has
  the input's height and width (either orientation for the EXIF case) and at
  most 4 colours (alpha, which is kept as it was, is not counted); ``expect`` (e.g. "frames"
  for an animation or a multi-page TIFF) is in stderr.
* exit 1: stderr is one line, ``quantize: ...``, naming the input and holding
  ``expect`` (the cause; ``--max-pixels`` for images too large); the folder
  holds only what was there before (no output, no palette, no .part file).
"""
import json
import os
import shutil
import traceback
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from quantize.cli import cli

pytestmark = pytest.mark.slow

CORPUS = Path(__file__).resolve().parent / "corpus"
CASES = json.loads((CORPUS / "expected.json").read_text("utf-8"))
PREFIX = "quantize: "


def place(file: str, folder: Path) -> str:
    """Put the case's input into ``folder``; the name to give the CLI."""
    if file == "<folder>":
        (folder / "a-folder.png").mkdir()
        return "a-folder.png"
    if file == "<missing>":
        return "missing.png"
    shutil.copyfile(CORPUS / "files" / file, folder / file)
    return file


def colours(image: np.ndarray) -> int:
    """Distinct colours of a decoded image, alpha left out."""
    pixels = image.reshape(-1, 1) if image.ndim == 2 else image[:, :, :3].reshape(-1, 3)
    return len(np.unique(pixels, axis=0))


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_corpus(case, tmp_path, monkeypatch, capfd):
    name = place(case["file"], tmp_path)
    before = sorted(os.listdir(tmp_path))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["image", "-k", "4", "-o", "out.png", "--palette", "out.gpl",
                                      "--seed", "0", "--", name])
    fd2 = capfd.readouterr().err
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail("".join(traceback.format_exception(*result.exc_info)) + result.stderr)
    shown = f"exit {result.exit_code}, stderr {result.stderr!r}, fd 2 {fd2!r}"
    assert "Traceback" not in result.output + fd2, shown
    assert all(line.startswith(PREFIX) for line in fd2.splitlines()), shown
    assert all(line.startswith(PREFIX) for line in result.stderr.splitlines()), shown
    assert result.exit_code == case["exit"], shown
    if case["exit"]:
        assert len(result.stderr.splitlines()) == 1, shown
        assert name in result.stderr and case["expect"].lower() in result.stderr.lower(), shown
        assert sorted(os.listdir(tmp_path)) == before
        return
    assert sorted(os.listdir(tmp_path)) == sorted(before + ["out.gpl", "out.png"])
    assert case["expect"].lower() in result.stderr.lower(), shown
    out = cv2.imread("out.png", cv2.IMREAD_UNCHANGED)
    assert out is not None
    shape = list(out.shape[:2])
    assert (sorted(shape) == sorted(case["shape"])) if case.get("any_orientation") else shape == case["shape"]
    assert colours(out) <= 4
