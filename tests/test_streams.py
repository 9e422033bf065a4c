"""Inputs that are streams (stdin, FIFOs, /dev/stdin), inputs too large to hold,
PNGs cut short, and a standard output that cannot take the image.

Each test pins one defect found by trying quantize as a hostile user would; each
failed before its fix.  Large inputs are simulated (a stream object that makes
its bytes as they are read, sparse files), so nothing here writes or holds
gigabytes.
"""
import io
import os
import struct
import subprocess
import sys
import threading
import time
import tracemalloc
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from quantize import ImageReadError
from quantize import imageio
from quantize.cli import cli
from quantize.cli.words import describe

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "sample_images"
MiB = 1 << 20


def run(*args, **kwargs):
    return CliRunner().invoke(cli, [str(a) for a in args], **kwargs)


def quantize_process(*args, **kwargs):
    """``python -m quantize ARGS`` in a child process, this checkout's package first."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    streams = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, **kwargs}
    return subprocess.run([sys.executable, "-m", "quantize", *map(str, args)], env=env, **streams)


class MadeStream(io.RawIOBase):
    """A binary stream of ``total`` bytes, ``head`` first and zeros after, made as
    they are read (nothing held); ``served`` counts the bytes handed out."""

    def __init__(self, total: int, head: bytes = b""):
        self.total, self.head, self.served = total, head, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        n = min(len(buffer), self.total - self.served)
        if n <= 0:
            return 0
        start = self.served
        buffer[:n] = bytes(n)
        if start < len(self.head):
            part = self.head[start:start + n]
            buffer[:len(part)] = part
        self.served += n
        return n


class FakeStdin:
    def __init__(self, raw):
        self.buffer = io.BufferedReader(raw)


def peak_bytes(function):
    """``function()``'s peak of traced memory (NumPy's arrays included), and what it raised."""
    tracemalloc.start()
    try:
        function()
        raised = None
    except ImageReadError as error:
        raised = error
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak, raised


def bmp_head(width=10, height=10) -> bytes:
    ok, data = cv2.imencode(".bmp", np.zeros((height, width, 3), np.uint8))
    assert ok
    return data.tobytes()


# --- Item 11: a stream is read up to a limit that follows from max_pixels; garbage fails at once ---

def test_garbage_on_stdin_fails_after_its_first_bytes(monkeypatch):
    stream = MadeStream(256 * MiB)  # zeros: no format starts so
    monkeypatch.setattr(sys, "stdin", FakeStdin(stream))
    with pytest.raises(ImageReadError, match=r"^-: not an image OpenCV can read \(corrupt or unsupported format\)"):
        imageio.read_image_file("-")
    assert stream.served <= 1 * MiB


def test_a_stream_stops_at_the_byte_limit(monkeypatch):
    head = bmp_head(10, 10)  # a 10x10 BMP that goes on and on
    stream = MadeStream(256 * MiB, head)
    monkeypatch.setattr(sys, "stdin", FakeStdin(stream))
    limit = imageio.stream_limit(100)
    assert limit == 16 * 100 + 64 * MiB
    with pytest.raises(ImageReadError) as caught:
        imageio.read_image_file("-", max_pixels=100)
    error = caught.value
    assert error.reason == "too-many-bytes" and error.parameter == "max_pixels" and error.limit == limit
    assert stream.served <= limit + 16 * MiB
    assert describe(error) == (f"-: more than {limit:,} bytes, more than an image within the pixel limit "
                               f"(--max-pixels 100) takes; not read further")
    assert str(error).endswith("(max_pixels 100) takes; not read further")


def test_a_stream_within_the_limit_is_read_whole(monkeypatch):
    data = (SAMPLES / "blobs.png").read_bytes()
    monkeypatch.setattr(sys, "stdin", FakeStdin(io.BytesIO(data)))
    image = imageio.read_image_file("-")
    assert image.size == len(data) and image.pixels.shape[:2] == imageio.read_image(SAMPLES / "blobs.png").shape[:2]


def test_without_a_pixel_limit_there_is_no_byte_limit():
    assert imageio.stream_limit(None) is None


def test_a_regular_file_larger_than_the_limit_is_refused_unread(tmp_path):
    path = tmp_path / "long.bmp"
    with open(path, "wb") as file:
        file.write(bmp_head(10, 10))
        file.truncate(100 * MiB)  # sparse: costs no disk
    peak, error = peak_bytes(lambda: imageio.read_image_file(path, max_pixels=100))
    assert error is not None and error.reason == "too-many-bytes", error
    assert str(error).startswith(f"{path}: more than {imageio.stream_limit(100):,} bytes")
    assert peak < 8 * MiB


def test_a_garbage_file_is_refused_from_its_first_bytes(tmp_path):
    path = tmp_path / "garbage.png"
    with open(path, "wb") as file:
        file.write(b"this is no image" * 4)
        file.truncate(200 * MiB)
    started = time.perf_counter()
    peak, error = peak_bytes(lambda: imageio.read_image_file(path))
    assert error is not None and "not an image OpenCV can read (corrupt or unsupported format)" in str(error)
    assert peak < 8 * MiB and time.perf_counter() - started < 1.0


@pytest.mark.parametrize("suffix", [".ppm", ".pgm", ".pbm", ".pam", ".pfm", ".sr", ".hdr", ".jp2", ".avif"])
def test_other_formats_opencv_reads_still_pass_the_first_bytes(tmp_path, suffix):
    """The quick refusal knows every format OpenCV reads, not only those whose size we parse."""
    picture = np.random.default_rng(0).integers(0, 256, (48, 64, 3), np.uint8)
    picture = (picture[:, :, 0] if suffix in (".pgm", ".pbm")
               else picture.astype(np.float32) / 255 if suffix in (".pfm", ".hdr") else picture)
    ok, data = cv2.imencode(suffix, picture)
    assert ok
    path = tmp_path / f"picture{suffix}"
    path.write_bytes(data.tobytes())
    assert imageio.read_image(path).shape[:2] == (48, 64)


# --- Item 22: a PNG whose first chunks do not parse is refused at once ---

def test_png_signature_then_zeros_is_refused_at_once(tmp_path):
    path = tmp_path / "zeros.png"
    with open(path, "wb") as file:
        file.write(b"\x89PNG\r\n\x1a\n")
        file.truncate(64 * MiB)
    started = time.perf_counter()
    peak, error = peak_bytes(lambda: imageio.read_image_file(path))
    seconds = time.perf_counter() - started
    assert error is not None and str(error).startswith(f"{path}: not an image OpenCV can read (corrupt PNG: ")
    assert seconds < 1.0 and peak < 8 * MiB, (seconds, peak)


def test_png_with_a_bad_chunk_type_after_its_header_is_refused_at_once(tmp_path):
    good = (SAMPLES / "blobs.png").read_bytes()
    ihdr_end = 8 + 25
    path = tmp_path / "bad-chunk.png"
    with open(path, "wb") as file:
        file.write(good[:ihdr_end] + struct.pack(">I", 4) + b"\0\x01\x02\x03" + b"abcd" + b"crc!")
        file.truncate(64 * MiB)
    peak, error = peak_bytes(lambda: imageio.read_image_file(path))
    assert error is not None and "(corrupt PNG: a chunk type that is not four letters at byte 33)" in str(error)
    assert peak < 8 * MiB


# --- Item 21: a PNG cut short inside its image data: the rows that arrived ---

def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def png_file(pixels: np.ndarray, idat_size: int = 1 << 30) -> bytes:
    """An 8-bit RGB PNG of ``pixels (h, w, 3) uint8``, rows unfiltered, its IDAT
    cut into chunks of ``idat_size`` bytes."""
    h, w = pixels.shape[:2]
    raw = b"".join(b"\0" + pixels[y].tobytes() for y in range(h))
    body = zlib.compress(raw, 9)
    idats = b"".join(chunk(b"IDAT", body[i:i + idat_size]) for i in range(0, len(body), idat_size))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + idats
            + chunk(b"IEND", b""))


def opencv_png(pixels: np.ndarray) -> bytes:
    """``pixels (h, w, 3) uint8`` RGB as OpenCV (libpng, its rows filtered) writes a PNG."""
    ok, data = cv2.imencode(".png", pixels[:, :, ::-1])
    assert ok
    return data.tobytes()


def rows_arrived(data: bytes, width: int, channels: int = 3) -> int:
    """Whole rows (8-bit, not interlaced) in the IDAT bytes present in ``data``."""
    pos, body = 8, b""
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        if kind == b"IDAT":
            body += data[pos + 8:pos + 8 + length]
        pos += 12 + length
    return len(zlib.decompressobj().decompress(body)) // (1 + width * channels)


def read_bytes(tmp_path: Path, data: bytes):
    """``data`` read as the file cut.png: ``(pixels, cut_short)``."""
    path = tmp_path / "cut.png"
    path.write_bytes(data)
    image = imageio.read_image_file(path)
    return image.pixels, image.cut_short


def photo_pixels(h=40, w=50, seed=3):
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 5, y * 6, (x + y) * 2], axis=-1) + rng.integers(0, 30, (h, w, 3))
    return np.clip(base, 0, 255).astype(np.uint8)


@pytest.mark.parametrize("fraction", [0.1, 0.3, 0.6, 0.9, 0.99])
def test_png_cut_inside_its_image_data_keeps_the_rows_that_arrived(fraction, tmp_path):
    pixels = photo_pixels()
    data = opencv_png(pixels)
    cut = data[:int(len(data) * fraction)]
    rows = rows_arrived(cut, pixels.shape[1])
    assert rows >= 1 or fraction == 0.1
    image, cut_short = read_bytes(tmp_path, cut)
    assert cut_short and image.shape == pixels.shape
    np.testing.assert_array_equal(image[:rows], pixels[:rows])
    assert not image[rows + 1:].any()  # the rows that did not arrive: black


@pytest.mark.parametrize("boundary", [1, 3, 7])
def test_png_cut_at_a_chunk_boundary_keeps_the_rows_that_arrived(boundary, tmp_path):
    pixels = photo_pixels()
    data = png_file(pixels, idat_size=512)
    ends, pos = [], 8
    while pos < len(data):
        pos += 12 + struct.unpack(">I", data[pos:pos + 4])[0]
        ends.append(pos)
    cut = data[:ends[boundary]]  # IHDR, then `boundary` whole IDAT chunks
    rows = rows_arrived(cut, pixels.shape[1])
    assert rows >= 1
    image, cut_short = read_bytes(tmp_path, cut)
    assert cut_short
    np.testing.assert_array_equal(image[:rows], pixels[:rows])


def test_16_bit_rgba_png_cut_short_decodes(tmp_path):
    pixels = photo_pixels()
    ok, deep = cv2.imencode(".png", np.dstack([pixels, pixels[:, :, :1]]).astype(np.uint16) * 257)
    data = deep.tobytes()
    image, cut_short = read_bytes(tmp_path, data[:len(data) * 2 // 3])
    assert cut_short and image.shape == (40, 50, 4) and image[0].any()


def test_interlaced_png_cut_short_is_refused(tmp_path):
    """Its rows arrive as seven passes of scattered pixels: no whole rows to show."""
    interlaced = (ROOT / "tests" / "corpus" / "files" / "interlaced.png").read_bytes()
    with pytest.raises(ImageReadError, match="corrupt"):
        read_bytes(tmp_path, interlaced[:len(interlaced) * 2 // 3])


def test_png_cut_before_its_image_data_is_still_refused():
    data = png_file(photo_pixels())
    with pytest.raises(ImageReadError, match="corrupt"):
        imageio.decode_image(data[:8 + 25 + 6], "cut.png")


def test_the_cli_notes_a_png_cut_short(tmp_path):
    path = tmp_path / "cut.png"
    data = png_file(photo_pixels())
    path.write_bytes(data[:len(data) // 2])
    result = run(path, "-k", 4, "-o", tmp_path / "out.png")
    assert result.exit_code == 0, result.output
    assert f"quantize: note: {path} is cut short: quantized what it holds\n" in result.stderr
    assert cv2.imread(str(tmp_path / "out.png")).shape[:2] == (40, 50)


# --- Items 9 and 10: a FIFO or /dev/stdin named on the command line is a stream ---

def feed_fifo(path: Path, data: bytes, delay: float = 0.0) -> threading.Thread:
    os.mkfifo(path)

    def write():
        time.sleep(delay)
        try:
            with open(path, "wb") as fifo:  # blocks until the reader opens it
                fifo.write(data)
        except BrokenPipeError:  # the reader stopped reading: what the garbage test wants
            pass

    thread = threading.Thread(target=write, daemon=True)
    thread.start()
    return thread


def test_a_fed_fifo_is_read_as_a_stream(tmp_path):
    data = (SAMPLES / "blobs.png").read_bytes()
    fifo = tmp_path / "pipe.png"
    thread = feed_fifo(fifo, data, delay=0.2)  # the reader waits for its writer, as when reading -
    result = run(fifo, "-k", 4, "-o", tmp_path / "out.png", "--no-palette")
    thread.join(5)
    assert result.exit_code == 0, result.output
    assert cv2.imread(str(tmp_path / "out.png")).shape[:2] == imageio.read_image(SAMPLES / "blobs.png").shape[:2]
    assert f"bytes {len(data):,} ->" in result.stdout


def test_a_fifo_fed_garbage_fails_at_once(tmp_path):
    fifo = tmp_path / "pipe.png"
    thread = feed_fifo(fifo, b"\0" * (2 * MiB))
    with pytest.raises(ImageReadError, match=r"corrupt or unsupported format"):
        imageio.read_image_file(fifo)
    thread.join(5)


@pytest.mark.slow  # starts a CLI process
def test_dev_stdin_as_a_file_name_is_a_stream(tmp_path):
    data = (SAMPLES / "blobs.png").read_bytes()
    out = tmp_path / "out.png"
    result = quantize_process("/dev/stdin", "-k", 4, "-o", out, "--no-palette", input=data)
    assert result.returncode == 0, result.stderr
    assert cv2.imread(str(out)) is not None


# --- Items 2 and 12: a standard output that cannot take the image ---

@pytest.fixture
def noise(tmp_path):
    """A 400x400 noise PNG: at K=256 its output is far larger than a pipe holds (64 KiB)."""
    path = tmp_path / "noise.png"
    cv2.imwrite(str(path), np.random.default_rng(0).integers(0, 256, (400, 400, 3), np.uint8))
    return path


def assert_one_line(stderr: bytes, line: str):
    assert stderr.decode() == line + "\n", stderr.decode()


@pytest.mark.slow  # starts a CLI process
def test_closed_stdout_is_one_line(tmp_path):
    script = f'exec "{sys.executable}" -m quantize - -k 4 -o - --quiet >&- < "{SAMPLES / "blobs.png"}"'
    result = subprocess.run(["sh", "-c", script], capture_output=False, stderr=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": str(ROOT)}, cwd=tmp_path)
    assert result.returncode == 1
    assert_one_line(result.stderr, "quantize: -: cannot write: standard output is closed")
    assert os.listdir(tmp_path) == []


@pytest.mark.slow  # starts a CLI process
def test_full_device_on_stdout_is_one_line():
    with open("/dev/full", "wb") as full:
        result = quantize_process(SAMPLES / "blobs.png", "-k", 4, "-o", "-", stdout=full)
    assert result.returncode == 1
    assert_one_line(result.stderr, "quantize: -: cannot write: No space left on device")


@pytest.mark.slow  # starts a CLI process
@pytest.mark.parametrize("extra", [[], ["--json"]])
def test_a_broken_pipe_is_a_failure(noise, extra):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen([sys.executable, "-m", "quantize", noise, "-k", "256", "--speed", "10", "-o", "-",
                              *extra], stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    assert os.read(child.stdout.fileno(), 10) == b"\x89PNG\r\n\x1a\n\0\0"  # as head -c 10 does
    child.stdout.close()
    stderr = child.stderr.read()
    assert child.wait(30) == 1
    assert_one_line(stderr, "quantize: -: cannot write: the reader stopped reading (broken pipe)")


@pytest.mark.slow  # starts a CLI process
def test_head_c_in_a_shell_pipe_fails(noise):
    script = (f'"{sys.executable}" -m quantize "{noise}" -k 256 --speed 10 -o - | head -c 10 > /dev/null; '
              'echo "status ${PIPESTATUS[0]}" >&2')
    result = subprocess.run(["bash", "-c", script], capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.stderr.decode().splitlines() == [
        "quantize: -: cannot write: the reader stopped reading (broken pipe)", "status 1"]


@pytest.mark.slow  # starts a CLI process
def test_stdout_that_takes_everything_still_succeeds(noise):
    result = quantize_process(noise, "-k", 256, "--speed", 10, "-o", "-", "--no-palette")
    assert result.returncode == 0, result.stderr
    assert cv2.imdecode(np.frombuffer(result.stdout, np.uint8), cv2.IMREAD_UNCHANGED).shape[:2] == (400, 400)
    assert result.stderr.decode().startswith(f"{noise} -> -\n")


@pytest.mark.slow  # starts a CLI process
def test_a_full_stdout_leaves_no_palette(tmp_path):
    """-o - with --palette: the image goes out first, so a stdout that fails
    leaves no palette file (it was written before the image was sent)."""
    palette = tmp_path / "p.gpl"
    with open("/dev/full", "wb") as full:
        result = quantize_process(SAMPLES / "blobs.png", "-k", 4, "-o", "-", "--palette", palette, stdout=full)
    assert result.returncode == 1
    assert_one_line(result.stderr, "quantize: -: cannot write: No space left on device")
    assert not palette.exists()
