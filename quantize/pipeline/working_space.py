"""The working space: where the colour path measures the distance between colours.

One object per space (``"rgb"``, ``"oklab"``, ``"lab"``) converts RGB colours
into points of the space, centroids back into 8-bit colours, and finds each
colour's nearest palette entry there, so that fitting, applying, dithering and
the elbow sweep never branch on the space's name.

In ``"rgb"`` the points are the 8-bit values themselves, premultiplied for
RGBA (:func:`quantize.histogram.working_points`), and the nearest entry is
exact (8-bit values make every float32 score exact).  In Oklab and CIELAB
(:mod:`quantize.spaces`) the points are float32 and only RGB images are
accepted (the file layer quantizes an image with alpha in rgb).  Whatever
the space, the distortion a result reports stays the mean squared RGB
distance (premultiplied RGBA).
"""
from __future__ import annotations

import numpy as np

from ..checks import check_choice
from ..errors import ParameterError
from ..histogram import from_working_points, working_points
from ..limits import SPACES


class WorkingSpace:
    """The space named ``name`` for colours of ``channels`` channels.

    Raises :class:`quantize.errors.ParameterError` for an unknown name, or for
    a space other than rgb with 4 channels (alpha is clustered in RGB only:
    :func:`quantize.files.quantize_file` quantizes such a file in rgb, with a
    note).

    >>> space = WorkingSpace("oklab")
    >>> space.points(np.array([[255, 255, 255]], np.uint8)).round(3).tolist()
    [[1.0, 0.0, 0.0]]
    >>> space.colors(np.array([[1.0, 0.0, 0.0]]), 3).tolist()
    [[255, 255, 255]]
    """

    def __init__(self, name: str = "rgb", channels: int = 3):
        check_choice("space", name, SPACES)
        if name != "rgb" and channels == 4:
            raise ParameterError(f"space {name} works on RGB images; quantize images with alpha in rgb",
                                 reason="alpha-in-space", parameter="space", value=name)
        self.name = name
        self.is_rgb = name == "rgb"

    def exact(self, rgb) -> np.ndarray:
        """RGB colours as points of the space, float64 (Oklab or CIELAB only):
        ``(..., 3) uint8``, or reals 0..255 (converted as ``rgb / 255``)."""
        from ..spaces import to_space

        rgb = np.asarray(rgb)
        return to_space(rgb if rgb.dtype == np.uint8 else rgb / 255.0, self.name)

    def points(self, rgb) -> np.ndarray:
        """RGB(A) colours ``(..., c)``, uint8 or reals 0..255, as float32
        points of the space (in rgb: :func:`~quantize.histogram.working_points`
        of uint8 colours, reals as they are)."""
        if not self.is_rgb:
            return self.exact(rgb).astype(np.float32)
        rgb = np.asarray(rgb)
        return working_points(rgb) if rgb.dtype == np.uint8 else rgb.astype(np.float32, copy=False)

    def colors(self, centroids, channels: int) -> np.ndarray:
        """Points ``(k, c)`` of the space as the nearest 8-bit colours, ``(k, c) uint8``."""
        if self.is_rgb:
            return from_working_points(centroids, channels)
        from ..spaces import from_space

        return from_space(centroids, self.name)

    def nearest(self, colors: np.ndarray, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each of ``colors (n, c) uint8``'s nearest entry of ``entries
        (m, c) uint8`` in the space, ``(n,) int``, and the squared distance to
        it in RGB (premultiplied RGBA), ``(n,)``: exact integers in rgb,
        float64 otherwise.  For many searches among the same colours,
        :meth:`prepare` them once."""
        return self.prepare(colors).nearest(entries)

    def prepare(self, colors: np.ndarray) -> "Colors":
        """``colors (n, c) uint8`` prepared for many :meth:`Colors.nearest` searches."""
        return Colors(self, colors)


class Colors:
    """Colours ``(n, c) uint8`` of a :class:`WorkingSpace`, converted once for
    many nearest-entry searches (the K sweep, the quality search)."""

    def __init__(self, space: WorkingSpace, colors: np.ndarray):
        from ..core.nearest import ColorSet

        self.space, self.colors = space, colors
        self.rgb_set = ColorSet(colors) if space.is_rgb and colors.shape[1] == 3 else None
        self.points = None if self.rgb_set is not None else space.points(colors)  # (n, c) float32

    def nearest(self, entries: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """As :meth:`WorkingSpace.nearest` for these colours and ``entries (m, c) uint8``."""
        from ..core.nearest import nearest_centroid

        if self.rgb_set is not None:
            return self.rgb_set.nearest(entries)
        labels, sq_dist = nearest_centroid(self.points, self.space.points(entries))
        if not self.space.is_rgb:  # the distance in RGB, not in the space
            sq_dist = np.square(self.colors.astype(np.float64) - entries[labels]).sum(axis=1)
        return labels, sq_dist
