"""Wu's colour quantizer (quantize/pipeline/wu.py) and ``--init wu``: boxes and
means checked by hand and against brute force with masks over the colours."""
import numpy as np
import pytest
from click.testing import CliRunner

from quantize.core import kmeans
from quantize.errors import ParameterError
from quantize.histogram import Histogram, color_histogram, pack
from quantize.options import KMeansOptions
from quantize.pipeline import WorkingSpace, fit_palette
from quantize.pipeline.wu import WuRun, best_cut, moments, variance, volume, wu_boxes, wu_curve, wu_palette, wu_start


def histogram(colors, counts) -> Histogram:
    colors = np.asarray(colors, dtype=np.uint8)
    keys = pack(colors)
    order = np.argsort(keys)
    return Histogram(keys[order], colors[order], np.asarray(counts, dtype=np.int64)[order])


def random_histogram(seed, n=300, high=256) -> Histogram:
    rng = np.random.default_rng(seed)
    colors = np.unique(rng.integers(0, high, size=(n, 3)).astype(np.uint8), axis=0)
    return histogram(colors, rng.integers(1, 50, size=len(colors)))


def inside(hist, box):
    """Brute force: which colours of ``hist`` lie in ``box (3, 2)`` of grid indices, ``(n,) bool``."""
    index = (hist.colors.astype(np.int64) >> 3) + 1
    return np.all((index > box[:, 0]) & (index <= box[:, 1]), axis=1)


def brute_variance(hist, mask):
    """Sum over the pixels in ``mask`` of the squared distance to their mean."""
    colors, counts = hist.colors[mask].astype(np.float64), hist.counts[mask].astype(np.float64)
    if counts.sum() == 0:
        return 0.0
    mean = counts @ colors / counts.sum()
    return float(counts @ np.square(colors - mean).sum(axis=1))


def brute_best_gain(hist, box):
    """The largest variance reduction over every plane cutting ``box``, by masks."""
    whole = inside(hist, box)
    index = (hist.colors.astype(np.int64) >> 3) + 1
    gains = []
    for axis in range(3):
        for c in range(box[axis, 0] + 1, box[axis, 1]):
            lower, upper = whole & (index[:, axis] <= c), whole & (index[:, axis] > c)
            if lower.any() and upper.any():
                gains.append(brute_variance(hist, whole) - brute_variance(hist, lower)
                             - brute_variance(hist, upper))
    return max(gains, default=0.0)


def test_two_clusters_by_hand():
    # Four pixels near (12.5, 10.5, 10), four near (205, 12, 10): the cut is along r,
    # and the first plane that parts them is after grid index 3 (bins 0..2: r < 24).
    hist = histogram([(10, 10, 10), (20, 12, 10), (200, 10, 10), (210, 14, 10)], [3, 1, 2, 2])
    result = wu_boxes(hist, 2)
    assert result.boxes.tolist() == [[[0, 3], [0, 32], [0, 32]], [[3, 32], [0, 32], [0, 32]]]
    assert result.means.tolist() == [[12.5, 10.5, 10.0], [205.0, 12.0, 10.0]]
    assert result.weights.tolist() == [4.0, 4.0]
    assert wu_palette(hist, 2).tolist() == [[12, 10, 10], [205, 12, 10]]  # rint: 12.5 -> 12 (to even)


def test_three_clusters_by_hand():
    # Three groups far apart: r, then g parts them; each box's mean is its group's mean.
    hist = histogram([(0, 0, 0), (4, 0, 0), (250, 0, 0), (250, 250, 0), (250, 246, 8)], [1, 1, 4, 2, 2])
    result = wu_boxes(hist, 3)
    means = sorted(map(tuple, result.means.tolist()))
    assert means == [(2.0, 0.0, 0.0), (250.0, 0.0, 0.0), (250.0, 248.0, 4.0)]
    assert sorted(result.weights.tolist()) == [2.0, 4.0, 4.0]


@pytest.mark.parametrize("seed", range(4))
def test_each_colour_is_the_weighted_mean_of_its_box(seed):
    hist = random_histogram(seed)
    result = wu_boxes(hist, 12)
    assert len(result.boxes) == 12
    covered = np.zeros(len(hist.colors), dtype=int)
    for box, mean, weight in zip(result.boxes, result.means, result.weights):
        mask = inside(hist, box)
        covered += mask
        counts = hist.counts[mask].astype(np.float64)
        assert weight == counts.sum() > 0
        np.testing.assert_allclose(mean, counts @ hist.colors[mask] / counts.sum(), rtol=1e-12)
    assert (covered == 1).all()  # the boxes part the colours


@pytest.mark.parametrize("seed", range(4))
def test_the_chosen_cut_is_the_best_of_all_cuts(seed):
    hist = random_histogram(seed, n=60, high=64)  # bins 0..7: every cut checked by masks
    M = moments(hist)
    boxes = [np.array([[0, 32]] * 3), np.array([[0, 5], [2, 8], [0, 32]]), np.array([[3, 8], [0, 4], [1, 6]])]
    for box in boxes:
        axis, c, gain = best_cut(M, box)
        best = brute_best_gain(hist, box)
        assert gain == pytest.approx(best, rel=1e-9, abs=1e-6)
        if axis >= 0:
            whole = inside(hist, box)
            lower = whole & ((hist.colors[:, axis].astype(np.int64) >> 3) + 1 <= c)
            chosen = brute_variance(hist, whole) - brute_variance(hist, lower) - brute_variance(hist, whole & ~lower)
            assert chosen == pytest.approx(best, rel=1e-9, abs=1e-6)
        assert variance(volume(M, box)) == pytest.approx(brute_variance(hist, inside(hist, box)), rel=1e-9, abs=1e-6)


def test_each_step_cuts_the_box_of_largest_variance():
    hist = random_histogram(7)
    for k in range(1, 10):
        before, after = wu_boxes(hist, k).boxes, wu_boxes(hist, k + 1).boxes
        changed = [i for i in range(k) if not np.array_equal(before[i], after[i])]
        assert len(changed) == 1
        variances = [brute_variance(hist, inside(hist, box)) for box in before]
        assert variances[changed[0]] == pytest.approx(max(variances))


@pytest.mark.parametrize("seed", range(3))
def test_the_curve_is_the_distortion_of_wus_boxes_at_every_k(seed):
    """wu_curve's entry K - 1 is the summed variance of wu_boxes(hist, K)'s
    boxes, each box's computed by masks over the colours, for every K."""
    hist = random_histogram(seed, n=400)
    curve = wu_curve(hist, 40)
    assert len(curve) == 40
    for k in range(1, 41):
        boxes = wu_boxes(hist, k).boxes
        plain = sum(brute_variance(hist, inside(hist, box)) for box in boxes)
        assert curve[k - 1] == pytest.approx(plain, rel=1e-9, abs=1e-6)
    assert (np.diff(curve) < 0).all()  # every cut lowers it


def test_one_run_gives_the_boxes_of_every_k():
    hist = random_histogram(1, n=500)
    run = WuRun(hist, 40)
    assert np.array_equal(run.curve, wu_curve(hist, 40))
    for k in (1, 3, 17, 39, 40):
        np.testing.assert_array_equal(run.means(k), wu_boxes(hist, k).means)


def test_the_curve_by_hand():
    # A (0,0,0) x3, B (64,0,0) x1, C (0,0,200) x2.  K = 1: 64**2 + 2 * 200**2 - (64**2 + 400**2) / 6.
    # K = 2: cutting C off along b leaves A and B, 64**2 - 64**2 / 4 = 3072 (cutting B off along r
    # would leave A and C, 80000 - 400**2 / 5 = 48000); K = 3: every colour alone, 0; then no cut is left.
    hist = histogram([(0, 0, 0), (64, 0, 0), (0, 0, 200)], [3, 1, 2])
    curve = wu_curve(hist, 8)
    np.testing.assert_allclose(curve, [84096 - 164096 / 6, 3072.0, 0.0], rtol=1e-12, atol=1e-9)
    assert len(wu_boxes(hist, 8).boxes) == 3


def test_k_one_is_the_weighted_mean():
    hist = random_histogram(3)
    result = wu_boxes(hist, 1)
    counts = hist.counts.astype(np.float64)
    np.testing.assert_allclose(result.means[0], counts @ hist.colors / counts.sum(), rtol=1e-12)
    assert result.boxes.tolist() == [[[0, 32]] * 3]


def test_deterministic():
    hist = random_histogram(5, n=2000)
    first, second = wu_boxes(hist, 64), wu_boxes(hist, 64)
    assert np.array_equal(first.boxes, second.boxes) and np.array_equal(first.means, second.means)


def test_fewer_colours_than_k():
    hist = histogram([(0, 0, 0), (100, 100, 100), (255, 0, 255)], [5, 1, 2])
    assert sorted(map(tuple, wu_palette(hist, 10).tolist())) == [(0, 0, 0), (100, 100, 100), (255, 0, 255)]
    # Two colours of one bin: one box, their mean; no plane parts them.
    same_bin = histogram([(0, 0, 0), (7, 7, 7)], [1, 3])
    assert wu_boxes(same_bin, 4).means.tolist() == [[5.25, 5.25, 5.25]]


def test_the_start_is_filled_when_the_bins_are_fewer_than_k():
    # 40 colours in two bins: two boxes, and k - 2 more starts from the colours themselves.
    rng = np.random.default_rng(0)
    colors = np.unique(np.concatenate([rng.integers(0, 8, (30, 3)), rng.integers(200, 208, (30, 3))]), axis=0)
    hist = histogram(colors, np.arange(1, len(colors) + 1))
    start = wu_start(hist, 6, WorkingSpace("rgb"))
    assert start.shape == (6, 3) and start.dtype == np.float32
    np.testing.assert_allclose(start[:2], wu_boxes(hist, 6).means, rtol=1e-6)
    assert len(np.unique(start, axis=0)) == 6
    palette = fit_palette(hist, 6, KMeansOptions(init="wu", seed=0, speed=1))
    assert len(palette.colors) == 6


@pytest.mark.parametrize("space", ["rgb", "oklab"])
def test_fit_from_wu_is_no_worse_than_wu_alone(samples, space):
    from quantize import read_image

    hist = color_histogram(read_image(samples / "chelsea.jpg"))
    working = WorkingSpace(space)
    wu_alone = wu_palette(hist, 16)
    fitted = fit_palette(hist, 16, KMeansOptions(init="wu", seed=0, speed=1, space=space)).colors
    distortion = {name: hist.pixel_mean(working.nearest(hist.colors, colors)[1])
                  for name, colors in (("wu", wu_alone), ("fit", fitted))}
    if space == "rgb":  # Lloyd lowers the distortion from its start (rounding aside)
        assert distortion["fit"] <= distortion["wu"] * 1.001
    assert len(fitted) == 16


def test_an_image_with_alpha_starts_from_kmeans_plus_plus(samples):
    from quantize import read_image

    pixels = read_image(samples / "logo-rgba.png")
    wu = fit_palette(pixels, 8, KMeansOptions(init="wu", seed=0))
    plus = fit_palette(pixels, 8, KMeansOptions(init="k-means++", seed=0))
    assert np.array_equal(wu.colors, plus.colors)


def test_wu_is_a_colour_init_only():
    assert KMeansOptions(init="wu").runs == 1
    with pytest.raises(ParameterError):
        KMeansOptions(init="median-cut")
    with pytest.raises(ParameterError, match="init must be one of k-means\\+\\+, random or an array"):
        kmeans(np.zeros((4, 2)), 2, init="wu")


def test_cli_init_wu_is_recorded_and_repeatable(samples, tmp_path):
    from quantize.cli import cli
    from quantize.files import recorded_parameters

    outputs = [tmp_path / "a.png", tmp_path / "b.png"]
    for out in outputs:
        result = CliRunner().invoke(cli, [str(samples / "chelsea.jpg"), "-k", "16", "--init", "wu",
                                          "-o", str(out), "--no-palette"])
        assert result.exit_code == 0, result.output
    assert recorded_parameters(outputs[0])["init"] == "wu"
    assert outputs[0].read_bytes() == outputs[1].read_bytes()
    plus = tmp_path / "plus.png"
    assert CliRunner().invoke(cli, [str(samples / "chelsea.jpg"), "-k", "16", "-o", str(plus),
                                    "--no-palette"]).exit_code == 0
    assert plus.read_bytes() != outputs[0].read_bytes()


def test_the_elbow_sweep_starts_each_k_from_wu(samples):
    from quantize import read_image
    from quantize.elbow import sweep

    hist = color_histogram(read_image(samples / "chelsea.jpg"))
    points = sweep(hist, [2, 4, 8], KMeansOptions(init="wu", seed=0))
    assert [len(p.palette) for p in points] == [2, 4, 8]
    assert points[0].distortion > points[-1].distortion
