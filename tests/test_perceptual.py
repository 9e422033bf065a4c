"""Image-quality scores of quantize.metrics: CIEDE2000, Oklab ΔE, SSIM, DSSIM."""
from pathlib import Path

import numpy as np
import pytest
from skimage.metrics import structural_similarity

import quantize
from quantize.errors import ParameterError
from quantize.imageio import read_image
from quantize.metrics import ciede2000, delta_e_2000, delta_e_ok, dssim, ssim
from quantize.spaces import srgb_to_lab

SAMPLES = Path(__file__).resolve().parent.parent / "sample_images"
JPEGS = sorted(SAMPLES.glob("*.jpg"))

# Sharma, Wu & Dalal (2005), Table 1: L1, a1, b1, L2, a2, b2, ΔE00 (4 decimals).
SHARMA = np.array([
    [50.0000, 2.6772, -79.7751, 50.0000, 0.0000, -82.7485, 2.0425],
    [50.0000, 3.1571, -77.2803, 50.0000, 0.0000, -82.7485, 2.8615],
    [50.0000, 2.8361, -74.0200, 50.0000, 0.0000, -82.7485, 3.4412],
    [50.0000, -1.3802, -84.2814, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, -1.1848, -84.8006, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, -0.9009, -85.5211, 50.0000, 0.0000, -82.7485, 1.0000],
    [50.0000, 0.0000, 0.0000, 50.0000, -1.0000, 2.0000, 2.3669],
    [50.0000, -1.0000, 2.0000, 50.0000, 0.0000, 0.0000, 2.3669],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0009, 7.1792],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0010, 7.1792],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0011, 7.2195],
    [50.0000, 2.4900, -0.0010, 50.0000, -2.4900, 0.0012, 7.2195],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0009, -2.4900, 4.8045],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0010, -2.4900, 4.8045],
    [50.0000, -0.0010, 2.4900, 50.0000, 0.0011, -2.4900, 4.7461],
    [50.0000, 2.5000, 0.0000, 50.0000, 0.0000, -2.5000, 4.3065],
    [50.0000, 2.5000, 0.0000, 73.0000, 25.0000, -18.0000, 27.1492],
    [50.0000, 2.5000, 0.0000, 61.0000, -5.0000, 29.0000, 22.8977],
    [50.0000, 2.5000, 0.0000, 56.0000, -27.0000, -3.0000, 31.9030],
    [50.0000, 2.5000, 0.0000, 58.0000, 24.0000, 15.0000, 19.4535],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.1736, 0.5854, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.2972, 0.0000, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 1.8634, 0.5757, 1.0000],
    [50.0000, 2.5000, 0.0000, 50.0000, 3.2592, 0.3350, 1.0000],
    [60.2574, -34.0099, 36.2677, 60.4626, -34.1751, 39.4387, 1.2644],
    [63.0109, -31.0961, -5.8663, 62.8187, -29.7946, -4.0864, 1.2630],
    [61.2901, 3.7196, -5.3901, 61.4292, 2.2480, -4.9620, 1.8731],
    [35.0831, -44.1164, 3.7933, 35.0232, -40.0716, 1.5901, 1.8645],
    [22.7233, 20.0904, -46.6940, 23.0331, 14.9730, -42.5619, 2.0373],
    [36.4612, 47.8580, 18.3852, 36.2715, 50.5065, 21.2231, 1.4146],
    [90.8027, -2.0831, 1.4410, 91.1528, -1.6435, 0.0447, 1.4441],
    [90.9257, -0.5406, -0.9208, 88.6381, -0.8985, -0.7239, 1.5381],
    [6.7747, -0.2908, -2.4247, 5.8714, -0.0985, -2.2286, 0.6377],
    [2.0776, 0.0795, -1.1350, 0.9033, -0.0636, -0.5514, 0.9082],
])

# ssim against scikit-image: the same filtered moments, summed in a slightly
# different order (the symmetric taps are paired here), so the SSIM maps differ
# by rounding; measured at most ~1e-14 (the map's ratio amplifies the rounding
# of the moments where the variances are tiny, as in flat quantized areas).
SSIM_BOUND = 1e-12


def skimage_ssim(a, b, data_range=1.0):
    return structural_similarity(a, b, gaussian_weights=True, sigma=1.5,
                                 use_sample_covariance=False, data_range=data_range)


def rebuild(q):
    return q.palette[q.indices]


@pytest.fixture(scope="module")
def chelsea():
    return read_image(SAMPLES / "chelsea.jpg")


# --- CIEDE2000 ----------------------------------------------------------------

def test_ciede2000_sharma_table():
    got = ciede2000(SHARMA[:, :3], SHARMA[:, 3:6])
    assert got.shape == (34,)
    np.testing.assert_allclose(got, SHARMA[:, 6], rtol=0, atol=1e-4)


def test_ciede2000_symmetric_zero_and_broadcast():
    rng = np.random.default_rng(1)
    lab1 = rng.uniform([0, -100, -100], [100, 100, 100], (500, 3))
    lab2 = rng.uniform([0, -100, -100], [100, 100, 100], (500, 3))
    np.testing.assert_allclose(ciede2000(lab1, lab2), ciede2000(lab2, lab1), rtol=0, atol=1e-12)
    assert np.all(ciede2000(lab1, lab1) == 0)
    grid = ciede2000(lab1[:, None, :], lab2[None, :4, :])
    assert grid.shape == (500, 4)
    np.testing.assert_allclose(grid[:, 2], ciede2000(lab1, lab2[2]), rtol=0, atol=1e-12)


def test_ciede2000_bad_shapes():
    with pytest.raises(ParameterError):
        ciede2000(np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ParameterError):
        ciede2000(np.zeros((4, 3)), np.zeros((5, 3)))


# --- SSIM ---------------------------------------------------------------------

@pytest.mark.parametrize("shape", [(11, 11), (12, 17), (64, 48), (100, 257)])
def test_ssim_matches_skimage_random(shape):
    rng = np.random.default_rng(shape[0] * 1000 + shape[1])
    a = rng.random(shape)
    b = np.clip(a + 0.2 * rng.standard_normal(shape), 0, 1)
    assert abs(ssim(a, b) - skimage_ssim(a, b)) < SSIM_BOUND
    # another data range: 0..255 floats
    assert abs(ssim(255 * a, 255 * b, 255.0) - skimage_ssim(255 * a, 255 * b, 255.0)) < SSIM_BOUND


@pytest.mark.parametrize("path", JPEGS, ids=lambda p: p.name)
def test_ssim_matches_skimage_real(path):
    lightness = srgb_to_lab(read_image(path))[..., 0] / 100
    rng = np.random.default_rng(7)
    noisy = np.clip(lightness + 0.05 * rng.standard_normal(lightness.shape), 0, 1)
    banded = np.round(lightness * 4) / 4        # flat areas: tiny variances
    for other in (noisy, banded):
        value = ssim(lightness, other)
        assert -1 <= value < 1
        assert abs(value - skimage_ssim(lightness, other)) < SSIM_BOUND
    assert ssim(lightness, lightness) == 1.0


def test_ssim_small_and_bad_input():
    a = np.linspace(0, 1, 24).reshape(4, 6)
    assert ssim(a, a) == 1.0                   # smaller than the window: accepted
    assert ssim(a, a[::-1]) < 1
    with pytest.raises(ParameterError):
        ssim(a, a[:3])
    with pytest.raises(ParameterError):
        ssim(np.zeros((4, 4, 3)), np.zeros((4, 4, 3)))
    with pytest.raises(ParameterError):
        ssim(a, a, data_range=0)


# --- image scores -------------------------------------------------------------

def test_identical_images_score_zero(chelsea):
    assert dssim(chelsea, chelsea) == 0.0
    assert delta_e_ok(chelsea, chelsea) == 0.0
    assert delta_e_2000(chelsea, chelsea) == 0.0
    rgba = np.dstack([chelsea, np.full(chelsea.shape[:2], 9, np.uint8)])
    assert dssim(rgba, chelsea) == 0.0         # alpha is ignored
    assert delta_e_ok(chelsea, rgba) == 0.0


def test_delta_e_values():
    black = np.zeros((2, 3, 3), np.uint8)
    white = np.full((2, 3, 3), 255, np.uint8)
    assert delta_e_ok(black, white) == pytest.approx(1.0, abs=1e-6)
    assert delta_e_2000(black, white) == pytest.approx(100.0, abs=1e-6)
    grey = np.full((2, 3, 3), 119, np.uint8)   # L* of sRGB 119 is about 50
    expected = ciede2000(srgb_to_lab(grey[0, 0]), srgb_to_lab(white[0, 0]))
    assert delta_e_2000(grey, white) == pytest.approx(float(expected), rel=1e-12)


def test_more_colours_score_better(chelsea):
    scores = []
    for k in (4, 16, 64):
        out = rebuild(quantize.quantize_image(chelsea, k, quantize.KMeansOptions(seed=0)))
        scores.append((dssim(chelsea, out), delta_e_ok(chelsea, out), delta_e_2000(chelsea, out)))
    for fewer, more in zip(scores, scores[1:]):
        for worse, better in zip(fewer, more):
            assert 0 < better < worse


@pytest.mark.parametrize("colour", [False, True], ids=["grey", "colour"])
def test_dithered_gradient_beats_banded_on_dssim(colour):
    ramp = np.arange(256)
    if colour:
        row = np.stack([ramp, 255 - ramp, np.full(256, 128)], axis=-1)
    else:
        row = np.repeat(ramp[:, None], 3, axis=1)
    gradient = np.repeat(row[None].astype(np.uint8), 32, axis=0)
    options = quantize.KMeansOptions(seed=0)
    banded = rebuild(quantize.quantize_image(gradient, 4, options))
    dithered = rebuild(quantize.quantize_image(gradient, 4, options, dither="floyd-steinberg"))
    assert len(np.unique(banded.reshape(-1, 3), axis=0)) == 4
    assert not np.array_equal(banded, dithered)
    assert dssim(gradient, dithered) < 0.8 * dssim(gradient, banded)


def test_dssim_symmetric_and_grows_with_noise(chelsea):
    rng = np.random.default_rng(3)
    previous = 0.0
    for sigma in (2, 8, 32):
        noisy = np.clip(chelsea + rng.normal(0, sigma, chelsea.shape), 0, 255).astype(np.uint8)
        forward, backward = dssim(chelsea, noisy), dssim(noisy, chelsea)
        assert forward == pytest.approx(backward, rel=1e-9)
        assert forward > previous
        previous = forward


def test_dssim_lightness_counts_more_than_chroma():
    rng = np.random.default_rng(5)
    base = np.full((64, 64, 3), 128, np.uint8)
    noise = rng.integers(-12, 13, (64, 64))
    grey_noise = np.clip(base + noise[..., None], 0, 255).astype(np.uint8)
    # Chroma noise, red against green at nearly constant L*: a larger colour
    # difference than the grey noise (mean |a*| 4.1 against mean |L*| 2.5), yet
    # dssim, which blurs chroma and weighs it half, rates it the smaller one.
    chroma = base.astype(np.int64)
    chroma[..., 0] += noise
    chroma[..., 1] -= noise // 2
    chroma_noise = np.clip(chroma, 0, 255).astype(np.uint8)
    assert delta_e_2000(base, chroma_noise) > 2 * delta_e_2000(base, grey_noise)
    assert dssim(base, grey_noise) > 1.15 * dssim(base, chroma_noise)


def test_tiny_images():
    rng = np.random.default_rng(0)
    for shape in [(1, 1, 3), (3, 5, 3), (9, 20, 3)]:
        a = rng.integers(0, 256, shape, dtype=np.uint8)
        b = rng.integers(0, 256, shape, dtype=np.uint8)
        assert dssim(a, a) == 0.0
        value = dssim(a, b)
        assert value > 0                       # finite, or inf if the mean SSIM is <= 0


def test_shape_and_type_errors():
    a = np.zeros((8, 9, 3), np.uint8)
    for f in (dssim, delta_e_ok, delta_e_2000):
        with pytest.raises(ParameterError):
            f(a, np.zeros((9, 8, 3), np.uint8))
        with pytest.raises(ParameterError):
            f(a, np.zeros((8, 9), np.uint8))
        with pytest.raises(ParameterError):
            f(a, a.astype(np.float64))
        with pytest.raises(ParameterError):
            f(np.zeros((0, 9, 3), np.uint8), np.zeros((0, 9, 3), np.uint8))
