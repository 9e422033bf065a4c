"""File discovery, shared by batch and cluster, and the CPU count (quantize.limits)."""
import os
import subprocess
import sys
from pathlib import Path

from quantize import limits
from quantize.discover import DEFAULT_PATTERNS, Kind, find_images


def test_default_jobs_where_the_system_has_no_affinity_mask(monkeypatch):
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.delattr(os, "sched_getaffinity", raising=False)
    assert limits.default_jobs() == (os.cpu_count() or 1)
    monkeypatch.setattr(os, "cpu_count", lambda: None)
    assert limits.default_jobs() == 1


def test_default_jobs_follows_the_affinity_mask(monkeypatch):
    monkeypatch.delattr(os, "process_cpu_count", raising=False)
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0}, raising=False)
    assert limits.default_jobs() == 1


def test_batch_keeps_the_names_it_shares():
    from quantize import batch

    assert batch.find_images is find_images and batch.Kind is Kind
    assert batch.DEFAULT_PATTERNS is DEFAULT_PATTERNS


def test_found_files_problems_and_loops_in_name_order(tmp_path):
    root = tmp_path / "in"
    (root / "sub").mkdir(parents=True)
    for name in ("b.PNG", "a.jpg", "notes.txt", "sub/c.png"):
        (root / name).write_bytes(b"")
    (root / "sub" / "back").symlink_to(root)
    found = list(find_images([root, tmp_path / "missing"], recursive=True))
    assert [(f.kind, f.relative) for f in found if f.kind is Kind.FILE] == [
        (Kind.FILE, Path("a.jpg")), (Kind.FILE, Path("b.PNG")), (Kind.FILE, Path("sub/c.png"))]
    assert [(f.kind, f.path) for f in found if f.kind is not Kind.FILE] == [
        (Kind.LOOP, root / "sub" / "back"), (Kind.PROBLEM, tmp_path / "missing")]
    assert [f.relative for f in find_images([root])] == [Path("a.jpg"), Path("b.PNG")]
    assert [f.detail for f in find_images([root], exclude=root)] == ["is the output folder; name another with -o"]


def test_loading_vectors_does_not_load_batch():
    """``quantize.vectors`` finds its images through ``quantize.discover``:
    the batch command (and what it imports) stays out of a fresh process."""
    code = "import sys, quantize.vectors; print('quantize.batch' in sys.modules, 'quantize.files' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
