"""One image file through the colour path: read, quantize, write the image,
its palette and (on request) the k-means trace; the record of what was done.

The main command and every batch job use :func:`quantize_file`.
"""
from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from .errors import ParameterError
from .imageio import check_output_suffix, check_targets, read_image, write_quantized
from .palette import check_palette_suffix, palette_entries, write_palette
from .pipeline import KMeansOptions, quantize_image
from .progress import ProgressCallback

TRACE_SUFFIXES = (".csv", ".png")


@dataclass(frozen=True)
class FileResult:
    """What quantizing one file gave (the main command's ``--json`` summary).

    ``psnr_db`` is None when the output is exact; ``palette`` holds one dict
    per colour (``hex``, ``rgb``, ``count``, ``share``), most used first.
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

    @property
    def lossless(self) -> bool:
        """True when the input had no more than K colours and kept them all."""
        return self.distortion == 0.0

    def to_dict(self) -> dict:
        return asdict(self)


def quantize_file(source, k: int, *, output, palette_path=None, trace_path=None,
                  options: KMeansOptions | None = None, force: bool = False,
                  on_progress: ProgressCallback | None = None) -> FileResult:
    """Quantize the image file ``source`` to ``k`` colours and write ``output``
    (and ``palette_path``, ``trace_path`` when given).

    Every output is checked before any work: a known format, not the input,
    not named twice, its folder present, and not existing unless ``force``.
    Each file is written atomically.  Raises a :class:`QuantizeError` naming
    the file and the cause.
    """
    started = time.perf_counter()
    output = Path(output)
    check_output_suffix(output)
    if palette_path is not None:
        check_palette_suffix(palette_path)
    if trace_path is not None and Path(trace_path).suffix.lower() not in TRACE_SUFFIXES:
        raise ParameterError(f"{trace_path}: a trace is written as .csv or .png")
    check_targets([p for p in (output, palette_path, trace_path) if p], inputs=[source], force=force)
    result = quantize_image(read_image(source), k, options, on_progress=on_progress)
    bytes_out = write_quantized(output, result.indices, result.palette, result.alpha)
    if palette_path is not None:
        write_palette(palette_path, result.palette, result.counts, name=output.stem)
    if trace_path is not None:
        from .report import write_trace  # matplotlib only when asked for

        write_trace(trace_path, result.history)
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
        bytes_in=os.path.getsize(source),
        bytes_out=bytes_out,
        palette=tuple(palette_entries(result.palette, result.counts)),
    )
