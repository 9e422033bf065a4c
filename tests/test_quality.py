"""pngquant's quality scale (quantize.metrics), the quality target (fit_to_quality,
--quality) and the scores every quantized image carries."""
import json
import math
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from quantize import QualityTooLowError, fit_palette, fit_to_quality, quantize_image
from quantize.cli import cli
from quantize.errors import ParameterError
from quantize.files import recorded_parameters
from quantize.histogram import color_histogram
from quantize.imageio import read_image
from quantize.metrics import delta_e_ok, dssim, mse_to_quality, pngquant_difference, quality, quality_to_mse
from quantize.pipeline import KMeansOptions, quality_search
from quantize.pipeline.wu import wu_curve

from conftest import SAMPLES, small_photo

# What pngquant 2.17 printed with --verbose ("MSE=... (Q=...)") for the sample
# photos scaled to 768x512, --nofs, K = 2..256: its MSE in 0-255 units (three
# decimals) and the quality it gave that MSE.  Its MSE is libimagequant's
# internal one times 65536 / 6 / 0.45 (src/pal.rs, internal_mse_to_standard_mse).
PNGQUANT_MSE_Q = [
    (1066.524, 0), (349.404, 0), (132.332, 1), (60.161, 5), (30.677, 22), (16.201, 52), (9.427, 70),
    (5.616, 81), (900.087, 0), (202.228, 1), (76.253, 3), (35.102, 15), (18.531, 47), (9.302, 70),
    (5.398, 82), (3.423, 88), (298.186, 0), (118.438, 2), (45.354, 9), (25.516, 32), (12.086, 63),
    (6.155, 79), (3.598, 87), (2.097, 92), (248.966, 0), (99.169, 2), (48.999, 8), (26.441, 30),
    (13.619, 59), (7.707, 75), (4.445, 85), (2.696, 90), (85.157, 3), (26.163, 30), (13.864, 58),
    (8.524, 72), (4.703, 84), (3.013, 89), (1.968, 93), (1.191, 95), (175.596, 1), (61.702, 5),
    (25.868, 31), (13.087, 60), (7.093, 77), (4.374, 85), (2.680, 90), (1.683, 94), (500.246, 0),
    (73.348, 4), (26.087, 31), (6.769, 77), (1.941, 93), (0.451, 98), (0.086, 99), (0.000, 100),
]
TO_INTERNAL = 6 * 0.45 / 65536


def test_the_curve_by_hand():
    # q = 80: no low-quality fudge (0.016 / 80.001 < 0.001); 290 ** 1.2 = exp(1.2 ln 290)
    by_hand = 0.45 * 2.5 / math.exp(1.2 * math.log(290)) * (100.1 - 80) / 100
    assert quality_to_mse(80) == pytest.approx(by_hand, rel=1e-15)
    # q = 5: the fudge 0.016 / 5.001 - 0.001 is added
    by_hand = 0.45 * (0.016 / 5.001 - 0.001 + 2.5 / math.exp(1.2 * math.log(215)) * 95.1 / 100)
    assert quality_to_mse(5) == pytest.approx(by_hand, rel=1e-15)
    assert quality_to_mse(100) == 0.0 and quality_to_mse(0) == 1e20


def test_the_curve_gives_pngquants_qualities():
    """Every (MSE, Q) pngquant printed: our mse_to_quality of its MSE is its Q."""
    got = [mse_to_quality(mse * TO_INTERNAL) for mse, _ in PNGQUANT_MSE_Q]
    assert got == [q for _, q in PNGQUANT_MSE_Q]


def test_quality_round_trips_and_never_rises_with_the_error():
    assert [mse_to_quality(quality_to_mse(q)) for q in range(101)] == list(range(101))
    errors = np.geomspace(1e-9, 10, 2000)
    qualities = [mse_to_quality(e) for e in errors]
    assert all(a >= b for a, b in zip(qualities, qualities[1:]))
    assert qualities[0] == 100 and qualities[-1] == 0
    with pytest.raises(ParameterError):
        quality_to_mse(101)


def test_quality_to_mse_takes_numpy_integers_not_bools_or_floats():
    assert quality_to_mse(np.int64(80)) == quality_to_mse(80) and quality_to_mse(np.uint8(100)) == 0.0
    for bad in (True, 80.0, np.float64(80), "80"):
        with pytest.raises(ParameterError, match="quality must be an integer from 0 to 100"):
            quality_to_mse(bad)


def test_pngquant_difference_by_hand():
    black, white = np.array([[0, 0, 0]], np.uint8), np.array([[255, 255, 255]], np.uint8)
    # every channel 0 -> 1 after the gamma; weights 0.5, 1, 0.45
    assert pngquant_difference(black, white)[0] == pytest.approx(0.25 + 1 + 0.2025, rel=1e-15)
    # opaque white against fully transparent black: d = (0.5, 1, 0.45), alphas -0.625;
    # over white the errors are (-0.125, 0.375, -0.175), smaller: the over-black ones count
    opaque, clear = np.array([[255, 255, 255, 255]], np.uint8), np.array([[0, 0, 0, 0]], np.uint8)
    assert pngquant_difference(opaque, clear)[0] == pytest.approx(1.4525, rel=1e-15)
    # half-transparent black against transparent: colour 0, alphas -0.625 * 128 / 255
    half = np.array([[0, 0, 0, 128]], np.uint8)
    assert pngquant_difference(half, clear)[0] == pytest.approx(3 * (0.625 * 128 / 255) ** 2, rel=1e-15)


def test_pngquant_difference_alpha_255_is_rgb_and_symmetric():
    rng = np.random.default_rng(0)
    a, b = rng.integers(0, 256, (2, 500, 3), dtype=np.uint8)
    opaque = np.full((500, 1), 255, np.uint8)
    assert np.allclose(pngquant_difference(np.hstack([a, opaque]), np.hstack([b, opaque])),
                       pngquant_difference(a, b), rtol=1e-14, atol=0)
    c, d = rng.integers(0, 256, (2, 500, 4), dtype=np.uint8)
    assert np.array_equal(pngquant_difference(c, d), pngquant_difference(d, c))
    with pytest.raises(ParameterError):
        pngquant_difference(a, c)


@pytest.mark.parametrize("dither", ["none", "floyd-steinberg"])
def test_scores_of_a_quantized_image_are_those_of_its_pixels(dither):
    """quality and delta_e_ok come from the histogram (or blocks of pixels when
    dithered); they must equal the metrics computed on the output's pixels."""
    image = read_image(SAMPLES / "chelsea.jpg")
    q = quantize_image(image, 16, KMeansOptions(seed=0), dither=dither)
    out = q.palette[q.indices]
    assert q.quality == quality(image, out)
    assert q.delta_e_ok == pytest.approx(100 * delta_e_ok(image, out), rel=1e-12)
    exact = quantize_image(small_photo(shape=(8, 8)), 256)
    assert exact.lossless and exact.quality == 100 and exact.delta_e_ok == 0.0


def test_rgba_quality_and_no_oklab_score():
    image = read_image(SAMPLES / "logo-rgba.png")
    q = quantize_image(image, 8, KMeansOptions(seed=0))
    assert q.delta_e_ok is None
    assert q.quality == quality(image, q.palette[q.indices])


def palette_quality(hist, k, options):
    """The quality of fit_palette's k colours, every colour to its nearest (rgb)."""
    palette = fit_palette(hist, k, options).colors
    pixels = np.repeat(hist.colors, hist.counts, axis=0)
    diff = ((pixels[:, None, :].astype(float) - palette[None].astype(float)) ** 2).sum(-1)
    return quality(pixels[:, None], palette[diff.argmin(axis=1)][:, None])


def crop():
    """60 x 80 pixels of chelsea.jpg: about 4,000 colours, quality 3 at K = 4, 79 at 64."""
    return read_image(SAMPLES / "chelsea.jpg")[100:160, 150:230]


@pytest.mark.parametrize("target", [10, 40, 70])
def test_fewest_colours_that_reach_the_target(target):
    """The K found reaches the target and the same fit with K - 1 colours does not."""
    hist = color_histogram(crop())
    options = KMeansOptions(seed=3)
    found = fit_to_quality(hist, 64, target, options)
    k = len(found.colors)
    assert found.quality >= target and found.quality == palette_quality(hist, k, options)
    assert 1 < k < 64
    assert palette_quality(hist, k - 1, options) < target
    again = fit_to_quality(hist, 64, target, options)
    assert np.array_equal(again.colors, found.colors)


def old_search(hist, k, target, options):
    """The search fit_to_quality made before Wu's curve guided it (the
    reference): ``k`` fitted first, then K guessed on the log-log line through
    the last two fits (slope in -2..-0.3, -0.8 from one fit), galloping after
    three guesses on one side, until K reaches the target and K - 1 does not.
    Returns (K, the K fitted in order)."""
    def fit(n):
        tried.append(n)
        palette = fit_palette(hist, n, options).colors
        labels = np.argmin(((hist.colors[:, None].astype(float) - palette[None].astype(float)) ** 2).sum(-1), 1)
        return hist.pixel_mean(pngquant_difference(hist.colors, palette[labels]))

    tried, high = [], min(k, len(hist.colors))
    last = [(high, fit(high))]
    low, side, streak, wanted = 0, None, 0, math.log(quality_to_mse(target) + 1e-12)
    reaching = mse_to_quality(last[0][1]) >= target
    while reaching and high - low > 1:
        (k0, y0), (k1, y1) = last[-2:] if len(last) > 1 else (last[-1], last[-1])
        slope = (math.log(y1) - math.log(y0)) / (math.log(k1) - math.log(k0)) if k0 != k1 else 0
        if streak >= 3:
            guess = high - 2 ** (streak - 2) if side else low + 2 ** (streak - 2)
        else:
            guess = k1 * math.exp((wanted - math.log(y1)) / (min(max(slope, -2.0), -0.3) if slope < 0 else -0.8))
        guess = min(max(math.ceil(guess), low + 1), high - 1)
        last.append((guess, fit(guess)))
        reached = mse_to_quality(last[-1][1]) >= target
        streak, side = (streak + 1 if reached == side else 1), reached
        high, low = (guess, low) if reached else (high, guess)
    return high, tried


def counted_search(hist, k, target, options, monkeypatch):
    """fit_to_quality's palette and the K it fitted, in order."""
    tried, real = [], quality_search.fit_palette
    monkeypatch.setattr(quality_search, "fit_palette", lambda h, n, o, **kw: tried.append(n) or real(h, n, o, **kw))
    found = fit_to_quality(hist, k, target, options)
    monkeypatch.setattr(quality_search, "fit_palette", real)
    return found, tried


@pytest.mark.parametrize("target", [10, 40, 70])
def test_the_read_off_finds_the_old_searchs_k_with_fewer_fits(target, monkeypatch):
    hist = color_histogram(crop())
    options = KMeansOptions(seed=3)
    found, tried = counted_search(hist, 64, target, options, monkeypatch)
    k = len(found.colors)
    assert found.quality >= target > palette_quality(hist, k - 1, options)
    old_k, old_tried = old_search(hist, 64, target, options)
    assert k == old_k
    assert len(tried) <= len(old_tried) and tried[0] < 64 and len(set(tried)) == len(tried)


@pytest.mark.slow
@pytest.mark.parametrize("name, target", [("rocket.jpg", 80), ("coffee.jpg", 70), ("astronaut.jpg", 75)])
def test_the_read_off_on_photos(name, target, monkeypatch):
    """On photos (a quarter of each side): the K found reaches the target,
    K - 1 as fitted does not, and it is the old search's K, or both are
    answers because quality is not monotone in K between them (astronaut at
    75: 141 and 144 reach, 143 does not)."""
    image = read_image(SAMPLES / name)[::4, ::4, :3]
    hist = color_histogram(np.ascontiguousarray(image))
    options = KMeansOptions(seed=0)
    found, tried = counted_search(hist, 256, target, options, monkeypatch)
    k = len(found.colors)
    assert 1 < k < 256 and found.quality >= target > palette_quality(hist, k - 1, options)
    assert found.quality == palette_quality(hist, k, options)
    old_k, old_tried = old_search(hist, 256, target, options)
    assert len(tried) <= len(old_tried)
    if k != old_k:  # a fewer K reaching above a larger K - 1 missing: not monotone
        assert palette_quality(hist, min(k, old_k), options) >= target > palette_quality(hist, max(k, old_k) - 1, options)
    assert k == old_k or name == "astronaut.jpg"


def test_the_read_off_is_the_scaled_curve():
    """Before any fit: the smallest K whose Wu distortion times the prior
    ratio meets the target's mean difference; after one fit: the curve goes
    through that fit, so a fit whose difference is the target's is read
    back at its own K, and one of twice the target's moves the read-off up."""
    hist = color_histogram(crop())
    wu = wu_curve(hist, 64) / hist.n_pixels
    wanted = quality_to_mse(60)
    first = quality_search._next_k(wu, {}, 0, 65, wanted, None, 0, quality_search.PRIOR_RATIO)
    assert wu[first - 1] * quality_search.PRIOR_RATIO <= wanted < wu[first - 2] * quality_search.PRIOR_RATIO
    for n in (5, 20, 40):
        assert quality_search._next_k(wu, {n: (None, wanted)}, 0, 65, wanted, None, 0) == n
        assert quality_search._next_k(wu, {n: (None, 2 * wanted)}, 0, 65, wanted, None, 0) > n
        assert quality_search._next_k(wu, {n: (None, 2 * wanted)}, n, 65, wanted, False, 1) > n
    assert quality_search._next_k(wu, {20: (None, wanted)}, 0, 20, wanted, True, 1) == 19  # below the reach


def test_target_out_of_reach_gives_k_and_exact_images_can_use_fewer():
    hist = color_histogram(crop())
    best = fit_to_quality(hist, 4, 99, KMeansOptions(seed=0))
    assert len(best.colors) == 4 and best.quality < 99
    assert len(fit_to_quality(hist, 64, 0, KMeansOptions(seed=0)).colors) == 1
    few = np.zeros((4, 4, 3), np.uint8)
    few[:2] = [250, 10, 10]
    few[0, 0] = [250, 40, 10]  # a colour that costs little to merge, but something
    two = few.copy()
    two[0, 0] = [250, 10, 10]
    merged = quality(few, two)
    assert 0 < merged < 100
    found = fit_to_quality(color_histogram(few), 16, merged, KMeansOptions(seed=0))
    assert len(found.colors) == 2 and found.quality >= merged  # the weighted mean beats my merge
    exact = fit_to_quality(color_histogram(few), 16, 100, KMeansOptions(seed=0))
    assert len(exact.colors) == 3 and exact.exact and exact.quality == 100


def test_minimum_not_reached_raises():
    image = small_photo()
    with pytest.raises(QualityTooLowError) as error:
        quantize_image(image, 2, KMeansOptions(seed=0), quality=(90, 95))
    assert error.value.exit_code == 99
    with pytest.raises(ParameterError):
        quantize_image(image, 2, quality=(80, 70))


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture
def photo(tmp_path):
    path = tmp_path / "chelsea.jpg"
    shutil.copy(SAMPLES / "chelsea.jpg", path)
    return path


def test_cli_quality_target(photo, tmp_path):
    out = tmp_path / "out.png"
    result = run(photo, "-k", 256, "--quality", "60-75", "-o", out, "--json", "--dssim", "--seed", 1)
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    written = read_image(out)
    image = read_image(photo)
    assert data["k"] == 256 and data["colors"] < 256 and data["quality"] >= 75
    assert data["quality"] == quality(image, written)
    assert data["delta_e_ok"] == pytest.approx(100 * delta_e_ok(image, written), rel=1e-12)
    assert data["dssim"] == pytest.approx(dssim(image, written), rel=1e-12)
    assert recorded_parameters(out)["quality"] == [60, 75]
    plain = run(photo, "-k", 256, "-o", tmp_path / "plain.png", "--json", "--seed", 1)
    assert json.loads(plain.stdout)["colors"] > data["colors"] and json.loads(plain.stdout)["dssim"] is None


def test_cli_below_the_minimum_writes_nothing(photo, tmp_path):
    out = tmp_path / "out.png"
    result = run(photo, "-k", 4, "--quality", "80-90", "-o", out)
    assert result.exit_code == 99
    assert f"{photo}: quality" in result.stderr and "below the minimum 80" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert not out.exists() and not out.with_suffix(".gpl").exists() and os.listdir(tmp_path) == ["chelsea.jpg"]


@pytest.mark.parametrize("text, minimum, target", [("80", 72, 80), ("-80", 0, 80), ("60-", 60, 100),
                                                   ("0-100", 0, 100), ("55-55", 55, 55)])
def test_cli_quality_forms(photo, tmp_path, text, minimum, target):
    """Either way the parsed pair shows: recorded in the PNG, or named in the error."""
    out = tmp_path / "out.png"
    result = run(photo, "-k", 8, "--quality", text, "-o", out)
    assert result.exit_code in (0, 99), result.output
    if result.exit_code == 0:
        assert recorded_parameters(out)["quality"] == [minimum, target]
    else:
        assert f"below the minimum {minimum}:" in result.stderr and not out.exists()


@pytest.mark.parametrize("text", ["x", "80-70", "101", "-5-", "50-101"])
def test_cli_bad_quality(photo, text):
    result = run(photo, "-k", 8, "--quality", text)
    assert result.exit_code == 2 and "--quality" in result.stderr


def test_cli_quality_not_with_map(photo, tmp_path):
    gpl = tmp_path / "p.gpl"
    gpl.write_text("GIMP Palette\n0 0 0 black\n255 255 255 white\n")
    result = run(photo, "--map", gpl, "--quality", "50-80")
    assert result.exit_code == 2 and "--map" in result.stderr


def test_batch_quality_target(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for name in ("chelsea.jpg", "coffee.jpg", "camera.png"):
        shutil.copy(SAMPLES / name, folder / name)
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["batch", str(folder), "-k", "64", "-o", str(out), "--quality", "72-75",
                                      "--jobs", "1"])
    rows = {Path(r["input"]).name: r for r in map(json.loads, (out / "manifest.jsonl").read_text().splitlines())}
    done = [r for r in rows.values() if r["status"] == "done"]
    skipped = [r for r in rows.values() if r["status"] == "skipped"]
    assert done and all(r["quality"] >= 72 and r["colors"] <= 64 for r in done)
    assert all("below the minimum 72" in r["error"] and not Path(r["output"]).exists() for r in skipped)
    for r in done:
        assert r["quality"] == quality(read_image(r["input"]), read_image(r["output"]))
    assert result.exit_code == 0, result.output
    shared = CliRunner().invoke(cli, ["batch", str(folder), "-k", "8", "-o", str(tmp_path / "o2"),
                                      "--quality", "50-60", "--shared-palette"])
    assert shared.exit_code == 2
