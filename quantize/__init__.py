"""quantize: fast, correct colour quantization on a NumPy k-means core.

>>> from quantize import read_image, quantize_image, kmeans

The names below are loaded on first use, so that ``import quantize`` (and
``quantize --help``) does not pay for NumPy and OpenCV.
"""
import importlib

__version__ = "0.1.0"

_WHERE = {
    "kmeans": "core", "KMeansResult": "core", "minibatch_kmeans": "core",
    "quantize_image": "pipeline", "fit_palette": "pipeline", "apply_palette": "pipeline",
    "fit_to_quality": "pipeline",
    "KMeansOptions": "options", "Palette": "pipeline", "QuantizedImage": "pipeline",
    "read_image": "imageio", "write_quantized": "imageio",
    "QuantizeError": "errors", "ParameterError": "errors", "ImageReadError": "errors",
    "ImageWriteError": "errors", "OutputExistsError": "errors", "OutputLargerError": "errors",
    "QualityTooLowError": "errors", "Cancelled": "errors", "VectorDataError": "errors",
}

__all__ = ["__version__", "write_image", *_WHERE]


def __getattr__(name):
    if name == "write_image":
        name = "write_quantized"
    if name not in _WHERE:
        raise AttributeError(f"module 'quantize' has no attribute {name!r}")
    return getattr(importlib.import_module(f".{_WHERE[name]}", __name__), name)


def __dir__():
    return sorted(__all__)

