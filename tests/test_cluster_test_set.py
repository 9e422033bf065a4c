"""quantize cluster with a test set: labels by the nearest centroid and its
cluster's majority training label, scores beside the training ones; the
memory guard of full k-means; K above 256; pictures of values that are not
pixels."""
import csv
import json

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_digits

from quantize import vectors
from quantize.cli import cli
from quantize.cli.options import parse_ks
from quantize.cluster import ClusterRun, evaluate, run
from quantize.errors import VectorDataError
from quantize.metrics import cluster_scores
from quantize.pipeline import KMeansOptions
from quantize.plots import as_pictures
from quantize.report import cluster_json, metrics_csv
from conftest import bench_module

make_digits = bench_module("make_digits")


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    """scikit-learn's 8x8 digits as uint8 .npy: the first 1,200 to train on,
    the other 597 to test, each with a labels .npy."""
    folder = tmp_path_factory.mktemp("split")
    data = load_digits()
    images = np.rint(data.images * (255 / 16)).astype(np.uint8)
    np.save(folder / "train.npy", images[:1200])
    np.save(folder / "train-labels.npy", data.target[:1200])
    np.save(folder / "test.npy", images[1200:])
    np.save(folder / "test-labels.npy", data.target[1200:])
    return folder, images, data.target


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def hand_majority(train_labels, clusters, k):
    """Each cluster's most common label (the smallest on a tie), None when empty."""
    out = []
    for c in range(k):
        members = train_labels[clusters == c]
        out.append(int(np.bincount(members).argmax()) if members.size else None)
    return out


def test_test_accuracy_is_the_nearest_centroids_majority_label(split):
    folder, images, target = split
    report = run(folder / "train.npy", 10, [16], KMeansOptions(seed=0), labels=folder / "train-labels.npy",
                 test=folder / "test.npy", test_labels=folder / "test-labels.npy")
    test = (images[1200:].reshape(597, -1).astype(np.float32) / np.float32(255)).astype(np.float64)
    truth = target[1200:]
    rows = list(csv.DictReader(metrics_csv(report).decode().splitlines()))
    saved = json.loads(cluster_json(report))
    assert saved["test"] == {"source": str(folder / "test.npy"), "vectors": 597, "labelled": True}
    for index, each in enumerate(report.runs):
        sq = ((test[:, None, :] - each.centroids[None]) ** 2).sum(axis=2)  # brute force
        nearest = sq.argmin(axis=1)
        np.testing.assert_array_equal(each.test_clusters, nearest)
        np.testing.assert_allclose(each.test_distances, np.sqrt(sq.min(axis=1)), rtol=1e-12)
        majority = hand_majority(target[:1200], each.labels, each.k)
        right = sum(majority[c] == t for c, t in zip(nearest, truth))
        assert each.test_scores.accuracy == right / len(truth)
        others = cluster_scores(truth, nearest)
        assert each.test_scores.v_measure == others.v_measure
        assert each.test_scores.adjusted_rand == others.adjusted_rand
        assert each.test_scores.homogeneity == others.homogeneity
        assert float(rows[index]["test_accuracy"]) == right / len(truth)
        assert float(rows[index]["test_inertia"]) == pytest.approx(sq.min(axis=1).sum(), rel=1e-12)
        assert saved["runs"][index]["test"]["scores"]["accuracy"] == right / len(truth)
    assert 0.6 < report.runs[0].test_scores.accuracy < report.runs[1].test_scores.accuracy + 0.1


def test_a_test_vector_in_a_cluster_without_training_members_counts_as_wrong():
    centroids = np.array([[0.0, 0.0], [10.0, 10.0]])
    fitted = ClusterRun(2, centroids, np.array([1, 1], np.int32), np.zeros(2), 0.0, 1, True, 0.0,
                        majority=np.array([None, 7], dtype=object))
    tested = evaluate(fitted, np.array([[0.1, 0.0], [9.0, 10.0], [10.0, 9.5]]), np.array([7, 7, 3]))
    assert tested.test_clusters.tolist() == [0, 1, 1]
    assert tested.test_scores.accuracy == 1 / 3  # cluster 0 names no label; 3 is not 7
    np.testing.assert_allclose(tested.test_distances, [0.1, 1.0, 0.5])


def test_a_test_set_of_another_shape_is_refused_before_the_work(split, tmp_path):
    folder, images, _ = split
    np.save(tmp_path / "small.npy", images[:20, :4, :4])
    with pytest.raises(VectorDataError) as caught:
        run(folder / "train.npy", 4, test=tmp_path / "small.npy", out_dir=tmp_path / "out")
    assert caught.value.reason == "shape-mismatch" and caught.value.value == (4, 4) and caught.value.limit == (8, 8)
    result = run_cli("cluster", folder / "train.npy", "-k", 4, "--test", tmp_path / "small.npy",
                     "-o", tmp_path / "out", "--quiet")
    assert result.exit_code == 2
    assert result.stderr == (f"quantize: {tmp_path / 'small.npy'}: vectors of 4x4, the training vectors are "
                             "8x8\n")
    assert not (tmp_path / "out" / "clusters.json").exists()


@pytest.mark.slow
def test_mnist_t10k_beside_the_training_file_is_the_test_set(tmp_path):
    images, labels = make_digits.make_digits(120, seed=1)
    test_images, test_labels = make_digits.make_digits(40, seed=1, stream=1)
    for prefix, pictures, digits in (("train", images, labels), ("t10k", test_images, test_labels)):
        make_digits.write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", pictures)
        make_digits.write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", digits)
    source = tmp_path / "train-images-idx3-ubyte.gz"
    report = run(source, 10, options=KMeansOptions(seed=0))
    assert report.notes == (f"using {tmp_path / 't10k-images-idx3-ubyte.gz'} as the test set",)
    assert report.test_names[0] == "t10k-images-idx3-ubyte.gz#0" and len(report.test_names) == 40
    np.testing.assert_array_equal(report.test_labels, test_labels)
    assert report.main.test_scores is not None
    alone = run(source, 10, options=KMeansOptions(seed=0), find_test=False)
    assert alone.notes == () and alone.test_source is None and alone.main.test_clusters is None
    np.testing.assert_array_equal(alone.main.centroids, report.main.centroids)
    result = run_cli("cluster", source, "-k", 10, "--no-test", "-o", tmp_path / "o1")
    assert result.exit_code == 0 and "test acc." not in result.stdout and result.stderr == ""
    assert "test_accuracy" not in (tmp_path / "o1" / "metrics.csv").read_text()
    result = run_cli("cluster", source, "-k", 10, "-o", tmp_path / "o2")
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[1].split()[-3:] == ["acc.", "iter", "seconds"]
    shown = float(result.stdout.splitlines()[2].split()[-3])
    assert shown == round(report.main.test_scores.accuracy, 3)
    result = run_cli("cluster", source, "-k", 10, "--no-test", "--test", source, "-o", tmp_path / "o3")
    assert result.exit_code == 2 and "--no-test" in result.stderr and result.stderr.count("\n") == 1


def _no_memory(monkeypatch, available=1000):
    """quantize.vectors.available_memory says ``available`` bytes."""
    monkeypatch.setattr(vectors, "available_memory", lambda: available)


def test_full_kmeans_beyond_the_memory_available_asks_for_minibatch(split, tmp_path, monkeypatch):
    folder, _, _ = split
    _no_memory(monkeypatch)
    with pytest.raises(VectorDataError) as caught:
        run(folder / "train.npy", 4, out_dir=tmp_path / "out")
    error = caught.value
    assert error.reason == "needs-minibatch" and error.limit == 1000
    assert error.value == 1200 * 64 * 4  # float32 vectors
    assert "minibatch=True" in str(error) and not (tmp_path / "out" / "clusters.json").exists()
    assert run(folder / "train.npy", 4, minibatch=True).main.k == 4  # mini-batch goes on
    result = run_cli("cluster", folder / "train.npy", "-k", 4, "-o", tmp_path / "out")
    assert result.exit_code == 2
    assert result.stderr == (f"quantize: {folder / 'train.npy'}: full k-means needs about 0 MB for these vectors, "
                             "more than the 0 MB available; use --minibatch (its memory stays near a batch and "
                             "the centroids)\n")


def test_k_above_256_in_the_sweep(tmp_path):
    assert parse_ks("10,400,300", 10, 10, most=None) == [10, 300, 400]
    rng = np.random.default_rng(3)
    np.save(tmp_path / "small.npy", rng.random((420, 6), dtype=np.float32))
    report = run(tmp_path / "small.npy", 2, [300, 400], KMeansOptions(seed=0), minibatch=True, batch_size=128)
    assert [r.k for r in report.runs] == [2, 300, 400]
    assert report.runs[-1].centroids.shape == (400, 6) and report.runs[-1].sizes.sum() == 420
    assert report.runs[-1].inertia < report.runs[1].inertia < report.runs[0].inertia


@pytest.mark.slow
def test_k_400_with_labels_and_a_test_set(split):
    folder, _, target = split
    report = run(folder / "train.npy", 10, [400], KMeansOptions(seed=0), minibatch=True, batch_size=256,
                 labels=folder / "train-labels.npy", test=folder / "test.npy",
                 test_labels=folder / "test-labels.npy")
    big = report.runs[-1]
    assert big.k == 400 and big.centroids.shape == (400, 64) and big.labels.max() < 400
    assert big.sizes.sum() == 1200 and big.scores.accuracy > report.runs[0].scores.accuracy
    assert big.test_clusters.max() < 400
    rows = list(csv.DictReader(metrics_csv(report).decode().splitlines()))
    assert [int(r["k"]) for r in rows] == [10, 400] and all(float(r["seconds"]) > 0 for r in rows)


@pytest.mark.slow
def test_k_above_256_on_the_command_line(split, tmp_path):
    folder, _, _ = split
    result = run_cli("cluster", folder / "train.npy", "--ks", "300,10", "--minibatch", "-o", tmp_path / "out",
                     "--json")  # without -k: the smallest K of --ks is the report's
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert [r["k"] for r in data["runs"]] == [10, 300] and data["k"] == 10
    assert len(list((tmp_path / "out" / "sheets").iterdir())) == 10


def test_the_command_needs_k_or_ks(split):
    folder, _, _ = split
    result = run_cli("cluster", folder / "train.npy")
    assert result.exit_code == 2 and result.stderr.startswith("quantize: error: give -k K, or --ks LIST")


def test_pictures_of_values_that_are_not_pixels_are_stretched_each_to_its_range():
    values = np.array([[2.0, 4.0, 6.0, 6.0], [-1.0, -1.0, -1.0, -1.0], [0.0, 0.5, 1.0, 0.25]])
    assert as_pictures(values, (2, 2), stretch=True).reshape(3, 4).tolist() == [
        [0, 128, 255, 255], [0, 0, 0, 0], [0, 128, 255, 64]]
    assert as_pictures(values[2:], (4,)).tolist() == [[0, 128, 255, 64]]  # pixels: unchanged


def test_floats_in_0_to_16_cluster_as_the_same_floats_divided_by_16(tmp_path):
    data = load_digits()
    np.save(tmp_path / "raw.npy", data.data.astype(np.float64))  # 0..16
    np.save(tmp_path / "unit.npy", data.data.astype(np.float64) / 16)
    raw = run(tmp_path / "raw.npy", 10, options=KMeansOptions(seed=0), out_dir=tmp_path / "raw")
    unit = run(tmp_path / "unit.npy", 10, options=KMeansOptions(seed=0))
    np.testing.assert_array_equal(raw.main.labels, unit.main.labels)
    np.testing.assert_allclose(raw.main.centroids, 16 * unit.main.centroids, rtol=1e-12, atol=1e-12)
    assert (tmp_path / "raw" / "centroids.png").is_file()
