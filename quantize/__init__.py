"""quantize: fast, correct colour quantization on a NumPy k-means core.

>>> from quantize import read_image, quantize_image, kmeans
"""
__version__ = "0.1.0"

from .errors import (  # noqa: E402
    Cancelled,
    ImageReadError,
    ImageWriteError,
    OutputExistsError,
    ParameterError,
    QuantizeError,
)
from .imageio import read_image, write_quantized  # noqa: E402
from .kmeans import KMeansResult, kmeans  # noqa: E402
from .pipeline import (  # noqa: E402
    KMeansOptions,
    Palette,
    QuantizedImage,
    apply_palette,
    fit_palette,
    quantize_image,
)

write_image = write_quantized

__all__ = [
    "__version__",
    "kmeans",
    "KMeansResult",
    "quantize_image",
    "fit_palette",
    "apply_palette",
    "KMeansOptions",
    "Palette",
    "QuantizedImage",
    "read_image",
    "write_image",
    "write_quantized",
    "QuantizeError",
    "ParameterError",
    "ImageReadError",
    "ImageWriteError",
    "OutputExistsError",
    "Cancelled",
]
