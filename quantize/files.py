"""One image file through the colour path: read, quantize, write the image,
its palette and (on request) the k-means trace; the record of what was done.

The main command and every batch job use :func:`quantize_file`.
"""
from __future__ import annotations

import json
import math
import os
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from . import __version__
from .checks import check_choice, check_quality
from .colour_profile import CONVERTED, SRGB, SRGB_CHUNKS, UNREADABLE, UNSUPPORTED
from .errors import OutputLargerError, ParameterError, QualityTooLowError
from .animation import ANIMATION_SUFFIXES, Animation, Timing, encode_animation, open_animation, quantize_animation
from .imageio import check_output_suffix, check_targets, encode_quantized, holds_alpha, write_together
from .limits import DITHER_METHODS, MAX_PIXELS, PNG_OPTIMIZE_DEFAULT, PNG_OPTIMIZE_MAX
from .reading import image_file, read_bytes
from .palette import check_palette_suffix, encode_palette, load_palette, palette_entries
from .options import KMeansOptions
from .pipeline import QuantizedImage, apply_palette, quantize_image
from .png import read_text
from .progress import ProgressCallback

TRACE_SUFFIXES = (".csv", ".png")


PNG_KEYWORD = "quantize"  # tEXt keyword of the parameters a PNG was made with


@dataclass(frozen=True)
class FileResult:
    """What quantizing one file gave (the main command's ``--json`` summary).

    ``psnr_db`` is None when the output is exact; ``quality`` is pngquant's
    quality of the output, 0-100 (:func:`quantize.metrics.quality`);
    ``delta_e_ok`` the mean Oklab distance x 100 (None with alpha); ``dssim``
    the DSSIM-like score when asked for (:func:`quantize.metrics.dssim`);
    ``palette`` holds one dict per colour (``hex``, ``rgb``, ``count``,
    ``share``), most used first; ``parameters`` what made the output (see
    :func:`parameters`); ``notes`` remarks for the user (e.g. only the first
    frame of an animation was used); ``encoded`` the bytes of the image file
    when ``output`` is ``-`` (standard output), for the caller to write (not
    in :meth:`to_dict`).
    """

    input: str
    output: str
    palette_file: str | None
    trace_file: str | None
    k: int
    colors: int
    input_colors: int
    distortion: float
    psnr_db: float | None
    quality: int
    delta_e_ok: float | None
    dssim: float | None
    iterations: int
    converged: bool
    seconds: float
    bytes_in: int
    bytes_out: int
    palette: tuple[dict, ...]
    parameters: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()
    encoded: bytes | None = field(default=None, repr=False)
    frames: int = 1

    @property
    def lossless(self) -> bool:
        """True when the input had no more than K colours and kept them all."""
        return self.distortion == 0.0

    def to_dict(self) -> dict:
        """Every field but ``encoded``, in order; ``frames`` only for an animation."""
        data = asdict(self)
        del data["encoded"]
        if self.frames == 1:
            del data["frames"]
        return data


@dataclass(frozen=True)
class ReadOptions:
    """How an image file is read.

    Attributes
    ----------
    autorotate : bool
        Turn the picture upright as its EXIF orientation says.
    max_pixels : int or None
        Refuse larger images (see :func:`quantize.imageio.decode_image`).
    colour_management : bool
        Convert the pixels to sRGB from the colour space the file declares
        (see :mod:`quantize.colour_profile`).
    """

    autorotate: bool = True
    max_pixels: int | None = MAX_PIXELS
    colour_management: bool = True


@dataclass(frozen=True)
class OutputOptions:
    """How one file is fitted and written, beside the k-means options; how it
    is read is ``read``.

    Attributes
    ----------
    dither : {"none", "floyd-steinberg", "ordered"}
        See :func:`quantize.apply_palette`.
    dither_strength : float in [0, 1]
    skip_if_larger : bool
        Write nothing when the image would come out larger than the input
        file (:class:`quantize.errors.OutputLargerError`).
    quality : (minimum, target) or None
        pngquant's quality target, each 0-100 (see
        :func:`quantize.quantize_image`): the fewest colours up to K that
        reach ``target``; nothing written below ``minimum``
        (:class:`quantize.errors.QualityTooLowError`).  Not with a palette
        given in advance.
    optimize : int, 0 to 4
        How hard a PNG is compressed (lossless: the pixels do not change; see
        :func:`quantize.png.encode_indexed`).
    read : ReadOptions
        How the file is read; ``autorotate`` and ``max_pixels`` are its
        settings too, for callers that read them here.
    strip : bool
        Keep no metadata of the input in a PNG output (no pHYs, no text) and
        write no text chunks of our own; an sRGB tag stays (see
        :mod:`quantize.metadata`).

    The dithering is checked here, as :func:`quantize.apply_palette` checks it
    (the same messages), so that bad options fail when they are made, before
    any file is read.
    """

    dither: str = "none"
    dither_strength: float = 1.0
    skip_if_larger: bool = False
    quality: tuple[int, int] | None = None
    read: ReadOptions = field(default_factory=ReadOptions)
    strip: bool = False
    optimize: int = PNG_OPTIMIZE_DEFAULT

    def __post_init__(self):
        if self.quality is not None:
            object.__setattr__(self, "quality", check_quality(self.quality))
        check_choice("dither", self.dither, DITHER_METHODS)
        if not (isinstance(self.optimize, int) and 0 <= self.optimize <= PNG_OPTIMIZE_MAX):
            raise ParameterError(f"optimize must be an integer from 0 to {PNG_OPTIMIZE_MAX}, got {self.optimize!r}",
                                 parameter="optimize", value=self.optimize, limit=PNG_OPTIMIZE_MAX)
        if not 0.0 <= self.dither_strength <= 1.0:
            raise ParameterError(f"dither strength must be from 0 to 1, got {self.dither_strength!r}",
                                 parameter="dither_strength", value=self.dither_strength)

    @property
    def autorotate(self) -> bool:
        return self.read.autorotate

    @property
    def max_pixels(self) -> int | None:
        return self.read.max_pixels


def parameters(k: int | None, options: KMeansOptions, output: OutputOptions | None = None,
               colors: np.ndarray | None = None, shared: bool = False) -> dict:
    """The parameters that decide an output's pixels, as recorded in the
    batch manifest and in the PNG itself (tEXt chunk ``quantize``): K and the
    k-means options (with ``shared_palette`` when one palette was fitted to a
    whole batch), or ``map``, a digest of the palette ``colors`` given in
    advance; the dithering; whether the picture was turned upright; the
    quality target, when one chose K."""
    output = output or OutputOptions()
    if colors is not None and not shared:
        import hashlib  # 3 ms of start-up (OpenSSL): only with a palette given in advance

        made = {"k": None, "map": hashlib.sha256(np.ascontiguousarray(colors).tobytes()).hexdigest()[:16],
                "space": options.space}
    else:
        made = {"k": None if k is None else int(k), **asdict(options), **({"shared_palette": True} if shared else {})}
    target = {} if output.quality is None else {"quality": list(output.quality)}  # never with a given palette
    unmanaged = {} if output.read.colour_management else {"colour_management": False}
    return {**made, **target, "dither": output.dither, "dither_strength": output.dither_strength,
            "autorotate": output.read.autorotate, **unmanaged}


STDIN_STEM = "stdin"  # the name of an image read from standard input, in the names made from it


def output_name(source, tag: str, folder=None) -> Path:
    """The default output of ``source``: ``IMAGE-TAG.png`` beside it, or in
    ``folder`` when one is given (``-o DIR``, as ``cp FILE DIR/``); an image
    read from standard input (``-``) is named ``stdin``."""
    source = Path(source)
    stem = STDIN_STEM if str(source) == "-" else source.stem
    name = f"{stem}-{tag}.png"
    return Path(folder) / name if folder is not None else source.with_name(name)


def names_a_folder(path) -> bool:
    """True when the output ``path`` (as given, a string) means a folder: it
    ends with a separator, or is an existing folder."""
    text = str(path)
    return text != "-" and (text.endswith(("/", os.sep)) or os.path.isdir(text))


def recorded_parameters(path) -> dict | None:
    """The parameters a PNG written by quantize records, or None (no such
    record, not a PNG, unreadable)."""
    try:
        with open(path, "rb") as file:
            head = file.read(1 << 16)
        return json.loads(read_text(head)[PNG_KEYWORD])
    except (OSError, KeyError, ValueError):
        return None


def quantize_file(source, k: int | None, *, output, palette_path=None, trace_path=None,
                  options: KMeansOptions | None = None, output_options: OutputOptions | None = None,
                  colors=None, map_path=None, force: bool = False, measure_dssim: bool = False,
                  send=None, on_progress: ProgressCallback | None = None) -> FileResult:
    """Quantize the image file ``source`` (``-``: standard input) to ``k`` colours,
    or map it onto a palette given in advance, and write ``output`` (``-``: a
    PNG whose bytes the result carries, see :class:`FileResult`, and that
    ``send``, when given, is called with before anything else is written: a
    failure to send them, raised by ``send``, leaves no palette or trace) and
    ``palette_path``, ``trace_path`` when given.  With ``measure_dssim`` the
    result carries the DSSIM-like score of the output (RGB images; about
    0.35 s per 0.4 megapixels).  An image with alpha is quantized in rgb
    whatever ``options.space`` says (premultiplied RGBA; the space asked for
    is what :func:`parameters` records), with a note; notes also tell of the
    transparency a format drops (JPEG, BMP) and of a DSSIM not measured.

    A palette given in advance is ``colors``, ``(m, 3|4) uint8``, or read from
    ``map_path``, a palette file or image (see
    :func:`quantize.palette.load_palette`): no k-means, the palette kept whole
    and in order; with ``k`` too, the palette is taken as fitted with ``k``
    and ``options`` to a whole batch.

    Every output is checked before any work: a known format, not an input
    (``source`` or ``map_path``, even with ``force``), not named twice, no
    folder in its place, and not existing unless ``force``.  The outputs are
    written together (see :func:`quantize.imageio.write_together`): all of
    them or none, their folder made when missing.  Raises a
    :class:`QuantizeError` naming the file and the cause.
    """
    started = time.perf_counter()
    options = options or KMeansOptions()
    output_options = output_options or OutputOptions()
    output = Path(output)
    to_stdout = str(output) == "-"
    _check_request(source, None if to_stdout else output, palette_path, trace_path, force=force, colors=colors,
                   map_path=map_path, quality=output_options.quality)
    if map_path is not None:
        colors = load_palette(map_path)
    suffix = ".png" if to_stdout else output.suffix
    pixels, bytes_in, notes, chunks = _read(source, output_options.read, suffix.lower() in ANIMATION_SUFFIXES,
                                            output_options.strip)
    result, timing, alpha, notes = _quantize(source, pixels, k, options, output_options, colors, notes, on_progress)
    if timing is not None:  # an animation: no DSSIM
        pixels, measure_dssim = None, False
    pixels = pixels if measure_dssim and not alpha else None  # only the DSSIM needs them past here
    made_with = parameters(k, options, output_options, colors, shared=colors is not None and k is not None)
    encoded = _encode(source, suffix, result, None if output_options.strip else made_with, chunks,
                      output=None if to_stdout else output,
                      larger_than=bytes_in if output_options.skip_if_larger else None, timing=timing,
                      optimize=output_options.optimize, keep_order=colors is not None)
    if result.palette.shape[1] == 4 and (result.palette[:, 3] < 255).any() and not holds_alpha(suffix):
        notes += (f"{output}: a {suffix.lower()} file holds no transparency: written opaque, transparent pixels "
                  "black",)
    files = [] if to_stdout else [(output, encoded)]
    files += _beside(result, palette_path, trace_path, "quantize" if to_stdout else output.stem)
    score, notes = _dssim(source, pixels, result, notes) if measure_dssim else (None, notes)
    if to_stdout and send is not None:
        send(encoded)
    write_together(files)
    return FileResult(
        input=str(source),
        output=str(output),
        palette_file=None if palette_path is None else str(palette_path),
        trace_file=None if trace_path is None else str(trace_path),
        k=len(result.palette) if k is None else k,
        colors=int(np.count_nonzero(result.counts)),
        input_colors=result.n_input_colors,
        distortion=result.distortion,
        psnr_db=None if math.isinf(result.psnr) else result.psnr,
        quality=result.quality,
        delta_e_ok=result.delta_e_ok,
        dssim=score,
        iterations=result.n_iter,
        converged=bool(result.converged),
        seconds=time.perf_counter() - started,
        bytes_in=bytes_in,
        bytes_out=len(encoded),
        palette=tuple(palette_entries(result.palette, result.counts)),
        parameters=made_with,
        notes=notes,
        encoded=encoded if to_stdout else None,
        frames=1 if timing is None else len(result.indices),
    )


def _check_request(source, output, palette_path, trace_path, *, force: bool, colors, map_path, quality) -> None:
    """What :func:`quantize_file` checks before any work: one palette given in
    advance at most, the outputs' formats (``output`` None: standard output),
    that they may be written, and that a quality target does not come with a
    palette given in advance."""
    if colors is not None and map_path is not None:
        raise ParameterError("give colors or map_path, not both", parameter="map_path")
    if output is not None:
        check_output_suffix(output)
    if palette_path is not None:
        check_palette_suffix(palette_path)
    if trace_path is not None and Path(trace_path).suffix.lower() not in TRACE_SUFFIXES:
        raise ParameterError(f"{trace_path}: a trace is written as .csv or .png", path=trace_path)
    targets = [p for p in (output, palette_path, trace_path) if p]
    check_targets(targets, inputs=[p for p in (source, map_path) if p is not None], force=force)
    if quality is not None and (colors is not None or map_path is not None):
        raise ParameterError(f"{source}: a quality target (quality) chooses K by k-means: "
                             "not with a palette given in advance (colors, map_path)",
                             reason="quality-and-palette", path=source, parameter="quality")


def open_source(source, read: ReadOptions, animated: bool = True):
    """The image file ``source`` read as ``read`` says: an :class:`Animation`
    when ``animated`` and it holds several frames (checked against the pixel
    limit from its headers, nothing decoded), else the decoded
    :class:`~quantize.reading.ImageFile`."""
    data = read_bytes(source, max_pixels=read.max_pixels)
    clip = open_animation(source, data, read.max_pixels) if animated else None
    return clip if clip is not None else image_file(source, data, **asdict(read))


def _read(source, read: ReadOptions, animated: bool = False, strip: bool = False):
    """The pixels of the image file ``source`` (with ``animated``, an
    :class:`Animation` when it holds several frames), the bytes of the file,
    the notes on it for the user, and the ancillary chunks a PNG output gets:
    an sRGB tag when the file declared its colours, its metadata unless
    ``strip`` (only the pixels are kept, so that they go as soon as the
    caller lets them go)."""
    image = open_source(source, read, animated)
    if isinstance(image, Animation):
        return image, int(image.data.size), (), ()
    notes = (f"{source} has {image.frames} frames: quantized the first",) if image.frames > 1 else ()
    if image.cut_short:
        notes += (f"{source} is cut short: quantized what it holds",)
    if image.colour in (UNREADABLE, UNSUPPORTED):
        notes += (f"{source}: its colour profile cannot be {'read' if image.colour == UNREADABLE else 'used'} "
                  f"({image.profile}): quantized its colours as they are",)
    chunks = SRGB_CHUNKS if image.colour in (SRGB, CONVERTED) else ()
    return image.pixels, image.size, notes, chunks + (() if strip else image.metadata)


def _quantize(source, pixels, k, options: KMeansOptions, output_options: OutputOptions, colors, notes: tuple,
              on_progress) -> tuple[QuantizedImage, Timing | None, bool, tuple]:
    """The image ``pixels`` (or the :class:`Animation`) quantized; its
    timing (None for one image), whether it has alpha, and the notes."""
    if isinstance(pixels, Animation):
        result, timing, alpha = _animate(source, pixels, k, options, output_options, colors, on_progress)
        notes += (f"{source} has {len(result.indices)} frames: quantized with one palette",)
    else:
        alpha, timing = pixels.shape[2] == 4, None
        result = _colour(source, pixels, k, replace(options, space="rgb") if alpha else options, output_options,
                         colors, on_progress)
    if alpha and options.space != "rgb":  # alpha is clustered in rgb only (premultiplied RGBA)
        notes += (f"{source} has alpha: quantized in rgb, not {options.space}",)
    return result, timing, alpha, notes


def _animate(source, clip: Animation, k, options: KMeansOptions, output_options: OutputOptions, colors,
             on_progress) -> tuple[QuantizedImage, Timing, bool]:
    """The animation ``clip`` in one palette (see
    :func:`quantize.animation.quantize_animation`), each frame mapped and
    dithered by :func:`_colour` as one image is onto a palette given in
    advance; the timing, and whether the frames have alpha."""
    channels = []

    def remap(pixels, entries):
        channels.append(pixels.shape[2])
        space = "rgb" if pixels.shape[2] == 4 else options.space
        return _colour(source, pixels, None, replace(options, space=space), output_options, entries, None)

    result, timing = quantize_animation(clip, k, options, remap, colors=colors, quality=output_options.quality,
                                        on_progress=on_progress)
    return result, timing, channels[-1] == 4


def _dssim(source, pixels: np.ndarray | None, result: QuantizedImage, notes: tuple) -> tuple:
    """The DSSIM-like score of ``result`` against the RGB ``pixels`` (None: the
    image has alpha, and no score, with a note), and the notes."""
    if pixels is None:
        return None, notes + (f"{source} has alpha: no DSSIM (it is measured on RGB images only)",)
    from .metrics import dssim

    return dssim(pixels, result.palette[result.indices][:, :, :3]), notes


def _colour(source, pixels: np.ndarray, k: int | None, options: KMeansOptions, output_options: OutputOptions,
            colors: np.ndarray | None, on_progress: ProgressCallback | None) -> QuantizedImage:
    """``pixels`` quantized to ``k`` colours, or mapped onto ``colors`` (given
    in advance, kept whole and in order); a quality target too low names
    ``source``."""
    dither = dict(dither=output_options.dither, dither_strength=output_options.dither_strength)
    if colors is not None and colors.shape[1] == 4 and pixels.shape[2] == 3:
        return _onto_opaque(pixels, colors, options.space, dither)
    if colors is not None:
        return apply_palette(pixels, colors, reorder=False, space=options.space, **dither)
    try:
        return quantize_image(pixels, k, options, quality=output_options.quality, on_progress=on_progress,
                              **dither)
    except QualityTooLowError as error:
        raise QualityTooLowError(f"{source}: {error}", reason=error.reason, path=source,
                                 parameter=error.parameter, value=error.value, limit=error.limit) from None


def _onto_opaque(pixels: np.ndarray, colors: np.ndarray, space: str, dither: dict) -> QuantizedImage:
    """An RGB image ``pixels`` mapped onto the opaque entries of the RGBA
    palette ``colors`` given in advance (onto all of them when none is), and
    the palette kept whole, alpha too, and in order: every image mapped onto
    one palette holds the same PLTE and tRNS, and an opaque image stays
    opaque."""
    opaque = np.flatnonzero(colors[:, 3] == 255)
    opaque = opaque if len(opaque) else np.arange(len(colors))
    result = apply_palette(pixels, colors[opaque, :3], reorder=False, space=space, **dither)
    counts = np.zeros(len(colors), dtype=np.int64)
    counts[opaque] = result.counts
    return replace(result, indices=opaque.astype(np.uint8)[result.indices], palette=colors, counts=counts)


def _encode(source, suffix: str, result: QuantizedImage, made_with: dict | None, chunks=(), *, output=None,
            larger_than: int | None, timing: Timing | None = None, optimize: int = PNG_OPTIMIZE_DEFAULT,
            keep_order: bool = False) -> bytes:
    """The bytes of the image file ``output`` (a PNG records ``made_with``,
    unless None, and carries ``chunks``, its palette in the given order when
    ``keep_order``: a palette given in advance or shared by a batch stays one
    PLTE; with ``timing``, an animation); :class:`OutputLargerError` when
    they are more than ``larger_than``."""
    text = None if made_with is None else {"Software": f"quantize {__version__}",
                                           PNG_KEYWORD: json.dumps(made_with, sort_keys=True)}
    encoded = (encode_quantized(suffix, result.indices, result.palette, text, path=output, chunks=chunks,
                                optimize=optimize, keep_order=keep_order)
               if timing is None else encode_animation(suffix, result, timing, text, path=output))
    if larger_than is not None and len(encoded) > larger_than:
        raise OutputLargerError(f"{source}: the output would be larger than the input "
                                f"({len(encoded):,} > {larger_than:,} bytes): nothing written",
                                reason="larger", path=source, parameter="skip_if_larger", value=len(encoded),
                                limit=larger_than)
    return encoded


def _beside(result: QuantizedImage, palette_path, trace_path, name: str) -> list[tuple]:
    """The files written beside the image, as ``(path, bytes)``: the palette
    file (its name inside it ``name``) and the k-means trace, each when asked
    for."""
    files = []
    if palette_path is not None:
        files.append((palette_path, encode_palette(palette_path, result.palette, result.counts, name=name)))
    if trace_path is not None:
        from .report import render_trace  # matplotlib only when asked for

        files.append((trace_path, render_trace(trace_path, result.history)))
    return files
