"""The small exception family.  The CLI maps each class to an exit code."""


class QuantizeError(Exception):
    """Base class of every error quantize raises on purpose."""

    exit_code = 1


class ParameterError(QuantizeError, ValueError):
    """A parameter is out of range or of the wrong kind (exit code 2)."""

    exit_code = 2


class ImageReadError(QuantizeError):
    """An input file is missing, unreadable or not an image we support (exit code 1)."""

    exit_code = 1


class ImageWriteError(QuantizeError):
    """An output file cannot be written (exit code 1)."""

    exit_code = 1


class OutputExistsError(QuantizeError):
    """An output exists and --force was not given, or it would replace an input (exit code 3)."""

    exit_code = 3


class OutputLargerError(QuantizeError):
    """With --skip-if-larger: the output would be larger than the input, so
    nothing was written (exit code 98, as pngquant)."""

    exit_code = 98


class Cancelled(QuantizeError):
    """The work was stopped by a progress callback or by Ctrl-C (exit code 130)."""

    exit_code = 130


class QualityTooLowError(QuantizeError):
    """With a quality target: even K colours do not reach the minimum quality,
    so nothing was written (exit code 99, as pngquant)."""

    exit_code = 99
