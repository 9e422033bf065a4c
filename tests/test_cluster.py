"""quantize cluster: whole images as vectors, the report folder, the command."""
import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_digits

from quantize import read_image
from quantize.cli import cli
from quantize.cluster import REPORT_FILES, SHEETS, run
from quantize.metrics import cluster_scores
from quantize.pipeline import KMeansOptions
from quantize.plots import mosaic
from quantize.vectors import load_vectors


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """scikit-learn's 1,797 digits of 8x8 (values 0..16) as a .npy of (n, 8, 8)
    uint8 scaled to 0..255, and their labels as a .npy."""
    folder = tmp_path_factory.mktemp("digits")
    data = load_digits()
    images = np.rint(data.images * (255 / 16)).astype(np.uint8)
    np.save(folder / "digits.npy", images)
    np.save(folder / "labels.npy", data.target)
    return folder, images, data.target


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.mark.slow
def test_report_files_agree_with_the_run(digits, tmp_path):
    folder, images, target = digits
    out = tmp_path / "out"
    report = run(folder / "digits.npy", 10, [10, 16], KMeansOptions(seed=0), out_dir=out,
                 labels=folder / "labels.npy")
    main = report.main
    assert [r.k for r in report.runs] == [10, 16] and main.k == 10
    vectors = load_vectors(folder / "digits.npy").vectors.astype(np.float64)  # as clustered: float32
    # Every vector is with its nearest centroid, at the distance written.
    sq = ((vectors[:, None, :] - main.centroids[None]) ** 2).sum(axis=2)
    np.testing.assert_array_equal(main.labels, sq.argmin(axis=1))
    np.testing.assert_allclose(main.distances, np.sqrt(sq.min(axis=1)), rtol=1e-12)
    assert main.inertia == pytest.approx(sq.min(axis=1).sum(), rel=1e-12)
    rows = list(csv.DictReader((out / "assignments.csv").open()))
    assert len(rows) == len(images)
    assert [int(r["cluster"]) for r in rows] == main.labels.tolist()
    assert [int(r["label"]) for r in rows] == target.tolist()
    assert [float(r["distance"]) for r in rows] == pytest.approx(main.distances.tolist(), rel=1e-5)
    majority = {c: np.bincount(target[main.labels == c]).argmax() for c in range(10)}
    assert all(int(r["cluster_label"]) == majority[int(r["cluster"])] for r in rows)
    data = json.loads((out / "clusters.json").read_text())
    assert sum(data["runs"][0]["sizes"]) == len(images) and data["labelled"]
    assert data["runs"][0]["majority_labels"] == [int(majority[c]) for c in range(10)]
    scores = cluster_scores(target, main.labels)
    metrics = list(csv.DictReader((out / "metrics.csv").open()))
    assert [int(m["k"]) for m in metrics] == [10, 16]
    assert float(metrics[0]["accuracy"]) == pytest.approx(scores.accuracy, rel=1e-12)
    assert float(metrics[0]["v_measure"]) == pytest.approx(scores.v_measure, rel=1e-12)
    assert sorted(p.name for p in (out / SHEETS).iterdir()) == [f"cluster-{c}.png" for c in range(10)]
    assert {name for name in REPORT_FILES} <= {p.name for p in out.iterdir()}


def test_digits_are_grouped_about_as_well_as_published(digits):
    """k-means on the 8x8 digits maps clusters to digits with about 80% accuracy
    at K = 10 (scikit-learn's KMeans gets 0.79 on this set); more clusters
    separate the digits better."""
    folder, _, target = digits
    report = run(folder / "digits.npy", 10, [10, 64], KMeansOptions(seed=0), labels=folder / "labels.npy")
    accuracy = {r.k: r.scores.accuracy for r in report.runs}
    assert accuracy[10] > 0.7
    assert accuracy[64] > max(0.9, accuracy[10])


def test_the_contact_sheet_is_the_members_nearest_their_centroid(digits, tmp_path):
    folder, images, _ = digits
    report = run(folder / "digits.npy", 4, None, KMeansOptions(seed=1), out_dir=tmp_path)
    main = report.main
    members = np.flatnonzero(main.labels == 2)
    nearest = members[np.argsort(main.distances[members], kind="stable")[:25]]
    sheet = read_image(tmp_path / SHEETS / "cluster-2.png")[:, :, 0]
    expected = mosaic(images[nearest], 5, scale=7)  # 8-pixel pictures shown 7 times larger
    np.testing.assert_array_equal(sheet, expected)


def test_mosaic_layout():
    pictures = np.arange(10 * 2 * 3, dtype=np.uint8).reshape(10, 2, 3)
    sheet = mosaic(pictures, 4, gap=1)
    assert sheet.shape == (3 * 3 - 1, 4 * 4 - 1)
    np.testing.assert_array_equal(sheet[3:5, 4:7], pictures[5])  # row 1, column 1
    assert (sheet[2, :] == 128).all() and (sheet[:, 3] == 128).all()
    assert (sheet[6:, 8:] == 128).all()  # after the last picture
    big = mosaic(pictures[:1], 1, scale=3)
    np.testing.assert_array_equal(big, np.kron(pictures[0], np.ones((3, 3), np.uint8)))


def test_centroid_grid_size_follows_k(digits, tmp_path):
    folder, _, _ = digits
    shapes = {}
    for k in (4, 16):
        run(folder / "digits.npy", k, None, KMeansOptions(seed=0), out_dir=tmp_path / str(k))
        shapes[k] = read_image(tmp_path / str(k) / "centroids.png").shape
    assert shapes[16][0] > shapes[4][0] and shapes[16][1] > shapes[4][1]


def test_minibatch_is_close_to_full_kmeans(digits):
    folder, _, _ = digits
    full = run(folder / "digits.npy", 10, None, KMeansOptions(seed=0)).main
    mini = run(folder / "digits.npy", 10, None, KMeansOptions(seed=0), minibatch=True, batch_size=256).main
    assert mini.inertia < 1.1 * full.inertia


@pytest.mark.slow
def test_cli_table_and_json(digits, tmp_path):
    folder, images, _ = digits
    result = run_cli("cluster", folder / "digits.npy", "-k", 10, "--ks", "10,16", "--labels",
                     folder / "labels.npy", "-o", tmp_path / "out", "--quiet")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0] == f"{len(images)} vectors of 8x8, k-means"
    assert lines[1].split()[:3] == ["K", "inertia", "accuracy"]
    assert [line.split()[0] for line in lines[2:4]] == ["10", "16"]
    result = run_cli("cluster", folder / "digits.npy", "-k", 10, "-o", tmp_path / "out", "--json")
    assert result.exit_code == 3  # the outputs exist
    assert "exists; use --force" in result.stderr
    result = run_cli("cluster", folder / "digits.npy", "-k", 10, "-o", tmp_path / "out", "--json", "--force")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["k"] == 10 and data["vectors"] == len(images) and not data["labelled"]


def test_cli_errors_are_one_line(digits, tmp_path):
    folder, images, _ = digits
    result = run_cli("cluster", folder / "digits.npy", "-k", len(images) + 1, "-o", tmp_path / "o")
    assert result.exit_code == 2
    assert result.stderr == f"quantize: {folder / 'digits.npy'}: K={len(images) + 1} exceeds the number of images ({len(images)})\n"
    assert not (tmp_path / "o").exists() or not any((tmp_path / "o").iterdir())
    result = run_cli("cluster", folder / "digits.npy", "-k", 4, "--ks", "2,x")
    assert result.exit_code == 2 and result.stderr.count("\n") == 1


def test_a_folder_with_a_bad_file_is_clustered_and_reported(tmp_path):
    import cv2

    for label in ("dark", "light"):
        (tmp_path / "in" / label).mkdir(parents=True)
        for i in range(6):
            value = 30 + 10 * i if label == "dark" else 200 + 5 * i
            cv2.imwrite(str(tmp_path / "in" / label / f"{i}.png"), np.full((12, 20), value, np.uint8))
    (tmp_path / "in" / "light" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    result = run_cli("cluster", tmp_path / "in", "-k", 2, "--size", 8, "-o", tmp_path / "out", "--quiet")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"quantize: {tmp_path / 'in' / 'light' / 'broken.png'}") or \
        "broken.png" in result.stderr.splitlines()[0]
    rows = list(csv.DictReader((tmp_path / "out" / "assignments.csv").open()))
    assert len(rows) == 12
    assert {r["label"] for r in rows if r["cluster"] == rows[0]["cluster"]} == {rows[0]["label"]}
    assert "accuracy" in result.stdout and "1.000" in result.stdout.splitlines()[2]


# --- inputs with fewer distinct vectors than K: every cluster written, none divides by zero ----------


@pytest.mark.parametrize("minibatch", [False, True])
def test_a_boolean_array_with_repeated_vectors_and_k_equal_to_n(tmp_path, minibatch):
    """A boolean .npy is 0/1 values; its 6 vectors hold 2 distinct ones, so at
    K = 6 four clusters stay empty: their sheets are blank, a note says so."""
    vectors = np.zeros((6, 4, 4), bool)
    vectors[3:, 1:3, 1:3] = True
    np.save(tmp_path / "bits.npy", vectors)
    result = run_cli("cluster", tmp_path / "bits.npy", "-k", 6, "--ks", "2", "-o", tmp_path / "out",
                     *(["--minibatch"] if minibatch else []))
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert result.exit_code == 0, result.output
    assert result.stderr == (f"quantize: note: {tmp_path / 'bits.npy'}: K=6: 4 of the clusters are empty "
                             "(the vectors hold 2 distinct values)\n")
    sheets = sorted((tmp_path / "out" / SHEETS).iterdir())
    assert len(sheets) == 6 and all(read_image(sheet).size for sheet in sheets)
    rows = list(csv.DictReader((tmp_path / "out" / "assignments.csv").open()))
    assert len({row["cluster"] for row in rows}) == 2
    assert all(float(row["distance"]) == 0.0 for row in rows)


def test_boolean_vectors_are_zeros_and_ones(tmp_path):
    np.save(tmp_path / "bits.npy", np.array([[True, False], [False, True]]))
    data = load_vectors(tmp_path / "bits.npy")
    assert data.vectors.dtype == np.float32 and data.vectors.tolist() == [[1.0, 0.0], [0.0, 1.0]]
    report = run(tmp_path / "bits.npy", 2, options=KMeansOptions(seed=0), out_dir=tmp_path / "out")
    assert sorted(report.main.sizes.tolist()) == [1, 1] and report.notes[0].endswith("no centroids.png or contact "
                                                                                     "sheets")


# --- report folders are never inputs -------------------------------------------------------------------


def _grey_folder(folder, count=6):
    import cv2

    folder.mkdir(parents=True)
    for i in range(count):
        cv2.imwrite(str(folder / f"{i}.png"), np.full((10, 10), 20 + 40 * i, np.uint8))


def test_a_report_folder_inside_the_source_is_not_read_on_a_rerun(tmp_path):
    source = tmp_path / "pictures"
    _grey_folder(source)
    for attempt in range(2):
        result = run_cli("cluster", source, "-k", 2, "--size", 8, "-o", source / "groups", "--json", "--force")
        assert result.exit_code == 0, result.output
        data = json.loads(result.stdout)
        assert data["vectors"] == 6, (attempt, data["vectors"])
    rows = list(csv.DictReader((source / "groups" / "assignments.csv").open()))
    assert sorted(row["input"] for row in rows) == [f"{i}.png" for i in range(6)]


def test_a_previous_report_inside_the_source_is_skipped_with_a_note(tmp_path):
    source = tmp_path / "pictures"
    _grey_folder(source)
    result = run_cli("cluster", source, "-k", 2, "--size", 8, "-o", tmp_path / "old", "--quiet")
    assert result.exit_code == 0, result.output
    (tmp_path / "old").rename(source / "old-groups")
    result = run_cli("cluster", source, "-k", 2, "--size", 8, "-o", tmp_path / "new", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["vectors"] == 6
    assert result.stderr == (f"quantize: note: {source / 'old-groups'}: holds a cluster report "
                             "(clusters.json, assignments.csv): not read as input\n")
    data = load_vectors(source)
    assert len(data.names) == 6 and data.notes == (f"{source / 'old-groups'}: holds a cluster report "
                                                   "(clusters.json, assignments.csv): not read as input",)


def test_the_report_folder_may_not_be_the_source(tmp_path):
    source = tmp_path / "pictures"
    _grey_folder(source)
    result = run_cli("cluster", source, "-k", 2, "-o", source)
    assert result.exit_code == 3
    assert result.stderr == f"quantize: {source}: is an input folder; name another output folder with -o\n"
    assert sorted(p.name for p in source.iterdir()) == [f"{i}.png" for i in range(6)]
