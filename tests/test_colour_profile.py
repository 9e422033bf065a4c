"""Colour management: profiles found in every container, converted to sRGB by
littlecms, the output tagged sRGB; sRGB and untagged inputs left to the byte.

The wide-gamut profile is Adobe RGB (1998) made by
:func:`quantize.colour_profile.matrix_profile` from its published primaries
and gamma 563/256; it is checked against the Adobe RGB values of sRGB's
primaries worked out here from the same published numbers with NumPy
(not littlecms), so the profile is not only checked against itself.
"""
import io
import struct
import zlib

import cv2
import numpy as np
import pytest
from PIL import Image, ImageCms

from quantize import colour_profile as cp
from quantize.exif import png_chunks
from quantize.files import OutputOptions, ReadOptions, quantize_file
from quantize.metrics import ciede2000
from quantize.png import encode_truecolor
from quantize.reading import decode_image, read_image_file
from quantize.spaces import srgb_to_lab

ADOBE = ((0.3127, 0.3290), (0.64, 0.33), (0.21, 0.71), (0.15, 0.06))
ADOBE_GAMMA = 563 / 256


@pytest.fixture(scope="module")
def adobe() -> bytes:
    return cp.matrix_profile(*ADOBE, ADOBE_GAMMA, name="Adobe RGB (1998) test")


PATCHES = np.array([[230, 30, 30], [30, 200, 40], [40, 60, 220], [250, 220, 20], [20, 210, 220], [210, 40, 200],
                    [255, 128, 0], [120, 60, 20], [60, 120, 60], [150, 170, 230], [240, 200, 180], [90, 0, 140],
                    [0, 0, 0], [255, 255, 255], [128, 128, 128], [40, 40, 40]], np.uint8)


def srgb_picture() -> np.ndarray:
    """A 96x96 sRGB picture of 16 flat patches (24x24) of saturated colours
    and greys: quantized to 16 colours it comes out as it went in, so the
    outputs differ by what the colours became, not by where k-means went."""
    return np.ascontiguousarray(PATCHES.reshape(4, 4, 3).repeat(24, axis=0).repeat(24, axis=1))


def shades() -> np.ndarray:
    """A 32x32 sRGB picture of smooth hues and shades."""
    y, x = np.mgrid[0:32, 0:32] / 31.0
    hue = np.stack([np.cos(2 * np.pi * (x + s)) for s in (0, 1 / 3, 2 / 3)], axis=-1) * 0.5 + 0.5
    return np.round((hue * (1 - y[..., None]) + y[..., None] * x[..., None]) * 255).astype(np.uint8)


def to_profile(pixels: np.ndarray, profile: bytes) -> np.ndarray:
    source = ImageCms.createProfile("sRGB")
    target = ImageCms.ImageCmsProfile(io.BytesIO(profile))
    return np.asarray(ImageCms.profileToProfile(Image.fromarray(pixels), source, target, outputMode="RGB"))


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_with(pixels: np.ndarray, *chunks) -> bytes:
    """PNG bytes of RGB ``pixels`` with the ``(kind, body)`` chunks just after IHDR."""
    data = encode_truecolor(pixels)
    return data[:33] + b"".join(chunk(k, b) for k, b in chunks) + data[33:]


def iccp(profile: bytes) -> tuple:
    return b"iCCP", b"test\0\0" + zlib.compress(profile)


def test_adobe_profile_matches_the_published_numbers(adobe):
    """sRGB's primaries and grey in Adobe RGB by NumPy from the published
    chromaticities (both D65, so no adaptation) against littlecms with the profile."""
    def rgb_to_xyz(primaries):
        xyz = np.array([[x / y, 1, (1 - x - y) / y] for x, y in primaries]).T
        return xyz[:, 1:] * np.linalg.solve(xyz[:, 1:], xyz[:, 0])

    colours = np.array([[255, 0, 0], [0, 255, 0], [0, 0, 255], [128, 128, 128], [200, 120, 40]], np.uint8)
    linear = colours / 255.0
    linear = np.where(linear <= 0.04045, linear / 12.92, ((linear + 0.055) / 1.055) ** 2.4)
    srgb_primaries = (ADOBE[0], (0.64, 0.33), (0.30, 0.60), (0.15, 0.06))
    adobe_linear = linear @ (np.linalg.inv(rgb_to_xyz(ADOBE)) @ rgb_to_xyz(srgb_primaries)).T
    expected = 255 * np.clip(adobe_linear, 0, 1) ** (1 / ADOBE_GAMMA)
    got = to_profile(colours.reshape(1, -1, 3), adobe)[0]
    assert np.abs(got - expected).max() <= 1.0
    assert got[0].tolist() == [219, 0, 0] and got[1].tolist() == [144, 255, 60]  # the usual table values


def test_profiles_found_in_every_container(adobe):
    pixels = srgb_picture()[:16, :16]
    found = {}
    for suffix, options in ((".png", {}), (".webp", {"lossless": True}), (".tiff", {})):
        out = io.BytesIO()
        Image.fromarray(pixels).save(out, suffix[1:], icc_profile=adobe, **options)
        found[suffix] = cp.declared(out.getvalue()).icc
    jpeg = cv2.imencode(".jpg", pixels)[1].tobytes()
    pieces = [adobe[i:i + 200] for i in range(0, len(adobe), 200)]
    segments = [b"\xff\xe2" + struct.pack(">H", len(p) + 16) + b"ICC_PROFILE\0" + bytes([n + 1, len(pieces)]) + p
                for n, p in enumerate(pieces)]
    assert len(segments) >= 3
    found[".jpg split"] = cp.declared(jpeg[:2] + b"".join(segments[::-1]) + jpeg[2:]).icc  # out of order
    assert found == {key: adobe for key in found}
    assert cp.declared(jpeg[:2] + segments[0] + jpeg[2:]).icc == b""  # a part missing: unreadable


@pytest.fixture(scope="module")
def twins(tmp_path_factory, adobe):
    """The sRGB picture as an sRGB PNG, and as an Adobe RGB PNG tagged with its profile."""
    folder = tmp_path_factory.mktemp("twins")
    pixels = srgb_picture()
    (folder / "srgb.png").write_bytes(encode_truecolor(pixels))
    (folder / "adobe.png").write_bytes(png_with(to_profile(pixels, adobe), iccp(adobe)))
    return folder


def quantized(source, output, colour_management=True):
    options = OutputOptions(read=ReadOptions(colour_management=colour_management))
    result = quantize_file(source, 16, output=output, output_options=options)
    data = output.read_bytes()
    return result, decode_image(data), [kind for kind, _ in png_chunks(memoryview(data))]


def test_tagged_wide_gamut_comes_out_as_its_srgb_twin(twins, tmp_path):
    """CIEDE2000 against the twin's output, 16 colours: measured mean 0.053 and
    max 0.27 converted (the 8-bit Adobe RGB values' rounding; bound: max
    1.0, each patch within a just noticeable difference), and mean 3.14, max
    6.9 without colour management (asked: mean above 2)."""
    _, twin, twin_chunks = quantized(twins / "srgb.png", tmp_path / "twin.png")
    result, managed, managed_chunks = quantized(twins / "adobe.png", tmp_path / "managed.png")
    _, unmanaged, unmanaged_chunks = quantized(twins / "adobe.png", tmp_path / "raw.png", False)
    assert np.array_equal(twin, srgb_picture())
    error = ciede2000(srgb_to_lab(managed), srgb_to_lab(twin))
    raw_error = ciede2000(srgb_to_lab(unmanaged), srgb_to_lab(twin)).mean()
    assert error.max() < 1.0 and raw_error > 2.0, (error.mean(), error.max(), raw_error)
    assert b"sRGB" in managed_chunks and b"gAMA" in managed_chunks
    assert b"sRGB" not in unmanaged_chunks and b"sRGB" not in twin_chunks
    assert result.notes == ()
    assert result.parameters.get("colour_management", True)


def test_srgb_profile_and_chunks_leave_pixels_alone(tmp_path):
    pixels = srgb_picture()
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    for chunks in ([iccp(srgb)], [(b"sRGB", b"\0")], [(b"gAMA", struct.pack(">I", 45455))], []):
        path = tmp_path / "in.png"
        path.write_bytes(png_with(pixels, *chunks))
        image = read_image_file(path)
        assert np.array_equal(image.pixels, pixels)
        assert image.colour == (cp.SRGB if chunks else cp.UNTAGGED)


def test_png_gamma_converted_numerically():
    """gAMA 100000 (linear values): grey 128 is 0.502 of the light, sRGB 188."""
    grey = np.full((4, 4, 3), 128, np.uint8)
    pixels, how, _ = cp.to_srgb(grey.copy(), png_with(grey, (b"gAMA", struct.pack(">I", 100000))))
    assert how == cp.CONVERTED and np.abs(pixels.astype(int) - 188).max() <= 1


def test_sixteen_bit_with_alpha_keeps_alpha(adobe, tmp_path):
    rgb = shades()
    alpha = np.tile(np.arange(32, dtype=np.uint16) * 2000, (32, 1))
    wide = to_profile(rgb, adobe).astype(np.uint16) * 257
    bgra = np.dstack([wide[:, :, ::-1], alpha])
    data = cv2.imencode(".png", bgra)[1].tobytes()
    path = tmp_path / "deep.png"
    path.write_bytes(data[:33] + chunk(*iccp(adobe)) + data[33:])
    image = read_image_file(path)
    assert image.colour == cp.CONVERTED
    assert np.array_equal(image.pixels[:, :, 3], np.round(alpha / 257).astype(np.uint8))
    assert ciede2000(srgb_to_lab(image.pixels[:, :, :3]), srgb_to_lab(rgb)).max() < 1.0


def test_corrupt_profile_is_a_note(tmp_path):
    pixels = srgb_picture()
    source = tmp_path / "bad.png"
    source.write_bytes(png_with(pixels, (b"iCCP", b"bad\0\0" + zlib.compress(b"not a profile" * 20))))
    result, _, chunks = quantized(source, tmp_path / "out.png")
    assert len(result.notes) == 1 and "colour profile cannot be read" in result.notes[0]
    assert b"sRGB" not in chunks
    assert np.array_equal(read_image_file(source).pixels, pixels)


@pytest.mark.slow
def test_cli_flag_and_note(twins, tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.png"
    bad.write_bytes(png_with(srgb_picture(), (b"iCCP", b"bad\0\0" + zlib.compress(b"garbage"))))
    run = subprocess.run([sys.executable, "-m", "quantize", str(bad), "-k", "8", "--no-palette"],
                         capture_output=True, text=True)
    assert run.returncode == 0 and "colour profile cannot be read" in run.stderr
    out = tmp_path / "raw.png"
    run = subprocess.run([sys.executable, "-m", "quantize", str(twins / "adobe.png"), "-k", "8", "--no-palette",
                          "--no-color-management", "-o", str(out)], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert b"sRGB" not in out.read_bytes()[:200]
