"""quantize.vectors: folders, IDX files and arrays as vectors; labels; bench/make_digits.py."""
import gzip

import cv2
import numpy as np
import pytest

from quantize.errors import ImageReadError, ParameterError, VectorDataError
from quantize.imageio import resize_padded, to_grey
from quantize.vectors import VectorSet, load_vectors, read_idx
from conftest import bench_module

make_digits = bench_module("make_digits")


def one_line(error) -> str:
    text = str(error.value)
    assert "\n" not in text
    return text


# --- IDX -------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def small_digits():
    return make_digits.make_digits(50, seed=3)


@pytest.mark.parametrize("gz", [False, True])
def test_idx_round_trip_with_labels(tmp_path, small_digits, gz):
    images, labels = small_digits
    end = ".gz" if gz else ""
    make_digits.write_idx(tmp_path / f"train-images-idx3-ubyte{end}", images)
    make_digits.write_idx(tmp_path / f"train-labels-idx1-ubyte{end}", labels)
    if gz:
        assert (tmp_path / "train-images-idx3-ubyte.gz").read_bytes()[:2] == b"\x1f\x8b"
    raw = (gzip.decompress if gz else bytes)((tmp_path / f"train-images-idx3-ubyte{end}").read_bytes())
    assert raw[:16] == bytes.fromhex("00000803 00000032 0000001c 0000001c")
    data = load_vectors(tmp_path / f"train-images-idx3-ubyte{end}")
    assert isinstance(data, VectorSet)
    assert data.shape == (28, 28) and data.vectors.shape == (50, 784) and data.vectors.dtype == np.float32
    np.testing.assert_array_equal(data.vectors, images.reshape(50, -1) / np.float32(255))
    np.testing.assert_array_equal(data.labels, labels)
    assert data.labels.dtype == np.int64
    assert data.names[0] == f"train-images-idx3-ubyte{end}#0" and data.names[49].endswith("#49")
    assert data.failures == ()


def test_idx_without_labels_beside_it_and_found_by_its_magic(tmp_path, small_digits):
    make_digits.write_idx(tmp_path / "t10k-images-idx3-ubyte", small_digits[0][:7])
    assert load_vectors(tmp_path / "t10k-images-idx3-ubyte").labels is None
    make_digits.write_idx(tmp_path / "digits.bin", small_digits[0][:7])  # not named as IDX
    assert load_vectors(tmp_path / "digits.bin").vectors.shape == (7, 784)


def test_bad_idx_files_give_one_line_errors_naming_the_file(tmp_path, small_digits):
    images, labels = small_digits
    path = tmp_path / "train-images-idx3-ubyte"
    make_digits.write_idx(path, images)
    good = path.read_bytes()

    path.write_bytes(b"\x00\x00\x08\x01" + good[4:])
    with pytest.raises(ImageReadError) as error:
        load_vectors(path)
    assert one_line(error).startswith(f"{path}: ") and "magic number 0x00000801, expected 0x00000803" in str(error.value)

    path.write_bytes(good[:-100])
    with pytest.raises(ImageReadError) as error:
        load_vectors(path)
    assert one_line(error).startswith(f"{path}: truncated") and "39,200" in str(error.value)

    path.write_bytes(good[:10])
    with pytest.raises(ImageReadError, match="truncated IDX header"):
        load_vectors(path)

    path.write_bytes(good + b"\0")
    with pytest.raises(ImageReadError, match="1 bytes more than the header says"):
        load_vectors(path)

    zipped = tmp_path / "train-images-idx3-ubyte.gz"
    zipped.write_bytes(gzip.compress(good)[:-30])
    with pytest.raises(ImageReadError) as error:
        load_vectors(zipped)
    assert one_line(error).startswith(f"{zipped}: truncated gzip file")

    path.write_bytes(good)
    make_digits.write_idx(tmp_path / "train-labels-idx1-ubyte", labels[:-1])
    with pytest.raises(ImageReadError) as error:
        load_vectors(path)
    assert one_line(error) == (f"{tmp_path / 'train-labels-idx1-ubyte'}: 49 labels for the 50 images of "
                               "train-images-idx3-ubyte")
    # A labels file given explicitly replaces the broken one beside it (which is not read).
    np.save(tmp_path / "labels.npy", labels)
    np.testing.assert_array_equal(load_vectors(path, labels=tmp_path / "labels.npy").labels, labels)

    make_digits.write_idx(tmp_path / "train-labels-idx1-ubyte", images)  # images where labels belong
    with pytest.raises(ImageReadError, match="not an IDX label file"):
        load_vectors(path)


def test_read_idx_refuses_an_empty_array(tmp_path):
    make_digits.write_idx(tmp_path / "x-idx1-ubyte", np.zeros(0, np.uint8))
    with pytest.raises(ImageReadError, match="holds no data"):
        read_idx(tmp_path / "x-idx1-ubyte", 0x801)


# --- .npy --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("shape, picture", [
    ((5, 12), (12,)),  # not a square: plain vectors
    ((5, 16), (4, 4)),  # a square: 4x4 pictures
    ((5, 3, 4), (3, 4)),
    ((5, 3, 4, 1), (3, 4)),
    ((5, 3, 4, 3), (3, 4, 3)),
])
def test_npy_kinds(tmp_path, shape, picture):
    array = np.arange(np.prod(shape)).reshape(shape).astype(np.uint8)
    np.save(tmp_path / "a.npy", array)
    data = load_vectors(tmp_path / "a.npy")
    assert data.shape == picture and data.vectors.shape == (5, int(np.prod(picture)))
    np.testing.assert_array_equal(data.vectors, array.reshape(5, -1) / np.float32(255))
    assert data.names == tuple(f"a.npy#{i}" for i in range(5)) and data.labels is None


def test_npy_values(tmp_path):
    np.save(tmp_path / "u8.npy", np.array([[0, 51, 255, 102]], np.uint8))
    scaled = np.array([[0, 51, 255, 102]], np.float32) / np.float32(255)
    assert scaled[0, 2] == 1.0 and abs(scaled[0, 1] - 0.2) < 1e-7
    data = load_vectors(tmp_path / "u8.npy")
    np.testing.assert_array_equal(data.vectors, scaled)
    assert data.unit_range and data.preprocessing == {"source": "npy", "size": None, "grey": None, "scale": 1 / 255}
    # Integers other than uint8 are values, not pixels: as they are (they were scaled by 1/255 up to 0.1.0).
    np.save(tmp_path / "i64.npy", np.array([[0, 51, 255, 102]], np.int64))
    data = load_vectors(tmp_path / "i64.npy")
    assert data.vectors.dtype == np.int64 and data.vectors.tolist() == [[0, 51, 255, 102]]
    assert not data.unit_range and data.preprocessing["scale"] is None
    floats = np.array([[0.0, 0.25, 1.0, 0.5]])
    np.save(tmp_path / "f.npy", floats)
    data = load_vectors(tmp_path / "f.npy")
    assert data.vectors.dtype == np.float64 and data.vectors.tolist() == floats.tolist()
    # Any range: no more refusals of floats outside [0, 1] or integers outside 0..255.
    for name, array in [("big.npy", floats * 2), ("neg.npy", floats - 0.5), ("int.npy", np.array([[0, 256]]))]:
        np.save(tmp_path / name, array)
        assert load_vectors(tmp_path / name).vectors.tolist() == array.tolist()

    for name, array, message in [
        ("flat.npy", np.zeros(4, np.uint8), r"shape \(4,\)"),
        ("rgba.npy", np.zeros((2, 3, 3, 4), np.uint8), "expected"),
        ("none.npy", np.zeros((0, 4), np.uint8), "holds no vectors"),
    ]:
        np.save(tmp_path / name, array)
        with pytest.raises(ImageReadError, match=message) as error:
            load_vectors(tmp_path / name)
        assert one_line(error).startswith(f"{tmp_path / name}: ")
    for name, array, reason in [("nan.npy", floats + np.nan, "not-finite"),
                                ("text.npy", np.array([["a", "b"]]), "not-real"),
                                ("objects.npy", np.array([[1, None]], dtype=object), "not-real")]:
        np.save(tmp_path / name, array, allow_pickle=True)
        with pytest.raises(VectorDataError) as error:
            load_vectors(tmp_path / name)
        assert one_line(error).startswith(f"{tmp_path / name}: ") and error.value.reason == reason


def test_sources_that_are_not_sets(tmp_path):
    with pytest.raises(ImageReadError, match="no such file or folder"):
        load_vectors(tmp_path / "missing")
    cv2.imwrite(str(tmp_path / "one.png"), np.zeros((4, 4), np.uint8))
    with pytest.raises(ParameterError, match="give a folder, an IDX file or a .npy array"):
        load_vectors(tmp_path / "one.png")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(ParameterError, match="not a folder, an IDX file or a .npy array"):
        load_vectors(tmp_path / "notes.txt")
    for bad in (dict(size=0), dict(size=True), dict(size=5000), dict(jobs=0)):
        with pytest.raises(ParameterError):
            load_vectors(tmp_path, **bad)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageReadError, match="no image files found"):
        load_vectors(tmp_path / "empty")


# --- folders ------------------------------------------------------------------------------------


def write_rgb(path, rgb):
    path.parent.mkdir(parents=True, exist_ok=True)
    assert cv2.imwrite(str(path), np.ascontiguousarray(rgb[:, :, ::-1]))


@pytest.fixture
def image_folder(tmp_path):
    """root/<class>/<image>: classes b (3 images) and a (2), one corrupt file;
    each image a flat colour."""
    root = tmp_path / "root"
    colours = {"b/2.png": (255, 0, 0), "b/10.png": (0, 255, 0), "b/1.png": (0, 0, 255),
               "a/z.png": (10, 20, 30), "a/y.jpg": (128, 128, 128)}
    for name, colour in colours.items():
        write_rgb(root / name, np.full((6, 9, 3), colour, np.uint8))
    (root / "a" / "broken.png").write_bytes(b"\x89PNG\r\n\x1a\nnot really")
    return root, colours


def test_image_folder_layout(image_folder):
    root, colours = image_folder
    seen = []
    data = load_vectors(root, size=6, grey=False, on_progress=seen.append)
    assert data.names == ("a/y.jpg", "a/z.png", "b/1.png", "b/10.png", "b/2.png")  # sorted paths
    assert data.labels.tolist() == ["a", "a", "b", "b", "b"]
    assert data.shape == (6, 6, 3) and data.vectors.shape == (5, 108)
    assert data.failures == (("a/broken.png", data.failures[0][1]),)
    assert "\n" not in data.failures[0][1] and str(root) not in data.failures[0][1]
    assert "not an image" in data.failures[0][1] or "corrupt" in data.failures[0][1]
    pictures = data.vectors.reshape(5, 6, 6, 3)
    # 6 high, 9 wide -> 4x6 centred in 6x6: a row of padding above and below.
    np.testing.assert_array_equal(pictures[:, [0, 5]], 0)
    np.testing.assert_array_equal(pictures[2, 1:5], np.broadcast_to(np.array([0, 0, 1.0]), (4, 6, 3)))
    np.testing.assert_allclose(pictures[1, 3, 2], np.array(colours["a/z.png"]) / 255, atol=1e-7)
    assert seen[0] == 0.0 and seen[-1] == 1.0 and seen == sorted(seen)

    grey = load_vectors(root, size=6)
    assert grey.shape == (6, 6) and grey.vectors.shape == (5, 36)
    assert grey.vectors.reshape(5, 6, 6)[0, 2, 2] == np.float32(128 / 255)
    assert grey.vectors.reshape(5, 6, 6)[2, 2, 2] == np.float32(29 / 255)  # blue: 0.114 * 255, rounded


def test_progress_can_stop_the_loading(image_folder):
    from quantize.errors import Cancelled

    with pytest.raises(Cancelled):
        load_vectors(image_folder[0], on_progress=lambda fraction: fraction < 0.5)


def test_images_in_the_root_mean_no_labels(image_folder):
    root, _ = image_folder
    write_rgb(root / "loose.png", np.full((4, 4, 3), 9, np.uint8))
    data = load_vectors(root, size=4)
    assert data.labels is None and "loose.png" in data.names and len(data.names) == 6


def test_nothing_readable_is_an_error(tmp_path):
    (tmp_path / "x").mkdir()
    (tmp_path / "x" / "a.png").write_bytes(b"junk")
    (tmp_path / "x" / "b.jpg").write_bytes(b"")
    with pytest.raises(ImageReadError) as error:
        load_vectors(tmp_path / "x")
    assert one_line(error).startswith(f"{tmp_path / 'x'}: none of the 2 image files could be read (first: a.png: ")


def test_padding_keeps_the_aspect_ratio(tmp_path):
    write_rgb(tmp_path / "set" / "tall.png", np.full((20, 10, 3), 255, np.uint8))
    write_rgb(tmp_path / "set" / "wide.png", np.full((10, 40, 3), 255, np.uint8))
    data = load_vectors(tmp_path / "set")
    tall, wide = data.vectors.reshape(2, 28, 28)
    expected = np.zeros((28, 28), np.float32)
    expected[:, 7:21] = 1.0  # 20x10 enlarged to 28x14 (linear: flat stays exact), centred
    np.testing.assert_array_equal(tall, expected)
    expected = np.zeros((28, 28), np.float32)
    expected[10:17] = 1.0  # 10x40 shrunk to 7x28, centred: 10 rows above, 11 below (the odd one after)
    np.testing.assert_array_equal(wide, expected)


def test_resize_padded_helpers():
    image = np.zeros((4, 8, 3), np.uint8)
    image[:, :4] = 200  # left half
    out = resize_padded(image, 4)  # 4x8 -> 2x4 (area: exact halves), one row of padding each side
    assert out.shape == (4, 4, 3)
    assert out[:, :, 0].tolist() == [[0] * 4, [200, 200, 0, 0], [200, 200, 0, 0], [0] * 4]
    assert resize_padded(np.full((3, 3), 7, np.uint8), 3).tolist() == [[7] * 3] * 3
    dot = np.zeros((4, 4), np.uint8)
    dot[1, 1] = 255
    assert resize_padded(dot, 1).tolist() == [[16]]  # shrinking averages (INTER_AREA): 255 / 16
    edge = resize_padded(np.array([[0, 255]], np.uint8), 4)  # enlarging interpolates (INTER_LINEAR)
    assert edge.tolist() == [[0] * 4, [0, 64, 191, 255], [0, 64, 191, 255], [0] * 4]
    rgba = np.zeros((2, 2, 4), np.uint8)
    rgba[..., :3], rgba[0, 0, 3], rgba[1, 1, 3] = 200, 255, 0
    assert to_grey(rgba).tolist() == [[200, 0], [0, 0]]  # transparent: over black
    with pytest.raises(ParameterError):
        resize_padded(image, 0)


def test_threads_give_the_same_vectors(tmp_path):
    rng = np.random.default_rng(1)
    for i in range(40):
        h, w = rng.integers(5, 60, 2)
        write_rgb(tmp_path / "many" / f"c{i % 3}" / f"{i:02d}.png", rng.integers(0, 256, (h, w, 3), dtype=np.uint8))
    (tmp_path / "many" / "c1" / "bad.png").write_bytes(b"nope")
    one = load_vectors(tmp_path / "many", size=16, grey=False, jobs=1)
    two = load_vectors(tmp_path / "many", size=16, grey=False, jobs=2)
    np.testing.assert_array_equal(one.vectors, two.vectors)
    assert one.names == two.names and one.failures == two.failures == (("c1/bad.png", one.failures[0][1]),)
    assert one.labels.tolist() == two.labels.tolist() == [f"c{i % 3}" for i in sorted(range(40), key=lambda i: (i % 3, i))]


# --- labels files ---------------------------------------------------------------------------------


def test_labels_files_replace_the_folders(image_folder, tmp_path):
    root, _ = image_folder
    names = ("a/y.jpg", "a/z.png", "b/1.png", "b/10.png", "b/2.png")

    (tmp_path / "order.csv").write_text("label\nx\ny\nz\nx\ny\n")
    assert load_vectors(root, size=4, labels=tmp_path / "order.csv").labels.tolist() == list("xyzxy")

    np.save(tmp_path / "l.npy", np.array([4, 3, 2, 1, 0]))
    data = load_vectors(root, size=4, labels=tmp_path / "l.npy")
    assert data.labels.tolist() == [4, 3, 2, 1, 0] and data.labels.dtype == np.int64

    # name,label rows, in any order, by path or by base name where that is unique; extra rows ignored.
    (tmp_path / "named.csv").write_text(
        "input,label\nb/2.png,two\n./a/z.png,zed\nb/1.png,one\nb/10.png,ten\ny.jpg,why\nb/broken.png,none\n")
    data = load_vectors(root, size=4, labels=tmp_path / "named.csv")
    assert data.names == names and data.labels.tolist() == ["why", "zed", "one", "ten", "two"]

    (tmp_path / "short.csv").write_text("x\ny\n")
    with pytest.raises(ParameterError, match="2 labels for 5 vectors") as error:
        load_vectors(root, size=4, labels=tmp_path / "short.csv")
    assert one_line(error).startswith(f"{tmp_path / 'short.csv'}: ")
    np.save(tmp_path / "short.npy", np.arange(4))
    with pytest.raises(ParameterError, match="4 labels for 5 vectors"):
        load_vectors(root, size=4, labels=tmp_path / "short.npy")
    (tmp_path / "missing.csv").write_text("name,label\nb/2.png,two\ny.jpg,why\n")
    with pytest.raises(ParameterError, match=r"no label for 3 of 5 inputs \(first: a/z.png\)"):
        load_vectors(root, size=4, labels=tmp_path / "missing.csv")
    (tmp_path / "twice.csv").write_text("b/2.png,two\nb/2.png,deux\n")
    with pytest.raises(ParameterError, match="has two labels"):
        load_vectors(root, size=4, labels=tmp_path / "twice.csv")
    (tmp_path / "ragged.csv").write_text("a\nb,c\n")
    with pytest.raises(ParameterError, match="one label a line, or name,label rows"):
        load_vectors(root, size=4, labels=tmp_path / "ragged.csv")
    with pytest.raises(ImageReadError, match="no such file"):
        load_vectors(root, size=4, labels=tmp_path / "absent.csv")


def test_base_names_must_be_unambiguous(tmp_path):
    for label in ("p", "q"):
        write_rgb(tmp_path / "set" / label / "same.png", np.zeros((3, 3, 3), np.uint8))
    (tmp_path / "l.csv").write_text("same.png,1\n")
    with pytest.raises(ParameterError, match="'same.png' is ambiguous"):
        load_vectors(tmp_path / "set", size=3, labels=tmp_path / "l.csv")
    (tmp_path / "l.csv").write_text("p/same.png,1\nq/same.png,2\n")
    assert load_vectors(tmp_path / "set", size=3, labels=tmp_path / "l.csv").labels.tolist() == ["1", "2"]


def test_npy_labels_for_an_array(tmp_path):
    np.save(tmp_path / "x.npy", np.zeros((3, 2, 2), np.uint8))
    (tmp_path / "by-name.csv").write_text("x.npy#2,c\nx.npy#0,a\nx.npy#1,b\n")
    assert load_vectors(tmp_path / "x.npy", labels=tmp_path / "by-name.csv").labels.tolist() == ["a", "b", "c"]
    np.save(tmp_path / "half.npy", np.array([0.5, 1.0, 2.0]))
    with pytest.raises(ParameterError, match="whole numbers"):
        load_vectors(tmp_path / "x.npy", labels=tmp_path / "half.npy")


# --- make_digits ------------------------------------------------------------------------------------


def test_make_digits_is_deterministic_and_balanced():
    images, labels = make_digits.make_digits(200, seed=5)
    again, same = make_digits.make_digits(200, seed=5)
    np.testing.assert_array_equal(images, again)
    np.testing.assert_array_equal(labels, same)
    other, _ = make_digits.make_digits(200, seed=6)
    assert not np.array_equal(images, other)
    assert images.shape == (200, 28, 28) and images.dtype == np.uint8 and labels.dtype == np.uint8
    assert np.bincount(labels, minlength=10).tolist() == [20] * 10
    assert labels[:20].tolist() != sorted(labels[:20].tolist())  # shuffled
    assert np.bincount(make_digits.make_digits(23, seed=0)[1], minlength=10).tolist() == [3, 3, 3] + [2] * 7
    # MNIST-like: ink in every picture, an (almost) black border, the centre of mass near the middle.
    assert (images.reshape(200, -1).max(axis=1) > 200).all()
    assert (images[:, [0, 27]] > 0).mean() < 0.02 and (images[:, :, [0, 27]] > 0).mean() < 0.02
    assert (images == 0).mean() > 0.5
    mass = images.astype(float).sum(axis=(1, 2))
    rows = (images.sum(axis=2) * np.arange(28)).sum(axis=1) / mass
    cols = (images.sum(axis=1) * np.arange(28)).sum(axis=1) / mass
    assert np.abs(rows - 13.5).max() < 2 and np.abs(cols - 13.5).max() < 2
    # Ones look alike more than ones and zeros do.
    ones, zeros = images[labels == 1].astype(float), images[labels == 0].astype(float)
    assert np.abs(ones[0] - ones[1:].mean(0)).mean() < np.abs(ones[0] - zeros.mean(0)).mean()


def test_make_digits_command_writes_idx_files(tmp_path):
    assert make_digits.main(["--count", "30", "--test-count", "10", "--out", str(tmp_path), "--seed", "2"]) == 0
    train = load_vectors(tmp_path / "train-images-idx3-ubyte.gz")
    test = load_vectors(tmp_path / "t10k-images-idx3-ubyte.gz")
    assert train.vectors.shape == (30, 784) and test.vectors.shape == (10, 784)
    images, labels = make_digits.make_digits(30, 2)
    np.testing.assert_array_equal(train.labels, labels)
    np.testing.assert_array_equal(train.vectors, images.reshape(30, -1) / np.float32(255))
    first = (tmp_path / "train-images-idx3-ubyte.gz").read_bytes()
    make_digits.main(["--count", "30", "--test-count", "0", "--out", str(tmp_path / "again"), "--seed", "2"])
    assert (tmp_path / "again" / "train-images-idx3-ubyte.gz").read_bytes() == first  # no time stamp
    assert not (tmp_path / "again" / "t10k-images-idx3-ubyte.gz").exists()
