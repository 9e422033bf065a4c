"""What users see of the output: upright photos, palettes given in advance,
GIF, files kept only when smaller, pipes."""
import io
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from quantize import read_image
from quantize.cli import cli
from quantize.exif import orient
from quantize.palette import read_palette


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def plte(path):
    """The PLTE chunk's colours of a PNG file, ``(m, 3)``."""
    data, pos = path.read_bytes(), 8
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        if data[pos + 4:pos + 8] == b"PLTE":
            return np.frombuffer(data[pos + 8:pos + 8 + length], np.uint8).reshape(-1, 3)
        pos += 12 + length
    raise AssertionError("no PLTE")


def jpeg_with_orientation(path, pixels, value):
    """``pixels`` stored as they are, with EXIF Orientation ``value``."""
    exif = Image.Exif()
    exif[0x0112] = value
    Image.fromarray(pixels).save(path, quality=95, exif=exif.tobytes())


@pytest.mark.parametrize("value", [3, 6, 8])
def test_photos_come_out_upright(tmp_path, value):
    stored = np.zeros((40, 60, 3), np.uint8)
    stored[:10, :10] = (255, 0, 0)  # a red corner, top left as stored
    stored[-10:, :] = (0, 0, 255)  # a blue band at the stored bottom
    path = tmp_path / "photo.jpg"
    jpeg_with_orientation(path, stored, value)
    decoded_as_stored = read_image(path, autorotate=False)
    assert run(path, "-k", 4, "-o", tmp_path / "up.png", "--no-palette").exit_code == 0
    up = read_image(tmp_path / "up.png")
    expected = orient(decoded_as_stored, value)
    assert up.shape == expected.shape == ((60, 40, 3) if value in (6, 8) else (40, 60, 3))
    assert np.abs(up.astype(int) - expected).mean() < 8  # 4 colours of the upright picture
    upright_pillow = np.array(Image.open(path).transpose(
        {3: Image.Transpose.ROTATE_180, 6: Image.Transpose.ROTATE_270, 8: Image.Transpose.ROTATE_90}[value]))
    assert np.abs(up.astype(int) - upright_pillow).mean() < 8  # as a viewer shows it
    assert run(path, "-k", 4, "-o", tmp_path / "kept.png", "--no-palette", "--no-autorotate").exit_code == 0
    assert read_image(tmp_path / "kept.png").shape == (40, 60, 3)


def test_map_uses_only_the_given_colours_in_their_order(tmp_path, samples):
    given = np.array([[0, 0, 0], [255, 255, 255], [200, 60, 40], [40, 90, 160], [90, 140, 60]], np.uint8)
    (tmp_path / "brand.hex").write_text("".join(f"#{r:02x}{g:02x}{b:02x}\n" for r, g, b in given))
    out = tmp_path / "out.png"
    for dither in ("none", "floyd-steinberg"):
        result = run(samples / "chelsea.jpg", "--map", tmp_path / "brand.hex", "-o", out, "--force",
                     "--dither", dither, "--json")
        assert result.exit_code == 0, result.output
        pixels = read_image(out).reshape(-1, 3)
        assert {tuple(p) for p in np.unique(pixels, axis=0)} <= {tuple(c) for c in given}
        np.testing.assert_array_equal(plte(out), given)  # whole, in order
        assert json.loads(result.stdout)["parameters"]["dither"] == dither


def test_map_from_an_image_with_too_many_colours(tmp_path, samples):
    result = run(samples / "chelsea.jpg", "--map", samples / "coffee.jpg", "-o", tmp_path / "x.png")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"quantize: {samples / 'coffee.jpg'}: has ")
    assert result.stderr.endswith(" colours; a palette holds at most 256\n")


def test_batch_shared_palette_is_the_same_in_every_file(tmp_path, samples):
    source = tmp_path / "in"
    source.mkdir()
    for name in ("chelsea.jpg", "rocket.jpg", "coffee.jpg"):
        shutil.copy(samples / name, source / name)
    result = run("batch", source, "-k", 16, "-o", tmp_path / "out", "--shared-palette", "--jobs", 1)
    assert result.exit_code == 0, result.output
    palettes = [plte(p) for p in sorted((tmp_path / "out").glob("*.png"))]
    assert len(palettes) == 3 and len(palettes[0]) == 16
    assert all((p == palettes[0]).all() for p in palettes)
    # with --map the same, and the given palette's colours
    result = run("batch", source, "--map", tmp_path / "out" / "chelsea.gpl", "-o", tmp_path / "mapped", "--jobs", 1)
    assert result.exit_code == 0, result.output
    for path in (tmp_path / "mapped").glob("*.png"):
        np.testing.assert_array_equal(plte(path), read_palette(tmp_path / "out" / "chelsea.gpl"))


def test_gif_holds_our_palette(tmp_path, samples):
    out = tmp_path / "cat.gif"
    assert run(samples / "chelsea.jpg", "-k", 16, "-o", out).exit_code == 0
    ours = read_palette(tmp_path / "cat.gpl")
    gif = Image.open(out)
    assert gif.format == "GIF"
    np.testing.assert_array_equal(np.array(gif.getpalette()[:3 * len(ours)], np.uint8).reshape(-1, 3), ours)
    np.testing.assert_array_equal(read_image(out), ours[np.array(gif)])


def test_gif_transparency(tmp_path, samples):
    out = tmp_path / "badge.gif"
    assert run(samples / "badge-rgba.png", "-k", 8, "-o", out, "--no-palette").exit_code == 0
    gif = Image.open(out)
    source = read_image(samples / "badge-rgba.png")
    transparent = np.array(gif) == gif.info["transparency"]
    assert transparent[source[:, :, 3] == 0].all()


def test_skip_if_larger(tmp_path, samples):
    tiny = tmp_path / "tiny.jpg"  # a smooth gradient as a low-quality JPEG: 256 colours dithered are larger
    ramp = np.linspace(0, 255, 128)
    Image.fromarray(np.dstack([*np.meshgrid(ramp, ramp), ramp[::-1, None] + 0 * ramp]).astype(np.uint8)).save(
        tiny, quality=20)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run(tiny, "-k", 256, "--dither", "floyd-steinberg", "--skip-if-larger")
    assert result.exit_code == 98, result.output
    assert result.stderr.startswith(f"quantize: {tiny}: the output would be larger than the input (")
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    big = tmp_path / "cat.bmp"  # uncompressed: its output is smaller
    Image.open(samples / "chelsea.jpg").save(big)
    batch = run("batch", tiny, big, "-k", 256, "--dither", "floyd-steinberg", "-o",
                tmp_path / "out", "--skip-if-larger", "--json", "--jobs", 1)
    assert batch.exit_code == 0, batch.output
    assert json.loads(batch.stdout)["skipped"] == 1 and json.loads(batch.stdout)["done"] == 1
    rows = {json.loads(line)["input"]: json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").open()}
    assert rows[str(tiny)]["status"] == "skipped" and rows[str(tiny)]["error"].endswith("(larger)")


@pytest.mark.slow
def test_pipe_round_trip(samples):
    data = (samples / "chelsea.jpg").read_bytes()
    result = subprocess.run([sys.executable, "-m", "quantize", "-", "-k", "16", "-o", "-", "--json"],
                            input=data, capture_output=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(b"\x89PNG\r\n\x1a\n")
    image = np.array(Image.open(io.BytesIO(result.stdout)).convert("RGB"))
    assert image.shape == read_image(samples / "chelsea.jpg").shape
    assert len(np.unique(image.reshape(-1, 3), axis=0)) <= 16
    summary = json.loads(result.stderr.decode().splitlines()[-1])  # the summary goes to stderr
    assert summary["colors"] <= 16 and summary["palette_file"] is None


def test_stdin_needs_an_output():
    result = run("-", "-k", 4, input=b"")
    assert result.exit_code == 2
    assert "reading the image from stdin (-) needs -o" in result.stderr


def test_encode_indexed_places_ancillary_chunks_in_the_spec_order():
    """Colour-space chunks go before PLTE, the others after it and before IDAT."""
    from quantize import png

    data = png.encode_indexed(np.zeros((2, 2), np.uint8), np.zeros((1, 3), np.uint8),
                              chunks=[(b"pHYs", bytes(9)), (b"sRGB", b"\0")])
    kinds, pos = [], 8
    while pos < len(data):
        length = int.from_bytes(data[pos:pos + 4], "big")
        kinds.append(data[pos + 4:pos + 8])
        pos += 12 + length
    assert kinds == [b"IHDR", b"sRGB", b"PLTE", b"pHYs", b"IDAT", b"IEND"]
    assert np.asarray(Image.open(io.BytesIO(data))).tolist() == [[0, 0], [0, 0]]
