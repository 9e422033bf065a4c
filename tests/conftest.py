from pathlib import Path

import importlib.util
import os
import signal

import numpy as np
import pytest
from hypothesis import settings

# CI runs the same examples every time (a submission must not fail on a new draw);
# at a desk Hypothesis explores fresh ones.
settings.register_profile("ci", derandomize=True)
if os.environ.get("CI"):
    settings.load_profile("ci")

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"


def bench_module(name: str):
    """The module ``bench/<name>.py`` (the benchmarks are no package), e.g.
    make_digits, whose digits some tests draw."""
    spec = importlib.util.spec_from_file_location(name, SAMPLES.parent / "bench" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module

# A shell without job control starts background commands with SIGINT ignored,
# and an ignored signal stays ignored across exec: the Ctrl-C tests' children
# would never see their SIGINT.  A handler (not SIG_IGN) here is reset to the
# default in every child, as in a terminal.
if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def samples() -> Path:
    return SAMPLES


@pytest.fixture
def blobs():
    """Three well-separated 2-D blobs with known centres, and integer weights."""
    rng = np.random.default_rng(7)
    centres = np.array([[0.0, 0.0], [20.0, 0.0], [0.0, 20.0]])
    points = np.concatenate([c + rng.normal(size=(40, 2)) for c in centres])
    weights = rng.integers(1, 5, size=len(points))
    return points, weights, centres


def small_photo(seed=0, shape=(48, 64)):
    """A small smooth RGB image with noise: many distinct colours, like a photo."""
    rng = np.random.default_rng(seed)
    h, w = shape
    y, x = np.mgrid[0:h, 0:w] / max(h, w)
    base = np.stack([200 * x + 30, 150 * y + 50, 100 * (x + y) / 2 + 80], axis=-1)
    return np.clip(base + rng.normal(0, 8, size=base.shape), 0, 255).astype(np.uint8)


def spread(points, weights=None) -> float:
    """The weighted mean squared distance of ``points (n, d)`` from their weighted
    mean: the scale of the rounding bound on a k-means distortion history."""
    points = np.asarray(points, dtype=np.float64)
    centred = points - np.average(points, axis=0, weights=weights)
    return float(np.average((centred**2).sum(axis=1), weights=weights))


@pytest.fixture
def disk_full_at(monkeypatch):
    """``disk_full_at(n)``: from then on, writing the ``n``-th file that
    ``quantize.imageio`` opens fails with ENOSPC, as on a full disk."""
    import errno

    from quantize import imageio

    real_fdopen, opened = imageio.os.fdopen, []

    class Full:
        def __init__(self, file):
            self.file = file

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            self.file.close()

        def write(self, data):
            raise OSError(errno.ENOSPC, "No space left on device")

    def arm(n: int) -> None:
        def fdopen(fd, *args, **kwargs):
            opened.append(fd)
            file = real_fdopen(fd, *args, **kwargs)
            return Full(file) if len(opened) == n else file

        monkeypatch.setattr(imageio.os, "fdopen", fdopen)

    return arm
