"""The arguments of :func:`~quantize.core.kmeans` and
:func:`~quantize.core.minibatch_kmeans`, checked once where they enter the
core; everything below assumes them valid."""
from __future__ import annotations

import numpy as np

from ..checks import check_int, is_int, is_real
from ..errors import ParameterError
from ..limits import INITS
from ..options import auto_n_init
from .layouts import ROW_ELEMENTS


def check_arguments(points, k, weights, init, n_init, tol, max_iter):
    """The checked arguments of :func:`kmeans`, in its order: ``X`` is
    ``points`` as an array of its own real dtype (not copied), ``w (n,)``
    float64, ``k``, ``start`` the initial centroids ``(k, d)`` float64 or
    None, ``n_init``, ``tol``, ``max_iter``, and ``dtype`` the precision of
    the distance products (float32 for float32 points, else float64).

    Raises
    ------
    ParameterError
        Naming the first argument out of range.
    """
    X, dtype = _points(points)
    n, d = X.shape
    if not is_int(k) or not 1 <= k <= n:
        raise ParameterError(f"k must be an integer from 1 to the number of points ({n}), got {k!r}")
    k = int(k)
    w = _weights(weights, n, k)
    start = None
    if isinstance(init, str):
        if init not in INITS:
            raise ParameterError(f"init must be one of {', '.join(INITS)} or an array, got {init!r}")
    else:
        start = np.array(init, dtype=np.float64)
        if start.shape != (k, d) or not np.isfinite(start).all():
            raise ParameterError(f"init array must be finite with shape ({k}, {d}), got {start.shape}")
    if n_init == "auto":
        n_init = auto_n_init(init)
    elif not is_int(n_init) or n_init < 1:
        raise ParameterError(f"n_init must be 'auto' or an integer >= 1, got {n_init!r}")
    if start is not None:
        n_init = 1  # every run would start from the same centroids
    if not is_real(tol) or not tol >= 0:
        raise ParameterError(f"tol must be a number >= 0, got {tol!r}")
    max_iter = check_int("max_iter", max_iter, low=1)
    return X, w, k, start, int(n_init), float(tol), max_iter, dtype


def _points(points):
    """``points`` as a non-empty 2-D array of finite real numbers (not
    copied), and the precision of the products for them."""
    X = np.asarray(points)
    if X.dtype.kind not in "biuf":
        raise ParameterError(f"points must be real numbers, got dtype {X.dtype}")
    if X.ndim != 2 or X.shape[0] == 0 or X.shape[1] == 0:
        raise ParameterError(f"points must be a non-empty 2-D array (n, d), got shape {X.shape}")
    dtype = np.float32 if X.dtype == np.float32 else np.float64
    if X.dtype.kind == "f":
        step = max(1, ROW_ELEMENTS // X.shape[1])
        if not all(np.isfinite(X[start:start + step]).all() for start in range(0, len(X), step)):
            raise ParameterError("points must be finite (no NaN or infinity)")
    return X, dtype


def _weights(weights, n, k):
    """The weights ``(n,)`` float64, all ones when None; at least ``k`` positive."""
    if weights is None:
        return np.ones(n)
    w = np.asarray(weights, dtype=np.float64)
    if w.shape != (n,):
        raise ParameterError(f"weights must have shape ({n},), got {w.shape}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise ParameterError("weights must be finite and non-negative")
    positive = int(np.count_nonzero(w))
    if positive < k:
        raise ParameterError(f"k={k} exceeds the number of points with positive weight ({positive})")
    return w
