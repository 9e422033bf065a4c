"""The model file (quantize.model) and quantize classify."""
import csv
import io
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sklearn.datasets import load_digits

from quantize.cli import cli
from quantize.cluster import run
from quantize.errors import ImageReadError, VectorDataError
from quantize.model import FIELDS, classify, classify_files, load_model, model_bytes
from quantize.pipeline import KMeansOptions
from quantize.report import assignments_csv
from quantize.vectors import load_vectors
from conftest import bench_module

make_digits = bench_module("make_digits")


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    """scikit-learn's 8x8 digits as a uint8 .npy (n, 8, 8), their labels, and
    the run at K = 12 with its model saved as model.npz (no report folder:
    its pictures take a second)."""
    folder = tmp_path_factory.mktemp("digits")
    data = load_digits()
    images = np.rint(data.images * (255 / 16)).astype(np.uint8)
    np.save(folder / "digits.npy", images)
    np.save(folder / "labels.npy", data.target)
    report = run(folder / "digits.npy", 12, None, KMeansOptions(seed=0), labels=folder / "labels.npy",
                 save_model=folder / "out" / "model.npz")
    return folder, images, data.target, report


def run_cli(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


def test_the_model_file_round_trips(digits):
    folder, images, target, report = digits
    main = report.main
    model = load_model(folder / "out" / "model.npz")
    assert model.centroids.dtype == np.float64 and model.centroids.tobytes() == main.centroids.tobytes()
    assert model.labels.tolist() == main.majority.tolist() and model.k == 12 and model.shape == (8, 8)
    data = load_vectors(folder / "digits.npy", labels=folder / "labels.npy")
    assert model.preprocessing == data.preprocessing
    assert model.preprocessing["source"] == "npy" and model.version == 1
    # The same model, the same bytes (no time stamps).
    assert model_bytes(main, data, model.preprocessing) == (folder / "out" / "model.npz").read_bytes()
    with np.load(folder / "out" / "model.npz", allow_pickle=False) as archive:  # no pickles needed
        assert sorted(archive.files) == sorted(FIELDS)


def test_text_labels_an_empty_cluster_and_no_labels_round_trip(tmp_path):
    bits = np.zeros((6, 4, 4), bool)
    bits[3:, 1:3, 1:3] = True
    np.save(tmp_path / "bits.npy", bits)
    (tmp_path / "labels.csv").write_text("off\noff\noff\non\non\non\n")
    report = run(tmp_path / "bits.npy", 4, options=KMeansOptions(seed=0), labels=tmp_path / "labels.csv",
                 save_model=tmp_path / "model.npz")
    model = load_model(tmp_path / "model.npz")
    assert sorted(model.labels.tolist(), key=str) == sorted(report.main.majority.tolist(), key=str)
    assert model.labels.tolist() == report.main.majority.tolist() and None in model.labels.tolist()
    clusters, labels, distances = classify(model, bits.reshape(6, -1).astype(np.float32))
    assert labels.tolist() == ["off"] * 3 + ["on"] * 3 and distances.tolist() == [0.0] * 6
    run(tmp_path / "bits.npy", 2, options=KMeansOptions(seed=0), save_model=tmp_path / "plain.npz")
    unlabelled = load_model(tmp_path / "plain.npz")
    assert unlabelled.labels is None and classify(unlabelled, bits.reshape(6, -1))[1] is None


def test_classify_on_the_training_vectors_reproduces_the_assignments(digits):
    folder, images, target, report = digits
    rows = list(csv.DictReader(assignments_csv(report, report.main).decode().splitlines()))
    model = load_model(folder / "out" / "model.npz")
    clusters, labels, distances = classify(model, load_vectors(folder / "digits.npy").vectors)
    assert clusters.tolist() == [int(row["cluster"]) for row in rows]
    assert labels.tolist() == [int(row["cluster_label"]) for row in rows]
    np.testing.assert_allclose(distances, report.main.distances, rtol=1e-9)
    assert distances.tolist() == pytest.approx([float(row["distance"]) for row in rows], rel=1e-5)


def test_classify_files_writes_the_csv_and_reads_every_kind_of_input(digits, tmp_path):
    import cv2

    folder, images, _, report = digits
    cv2.imwrite(str(tmp_path / "seven.png"), cv2.resize(images[7], (16, 16), interpolation=cv2.INTER_NEAREST))
    np.save(tmp_path / "few.npy", images[:3])
    result = classify_files(folder / "out" / "model.npz", [tmp_path / "few.npy", tmp_path / "seven.png"],
                            output=tmp_path / "labels.csv")
    rows = list(csv.DictReader((tmp_path / "labels.csv").open()))
    assert [Path(row["name"]).name for row in rows] == [f"few.npy#{i}" for i in range(3)] + ["seven.png"]
    assert [int(row["cluster"]) for row in rows[:3]] == report.main.labels[:3].tolist()
    # The picture of 16x16 is made 8x8 as the model's were (2x2 blocks of one value: digit 7 exactly).
    assert int(rows[3]["cluster"]) == report.main.labels[7]
    assert float(rows[3]["distance"]) == pytest.approx(report.main.distances[7], rel=1e-9)
    assert [float(row["distance"]) for row in rows] == result.distances.tolist()  # exact
    assert (tmp_path / "labels.csv").read_bytes() == result.csv()
    with pytest.raises(Exception) as caught:  # an existing file needs force
        classify_files(folder / "out" / "model.npz", [tmp_path / "few.npy"], output=tmp_path / "labels.csv")
    assert getattr(caught.value, "reason", None) == "exists"


def test_inputs_of_another_shape_or_a_file_that_is_no_model(digits, tmp_path):
    folder, images, _, _ = digits
    np.save(tmp_path / "small.npy", images[:5, :4, :4])
    with pytest.raises(VectorDataError) as caught:
        classify_files(folder / "out" / "model.npz", [tmp_path / "small.npy"])
    assert caught.value.reason == "shape-mismatch" and caught.value.limit == (8, 8)
    result = run_cli("classify", folder / "out" / "model.npz", tmp_path / "small.npy")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == f"quantize: {tmp_path / 'small.npy'}: vectors of 4x4, the model takes 8x8\n"
    (tmp_path / "notes.json").write_text("{}\n")
    for bad in (folder / "digits.npy", tmp_path / "notes.json", tmp_path / "missing.npz"):
        with pytest.raises(ImageReadError):
            load_model(bad)
        result = run_cli("classify", bad, folder / "digits.npy")
        assert result.exit_code == 1 and result.stderr.startswith(f"quantize: {bad}: ")
        assert result.stderr.count("\n") == 1
    np.savez(tmp_path / "other.npz", centroids=np.zeros((2, 64)))
    with pytest.raises(ImageReadError, match="not a quantize model"):
        load_model(tmp_path / "other.npz")


def test_the_command_line_writes_csv_json_and_refuses_to_overwrite(digits, tmp_path):
    folder, images, _, report = digits
    np.save(tmp_path / "few.npy", images[:4])
    model = folder / "out" / "model.npz"
    result = run_cli("classify", model, tmp_path / "few.npy")
    assert result.exit_code == 0, result.output
    rows = list(csv.reader(io.StringIO(result.stdout)))
    assert rows[0] == ["name", "cluster", "label", "distance"] and len(rows) == 5
    assert [int(r[1]) for r in rows[1:]] == report.main.labels[:4].tolist()
    assert run_cli("classify", model, tmp_path / "few.npy", "-o", "-").stdout == result.stdout
    result = run_cli("classify", model, tmp_path / "few.npy", "--json")
    data = json.loads(result.stdout)
    assert data["vectors"] == 4 and [r["cluster"] for r in data["rows"]] == report.main.labels[:4].tolist()
    assert run_cli("classify", model, tmp_path / "few.npy", "-o", tmp_path / "out.csv").exit_code == 0
    result = run_cli("classify", model, tmp_path / "few.npy", "-o", tmp_path / "out.csv")
    assert result.exit_code == 3 and "--force" in result.stderr
    result = run_cli("classify", model, tmp_path / "few.npy", "-o", tmp_path / "few.npy", "--force")
    assert result.exit_code == 3 and "is the input" in result.stderr
    assert np.load(tmp_path / "few.npy").shape == (4, 8, 8)


def test_a_file_that_cannot_be_read_is_reported_and_the_rest_written(tmp_path):
    import cv2

    for label in ("dark", "light"):
        (tmp_path / "in" / label).mkdir(parents=True)
        for i in range(4):
            cv2.imwrite(str(tmp_path / "in" / label / f"{i}.png"),
                        np.full((6, 6), 20 + 10 * i if label == "dark" else 200 + 10 * i, np.uint8))
    run(tmp_path / "in", 2, options=KMeansOptions(seed=0), size=6, save_model=tmp_path / "out" / "model.npz")
    (tmp_path / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n not a png")
    result = run_cli("classify", tmp_path / "out" / "model.npz", tmp_path / "in", tmp_path / "broken.png")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"quantize: {tmp_path / 'broken.png'}: ") and result.stderr.count("\n") == 1
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert len(rows) == 8 and {row["label"] for row in rows} == {"dark", "light"}
    assert all(row["label"] == row["name"].split("/")[-2] for row in rows)


@pytest.mark.slow
def test_classify_reproduces_the_test_labels_cluster_reported(tmp_path):
    """The acceptance test, small: cluster a generated train set with its t10k
    twin found by itself, then classify the t10k file with model.npz."""
    for prefix, count, stream in (("train", 400, 0), ("t10k", 150, 1)):
        images, labels = make_digits.make_digits(count, seed=2, stream=stream)
        make_digits.write_idx(tmp_path / f"{prefix}-images-idx3-ubyte.gz", images)
        make_digits.write_idx(tmp_path / f"{prefix}-labels-idx1-ubyte.gz", labels)
    result = run_cli("cluster", tmp_path / "train-images-idx3-ubyte.gz", "-k", 16, "--ks", "10,16",
                     "--minibatch", "-o", tmp_path / "report", "--json")
    assert result.exit_code == 0, result.output
    reported = json.loads(result.stdout)
    main = next(r for r in reported["runs"] if r["k"] == 16)
    result = run_cli("classify", tmp_path / "report" / "model.npz", tmp_path / "t10k-images-idx3-ubyte.gz",
                     "-o", tmp_path / "labels.csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader((tmp_path / "labels.csv").open()))
    written = list(csv.DictReader((tmp_path / "report" / "test-assignments.csv").open()))
    assert [(Path(r["name"]).name, r["cluster"], r["label"], r["distance"]) for r in rows] == [
        (w["input"], w["cluster"], w["cluster_label"], w["distance"]) for w in written]
    truth = make_digits.make_digits(150, seed=2, stream=1)[1]
    assert [int(w["label"]) for w in written] == truth.tolist()
    right = sum(int(row["label"]) == int(t) for row, t in zip(rows, truth))
    assert right / len(truth) == main["test"]["scores"]["accuracy"]
    sizes = np.bincount([int(row["cluster"]) for row in rows], minlength=16).tolist()
    assert sizes == main["test"]["sizes"]
    metrics = list(csv.DictReader((tmp_path / "report" / "metrics.csv").open()))
    assert float(metrics[1]["test_accuracy"]) == right / len(truth)


@pytest.mark.slow
def test_the_report_folder_holds_the_model_and_save_model_a_copy(digits, tmp_path):
    folder, _, _, report = digits
    result = CliRunner().invoke(cli, ["cluster", str(folder / "digits.npy"), "-k", "12", "--labels",
                                      str(folder / "labels.npy"), "-o", str(tmp_path / "report"),
                                      "--save-model", str(tmp_path / "copy.npz"), "--quiet"])
    assert result.exit_code == 0, result.output
    assert result.stdout.splitlines()[-1].endswith(f"; model also in {tmp_path / 'copy.npz'}")
    saved = (tmp_path / "report" / "model.npz").read_bytes()
    assert saved == (tmp_path / "copy.npz").read_bytes() == (folder / "out" / "model.npz").read_bytes()
    rows = list(csv.DictReader((tmp_path / "report" / "assignments.csv").open()))
    clusters, _, _ = classify(load_model(tmp_path / "copy.npz"), load_vectors(folder / "digits.npy").vectors)
    assert clusters.tolist() == [int(row["cluster"]) for row in rows]
