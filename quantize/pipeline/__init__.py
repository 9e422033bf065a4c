"""The colour path: fit a palette to an image, then apply it.

``fit``: image -> histogram -> k-means (the speed schedule) -> :class:`Palette`;
``quality_search``: the fewest colours that reach a quality target;
``apply``: image + palette -> :class:`QuantizedImage` (nearest entry or
dithering, and the scores); ``working_space``: where distances are measured;
``image``: :func:`quantize_image`, fit then apply.  The K sweep, batch jobs
and the command line use the same pieces.
"""
from ..options import KMeansOptions
from .apply import apply_palette
from .fit import SPEED_SCHEDULE, fit_palette, sample_levels, to_palette
from .image import quantize_image
from .quality_search import fit_to_quality
from .records import Palette, QuantizedImage, psnr_from_distortion
from .working_space import WorkingSpace

__all__ = ["KMeansOptions", "Palette", "QuantizedImage", "SPEED_SCHEDULE", "WorkingSpace", "apply_palette",
           "fit_palette", "fit_to_quality", "psnr_from_distortion", "quantize_image", "sample_levels",
           "to_palette"]
