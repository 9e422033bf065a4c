"""The model file of ``quantize cluster`` and ``quantize classify``: the
centroids of one K and what is needed to label new pictures with them.

A model is an ``.npz`` archive (NumPy's format, no pickles, written with a
fixed time stamp so that the same model gives the same bytes) of these
arrays:

=================  ==========================================================
``format``         the text ``quantize-model``
``version``        the format's version, :data:`VERSION`
``k``              the number of clusters
``centroids``      ``(k, d)`` float64
``labelled``       whether the training vectors had labels
``labels``         ``(k,)`` each cluster's majority training label (int64 or
                   text); empty when not labelled
``label_known``    ``(k,)`` bool: False for a cluster without training members
                   (no majority label); empty when not labelled
``shape``          one vector as a picture, e.g. ``[28, 28]``
``preprocessing``  JSON text: how pictures become vectors (``source``,
                   ``size``, ``grey``, ``scale``; see
                   :class:`quantize.vectors.VectorSet`)
=================  ==========================================================

:func:`load_model` reads one back as a :class:`Model`; :func:`classify`
labels vectors with it (each vector's nearest centroid, searched by
:func:`quantize.core.nearest_centroid`, and that cluster's majority label);
:func:`classify_files` is the whole job behind ``quantize classify``.

A file that is missing, unreadable, or not a model of a version this code
reads raises :class:`~quantize.errors.ImageReadError` (exit code 1, as any
input that cannot be read); vectors whose shape the model does not take
raise :class:`~quantize.errors.VectorDataError` (reason ``shape-mismatch``,
exit code 2).
"""
from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import vectors
from .core import nearest_centroid
from .errors import ImageReadError, VectorDataError
from .imageio import atomic_write, check_targets
from .progress import ProgressCallback, notify

FORMAT = "quantize-model"
VERSION = 1
FIELDS = ("format", "version", "k", "centroids", "labelled", "labels", "label_known", "shape", "preprocessing")
CSV_HEADER = "name,cluster,label,distance"
_BLOCK = 4096  # vectors per block when measuring distances
_STAMP = (1980, 1, 1, 0, 0, 0)  # the zip entries' time: the same model, the same bytes


@dataclass(frozen=True)
class Model:
    """A model file's contents (see the module's notes).

    ``labels`` is ``(k,)`` object: each cluster's majority training label as
    a Python value, None for a cluster that had no training members; or None
    when the training vectors had no labels.
    """

    centroids: np.ndarray
    labels: np.ndarray | None
    shape: tuple[int, ...]
    preprocessing: dict
    k: int
    version: int = VERSION


def model_bytes(run, data, preprocessing: dict | None = None) -> bytes:
    """The model file of ``run`` (a :class:`quantize.cluster.ClusterRun`)
    trained on ``data`` (a :class:`quantize.vectors.VectorSet`), as bytes;
    ``preprocessing`` defaults to ``data.preprocessing``."""
    if preprocessing is None:
        preprocessing = data.preprocessing
    k = int(run.k)
    arrays = {"format": np.array(FORMAT), "version": np.array(VERSION, np.int64), "k": np.array(k, np.int64),
              "centroids": np.ascontiguousarray(run.centroids, dtype=np.float64),
              "labelled": np.array(run.majority is not None),
              "shape": np.array(data.shape, np.int64), "preprocessing": np.array(json.dumps(preprocessing))}
    if run.majority is None:
        arrays["labels"], arrays["label_known"] = np.array([], np.int64), np.array([], bool)
    else:
        known = np.array([label is not None for label in run.majority], bool)
        numbers = data.labels.dtype.kind in "iub"
        filler = 0 if numbers else ""
        values = [filler if label is None else label for label in run.majority]
        arrays["labels"] = np.array(values, np.int64) if numbers else np.array([str(v) for v in values], str)
        arrays["label_known"] = known
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_STORED) as archive:
        for name in FIELDS:
            entry = zipfile.ZipInfo(f"{name}.npy", date_time=_STAMP)
            with archive.open(entry, "w", force_zip64=True) as file:
                np.lib.format.write_array(file, arrays[name], allow_pickle=False)
    return buffer.getvalue()


def save_model(path, run, data, preprocessing: dict | None = None) -> None:
    """Write the model file of ``run`` (see :func:`model_bytes`) to ``path``, atomically."""
    atomic_write(path, model_bytes(run, data, preprocessing))


def load_model(path) -> Model:
    """The :class:`Model` in the file ``path``; :class:`ImageReadError` naming
    the file when it is missing, unreadable or not a model this code reads."""
    path = Path(path)
    try:
        with open(path, "rb") as file:
            if file.read(4) != b"PK\x03\x04":
                raise ImageReadError(f"{path}: not a model file (a model is an .npz archive, as quantize "
                                     "cluster writes model.npz)", path=path)
        with np.load(path, allow_pickle=False) as archive:
            missing = [name for name in FIELDS if name not in archive.files]
            if missing or str(archive["format"]) != FORMAT:
                raise ImageReadError(f"{path}: not a quantize model (no {(missing or ['format'])[0]} entry)",
                                     path=path)
            arrays = {name: archive[name] for name in FIELDS}
    except FileNotFoundError:
        raise ImageReadError(f"{path}: no such file", path=path) from None
    except IsADirectoryError:
        raise ImageReadError(f"{path}: is a folder, not a model file", path=path) from None
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, KeyError) as cause:
        raise ImageReadError(f"{path}: not a readable model file ({' '.join(str(cause).split())})",
                             path=path) from None
    return _model(path, arrays)


def _model(path: Path, arrays: dict) -> Model:
    version = int(arrays["version"])
    if version > VERSION:
        raise ImageReadError(f"{path}: a model of format version {version}; this quantize reads up to "
                             f"{VERSION}", path=path)
    centroids, k = np.asarray(arrays["centroids"], np.float64), int(arrays["k"])
    shape = tuple(int(s) for s in arrays["shape"])
    if centroids.ndim != 2 or len(centroids) != k or centroids.shape[1] != int(np.prod(shape)) or k < 1:
        raise ImageReadError(f"{path}: a damaged model (centroids of shape {centroids.shape} for K={k} and "
                             f"pictures of {'x'.join(map(str, shape))})", path=path)
    labels = None
    if bool(arrays["labelled"]):
        values, known = arrays["labels"].tolist(), arrays["label_known"]
        if len(values) != k or len(known) != k:
            raise ImageReadError(f"{path}: a damaged model ({len(values)} labels for K={k})", path=path)
        labels = np.empty(k, dtype=object)
        labels[:] = [value if ok else None for value, ok in zip(values, known.tolist())]
    try:
        preprocessing = json.loads(str(arrays["preprocessing"]))
    except ValueError:
        raise ImageReadError(f"{path}: a damaged model (its preprocessing is not JSON)", path=path) from None
    return Model(centroids, labels, shape, preprocessing, k, version)


def exact_distances(vectors, centroids, clusters) -> np.ndarray:
    """Euclidean distance ``(n,)`` float64 of each of ``vectors (n, d)`` to
    its centroid ``centroids[clusters]``, as ``sqrt(sum (x - c)^2)`` in
    float64, a block at a time."""
    out = np.empty(len(vectors))
    for start in range(0, len(vectors), _BLOCK):
        block = np.asarray(vectors[start:start + _BLOCK], dtype=np.float64)
        diff = block - centroids[clusters[start:start + _BLOCK]]
        out[start:start + _BLOCK] = np.sqrt(np.einsum("ij,ij->i", diff, diff))
    return out


def classify(model: Model, vectors, *, path=None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """Label ``vectors (n, d)`` with ``model``: ``(clusters, labels,
    distances)``, each vector's nearest centroid ``(n,) int32``
    (:func:`quantize.core.nearest_centroid`, ties to the lower index), that
    cluster's majority training label ``(n,)`` object (None for a cluster
    that had no training members; ``labels`` is None when the model has no
    labels) and the distance to the centroid ``(n,) float64``.

    Raises :class:`VectorDataError` (``shape-mismatch``, naming ``path``)
    when ``d`` is not the model's.
    """
    vectors = vectors if hasattr(vectors, "shape") else np.asarray(vectors)
    d = model.centroids.shape[1]
    if vectors.ndim != 2 or vectors.shape[1] != d:
        theirs = vectors.shape[1:]
        raise VectorDataError(f"{path or 'the vectors'}: vectors of length {'x'.join(map(str, theirs))}, "
                              f"the model takes {d}", reason="shape-mismatch", path=path,
                              value=tuple(theirs), limit=(d,))
    return assign(vectors, model.centroids, model.labels)


def assign(vectors, centroids, majority=None) -> tuple[np.ndarray, np.ndarray | None, np.ndarray]:
    """``(clusters, labels, distances)`` of ``vectors (n, d)`` against
    ``centroids (k, d)``: each one's nearest centroid
    (:func:`quantize.core.nearest_centroid`), that cluster's label in
    ``majority (k,)`` (None without one) and the exact distance to it.  The one
    labelling of both ``quantize classify`` and a test set of ``quantize
    cluster``, so the two agree."""
    clusters, _ = nearest_centroid(vectors, centroids)
    labels = None if majority is None else majority[clusters]
    return clusters, labels, exact_distances(vectors, centroids, clusters)


@dataclass(frozen=True)
class Classified:
    """What :func:`classify_files` found: each input vector's ``names``
    (see :func:`quantize.vectors.load_inputs`), ``clusters``, ``labels``
    (None without labels in the model) and ``distances``; ``failures``
    ``(name, cause)`` of inputs that could not be read; ``output`` the CSV
    file written, if any."""

    names: tuple[str, ...]
    clusters: np.ndarray
    labels: np.ndarray | None
    distances: np.ndarray
    failures: tuple[tuple[str, str], ...] = ()
    output: str | None = None

    def rows(self):
        """``(name, cluster, label, distance)`` of each vector, as Python
        values (the label None where there is none)."""
        labels = self.labels if self.labels is not None else [None] * len(self.names)
        return zip(self.names, self.clusters.tolist(), labels, self.distances.tolist())

    def csv(self) -> bytes:
        """``name,cluster,label,distance``, one row per vector (an empty label
        without one); the distance with 17 significant digits (exact)."""
        from .report import classify_csv

        return classify_csv(self)


def input_options(model: Model) -> tuple[int, bool]:
    """``(size, grey)`` to load pictures for ``model``: its preprocessing's,
    else (an IDX file or an array) from its picture shape."""
    pre = model.preprocessing
    size = pre.get("size") or (model.shape[0] if len(model.shape) >= 2 else 28)
    grey = pre.get("grey")
    return int(size), bool(len(model.shape) == 2 if grey is None else grey)


def classify_files(model_path, inputs, *, output=None, force: bool = False, jobs: int = 1,
                   max_pixels=None, on_progress: ProgressCallback | None = None, describe=None) -> Classified:
    """Label the pictures of ``inputs`` (image files, folders, IDX files and
    ``.npy`` arrays, in any mix; see :func:`quantize.vectors.load_inputs`)
    with the model file ``model_path``, loading them as the model's training
    vectors were (size, grey).  With ``output``, the CSV is written there
    atomically (an existing file only with ``force``; never an input).
    Inputs that cannot be read go to ``failures``; the rest are labelled.

    Raises :class:`ImageReadError` for a model file that cannot be read,
    :class:`VectorDataError` (``shape-mismatch``) when the inputs' pictures
    are not of the model's shape.
    """
    if output is not None:
        check_targets([output], inputs=[model_path, *inputs], force=force)
    model = load_model(model_path)
    size, grey = input_options(model)
    notify(on_progress, 0.0)
    extra = {} if max_pixels is None else {"max_pixels": max_pixels}
    data = vectors.load_inputs(inputs, size=size, grey=grey, jobs=jobs, describe=describe, **extra)
    notify(on_progress, 0.7)
    if tuple(data.shape) != model.shape:
        first = inputs[0] if len(inputs) == 1 else _first_input(inputs, data.names)
        raise VectorDataError(f"{first}: vectors of {'x'.join(map(str, data.shape))}, the model takes "
                              f"{'x'.join(map(str, model.shape))}", reason="shape-mismatch", path=first,
                              value=tuple(data.shape), limit=model.shape)
    clusters, labels, distances = classify(model, data.vectors)
    result = Classified(data.names, clusters, labels, distances, data.failures,
                        None if output is None else str(output))
    if output is not None:
        atomic_write(output, result.csv())
    notify(on_progress, 1.0)
    return result


def _first_input(inputs, names) -> str:
    """The input given that holds the first vector (by its name)."""
    first = names[0] if names else ""
    for given in inputs:
        if first == str(given) or first.startswith((f"{given}/", f"{given}#")):
            return str(given)
    return str(inputs[0])
