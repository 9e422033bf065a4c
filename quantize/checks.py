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
