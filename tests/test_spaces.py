"""quantize.spaces against published reference values, and exact round trips.

Reference values:

* Oklab: the XYZ -> Oklab test table of Björn Ottosson's post
  (https://bottosson.github.io/posts/oklab/, "Table of example XYZ and Oklab
  pairs", 3 decimals), and the sRGB primaries as given by his reference
  implementation (6 decimals).
* CIELAB D65: Bruce Lindbloom's colour calculator (sRGB, D65, no adaptation),
  4 decimals.
"""
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from quantize import spaces as S
from quantize.errors import ParameterError

U8 = np.uint8

# sRGB 8-bit -> Oklab, 6 decimals (Ottosson's linear_srgb_to_oklab).
OKLAB_REF = [
    ((255, 0, 0), (0.627955, 0.224863, 0.125846)),
    ((0, 255, 0), (0.866440, -0.233888, 0.179498)),
    ((0, 0, 255), (0.452014, -0.032457, -0.311528)),
]
# sRGB 8-bit -> CIELAB D65, 4 decimals (Lindbloom's calculator).
LAB_REF = [
    ((255, 0, 0), (53.2408, 80.0925, 67.2032)),
    ((0, 255, 0), (87.7347, -86.1827, 83.1793)),
    ((0, 0, 255), (32.2970, 79.1875, -107.8602)),
]


def test_srgb_curve_reference_points():
    # IEC 61966-2-1: 0 and 1 are fixed points; the toe below 0.04045 is c / 12.92.
    lin = S.srgb_to_linear(np.array([0.0, 1.0, 0.04045]))
    assert lin[0] == 0.0 and lin[1] == pytest.approx(1.0, abs=1e-15)
    assert lin[2] == pytest.approx(0.04045 / 12.92, rel=1e-15)
    # 0.5 -> ((0.5 + 0.055) / 1.055) ** 2.4 = 0.214041...
    assert S.srgb_to_linear(np.array([0.5, 0.5, 0.5]))[0] == pytest.approx(0.21404114048223255, rel=1e-14)
    # With the standard's rounded constants the curve jumps up by 2.33e-9 at
    # the threshold (0.0031308050 -> 0.0031308073); it stays increasing, and
    # the inverse switches in the middle of the jump.
    below, at, above = S.srgb_to_linear(np.array([np.nextafter(0.04045, 0), 0.04045, np.nextafter(0.04045, 1)]))
    assert below < at < above and 2.2e-9 < above - at < 2.4e-9
    assert at < S._LINEAR_THRESHOLD < above
    assert S.linear_to_srgb(np.array([0.0031308, S._LINEAR_THRESHOLD, 0.0031308073]))[1] == pytest.approx(
        0.04045, abs=2e-8)


def test_uint8_lut_equals_formula():
    levels = np.arange(256, dtype=U8)
    grey = np.stack([levels] * 3, axis=-1)
    lut = S.srgb_to_linear(grey)
    formula = S.srgb_to_linear(grey / 255.0)
    assert lut.dtype == np.float64
    np.testing.assert_array_equal(lut, formula)  # bit-identical
    # Other integer dtypes (a Python list of ints) are 0..255 too.
    np.testing.assert_array_equal(S.srgb_to_linear(grey.astype(np.int64)), lut)
    np.testing.assert_array_equal(S.srgb_to_oklab([255, 0, 0]), S.srgb_to_oklab(np.array([255, 0, 0], U8)))


def test_float32_input_gives_float64():
    c = np.array([[0.2, 0.5, 0.9]], dtype=np.float32)
    for f in (S.srgb_to_linear, S.srgb_to_oklab, S.srgb_to_lab):
        out = f(c)
        assert out.dtype == np.float64
        np.testing.assert_array_equal(out, f(c.astype(np.float64)))


def test_oklab_white_and_black():
    white = S.srgb_to_oklab(np.array([255, 255, 255], U8))
    # Ottosson's 10-digit matrices leave a residual of about 4e-8 for white
    # (measured: L = 1 - 6.5e-9, a = 8.1e-11, b = 3.7e-8).
    assert abs(white[0] - 1.0) < 1e-7
    assert abs(white[1]) < 1e-7 and abs(white[2]) < 1e-7
    np.testing.assert_array_equal(S.srgb_to_oklab(np.array([0, 0, 0], U8)), [0.0, 0.0, 0.0])


@pytest.mark.parametrize("rgb, ref", OKLAB_REF)
def test_oklab_primaries(rgb, ref):
    got = S.srgb_to_oklab(np.array(rgb, U8))
    np.testing.assert_allclose(got, ref, atol=1e-5, rtol=0)  # measured: < 5e-7


def test_oklab_ottosson_xyz_table():
    # Ottosson's table is XYZ (D65, Y = 1 white) -> Oklab, 3 decimals.  XYZ goes
    # to linear sRGB with the inverse of the sRGB matrix, then through the public
    # sRGB path (unclipped, so out-of-gamut XYZ is fine).  Bound 1e-3: half a
    # unit of the table's last digit plus the ~1e-4 difference between his sRGB
    # matrix and Lindbloom's (measured max error 5.1e-4).
    xyz = np.array([[0.950, 1.000, 1.089], [1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    ref = np.array([[1.000, 0.000, 0.000], [0.450, 1.236, -0.019],
                    [0.922, -0.671, 0.263], [0.153, -1.415, -0.449]])
    srgb = S.linear_to_srgb(xyz @ S._XYZ_TO_SRGB.T)
    np.testing.assert_allclose(S.srgb_to_oklab(srgb), ref, atol=1e-3, rtol=0)


def test_lab_white_black_grey():
    np.testing.assert_allclose(S.srgb_to_lab(np.array([255, 255, 255], U8)), [100, 0, 0], atol=1e-4, rtol=0)
    np.testing.assert_allclose(S.srgb_to_lab(np.array([0, 0, 0], U8)), [0, 0, 0], atol=1e-12, rtol=0)
    grey = S.srgb_to_lab(np.array([128, 128, 128], U8))
    assert grey[0] == pytest.approx(53.585, abs=1e-3)  # measured 53.58501
    assert abs(grey[1]) < 1e-10 and abs(grey[2]) < 1e-10


@pytest.mark.parametrize("rgb, ref", LAB_REF)
def test_lab_primaries(rgb, ref):
    got = S.srgb_to_lab(np.array(rgb, U8))
    np.testing.assert_allclose(got, ref, atol=1e-3, rtol=0)  # measured: < 5e-5


def test_lab_kappa_epsilon_exact_and_continuous():
    assert S._CIE_EPSILON == 216 / 24389 and S._CIE_KAPPA == 24389 / 27
    t = np.array([S._CIE_EPSILON * (1 - 1e-12), S._CIE_EPSILON, S._CIE_EPSILON * (1 + 1e-12)])
    f = S._f(t)
    assert np.all(np.diff(f) >= 0) and f[2] - f[0] < 1e-12
    # Dark colours use the linear segment: L* = kappa * Y / Yn.
    dark = S.srgb_to_lab(np.array([1, 1, 1], U8))
    assert dark[0] == pytest.approx(S._CIE_KAPPA * (1 / 255 / 12.92), rel=1e-6)


@pytest.mark.parametrize("to_lab", [S.srgb_to_oklab, S.srgb_to_lab])
def test_lightness_monotonic_with_grey_level(to_lab):
    levels = np.arange(256, dtype=U8)
    lab = to_lab(np.stack([levels] * 3, axis=-1))
    assert np.all(np.diff(lab[:, 0]) > 0)
    assert np.abs(lab[:, 1:]).max() < 1e-7  # greys are neutral (Oklab residual ~4e-8)


def _round_trip_failures(space):
    """All 2**24 colours through to_space / from_space, 2**20 at a time (16
    values of R x all G, B); returns a message about the first failures, or ''."""
    gb = np.stack(np.meshgrid(np.arange(256), np.arange(256), indexing="ij"), axis=-1).reshape(-1, 2)
    chunk = np.empty((16 * 65536, 3), dtype=U8)
    chunk[:, 1:] = np.tile(gb, (16, 1))
    for r0 in range(0, 256, 16):
        chunk[:, 0] = np.repeat(np.arange(r0, r0 + 16, dtype=U8), 65536)
        back = S.from_space(S.to_space(chunk, space), space)
        bad = np.flatnonzero((back != chunk).any(axis=-1))
        if bad.size:
            return f"{space}: {bad.size} colours, e.g. {chunk[bad[:5]].tolist()} -> {back[bad[:5]].tolist()}"
    return ""


@pytest.mark.slow
def test_every_8bit_colour_round_trips():
    # Exhaustive: every 8-bit sRGB colour goes to Oklab and to CIELAB and back
    # to exactly the same uint8.  About 1.5 s of CPU per space with one BLAS
    # thread, as the commands run (threaded, the thin n x 3 by 3 x 3 products
    # took 20 times as long on the shared 2-core machine); NumPy's ufuncs
    # release the GIL, so the two spaces run side by side on two cores.
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"), ThreadPoolExecutor(max_workers=2) as pool:
        failures = [m for m in pool.map(_round_trip_failures, ["oklab", "lab"]) if m]
    assert not failures, failures


@pytest.mark.parametrize("fwd, inv", [(S.srgb_to_oklab, S.oklab_to_srgb), (S.srgb_to_lab, S.lab_to_srgb),
                                      (S.srgb_to_linear, S.linear_to_srgb)])
def test_float_round_trip(fwd, inv):
    rng = np.random.default_rng(1)
    c = rng.random((200_000, 3))
    # Include both sides of the sRGB threshold and the ends of the range.
    c[:6] = [[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [0.04045] * 3,
             [np.nextafter(0.04045, 1)] * 3, [np.nextafter(0.04045, 0)] * 3, [1e-6, 0.5, 0.999999]]
    err = np.abs(inv(fwd(c)) - c).max()
    assert err < 1e-12  # measured < 1e-13
    # Slightly out of gamut too (not clipped).
    wide = rng.uniform(-0.1, 1.1, (10_000, 3))
    assert np.abs(inv(fwd(wide)) - wide).max() < 1e-12


def test_inverse_to_uint8_and_rgb_space():
    np.testing.assert_array_equal(S.to_uint8(np.array([-0.5, 0.0, 0.5, 2.5 / 255, 3.5 / 255, 1.0, 7.0])),
                                  [0, 0, 128, 2, 4, 255, 255])  # half to even: 2.5 -> 2, 3.5 -> 4
    img = np.random.default_rng(2).integers(0, 256, (5, 7, 3), dtype=U8)
    rgb = S.to_space(img, "rgb")
    assert rgb.dtype == np.float64
    np.testing.assert_array_equal(rgb, img)  # values unchanged
    np.testing.assert_array_equal(S.from_space(rgb, "rgb"), img)
    np.testing.assert_array_equal(S.from_space(np.array([[-3.0, 127.5, 300.0]]), "rgb"), [[0, 128, 255]])
    np.testing.assert_array_equal(S.to_space(img / 255.0, "rgb"), rgb)  # float input is 0..1


@pytest.mark.parametrize("shape", [(3,), (10, 3), (4, 5, 3), (0, 3)])
@pytest.mark.parametrize("space", S.SPACES)
def test_shapes_preserved(shape, space):
    rng = np.random.default_rng(3)
    img = rng.integers(0, 256, shape, dtype=U8)
    pts = S.to_space(img, space)
    assert pts.shape == shape and pts.dtype == np.float64
    back = S.from_space(pts, space)
    assert back.shape == shape and back.dtype == np.uint8
    np.testing.assert_array_equal(back, img)
    for f in (S.srgb_to_linear, S.srgb_to_oklab, S.srgb_to_lab, S.oklab_to_srgb, S.lab_to_srgb, S.linear_to_srgb):
        assert f(img / 255.0).shape == shape


@pytest.mark.parametrize("space", ["RGB", "xyz", "", None, 3])
def test_invalid_space(space):
    with pytest.raises(ParameterError):
        S.to_space(np.zeros((2, 3), U8), space)
    with pytest.raises(ParameterError):
        S.from_space(np.zeros((2, 3)), space)


def test_invalid_input():
    with pytest.raises(ParameterError):
        S.srgb_to_oklab(np.zeros((4, 4), U8))        # not (..., 3)
    with pytest.raises(ParameterError):
        S.srgb_to_lab(np.array([256, 0, 0]))          # int outside 0..255
    with pytest.raises(ParameterError):
        S.to_uint8(np.array([np.nan, 0, 0]))
    assert S.SPACES == ("rgb", "oklab", "lab")
