"""The commands: each parses its options, calls one library function and
prints what it returned (see README, "Exit codes")."""
from __future__ import annotations

import json
import os
import sys
from contextlib import contextmanager
from contextlib import ExitStack
from dataclasses import replace
from pathlib import Path

import click

from .. import __version__
from ..errors import ParameterError
from ..limits import MAX_COLORS, PALETTE_FORMATS
from .options import image_output_options, kmeans_options, max_pixels_option, output_options, parse_ks
from .words import (CONTEXT, Failure, OneLineUsageError, QuantizeGroup, check_stdout, describe, note, nothing_matched,
                    progress_bar, write_stdout)

@click.group(cls=QuantizeGroup, default="image", default_if_no_args=False, context_settings=CONTEXT)
@click.version_option(__version__, "-V", "--version", prog_name="quantize")
def cli():
    """Reduce images to K colours with k-means.

    \b
    Examples:
      quantize photo.jpg -k 8              # photo-k8.png and photo-k8.gpl
      quantize photo.jpg -k 16 -o small.png --palette colours.json
      quantize image --help                # every option of the default command
    """


@cli.command("image")
@click.argument("image", type=click.Path(path_type=Path, readable=False, allow_dash=True))
@click.option("-k", "--colors", "k", type=click.IntRange(1, MAX_COLORS),
              help=f"Number of colours, 1-{MAX_COLORS} (or --map).")
@click.option("-o", "--output", type=click.Path(allow_dash=True),
              help="Output image: .png (palette PNG), .gif, or true colour .webp .tif .bmp .jpg; "
                   "- writes a PNG to stdout; a folder (existing, or ending in /) gets the default "
                   "name inside it.  [default: IMAGE-kK.png beside IMAGE]")
@click.option("--palette", "palette_path", type=click.Path(path_type=Path),
              help="Palette file: .gpl, .json, .txt, .hex or .png (swatch); not with --no-palette.  "
                   "[default: OUTPUT with .gpl]")
@click.option("--no-palette", is_flag=True, help="Write no palette file.")
@click.option("--trace", "trace_path", type=click.Path(path_type=Path),
              help="Write the distortion after every iteration: .csv, or .png for a plot.")
@click.option("--show-palette", is_flag=True, help="List every palette colour as hex and share on stdout.")
@click.option("--dssim", "measure_dssim", is_flag=True,
              help="Also measure the DSSIM-like score of the output (RGB images; ~0.35 s per 0.4 megapixels).")
@kmeans_options()
@image_output_options
@output_options
def image_command(image, k, output, palette_path, no_palette, trace_path, show_palette, measure_dssim, options,
                  map_path, render, force, quiet, as_json):
    """Quantize IMAGE to K colours (the default command).  IMAGE - reads stdin.

    \b
    Examples:
      quantize photo.jpg -k 8
      quantize photo.jpg -k 32 -o out/photo.png --palette out/photo.json --seed 3
      quantize logo.png -k 16 --dither floyd-steinberg --no-palette --json
      quantize photo.jpg -k 256 --quality 65-80   # fewest colours reaching quality 80
      quantize sprite.png --map game.gpl -o sprite-game.png
      curl -s https://example.org/a.png | quantize - -k 16 -o - > small.png
      quantize photo.jpg -k 16 --trace trace.png   # the distortion must only go down
    """
    from ..files import names_a_folder, output_name, quantize_file

    if (k is None) == (map_path is None):
        raise OneLineUsageError("give -k K or --map PALETTE (one of them)", click.get_current_context())
    if no_palette and palette_path is not None:
        raise OneLineUsageError("--palette names a palette file and --no-palette asks for none: give one of them",
                                click.get_current_context())
    if str(image) == "-" and output is None:
        raise OneLineUsageError("reading the image from stdin (-) needs -o", click.get_current_context())
    to_stdout = output == "-"
    if to_stdout:
        check_stdout()
    tag = f"k{k}" if map_path is None else Path(map_path).stem
    if output is None or names_a_folder(output):
        output = output_name(image, tag, folder=output)
    output = Path(output)
    palette_path = None if no_palette or (to_stdout and palette_path is None) else (
        palette_path or output.with_suffix(".gpl"))
    with progress_bar("k-means", quiet) as (on_progress, _), _one_blas_thread():
        result = quantize_file(image, k, output=output, palette_path=palette_path, trace_path=trace_path,
                               options=options, output_options=render, map_path=map_path, force=force,
                               measure_dssim=measure_dssim, send=write_stdout if to_stdout else None,
                               on_progress=on_progress)
    for message in result.notes:
        note(message, quiet)
    if result.lossless and map_path is None:
        note(f"{image} has {result.input_colors} colours, no more than K={k}: kept them exactly", quiet)
    if as_json:
        click.echo(json.dumps(result.to_dict()), err=to_stdout)
        return
    psnr = "inf" if result.psnr_db is None else f"{result.psnr_db:.2f}"
    lines = [
        f"{result.input} -> {result.output}" + (f" (palette {result.palette_file})" if result.palette_file else ""),
        f"K {result.k}  colours {result.colors}  PSNR {psnr} dB  quality {result.quality}"
        + ("" if result.delta_e_ok is None else f"  dE(Oklab) {result.delta_e_ok:.2f}")
        + ("" if result.dssim is None else f"  DSSIM {result.dssim:.4f}")
        + f"  time {result.seconds:.2f} s  bytes {result.bytes_in:,} -> {result.bytes_out:,}",
    ]
    stream = sys.stderr if to_stdout else sys.stdout
    lines += palette_lines(result.palette, show_palette, colour=stream.isatty() and not os.environ.get("NO_COLOR"))
    click.echo("\n".join(lines), err=to_stdout)


@contextmanager
def _one_blas_thread():
    """The thread policy of the main command and the elbow: one BLAS thread.  Their matrix
    products are blocks kept small on purpose (the nearest-entry search) or
    thin (colour conversions of n x 3 by 3 x 3), where waking threads costs
    more than they give, the more so on a busy machine (one photo at K = 16:
    0.59 s with two threads, 0.32 s with one, on the shared 2-core machine);
    and with one thread the figures of --json and --trace no longer depend on
    the machine's cores (a threaded sum rounds differently)."""
    from threadpoolctl import threadpool_limits

    with threadpool_limits(limits=1, user_api="blas"):
        yield


def palette_lines(entries, show_all: bool, colour: bool, top: int = 5, per_row: int = 16) -> list[str]:
    """The palette for a person: every colour as ``#hex share`` with ``show_all``;
    else, on a colour terminal, coloured blocks 16 to a row and the ``top`` most
    used as hex; else nothing."""
    if show_all:
        return [f"  {e['hex']}  {100 * e['share']:5.1f}%" for e in entries]
    if not colour:
        return []
    blocks = ["".join(f"\x1b[48;2;{e['rgb'][0]};{e['rgb'][1]};{e['rgb'][2]}m  \x1b[0m" for e in entries[i:i + per_row])
              for i in range(0, len(entries), per_row)]
    most = "  ".join(f"{e['hex']} {100 * e['share']:.1f}%" for e in entries[:top])
    return [f"  {row}" for row in blocks] + [f"  most used: {most}"]


@cli.command("elbow")
@click.argument("image", type=click.Path(path_type=Path, readable=False, allow_dash=True))
@click.option("--k-min", type=click.IntRange(1, MAX_COLORS), default=1, show_default=True,
              help="Smallest K of the sweep.")
@click.option("--k-max", type=click.IntRange(1, MAX_COLORS), default=16, show_default=True,
              help="Largest K of the sweep.")
@click.option("--ks", "ks_text", metavar="LIST", help="K values instead of a range, e.g. 2,4,8,16,32.")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path),
              help="Report folder.  [default: IMAGE-elbow/ beside IMAGE; stdin-elbow/ for -]")
@click.option("--previews", is_flag=True, help="Also write previews.png: the image at every K.")
@kmeans_options(speed=False, space=True)
@max_pixels_option
@output_options
def elbow_command(image, k_min, k_max, ks_text, out_dir, previews, options, max_pixels, force, quiet, as_json):
    """Sweep K over one image and suggest the K at the elbow of the distortion curve.
    IMAGE - reads stdin.

    Writes elbow.csv, elbow.json and elbow.png (and previews.png) into the
    report folder, and prints the table and the suggestion.

    \b
    Examples:
      quantize elbow photo.jpg                 # K = 1..16, report in photo-elbow/
      quantize elbow photo.jpg --ks 2,4,8,16,32,64 --previews
      quantize elbow photo.jpg --k-max 32 --json
      quantize elbow photo.jpg --space oklab   # cluster and find the knee in Oklab
    """
    from .. import elbow

    ks = parse_ks(ks_text, k_min, k_max)
    out_dir = out_dir or elbow.default_folder(image)
    with progress_bar("elbow", quiet) as (on_progress, _), _one_blas_thread():
        report = elbow.run(image, ks, options, out_dir=out_dir, previews=previews, force=force,
                           max_pixels=max_pixels, on_progress=on_progress)
    for message in report.notes:
        note(message, quiet)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "report_dir": str(out_dir), "files": list(report.files)}))
        return
    lines = [f"{'K':>4} {'distortion':>12} {'PSNR dB':>8} {'dE ok':>6} {'iterations':>10} {'seconds':>8}"]
    lines += [f"{p.k:>4} {p.distortion:>12.2f} {p.psnr:>8.2f} {p.delta_e:>6.2f} {p.n_iter:>10} {p.seconds:>8.3f}"
              for p in report.points]
    if report.suggested_k is None:
        lines.append(f"no clear elbow (largest knee strength {report.knee_strength:.1f}; "
                     f"a clear elbow needs {elbow.CLEAR_RATIO:g})")
    else:
        lines.append(f"suggested K: {report.suggested_k} (knee strength {report.knee_strength:.1f}; "
                     f"clear from {elbow.CLEAR_RATIO:g})")
    lines.append(f"report in {out_dir}/: {' '.join(Path(f).name for f in report.files)}")
    click.echo("\n".join(lines))


@cli.command("batch")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path, readable=False))
@click.option("-k", "--colors", "k", type=click.IntRange(1, MAX_COLORS),
              help=f"Number of colours, 1-{MAX_COLORS} (or --map).")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path), required=True,
              help="Output folder; the input tree is mirrored under it.")
@click.option("-r", "--recursive", is_flag=True, help="Walk sub-folders too.")
@click.option("--pattern", "patterns", multiple=True, metavar="GLOB",
              help="File names to take (repeatable).  [default: the image types OpenCV reads]")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Worker processes.  [default: the CPUs this process may use]")
@click.option("--executor", type=click.Choice(["local", "dask"]), default="local", show_default=True,
              help="Run on local processes, or on a Dask distributed cluster (pip install 'quantize[dask]').")
@click.option("--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786.")
@click.option("--palette-format", type=click.Choice(PALETTE_FORMATS), default="gpl", show_default=True,
              help="Palette file written beside each output (OUT/NAME.gpl; png: a swatch OUT/NAME.palette.png), "
                   "or none.")
@click.option("--dry-run", is_flag=True, help="Say what would be done; write nothing.")
@click.option("--shared-palette", is_flag=True,
              help="Fit one palette of K colours to all the images together; every output holds it "
                   "(one PNG palette for RGB and RGBA images alike).")
@kmeans_options()
@image_output_options
@output_options
def batch_command(inputs, k, out_dir, recursive, patterns, jobs, executor, scheduler, palette_format,
                  dry_run, shared_palette, options, map_path, render, force, quiet, as_json):
    """Quantize every image in folders or files INPUTS into OUT_DIR.

    The input tree is mirrored (photos/a/b.jpg -> OUT/a/b.png, with OUT/a/b.gpl).
    Outputs that exist are skipped unless --force, so a run that was stopped
    (even by kill -9) finishes only what is missing when run again.  A bad
    file is reported and the batch goes on; OUT_DIR/manifest.jsonl gets one
    line per file as it finishes.  Only regular files are read (a FIFO in a
    folder is skipped with a note).  One batch at a time runs into OUT_DIR.
    Exit code 0 when every file is done or skipped; 1 when any failed, when
    nothing matched, or when the manifest cannot be written; 3 when OUT_DIR is
    in use by another batch.

    \b
    Examples:
      quantize batch photos/ -k 64 -o small/ --recursive
      quantize batch a.jpg b.png -k 16 -o out/ --palette-format json
      quantize batch frames/ -k 64 -o out/ --shared-palette --dither floyd-steinberg
      quantize batch photos/ -k 32 -o /shared/out --executor dask --scheduler tcp://10.0.0.5:8786
    """
    from .. import batch
    from ..limits import default_jobs

    if executor == "dask" and not scheduler:
        raise ParameterError("--executor dask needs --scheduler ADDRESS")
    if scheduler and executor != "dask":
        raise ParameterError("--scheduler goes with --executor dask")
    if (k is None) == (map_path is None):
        raise OneLineUsageError("give -k K or --map PALETTE (one of them)", click.get_current_context())
    if shared_palette and map_path is not None:
        raise OneLineUsageError("--shared-palette fits a palette; --map gives one: use one of them",
                                click.get_current_context())
    with ExitStack() as held:
        if not dry_run:  # one batch at a time into a folder, from the plan to the manifest
            held.enter_context(batch.locked(out_dir))
        with progress_bar("palette", quiet or not shared_palette) as (on_progress, _):
            work = batch.plan(inputs, out_dir, k, patterns=patterns or batch.DEFAULT_PATTERNS,
                              recursive=recursive, palette_format=palette_format, force=force, options=options,
                              output_options=render, palette=map_path, shared_palette=shared_palette,
                              on_progress=on_progress)
        work = replace(work, **{name: tuple(record.worded(describe) for record in getattr(work, name))
                                for name in ("existing", "noted", "problems")})
        _say_plan(work, quiet)
        if work.matched == 0 and not work.problems:
            raise Failure(nothing_matched(inputs, patterns, recursive), 1)
        if dry_run:
            _say_dry_run(work)
            return
        summary = _run_batch(batch, work, out_dir, jobs or default_jobs(),
                             scheduler if executor == "dask" else None, quiet)
    if as_json:
        click.echo(json.dumps(summary.to_dict()))
    else:
        click.echo(f"done {summary.done}, skipped {summary.skipped}, failed {summary.failed}; "
                   f"bytes {summary.bytes_in:,} -> {summary.bytes_out:,}; "
                   f"{summary.seconds:.1f} s; manifest {summary.manifest}")
    if summary.manifest_error is not None:
        click.echo(f"quantize: {describe(summary.manifest_error)}", err=True)
    if summary.failed or summary.manifest_error is not None:
        raise click.exceptions.Exit(1)


def _say_plan(work, quiet: bool) -> None:
    """What the batch's plan found besides its jobs: the problems (errors),
    what was skipped with a note, and outputs made with other parameters."""
    for record in work.problems:
        click.echo(f"quantize: {record.input}: {record.error}", err=True)
    for record in work.noted:
        note(f"{record.input}: {record.error}", quiet)
    stale = [record for record in work.existing if record.error]
    if stale:
        others = f" (and {len(stale) - 1} more like it)" if len(stale) > 1 else ""
        note(f"skipped {stale[0].output}: {stale[0].error}{others}", quiet)


def _say_dry_run(work) -> None:
    """What a batch would do, on stdout; exit code 1 when the plan found problems."""
    for job in work.jobs:
        click.echo(f"would quantize {job.source} -> {job.output}")
    for record in work.existing:
        click.echo(f"would skip {record.input} ({record.output} {record.error or 'exists'})")
    if work.problems:
        raise click.exceptions.Exit(1)


def _run_batch(batch, work, out_dir, workers: int, scheduler, quiet: bool):
    """Run the plan ``work`` under a bar of files (failures written above it, the
    bytes saved beside it); the summary."""
    saved = 0
    with progress_bar("batch", quiet, total=len(work.jobs), unit="file") as (on_progress, bar):
        def on_record(record):
            nonlocal saved
            if record.status is batch.Status.FAILED:
                bar.write(f"quantize: {record.error}", file=sys.stderr)
            elif record.status is batch.Status.DONE:
                for message in () if quiet else record.notes:
                    bar.write(f"quantize: note: {message}", file=sys.stderr)
                saved += record.bytes_in - record.bytes_out
                bar.set_postfix(saved=f"{saved / 1e6:.1f} MB", refresh=False)

        return batch.run(work, out_dir, workers=workers, scheduler=scheduler, on_progress=on_progress,
                         on_record=on_record, describe=describe)


@cli.command("cluster")
@click.argument("source", type=click.Path(path_type=Path, readable=False))
@click.option("-k", "--clusters", "k", type=click.IntRange(min=1),
              help="Number of clusters of the written assignments, pictures and model.  [default: the smallest "
                   "K of --ks]")
@click.option("--ks", "ks_text", metavar="LIST", help="Also score every K of this list, e.g. 10,16,36,64,144,256.")
@click.option("-o", "--output", "out_dir", type=click.Path(path_type=Path),
              help="Report folder.  [default: SOURCE-clusters/ beside SOURCE]")
@click.option("--size", type=click.IntRange(min=1), default=28, show_default=True,
              help="Images of a folder are made SIZE x SIZE (aspect kept by padding).")
@click.option("--grey/--colour", "grey", default=True, show_default=True,
              help="Images of a folder as grey levels, or as RGB.")
@click.option("--labels", "labels_path", type=click.Path(path_type=Path, readable=False),
              help="True labels: a .npy array, or a CSV (one label a line, or name,label).")
@click.option("--test", "test_path", type=click.Path(path_type=Path, readable=False),
              help="A test set (as SOURCE, loaded the same way): each K labels it and scores it.  "
                   "[default: t10k-images-idx3-ubyte[.gz] beside train-images-idx3-ubyte[.gz]]")
@click.option("--test-labels", "test_labels_path", type=click.Path(path_type=Path, readable=False),
              help="True labels of the test set, as --labels.")
@click.option("--no-test", is_flag=True, help="No test set, not even MNIST's t10k files found beside SOURCE.")
@click.option("--save-model", "model_path", type=click.Path(path_type=Path),
              help="Also write the model (model.npz of the report folder) to this file.")
@click.option("--minibatch", is_flag=True, help="Mini-batch k-means (Sculley 2010) instead of full k-means.")
@click.option("--batch-size", type=click.IntRange(min=1), default=1024, show_default=True,
              help="Vectors per mini-batch step.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Threads decoding a folder's images.  [default: the CPUs this process may use]")
@kmeans_options(speed=False)
@output_options
def cluster_command(source, k, ks_text, out_dir, size, grey, labels_path, test_path, test_labels_path, no_test,
                    model_path, minibatch, batch_size, jobs, options, force, quiet, as_json):
    """Group whole images with k-means: every centroid is a picture.

    SOURCE is a folder of images (one subfolder per class gives the true
    labels), MNIST's train-images-idx3-ubyte[.gz] (labels from the matching
    labels file), or a .npy array (n, d), (n, h, w) or (n, h, w, 3).  Writes
    assignments.csv, centroids.png, clusters.json, metrics.csv, metrics.png
    model.npz (for quantize classify) and one contact sheet per cluster
    (sheets/) into the report folder.  With labels, each cluster is named by
    its most common label and scored (accuracy, homogeneity, completeness,
    V-measure, adjusted Rand index); with a test set, its vectors take their
    nearest centroid's label and are scored too.  A file that cannot be read
    is reported and the rest are clustered; the exit code is then 1.

    \b
    Examples:
      quantize cluster train-images-idx3-ubyte.gz -k 36 --ks 10,16,36,64,144,256 --minibatch
      quantize cluster train/ -k 64 --test test/ --save-model digits.npz
      quantize cluster photos/ -k 8 --size 32 --colour -o photo-groups/
      quantize cluster digits.npy -k 10 --labels digit-labels.npy --json
    """
    from .. import cluster
    from ..limits import default_jobs
    from ..report import metric_rows

    if no_test and (test_path or test_labels_path):
        raise OneLineUsageError("--no-test asks for no test set: not with --test or --test-labels",
                                click.get_current_context())
    if test_labels_path and not test_path:
        raise OneLineUsageError("--test-labels goes with --test", click.get_current_context())
    if k is None and not ks_text:
        raise OneLineUsageError("give -k K, or --ks LIST (its smallest K is then the K of the report)",
                                click.get_current_context())
    ks = parse_ks(ks_text, 1, 1, most=None) if ks_text else []
    k = ks[0] if k is None else k
    out_dir = out_dir or source.with_name(f"{source.name.split('.')[0]}-clusters")
    with progress_bar("cluster", quiet) as (on_progress, _):
        report = cluster.run(source, k, ks, options, out_dir=out_dir, size=size, grey=grey, labels=labels_path,
                             test=test_path, test_labels=test_labels_path, find_test=not no_test,
                             save_model=model_path, minibatch=minibatch, batch_size=batch_size,
                             jobs=jobs or default_jobs(), force=force, on_progress=on_progress, describe=describe)
    for name, cause in report.failures:
        click.echo(f"quantize: {name}: {cause}", err=True)
    for message in report.notes:
        note(message, quiet)
    if as_json:
        click.echo(json.dumps({**report.to_dict(), "report_dir": str(out_dir)}))
    else:
        click.echo("\n".join(_cluster_table(report, metric_rows(report), out_dir, model_path)))
    if report.failures:
        raise click.exceptions.Exit(1)


def _cluster_table(report, rows, out_dir, model_path) -> list[str]:
    """What ``quantize cluster`` prints: the vectors, a row per K, the files."""
    labelled = report.labels is not None
    tested = bool(rows) and rows[0].get("test_accuracy") is not None
    head = f"{'K':>4} {'inertia':>12}" + (f" {'accuracy':>8} {'V-meas.':>7} {'ARI':>6} {'homog.':>6} "
                                          f"{'compl.':>6}" if labelled else "")
    head += f" {'test acc.':>9}" if tested else ""
    lines = [f"{len(report.names)} vectors of {'x'.join(map(str, report.shape))}, {report.method}"
             + (f"; test set {len(report.test_names)} vectors" if report.test_source is not None else ""),
             head + f" {'iter':>5} {'seconds':>8}"]
    for row in rows:
        line = f"{row['k']:>4} {row['inertia']:>12.1f}"
        if labelled:
            line += (f" {row['accuracy']:>8.3f} {row['v_measure']:>7.3f} {row['adjusted_rand']:>6.3f} "
                     f"{row['homogeneity']:>6.3f} {row['completeness']:>6.3f}")
        line += f" {row['test_accuracy']:>9.3f}" if tested else ""
        lines.append(line + f" {row['iterations']:>5} {row['seconds']:>8.2f}")
    parts = sorted({Path(f).relative_to(out_dir).parts[0] for f in report.files
                    if model_path is None or Path(f) != Path(model_path)})
    lines.append(f"report in {out_dir}/: {' '.join(parts)}" + (f"; model also in {model_path}" if model_path else ""))
    return lines


@cli.command("classify")
@click.argument("model_path", metavar="MODEL", type=click.Path(path_type=Path, readable=False))
@click.argument("inputs", metavar="INPUT...", nargs=-1, required=True,
                type=click.Path(path_type=Path, readable=False))
@click.option("-o", "--output", type=click.Path(path_type=Path),
              help="Write the CSV to this file (- is stdout).  [default: stdout]")
@click.option("-j", "--jobs", type=click.IntRange(min=1), default=None,
              help="Threads decoding a folder's images.  [default: the CPUs this process may use]")
@max_pixels_option
@output_options
def classify_command(model_path, inputs, output, jobs, max_pixels, force, quiet, as_json):
    """Label pictures with a model of quantize cluster (its model.npz).

    INPUT... are image files, folders of images, IDX files or .npy arrays, in
    any mix; pictures are made as the model's training pictures were (size,
    grey or colour).  Each vector goes to its nearest centroid and takes that
    cluster's majority training label.  Prints CSV, name,cluster,label,distance
    (or writes it to -o FILE).  Exit code 2 when the pictures are not of the
    model's shape; 1 when some input could not be read (the rest are written).
    --json prints one JSON object (the rows under "rows") instead of the CSV.

    \b
    Examples:
      quantize classify digits-clusters/model.npz t10k-images-idx3-ubyte.gz > labels.csv
      quantize classify model.npz scans/ one.png -o labels.csv
    """
    from ..limits import default_jobs
    from ..model import classify_files
    from ..report import plain

    if output is not None and str(output) == "-":
        output = None  # stdout, as without -o
    with progress_bar("classify", quiet) as (on_progress, _):
        result = classify_files(model_path, list(inputs), output=output, force=force, jobs=jobs or default_jobs(),
                                max_pixels=max_pixels, on_progress=on_progress, describe=describe)
    for name, cause in result.failures:
        click.echo(f"quantize: {name}: {cause}", err=True)
    if as_json:
        rows = [{"name": name, "cluster": cluster, "label": None if label is None else plain(label),
                 "distance": distance} for name, cluster, label, distance in result.rows()]
        click.echo(json.dumps({"model": str(model_path), "vectors": len(result.names), "output": result.output,
                               "failures": [{"input": n, "error": c} for n, c in result.failures], "rows": rows}))
    elif output is None:
        write_stdout(result.csv())
    if result.failures:
        raise click.exceptions.Exit(1)


def main():
    """Console-script entry point."""
    cli(prog_name="quantize")


if __name__ == "__main__":
    main()
