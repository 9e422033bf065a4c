"""Errors carry facts; only the command line words what a user reads.

No module outside the ``quantize.cli`` package names a command-line option in a string or prints;
the library's sentences name parameters as the Python API does, and the
command line turns the errors that would name an option into the sentences
its users have always read.
"""
import ast
import json
import pickle
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

import quantize
from quantize import batch, errors
from quantize.cli import WORDS, describe
from quantize.errors import ImageReadError, OutputExistsError, ParameterError, QuantizeError
from quantize.files import OutputOptions, ReadOptions, quantize_file
from quantize.imageio import check_targets, decode_image, encode_quantized

PACKAGE = Path(quantize.__file__).resolve().parent
LIBRARY = sorted(path for path in PACKAGE.rglob("*.py") if path.relative_to(PACKAGE).parts[0] != "cli")
FLAG = re.compile(r"(?<![\w-])--[A-Za-z]")  # --max-pixels, not k-means--x or a rule of dashes
SAMPLES = PACKAGE.parent / "sample_images"


def docstrings(tree) -> set[int]:
    """The ids of the docstring nodes of a module, its classes and functions."""
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) \
                    and isinstance(first.value.value, str):
                found.add(id(first.value))
    return found


def strings(path: Path):
    """``(line, text)`` of every string literal of ``path`` but its docstrings
    (the pieces of an f-string included)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = docstrings(tree)
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            yield node.lineno, node.value


@pytest.mark.parametrize("path", LIBRARY, ids=lambda path: path.name)
def test_only_the_command_line_names_its_options(path):
    named = [f"{path.name}:{line}: {text!r}" for line, text in strings(path) if FLAG.search(text)]
    assert not named, "an option named outside quantize.cli (word it in quantize.cli.words.WORDS):\n" + "\n".join(named)


def test_the_flag_pattern():
    assert FLAG.search("use --force to overwrite it") and FLAG.search("(--max-pixels)")
    assert not FLAG.search("k-means++") and not FLAG.search("a -- b") and not FLAG.search("x--y")


@pytest.mark.parametrize("path", LIBRARY, ids=lambda path: path.name)
def test_only_the_command_line_prints(path):
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "print":
            found.append(f"print() at line {node.lineno}")
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and (
                (node.value.id == "sys" and node.attr in ("stdout", "stderr", "__stdout__", "__stderr__"))
                or (node.value.id == "click" and node.attr in ("echo", "secho"))):
            found.append(f"{node.value.id}.{node.attr} at line {node.lineno}")
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names = [alias.name for alias in node.names] + [getattr(node, "module", None) or ""]
            if any(name.split(".")[0] in ("click", "tqdm") for name in names):
                found.append(f"imports click or tqdm at line {node.lineno}")
    assert not found, f"{path.name} writes to the terminal itself: " + ", ".join(found)


def used_reasons():
    """Every ``reason="..."`` given in the package, with where."""
    for path in sorted(PACKAGE.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.keyword) and node.arg == "reason" and isinstance(node.value, ast.Constant):
                yield f"{path.name}:{node.value.lineno}", node.value.value


def test_every_reason_is_listed_and_every_wording_has_one():
    unknown = [f"{where}: {reason}" for where, reason in used_reasons() if reason not in errors.REASONS]
    assert not unknown, unknown
    assert set(WORDS) <= set(errors.REASONS)
    assert set(WORDS) <= {reason for _, reason in used_reasons()}  # no wording for an error never raised


@pytest.mark.parametrize("kind", [QuantizeError, ParameterError, ImageReadError, OutputExistsError,
                                  errors.ImageWriteError, errors.OutputLargerError, errors.QualityTooLowError,
                                  errors.Cancelled])
def test_errors_keep_their_facts_across_processes(kind):
    error = kind("x.png: too big", reason="too-many-pixels", path="x.png", parameter="max_pixels",
                 value=(4, 3), limit=10)
    again = pickle.loads(pickle.dumps(error))
    assert type(again) is kind and str(again) == str(error) and again.exit_code == kind.exit_code
    assert (again.reason, again.path, again.parameter, again.value, again.limit) == \
        ("too-many-pixels", "x.png", "max_pixels", (4, 3), 10)
    assert kind("plain").reason is None and str(kind("plain")) == "plain"


def test_too_many_pixels_facts_and_words():
    data = encode_quantized(".png", np.zeros((30, 40), np.uint8), np.zeros((1, 3), np.uint8))
    with pytest.raises(ImageReadError) as caught:
        decode_image(data, "big.png", max_pixels=1000)
    error = caught.value
    assert (error.reason, error.path, error.parameter, error.value, error.limit) == \
        ("too-many-pixels", "big.png", "max_pixels", (40, 30), 1000)
    assert str(error) == "big.png: 40x30 is 0.0 MP, above the limit of 0.001 MP (max_pixels)"
    assert describe(error) == "big.png: 40x30 is 0.0 MP, above the limit of 0.001 MP (--max-pixels)"


def test_an_existing_output(tmp_path):
    (tmp_path / "out.png").write_bytes(b"x")
    with pytest.raises(OutputExistsError) as caught:
        check_targets([tmp_path / "out.png"], inputs=[], force=False)
    assert (caught.value.reason, caught.value.parameter) == ("exists", "force")
    assert str(caught.value) == f"{tmp_path / 'out.png'}: exists; use force=True to overwrite it"
    assert describe(caught.value) == f"{tmp_path / 'out.png'}: exists; use --force to overwrite it"


def test_errors_without_an_option_read_as_the_library_words_them(tmp_path):
    with pytest.raises(OutputExistsError) as caught:
        check_targets([tmp_path / "a.png", tmp_path / "a.png"], inputs=[], force=True)
    assert caught.value.reason == "named-twice"
    assert describe(caught.value) == str(caught.value) == f"{tmp_path / 'a.png'}: named twice as an output"


def test_alpha_in_a_space_and_a_quality_target_with_a_palette(tmp_path):
    # A file with alpha is quantized in rgb, with a note that names no option (it was refused);
    # the colour path itself still refuses alpha in another space, with the facts.
    result = quantize_file(SAMPLES / "logo-rgba.png", 4, output="-", options=quantize.KMeansOptions(space="oklab"))
    assert result.notes == (f"{SAMPLES / 'logo-rgba.png'} has alpha: quantized in rgb, not oklab",)
    with pytest.raises(ParameterError) as caught:
        quantize.quantize_image(quantize.read_image(SAMPLES / "logo-rgba.png"), 4, quantize.KMeansOptions(space="oklab"))
    assert (caught.value.reason, caught.value.parameter, caught.value.value) == ("alpha-in-space", "space", "oklab")
    assert "--" not in str(caught.value)
    with pytest.raises(ParameterError) as caught:
        quantize_file(SAMPLES / "blobs.png", None, output=tmp_path / "b.png", colors=np.zeros((2, 3), np.uint8),
                      output_options=OutputOptions(quality=(50, 80)))
    assert (caught.value.reason, caught.value.path) == ("quality-and-palette", SAMPLES / "blobs.png")
    assert describe(caught.value) == (f"{SAMPLES / 'blobs.png'}: a quality target (--quality) chooses K by "
                                      "k-means: not with a palette given in advance (--map)")
    assert list(tmp_path.iterdir()) == []


def test_standard_output_is_the_callers(tmp_path, capfd):
    result = quantize_file(SAMPLES / "blobs.png", 4, output="-")
    out, err = capfd.readouterr()
    assert out == "" and err == ""
    assert result.encoded.startswith(b"\x89PNG\r\n\x1a\n") and len(result.encoded) == result.bytes_out
    assert "encoded" not in result.to_dict() and json.dumps(result.to_dict())
    written = quantize_file(SAMPLES / "blobs.png", 4, output=tmp_path / "b.png")
    assert written.encoded is None and (tmp_path / "b.png").read_bytes() == result.encoded


def test_reading_options_apart_from_writing_ones():
    options = OutputOptions(dither="ordered", read=ReadOptions(autorotate=False, max_pixels=10))
    assert (options.autorotate, options.max_pixels) == (False, 10)
    with pytest.raises(ParameterError, match="dither must be one of none, floyd-steinberg, ordered, got 'x'"):
        OutputOptions(dither="x")
    with pytest.raises(ParameterError, match="dither strength must be from 0 to 1, got 2"):
        OutputOptions(dither_strength=2)


def test_the_manifest_is_worded_by_the_caller(tmp_path):
    """A batch record keeps the error behind it; the manifest holds the words of
    whoever runs the batch: the library's by default, the command line's from it."""
    shutil.copy(SAMPLES / "blobs.png", tmp_path / "blobs.png")
    small = OutputOptions(read=ReadOptions(max_pixels=1000))
    for describer, words in ((None, "(max_pixels)"), (describe, "(--max-pixels)")):
        out = tmp_path / f"out-{words.strip('()-')}"
        work = batch.plan([tmp_path / "blobs.png"], out, 4, output_options=small)
        summary = batch.run(work, out, describe=describer)
        (record,) = summary.records
        assert record.cause.reason == "too-many-pixels" and record.error.endswith(words)
        (line,) = (out / batch.MANIFEST).read_text().splitlines()
        assert json.loads(line)["error"] == record.error and "cause" not in json.loads(line)
        assert batch.BatchRecord.from_json(line) == record
