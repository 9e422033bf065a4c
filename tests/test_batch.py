"""quantize batch: mirrored trees, skipping, bad files, kills, dry runs, Dask."""
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import astuple

import numpy as np
import pytest
from click.testing import CliRunner

from quantize import batch, read_image
from quantize.cli import cli

PHOTOS = ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]


def run(*args):
    return CliRunner().invoke(cli, ["batch", *[str(a) for a in args]])


def manifest(out_dir):
    lines = (out_dir / "manifest.jsonl").read_text().splitlines()
    return {os.path.basename(r["input"]): r for r in map(json.loads, lines)}


@pytest.fixture
def tree(tmp_path, samples):
    """in/astronaut.jpg, in/chelsea.jpg, in/a/coffee.jpg, in/a/b/rocket.jpg, in/notes.txt"""
    root = tmp_path / "in"
    for name, sub in zip(PHOTOS, ["", "", "a", "a/b"]):
        (root / sub).mkdir(parents=True, exist_ok=True)
        shutil.copy(samples / name, root / sub / name)
    (root / "notes.txt").write_text("not an image")
    return root


@pytest.mark.slow
def test_mirrors_the_tree(tree, tmp_path):
    out = tmp_path / "out"
    result = run(tree, "-k", 8, "-o", out, "--recursive", "--jobs", 1)
    assert result.exit_code == 0, result.output
    expected = {"astronaut.png", "chelsea.png", "a/coffee.png", "a/b/rocket.png"}
    written = {str(p.relative_to(out)) for p in out.rglob("*.png")}
    assert written == expected
    assert {str(p.relative_to(out)) for p in out.rglob("*.gpl")} == {e[:-4] + ".gpl" for e in expected}
    records = manifest(out)
    assert set(records) == set(PHOTOS)
    for record in records.values():
        assert record["status"] == "done" and record["k"] == 8 and record["error"] is None
        assert record["bytes_out"] == os.path.getsize(record["output"])
        assert len(set(map(tuple, read_image(record["output"]).reshape(-1, 3)))) <= 8
    assert "done 4, skipped 0, failed 0" in result.stdout


def test_without_recursive_only_the_top_folder(tree, tmp_path):
    result = run(tree, "-k", 4, "-o", tmp_path / "out", "--palette-format", "none", "--json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["done"] == 2
    assert {p.name for p in (tmp_path / "out").iterdir()} == {"astronaut.png", "chelsea.png", "manifest.jsonl"}


def test_pattern_and_explicit_files(tree, tmp_path, samples):
    shutil.copy(samples / "camera.png", tree / "camera.png")
    result = run(tree, "-k", 4, "-o", tmp_path / "out", "--pattern", "*.PNG", "--json")
    assert json.loads(result.stdout)["done"] == 1
    result = run(tree / "chelsea.jpg", tree / "a" / "coffee.jpg", "-k", 4, "-o", tmp_path / "out2")
    assert result.exit_code == 0
    assert {p.name for p in (tmp_path / "out2").glob("*.png")} == {"chelsea.png", "coffee.png"}


@pytest.mark.slow
def test_skips_what_exists_unless_force(tree, tmp_path):
    out = tmp_path / "out"
    assert run(tree, "-k", 8, "-o", out, "-r", "--jobs", 1).exit_code == 0
    stamps = {p: p.stat().st_mtime_ns for p in out.rglob("*.png")}
    again = run(tree, "-k", 8, "-o", out, "-r", "--jobs", 1, "--json")
    assert again.exit_code == 0
    assert json.loads(again.stdout) | {"seconds": 0} == {
        "done": 0, "skipped": 4, "failed": 0, "bytes_in": 0, "bytes_out": 0, "seconds": 0,
        "manifest": str(out / "manifest.jsonl")}
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.png")} == stamps
    assert {r["status"] for r in manifest(out).values()} == {"skipped"}
    forced = run(tree, "-k", 8, "-o", out, "-r", "--jobs", 1, "--force", "--json")
    assert json.loads(forced.stdout)["done"] == 4


def test_a_bad_file_is_reported_and_the_batch_goes_on(tree, tmp_path):
    (tree / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 50)
    out = tmp_path / "out"
    result = run(tree, "-k", 8, "-o", out, "-r", "--jobs", 2)
    assert result.exit_code == 1
    assert f"quantize: {tree}/broken.png: not an image OpenCV can read" in result.stderr
    records = manifest(out)
    assert records["broken.png"]["status"] == "failed"
    assert "not an image OpenCV can read" in records["broken.png"]["error"]
    assert all(records[name]["status"] == "done" for name in PHOTOS)
    assert not (out / "broken.png").exists()
    assert "done 4, skipped 0, failed 1" in result.stdout


def test_dry_run_writes_nothing(tree, tmp_path):
    out = tmp_path / "out"
    result = run(tree, "-k", 8, "-o", out, "-r", "--dry-run")
    assert result.exit_code == 0
    assert not out.exists()
    assert sorted(result.stdout.splitlines()) == sorted(
        f"would quantize {src} -> {dst}" for src, dst in [
            (tree / "astronaut.jpg", out / "astronaut.png"), (tree / "chelsea.jpg", out / "chelsea.png"),
            (tree / "a/coffee.jpg", out / "a/coffee.png"), (tree / "a/b/rocket.jpg", out / "a/b/rocket.png")])


@pytest.mark.slow
def test_parallel_and_serial_give_the_same_bytes(tree, tmp_path):
    assert run(tree, "-k", 16, "-o", tmp_path / "one", "-r", "--jobs", 1).exit_code == 0
    assert run(tree, "-k", 16, "-o", tmp_path / "two", "-r", "--jobs", 2).exit_code == 0
    for path in (tmp_path / "one").rglob("*.png"):
        assert path.read_bytes() == (tmp_path / "two" / path.relative_to(tmp_path / "one")).read_bytes()


def test_loops_unreadable_folders_and_output_inside_input(tree, tmp_path, monkeypatch):
    os.symlink("..", tree / "a" / "up")  # a loop back to in/
    locked = tree / "locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path):
        if os.fspath(path) == str(locked):
            raise PermissionError(13, "Permission denied")
        return real_scandir(path)

    monkeypatch.setattr(batch.os, "scandir", scandir)
    out = tree / "out"  # inside the input: must not be walked
    result = run(tree, "-k", 4, "-o", out, "-r", "--jobs", 1)
    assert result.exit_code == 1
    assert f"quantize: {locked}: cannot read folder: Permission denied" in result.stderr
    assert f"quantize: note: {tree}/a/up: symbolic link loop: not followed" in result.stderr
    assert {p.name for p in out.rglob("*.png")} == {p[:-4] + ".png" for p in PHOTOS}
    again = run(tree, "-k", 4, "-o", out, "-r", "--jobs", 1, "--json")
    assert json.loads(again.stdout)["done"] == 0  # outputs were not taken as inputs


def test_two_inputs_for_one_output(tmp_path, samples):
    folder = tmp_path / "in"
    folder.mkdir()
    shutil.copy(samples / "chelsea.jpg", folder / "x.jpg")
    shutil.copy(samples / "camera.png", folder / "x.png")
    result = run(folder, "-k", 4, "-o", tmp_path / "out")
    assert result.exit_code == 1
    assert f"quantize: {folder}/x.png: same output as {folder}/x.jpg" in result.stderr


def test_output_folder_cannot_be_the_input_folder(tree):
    """Refused before anything is written, with the exit code of an output clash (3)."""
    before = sorted(tree.rglob("*"))
    result = run(tree, "-k", 4, "-o", tree)
    assert result.exit_code == 3
    assert result.stderr == f"quantize: {tree}: is an input folder; name another output folder with -o\n"
    assert sorted(tree.rglob("*")) == before  # no manifest, no output


def test_usage_errors():
    assert run("x", "-k", 4, "-o", "out", "--executor", "dask").stderr == \
        "quantize: --executor dask needs --scheduler ADDRESS\n"
    assert run("x", "-k", 4).exit_code == 2


def photo_folder(tmp_path, samples, count):
    """in/p00.jpg ... copies of the sample photos, and the output folder's path."""
    source = tmp_path / "in"
    source.mkdir()
    for i in range(count):
        shutil.copy(samples / PHOTOS[i % 4], source / f"p{i:02d}.jpg")
    return source, tmp_path / "out"


def wait_for_palettes(out, count):
    deadline = time.time() + 60
    while time.time() < deadline and len(list(out.glob("*.gpl"))) < count:
        time.sleep(0.02)


@pytest.mark.slow
def test_killed_run_leaves_no_partial_output_and_rerun_finishes(tmp_path, samples):
    source, out = photo_folder(tmp_path, samples, 16)
    command = [sys.executable, "-m", "quantize", "batch", str(source), "-k", "64", "-o", str(out),
               "--jobs", "1", "--exact", "--quiet"]
    proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for_palettes(out, 3)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    finished = {p.name: p.stat().st_mtime_ns for p in out.glob("p*.png")}
    assert 3 <= len(finished) < 16, "the run should be killed mid-way"
    for name in finished:  # every output there is whole
        assert read_image(out / name).shape == read_image(source / name.replace(".png", ".jpg")).shape
    complete = {n for n in finished if (out / n.replace(".png", ".gpl")).exists()}
    rerun = subprocess.run(command[:-1] + ["--json"], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    summary = json.loads(rerun.stdout)
    assert summary["skipped"] == len(complete) and summary["done"] == 16 - len(complete)
    for name in complete:  # not redone
        assert (out / name).stat().st_mtime_ns == finished[name]
    assert len(list(out.glob("p*.png"))) == 16
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]


@pytest.mark.slow
def test_dask_executor_on_a_local_cluster(tree, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    distributed = pytest.importorskip("dask.distributed")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=None) as cluster:
        # relative paths: workers on other machines run in other folders
        result = run(os.path.relpath(tree), "-k", 16, "-o", "dask", "-r", "--executor", "dask",
                     "--scheduler", cluster.scheduler_address, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["done"] == 4
    records = manifest(tmp_path / "dask").values()
    assert all(os.path.isabs(r["input"]) and os.path.isabs(r["output"]) for r in records)
    assert run(tree, "-k", 16, "-o", tmp_path / "local", "-r", "--jobs", 1).exit_code == 0
    for path in (tmp_path / "local").rglob("*.png"):
        assert path.read_bytes() == (tmp_path / "dask" / path.relative_to(tmp_path / "local")).read_bytes()


@pytest.mark.slow
def test_ctrl_c_stops_the_pool_cleanly(tmp_path, samples):
    source, out = photo_folder(tmp_path, samples, 24)
    proc = subprocess.Popen([sys.executable, "-m", "quantize", "batch", str(source), "-k", "64", "-o", str(out),
                             "--jobs", "2", "--exact"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    wait_for_palettes(out, 2)
    os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 130
    assert stderr.strip().splitlines()[-1] == "quantize: interrupted"
    assert "Traceback" not in stderr
    records = manifest(out)
    assert 2 <= len(records) < 24 and {r["status"] for r in records.values()} == {"done"}
    assert not [p for p in out.iterdir() if p.name.endswith(".part")]
    for record in records.values():
        assert read_image(record["output"]).shape[:2] == read_image(record["input"]).shape[:2]


def worker_threads():
    """Threads a pool worker may use: BLAS (threadpoolctl), OpenCV, deflate."""
    import cv2
    from threadpoolctl import threadpool_info

    from quantize import png

    return [pool["num_threads"] for pool in threadpool_info()], cv2.getNumThreads(), png._threads


def test_pool_workers_use_one_thread_each():
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(1, mp_context=get_context("spawn"), initializer=batch.init_worker, initargs=(os.getpid(),)) as pool:
        blas, opencv, deflate = pool.submit(worker_threads).result()
    assert blas and set(blas) == {1} and opencv == 1 and deflate == 1
    assert worker_threads()[2] is None  # this process is untouched


def test_progress_never_goes_back_and_can_cancel(tree, tmp_path):
    work = batch.plan([tree], tmp_path / "out", 4, recursive=True)
    seen, records = [], []
    summary = batch.run(work, tmp_path / "out", on_progress=seen.append, on_record=records.append)
    assert seen == [1 / 4, 2 / 4, 3 / 4, 1.0] and summary.done == 4 and len(records) == 4
    assert summary.records[-1].status is batch.Status.DONE
    again = batch.plan([tree], tmp_path / "again", 4, recursive=True)
    with pytest.raises(batch.Cancelled):
        batch.run(again, tmp_path / "again", on_progress=lambda fraction: fraction < 0.5)
    listed = manifest(tmp_path / "again")  # the files finished before the stop
    assert len(listed) == 2 and {r["status"] for r in listed.values()} == {"done"}


def test_manifest_rows_are_the_records(tree, tmp_path):
    assert run(tree, "-k", 4, "-o", tmp_path / "out", "--jobs", 1).exit_code == 0
    rows = list(manifest(tmp_path / "out").values())
    fields = ["input", "output", "status", "k", "distortion", "psnr_db", "bytes_in", "bytes_out", "error", "seconds",
              "parameters", "colors", "quality", "delta_e_ok"]
    assert all(list(row) == fields for row in rows)
    assert all(isinstance(row["seconds"], float) and row["error"] is None for row in rows)


def test_shared_palette_fits_the_images_as_one_picture(samples, tmp_path, monkeypatch):
    """RGB images before and after an RGBA one count as opaque RGBA, each by its
    pixels; an unreadable file is passed over."""
    from quantize import histogram, pipeline
    from quantize.files import OutputOptions

    names = ["chelsea.jpg", "logo-rgba.png", "coffee.jpg"]
    sources = [samples / name for name in names] + [tmp_path / "missing.png"]
    seen = []

    def fit_palette(hist, *args, **kwargs):
        seen.append(hist)
        return pipeline.fit_palette(hist, *args, **kwargs)

    monkeypatch.setattr(batch, "fit_palette", fit_palette)
    palette = batch.fit_shared_palette(sources, 8, pipeline.KMeansOptions(seed=1), OutputOptions())
    pixels = [read_image(samples / name) for name in names]
    rows = [np.dstack([p, np.full(p.shape[:2], 255, np.uint8)]) if p.shape[2] == 3 else p for p in pixels]
    one = histogram.color_histogram(np.concatenate([r.reshape(1, -1, 4) for r in rows], axis=1))
    for got, want in zip(astuple(seen[0]), astuple(one)):
        np.testing.assert_array_equal(got, want)
        assert got.dtype == want.dtype
    np.testing.assert_array_equal(palette, pipeline.fit_palette(one, 8, pipeline.KMeansOptions(seed=1)).colors)
    assert palette.shape[1] == 4
