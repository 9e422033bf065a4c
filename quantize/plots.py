"""The pictures of the reports, as PNG bytes: plots drawn with matplotlib
(the elbow curve, the previews, the k-means trace, the centroid grid and the
K sweep of ``quantize cluster``) and contact sheets tiled in NumPy.

The only module that imports matplotlib, and only when a plot is drawn (the
object-oriented ``Figure`` API: no pyplot, no GUI backend).  Nothing here
writes a file: the commands write what these functions return with
:func:`quantize.imageio.write_together`.
"""
from __future__ import annotations

import io
import math

import numpy as np


def _render(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def render_elbow(report: dict) -> bytes:
    """PNG bytes of distortion against K, the suggested K marked, for an
    :class:`quantize.elbow.ElbowReport` as ``to_dict()`` gives it."""
    ks = [p["k"] for p in report["points"]]
    distortions = [p["distortion"] for p in report["points"]]
    figure = _figure(7, 4.5)
    axes = figure.add_subplot()
    axes.plot(ks, distortions, "o-", color="tab:blue")
    axes.set_xlabel("K (number of colours)")
    axes.set_ylabel("distortion (mean squared RGB error per pixel)")
    suggested = report["suggested_k"]
    if suggested is None:
        axes.set_title(f"{report['image']}: no clear elbow")
    else:
        at = distortions[ks.index(suggested)]
        axes.axvline(suggested, color="tab:red", linestyle="--", linewidth=1)
        axes.plot([suggested], [at], "o", color="tab:red", markersize=10, fillstyle="none")
        axes.annotate(f"suggested K = {suggested}", (suggested, at), textcoords="offset points",
                      xytext=(10, 12), color="tab:red")
        axes.set_title(f"{report['image']}: elbow at K = {suggested}")
    axes.grid(True, alpha=0.3)
    return _render(figure)


def render_previews(thumbnails, labels) -> bytes:
    """PNG bytes of a contact sheet: each ``(h, w, 3) uint8`` thumbnail above
    its label, four to a row."""
    columns = min(4, len(thumbnails))
    rows = -(-len(thumbnails) // columns)
    h, w = thumbnails[0].shape[:2]
    figure = _figure(columns * 3.2, rows * 3.2 * h / w + 0.4 * rows)
    for index, (thumbnail, label) in enumerate(zip(thumbnails, labels)):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(thumbnail, interpolation="nearest")
        axes.set_title(label, fontsize=10)
        axes.set_axis_off()
    return _render(figure)


def render_trace_plot(history: np.ndarray) -> bytes:
    """PNG bytes of the distortion after every iteration, ``history (n,)``."""
    figure = _figure(7, 4.5)
    axes = figure.add_subplot()
    axes.plot(range(len(history)), history, "o-", markersize=3)
    axes.set_xlabel("iteration (0: initial centroids)")
    axes.set_ylabel("distortion (mean squared distance to centroid)")
    axes.set_title("k-means trace: the distortion must only go down")
    axes.grid(True, alpha=0.3)
    return _render(figure)


def as_pictures(vectors, shape, stretch: bool = False) -> np.ndarray:
    """``(m, *shape) uint8`` pictures of ``vectors (m, d)`` with values in
    [0, 1] (clipped, rounded), ``d = prod(shape)``.  With ``stretch`` (for
    values that are not pixels in [0, 1]), each picture is first scaled from
    its own min..max to 0..1 (one of a single value is black), for display
    only."""
    values = np.asarray(vectors, dtype=np.float64)
    if stretch:
        values = values.reshape(len(values), -1)
        low = values.min(axis=1, keepdims=True)
        spread = values.max(axis=1, keepdims=True) - low
        values = (values - low) / np.where(spread > 0, spread, 1.0)
    values = np.clip(np.rint(values * 255.0), 0, 255)
    return values.astype(np.uint8).reshape(len(values), *shape)


def mosaic(pictures: np.ndarray, columns: int, gap: int = 2, scale: int = 1) -> np.ndarray:
    """``pictures (m, h, w[, 3]) uint8`` tiled ``columns`` to a row, each
    enlarged ``scale`` times (nearest neighbour), ``gap`` pixels of mid grey
    between them: ``(rows * (H + gap) - gap, columns * (W + gap) - gap[, 3])``
    with ``H, W = scale h, scale w``."""
    pictures = np.repeat(np.repeat(pictures, scale, axis=1), scale, axis=2)
    m, h, w = pictures.shape[:3]
    rows = -(-m // columns)
    sheet = np.full((rows * (h + gap) - gap, columns * (w + gap) - gap, *pictures.shape[3:]), 128, np.uint8)
    for index, picture in enumerate(pictures):
        y, x = (index // columns) * (h + gap), (index % columns) * (w + gap)
        sheet[y:y + h, x:x + w] = picture
    return sheet


def _scale(picture_side: int, least: int = 56) -> int:
    """The whole enlargement that makes a side of ``picture_side`` at least ``least`` pixels."""
    return max(1, -(-least // max(1, picture_side)))


def render_contact_sheet(pictures: np.ndarray) -> bytes:
    """PNG bytes of ``pictures (m, h, w[, 3]) uint8`` as a near-square mosaic
    (no matplotlib: one sheet per cluster must be cheap)."""
    from .png import encode_truecolor

    columns = math.ceil(math.sqrt(len(pictures)))
    return encode_truecolor(mosaic(pictures, columns, scale=_scale(max(pictures.shape[1:3]))))


def render_picture_grid(pictures: np.ndarray, titles=None) -> bytes:
    """PNG bytes of the centroid pictures ``(k, h, w[, 3]) uint8`` in a grid,
    in cluster order, each under its title (the cluster's number, and its
    majority label when ``titles`` gives them)."""
    k, h, w = pictures.shape[:3]
    columns = math.ceil(math.sqrt(k))
    rows = -(-k // columns)
    tile = min(1.2, 14.0 / columns)  # inches per picture
    figure = _figure(columns * tile, rows * tile * (h / w) + 0.3 * rows * tile)
    for index in range(k):
        axes = figure.add_subplot(rows, columns, index + 1)
        picture = pictures[index]
        axes.imshow(picture, cmap="gray" if picture.ndim == 2 else None, vmin=0, vmax=255,
                    interpolation="nearest")
        label = f"{index}" if titles is None else f"{index}: {titles[index]}"
        axes.set_title(label, fontsize=max(5, min(9, 80 / columns)), pad=2)
        axes.set_axis_off()
    return _render(figure)


def render_cluster_metrics(report: dict) -> bytes:
    """PNG bytes of the K sweep of a :class:`quantize.cluster.ClusterReport`
    (``to_dict()``): inertia against K (per vector, training and test set),
    the scores against K when the vectors had labels (the test set's dashed),
    and the seconds each K took."""
    runs = report["runs"]
    ks = [r["k"] for r in runs]
    labelled = report["labelled"]
    tested = bool(runs) and "test" in runs[0]
    panels = 3 if labelled else 2
    figure = _figure(5 * panels + 1, 4.2)
    axes = figure.add_subplot(1, panels, 1)
    if tested:
        axes.plot(ks, [r["mean_squared_distance"] for r in runs], "o-", color="tab:blue", label="training")
        axes.plot(ks, [r["test"]["inertia"] / report["test"]["vectors"] for r in runs], "s--", color="tab:blue",
                  label="test", alpha=0.7)
        axes.set_ylabel("mean squared distance to the centroid")
        axes.legend(loc="upper right")
    else:
        axes.plot(ks, [r["inertia"] for r in runs], "o-", color="tab:blue")
        axes.set_ylabel("inertia (sum of squared distances)")
    axes.set_xlabel("K (clusters)")
    axes.set_title(f"{report['method']}: inertia")
    axes.grid(True, alpha=0.3)
    if labelled:
        _scores_panel(figure.add_subplot(1, panels, 2), ks, runs, tested)
    axes = figure.add_subplot(1, panels, panels)
    axes.plot(ks, [r["seconds"] for r in runs], "o-", color="tab:gray")
    axes.set_xlabel("K (clusters)")
    axes.set_ylabel("seconds")
    axes.set_ylim(bottom=0)
    axes.set_title("time of each K")
    axes.grid(True, alpha=0.3)
    for a in figure.axes:
        if len(ks) > 1 and ks[-1] / ks[0] >= 8:
            a.set_xscale("log", base=2)
            a.minorticks_off()
        a.set_xticks(ks, [str(k) for k in ks])
    return _render(figure)


def _scores_panel(axes, ks, runs, tested: bool) -> None:
    """The scores against K, training lines solid, the test set's dashed."""
    scored = tested and "scores" in runs[0]["test"]
    for name, colour in (("accuracy", "tab:red"), ("v_measure", "tab:green"),
                         ("adjusted_rand", "tab:purple"), ("homogeneity", "tab:orange")):
        label = name.replace("_", " ")
        axes.plot(ks, [r["scores"][name] for r in runs], "o-", color=colour, label=label)
        if scored:
            axes.plot(ks, [r["test"]["scores"][name] for r in runs], "s--", color=colour, alpha=0.7,
                      label=f"{label} (test)")
    axes.set_xlabel("K (clusters)")
    axes.set_ylim(0, 1)
    axes.set_title("against the true labels" + (": training and test" if scored else ""))
    axes.legend(loc="lower right", fontsize=8 if scored else None)
    axes.grid(True, alpha=0.3)
