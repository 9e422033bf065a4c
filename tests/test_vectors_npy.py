"""quantize.vector_files.read_npy through load_vectors: any finite real array as it
is (memory-mapped, not copied), NaN and infinity and non-real types refused."""
import tracemalloc

import numpy as np
import pytest

from quantize.errors import ImageReadError, VectorDataError
from quantize.vector_files import read_npy
from quantize.vectors import load_vectors

AS_IS = {"source": "npy", "size": None, "grey": None, "scale": None}


def test_floats_in_any_range_load_as_they_are(tmp_path):
    """A hand-made float64 array of values 0..16 (as scikit-learn's 8x8 digits)
    is not scaled; its /16 twin neither."""
    rng = np.random.default_rng(0)
    sixteen = rng.integers(0, 17, (10, 8, 8)).astype(np.float64)
    sixteen[0, 0, 0], sixteen[1, 0, 0] = 0.0, 16.0
    np.save(tmp_path / "sixteen.npy", sixteen)
    np.save(tmp_path / "unit.npy", sixteen / 16)
    for name, expected in (("sixteen.npy", sixteen), ("unit.npy", sixteen / 16)):
        data = load_vectors(tmp_path / name)
        assert data.vectors.dtype == np.float64 and data.vectors.shape == (10, 64) and data.shape == (8, 8)
        np.testing.assert_array_equal(data.vectors, expected.reshape(10, 64))  # bit for bit: no scaling
        assert data.unit_range is False and data.preprocessing == AS_IS
        assert data.names[9] == f"{name}#9" and data.labels is None and data.notes == ()
    assert load_vectors(tmp_path / "sixteen.npy").vectors.max() == 16.0


@pytest.mark.parametrize("dtype", [np.float16, np.float32, ">f8", np.int8, np.int16, np.uint16, np.int32,
                                   np.uint64])
def test_other_real_types_keep_their_type(tmp_path, dtype):
    values = np.array([[0, 1, 2, 100], [3, 7, 5, 120], [9, 0, 0, 1]]).astype(dtype)
    np.save(tmp_path / "v.npy", values)
    data = load_vectors(tmp_path / "v.npy")
    assert data.vectors.dtype == np.dtype(dtype) and data.shape == (2, 2)
    assert data.vectors.tolist() == values.tolist() and not data.unit_range


def test_uint8_and_bool_stay_pixels_in_memory(tmp_path):
    np.save(tmp_path / "u8.npy", np.array([[0, 255], [51, 102]], np.uint8))
    np.save(tmp_path / "bits.npy", np.array([[True, False], [False, False]]))
    pixels, bits = load_vectors(tmp_path / "u8.npy"), load_vectors(tmp_path / "bits.npy")
    for data in (pixels, bits):
        assert type(data.vectors) is np.ndarray and data.vectors.dtype == np.float32 and data.unit_range
        assert data.vectors.flags.owndata or data.vectors.base.flags.owndata  # in memory, not a map
    assert pixels.vectors.tolist() == (np.array([[0, 255], [51, 102]], np.float32) / np.float32(255)).tolist()
    assert bits.vectors.tolist() == [[1.0, 0.0], [0.0, 0.0]]
    assert pixels.preprocessing["scale"] == 1 / 255 and bits.preprocessing["scale"] == 1.0


@pytest.mark.parametrize("bad, what", [(np.nan, "NaN"), (np.inf, "an infinity"), (-np.inf, "an infinity")])
def test_nan_or_infinity_names_the_first_bad_row(tmp_path, bad, what):
    values = np.ones((10, 3, 3))
    values[7, 2, 1] = bad
    values[9, 0, 0] = np.nan
    np.save(tmp_path / "bad.npy", values)
    with pytest.raises(VectorDataError) as error:
        load_vectors(tmp_path / "bad.npy")
    assert str(error.value) == f"{tmp_path / 'bad.npy'}: row 7 holds {what}"
    assert (error.value.reason, error.value.value, error.value.exit_code) == ("not-finite", 7, 2)
    assert str(error.value.path) == str(tmp_path / "bad.npy")


def test_a_bad_row_far_into_the_file_is_found_block_by_block(tmp_path):
    values = np.zeros((3000, 300), np.float32)  # about 870 rows a block: row 2500 lies in the third
    values[2500, 299] = np.nan
    values[2999, 0] = np.inf
    np.save(tmp_path / "late.npy", values)
    with pytest.raises(VectorDataError, match="row 2500 holds NaN$") as error:
        load_vectors(tmp_path / "late.npy")
    assert error.value.value == 2500


@pytest.mark.parametrize("array, dtype", [
    (np.array([[1, None]], dtype=object), "object"),
    (np.array([[1 + 2j, 0]]), "complex128"),
    (np.array([["a", "b"]]), "<U1"),
    (np.array([[b"a", b"b"]]), "|S1"),
    (np.zeros((2, 2), dtype=[("x", "<f4"), ("y", "<i2")]), "[('x', '<f4'), ('y', '<i2')]"),
    (np.zeros((2, 2), dtype="datetime64[s]"), "datetime64[s]"),
])
def test_types_that_are_not_real_numbers_are_refused(tmp_path, array, dtype):
    np.save(tmp_path / "x.npy", array, allow_pickle=True)
    with pytest.raises(VectorDataError) as error:
        load_vectors(tmp_path / "x.npy")
    assert (error.value.reason, error.value.value, error.value.exit_code) == ("not-real", dtype, 2)
    assert str(error.value).startswith(f"{tmp_path / 'x.npy'}: holds {dtype} values, not real numbers")


def test_the_vectors_are_a_read_only_view_of_the_file(tmp_path):
    """50 MB of float32: the vectors map the file (no copy, no conversion) and
    the NaN scan holds one block at a time: under 1 MB of allocations."""
    path = tmp_path / "big.npy"
    out = np.lib.format.open_memmap(path, mode="w+", dtype=np.float32, shape=(17_000, 28, 28))
    for start in range(0, len(out), 2048):
        end = min(start + 2048, len(out))
        out[start:end] = np.arange(start, end, dtype=np.float32)[:, None, None] / 7
    out.flush()
    del out
    assert path.stat().st_size > 50 * 2**20
    tracemalloc.start()
    try:
        array = read_npy(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 2**20, peak
    vectors = array.vectors
    assert isinstance(vectors, np.memmap) and isinstance(vectors.base, np.memmap)
    assert vectors.shape == (17_000, 784) and vectors.dtype == np.float32 and not vectors.flags.writeable
    assert str(vectors.filename) == str(path.resolve()) and not vectors.flags.owndata
    assert vectors[10_000, 5] == np.float32(10_000) / np.float32(7)
    data = load_vectors(path)
    assert isinstance(data.vectors, np.memmap) and not data.unit_range


def test_a_fortran_ordered_array_is_read_into_memory_in_c_order(tmp_path):
    values = np.asfortranarray(np.arange(60, dtype=np.float64).reshape(5, 3, 4) - 30)
    np.save(tmp_path / "f.npy", values)
    data = load_vectors(tmp_path / "f.npy")
    assert data.vectors.flags.c_contiguous and not isinstance(data.vectors, np.memmap)
    assert not data.vectors.flags.writeable
    np.testing.assert_array_equal(data.vectors, np.ascontiguousarray(values).reshape(5, 12))
    assert data.notes == (f"{tmp_path / 'f.npy'}: stored in Fortran order (column by column): read into memory, "
                          "not memory-mapped",)
    np.save(tmp_path / "u8.npy", np.asfortranarray(np.arange(24, dtype=np.uint8).reshape(2, 3, 4)))
    pixels = load_vectors(tmp_path / "u8.npy")  # pixels as ever, no note
    assert pixels.vectors.tolist() == (np.arange(24, dtype=np.float32).reshape(2, 12) / np.float32(255)).tolist()
    assert pixels.notes == ()
    values[4, 2, 3] = np.inf
    np.save(tmp_path / "f.npy", values)
    with pytest.raises(VectorDataError, match="row 4 holds an infinity"):
        load_vectors(tmp_path / "f.npy")


def test_broken_files_name_themselves(tmp_path):
    np.save(tmp_path / "cut.npy", np.zeros((100, 4)))
    (tmp_path / "cut.npy").write_bytes((tmp_path / "cut.npy").read_bytes()[:-40])
    (tmp_path / "junk.npy").write_bytes(b"not an array at all")
    np.savez(tmp_path / "zipped.npz", x=np.zeros(3))
    (tmp_path / "zipped.npz").rename(tmp_path / "zipped.npy")
    for name, message in (("cut.npy", "not a readable .npy array"), ("junk.npy", "not a readable .npy array"),
                          ("zipped.npy", r"not a .npy array \(an .npz archive\?\)")):
        with pytest.raises(ImageReadError, match=message) as error:
            load_vectors(tmp_path / name)
        assert str(error.value).startswith(f"{tmp_path / name}: ") and "\n" not in str(error.value)


# --- through quantize cluster -------------------------------------------------------------------------


@pytest.mark.slow
def test_cluster_takes_values_as_they_are(tmp_path):
    """scikit-learn's digits as float64 0..16 and /16 (a power of two: exact) cluster
    alike, centroids 16 times apart: the values reach k-means unscaled."""
    from sklearn.datasets import load_digits

    from quantize.cluster import run
    from quantize.pipeline import KMeansOptions

    images = load_digits().images[:600].astype(np.float64)
    np.save(tmp_path / "sixteen.npy", images)
    np.save(tmp_path / "unit.npy", images / 16)
    for minibatch in (False, True):
        sixteen = run(tmp_path / "sixteen.npy", 10, None, KMeansOptions(seed=0), minibatch=minibatch).main
        unit = run(tmp_path / "unit.npy", 10, None, KMeansOptions(seed=0), minibatch=minibatch).main
        np.testing.assert_array_equal(sixteen.labels, unit.labels)
        np.testing.assert_array_equal(sixteen.centroids, unit.centroids * 16)
        assert sixteen.centroids.max() > 8 >= 1 >= unit.centroids.max()


def test_the_command_line_says_why_in_one_line(tmp_path):
    from click.testing import CliRunner

    from quantize.cli import cli

    values = np.zeros((10, 4))
    values[7, 1] = np.nan
    np.save(tmp_path / "nan.npy", values)
    np.save(tmp_path / "objects.npy", np.array([[1, None]], dtype=object), allow_pickle=True)
    result = CliRunner().invoke(cli, ["cluster", str(tmp_path / "nan.npy"), "-k", "2"])
    assert (result.exit_code, result.stderr) == (2, f"quantize: {tmp_path / 'nan.npy'}: row 7 holds NaN\n")
    result = CliRunner().invoke(cli, ["cluster", str(tmp_path / "objects.npy"), "-k", "2"])
    assert (result.exit_code, result.stderr) == (2, f"quantize: {tmp_path / 'objects.npy'}: holds object values, "
                                                    "not real numbers (integers, floats or booleans)\n")
