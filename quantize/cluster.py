"""Whole images as vectors: k-means over pictures.

Each image becomes one vector of its pixel values in [0, 1]
(:func:`quantize.vectors.load_vectors`: a folder of images, MNIST's IDX files or
a ``.npy`` array), the k-means core groups the vectors, and every centroid is
itself a picture, the average member of its group.  With true labels (IDX
labels, a labels file, or one subfolder per class), each cluster is named by
its members' most common label and the grouping is scored
(:func:`quantize.metrics.cluster_scores`): homogeneity, completeness,
V-measure, adjusted Rand index, and accuracy after that mapping.

:func:`run` is the whole job behind ``quantize cluster``: load, fit every K,
score, and write the report folder (``assignments.csv``, ``centroids.png``,
``clusters.json``, ``metrics.csv``, ``metrics.png``, ``model.npz``, with a
test set ``test-assignments.csv``, and one contact sheet per cluster under
``sheets/``), nothing half-written.

With a test set (``test``; for MNIST's ``train-images-idx3-ubyte[.gz]`` its
``t10k-images-idx3-ubyte[.gz]`` twin beside it is taken by itself), every K
also labels the test vectors (:func:`evaluate`: each goes to its nearest
centroid and takes that cluster's majority training label) and scores them
beside the training vectors.  ``model.npz`` (:mod:`quantize.model`) keeps
the centroids of the main K and their labels, for ``quantize classify``.
"""
from __future__ import annotations

import os
import time
import warnings
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from . import plots
from .checks import is_int
from . import vectors
from .errors import OutputExistsError, ParameterError, VectorDataError
from .imageio import check_targets, check_writable, write_together
from .core import kmeans, minibatch_kmeans
from .metrics.clustering import ClusterScores, cluster_scores, majority_labels
from .model import assign, exact_distances, model_bytes
from .options import KMeansOptions
from .progress import ProgressCallback, notify, span
from .report import assignments_csv, cluster_json, metrics_csv, test_assignments_csv
from .report import plain as _plain
from .vectors import VectorSet, load_vectors

REPORT_FILES = ("assignments.csv", "centroids.png", "clusters.json", "metrics.csv", "metrics.png", "model.npz")
TEST_FILE = "test-assignments.csv"  # with a test set: its vectors' clusters and labels at the main K
SHEETS = "sheets"  # the folder of contact sheets, one per cluster
SHEET_MEMBERS = 25  # members nearest the centroid on a contact sheet (5 x 5)
LOAD_SHARE = 0.2  # of the progress bar, for loading the images


@dataclass(frozen=True)
class ClusterRun:
    """k-means at one K over the vectors.

    Attributes
    ----------
    k : int
    centroids : (k, d) float64
        Each a picture of the vectors' shape, values near [0, 1].
    labels : (n,) int32
        The cluster of each vector.
    distances : (n,) float64
        Euclidean distance from each vector to its centroid.
    inertia : float
        Sum of the squared distances (scikit-learn's ``inertia_``).
    n_iter : int
        Lloyd iterations, or mini-batch steps, of the best run.
    converged : bool
    seconds : float
    scores : ClusterScores or None
        Against the true labels, when there are any.
    majority : (k,) array or None
        Each cluster's most common true label (see
        :func:`quantize.metrics.majority_labels`), when there are labels.
    test_clusters : (m,) int32 or None
        With a test set: each test vector's nearest centroid (see :func:`evaluate`).
    test_distances : (m,) float64 or None
        With a test set: each test vector's distance to that centroid.
    test_scores : ClusterScores or None
        With a labelled test set (and labelled training vectors): the test
        vectors' scores (see :func:`evaluate`).
    """

    k: int
    centroids: np.ndarray
    labels: np.ndarray
    distances: np.ndarray
    inertia: float
    n_iter: int
    converged: bool
    seconds: float
    scores: ClusterScores | None = None
    majority: np.ndarray | None = None
    test_clusters: np.ndarray | None = None
    test_distances: np.ndarray | None = None
    test_scores: ClusterScores | None = None

    @property
    def test_inertia(self) -> float | None:
        """Sum of the test vectors' squared distances to their centroids (None without a test set)."""
        return None if self.test_distances is None else float(np.square(self.test_distances).sum())

    @property
    def sizes(self) -> np.ndarray:
        """Members of each cluster, ``(k,)`` int64."""
        return np.bincount(self.labels, minlength=self.k)

    def to_dict(self) -> dict:
        """Everything but the per-vector arrays and the centroids, JSON-ready."""
        data = {"k": int(self.k), "inertia": float(self.inertia),
                "mean_squared_distance": float(self.inertia) / len(self.labels), "iterations": int(self.n_iter),
                "converged": bool(self.converged), "seconds": float(self.seconds),
                "sizes": self.sizes.tolist()}
        if self.scores is not None:
            data["scores"] = {name: _plain(value) for name, value in asdict(self.scores).items()}
            data["majority_labels"] = [_plain(label) for label in self.majority]
        if self.test_clusters is not None:
            data["test"] = {"inertia": self.test_inertia,
                            "sizes": np.bincount(self.test_clusters, minlength=self.k).tolist()}
            if self.test_scores is not None:
                data["test"]["scores"] = {name: _plain(value) for name, value in asdict(self.test_scores).items()}
        return data


@dataclass(frozen=True)
class ClusterReport:
    """What ``quantize cluster`` found.

    ``runs`` has one :class:`ClusterRun` per K swept, ascending; ``k`` is the K
    whose assignments and pictures are written.  ``names``, ``labels`` and
    ``shape`` describe the vectors (see :class:`quantize.vectors.VectorSet`);
    ``failures`` the inputs that could not be read (the rest were clustered);
    ``files`` what was written.  With a test set, ``test_source``,
    ``test_names`` and ``test_labels`` (its true labels, or None) describe it.
    """

    source: str
    method: str
    k: int
    runs: tuple[ClusterRun, ...]
    names: tuple[str, ...]
    shape: tuple[int, ...]
    labels: np.ndarray | None
    failures: tuple[tuple[str, str], ...] = ()
    files: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()
    test_source: str | None = None
    test_names: tuple[str, ...] = ()
    test_labels: np.ndarray | None = None

    @property
    def main(self) -> ClusterRun:
        """The run at ``k``."""
        return next(run for run in self.runs if run.k == self.k)

    def to_dict(self) -> dict:
        return {
            "source": self.source, "method": self.method, "k": self.k, "vectors": len(self.names),
            "picture_shape": list(self.shape), "labelled": self.labels is not None,
            "runs": [run.to_dict() for run in self.runs],
            "failures": [{"input": name, "error": cause} for name, cause in self.failures],
            "files": list(self.files), "notes": list(self.notes),
            "test": None if self.test_source is None else {
                "source": self.test_source, "vectors": len(self.test_names),
                "labelled": self.test_labels is not None},
        }


def fit(vectors: np.ndarray, k: int, options: KMeansOptions | None = None, *, minibatch: bool = False,
        batch_size: int = 1024, on_progress: ProgressCallback | None = None) -> ClusterRun:
    """k-means of ``vectors (n, d)`` (float32 or float64) into ``k`` clusters.

    Full k-means (:func:`quantize.kmeans`) with ``options`` (init, n_init,
    tol, max_iter, seed; ``speed`` does not apply), or with ``minibatch``
    :func:`quantize.core.minibatch_kmeans` (``max_iter`` then counts passes
    over the data, ``tol`` does not apply: its runs stop early as
    scikit-learn's do by default, when the smoothed batch inertia stops
    falling; of ``n_init`` runs the one of least inertia on all the vectors
    wins).  No labels or scores: see :func:`score`.
    """
    options = options or KMeansOptions()
    started = time.perf_counter()
    if minibatch:
        rng = np.random.default_rng(options.seed)
        runs = options.runs
        best = None
        for index in range(runs):
            result = minibatch_kmeans(vectors, k, init=options.init, batch_size=batch_size,
                                      max_iter=options.max_iter, seed=rng,
                                      on_progress=span(on_progress, index / runs, (index + 1) / runs))
            if best is None or result.distortion < best.distortion:
                best = result
        result = best
    else:
        result = kmeans(vectors, k, init=options.init, n_init=options.n_init, tol=options.tol,
                        max_iter=options.max_iter, seed=options.seed, on_progress=on_progress)
    distances = exact_distances(vectors, result.centroids, result.labels)
    return ClusterRun(k, result.centroids, result.labels, distances, float(np.square(distances).sum()),
                      result.n_iter, result.converged, time.perf_counter() - started)


def score(run: ClusterRun, labels) -> ClusterRun:
    """``run`` with its scores against the true ``labels (n,)`` and each
    cluster's majority label."""
    return replace(run, scores=cluster_scores(labels, run.labels), majority=majority_labels(labels, run.labels, run.k))


def report_files(out_dir, k: int, pictures: bool = True, tested: bool = False) -> list[Path]:
    """The files :func:`run` writes into ``out_dir`` for ``k`` clusters
    (``tested``: with a test set); the contact sheets last."""
    out_dir = Path(out_dir)
    names = [name for name in REPORT_FILES if pictures or name != "centroids.png"] + ([TEST_FILE] if tested else [])
    files = [out_dir / name for name in names]
    if pictures:
        files += [out_dir / SHEETS / f"cluster-{c:0{len(str(k - 1))}d}.png" for c in range(k)]
    return files


def run(source, k: int, ks=None, options: KMeansOptions | None = None, *, out_dir=None, size: int = 28,
        grey: bool = True, labels=None, test=None, test_labels=None, find_test: bool = True, save_model=None,
        minibatch: bool = False, batch_size: int = 1024, jobs: int = 1, force: bool = False,
        on_progress: ProgressCallback | None = None, describe=None) -> ClusterReport:
    """Cluster the images of ``source`` at ``k`` (and every K of ``ks``) and
    write the report folder.

    ``source``, ``size``, ``grey``, ``labels``, ``jobs`` and ``describe``: see
    :func:`quantize.vectors.load_vectors`.  ``k`` and ``ks`` must not exceed
    the number of vectors.  With ``out_dir``, the files of
    :func:`report_files` are checked before any work (an existing one is an
    error unless ``force``; ``out_dir`` must not be the source folder), the
    folder is made and tried for writing, and after the work every file is
    written as a unit (nothing half-written).  The report folder, and any
    folder holding an earlier report, is never read as input (see
    :func:`quantize.vectors.load_vectors`).

    ``test``: a test set (any source :func:`quantize.vectors.load_vectors`
    reads, loaded with the same ``size`` and ``grey``; its pictures must be
    of the training shape), with ``test_labels`` (a labels file) as
    ``labels``; when None and ``find_test``, MNIST's ``t10k`` twin of a
    ``train-images-idx3-ubyte[.gz]`` source is used, with a note.  Every K is
    then evaluated on it (:func:`evaluate`).  ``save_model``: a path to
    write ``model.npz`` to besides the report folder (with it, ``out_dir``
    may be None).

    Full k-means (not ``minibatch``) on vectors larger than the memory
    available (:func:`quantize.vectors.working_bytes`) raises
    :class:`VectorDataError` (``needs-minibatch``) before the work.
    """
    if not is_int(k) or k < 1:
        raise ParameterError(f"k must be a whole number >= 1, got {k!r}")
    ks = sorted({int(k), *(ks or [])})
    if ks[0] < 1:
        raise ParameterError(f"ks values must be >= 1, got {ks[0]}", parameter="ks", value=ks[0], limit=1)
    notes = ()
    if test is None and find_test:
        test = vectors.find_test_source(source)
        notes = () if test is None else (f"using {test} as the test set",)
    out_dir = _check_outputs(source, out_dir, k, [source, labels, test, test_labels], force, save_model,
                             test is not None)
    data = load_vectors(source, size=size, grey=grey, labels=labels, jobs=jobs, describe=describe,
                        on_progress=span(on_progress, 0.0, LOAD_SHARE * (0.8 if test else 1.0)), exclude=out_dir)
    n = len(data.vectors)
    if ks[-1] > n:
        raise ParameterError(f"{source}: K={ks[-1]} exceeds the number of images ({n})")
    tested = None if test is None else _load_test(test, data, size, grey, test_labels, jobs, describe, out_dir,
                                                   span(on_progress, 0.8 * LOAD_SHARE, LOAD_SHARE))
    if not minibatch:
        _check_memory(source, data)
    for folder in (out_dir, None if save_model is None else Path(save_model).parent):
        if folder is not None:
            check_writable(folder)  # before the work, not after it
    fitted = _fit_every_k(data, ks, options, minibatch, batch_size, on_progress)
    if tested is not None:
        fitted = [evaluate(each, tested.vectors, tested.labels) for each in fitted]
    notify(on_progress, 1.0)
    pictures = len(data.shape) >= 2
    if not pictures:
        notes += (f"{source}: the vectors are not pictures (length {data.shape[0]}, not a square): "
                  "no centroids.png or contact sheets",)
    notes = data.notes + notes + _empty_notes(source, data.vectors, fitted)
    files = report_files(out_dir, k, pictures, tested is not None) if out_dir is not None else []
    report = ClusterReport(str(source), "mini-batch k-means" if minibatch else "k-means", k, tuple(fitted),
                           data.names, data.shape, data.labels, data.failures + _failures(test, tested),
                           tuple(str(f) for f in files) + (() if save_model is None else (str(save_model),)),
                           notes, *(() if tested is None else (str(test), tested.names, tested.labels)))
    written = render(report, data, files) if out_dir is not None else []
    if save_model is not None:
        written.append((Path(save_model), model_bytes(report.main, data)))
    write_together(written)
    return report


def _check_outputs(source, out_dir, k, inputs, force, save_model, tested: bool) -> Path | None:
    """The checks of :func:`run` before any work: the report folder and the files in it."""
    targets = [] if save_model is None else [Path(save_model)]
    if out_dir is not None:
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputExistsError(f"{out_dir}: exists and is not a folder")
        if os.path.isdir(source) and os.path.realpath(source) == os.path.realpath(out_dir):
            raise OutputExistsError(f"{out_dir}: is an input folder; name another output folder",
                                    reason="output-is-input-folder", path=out_dir, parameter="out_dir")
        targets = report_files(out_dir, k, tested=tested) + targets
    check_targets(targets, inputs=inputs, force=force)
    return out_dir


def _load_test(test, data: VectorSet, size, grey, test_labels, jobs, describe, out_dir, on_progress) -> VectorSet:
    """The test set, of the training vectors' picture shape."""
    tested = load_vectors(test, size=size, grey=grey, labels=test_labels, jobs=jobs, describe=describe,
                          on_progress=on_progress, exclude=out_dir)
    if tuple(tested.shape) != tuple(data.shape):
        theirs, expected = "x".join(map(str, tested.shape)), "x".join(map(str, data.shape))
        raise VectorDataError(f"{test}: vectors of {theirs}, the training vectors are {expected}",
                              reason="shape-mismatch", path=test, value=tuple(tested.shape),
                              limit=tuple(data.shape))
    return tested


def _failures(test, tested) -> tuple[tuple[str, str], ...]:
    """The test set's inputs that could not be read, named under it."""
    if tested is None:
        return ()
    return tuple((f"{test}/{name}", cause) for name, cause in tested.failures)


def _check_memory(source, data: VectorSet) -> None:
    """:class:`VectorDataError` (``needs-minibatch``) when full k-means on
    ``data`` needs more memory than is available."""
    need, have = vectors.working_bytes(data), vectors.available_memory()
    if need > have:
        raise VectorDataError(f"{source}: full k-means needs about {need / 1e6:,.0f} MB for these vectors, "
                              f"more than the {have / 1e6:,.0f} MB available; use minibatch=True",
                              reason="needs-minibatch", path=source, parameter="minibatch", value=need,
                              limit=have)


def evaluate(run: ClusterRun, vectors, labels=None) -> ClusterRun:
    """``run`` with a test set ``vectors (m, d)`` and its true ``labels
    (m,)`` (or None): each test vector's nearest centroid
    (:func:`quantize.core.nearest_centroid`) and its distance to it, and,
    with labels (here and in ``run``), the test scores: ``accuracy`` is the
    share of test vectors whose cluster's majority training label
    (``run.majority``) is their own label, a test vector whose cluster had
    no training members (no majority label: an empty cluster) counting as
    wrong; homogeneity, completeness, V-measure and the adjusted Rand index
    score the test clusters against the test labels (as
    :func:`quantize.metrics.cluster_scores`); ``n_clusters_used`` counts
    the clusters holding test vectors."""
    clusters, guesses, distances = assign(vectors, run.centroids, run.majority)
    scores = None
    if labels is not None and guesses is not None:
        truth = np.asarray(labels).astype(object)
        right = np.fromiter((guess is not None and guess == true for guess, true in zip(guesses, truth)), bool,
                            len(truth))
        scores = replace(cluster_scores(labels, clusters), accuracy=float(np.count_nonzero(right)) / len(truth))
    return replace(run, test_clusters=clusters, test_distances=distances, test_scores=scores)


def _fit_every_k(data: VectorSet, ks, options, minibatch, batch_size, on_progress) -> list[ClusterRun]:
    """A scored :class:`ClusterRun` for each K of ``ks``; the core's warning
    that some clusters stay empty becomes a note (:func:`_empty_notes`)."""
    total, done, fitted = float(sum(ks)), 0.0, []
    for each in ks:
        stage = span(on_progress, LOAD_SHARE + (1 - LOAD_SHARE) * done / total,
                     LOAD_SHARE + (1 - LOAD_SHARE) * (done + each) / total)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", "fewer distinct points than clusters", RuntimeWarning)
            result = fit(data.vectors, each, options, minibatch=minibatch, batch_size=batch_size,
                         on_progress=stage)
        fitted.append(score(result, data.labels) if data.labels is not None else result)
        done += each
    return fitted


def _empty_notes(source, vectors: np.ndarray, fitted) -> tuple[str, ...]:
    """A note for each run with empty clusters (fewer distinct vectors than K)."""
    notes = []
    for result in fitted:
        empty = int(np.count_nonzero(result.sizes == 0))
        if empty:
            distinct = len(np.unique(vectors, axis=0))
            notes.append(f"{source}: K={result.k}: {empty} of the clusters {'is' if empty == 1 else 'are'} empty "
                         f"(the vectors hold {distinct} distinct value{'' if distinct == 1 else 's'})")
    return tuple(notes)


def render(report: ClusterReport, data: VectorSet, files) -> list[tuple[Path, bytes]]:
    """``[(path, bytes)]`` of every report file, in the order of ``files``.
    Vectors that are not pixels in [0, 1] (``unit_range`` False) are shown
    with each picture stretched to its own range (:func:`plots.as_pictures`)."""
    main = report.main
    top = [Path(f) for f in files if Path(f).parent == Path(files[0]).parent]
    by_name = {path.name: path for path in top}
    out = [(by_name["assignments.csv"], assignments_csv(report, main)),
           (by_name["clusters.json"], cluster_json(report)),
           (by_name["metrics.csv"], metrics_csv(report)),
           (by_name["metrics.png"], plots.render_cluster_metrics(report.to_dict())),
           (by_name["model.npz"], model_bytes(main, data))]
    if TEST_FILE in by_name:
        out.append((by_name[TEST_FILE], test_assignments_csv(report, main)))
    if "centroids.png" in by_name:
        stretch = not data.unit_range
        pictures = plots.as_pictures(main.centroids, report.shape, stretch=stretch)
        titles = None
        if main.majority is not None:
            titles = [f"{_plain(label)}" if size else "-" for label, size in zip(main.majority, main.sizes)]
        out.append((by_name["centroids.png"], plots.render_picture_grid(pictures, titles)))
        sheets = files[len(top):]
        blank = np.full((1, *report.shape), 128, np.uint8)  # an empty cluster's sheet: one tile of mid grey
        for cluster, path in enumerate(sheets):
            members = np.flatnonzero(main.labels == cluster)
            nearest = members[np.argsort(main.distances[members], kind="stable")[:SHEET_MEMBERS]]
            pictures = (plots.as_pictures(data.vectors[nearest], report.shape, stretch=stretch) if nearest.size
                        else blank)
            out.append((path, plots.render_contact_sheet(pictures)))
    return out
