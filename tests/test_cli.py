"""The command line: exit codes, messages, files written and not written."""
import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from quantize import read_image
from quantize.cli import cli
from quantize.palette import read_palette, to_hex


@pytest.fixture
def photo(tmp_path, samples):
    path = tmp_path / "astronaut.jpg"
    shutil.copy(samples / "astronaut.jpg", path)
    return path


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def uniform_posterize_psnr(rgb, levels):
    step = 256 / levels
    approx = (np.floor(rgb / step) + 0.5) * step
    return 10 * np.log10(255**2 / ((rgb - approx) ** 2).mean())


def test_default_outputs_and_summary(photo):
    result = run(photo, "-k", 8)
    assert result.exit_code == 0, result.output
    out, gpl = photo.with_name("astronaut-k8.png"), photo.with_name("astronaut-k8.gpl")
    assert out.exists() and gpl.exists()
    assert "K 8  colours 8" in result.stdout and "PSNR" in result.stdout
    assert len(result.stdout.splitlines()) == 2  # not a terminal: no colour blocks, no list
    assert read_palette(gpl).shape == (8, 3)
    listed = run(photo, "-k", 8, "--force", "--show-palette").stdout.splitlines()[2:]
    assert [line.split()[0] for line in listed] == [to_hex(c) for c in read_palette(gpl)]


def test_palette_as_colour_blocks_on_a_terminal():
    from quantize.cli import palette_lines

    entries = [{"hex": f"#{i:02x}0000", "rgb": [i, 0, 0], "share": 1 / 20} for i in range(20)]
    lines = palette_lines(entries, show_all=False, colour=True)
    assert len(lines) == 3 and lines[0].count("\x1b[48;2;") == 16 and lines[1].count("\x1b[48;2;") == 4
    assert lines[2] == "  most used: #000000 5.0%  #010000 5.0%  #020000 5.0%  #030000 5.0%  #040000 5.0%"
    assert palette_lines(entries, show_all=False, colour=False) == []
    assert len(palette_lines(entries, show_all=True, colour=True)) == 20


@pytest.mark.slow
def test_end_to_end_quality_from_the_written_file(photo):
    """Output has <= K colours, matches the reported PSNR, and clears a floor.

    The floor: k-means must beat the naive quantizer with the same number of
    colours (uniform 2 levels per channel for K=8, 4 for K=64) by at least
    5 dB; on the sample photos it does by 7-14 dB.
    """
    for k, levels in [(8, 2), (64, 4)]:
        result = run(photo, "-k", k, "--json", "--no-palette", "--force")
        assert result.exit_code == 0, result.output
        summary = json.loads(result.stdout)
        original = read_image(photo).astype(np.float64)
        written = read_image(summary["output"]).astype(np.float64)
        assert len(np.unique(written.reshape(-1, 3), axis=0)) <= k
        psnr = 10 * np.log10(255**2 / ((original - written) ** 2).mean())
        assert psnr == pytest.approx(summary["psnr_db"], abs=1e-9)
        assert psnr > uniform_posterize_psnr(original, levels) + 5


def test_json_output(photo, tmp_path):
    result = run(photo, "-k", 4, "-o", tmp_path / "o.png", "--palette", tmp_path / "o.json", "--json")
    assert result.exit_code == 0
    summary = json.loads(result.stdout)
    assert summary["k"] == 4 and summary["colors"] == 4
    assert summary["bytes_out"] == (tmp_path / "o.png").stat().st_size
    assert summary["bytes_in"] == photo.stat().st_size
    assert sum(e["share"] for e in summary["palette"]) == pytest.approx(1)
    assert json.loads((tmp_path / "o.json").read_text())["colors"] == summary["palette"]


@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".txt", ".hex", ".png", ".json", ".gpl"])
def test_palette_files_hold_the_palette(photo, tmp_path, suffix):
    """Each palette file, read back, gives the output's palette, most used first."""
    from quantize.palette import SWATCH_SIZE

    path = tmp_path / f"pal{suffix}"
    result = run(photo, "-k", 5, "-o", tmp_path / "o.png", "--palette", path, "--json")
    assert result.exit_code == 0, result.output
    expected = np.array([e["rgb"] for e in json.loads(result.stdout)["palette"]], np.uint8)
    output_colours, counts = np.unique(read_image(tmp_path / "o.png").reshape(-1, 3), axis=0, return_counts=True)
    np.testing.assert_array_equal(expected, output_colours[np.argsort(-counts, kind="stable")])
    if suffix == ".png":  # a swatch: the centre of each square
        swatch = read_image(path)
        centres = swatch[SWATCH_SIZE // 2 :: SWATCH_SIZE, SWATCH_SIZE // 2 :: SWATCH_SIZE].reshape(-1, 3)
        np.testing.assert_array_equal(centres[:5], expected)
    else:
        np.testing.assert_array_equal(read_palette(path), expected)


def test_no_palette(photo):
    assert run(photo, "-k", 3, "--no-palette").exit_code == 0
    assert not photo.with_name("astronaut-k3.gpl").exists()


def test_never_overwrites_without_force(photo):
    out = photo.with_name("astronaut-k8.png")
    out.write_bytes(b"keep me")
    result = run(photo, "-k", 8)
    assert result.exit_code == 3
    assert result.stderr == f"quantize: {out}: exists; use --force to overwrite it\n"
    assert out.read_bytes() == b"keep me"
    assert not photo.with_name("astronaut-k8.gpl").exists()  # nothing half-done
    assert run(photo, "-k", 8, "--force").exit_code == 0
    assert out.read_bytes() != b"keep me"


def test_existing_palette_also_blocks(photo):
    photo.with_name("astronaut-k8.gpl").write_text("mine")
    assert run(photo, "-k", 8).exit_code == 3
    assert not photo.with_name("astronaut-k8.png").exists()


def test_never_overwrites_the_input_even_with_force(photo):
    before = photo.read_bytes()
    result = run(photo, "-k", 8, "-o", photo, "--force")
    assert result.exit_code == 3
    assert "is the input; refusing to overwrite it" in result.stderr
    assert photo.read_bytes() == before


def test_same_seed_same_bytes(photo, tmp_path):
    for name in ("a", "b"):
        assert run(photo, "-k", 16, "--seed", 5, "-o", tmp_path / f"{name}.png").exit_code == 0
    assert (tmp_path / "a.png").read_bytes() == (tmp_path / "b.png").read_bytes()
    assert (tmp_path / "a.gpl").read_text().splitlines()[3:] == (tmp_path / "b.gpl").read_text().splitlines()[3:]


@pytest.mark.slow
def test_exact_is_speed_one_and_the_speed_is_recorded(photo, tmp_path):
    from quantize.files import recorded_parameters

    outputs = {}
    for name, args in (("exact", ["--exact"]), ("one", ["--speed", 1]), ("default", []), ("ten", ["--speed", 10])):
        outputs[name] = tmp_path / f"{name}.png"
        assert run(photo, "-k", 16, "-o", outputs[name], "--no-palette", *args).exit_code == 0
    data = {name: path.read_bytes() for name, path in outputs.items()}
    assert data["exact"] == data["one"]
    assert len(set(data.values())) == 3
    assert [recorded_parameters(outputs[n])["speed"] for n in ("one", "default", "ten")] == [1, 4, 10]


def test_space_is_used_and_recorded(photo, tmp_path, samples):
    from quantize.files import recorded_parameters

    for space in ("rgb", "oklab"):
        assert run(photo, "-k", 8, "--space", space, "-o", tmp_path / f"{space}.png", "--no-palette").exit_code == 0
        assert recorded_parameters(tmp_path / f"{space}.png")["space"] == space
    assert (tmp_path / "rgb.png").read_bytes() != (tmp_path / "oklab.png").read_bytes()
    # An image with alpha is quantized in rgb, with a note (it was refused with exit 2, though --help
    # and README promised that alpha images stay in rgb); the space asked for is what is recorded.
    result = run(samples / "logo-rgba.png", "-k", 8, "--space", "oklab", "-o", tmp_path / "logo.png")
    assert result.exit_code == 0
    assert result.stderr == f"quantize: note: {samples / 'logo-rgba.png'} has alpha: quantized in rgb, not oklab\n"
    assert recorded_parameters(tmp_path / "logo.png")["space"] == "oklab"


def test_few_colours_note(tmp_path):
    from quantize.imageio import write_quantized

    path = tmp_path / "flat.png"
    write_quantized(path, np.array([[0, 1], [2, 1]], np.uint8), np.array([[0, 0, 0], [9, 9, 9], [255, 0, 0]], np.uint8))
    result = run(path, "-k", 8)
    assert result.exit_code == 0
    assert f"quantize: note: {path} has 3 colours, no more than K=8: kept them exactly" in result.stderr
    assert "PSNR inf dB" in result.stdout
    quiet = run(path, "-k", 8, "--force", "--quiet")
    assert quiet.stderr == ""


def png_chunks(path):
    """``{type: data}`` of a PNG file's chunks (the last of each type)."""
    data, pos, chunks = path.read_bytes(), 8, {}
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        chunks[data[pos + 4:pos + 8].decode()] = data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return chunks


@pytest.mark.parametrize("name, size, bound", [("badge-rgba.png", (160, 160), 5), ("logo-rgba.png", (320, 120), 1)])
def test_rgba_becomes_a_palette_png_with_transparency(samples, tmp_path, name, size, bound):
    """The soft-edged badge and the anti-aliased logo (sample_images/make_badge.py
    and make_logo.py draw them): a palette PNG with tRNS at the fewest bits
    (or 8, where a byte a pixel deflates smaller);
    every fully transparent pixel exactly transparent, in one entry; the soft
    edge kept in several alpha levels; the mean alpha error small (measured at
    K=16 with seed 0: 3.9 and 0.36; pngquant --nofs 16 gives 9.0 and 0.37)."""
    source = read_image(samples / name)
    out = tmp_path / "out.png"
    assert run(samples / name, "-k", 16, "-o", out, "--seed", 0).exit_code == 0
    chunks = png_chunks(out)
    width, height, depth, colour_type = struct.unpack(">IIBB", chunks["IHDR"][:10])
    assert colour_type == 3 and depth in (4, 8) and (width, height) == size  # the fewest bits, or a byte a pixel
    assert 1 <= len(chunks["tRNS"]) < len(chunks["PLTE"]) // 3  # only the entries that are not opaque
    back = read_image(out)
    alpha, was = back[:, :, 3].astype(int), source[:, :, 3].astype(int)
    assert (back[was == 0] == 0).all()  # one entry: (0, 0, 0, 0)
    assert was[alpha == 0].max() < 32  # only faint pixels join it (measured: alpha 24 at most)
    edge = (was > 0) & (was < 255)
    assert len(np.unique(alpha[edge])) >= 3
    assert np.abs(alpha - was).mean() <= bound


@pytest.mark.parametrize(
    "args, code, message",
    [
        (["missing.png", "-k", "4"], 1, "quantize: {tmp}/missing.png: no such file\n"),
        (["corrupt.png", "-k", "4"], 1, "quantize: {tmp}/corrupt.png: not an image OpenCV can read (corrupt PNG: a chunk claims 544,108,404 bytes, the file has 11 left)\n"),
        (["good.png", "-k", "4", "-o", "{tmp}/good.png/x.png"], 1, "quantize: {tmp}/good.png/x.png: cannot make its folder: {tmp}/good.png is a file\n"),
        (["good.png", "-k", "4", "--seed", "-5"], 2, "quantize: error: Invalid value for '--seed': -5 is not in the range x>=0. (see 'quantize image --help')\n"),
        (["good.png", "-k", "0"], 2, "quantize: error: Invalid value for '-k' / '--colors': 0 is not in the range 1<=x<=256. (see 'quantize image --help')\n"),
        (["good.png", "-k", "257"], 2, "quantize: error: Invalid value for '-k' / '--colors': 257 is not in the range 1<=x<=256. (see 'quantize image --help')\n"),
        (["good.png"], 2, "quantize: error: give -k K or --map PALETTE (one of them) (see 'quantize image --help')\n"),
        (["good.png", "-k", "4", "--map", "{tmp}/p.gpl"], 2, "quantize: error: give -k K or --map PALETTE (one of them) (see 'quantize image --help')\n"),
        (["good.png", "-k", "4", "--dither", "atkinson"], 2, "quantize: error: Invalid value for '--dither': 'atkinson' is not one of 'none', 'floyd-steinberg', 'ordered'. (see 'quantize image --help')\n"),
        (["good.png", "-k", "4", "--dither-strength", "1.5"], 2, "quantize: error: Invalid value for '--dither-strength': 1.5 is not in the range 0<=x<=1. (see 'quantize image --help')\n"),
        (["good.png", "-k", "4", "--speed", "11"], 2, "quantize: error: Invalid value for '--speed': 11 is not in the range 1<=x<=10. (see 'quantize image --help')\n"),
        (["good.png", "-k", "4", "--init", "median-cut"], 2, "quantize: error: Invalid value for '--init': 'median-cut' is not one of 'k-means++', 'random', 'wu'. (see 'quantize image --help')\n"),
        (["good.png", "-k", "4", "-o", "{tmp}/x.svg"], 2, "quantize: {tmp}/x.svg: cannot write this format; use one of .png, .gif, .bmp, .tif, .tiff, .webp, .jpg, .jpeg\n"),
        (["good.png", "-k", "4", "--palette", "{tmp}/p.aco"], 2, "quantize: {tmp}/p.aco: unknown palette format; use one of .gpl, .json, .txt, .hex, .png\n"),
        (["good.png", "-k", "4", "-o", "{tmp}/same.png", "--palette", "{tmp}/same.png"], 3, "quantize: {tmp}/same.png: named twice as an output\n"),
    ],
)
def test_errors_are_one_line_with_exit_code(tmp_path, samples, args, code, message):
    shutil.copy(samples / "chelsea.jpg", tmp_path / "good.png")
    (tmp_path / "corrupt.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    args = [a.format(tmp=tmp_path) if "{tmp}" in a else str(tmp_path / a) if a.endswith(".png") and "/" not in a else a for a in args]
    result = run(*args)
    assert result.exit_code == code
    assert result.stderr == message.format(tmp=tmp_path)
    assert result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corrupt.png", "good.png"]


def test_every_command_has_help_with_examples():
    for name, command in cli.commands.items():
        result = run(name, "--help")
        assert result.exit_code == 0
        assert "Examples:" in result.stdout and command.help
    top = run("--help")
    assert top.exit_code == 0 and "quantize photo.jpg -k 8" in top.stdout


def test_dash_h_is_help():
    for args in ([], ["image"], ["elbow"], ["batch"]):
        short, long = run(*args, "-h"), run(*args, "--help")
        assert short.exit_code == 0 and short.stdout == long.stdout and "Usage:" in short.stdout


def test_the_cli_uses_the_library_not_the_core():
    """The command line imports nothing from the k-means core or the histogram module."""
    import ast

    import quantize.cli

    imported = set()
    for path in Path(quantize.cli.__file__).parent.glob("*.py"):
        tree = ast.parse(path.read_text())
        imported |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom)}
        imported |= {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    assert {"words", "options", "commands"} <= imported, imported  # the package's modules were read
    assert not {m for m in imported if m and ({"kmeans", "core", "histogram"} & set(m.split(".")))}, imported


def test_a_cancelled_run_exits_130_and_writes_nothing(photo, monkeypatch):
    from quantize import Cancelled, files

    def cancelled(*args, **kwargs):
        raise Cancelled("cancelled")

    monkeypatch.setattr(files, "quantize_image", cancelled)
    result = run(photo, "-k", 8)
    assert result.exit_code == 130 and result.stderr == "quantize: cancelled\n"
    assert sorted(p.name for p in photo.parent.iterdir()) == ["astronaut.jpg"]


def test_version_and_python_dash_m():
    from quantize import __version__

    proc = subprocess.run([sys.executable, "-m", "quantize", "--version"], capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout.strip() == f"quantize, version {__version__}"


def _imported_by(*args):
    """The heavy packages a fresh ``quantize ARGS`` process imported."""
    code = ("import sys, runpy; sys.argv = ['quantize', *sys.argv[1:]]\n"
            "try:\n    runpy.run_module('quantize', run_name='__main__')\nexcept SystemExit:\n    pass\n"
            "heavy = ('numpy', 'cv2', 'matplotlib', 'dask', 'tqdm', 'PIL', 'sklearn')\n"
            "print(' '.join(sorted({m.split('.')[0] for m in sys.modules} & set(heavy))), file=sys.stderr)")
    result = subprocess.run([sys.executable, "-c", code, *map(str, args)], capture_output=True, text=True)
    return set(result.stderr.strip().splitlines()[-1].split()) if result.stderr.strip() else set()


@pytest.mark.parametrize("args", [["--help"], ["batch", "--help"], ["elbow", "--help"], ["image", "-h"]])
def test_help_imports_neither_numpy_nor_opencv(args):
    assert _imported_by(*args) == set()


@pytest.mark.slow
def test_the_main_command_imports_only_what_it_uses(samples, tmp_path):
    """No matplotlib (plots), dask (clusters), tqdm (no terminal), Pillow (no GIF)."""
    assert _imported_by(samples / "chelsea.jpg", "-k", 4, "-o", tmp_path / "x.png") == {"numpy", "cv2"}


def test_the_main_command_runs_with_one_blas_thread(photo, tmp_path, monkeypatch):
    """The main command's thread policy: one BLAS thread while it works (its
    products are small blocks; and its printed figures then do not depend on
    the machine's cores), and the library's own setting again after it."""
    from threadpoolctl import threadpool_info

    from quantize import files

    real, seen = files.quantize_file, []

    def spying(*args, **kwargs):
        seen.extend(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")
        return real(*args, **kwargs)

    before = [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"]
    monkeypatch.setattr(files, "quantize_file", spying)
    result = CliRunner().invoke(cli, [str(photo), "-k", "4", "-o", str(tmp_path / "o.png"), "--no-palette"])
    assert result.exit_code == 0, result.output
    assert seen and set(seen) == {1}
    assert [info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas"] == before
