"""The tables of the reports, as bytes: the CSV and JSON files of ``quantize
elbow`` and ``quantize cluster``, and the k-means trace of ``--trace``.

The pictures are drawn by :mod:`quantize.plots` (the only matplotlib
importer).  Nothing here writes a file: the commands gather every file as
``(path, bytes)`` and write them together with
:func:`quantize.imageio.write_together`, so that a report is written whole or
not at all.
"""
from __future__ import annotations

import csv
import io
import json
import math

import numpy as np

ELBOW_FIELDS = ("k", "distortion", "psnr_db", "delta_e_ok", "iterations", "seconds")
METRIC_FIELDS = ("k", "inertia", "homogeneity", "completeness", "v_measure", "adjusted_rand", "accuracy",
                 "iterations", "seconds")
_SCORES = ("homogeneity", "completeness", "v_measure", "adjusted_rand", "accuracy")
# With a test set, after METRIC_FIELDS: its inertia and the scores of its vectors (see quantize.cluster.evaluate).
TEST_FIELDS = ("test_inertia", *(f"test_{name}" for name in _SCORES))


def plain(value):
    """A NumPy scalar as a plain Python value (for JSON and CSV); any other
    value as it is."""
    return value.item() if isinstance(value, np.generic) else value


def to_json(data) -> bytes:
    """``data`` as JSON indented by 2, with a final newline (NumPy scalars as
    plain values)."""
    return (json.dumps(data, indent=2, default=plain) + "\n").encode()


def _csv(header, rows) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode()


def elbow_csv(report: dict) -> bytes:
    """elbow.csv: one row of :data:`ELBOW_FIELDS` per K of an
    :class:`quantize.elbow.ElbowReport` as ``to_dict()`` gives it."""
    return _csv(ELBOW_FIELDS, ([point[field] for field in ELBOW_FIELDS] for point in report["points"]))


def render_trace(path, history: np.ndarray) -> bytes:
    """The distortion after every iteration, ``history (n,)``: CSV
    (``iteration,distortion``), or a plot when ``path`` ends in .png."""
    if str(path).lower().endswith(".png"):
        from .plots import render_trace_plot

        return render_trace_plot(history)
    lines = ["iteration,distortion"] + [f"{i},{d!r}" for i, d in enumerate(map(float, history))]
    return ("\n".join(lines) + "\n").encode()


def metric_rows(report) -> list[dict]:
    """One dict per K of a :class:`quantize.cluster.ClusterReport`:
    :data:`METRIC_FIELDS`, the scores None without labels; with a test set,
    :data:`TEST_FIELDS` too (the scores None without test labels)."""
    rows = []
    for each in report.runs:
        scores = each.scores
        row = {"k": each.k, "inertia": each.inertia, "iterations": each.n_iter, "seconds": each.seconds,
               **{name: None if scores is None else float(getattr(scores, name)) for name in _SCORES}}
        if each.test_clusters is not None:
            tested = each.test_scores
            row["test_inertia"] = each.test_inertia
            row.update({f"test_{name}": None if tested is None else float(getattr(tested, name))
                        for name in _SCORES})
        rows.append(row)
    return rows


def classify_csv(result) -> bytes:
    """``name,cluster,label,distance`` of a :class:`quantize.model.Classified`:
    a row per vector, the label empty when there is none, the distance as
    Python's shortest repr (it reads back as the same float64)."""
    return _csv(["name", "cluster", "label", "distance"],
                ([name, cluster, "" if label is None else plain(label), repr(distance)]
                 for name, cluster, label, distance in result.rows()))


def assignments_csv(report, main) -> bytes:
    """assignments.csv: each vector's cluster in ``main`` (a
    :class:`quantize.cluster.ClusterRun` of ``report``) and its distance to the
    centroid; with labels, its label and its cluster's majority label."""
    labelled = report.labels is not None
    rows = []
    for i, name in enumerate(report.names):
        row = [name, int(main.labels[i]), f"{main.distances[i]:.6g}"]
        if labelled:
            row += [plain(report.labels[i]), plain(main.majority[main.labels[i]])]
        rows.append(row)
    return _csv(["input", "cluster", "distance"] + (["label", "cluster_label"] if labelled else []), rows)


def test_assignments_csv(report, main) -> bytes:
    """test-assignments.csv: each test vector's cluster in ``main`` (its
    nearest centroid), its distance to it (Python's shortest repr), and the
    cluster's majority training label (``cluster_label``, empty for a cluster
    without one; as ``quantize classify`` gives it), with the true ``label``
    when the test set has labels."""
    labelled, named = report.test_labels is not None, main.majority is not None
    rows = []
    for i, name in enumerate(report.test_names):
        cluster = int(main.test_clusters[i])
        row = [name, cluster, repr(float(main.test_distances[i]))]
        if named:
            guess = main.majority[cluster]
            row.append("" if guess is None else plain(guess))
        if labelled:
            row.append(plain(report.test_labels[i]))
        rows.append(row)
    return _csv(["input", "cluster", "distance"] + (["cluster_label"] if named else [])
                + (["label"] if labelled else []), rows)


def metrics_csv(report) -> bytes:
    """metrics.csv: :func:`metric_rows`, an empty cell for a missing score;
    the :data:`TEST_FIELDS` columns only with a test set."""
    rows = metric_rows(report)
    fields = METRIC_FIELDS + (TEST_FIELDS if rows and "test_inertia" in rows[0] else ())
    return _csv(fields, (["" if row[f] is None else row[f] for f in fields] for row in rows))


def cluster_json(report) -> bytes:
    """clusters.json: ``report.to_dict()`` and :func:`metric_rows` under
    ``"metrics"`` (infinities as null)."""
    def finite(value):
        return None if isinstance(value, float) and not math.isfinite(value) else value

    data = report.to_dict()
    data["metrics"] = [{key: finite(value) for key, value in row.items()} for row in metric_rows(report)]
    return to_json(data)
