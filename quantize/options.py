"""How k-means fits a palette: the one options object every command shares.

It lives in the foundation (no NumPy), so that the command line can build it
while answering ``--help`` lightly, and ``quantize cluster`` can take it
without loading the colour path.  Every field is checked here, once, when the
object is made.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from .checks import check_choice, check_int, is_int, is_real
from .errors import ParameterError
from .limits import COLOUR_INITS, DEFAULT_SPEED, SPACES, SPEEDS


def auto_n_init(init) -> int:
    """The runs ``n_init="auto"`` means: 10 for "random", 1 for "k-means++" or an array."""
    return 10 if isinstance(init, str) and init == "random" else 1


@dataclass(frozen=True)
class KMeansOptions:
    """How k-means fits a palette: one object shared by every command.

    Attributes
    ----------
    init : {"k-means++", "random", "wu"}
        Starting centroids (see :func:`quantize.kmeans`); the names are in
        ``KMeansOptions.INITS``.  "wu" is for fitting a palette only: the
        colours of Wu's quantizer (:mod:`quantize.pipeline.wu`) start the
        first k-means level (an image with alpha starts from "k-means++");
        ``quantize cluster`` takes "k-means++" or "random".
    n_init : int >= 1 or "auto"
        Runs from different starts; the least distortion wins.  "auto" means
        ``runs``: 1 for "k-means++" and "wu", 10 for "random".  With "wu"
        there is one run (one start).
    tol : float >= 0
        Relative stop threshold of one run.
    max_iter : int >= 1
        Iteration limit of one run.
    seed : int >= 0 or None
        Seed of the one random generator; None draws fresh entropy.
    speed : int, 1 to 10
        Colour fitting only: 1, one k-means on every unique colour; 2 to 10:
        coarse to fine, a pixel sample first, then the unique colours with a
        looser stop or fewer iterations as the speed rises
        (``quantize.pipeline.fit.SPEED_SCHEDULE``).  Not used by ``quantize
        cluster``, which clusters whole images.
    space : {"rgb", "oklab", "lab"}
        Colour fitting only: where distances are measured, for k-means and
        for the nearest palette colour (:mod:`quantize.spaces`): sRGB values,
        Oklab, or CIELAB D65.  Images with alpha are clustered in RGB only.

    Examples
    --------
    >>> KMeansOptions(init="random").runs
    10
    >>> KMeansOptions(tol=-1)
    Traceback (most recent call last):
    ...
    quantize.errors.ParameterError: tol must be a number >= 0, got -1
    """

    init: str = "k-means++"
    n_init: int | str = "auto"
    tol: float = 1e-4
    max_iter: int = 300
    seed: int | None = None
    speed: int = DEFAULT_SPEED
    space: str = "rgb"

    INITS: ClassVar[tuple[str, ...]] = COLOUR_INITS

    def __post_init__(self):
        check_choice("init", self.init, COLOUR_INITS)
        if self.n_init != "auto" and not (is_int(self.n_init) and self.n_init >= 1):
            raise ParameterError(f"n_init must be 'auto' or an integer >= 1, got {self.n_init!r}")
        if not is_real(self.tol) or not self.tol >= 0:
            raise ParameterError(f"tol must be a number >= 0, got {self.tol!r}")
        check_int("max_iter", self.max_iter, low=1)
        if self.seed is not None and not (is_int(self.seed) and self.seed >= 0):
            raise ParameterError(f"seed must be a whole number >= 0, got {self.seed!r}")
        check_choice("space", self.space, SPACES)
        check_int("speed", self.speed, low=SPEEDS[0], high=SPEEDS[-1])

    @property
    def runs(self) -> int:
        """The number of runs ``n_init`` stands for."""
        return auto_n_init(self.init) if self.n_init == "auto" else int(self.n_init)
