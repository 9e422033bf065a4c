"""Colour-space conversions for the quantizer, vectorised in NumPy.

Every function takes an array of colours of shape ``(..., 3)`` (one colour,
``(3,)``; a list of colours, ``(n, 3)``; an image, ``(h, w, 3)``) and returns
an array of the same shape.  Results are ``float64`` unless the function says
otherwise (:func:`to_uint8`, :func:`from_space` give ``uint8``).

sRGB input (the ``srgb`` argument of the ``srgb_to_*`` functions and of
:func:`to_space`):

* ``uint8`` (and any other integer dtype, e.g. a Python list of ints): values
  ``0..255``.  ``uint8`` goes through a 256-entry lookup table of the sRGB
  curve, so a million pixels convert quickly; other integer arrays must hold
  values in ``0..255`` and use the same table.
* floating point (``float16``, ``float32``, ``float64``): values ``0..1``.
  They are widened to ``float64`` first.  Values outside ``0..1`` are allowed
  (out-of-gamut colours) and converted by the same formulas (the sRGB curve is
  linear below its threshold, so negative values stay finite).

Spaces, and the sources of their constants:

* **sRGB transfer curve**, IEC 61966-2-1:1999 (sRGB), section 5.2:
  ``C_lin = C / 12.92`` for ``C <= 0.04045``, else ``((C + 0.055) / 1.055) **
  2.4``.  With these (standard, rounded) constants the curve jumps up by
  ``2.3e-9`` at ``C = 0.04045``: the toe ends at ``0.0031308050`` and the power
  segment starts at ``0.0031308073``.  The inverse here switches branch in the
  middle of that gap, at ``0.0031308061``, rather than at the standard's
  ``0.0031308`` (which lies below the gap), so that it is the exact inverse of
  the forward curve on its whole range, even after the rounding noise of a
  matrix product moves a linear value by ~1e-18 across the end of the toe.
  The two choices differ only for linear values in ``(0.0031308,
  0.0031308061]``, by less than ``3e-8`` in the encoded value.
* **Oklab**, Björn Ottosson, "A perceptual color space for image processing"
  (2020), https://bottosson.github.io/posts/oklab/: the ``M1`` matrix for
  *linear sRGB* to LMS and the ``M2`` matrix for cube-rooted LMS to Lab, as
  printed in the ``linear_srgb_to_oklab`` function of the post.  The inverse
  matrices are ``numpy.linalg.inv`` of those two, not the 10-digit inverses
  printed in the post, so that a float round trip is exact to ~1e-15 (the
  printed inverses alone would limit it to ~1e-9).  With these matrices sRGB
  white maps to ``L = 0.99999999``, ``a = 8e-11``, ``b = 3.7e-8`` (Ottosson's
  matrices are rounded to 10 digits; nothing here re-normalises them).
* **CIELAB**, CIE 15:2004, with the reference white D65.  sRGB goes to CIE XYZ
  through the linear-sRGB-to-XYZ matrix of Bruce Lindbloom,
  http://www.brucelindbloom.com/Eqn_RGB_XYZ_Matrix.html (sRGB, D65; the
  matrix of IEC 61966-2-1 to 7 digits).  The reference white ``(Xn, Yn, Zn)``
  is that matrix applied to RGB ``(1, 1, 1)`` -- ``(0.95047, 1.0000001,
  1.08883)``, Lindbloom's D65 -- so that sRGB white is exactly ``L* = 100, a*
  = b* = 0``.  ``epsilon = 216/24389`` and ``kappa = 24389/27`` are the exact
  fractions of the CIE standard, as Lindbloom recommends
  (http://www.brucelindbloom.com/LContinuity.html), not the rounded 0.008856
  and 903.3, so ``f`` is continuous at the threshold.

>>> import numpy as np
>>> np.round(srgb_to_oklab(np.array([255, 0, 0], dtype=np.uint8)), 6)
array([0.627955, 0.224863, 0.125846])
>>> np.round(srgb_to_lab(np.array([255, 0, 0], dtype=np.uint8)), 4)
array([53.2408, 80.0925, 67.2032])
>>> from_space(to_space(np.array([[12, 200, 255]], dtype=np.uint8), "oklab"), "oklab")
array([[ 12, 200, 255]], dtype=uint8)
"""
from __future__ import annotations

import numpy as np

from .checks import check_choice
from .errors import ParameterError
from .limits import SPACES

__all__ = [
    "SPACES", "srgb_to_linear", "linear_to_srgb", "srgb_to_oklab", "oklab_to_srgb",
    "srgb_to_lab", "lab_to_srgb", "to_uint8", "to_space", "from_space",
]

# --- sRGB transfer curve, IEC 61966-2-1:1999 section 5.2 -----------------------
_SRGB_THRESHOLD = 0.04045            # encoded value where the curve changes branch
_SRGB_SLOPE = 12.92                  # slope of the linear toe
_SRGB_OFFSET = 0.055                 # "a" of the power segment
_SRGB_GAMMA = 2.4                    # exponent of the power segment
# The forward curve jumps from 0.0031308050 (toe) to 0.0031308073 (power) at the
# threshold; the inverse switches in the middle of the jump (see the docstring).
_LINEAR_THRESHOLD = 0.5 * (_SRGB_THRESHOLD / _SRGB_SLOPE
                           + ((_SRGB_THRESHOLD + _SRGB_OFFSET) / (1 + _SRGB_OFFSET)) ** _SRGB_GAMMA)

# --- Oklab, Ottosson 2020 (https://bottosson.github.io/posts/oklab/) -------------
# M1: linear sRGB -> LMS, from linear_srgb_to_oklab in the post.
_OKLAB_M1 = np.array([
    [0.4122214708, 0.5363325363, 0.0514459929],
    [0.2119034982, 0.6806995451, 0.1073969566],
    [0.0883024619, 0.2817188376, 0.6299787005],
])
# M2: cube-rooted LMS -> (L, a, b), from the same function.
_OKLAB_M2 = np.array([
    [0.2104542553, 0.7936177850, -0.0040720468],
    [1.9779984951, -2.4285922050, 0.4505937099],
    [0.0259040371, 0.7827717662, -0.8086757660],
])
_OKLAB_M1_INV = np.linalg.inv(_OKLAB_M1)
_OKLAB_M2_INV = np.linalg.inv(_OKLAB_M2)

# --- CIELAB D65 via XYZ ------------------------------------------------------
# Linear sRGB -> XYZ (D65), Bruce Lindbloom's RGB/XYZ matrices page.
_SRGB_TO_XYZ = np.array([
    [0.4124564, 0.3575761, 0.1804375],
    [0.2126729, 0.7151522, 0.0721750],
    [0.0193339, 0.1191920, 0.9503041],
])
_XYZ_TO_SRGB = np.linalg.inv(_SRGB_TO_XYZ)
_WHITE_D65 = _SRGB_TO_XYZ.sum(axis=1)  # (0.95047, 1.0000001, 1.08883): RGB white
_CIE_EPSILON = 216 / 24389           # (6/29)**3, CIE 15:2004
_CIE_KAPPA = 24389 / 27              # (29/3)**3, CIE 15:2004
# Scaled by the white so that one matrix product gives XYZ / white directly.
_SRGB_TO_XYZN = _SRGB_TO_XYZ / _WHITE_D65[:, None]
_XYZN_TO_SRGB = np.linalg.inv(_SRGB_TO_XYZN)
# (fx, fy, fz) -> (L* + 16, a*, b*) = (116 fy, 500 (fx - fy), 200 (fy - fz)), CIE 15:2004,
# as one matrix product; its inverse is exact in binary except for the 1/116, 1/500, 1/200.
_F_TO_LAB = np.array([[0.0, 116.0, 0.0], [500.0, -500.0, 0.0], [0.0, 200.0, -200.0]])
_LAB_TO_F = np.array([[1 / 116, 1 / 500, 0.0], [1 / 116, 0.0, 0.0], [1 / 116, 0.0, -1 / 200]])
_LAB_OFFSET = np.array([16.0, 0.0, 0.0])


def _curve_to_linear(c: np.ndarray) -> np.ndarray:
    """The sRGB decoding curve on float64 ``c`` (any shape), by the formula."""
    # In place, branch by branch: ((c + 0.055) / 1.055) ** 2.4, and c / 12.92
    # where c <= 0.04045 (np.maximum keeps the power's base positive).
    out = np.maximum(c, _SRGB_THRESHOLD)
    out += _SRGB_OFFSET
    out /= 1 + _SRGB_OFFSET
    np.power(out, _SRGB_GAMMA, out=out)
    np.divide(c, _SRGB_SLOPE, out=out, where=c <= _SRGB_THRESHOLD)
    return out


# 256-entry table: value i is the formula at i / 255, computed by the very same
# code as float input, so the uint8 path gives bit-identical results.
_LUT = _curve_to_linear(np.arange(256, dtype=np.float64) / 255.0)
_LUT.setflags(write=False)


def _check_colours(array: np.ndarray, name: str) -> None:
    if array.ndim == 0 or array.shape[-1] != 3:
        raise ParameterError(f"{name} must have shape (..., 3), got {array.shape}")


def _as_float(values, name: str) -> np.ndarray:
    """``values`` as a float64 ``(..., 3)`` array (a new array or a view)."""
    array = np.asarray(values)
    _check_colours(array, name)
    if array.dtype.kind not in "fiu":
        raise ParameterError(f"{name} must be numeric (int or float), got dtype {array.dtype}")
    return array.astype(np.float64, copy=False)


def _srgb01_and_linear(srgb) -> np.ndarray:
    """Decode ``srgb`` (int 0..255 or float 0..1) to linear float64."""
    array = np.asarray(srgb)
    _check_colours(array, "srgb")
    kind = array.dtype.kind
    if kind in "iu":
        if array.dtype != np.uint8 and array.size and (array.min() < 0 or array.max() > 255):
            raise ParameterError("integer sRGB values must be in 0..255")
        return _LUT[array]
    if kind == "f":
        return _curve_to_linear(array.astype(np.float64, copy=False))
    raise ParameterError(f"srgb must be numeric (int or float), got dtype {array.dtype}")


def srgb_to_linear(srgb) -> np.ndarray:
    """sRGB to linear-light RGB (IEC 61966-2-1 decoding curve).

    ``srgb``: ``(..., 3)``, ``uint8`` (or another integer dtype) ``0..255``, or
    float ``0..1`` (``float32`` allowed).  Returns ``(..., 3) float64``, ``0..1``
    for in-range input.  ``uint8`` input is read from a 256-entry table that
    holds exactly the values of the formula.

    >>> srgb_to_linear(np.array([0, 255, 188], dtype=np.uint8)).round(6)
    array([0.      , 1.      , 0.502886])
    """
    return _srgb01_and_linear(srgb)


def linear_to_srgb(linear) -> np.ndarray:
    """Linear-light RGB to sRGB, ``(..., 3) float -> (..., 3) float64`` 0..1.

    The exact inverse of :func:`srgb_to_linear` on float input; not clipped
    (negative values use the linear toe, values above 1 the power segment).
    """
    x = _as_float(linear, "linear")
    # In place: 1.055 * x ** (1 / 2.4) - 0.055, and 12.92 x at and below the threshold.
    out = np.maximum(x, _LINEAR_THRESHOLD)
    np.power(out, 1 / _SRGB_GAMMA, out=out)
    out *= 1 + _SRGB_OFFSET
    out -= _SRGB_OFFSET
    np.multiply(x, _SRGB_SLOPE, out=out, where=x <= _LINEAR_THRESHOLD)
    return out


def _linear_to_oklab(linear: np.ndarray) -> np.ndarray:
    return np.cbrt(linear @ _OKLAB_M1.T) @ _OKLAB_M2.T


def _oklab_to_linear(lab: np.ndarray) -> np.ndarray:
    lms = lab @ _OKLAB_M2_INV.T
    cube = lms * lms
    cube *= lms
    return cube @ _OKLAB_M1_INV.T


def srgb_to_oklab(srgb) -> np.ndarray:
    """sRGB to Oklab (Ottosson 2020), ``(..., 3) -> (..., 3) float64``.

    ``srgb``: ``uint8`` ``0..255`` or float ``0..1``.  Returns ``(L, a, b)``:
    ``L`` in ``0..1`` (white is ``0.99999999``), ``a`` and ``b`` within about
    ``+-0.32`` for colours inside the sRGB gamut.
    """
    return _linear_to_oklab(_srgb01_and_linear(srgb))


def oklab_to_srgb(lab) -> np.ndarray:
    """Oklab to sRGB, ``(..., 3) -> (..., 3) float64`` ``0..1``, not clipped."""
    return linear_to_srgb(_oklab_to_linear(_as_float(lab, "lab")))


def _f(t: np.ndarray) -> np.ndarray:
    # CIE 15:2004: cube root above epsilon, the linear segment (kappa t + 16) / 116 below.
    out = np.cbrt(t)
    low = ~(t > _CIE_EPSILON)
    if low.any():
        out[low] = (_CIE_KAPPA * t[low] + 16) / 116
    return out


def _f_inv(f: np.ndarray) -> np.ndarray:
    # Inverse of _f; the branches meet at f = 6/29 (epsilon ** (1/3) = 6/29).
    out = f * f
    out *= f
    low = ~(f > 6 / 29)
    if low.any():
        out[low] = (116 * f[low] - 16) / _CIE_KAPPA
    return out


def srgb_to_lab(srgb) -> np.ndarray:
    """sRGB to CIELAB D65, ``(..., 3) -> (..., 3) float64`` ``(L*, a*, b*)``.

    ``srgb``: ``uint8`` ``0..255`` or float ``0..1``.  ``L*`` is ``0..100``
    (white is ``100``, ``a* = b* = 0`` to ~1e-14).  Goes through CIE XYZ with
    Lindbloom's sRGB D65 matrix; white point, epsilon and kappa as in the module
    docstring.
    """
    lab = _f(_srgb01_and_linear(srgb) @ _SRGB_TO_XYZN.T) @ _F_TO_LAB.T
    lab[..., 0] -= 16
    return lab


def lab_to_srgb(lab) -> np.ndarray:
    """CIELAB D65 to sRGB, the inverse of :func:`srgb_to_lab`: ``(..., 3)
    float -> (..., 3) float64`` ``0..1``, not clipped."""
    lab = _as_float(lab, "lab") + _LAB_OFFSET
    return linear_to_srgb(_f_inv(lab @ _LAB_TO_F.T) @ _XYZN_TO_SRGB.T)


def to_uint8(srgb01) -> np.ndarray:
    """Float sRGB ``0..1`` to ``uint8`` ``0..255``: scaled by 255, clipped,
    rounded half to even (``np.rint``).  Any shape; NaN is an error.

    >>> to_uint8(np.array([-0.1, 0.5, 1.2]))
    array([  0, 128, 255], dtype=uint8)
    """
    x = np.asarray(srgb01, dtype=np.float64)
    if np.isnan(x).any():
        raise ParameterError("to_uint8: NaN in the colours")
    return np.rint(np.clip(x * 255.0, 0.0, 255.0)).astype(np.uint8)


def to_space(srgb, space: str) -> np.ndarray:
    """sRGB colours to the working space ``space`` (one of :data:`SPACES`).

    ``srgb``: ``(..., 3)``, ``uint8`` ``0..255`` or float ``0..1`` (the
    convention of every function here).  Returns ``(..., 3) float64``:

    * ``"rgb"``: sRGB scaled to ``0..255`` -- for ``uint8`` input the values
      unchanged, as float64 (the project's current working space);
    * ``"oklab"``: :func:`srgb_to_oklab`;
    * ``"lab"``: :func:`srgb_to_lab`.

    An unknown ``space`` raises :class:`~quantize.errors.ParameterError`.

    >>> to_space(np.array([0, 128, 255], dtype=np.uint8), "rgb")
    array([  0., 128., 255.])
    """
    space = check_choice("space", space, SPACES)
    if space == "oklab":
        return srgb_to_oklab(srgb)
    if space == "lab":
        return srgb_to_lab(srgb)
    array = np.asarray(srgb)
    _check_colours(array, "srgb")
    if array.dtype.kind in "iu":
        return array.astype(np.float64)
    return _as_float(array, "srgb") * 255.0


def from_space(points, space: str) -> np.ndarray:
    """Points of ``space`` back to ``uint8`` sRGB, the inverse of
    :func:`to_space`: ``(..., 3)`` float -> ``(..., 3) uint8`` (out-of-gamut
    colours clipped, rounded half to even).  For every 8-bit colour ``c`` and
    every space, ``from_space(to_space(c, space), space) == c``.
    """
    space = check_choice("space", space, SPACES)
    if space == "oklab":
        return to_uint8(oklab_to_srgb(points))
    if space == "lab":
        return to_uint8(lab_to_srgb(points))
    x = _as_float(points, "points")
    if np.isnan(x).any():
        raise ParameterError("from_space: NaN in the points")
    return np.rint(np.clip(x, 0.0, 255.0)).astype(np.uint8)
