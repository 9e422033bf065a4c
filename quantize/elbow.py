"""Which K?  The distortion of every K on one histogram, and the knee of the curve.

The sweep builds the colour histogram once and runs the k-means core for each
K in increasing order, on one pixel sample.  Each K is run from k-means++ and
from the previous K's centroids plus the points served worst by them (greedy:
the point with the largest weight times squared distance, then the next worst
under the centroids chosen so far), and the better run wins.  The warm start
can only be better than the previous K (more centroids at the start, and Lloyd
never raises the distortion), so the curve comes out non-increasing; where the
distortion on all the image's colours would still make a K worse than the one
before, that K takes the previous palette plus its worst-served colours
instead, which cannot be worse.

The knee: on a log-log plot a curve with no cluster structure (a smooth
gradient, a photo's continuum of colours) is close to a straight line, the
power law ``D ~ K^-a`` of quantization theory.  A real elbow is a K where the
curve falls steeply before and flattens after.  For each inner K we compare the
log-log slope of the step into K with the mean log-log slope from K to the
last K; the knee is the K with the largest ratio, and it is "clear" when that
ratio is at least ``CLEAR_RATIO``.  Whether a curve flattens after K can only
be judged on enough curve after it: a K is a candidate only when the sweep
goes on to at least twice K (with the default K = 1..16, a knee up to 8), so
the last steps of a sweep, whose "after" slope rests on one or two noisy
points, are never called clear.  (The chord method, the point farthest from
the line between the ends of the normalised curve, finds a knee on every convex
curve, power laws included, so it cannot say "no clear elbow".)
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import plots
from .errors import OutputExistsError
from .files import STDIN_STEM
from .histogram import Histogram, color_histogram
from .core import add_worst_served, kmeans
from .imageio import check_targets, check_writable, read_image, write_together
from .limits import MAX_PIXELS
from .options import KMeansOptions
from .pipeline import WorkingSpace, psnr_from_distortion, sample_levels
from .pipeline.wu import wu_start
from .progress import ProgressCallback, notify
from .report import elbow_csv, to_json
from .spaces import srgb_to_oklab

CLEAR_RATIO = 4.0
METHOD = (f"largest ratio of the log-log slope into K to the mean log-log slope after K, "
          f"for K up to half the largest K swept; clear when >= {CLEAR_RATIO:g}")
REPORT_FILES = ("elbow.csv", "elbow.json", "elbow.png")
PREVIEWS = "previews.png"


@dataclass(frozen=True)
class ElbowPoint:
    """One K of the sweep.

    Attributes
    ----------
    k : int
    distortion : float
        That of the quantized image (palette rounded to 8 bits, every colour to
        its nearest entry): mean squared RGB distance per pixel.
    psnr : float
        PSNR in dB of that image (inf when exact).
    n_iter : int
        Lloyd iterations of both runs at this K.
    seconds : float
    palette : (k, 3) uint8
        The palette that gave ``distortion``.
    sample_distortion : float
        The distortion of the better k-means run on the pixel sample, before
        rounding: the curve the sweep itself optimises, never rising with K.
    fallback : bool
        True when the sweep's palette, measured on every colour, was worse than
        the previous K's and was replaced by that palette plus its worst-served
        colours.
    delta_e : float
        Mean Oklab distance x 100 between each pixel and its palette colour
        (:func:`quantize.metrics.delta_e_ok`, computed on the histogram): a
        measure closer to what the eye sees than the distortion.
    space_distortion : float
        The distortion in the sweep's space (``KMeansOptions.space``): the mean
        squared distance there, which k-means lowers and the knee is found on;
        the same as ``distortion`` in rgb.  Each colour goes to its nearest
        entry in that space, and ``distortion`` is the RGB distortion of that
        mapping.
    """

    k: int
    distortion: float
    psnr: float
    n_iter: int
    seconds: float
    palette: np.ndarray
    sample_distortion: float
    fallback: bool
    delta_e: float = 0.0
    space_distortion: float = 0.0


@dataclass(frozen=True)
class ElbowReport:
    """What ``quantize elbow`` found for one image.

    ``suggested_k`` is None when there is no clear elbow; ``knee_strength`` is
    the largest strength found (see :func:`suggest_k`), on the curve of
    ``ElbowPoint.space_distortion`` in ``space``; ``notes`` are remarks
    for the user (e.g. K clamped to the number of colours); ``files`` the
    report files written (empty when none were asked for).
    """

    image: str
    points: tuple[ElbowPoint, ...]
    suggested_k: int | None
    knee_strength: float
    method: str = METHOD
    notes: tuple[str, ...] = ()
    files: tuple[str, ...] = ()
    space: str = "rgb"

    def to_dict(self) -> dict:
        """The report as JSON-ready data (``None`` for infinities)."""
        from .palette import to_hex

        finite = lambda x: None if math.isinf(x) else x  # noqa: E731
        return {
            "image": self.image,
            "suggested_k": self.suggested_k,
            "knee_strength": finite(self.knee_strength),
            "method": self.method,
            "space": self.space,
            "points": [
                {"k": p.k, "distortion": p.distortion, "psnr_db": finite(p.psnr), "iterations": p.n_iter,
                 "seconds": p.seconds, "delta_e_ok": p.delta_e, "space_distortion": p.space_distortion,
                 "palette": [to_hex(c) for c in p.palette]}
                for p in self.points
            ],
        }


def default_folder(image_path) -> Path:
    """The report folder when none is given: ``IMAGE-elbow`` beside the
    image; for an image read from standard input (``-``), ``stdin-elbow`` in
    the current folder."""
    image_path = Path(image_path)
    if str(image_path) == "-":
        return Path(f"{STDIN_STEM}-elbow")
    return image_path.with_name(f"{image_path.stem}-elbow")


def report_files(out_dir, previews: bool) -> list[Path]:
    """The files :func:`run` writes into ``out_dir``."""
    return [Path(out_dir) / name for name in REPORT_FILES + ((PREVIEWS,) if previews else ())]


def run(image_path, ks, options: KMeansOptions | None = None, *, out_dir=None, previews: bool = False,
        force: bool = False, max_pixels: int | None = MAX_PIXELS,
        on_progress: ProgressCallback | None = None) -> ElbowReport:
    """The elbow of one image file (``-``: standard input): read it, sweep K,
    find the knee, write the report.

    ``ks`` ascending, each 1-256 (validated by the caller); K above the
    image's number of colours is swept as that number, with a note.  With
    ``out_dir``, elbow.csv, elbow.json and elbow.png (and previews.png with
    ``previews``) are written there; they are checked before any work (an
    existing file is an error unless ``force``), and the folder is made and
    tried for writing before the sweep.
    """
    files = report_files(out_dir, previews) if out_dir is not None else []
    if out_dir is not None:
        out_dir = Path(out_dir)
        if out_dir.exists() and not out_dir.is_dir():
            raise OutputExistsError(f"{out_dir}: exists and is not a folder")
        if out_dir.is_dir():  # a folder still to be made holds nothing; check_writable tries making it
            check_targets(files, inputs=[image_path], force=force)
    rgb = read_image(image_path, max_pixels=max_pixels)[:, :, :3]
    if out_dir is not None:
        check_writable(out_dir)  # before the work, not after it
    hist = color_histogram(rgb)
    n_colors, notes = len(hist.colors), []
    if ks[-1] > n_colors:
        notes.append(f"{image_path} has {n_colors} colours: K above {n_colors} is swept as {n_colors}")
        ks = sorted({min(k, n_colors) for k in ks})
    space = (options or KMeansOptions()).space
    points = sweep(hist, ks, options, on_progress=on_progress)
    suggested, strength = suggest_k([p.k for p in points], [p.space_distortion for p in points])
    report = ElbowReport(str(image_path), tuple(points), suggested, strength, notes=tuple(notes),
                         files=tuple(str(f) for f in files), space=space)
    if out_dir is not None:
        thumbs = thumbnails(rgb, [p.palette for p in points], space=space) if previews else None
        write_together(render(files, report, thumbs))
    return report


def render(files, report: ElbowReport, thumbs=None) -> list[tuple[Path, bytes]]:
    """``[(path, bytes)]`` of the report files ``files`` (see
    :func:`report_files`): elbow.csv, elbow.json, elbow.png and, with
    ``thumbs`` (the image in each K's palette, ``(h, w, 3) uint8`` each: see
    :func:`thumbnails`), previews.png."""
    data = report.to_dict()
    out = [(files[0], elbow_csv(data)), (files[1], to_json(data)), (files[2], plots.render_elbow(data))]
    if thumbs is not None:
        labels = [f"K = {p.k}   {p.psnr:.1f} dB" for p in report.points]
        out.append((files[3], plots.render_previews(thumbs, labels)))
    return out


def sweep(hist: Histogram, ks, options: KMeansOptions | None = None, *,
          on_progress: ProgressCallback | None = None) -> list[ElbowPoint]:
    """Quantize one histogram at every K in ``ks`` (ascending, each at most the
    number of colours).

    k-means runs on the first level of the coarse-to-fine path (a pixel sample
    of max(4096, 32 K) for the largest K, as in :func:`quantize.fit_palette`),
    twice per K: from ``options.init`` (for "wu", Wu's palette of K colours) and from the previous K's centroids plus
    the worst-served points; the better run's palette is measured on every
    colour of the image.  ``options.speed`` does not apply: the sweep always
    runs on the sample.  ``on_progress`` gets the share of the work done after
    each K (the cost of a K is taken as proportional to K).
    """
    options = options or KMeansOptions()
    rng = np.random.default_rng(options.seed)
    levels = sample_levels(hist, max(ks), rng)
    points, weights = levels[0]
    space = WorkingSpace(options.space)
    colors = space.prepare(hist.colors)  # converted once for the whole sweep
    exact = None if space.is_rgb else space.exact(hist.colors)  # (n, 3) float64, the distances in the space
    points = space.points(points)
    kw = dict(weights=weights, tol=options.tol, max_iter=options.max_iter)
    results, centroids, palette, oklab = [], None, None, None
    total, done = float(sum(ks)), 0
    for k in ks:
        started = time.perf_counter()
        init = wu_start(hist, k, space) if options.init == "wu" else options.init
        fits = [kmeans(points, k, init=init, n_init=options.n_init, seed=rng, **kw)]
        if centroids is not None:  # the warm start: previous centroids plus the worst served
            fits.append(kmeans(points, k, init=add_worst_served(points, weights, centroids, k - len(centroids)), **kw))
        fit = min(fits, key=lambda f: f.distortion)
        centroids, n_iter = fit.centroids, sum(f.n_iter for f in fits)
        candidate = space.colors(fit.centroids, 3)
        measured, labels, distortion = _measure(hist, space, colors, exact, candidate)
        fallback = bool(results) and measured > results[-1].space_distortion
        if fallback:
            grown = add_worst_served(space.points(hist.colors), hist.counts, space.points(palette), k - len(palette))
            candidate = space.colors(grown, 3)
            measured, labels, distortion = _measure(hist, space, colors, exact, candidate)
        palette = candidate
        if oklab is None:
            oklab = srgb_to_oklab(hist.colors)
        delta_e = 100.0 * hist.pixel_mean(np.linalg.norm(oklab - srgb_to_oklab(palette)[labels], axis=1))
        results.append(ElbowPoint(k, distortion, psnr_from_distortion(distortion), n_iter,
                                  time.perf_counter() - started, palette, fit.distortion, fallback, delta_e,
                                  measured))
        done += k
        notify(on_progress, done / total)
    return results


def _measure(hist: Histogram, space: WorkingSpace, colors, exact, palette: np.ndarray):
    """Each colour of ``hist`` to its nearest entry of ``palette (m, 3) uint8``
    in ``space`` (``colors``: the histogram's colours prepared there; ``exact``:
    them as float64 points of a space other than rgb): the mean squared
    distance in the space (recomputed in float64: the search's are good to
    ~1e-7), the entries ``(n,)``, and the RGB distortion."""
    labels, sq_rgb = colors.nearest(palette)
    distortion = hist.pixel_mean(sq_rgb)
    if space.is_rgb:
        return distortion, labels, distortion
    sq_space = np.square(exact - space.exact(palette)[labels]).sum(axis=1)
    return hist.pixel_mean(sq_space), labels, distortion


def suggest_k(ks, distortions) -> tuple[int | None, float]:
    """The K at the knee and its strength, or ``(None, strength)`` without a clear one.

    Strength at an inner K: the log-log slope of the step into K divided by the
    mean log-log slope from K to the last K (see the module's docstring).  Only
    K up to half the last K are candidates.  Needs at least three K with
    positive distortion.
    """
    ks = np.asarray(ks, dtype=np.float64)
    d = np.asarray(distortions, dtype=np.float64)
    keep = d > 0
    x, y = np.log(ks[keep]), np.log(d[keep])
    if len(x) < 3:
        return None, 0.0
    best_k, best = None, 0.0
    for j in range(1, len(x) - 1):
        if 2 * ks[keep][j] > ks[keep][-1]:  # not enough curve after K to judge it
            break
        before = (y[j - 1] - y[j]) / (x[j] - x[j - 1])
        after = (y[j] - y[-1]) / (x[-1] - x[j])
        strength = np.inf if after <= 0 < before else before / after
        if strength > best:
            best_k, best = int(ks[keep][j]), float(strength)
    return (best_k if best >= CLEAR_RATIO else None), best


def thumbnails(rgb: np.ndarray, palettes, max_side: int = 320, space: str = "rgb") -> list[np.ndarray]:
    """The image, shrunk by striding to at most ``max_side`` pixels a side,
    in each palette (each pixel to its nearest entry in ``space``): ``(h, w,
    3) uint8`` arrays for a contact sheet."""
    step = max(1, -(-max(rgb.shape[:2]) // max_side))
    small = np.ascontiguousarray(rgb[::step, ::step])
    pixels = WorkingSpace(space).prepare(small.reshape(-1, 3))
    return [palette[pixels.nearest(palette)[0]].reshape(small.shape) for palette in palettes]
