"""The names and limits every layer shares, in a module that imports nothing,
so that the command line can build its options (and answer ``--help``) without
loading NumPy or OpenCV."""

MAX_COLORS = 256  # palette entries: PNG and GIF palettes hold at most 256
MAX_PIXELS = 180_000_000  # the default pixel limit (Pillow's hard limit)
INITS = ("k-means++", "random")  # starting centroids of the k-means core
COLOUR_INITS = INITS + ("wu",)  # fitting a palette: also Wu's quantizer (pipeline/wu.py)
DITHER_METHODS = ("none", "floyd-steinberg", "ordered")
PALETTE_FORMATS = ("gpl", "json", "txt", "png", "none")  # batch: the palette file beside each output
SPEEDS = range(1, 11)  # --speed: 1 slowest and best, 10 fastest (see pipeline.SPEED_SCHEDULE)
DEFAULT_SPEED = 4
SPACES = ("rgb", "oklab", "lab")  # where k-means and the nearest-colour search measure distance
PNG_OPTIMIZE_DEFAULT, PNG_OPTIMIZE_MAX = 2, 4  # --optimize: 0 (fastest) .. 4 (smallest), see png.TRIALS


def default_jobs() -> int:
    """The CPUs this process may use: ``os.process_cpu_count()`` (Python 3.13+),
    else the affinity mask where the system has one, else ``os.cpu_count()``."""
    import os

    if hasattr(os, "process_cpu_count"):
        return os.process_cpu_count() or 1
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
