"""Checks of the values that enter the library, each written once.

A public function checks its arguments where they enter, with these helpers,
and raises :class:`quantize.errors.ParameterError` naming the parameter;
internals assume valid input and say so.  This module imports nothing heavy,
so that the command line can use it without NumPy.

>>> is_int(3), is_int(True), is_int(3.0)
(True, False, False)
>>> check_int("max_iter", 0, low=1)
Traceback (most recent call last):
...
quantize.errors.ParameterError: max_iter must be an integer >= 1, got 0
"""
from __future__ import annotations

import numbers

from .errors import ParameterError


def is_int(value) -> bool:
    """True for an integer of any kind (Python or NumPy), False for a bool or a float."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def is_real(value) -> bool:
    """True for a real number of any kind, False for a bool."""
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """``value`` as an ``int`` when it is an integer within ``low..high``
    (each bound optional); else :class:`ParameterError` naming ``name``."""
    if not is_int(value) or (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            bound = f"an integer from {low} to {high}"
        elif low is not None:
            bound = f"an integer >= {low}"
        else:
            bound = "an integer" if high is None else f"an integer <= {high}"
        raise ParameterError(f"{name} must be {bound}, got {value!r}")
    return int(value)


def check_choice(name: str, value, choices) -> str:
    """``value`` when it is one of ``choices``; else :class:`ParameterError`
    listing them."""
    if not isinstance(value, str) or value not in choices:
        raise ParameterError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


def check_k(k, most: int) -> int:
    """The number of colours ``k``, an integer from 1 to ``most``."""
    if not is_int(k) or not 1 <= k <= most:
        raise ParameterError(f"K must be an integer from 1 to {most}, got {k!r}")
    return int(k)


def check_quality(quality) -> tuple[int, int]:
    """``(minimum, target)`` checked: integers, ``0 <= minimum <= target <= 100``."""
    try:
        minimum, target = quality
    except (TypeError, ValueError):
        raise ParameterError(f"quality must be a pair (minimum, target), got {quality!r}") from None
    if not (is_int(minimum) and is_int(target) and 0 <= minimum <= target <= 100):
        raise ParameterError(f"quality must be integers 0 <= minimum <= target <= 100, got {quality!r}")
    return int(minimum), int(target)


def check_image(image):
    """``image`` as an array when it is a non-empty ``(h, w, 3)`` or
    ``(h, w, 4)`` uint8 array (not copied)."""
    import numpy as np

    image = np.asarray(image)
    if image.dtype != np.uint8 or image.ndim != 3 or image.shape[2] not in (3, 4) or image.size == 0:
        raise ParameterError(
            f"image must be a non-empty (h, w, 3) or (h, w, 4) uint8 array, "
            f"got shape {image.shape} and dtype {image.dtype}"
        )
    return image


def check_colors(colors, most: int):
    """``colors`` as ``(m, 3)`` or ``(m, 4)`` uint8 when they are 1 to ``most``
    RGB or RGBA colours of integers 0-255."""
    import numpy as np

    array = np.asarray(colors)
    if (array.ndim != 2 or array.shape[1] not in (3, 4) or not 1 <= len(array) <= most
            or array.dtype.kind not in "iu" or (array < 0).any() or (array > 255).any()):
        raise ParameterError(
            f"a palette must be 1 to {most} RGB or RGBA colours of 0-255, (m, 3) or (m, 4) integers, "
            f"got shape {array.shape} and dtype {array.dtype}"
        )
    return array.astype(np.uint8)
