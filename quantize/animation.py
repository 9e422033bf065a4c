"""Animations (animated GIF, APNG, animated WebP): one palette for all frames.

An animation is refused before any frame is decoded when its frames times its
canvas exceed the pixel limit (the same ``max_pixels`` as for one image, on
the total), from the headers alone (:func:`quantize.headers.frame_count`: the
GIF's blocks walked, the APNG's acTL, the WebP's ANMF chunks; the canvas from
the GIF's screen descriptor, the PNG's IHDR, the WebP's VP8X).

Frames are decoded by Pillow, one whole canvas at a time (GIF disposal and
partial frames, APNG blend and dispose, WebP frames composited as a viewer
shows them), twice: a first pass sums the frames' colour histograms (as a
batch's shared palette does, :func:`quantize.histogram.sum_histograms`), the
palette is fitted once on that sum, and a second pass maps each frame onto it.
Only the indices of all frames are held (one byte a pixel), never their RGBA.
OpenCV's ``cv2.imreadanimation`` decodes these formats too, and as correctly
on our tests, but it returns every frame decoded at once (four bytes a pixel
for the whole animation), so it does not bound the memory of a long one.
"""
from __future__ import annotations

import io
from contextlib import contextmanager
from dataclasses import dataclass, replace

import numpy as np

from .errors import ImageReadError, QualityTooLowError
from .headers import PNG_SIGNATURE, frame_count, header_size
from .histogram import color_histogram, sum_histograms
from .options import KMeansOptions
from .pipeline import QuantizedImage, fit_palette, fit_to_quality
from .progress import ProgressCallback, notify, span

ANIMATION_SUFFIXES = (".gif", ".png")  # the formats an animation is written as (GIF, APNG)
_MERGE_EVERY = 16  # frames' histograms summed at a time: a long animation holds few of them


@dataclass(frozen=True)
class Animation:
    """An animation file read but not decoded: its bytes, the frames its
    headers declare and its canvas."""

    name: str
    data: np.ndarray
    frames: int
    width: int
    height: int


@dataclass(frozen=True)
class Timing:
    """How an animation plays: each frame's duration in milliseconds, and the
    loop count as the file says it (0: for ever; None: no loop count, once)."""

    durations: tuple[int, ...]
    loop: int | None


def is_animation_format(head: bytes) -> bool:
    """Whether the first bytes ``head`` are those of a GIF, a PNG or a WebP."""
    return head[:6] in (b"GIF87a", b"GIF89a") or head[:8] == PNG_SIGNATURE or (
        head[:4] == b"RIFF" and head[8:12] == b"WEBP")


def open_animation(name, data: np.ndarray, max_pixels: int | None) -> Animation | None:
    """The animation held in the bytes ``data`` of the file ``name``, or None
    when they hold one frame (or are no GIF, PNG or WebP): those are an
    ordinary image.  Raises :class:`ImageReadError` (reason
    ``too-many-frame-pixels``) when its frames times its canvas exceed
    ``max_pixels``, from the headers, before anything is decoded."""
    head = bytes(data[:64])
    if not is_animation_format(head):
        return None
    frames, size = frame_count(data), header_size(head)
    if frames <= 1 or size is None:
        return None
    width, height = size
    if max_pixels is not None and frames * width * height > max_pixels:
        total = frames * width * height
        raise ImageReadError(
            f"{name}: {frames} frames of {width}x{height} are {total / 1e6:.1f} MP, above the limit of "
            f"{max_pixels / 1e6:g} MP (max_pixels)", reason="too-many-frame-pixels", path=name,
            parameter="max_pixels", value=(frames, width, height), limit=max_pixels)
    return Animation(str(name), data, frames, width, height)


@contextmanager
def _opened(clip: Animation):
    """The animation opened by Pillow; its own decompression-bomb limit is
    lifted while it is open (the frames were checked against ours)."""
    from PIL import Image

    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with Image.open(io.BytesIO(clip.data.tobytes())) as image:
            yield image
    except (OSError, ValueError, SyntaxError, EOFError, MemoryError) as error:
        raise ImageReadError(f"{clip.name}: cannot decode the animation: {error}", path=clip.name) from None
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def frames(clip: Animation):
    """Each frame of ``clip`` as a whole canvas, ``(h, w, 4) uint8`` RGBA, with
    its duration in ms, one at a time; at most the frames its headers
    declared (no more is decoded than was checked); the loop count is
    :func:`loop_count`."""
    with _opened(clip) as image:
        if image.size != (clip.width, clip.height):
            raise ImageReadError(f"{clip.name}: a canvas of {image.size[0]}x{image.size[1]}, not the "
                                 f"{clip.width}x{clip.height} of its header", path=clip.name)
        for index in range(clip.frames):
            try:
                image.seek(index)
            except EOFError:
                return
            pixels = np.asarray(image.convert("RGBA"))
            yield pixels, int(round(float(image.info.get("duration") or 0)))


def loop_count(clip: Animation) -> int | None:
    """The loop count of ``clip`` (0: for ever), None when it has none."""
    with _opened(clip) as image:
        loop = image.info.get("loop")
    return None if loop is None else int(loop)


def summed_histogram(clip: Animation, on_progress=None):
    """The sum of the histograms of every frame of ``clip`` (what one palette
    for all of them is fitted to)."""
    return _summed_histogram(clip, on_progress)[0]


def _summed_histogram(clip: Animation, on_progress):
    """The first pass: the sum of the frames' histograms (RGB when every
    pixel of every frame is opaque) and the frames' durations."""
    merged, pending, durations = None, [], []
    for index, (pixels, duration) in enumerate(frames(clip)):
        durations.append(duration)
        opaque = bool((pixels[:, :, 3] == 255).all())
        pending.append(color_histogram(pixels[:, :, :3] if opaque else pixels))
        if len(pending) == _MERGE_EVERY:
            merged, pending = sum_histograms(pending if merged is None else [merged, *pending]), []
        notify(on_progress, (index + 1) / clip.frames)
    if not durations:
        raise ImageReadError(f"{clip.name}: no frame could be decoded", path=clip.name)
    return sum_histograms(pending if merged is None else [merged, *pending]), tuple(durations)


def _fit(hist, k, options: KMeansOptions, quality, name, on_progress):
    """The palette fitted to the summed histogram: k-means, or the fewest
    colours up to ``k`` that reach the quality target."""
    if quality is None:
        return fit_palette(hist, k, options, on_progress=on_progress)
    minimum, target = quality
    palette = fit_to_quality(hist, k, target, options, on_progress=on_progress)
    if palette.quality < minimum:
        raise QualityTooLowError(f"{name}: quality {palette.quality} with {k} colours is below the minimum "
                                 f"{minimum}: nothing written", path=name, parameter="quality",
                                 value=palette.quality, limit=minimum)
    return palette


def quantize_animation(clip: Animation, k: int | None, options: KMeansOptions, remap, *,
                       colors: np.ndarray | None = None, quality: tuple[int, int] | None = None,
                       on_progress: ProgressCallback | None = None) -> tuple[QuantizedImage, Timing]:
    """``clip`` in one palette: fitted with ``k`` and ``options`` (or the
    quality target) on the sum of its frames' histograms, or ``colors`` given
    in advance (kept whole and in order); each frame mapped onto it by
    ``remap(pixels, colors) -> QuantizedImage`` (the palette kept in order:
    the caller's mapping and dithering of one image).  Returns the result,
    whose ``indices`` are ``(frames, h, w)``, and the :class:`Timing`.

    The figures are those of all frames' pixels together: ``distortion`` and
    ``delta_e_ok`` their means, ``quality`` the pixel-weighted mean of the
    frames' qualities, ``n_input_colors`` the colours of the summed
    histogram; a fitted palette is ordered most used first over all frames,
    unused entries dropped, as for one image."""
    hist, durations = _summed_histogram(clip, span(on_progress, 0.0, 0.3))
    working = replace(options, space="rgb") if hist.channels == 4 else options
    fitted = None if colors is not None else _fit(hist, k, working, quality, clip.name, span(on_progress, 0.3, 0.7))
    entries = colors if fitted is None else fitted.colors
    indices, palette, counts, scores = _map_frames(clip, len(durations), hist.channels, entries, remap,
                                                   span(on_progress, 0.7, 1.0))
    if fitted is not None:  # most used first over all frames, ties by colour; unused entries dropped
        order = np.lexsort((*palette.T[::-1], -counts))
        order = order[counts[order] > 0]
        new_index = np.zeros(256, np.uint8)
        new_index[order] = np.arange(len(order))
        np.take(new_index, indices, out=indices)
        palette, counts = np.ascontiguousarray(palette[order]), counts[order]
    result = QuantizedImage(
        indices=indices, palette=palette, counts=counts, distortion=scores[0],
        n_input_colors=len(hist.colors), n_iter=0 if fitted is None else fitted.n_iter,
        converged=True if fitted is None else fitted.converged,
        history=np.zeros(1) if fitted is None else fitted.history, quality=scores[1],
        delta_e_ok=scores[2])
    return result, Timing(durations, loop_count(clip))


def _map_frames(clip: Animation, n: int, channels: int, entries: np.ndarray, remap, on_progress):
    """The second pass: each of the ``n`` frames (RGB when ``channels`` is 3)
    mapped onto ``entries`` by ``remap``.  Returns the indices ``(n, h, w)``,
    the palette (the longest a frame got: an RGB palette on frames with
    transparent pixels gains one transparent entry at its end), the counts,
    and the mean distortion, quality and Oklab distance over all pixels."""
    indices = np.zeros((n, clip.height, clip.width), np.uint8)
    counts, palette, sums, delta = np.zeros(256, np.int64), None, np.zeros(2), 0.0
    for index, (pixels, _) in enumerate(frames(clip)):
        if index == n:
            break
        one = remap(pixels if channels == 4 else np.ascontiguousarray(pixels[:, :, :3]), entries)
        indices[index] = one.indices
        counts[:len(one.palette)] += one.counts
        palette = one.palette if palette is None or len(one.palette) > len(palette) else palette
        sums += np.array([one.distortion, one.quality]) * one.indices.size
        delta = None if delta is None or one.delta_e_ok is None else delta + one.delta_e_ok * one.indices.size
        notify(on_progress, (index + 1) / n)
    total = indices.size
    scores = (float(sums[0] / total), int(round(sums[1] / total)), None if delta is None else delta / total)
    return indices, palette, counts[:len(palette)], scores


def encode_animation(suffix: str, result: QuantizedImage, timing: Timing, text: dict | None = None,
                     path=None) -> bytes:
    """The bytes of the animation ``result`` (indices ``(frames, h, w)``)
    as an animated GIF (``suffix`` .gif) or an APNG (.png, with ``text`` in
    tEXt chunks), with the frames' durations and the loop count of
    ``timing``."""
    from .imageio import written_for

    colors = result.palette
    with written_for(path):
        if suffix.lower() == ".gif":
            from .gif import encode_gif_frames

            alpha = colors[:, 3] if colors.shape[1] == 4 else None
            return encode_gif_frames(result.indices, colors[:, :3], alpha, durations=timing.durations,
                                     loop=timing.loop)
        from .apng import encode_apng

        return encode_apng(result.indices, colors, text, durations=timing.durations, loop=timing.loop)
