"""Animations: an animated GIF, APNG or WebP is quantized with one palette for
all frames and written as an animated GIF or APNG, timing kept; a hostile one
is refused from its headers before any frame is decoded."""
import io
import struct
import subprocess
import sys
import tracemalloc
from pathlib import Path

import numpy as np
import pytest
from PIL import GifImagePlugin, Image

from quantize import animation
from quantize.errors import ImageReadError, QualityTooLowError
from quantize.files import OutputOptions, quantize_file
from quantize.headers import frame_count
from quantize.options import KMeansOptions

ROOT = Path(__file__).resolve().parent.parent
DURATIONS = [100, 200, 300, 400]
COLOURS = np.array([[20, 40, 200], [250, 10, 10], [10, 200, 30], [240, 240, 240], [0, 0, 0], [120, 60, 0]],
                   np.uint8)


def few_colour_frames(n=4, h=30, w=40, alpha=False):
    """``n`` frames of at most 6 colours: a square moving over stripes; with
    ``alpha``, a transparent hole that moves too."""
    frames = []
    for i in range(n):
        index = (np.arange(w)[None, :] // 8 + np.arange(h)[:, None] // 10) % 3
        index[5:15, 4 + 7 * i:14 + 7 * i] = 3 + i % 3
        rgb = COLOURS[index]
        if alpha:
            a = np.full((h, w, 1), 255, np.uint8)
            a[18:26, 2 + 6 * i:10 + 6 * i] = 0
            rgb = np.concatenate([rgb, a], axis=2)
            rgb[a[:, :, 0] == 0] = 0
        frames.append(rgb)
    return frames


def noisy_frames(n=4, h=24, w=32, seed=0):
    rng = np.random.default_rng(seed)
    base = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    return [np.roll(base, 3 * i, axis=1) for i in range(n)]


def save(path, frames, fmt, **info):
    images = [Image.fromarray(f) for f in frames]
    images[0].save(path, format=fmt, save_all=True, append_images=images[1:], **info)
    return path


def read_frames(path):
    """The frames of an animation as Pillow composes them (RGBA), durations, loop."""
    with Image.open(path) as image:
        frames, durations = [], []
        for i in range(image.n_frames):
            image.seek(i)
            frames.append(np.asarray(image.convert("RGBA")))
            durations.append(int(round(image.info.get("duration", 0))))
        return frames, durations, image.info.get("loop"), image.format


def palette_frames(path, monkeypatch):
    """Each frame's mode and palette (Pillow keeps a GIF's frames in P mode
    while their palette does not change)."""
    monkeypatch.setattr(GifImagePlugin, "LOADING_STRATEGY",
                        GifImagePlugin.LoadingStrategy.RGB_AFTER_DIFFERENT_PALETTE_ONLY)
    found = []
    with Image.open(path) as image:
        for i in range(image.n_frames):
            image.seek(i)
            image.load()
            found.append((image.mode, bytes(image.palette.tobytes()) if image.palette else None,
                          np.asarray(image).copy()))
    return found


def gif_image_blocks(data: bytes):
    """(local colour table?, disposal, delay cs, transparent index or None) of each frame."""
    pos, blocks, control = 13 + ((3 << ((data[10] & 7) + 1)) if data[10] & 0x80 else 0), [], None
    while data[pos] != 0x3B:
        if data[pos] == 0x21:
            if data[pos + 1] == 0xF9:
                flags, delay, clear = data[pos + 3], struct.unpack("<H", data[pos + 4:pos + 6])[0], data[pos + 6]
                control = ((flags >> 2) & 7, delay, clear if flags & 1 else None)
            pos += 2
        else:
            blocks.append((bool(data[pos + 9] & 0x80), *control))
            pos += 11
        while data[pos]:
            pos += data[pos] + 1
        pos += 1
    return blocks


def run(source, output, k=8, **kwargs):
    return quantize_file(source, k, output=output, options=KMeansOptions(seed=0), force=True, **kwargs)


@pytest.mark.parametrize("suffix", [".gif", ".png"])
@pytest.mark.parametrize("fmt,ext", [("GIF", ".gif"), ("PNG", ".png"), ("WEBP", ".webp")])
def test_an_animation_round_trips_its_frames_and_timing(tmp_path, fmt, ext, suffix):
    frames = few_colour_frames()
    extra = {"lossless": True} if fmt == "WEBP" else {}
    source = save(tmp_path / f"in{ext}", frames, fmt, duration=DURATIONS, loop=3, **extra)
    result = run(source, tmp_path / f"out{suffix}")
    assert result.frames == 4 and result.lossless and result.colors == 6
    assert result.to_dict()["frames"] == 4 and any("4 frames" in n for n in result.notes)
    got, durations, loop, kind = read_frames(tmp_path / f"out{suffix}")
    assert kind == {".gif": "GIF", ".png": "PNG"}[suffix]
    assert len(got) == 4 and durations == DURATIONS and loop == 3
    for made, back in zip(frames, got):  # six colours, K = 8: every frame exactly as it was
        assert np.array_equal(back[:, :, :3], made) and (back[:, :, 3] == 255).all()


def test_frames_share_one_palette_of_at_most_k_colours(tmp_path, monkeypatch):
    frames = noisy_frames()
    source = save(tmp_path / "in.gif", frames, "GIF",
                  duration=DURATIONS, loop=0)
    for suffix in (".gif", ".png"):
        result = run(source, tmp_path / f"out{suffix}", k=5)
        assert result.frames == 4 and result.colors <= 5
        found = palette_frames(tmp_path / f"out{suffix}", monkeypatch)
        assert len(found) == 4 and {mode for mode, _, _ in found} == {"P"}
        assert len({palette for _, palette, _ in found}) == 1  # one palette, all frames
        used = np.unique(np.concatenate([indices.ravel() for _, _, indices in found]))
        assert len(used) <= 5
    data = (tmp_path / "out.gif").read_bytes()
    blocks = gif_image_blocks(data)
    assert [local for local, *_ in blocks] == [False] * 4  # no frame has a colour table of its own
    assert [delay for _, _, delay, _ in blocks] == [10, 20, 30, 40]


@pytest.mark.parametrize("suffix", [".gif", ".png"])
def test_transparency_is_kept_in_every_frame(tmp_path, suffix):
    frames = few_colour_frames(alpha=True)
    source = save(tmp_path / "in.png", frames, "PNG", duration=DURATIONS, loop=0)
    result = run(source, tmp_path / f"out{suffix}")
    assert result.frames == 4 and result.lossless
    got, durations, loop, _ = read_frames(tmp_path / f"out{suffix}")
    assert durations == DURATIONS and loop == 0
    for made, back in zip(frames, got):
        clear = made[:, :, 3] == 0
        assert clear.any() and np.array_equal(back[:, :, 3] == 0, clear)  # the hole moved, nothing left behind
        assert np.array_equal(back[~clear], made[~clear])
    if suffix == ".gif":
        assert {disposal for _, disposal, _, _ in gif_image_blocks((tmp_path / "out.gif").read_bytes())} == {2}


@pytest.mark.parametrize("fmt,suffix", [("GIF", ".gif"), ("PNG", ".png"), ("GIF", ".png")])
def test_a_one_frame_animation_is_an_ordinary_image(tmp_path, fmt, suffix):
    frame = noisy_frames(1)[0]
    one = tmp_path / f"one.{fmt.lower()}"
    Image.fromarray(frame).save(one, format=fmt, save_all=True, append_images=[], duration=100, loop=0)
    plain = tmp_path / f"plain.{fmt.lower()}"
    Image.fromarray(frame).save(plain, format=fmt)
    assert frame_count(one.read_bytes()) == 1
    a, b = run(one, tmp_path / f"a{suffix}", k=6), run(plain, tmp_path / f"b{suffix}", k=6)
    assert a.frames == b.frames == 1 and "frames" not in a.to_dict()
    assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()


def test_dither_and_map_work_on_an_animation(tmp_path, monkeypatch):
    source = save(tmp_path / "in.png", noisy_frames(), "PNG", duration=DURATIONS, loop=0)
    plain = run(source, tmp_path / "plain.png", k=4)
    dithered = run(source, tmp_path / "fs.png", k=4, output_options=OutputOptions(dither="floyd-steinberg"))
    assert dithered.frames == 4 and dithered.colors <= 4
    assert (tmp_path / "plain.png").read_bytes() != (tmp_path / "fs.png").read_bytes()
    assert dithered.parameters["dither"] == "floyd-steinberg" and plain.distortion != dithered.distortion
    given = np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0], [0, 0, 255]], np.uint8)
    for suffix in (".png", ".gif"):
        mapped = quantize_file(source, None, output=tmp_path / f"map{suffix}", colors=given, force=True)
        assert mapped.frames == 4
        found = palette_frames(tmp_path / f"map{suffix}", monkeypatch)
        palette = np.frombuffer(found[0][1], np.uint8).reshape(-1, 3)
        assert np.array_equal(palette[:4], given)  # kept whole and in order
        assert {p for _, p, _ in found} == {found[0][1]}


def grainy_frames(seed=1):
    """The few-colour frames with a grain of +-3: clusters around six colours."""
    rng = np.random.default_rng(seed)
    return [np.clip(f.astype(int) + rng.integers(-3, 4, f.shape), 0, 255).astype(np.uint8)
            for f in few_colour_frames()]


def test_the_quality_target_is_judged_on_all_frames(tmp_path):
    source = save(tmp_path / "in.png", grainy_frames(), "PNG", duration=DURATIONS, loop=0)
    loose = run(source, tmp_path / "a.png", k=64, output_options=OutputOptions(quality=(0, 85)))
    tight = run(source, tmp_path / "b.png", k=64, output_options=OutputOptions(quality=(0, 99)))
    assert loose.frames == tight.frames == 4 and loose.colors <= 8 < 32 <= tight.colors <= 64
    assert loose.quality >= 85 and tight.quality >= 98  # the mean over frames of what the summed histogram gave
    with pytest.raises(QualityTooLowError):
        run(source, tmp_path / "c.png", k=2, output_options=OutputOptions(quality=(95, 100)))
    assert not (tmp_path / "c.png").exists()


def test_the_same_seed_gives_the_same_bytes(tmp_path):
    source = save(tmp_path / "in.gif", noisy_frames(), "GIF", duration=DURATIONS, loop=0)
    for suffix in (".gif", ".png"):
        run(source, tmp_path / f"a{suffix}", k=7, output_options=OutputOptions(dither="ordered"))
        run(source, tmp_path / f"b{suffix}", k=7, output_options=OutputOptions(dither="ordered"))
        assert (tmp_path / f"a{suffix}").read_bytes() == (tmp_path / f"b{suffix}").read_bytes()


def hostile_gif(frames=2000, side=4000) -> bytes:
    """A GIF whose screen is ``side`` x ``side`` (16 MP: within the limit
    alone) with ``frames`` frames of one pixel each: 32,000 MP once composed."""
    head = b"GIF89a" + struct.pack("<HH", side, side) + b"\x80\x00\x00" + bytes(6)  # 2-entry colour table
    frame = b"\x2c" + struct.pack("<HHHH", 0, 0, 1, 1) + b"\x00" + b"\x02\x02\x44\x01\x00"
    return head + frame * frames + b"\x3b"


def test_a_hostile_animation_is_refused_from_its_headers(tmp_path, monkeypatch):
    path = tmp_path / "bomb.gif"
    path.write_bytes(hostile_gif())
    assert frame_count(path.read_bytes()) == 2000

    def no_decoding(*args, **kwargs):
        raise AssertionError("a frame was decoded")

    monkeypatch.setattr(animation, "frames", no_decoding)
    tracemalloc.start()
    try:
        with pytest.raises(ImageReadError) as caught:
            run(path, tmp_path / "out.gif")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert caught.value.reason == "too-many-frame-pixels" and caught.value.value == (2000, 4000, 4000)
    assert peak < 32 << 20  # the reading of the file (a 16 MiB chunk), no canvas (4000x4000 RGBA: 64 MB)
    assert not (tmp_path / "out.gif").exists()


def test_apng_and_webp_frames_are_counted_from_their_headers(tmp_path):
    frames = few_colour_frames(3)
    png = save(tmp_path / "a.png", frames, "PNG", duration=100)
    webp = save(tmp_path / "a.webp", frames, "WEBP", duration=100, lossless=True)
    assert frame_count(png.read_bytes()) == 3 and frame_count(webp.read_bytes()) == 3
    clip = animation.open_animation("a.png", np.frombuffer(png.read_bytes(), np.uint8), 40 * 30 * 3)
    assert (clip.frames, clip.width, clip.height) == (3, 40, 30)
    with pytest.raises(ImageReadError):
        animation.open_animation("a.webp", np.frombuffer(webp.read_bytes(), np.uint8), 40 * 30 * 3 - 1)


def test_a_first_frame_only_format_still_takes_the_first_frame(tmp_path):
    source = save(tmp_path / "in.gif", few_colour_frames(), "GIF", duration=DURATIONS)
    result = run(source, tmp_path / "out.bmp")
    assert result.frames == 1 and any("4 frames" in n and "first" in n for n in result.notes)


@pytest.mark.slow
def test_the_command_refuses_a_hostile_animation_in_one_line(tmp_path):
    path = tmp_path / "bomb.gif"
    path.write_bytes(hostile_gif())
    done = subprocess.run([sys.executable, "-m", "quantize", str(path), "-k", "4", "-o", str(tmp_path / "o.gif")],
                          capture_output=True, text=True, cwd=ROOT, env={"PYTHONPATH": str(ROOT)})
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "2000 frames of 4000x4000" in done.stderr
    assert "--max-pixels" in done.stderr and not (tmp_path / "o.gif").exists()


@pytest.mark.slow
def test_the_command_writes_an_animation(tmp_path):
    source = save(tmp_path / "in.gif", noisy_frames(), "GIF", duration=DURATIONS, loop=0)
    done = subprocess.run([sys.executable, "-m", "quantize", str(source), "-k", "8", "--dither", "floyd-steinberg",
                           "-o", str(tmp_path / "o.png"), "--json"], capture_output=True, text=True, cwd=ROOT,
                          env={"PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr
    assert '"frames": 4' in done.stdout
    assert read_frames(tmp_path / "o.png")[1] == DURATIONS


def test_a_shared_palette_counts_every_frame_of_an_animation(tmp_path):
    """batch --shared-palette sums the histograms of all an animation's frames
    (its job maps them all), not of its first frame alone: with K = the
    number of colours over all frames, the shared palette is those colours."""
    from quantize.batch import fit_shared_palette

    frames = few_colour_frames()  # colours 3, 4, 5 appear from the first, second, third frame on
    source = save(tmp_path / "a.gif", frames, "GIF", duration=DURATIONS, loop=0)
    used = np.unique(np.concatenate([f.reshape(-1, 3) for f in frames]), axis=0)
    assert len(np.unique(frames[0].reshape(-1, 3), axis=0)) < len(used)
    palette = fit_shared_palette([str(source)], len(used), KMeansOptions(seed=0), OutputOptions())
    assert sorted(map(tuple, palette[:, :3].tolist())) == sorted(map(tuple, used.tolist()))


def test_apng_frames_share_one_bit_depth_and_palette_order():
    """An APNG has one IHDR and one PLTE: every frame is written at the
    palette's fewest bits and in its order (the optimizer's per-image choices
    of depth and order would make later frames decode wrong)."""
    from quantize import apng, png

    frames = np.stack([np.where(np.indices((20, 24)).sum(0) % (i + 2) == 0, i, 3 - i).astype(np.uint8)
                       for i in range(4)])
    colors = COLOURS[:4]
    data = apng.encode_apng(frames, colors, durations=[100] * 4)
    assert data[24] == png.bit_depth(len(colors))  # IHDR's bit depth
    with Image.open(io.BytesIO(data)) as image:
        for i in range(4):
            image.seek(i)
            assert np.array_equal(np.asarray(image.convert("RGB")), colors[frames[i]])
