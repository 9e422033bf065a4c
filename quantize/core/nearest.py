"""The nearest-entry search: for each point, the palette entry (or centroid)
nearest to it.  Every part of quantize that needs one calls this module: the
k-means core (Lloyd's assignment step with its runners-up, the mini-batch
steps and their last labelling), remapping colours to a palette, dithering (the
palette's error, ordered thresholds, each wavefront of error diffusion), the
quality search and the elbow sweep.

**The search.**  Since ``|x - p|^2 = |x|^2 - 2 (x . p - |p|^2 / 2)``, the
nearest entry ``p`` of a point ``x`` is the one of largest score
``x . p - |p|^2 / 2``.  The scores of a block of points are one matrix product
``[x, 1] @ [p; -|p|^2 / 2]``, ``(rows, d + 1) @ (d + 1, m)``, in the precision
of the search (float32 or float64, :class:`Entries`); the largest score wins,
the lowest index on ties, and ``|x|^2 - 2 score`` is the squared distance.

**When the answer is exact.**  With whole coordinates, every product and
partial sum of a score is a whole number or a half, and while they stay below
``2^22`` (``max|x| |p|_1 + |p|^2 / 2 < 2^22``; 8-bit colours stay below
``2^19``) float32 holds every one of them exactly.  Then every score is exact,
whatever the order BLAS adds the terms in, the block, the layout or the
routine: the nearest entry (ties to the lower index) and the squared distance
are exact (:class:`ColorSet`, :func:`nearest_palette`).

**Otherwise** each score is rounded.  A score is a dot product of ``d + 1``
terms, and rounds by at most ``(d + 2) u (max|x| |p|_1 + |p|^2 / 2)``
(Higham's bound, ``u`` the unit roundoff of the precision), so entries whose
scores differ by more than twice that are ordered right; nearer ones (near
ties) may go either way.  Two ways to live with that:

- ``nearest_entry(..., exact=True)`` settles them: the rows where the runner-up
  scores within ``TIE_MARGIN`` times that bound of the best are decided again
  by float64 squared distances ``sum (x - p)^2`` (ties to the lower index), so
  the answer is the exact nearest entry whatever the values.
- Otherwise the answer is the argmax of the rounded scores, and the search
  makes that a function of the point alone, which the bounds of Lloyd's
  iterations rely on (a point searched among a few others gets what it gets
  among all).  BLAS computes an element of a matrix product (``gemm``) the same
  whatever the other rows, for the few terms of colours (tested with
  ``d + 1 <= 5``, float32 and float64); a single row would go to the
  matrix-vector routine (``gemv``), which rounds differently, so a block of one
  row is searched as two copies of it.  (With a single entry every product is
  a matrix-vector one: the label is 0 anyway, but the score, in float32, may
  round differently with the company.)  With many terms (vectors of hundreds
  of dimensions) BLAS may round an element differently with the shape of the
  whole product; the shapes follow from the block rule, so the answer is the
  same in every run.  :func:`rounding_margin` bounds how far such a rounded
  squared distance may be from the exact one (the room the bounds keep).

**One block rule.**  A search takes ``block_rows(m) = BLOCK_SCORES // m``
points at a time (at least 2): a ``(rows, m)`` block of ``2^16`` scores, in
the cache, and for colours (``d + 1 = 4``) ``2^18`` multiply-adds, below the
size from which OpenBLAS spreads a product over threads (waking them costs
more than such a product takes).  For exact scores the block size cannot
matter; for rounded ones it does not either while ``d + 1 <= 5`` (above).

**Arithmetic kept as options.**  Some callers have always computed their
scores in other ways, kept so that their results do not change by a bit:

- ``Entries(..., bias_after=True)`` computes ``x @ p`` and then adds
  ``-|p|^2 / 2``, two roundings instead of one: the mini-batch steps and their
  last labelling (:mod:`quantize.core.minibatch`).  They, and each wavefront of
  error diffusion (:mod:`quantize.dither`), search one block as they cut it
  (:meth:`Entries.nearest_in`: the mini-batch, a pass over the data, a
  wavefront, single rows included).
- ``search(..., columns=True)`` lays each block out one entry per row,
  ``[p; -|p|^2/2]^T @ [x, 1]^T``, as NumPy reduces short rows slowly (twice
  as fast with up to ``COLUMN_ENTRIES`` entries).  The same dot products: in
  float32 the same scores, in any company (tested; the k-means tests check
  Lloyd's labels against a plain product to the bit).  In float64 BLAS rounds
  the last columns of such a block differently, so a score may depend on the
  point's place in its block.  The Lloyd search has always used this layout
  up to ``COLUMN_ENTRIES`` centroids and keeps it; the other searches keep
  the plain layout they had (only :class:`ColorSet`, exact, takes the faster
  one).
"""
from __future__ import annotations

import numpy as np

# Scores per block of a search (see the module docstring), and the most
# entries for which a block is laid out one entry per row.
BLOCK_SCORES = 1 << 16
COLUMN_ENTRIES = 32
# Headroom over the rounding bound of a score before two entries count as
# tied and are compared again in float64 (nearest_entry(..., exact=True)).
TIE_MARGIN = 4.0
# Scores of whole numbers whose terms stay below this are exact in float32.
WHOLE_LIMIT = 2.0**22
# Rows per block of nearest_centroid's squared norms (converted to float64 a block at a time).
NORM_ROWS = 1024


def block_rows(m: int) -> int:
    """Points per block of a search among ``m`` entries: ``BLOCK_SCORES // m``, at least 2."""
    return max(2, BLOCK_SCORES // m)


def augment(points, dtype=np.float64) -> np.ndarray:
    """``[x, 1]``, ``(n, d + 1)`` in ``dtype``, of ``points (n, d)``: times
    :attr:`Entries.matrix` it gives the scores."""
    return np.hstack([points, np.ones((len(points), 1))]).astype(dtype, copy=False)


class Entries:
    """Palette entries or centroids prepared for searches.

    Parameters
    ----------
    entries : (m, d) array_like of real numbers
        Not copied when already float64.
    dtype : float32 or float64
        The precision of the scores.
    bias_after : bool
        False (the search): ``matrix`` is ``[p; -|p|^2 / 2]``, ``(d + 1, m)``
        in C order, and one product gives the scores.  True (the mini-batch
        arithmetic): ``matrix`` is ``p`` transposed, ``(d, m)`` in Fortran
        order, and ``bias`` ``-|p|^2 / 2 (m,)`` is added after the product.
        The bias is computed in float64 and rounded to ``dtype``.

    Attributes
    ----------
    values : (m, d) array
        The entries as given.
    m, d : int
    dtype : numpy.dtype
    matrix : (d + 1, m) or (d, m) of ``dtype``
    bias : (m,) of ``dtype``, or None
    """

    def __init__(self, entries, dtype=np.float32, *, bias_after: bool = False):
        self.values = np.asarray(entries)
        self.m, self.d = self.values.shape
        self.dtype = np.dtype(dtype)
        exact = np.asarray(entries, dtype=np.float64)
        bias = -0.5 * np.einsum("ij,ij->i", exact, exact)
        if bias_after:
            self.matrix, self.bias = exact.T.astype(dtype), bias.astype(dtype)
        else:
            self.matrix = np.ascontiguousarray(np.vstack([exact.T, bias[None, :]]), dtype=dtype)
            self.bias = None
        self._by_entry = None

    @property
    def by_entry(self) -> np.ndarray:
        """``matrix`` as rows, ``(m, d + 1)`` in C order, for the column layout."""
        if self._by_entry is None:
            self._by_entry = np.ascontiguousarray(self.matrix.T)
        return self._by_entry

    def scores(self, rows: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """Scores ``(s, m)`` of one block ``rows`` exactly as given, in one
        product (single rows included, so they go through BLAS's matrix-vector
        routine): ``(s, d + 1)`` augmented rows, or ``(s, d)`` with
        ``bias_after``, in ``dtype``; written into ``out (s, m)`` when given."""
        out = np.matmul(rows, self.matrix, out=out)
        if self.bias is not None:
            out += self.bias
        return out

    def nearest_in(self, rows: np.ndarray, out: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """The nearest entry ``(s,) intp`` of each of ``rows``, one block as
        given (see :meth:`scores`), ties to the lower index, and the scores
        ``(s, m)`` it was chosen by."""
        scores = self.scores(rows, out)
        return scores.argmax(axis=1), scores


def search(points: np.ndarray, entries: Entries, *, top: int = 1, index: np.ndarray | None = None,
           columns: bool = False, scores: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """The ``top`` best entries of each point, in blocks of :func:`block_rows`.

    Parameters
    ----------
    points : (n, d + 1) or (n, d) array
        Rows of ``d + 1`` columns are augmented points ``[x, 1]`` already in
        ``entries.dtype`` (as the k-means core keeps them); rows of ``d``
        columns are augmented a block at a time (no copy of the whole).
    entries : Entries
        Prepared without ``bias_after``.
    top : int
        How many of the best scores to keep, 1 to 3.
    index : (n,) int array, optional
        Search only these rows of ``points`` (gathered a block at a time).
    columns : bool
        Lay each block out one entry per row (see the module docstring):
        faster with few entries; the Lloyd search uses it up to
        ``COLUMN_ENTRIES`` entries.
    scores : bool
        False: the labels alone (``top`` must be 1), the scores are not
        gathered (None is returned for them).

    Returns
    -------
    labels : (max(1, top - 1), n) intp
        The best entry of each point (ties to the lower index), then the
        runner-up when ``top`` is 3; the last place's entry is not looked for,
        its score serves as a bound for all the others.  0 where ``m`` is
        smaller than the place.
    scores : (top, n) float64 or None
        The scores of the ``top`` best, ``-inf`` where ``m`` is smaller.
    """
    n = len(points) if index is None else len(index)
    m, d = entries.m, entries.d
    labels = np.zeros((max(1, top - 1), n), dtype=np.intp)
    best = np.full((top, n), -np.inf) if scores else None
    step = block_rows(m)
    every = np.arange(step)  # row numbers in a block
    rank = _rank_columns if columns else _rank_rows
    preference = None  # m - j in row j, for the column layout
    if columns:
        preference = np.repeat(np.arange(m, 0, -1, dtype=np.min_scalar_type(m))[:, None], step, axis=1)
    buffer = None if points.shape[1] == d + 1 else np.ones((min(step, n), d + 1), dtype=entries.dtype)
    # The score blocks, reused (a fresh one costs page faults); (m, step) by column
    out = np.empty((m, step) if columns else (step, m), dtype=entries.dtype) if n >= step else None
    for start in range(0, n, step):
        stop = min(start + step, n)
        size = stop - start
        taken = points[start:stop] if index is None else points[index[start:stop]]
        if buffer is None:
            rows = taken
        else:
            rows = buffer[:size]
            rows[:, :d] = taken
        if size == 1:  # never a matrix-vector product
            rows = np.repeat(rows, 2, axis=0)
        if columns:
            block = np.matmul(entries.by_entry, rows.T, out=out if size == step else None)
        else:
            block = np.matmul(rows, entries.matrix, out=None if out is None else out[:len(rows)])
        rank(block, labels[:, start:stop], None if best is None else best[:, start:stop], every, preference)
    return labels, best


def _rank_rows(block, labels, scores, every, preference) -> None:
    """Fill ``labels`` and ``scores`` (see :func:`search`; None: the best
    label alone) from the scores ``block (s, m)`` (overwritten; ``s`` may
    exceed their size by one copy); ``every`` holds ``0, 1, ...``."""
    size = labels.shape[1]
    every = every[: len(block)]
    places = 1 if scores is None else len(scores)
    for place in range(min(block.shape[1], places)):  # (argmax is faster than max along rows)
        chosen = block.argmax(axis=1)
        if scores is not None:
            scores[place] = block[every, chosen][:size]
        if place < len(labels):
            labels[place] = chosen[:size]
        if place + 1 < places:
            block[every, chosen] = -np.inf


def _rank_columns(block, labels, scores, every, preference) -> None:
    """:func:`_rank_rows` for a block laid out one entry per row, ``(m, s)``;
    ``preference (m, >= s)`` holds ``m - j`` in row ``j``."""
    m, size = len(block), labels.shape[1]
    every = every[: block.shape[1]]
    places = 1 if scores is None else len(scores)
    for place in range(min(m, places)):
        best = block.max(axis=0)
        if scores is not None:
            scores[place] = best[:size]
        if place < len(labels):  # the first entry with the best score
            ranked = np.multiply(block == best, preference[:, : len(every)])
            chosen = m - ranked.max(axis=0).astype(np.intp)
            labels[place] = chosen[:size]
            if place + 1 < places:
                block.ravel()[chosen * len(every) + every] = -np.inf


def nearest_entry(points: np.ndarray, entries: Entries, *, exact: bool = False, columns: bool = False,
                  scores: bool = True) -> tuple[np.ndarray, np.ndarray | None]:
    """The nearest entry of each point and its score.

    Parameters
    ----------
    points : (n, d + 1) or (n, d) array
        As for :func:`search`; ``exact`` needs the ``(n, d)`` points.
    entries : Entries
        Prepared without ``bias_after``.
    exact : bool
        Settle near ties by float64 squared distances (see the module
        docstring), so that the label is the exact nearest entry whatever the
        values.  Skipped when every score is exact anyway (whole numbers below
        ``WHOLE_LIMIT``).
    columns, scores : bool
        As for :func:`search`.

    Returns
    -------
    labels : (n,) intp
        The nearest entry of each point, ties to the lower index.
    scores : (n,) float64 or None
        Its score ``x . p - |p|^2 / 2`` as the search computed it.
    """
    slack = _tie_slack(points, entries) if exact and entries.m > 1 else None
    labels, best = search(points, entries, top=1 if slack is None else 2, columns=columns,
                          scores=scores or slack is not None)
    labels = labels[0]
    if slack is not None:
        dtype = entries.dtype  # compared in the precision of the scores
        close = np.flatnonzero(best[1].astype(dtype) >= best[0].astype(dtype) - slack)
        step = block_rows(entries.m)
        for start in range(0, len(close), step):
            rows = close[start:start + step]
            diff = points[rows, None, :].astype(np.float64) - entries.values[None, :, :]
            labels[rows] = np.einsum("ijk,ijk->ij", diff, diff).argmin(axis=1)
    return labels, None if best is None or not scores else best[0]


def _tie_slack(points: np.ndarray, entries: Entries) -> np.ndarray | None:
    """How close ``(n,)``, in the points' dtype, the runner-up's score must
    come to the best one for :func:`nearest_entry` to settle a point again:
    ``TIE_MARGIN`` times the rounding bound of a score, ``(d + 2) u (max|x|
    |p|_1 + |p|^2 / 2)``; None when every score is exact (whole numbers below
    ``WHOLE_LIMIT``)."""
    whole, x_max = _whole_and_largest(points)
    p_l1 = float(np.abs(entries.values).sum(axis=1).max())
    p_sq = float(np.einsum("ij,ij->i", entries.values, entries.values).max()) / 2
    if whole and _integral(entries.values) and float(x_max.max(initial=0.0)) * p_l1 + p_sq < WHOLE_LIMIT:
        return None
    unit = (entries.d + 2) * float(np.finfo(entries.dtype).eps) / 2 * TIE_MARGIN
    return unit * (x_max * p_l1 + p_sq)


def _whole_and_largest(points: np.ndarray) -> tuple[bool, np.ndarray]:
    """Whether every coordinate of ``points (n, d)`` is a whole number, and
    the largest absolute coordinate of each point, ``(n,)`` of their dtype;
    no ``(n, d)`` temporary is made."""
    x_max = np.abs(points[:, 0])
    for column in points.T[1:]:  # (NumPy reduces along short rows slowly)
        np.maximum(x_max, np.abs(column), out=x_max)
    step = BLOCK_SCORES
    return all(_integral(points[start:start + step]) for start in range(0, len(points), step)), x_max


def _integral(values: np.ndarray) -> bool:
    """True when every value is a whole number."""
    return bool(np.all(np.floor(values) == values))


def rounding_margin(dtype, x_sq: np.ndarray, d: int = 3) -> float:
    """A bound on the rounding in the squared distances of the k-means core,
    for points and centroids of squared norm at most ``R2 = max(x_sq)``
    (centroids are weighted means of points, so this holds for them too).

    A squared distance computed as ``x^2 - 2 (x.c - c^2/2)`` with the products
    in ``dtype`` (unit roundoff ``u``) is within ``17u R2`` of the exact one:
    rounding the point and the centroid to ``dtype`` moves ``x.c`` by at most
    ``2u R2`` and ``c^2/2`` by ``u R2 / 2``, a dot product of four terms errs by
    at most ``4u (R2 + R2 / 2)``, and the three are doubled.  Two such values
    for one point are thus ordered as the exact ones when those differ by more
    than ``34u R2``.  A squared distance computed in float64 as
    ``sum (x - c)^2`` errs by at most ``5 u64 d^2 <= 20 u64 R2``, and a square
    root by ``u64``.  The margin, ``64u R2 + 256 u64 R2``, covers all of that
    with room to spare for ``d <= 3``.  In ``d`` dimensions the dot product
    has ``d + 1`` terms and the sum of squares ``d``, and Higham's bounds grow
    with the count of terms: the margin is multiplied by ``(d + 1) / 4`` (at
    least 1), which covers both (``(d + 2) / 5 <= (d + 1) / 4`` for d >= 3).
    """
    unit = np.finfo(dtype).eps / 2
    unit64 = np.finfo(np.float64).eps / 2
    scale = max(1.0, (d + 1) / 4)
    return (64.0 * unit + 256.0 * unit64) * scale * float(x_sq.max()) + np.finfo(np.float64).tiny


class ColorSet:
    """8-bit colours prepared once for many searches (the elbow sweep maps
    the same colours to a palette per K).

    ``colors (n, c) uint8``; the scores are float32 and exact (see the module
    docstring), so the nearest entry is exact (ties to the lower index) and
    so is the squared distance.
    """

    def __init__(self, colors: np.ndarray):
        self.augmented = np.ones((len(colors), colors.shape[1] + 1), dtype=np.float32)
        self.augmented[:, :-1] = colors
        self.sq_norm = np.einsum("ij,ij->i", self.augmented[:, :-1], self.augmented[:, :-1])

    def nearest(self, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Index ``(n,) int32`` and squared distance ``(n,) int64`` of the
        nearest entry of ``palette (m, c) uint8`` for each colour."""
        labels, scores = nearest_entry(self.augmented, Entries(palette, np.float32),
                                       columns=len(palette) <= COLUMN_ENTRIES)
        return labels.astype(np.int32), (self.sq_norm - 2.0 * scores).astype(np.int64)


def nearest_palette(colors: np.ndarray, palette: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Index ``(n,) int32`` and squared distance ``(n,) int64`` of the nearest
    entry of ``palette (m, c) uint8`` for each of ``colors (n, c) uint8``
    (exact; see :class:`ColorSet`)."""
    return ColorSet(colors).nearest(palette)


def nearest_centroid(points, centroids) -> tuple[np.ndarray, np.ndarray]:
    """The nearest of ``centroids (k, d)`` to each of ``points (n, d)`` (real
    numbers), searched in float64: ``labels (n,) int32`` (ties to the lower
    index) and ``sq_dist (n,) float64``, ``|x|^2 - 2 score`` clipped at 0.

    An array (a read-only memory map included) is read in blocks and
    converted a block at a time: the memory used is the two outputs and
    ``O(BLOCK_SCORES d / k + NORM_ROWS d)``, never a float64 copy of the whole.
    The results do not depend on that: the search cuts the same blocks as on
    a float64 copy, and each squared norm is a sum over its own row."""
    X = points if isinstance(points, np.ndarray) else np.asarray(points, dtype=np.float64)
    labels, scores = nearest_entry(X, Entries(centroids, np.float64))
    sq = np.empty(len(X))
    for start in range(0, len(X), NORM_ROWS):
        rows = np.asarray(X[start:start + NORM_ROWS], dtype=np.float64)
        np.einsum("ij,ij->i", rows, rows, out=sq[start:start + NORM_ROWS])
    sq -= 2.0 * scores
    return labels.astype(np.int32), np.maximum(sq, 0.0, out=sq)
