"""One image file through the colour path: read, quantize, write the image,
its palette and (on request) the k-means trace; the record of what was done.

The main command and every batch job use :func:`quantize_file`.
"""
from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from . import __version__
from .errors import ParameterError
from .imageio import MAX_PIXELS, check_output_suffix, check_targets, encode_quantized, read_image_file, write_together
from .palette import check_palette_suffix, encode_palette, palette_entries
from .png import read_text
from .pipeline import KMeansOptions, quantize_image
from .progress import ProgressCallback

TRACE_SUFFIXES = (".csv", ".png")


PNG_KEYWORD = "quantize"  # tEXt keyword of the parameters a PNG was made with


@dataclass(frozen=True)
class FileResult:
    """What quantizing one file gave (the main command's ``--json`` summary).

    ``psnr_db`` is None when the output is exact; ``palette`` holds one dict
    per colour (``hex``, ``rgb``, ``count``, ``share``), most used first;
    ``parameters`` what made the output (see :func:`parameters`); ``notes``
    remarks for the user (e.g. only the first frame of an animation was used).
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
    iterations: int
    converged: bool
    seconds: float
    bytes_in: int
    bytes_out: int
    palette: tuple[dict, ...]
    parameters: dict = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    @property
    def lossless(self) -> bool:
        """True when the input had no more than K colours and kept them all."""
        return self.distortion == 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def parameters(k: int, options: KMeansOptions) -> dict:
    """The parameters that decide an output's pixels, as recorded in the
    batch manifest and in the PNG itself (tEXt chunk ``quantize``)."""
    return {"k": int(k), **asdict(options)}


def recorded_parameters(path) -> dict | None:
    """The parameters a PNG written by quantize records, or None (no such
    record, not a PNG, unreadable)."""
    try:
        with open(path, "rb") as file:
            head = file.read(1 << 16)
        return json.loads(read_text(head)[PNG_KEYWORD])
    except (OSError, KeyError, ValueError):
        return None


def quantize_file(source, k: int, *, output, palette_path=None, trace_path=None,
                  options: KMeansOptions | None = None, max_pixels: int | None = MAX_PIXELS,
                  force: bool = False, on_progress: ProgressCallback | None = None) -> FileResult:
    """Quantize the image file ``source`` to ``k`` colours and write ``output``
    (and ``palette_path``, ``trace_path`` when given).

    Every output is checked before any work: a known format, not the input,
    not named twice, and not existing unless ``force``.  The outputs are
    written together (see :func:`quantize.imageio.write_together`): all of
    them or none, their folder made when missing.  Raises a
    :class:`QuantizeError` naming the file and the cause.
    """
    started = time.perf_counter()
    options = options or KMeansOptions()
    output = Path(output)
    check_output_suffix(output)
    if palette_path is not None:
        check_palette_suffix(palette_path)
    if trace_path is not None and Path(trace_path).suffix.lower() not in TRACE_SUFFIXES:
        raise ParameterError(f"{trace_path}: a trace is written as .csv or .png")
    check_targets([p for p in (output, palette_path, trace_path) if p], inputs=[source], force=force)
    image = read_image_file(source, max_pixels=max_pixels)
    notes = (f"{source} has {image.frames} frames: quantized the first",) if image.frames > 1 else ()
    if image.cut_short:
        notes += (f"{source} is cut short: quantized what it holds",)
    result = quantize_image(image.pixels, k, options, on_progress=on_progress)
    made_with = parameters(k, options)
    text = {"Software": f"quantize {__version__}", PNG_KEYWORD: json.dumps(made_with, sort_keys=True)}
    files = [(output, encode_quantized(output.suffix, result.indices, result.palette, text))]
    if palette_path is not None:
        files.append((palette_path, encode_palette(palette_path, result.palette, result.counts, name=output.stem)))
    if trace_path is not None:
        from .report import render_trace  # matplotlib only when asked for

        files.append((trace_path, render_trace(trace_path, result.history)))
    write_together(files)
    return FileResult(
        input=str(source),
        output=str(output),
        palette_file=None if palette_path is None else str(palette_path),
        trace_file=None if trace_path is None else str(trace_path),
        k=k,
        colors=len(result.palette),
        input_colors=result.n_input_colors,
        distortion=result.distortion,
        psnr_db=None if math.isinf(result.psnr) else result.psnr,
        iterations=result.n_iter,
        converged=bool(result.converged),
        seconds=time.perf_counter() - started,
        bytes_in=image.size,
        bytes_out=len(files[0][1]),
        palette=tuple(palette_entries(result.palette, result.counts)),
        parameters=made_with,
        notes=notes,
    )
