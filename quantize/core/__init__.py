"""The k-means core: k-means on weighted points of any dimension, and the one
nearest-entry search that k-means, remapping, dithering and the elbow sweep
all use.

Modules: :mod:`~quantize.core.nearest` (the search), :mod:`~.layouts` (how
the points are kept), :mod:`~.seeding` (starting centroids), :mod:`~.lloyd`
(:func:`kmeans`), :mod:`~.minibatch` (:func:`minibatch_kmeans`),
:mod:`~.arguments` (their checks) and :mod:`~.result` (what they return).
"""
from ..limits import INITS
from .arguments import auto_n_init
from .lloyd import kmeans
from .minibatch import minibatch_kmeans
from .nearest import ColorSet, Entries, nearest_centroid, nearest_entry, nearest_palette, search
from .seeding import add_worst_served
from .result import HISTORY_ROUNDING, HISTORY_ROUNDING_FLOAT32, KMeansResult

__all__ = [
    "INITS", "add_worst_served", "auto_n_init", "kmeans", "minibatch_kmeans", "KMeansResult",
    "HISTORY_ROUNDING", "HISTORY_ROUNDING_FLOAT32",
    "ColorSet", "Entries", "nearest_centroid", "nearest_entry", "nearest_palette", "search",
]
