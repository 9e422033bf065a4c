"""Lossless choices that make a palette PNG smaller: the order of the palette
entries and the filter of each row.

Deflate finds repeats; after a palette is reordered so that entries that sit
next to each other in the picture get near indices, the rows (and their
differences with the row above, PNG filter "up") repeat more.  The orderings
are those oxipng tries (its ``sorted_palette_battiato`` and
``sorted_palette_mzeng``), from the co-occurrence counts of horizontally
and vertically adjacent pixels.  The row filters are PNG's five, chosen per
row by libpng's "minimum sum of absolute differences" heuristic.
"""
from __future__ import annotations

import numpy as np

FILTERS = (0, 1, 2, 3, 4)  # none, sub, up, average, paeth


def cooccurrence(indices: np.ndarray, n_colors: int) -> np.ndarray:
    """Symmetric ``(n, n) int64`` counts of entries side by side or one above
    the other in ``indices (h, w)``; the diagonal is 0."""
    n = n_colors
    counts = np.zeros(n * n, dtype=np.int64)
    for a, b in ((indices[:, 1:], indices[:, :-1]), (indices[1:], indices[:-1])):
        if a.size:
            counts += np.bincount(a.ravel().astype(np.int64) * n + b.ravel(), minlength=n * n)
    matrix = counts.reshape(n, n)
    matrix = matrix + matrix.T
    np.fill_diagonal(matrix, 0)
    return matrix


def _edges(matrix: np.ndarray) -> list[tuple[int, int]]:
    """Pairs ``(i, j)``, i < j, heaviest first (ties: in row-major order)."""
    first, second = np.triu_indices(len(matrix), 1)
    order = np.argsort(-matrix[first, second], kind="stable")
    return list(zip(first[order].tolist(), second[order].tolist()))


def battiato(matrix: np.ndarray) -> list[int]:
    """A palette order from the co-occurrence ``matrix``: the heaviest edges
    joined into chains, a greedy travelling-salesman path (Battiato et al., "An
    efficient re-indexing algorithm for color-mapped images", as oxipng does
    it)."""
    n = len(matrix)
    if n < 3:
        return list(range(n))
    inner = [False] * n  # inside a chain: takes no more edges
    chain_of = [-1] * n
    chains: list[list[int]] = []
    for i, j in _edges(matrix):
        if inner[i] or inner[j] or (chain_of[i] >= 0 and chain_of[i] == chain_of[j]):
            continue
        if chain_of[i] < 0 and chain_of[j] < 0:
            chain_of[i] = chain_of[j] = len(chains)
            chains.append([i, j])
            continue
        if chain_of[i] < 0 or chain_of[j] < 0:
            new, old = (i, j) if chain_of[i] < 0 else (j, i)
            chain = chains[chain_of[old]]
            chain.insert(0, new) if chain[0] == old else chain.append(new)
            chain_of[new], inner[old] = chain_of[old], True
            continue
        a, b = (i, j) if chain_of[i] < chain_of[j] else (j, i)
        first, second = chains[chain_of[a]], chains[chain_of[b]]
        chains[chain_of[b]] = []
        for v in second:
            chain_of[v] = chain_of[a]
        if first[0] == a:
            first[:0] = second[::-1] if second[0] == b else second
        else:
            first.extend(second if second[0] == b else second[::-1])
        inner[a] = inner[b] = True
        if len(first) == n:
            return first
    return [v for chain in chains for v in chain] + [v for v in range(n) if chain_of[v] < 0]


def mzeng(matrix: np.ndarray) -> list[int]:
    """A palette order from the co-occurrence ``matrix`` by the modified Zeng
    technique (Pinho et al.; libwebp and oxipng): start from the heaviest pair,
    add the entry most tied to those placed, at whichever end suits it."""
    n = len(matrix)
    if n < 3:
        return list(range(n))
    i, j = _edges(matrix)[0]
    order = [i, j]
    left = np.ones(n, dtype=bool)
    left[[i, j]] = False
    sums = matrix[:, i] + matrix[:, j]
    while left.any():
        candidates = np.flatnonzero(left)
        best = int(candidates[np.argmax(sums[candidates])])
        placed = n - len(candidates)
        delta = int(((placed - 1 - 2 * np.arange(placed)) * matrix[best, order]).sum())
        order.insert(0, best) if delta > 0 else order.append(best)
        left[best] = False
        sums = sums + matrix[:, best]
    return order


def luminance(colors: np.ndarray) -> list[int]:
    """Palette order by luma, brightest first (oxipng's ``sorted_palette``)."""
    luma = colors[:, :3].astype(np.int64) @ np.array([299, 587, 114])
    return np.argsort(-luma, kind="stable").tolist()


ORDERS = {"battiato": battiato, "mzeng": mzeng}


def palette_order(indices: np.ndarray, colors: np.ndarray, method: str = "battiato") -> np.ndarray:
    """A permutation of the entries of ``colors (m, 3|4)`` (new position ->
    old entry) for ``indices (h, w)``: ``"popularity"`` keeps the order,
    ``"luminance"``, ``"battiato"`` or ``"mzeng"`` reorder; entries that are
    not opaque (RGBA) stay first, in the order found, so tRNS stays short."""
    m = len(colors)
    if method == "popularity" or m < 3:
        order = np.arange(m)
    elif method == "luminance":
        order = np.array(luminance(colors))
    else:
        order = np.array(ORDERS[method](cooccurrence(indices, m)))
    if colors.shape[1] == 4:
        order = order[np.argsort(colors[order, 3] == 255, kind="stable")]
    return order


def reorder(indices: np.ndarray, colors: np.ndarray, order: np.ndarray):
    """``indices`` and ``colors`` with the entries in ``order`` (new -> old)."""
    inverse = np.zeros(256, dtype=np.uint8)
    inverse[order] = np.arange(len(order), dtype=np.uint8)
    return inverse[indices], colors[order]


def filter_rows(rows: np.ndarray, kind: int, above: np.ndarray | None = None) -> np.ndarray:
    """``rows (h, n) uint8`` filtered with PNG filter ``kind`` (one byte a
    pixel, as a palette image); ``above``: the row before the first (zeros
    when None)."""
    r = rows.astype(np.int16)
    if kind == 0:
        return rows.copy()
    up = np.empty_like(r)
    up[0] = 0 if above is None else above
    up[1:] = r[:-1]
    left = np.zeros_like(r)
    left[:, 1:] = r[:, :-1]
    if kind == 1:
        out = r - left
    elif kind == 2:
        out = r - up
    elif kind == 3:
        out = r - ((left + up) >> 1)
    else:
        corner = np.zeros_like(r)
        corner[:, 1:] = up[:, :-1]
        guess = left + up - corner
        pa, pb, pc = np.abs(guess - left), np.abs(guess - up), np.abs(guess - corner)
        out = r - np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, corner))
    return (out & 255).astype(np.uint8)


def filtered(rows: np.ndarray, choice: str = "minsum", above: np.ndarray | None = None) -> np.ndarray:
    """``(h, n + 1) uint8``: each row of ``rows (h, n)`` after its filter-type
    byte; ``choice`` a filter number as text (``"0"`` .. ``"4"``) for every
    row, or ``"minsum"``, per row the filter whose bytes, read as signed,
    sum smallest in absolute value (libpng's heuristic)."""
    h, n = rows.shape
    out = np.empty((h, n + 1), dtype=np.uint8)
    if choice != "minsum":
        out[:, 0] = int(choice)
        out[:, 1:] = filter_rows(rows, int(choice), above)
        return out
    best = None
    for kind in FILTERS:
        candidate = filter_rows(rows, kind, above)
        cost = np.minimum(candidate, 256 - candidate.astype(np.int32)).sum(axis=1)
        if best is None:
            best, out[:, 0], out[:, 1:] = cost, kind, candidate
            continue
        better = cost < best
        best = np.where(better, cost, best)
        out[better, 0] = kind
        out[better, 1:] = candidate[better]
    return out
