"""One progress protocol for the core, the pipeline, the K sweep and batch.

A progress callback takes one number, the fraction of the work done, from 0 to 1
and never decreasing.  It may stop the work: when it returns ``False`` (or raises
an exception of its own), the work stops by raising :class:`quantize.Cancelled`
(or lets that exception through).  Any other return value, ``None`` included,
means "go on".

>>> seen = []
>>> half = span(seen.append, 0.5, 1.0)
>>> notify(half, 0.0); notify(half, 0.5); notify(half, 1.0)
>>> seen
[0.5, 0.75, 1.0]
"""
from __future__ import annotations

from typing import Callable, Optional

from .errors import Cancelled

ProgressCallback = Callable[[float], Optional[bool]]


def notify(on_progress: ProgressCallback | None, fraction: float) -> None:
    """Tell ``on_progress`` that ``fraction`` of the work is done; raise
    :class:`Cancelled` when it answers ``False``."""
    if on_progress is not None and on_progress(float(min(max(fraction, 0.0), 1.0))) is False:
        raise Cancelled("cancelled")


def span(on_progress: ProgressCallback | None, start: float, stop: float) -> ProgressCallback | None:
    """A callback for one stage of a larger job: its fractions 0..1 are passed
    on as ``start``..``stop``, and its answer (go on or stop) is passed back."""
    if on_progress is None:
        return None
    return lambda fraction: on_progress(start + (stop - start) * fraction)
