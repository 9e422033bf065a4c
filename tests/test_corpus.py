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

A case with ``args`` runs that command line instead (``{input}`` stands for
the case's file; the files of ``with`` are placed beside it, those named
``DIR/NAME`` in a folder DIR): palettes given with --map, vectors for
``quantize cluster``, a folder for ``quantize batch``.  Its exit code and
``expect`` are checked as above, and on success the paths of ``outputs``
exist.  The file ``<fifo>`` is a named pipe, ``pipe.png``, fed the bytes of
the first ``with`` file by a thread (the first ``with`` file is then not
placed).
"""
import json
import os
import shutil
import threading
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


def place(file: str, folder: Path, feed: bytes = b"") -> str:
    """Put the case's input into ``folder``; the name to give the CLI."""
    if file == "<fifo>":
        os.mkfifo(folder / "pipe.png")

        def write():
            with open(folder / "pipe.png", "wb") as pipe:
                try:
                    pipe.write(feed)
                except BrokenPipeError:
                    pass

        threading.Thread(target=write, daemon=True).start()
        return "pipe.png"
    if file == "<folder>":
        (folder / "a-folder.png").mkdir()
        return "a-folder.png"
    if file == "<missing>":
        return "missing.png"
    shutil.copyfile(CORPUS / "files" / file, folder / file)
    return file


def palette_chunks(data: bytes) -> bytes:
    """The PLTE and tRNS chunks of a PNG file, as they are stored."""
    found, at = b"", 8
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "big")
        if data[at + 4:at + 8] in (b"PLTE", b"tRNS"):
            found += data[at:at + 12 + length]
        at += 12 + length
    return found


def colours(image: np.ndarray) -> int:
    """Distinct colours of a decoded image, alpha left out."""
    pixels = image.reshape(-1, 1) if image.ndim == 2 else image[:, :, :3].reshape(-1, 3)
    return len(np.unique(pixels, axis=0))


@pytest.mark.parametrize("case", CASES, ids=[case["file"] for case in CASES])
def test_corpus(case, tmp_path, monkeypatch, capfd):
    extra = list(case.get("with", []))
    feed = b""
    if case["file"] == "<fifo>":
        feed = (CORPUS / "files" / extra.pop(0)).read_bytes()
    name = place(case["file"], tmp_path, feed)
    for other in extra:
        (tmp_path / other).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(CORPUS / "files" / Path(other).name, tmp_path / other)
    before = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    monkeypatch.chdir(tmp_path)
    args = [arg.replace("{input}", name) for arg in case["args"]] if "args" in case else \
        ["image", "-k", "4", "-o", "out.png", "--palette", "out.gpl", "--seed", "0", "--", name]
    result = CliRunner().invoke(cli, args)
    fd2 = capfd.readouterr().err
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        pytest.fail("".join(traceback.format_exception(*result.exc_info)) + result.stderr)
    shown = f"exit {result.exit_code}, stderr {result.stderr!r}, fd 2 {fd2!r}"
    assert "Traceback" not in result.output + fd2, shown
    assert all(line.startswith(PREFIX) for line in fd2.splitlines()), shown
    assert all(line.startswith(PREFIX) for line in result.stderr.splitlines()), shown
    assert result.exit_code == case["exit"], shown
    after = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    if case["exit"] and case.get("outputs"):  # a batch: the bad file reported, the others done
        assert case["expect"].lower() in result.stderr.lower(), shown
        assert all((tmp_path / output).exists() for output in case["outputs"]), (after, shown)
        return
    if case["exit"]:
        assert len(result.stderr.splitlines()) == 1, shown
        assert case.get("names", name) in result.stderr and case["expect"].lower() in result.stderr.lower(), shown
        assert after == before
        return
    assert case["expect"].lower() in result.stderr.lower(), shown
    if "args" in case:
        assert all((tmp_path / output).exists() for output in case["outputs"]), (after, shown)
        if case.get("same_palette"):
            palettes = {palette_chunks((tmp_path / output).read_bytes()) for output in case["outputs"]}
            assert len(palettes) == 1, palettes
        return
    assert after == sorted(before + ["out.gpl", "out.png"])
    out = cv2.imread("out.png", cv2.IMREAD_UNCHANGED)
    assert out is not None
    shape = list(out.shape[:2])
    assert (sorted(shape) == sorted(case["shape"])) if case.get("any_orientation") else shape == case["shape"]
    assert colours(out) <= 4
