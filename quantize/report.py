"""Rendering of reports: the elbow's CSV, JSON and plots, and the k-means trace.

The only module that imports matplotlib, and only when a plot is drawn (the
object-oriented ``Figure`` API: no pyplot, no GUI backend).  Every file is
rendered in memory and written with :func:`quantize.imageio.atomic_write`.
"""
from __future__ import annotations

import csv
import io
import json

import numpy as np

from .imageio import atomic_write

ELBOW_FIELDS = ("k", "distortion", "psnr_db", "iterations", "seconds")


def write_elbow_report(files, report, thumbnails=None) -> None:
    """Write an :class:`quantize.elbow.ElbowReport` to ``files``: elbow.csv,
    elbow.json, elbow.png and, with ``thumbnails`` (the image in each K's
    palette), previews.png."""
    data = report.to_dict()
    write_elbow_csv(files[0], data)
    write_json(files[1], data)
    plot_elbow(files[2], data)
    if thumbnails is not None:
        labels = [f"K = {p.k}   {p.psnr:.1f} dB" for p in report.points]
        plot_previews(files[3], thumbnails, labels)


def write_elbow_csv(path, report: dict) -> None:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(ELBOW_FIELDS)
    for point in report["points"]:
        writer.writerow([point[field] for field in ELBOW_FIELDS])
    atomic_write(path, buffer.getvalue().encode())


def write_json(path, data: dict) -> None:
    atomic_write(path, (json.dumps(data, indent=2) + "\n").encode())


def _save(figure, path) -> None:
    atomic_write(path, _render(figure))


def _render(figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100, metadata={"Software": None})
    return buffer.getvalue()


def _figure(width: float, height: float):
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), layout="constrained")


def plot_elbow(path, report: dict) -> None:
    """Distortion against K, the suggested K marked."""
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
    _save(figure, path)


def plot_previews(path, thumbnails, labels) -> None:
    """A contact sheet: each ``(h, w, 3) uint8`` thumbnail above its label."""
    columns = min(4, len(thumbnails))
    rows = -(-len(thumbnails) // columns)
    h, w = thumbnails[0].shape[:2]
    figure = _figure(columns * 3.2, rows * 3.2 * h / w + 0.4 * rows)
    for index, (thumbnail, label) in enumerate(zip(thumbnails, labels)):
        axes = figure.add_subplot(rows, columns, index + 1)
        axes.imshow(thumbnail, interpolation="nearest")
        axes.set_title(label, fontsize=10)
        axes.set_axis_off()
    _save(figure, path)


def write_trace(path, history: np.ndarray) -> None:
    """Write :func:`render_trace` to ``path``."""
    atomic_write(path, render_trace(path, history))


def render_trace(path, history: np.ndarray) -> bytes:
    """Distortion after every iteration: CSV, or a plot when ``path`` ends in .png."""
    if str(path).lower().endswith(".png"):
        figure = _figure(7, 4.5)
        axes = figure.add_subplot()
        axes.plot(range(len(history)), history, "o-", markersize=3)
        axes.set_xlabel("iteration (0: initial centroids)")
        axes.set_ylabel("distortion (mean squared distance to centroid)")
        axes.set_title("k-means trace: the distortion must only go down")
        axes.grid(True, alpha=0.3)
        return _render(figure)
    lines = ["iteration,distortion"] + [f"{i},{d!r}" for i, d in enumerate(map(float, history))]
    return ("\n".join(lines) + "\n").encode()
