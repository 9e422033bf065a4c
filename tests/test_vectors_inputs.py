"""quantize.vectors: the test set beside MNIST's training set, load_inputs (what a
model labels), preprocessing facts, and the memory figures full k-means is checked by."""
import io
import sys

import cv2
import numpy as np
import pytest

from quantize import vectors as vectors_module
from quantize.errors import ImageReadError, ParameterError, VectorDataError
from quantize.vectors import (available_memory, find_test_source, idx_labels_path, load_inputs, load_vectors,
                              working_bytes)

from test_vectors import make_digits, write_rgb


# --- find_test_source ------------------------------------------------------------------------------


def touch(path):
    path.write_bytes(b"")
    return path


@pytest.mark.parametrize("train, twins, found", [
    ("train-images-idx3-ubyte.gz", ["t10k-images-idx3-ubyte.gz"], "t10k-images-idx3-ubyte.gz"),
    ("train-images-idx3-ubyte", ["t10k-images-idx3-ubyte"], "t10k-images-idx3-ubyte"),
    # gzipped as the training set first, else the other
    ("train-images-idx3-ubyte.gz", ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"],
     "t10k-images-idx3-ubyte.gz"),
    ("train-images-idx3-ubyte", ["t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz"], "t10k-images-idx3-ubyte"),
    ("train-images-idx3-ubyte.gz", ["t10k-images-idx3-ubyte"], "t10k-images-idx3-ubyte"),
    ("train-images-idx3-ubyte", ["t10k-images-idx3-ubyte.gz"], "t10k-images-idx3-ubyte.gz"),
    ("train-images.idx3-ubyte", ["t10k-images.idx3-ubyte"], "t10k-images.idx3-ubyte"),  # as Kaggle writes them
    ("TRAIN-IMAGES-IDX3-UBYTE.GZ", ["T10K-IMAGES-IDX3-UBYTE.GZ"], "T10K-IMAGES-IDX3-UBYTE.GZ"),
    ("train-images-idx3-ubyte.gz", ["t10k-labels-idx1-ubyte.gz"], None),  # labels only
    ("train-images-idx3-ubyte.gz", [], None),
    ("t10k-images-idx3-ubyte.gz", ["train-images-idx3-ubyte.gz"], None),  # a test set has no test set
    ("emnist-train-images-idx3-ubyte.gz", ["emnist-t10k-images-idx3-ubyte.gz"], None),  # MNIST's names only
    ("digits.npy", ["t10k-images-idx3-ubyte.gz"], None),
])
def test_find_test_source(tmp_path, train, twins, found):
    touch(tmp_path / train)
    for twin in twins:
        touch(tmp_path / twin)
    assert find_test_source(tmp_path / train) == (None if found is None else tmp_path / found)
    assert find_test_source(str(tmp_path / train)) == find_test_source(tmp_path / train)


def test_a_folder_named_as_the_twin_is_not_it(tmp_path):
    touch(tmp_path / "train-images-idx3-ubyte")
    (tmp_path / "t10k-images-idx3-ubyte").mkdir()
    assert find_test_source(tmp_path / "train-images-idx3-ubyte") is None


def test_the_test_set_brings_its_own_labels(tmp_path):
    images, labels = make_digits.make_digits(30, seed=1)
    make_digits.write_idx(tmp_path / "train-images-idx3-ubyte.gz", images[:20])
    make_digits.write_idx(tmp_path / "train-labels-idx1-ubyte.gz", labels[:20])
    make_digits.write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images[20:])
    make_digits.write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[20:])
    test = find_test_source(tmp_path / "train-images-idx3-ubyte.gz")
    assert test == tmp_path / "t10k-images-idx3-ubyte.gz"
    data = load_vectors(test)
    assert data.labels.tolist() == labels[20:].tolist() and data.names[0] == "t10k-images-idx3-ubyte.gz#0"
    np.testing.assert_array_equal(data.vectors, images[20:].reshape(10, -1) / np.float32(255))


def test_labels_beside_images_in_any_letter_case(tmp_path):
    touch(tmp_path / "T10K-IMAGES-IDX3-UBYTE")
    touch(tmp_path / "T10K-LABELS-IDX1-UBYTE")
    assert idx_labels_path(tmp_path / "T10K-IMAGES-IDX3-UBYTE") == tmp_path / "T10K-LABELS-IDX1-UBYTE"
    touch(tmp_path / "t10k-images.idx3-ubyte")
    touch(tmp_path / "t10k-labels.idx1-ubyte")
    assert idx_labels_path(tmp_path / "t10k-images.idx3-ubyte") == tmp_path / "t10k-labels.idx1-ubyte"


# --- preprocessing facts ------------------------------------------------------------------------------


def test_preprocessing_of_folders_and_idx(tmp_path):
    write_rgb(tmp_path / "set" / "a" / "x.png", np.full((4, 4, 3), 200, np.uint8))
    colour = load_vectors(tmp_path / "set", size=5, grey=False)
    assert colour.preprocessing == {"source": "folder", "size": 5, "grey": False, "scale": 1 / 255}
    assert colour.unit_range and load_vectors(tmp_path / "set").preprocessing["grey"] is True
    make_digits.write_idx(tmp_path / "train-images-idx3-ubyte", make_digits.make_digits(3)[0])
    digits = load_vectors(tmp_path / "train-images-idx3-ubyte")
    assert digits.preprocessing == {"source": "idx", "size": None, "grey": True, "scale": 1 / 255}
    assert digits.unit_range


# --- load_inputs -----------------------------------------------------------------------------------


@pytest.fixture
def inputs(tmp_path):
    """A single grey image, a folder of two colour images (and a broken one), an
    array of three 6x6 float64 vectors, MNIST-like IDX digits of 28x28."""
    rng = np.random.default_rng(4)
    single = tmp_path / "one.png"
    assert cv2.imwrite(str(single), rng.integers(0, 256, (9, 5), dtype=np.uint8))
    for name in ("p/b.png", "a.jpg"):
        write_rgb(tmp_path / "folder" / name, rng.integers(0, 256, (7, 7, 3), dtype=np.uint8))
    (tmp_path / "folder" / "p" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nno")
    array = rng.normal(0, 40, (3, 6, 6))
    np.save(tmp_path / "three.npy", array)
    return tmp_path, single, array


def test_load_inputs_mixes_images_folders_and_arrays_in_order(inputs, monkeypatch):
    tmp_path, single, array = inputs
    monkeypatch.chdir(tmp_path)
    data = load_inputs(["three.npy", "folder/", "one.png", str(single)], size=6)
    assert data.names == ("three.npy#0", "three.npy#1", "three.npy#2", "folder/a.jpg", "folder/p/b.png",
                          "one.png", str(single))
    assert data.shape == (6, 6) and data.vectors.shape == (7, 36) and data.vectors.dtype == np.float64
    assert data.labels is None and not data.unit_range
    assert data.failures == (("folder/p/broken.png", data.failures[0][1]),) and "\n" not in data.failures[0][1]
    np.testing.assert_array_equal(data.vectors[:3], array.reshape(3, 36))
    folder = load_vectors(tmp_path / "folder", size=6)  # the same pixels as the folder gives alone
    np.testing.assert_array_equal(data.vectors[3:5], folder.vectors)
    (tmp_path / "alone").mkdir()
    single.rename(tmp_path / "alone" / "one.png")
    alone = load_vectors(tmp_path / "alone", size=6)  # a single image: made exactly as a folder's are
    np.testing.assert_array_equal(data.vectors[5], alone.vectors[0])
    np.testing.assert_array_equal(data.vectors[6], alone.vectors[0])
    assert data.preprocessing == {"source": "mixed", "size": None, "grey": None, "scale": None}


def test_load_inputs_of_images_alone_are_pixels(inputs):
    tmp_path, single, _ = inputs
    (tmp_path / "bad.png").write_bytes(b"junk")
    one = load_inputs([single, tmp_path / "bad.png", single], size=8, grey=False)
    assert one.names == (str(single), str(single)) and one.shape == (8, 8, 3) and one.vectors.dtype == np.float32
    assert one.failures == ((str(tmp_path / "bad.png"), one.failures[0][1]),)
    assert one.unit_range and one.preprocessing == {"source": "image", "size": 8, "grey": False, "scale": 1 / 255}
    two = load_inputs([single, tmp_path / "bad.png", single], size=8, grey=False, jobs=2)
    np.testing.assert_array_equal(one.vectors, two.vectors)
    with pytest.raises(ImageReadError, match=r"^none of the 2 inputs could be read \(first: "):
        load_inputs([tmp_path / "bad.png", tmp_path / "bad.png"])


def test_load_inputs_refuses_vectors_of_another_length_before_decoding(inputs, monkeypatch):
    tmp_path, single, _ = inputs
    np.save(tmp_path / "wide.npy", np.zeros((2, 35)))
    decoded = []
    monkeypatch.setattr(vectors_module, "read_image", lambda *a, **k: decoded.append(a) or 1 / 0)
    with pytest.raises(VectorDataError) as error:
        load_inputs([single, tmp_path / "three.npy", tmp_path / "wide.npy", tmp_path / "folder"], size=6)
    assert (error.value.reason, error.value.value, error.value.limit) == ("shape-mismatch", (35,), (6, 6))
    assert str(error.value) == (f"{tmp_path / 'wide.npy'}: vectors of 35 (35 values), not of 6x6 (36 values) "
                                f"as those of {single}")
    assert error.value.exit_code == 2 and decoded == []
    make_digits.write_idx(tmp_path / "d-idx3-ubyte", make_digits.make_digits(2)[0])
    with pytest.raises(VectorDataError, match=r"d-idx3-ubyte: vectors of 28x28 \(784 values\), not of 6x6x3"):
        load_inputs([tmp_path / "folder", tmp_path / "d-idx3-ubyte"], size=6, grey=False)


def test_load_inputs_returns_one_memory_map_as_it_is(inputs):
    tmp_path, _, array = inputs
    data = load_inputs([tmp_path / "three.npy"])
    assert load_inputs(str(tmp_path / "three.npy")).names == load_inputs(tmp_path / "three.npy").names == data.names
    assert isinstance(data.vectors, np.memmap) and not data.vectors.flags.writeable
    assert data.names == ("three.npy#0", "three.npy#1", "three.npy#2") and data.shape == (6, 6)
    np.testing.assert_array_equal(data.vectors, array.reshape(3, 36))
    assert data.preprocessing == {"source": "npy", "size": None, "grey": None, "scale": None}
    both = load_inputs([tmp_path / "three.npy", tmp_path / "three.npy"])
    assert type(both.vectors) is np.ndarray and both.vectors.shape == (6, 36)
    assert both.preprocessing == data.preprocessing


def test_load_inputs_reads_idx_without_labels(tmp_path):
    images, labels = make_digits.make_digits(4, seed=2)
    make_digits.write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    make_digits.write_idx(tmp_path / "t10k-labels-idx1-ubyte.gz", labels[:3])  # a broken file is not read
    data = load_inputs([tmp_path / "t10k-images-idx3-ubyte.gz"])
    assert data.labels is None and data.names[3] == "t10k-images-idx3-ubyte.gz#3" and data.shape == (28, 28)
    np.testing.assert_array_equal(data.vectors, images.reshape(4, -1) / np.float32(255))


def test_load_inputs_bad_arguments(tmp_path):
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ParameterError, match="give at least one input"):
        load_inputs([])
    with pytest.raises(ImageReadError, match="no such file or folder"):
        load_inputs([tmp_path / "missing.png"])
    with pytest.raises(ParameterError, match="not an image, a folder, an IDX file or a .npy array"):
        load_inputs([tmp_path / "notes.txt"])
    with pytest.raises(ParameterError, match="size must be"):
        load_inputs([tmp_path / "notes.txt"], size=0)


# --- memory -------------------------------------------------------------------------------------------


def test_working_bytes(tmp_path):
    for dtype, itemsize in ((np.float32, 4), (np.float64, 8), (np.int16, 8), (np.float16, 8), (np.uint8, 4)):
        np.save(tmp_path / "v.npy", np.zeros((30, 7), dtype))
        assert working_bytes(load_vectors(tmp_path / "v.npy")) == 30 * 7 * itemsize


def fake_files(monkeypatch, files):
    """``open`` in quantize.vectors reading ``files`` (path -> text); any other path is missing."""
    def fake_open(path, *args, **kwargs):
        if str(path) not in files:
            raise FileNotFoundError(path)
        return io.StringIO(files[str(path)])
    monkeypatch.setattr(vectors_module, "open", fake_open, raising=False)


MEMINFO = "MemTotal:       16000000 kB\nMemFree:          100000 kB\nMemAvailable:    8000000 kB\n"


def test_available_memory_reads_meminfo_under_a_container_limit(monkeypatch):
    fake_files(monkeypatch, {"/proc/meminfo": MEMINFO, "/sys/fs/cgroup/memory.max": "max\n"})
    assert available_memory() == 8_000_000 * 1024
    fake_files(monkeypatch, {"/proc/meminfo": MEMINFO, "/sys/fs/cgroup/memory.max": "2147483648\n"})
    assert available_memory() == 2**31
    fake_files(monkeypatch, {"/proc/meminfo": MEMINFO,
                             "/sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"})
    assert available_memory() == 8_000_000 * 1024


def test_available_memory_without_meminfo(monkeypatch):
    fake_files(monkeypatch, {})
    sizes = {"SC_AVPHYS_PAGES": 1000, "SC_PAGE_SIZE": 4096}
    monkeypatch.setattr(vectors_module.os, "sysconf", lambda name: sizes[name] if name in sizes else 1 / 0)
    assert available_memory() == 4_096_000
    del sizes["SC_AVPHYS_PAGES"]
    monkeypatch.setattr(vectors_module.os, "sysconf",
                        lambda name: {"SC_PHYS_PAGES": 50, "SC_PAGE_SIZE": 4096}.get(name) or int("x"))
    assert available_memory() == 50 * 4096
    monkeypatch.delattr(vectors_module.os, "sysconf")
    assert available_memory() == sys.maxsize


def test_available_memory_here():
    found = available_memory()
    assert isinstance(found, int) and 0 < found <= sys.maxsize
