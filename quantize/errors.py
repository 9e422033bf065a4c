"""The small exception family: each error carries the facts of what went wrong.

``str(error)`` is a sentence for a library user, naming parameters as the
Python API names them (``max_pixels``, ``force``).  The facts are attributes,
so that a caller can word the error in its own terms: the command line words
those that name one of its options (``quantize.cli.describe``) and maps each
class to an exit code.

Attributes of every error (each None when it does not apply)
-------------------------------------------------------------
reason : str
    What went wrong, machine-readable; one of :data:`REASONS`.
path : str or path-like
    The file or folder concerned.
parameter : str
    The parameter concerned, as the Python API names it.
value
    The value at fault (see :data:`REASONS` for what it holds).
limit
    The bound it broke.

>>> error = ImageReadError("a.png: too big", reason="too-many-pixels", path="a.png",
...                        parameter="max_pixels", value=(4, 3), limit=10)
>>> str(error), error.reason, error.limit
('a.png: too big', 'too-many-pixels', 10)
"""

# The reasons an error (or a skipped batch file) gives, and what ``value`` and ``limit`` hold.
REASONS = {
    "too-many-pixels": "an image is larger than max_pixels; value (width, height), limit max_pixels",
    "too-many-frame-pixels": "an animation's frames times its canvas exceed max_pixels; value (frames, width, "
                             "height), limit max_pixels",
    "too-many-bytes": "an input holds more bytes than an image within max_pixels takes (see "
                      "quantize.reading.stream_limit); value: max_pixels, limit: those bytes",
    "exists": "an output exists and force is not set",
    "made-differently": "a batch output exists, made with other parameters; value: (name, recorded, wanted) "
                        "of each parameter that differs",
    "is-input": "an output would replace an input",
    "named-twice": "one file is named twice as an output",
    "output-is-input-folder": "an output folder (batch, cluster) is one of its input folders",
    "quality-and-palette": "a quality target with a palette given in advance, for one file",
    "quality-and-batch-palette": "a quality target with a palette given in advance or shared, for a batch",
    "alpha-in-space": "an image with alpha, and a working space other than rgb; value: the space",
    "needs-dask": "a Dask scheduler is given and Dask is not installed",
    "larger": "the output would be larger than the input; value: its bytes, limit: the input's",
    "in-use": "a batch output folder is held by another batch; value: the id of its process, or None",
    "not-finite": "a vector file holds NaN or infinity; value: the first row (from 0) that does",
    "not-real": "a vector file holds no real numbers (objects, text, complex); value: its dtype",
    "shape-mismatch": "vectors do not have the shape a model (or the training set) expects; value: theirs, "
                      "limit: the expected",
    "needs-minibatch": "full k-means on vectors larger than the memory available; value: the bytes it needs, "
                       "limit: the bytes available",
}


class QuantizeError(Exception):
    """Base class of every error quantize raises on purpose."""

    exit_code = 1

    def __init__(self, message: str, *, reason: str | None = None, path=None, parameter: str | None = None,
                 value=None, limit=None):
        super().__init__(message)  # only the message in args: the error pickles (facts in __dict__)
        self.reason = reason
        self.path = path
        self.parameter = parameter
        self.value = value
        self.limit = limit


class ParameterError(QuantizeError, ValueError):
    """A parameter is out of range or of the wrong kind (exit code 2)."""

    exit_code = 2


class VectorDataError(QuantizeError):
    """A vector file or model cannot be used as it is: NaN or infinity, no
    real numbers, or a shape the model does not take (exit code 2)."""

    exit_code = 2


class ImageReadError(QuantizeError):
    """An input file is missing, unreadable or not an image we support (exit code 1)."""

    exit_code = 1


class ImageWriteError(QuantizeError):
    """An output file cannot be written (exit code 1)."""

    exit_code = 1


class OutputExistsError(QuantizeError):
    """An output exists and ``force`` is not set, or it would replace an input (exit code 3)."""

    exit_code = 3


class OutputLargerError(QuantizeError):
    """With ``skip_if_larger``: the output would be larger than the input, so
    nothing was written (exit code 98, as pngquant)."""

    exit_code = 98


class Cancelled(QuantizeError):
    """The work was stopped by a progress callback or by Ctrl-C (exit code 130)."""

    exit_code = 130


class QualityTooLowError(QuantizeError):
    """With a quality target: even K colours do not reach the minimum quality,
    so nothing was written (exit code 99, as pngquant)."""

    exit_code = 99
