"""Where outputs go and what may never be one: a folder given as -o, inputs
that --force may not overwrite, every target checked before any work; the
elbow from stdin; alpha with --space; options that would be ignored; file
names that look like options."""
import json
import shutil

import numpy as np
import pytest
from click.testing import CliRunner

from quantize import read_image
from quantize.cli import cli


def run(*args, input=None):
    return CliRunner().invoke(cli, [str(a) for a in args], input=input)


@pytest.fixture
def good(tmp_path, samples):
    path = tmp_path / "good.png"
    shutil.copy(samples / "blobs.png", path)
    return path


@pytest.fixture
def rgba(tmp_path, samples):
    path = tmp_path / "logo.png"
    shutil.copy(samples / "logo-rgba.png", path)
    return path


def no_work(monkeypatch):
    """Make reading an image fail loudly: a target must be refused before."""
    from quantize import files

    def refuse(*args, **kwargs):
        raise AssertionError("the image was read before the targets were checked")

    monkeypatch.setattr(files, "read_bytes", refuse)


# A folder given as -o: the default name inside it, as cp FILE DIR/.

def test_an_existing_folder_as_output_gets_the_default_names(good, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    result = run(good, "-k", 8, "-o", folder)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["good-k8.gpl", "good-k8.png"]
    assert result.stdout.startswith(f"{good} -> {folder / 'good-k8.png'} (palette {folder / 'good-k8.gpl'})")


def test_the_current_folder_as_output(good, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("good.png", "-k", 8, "-o", ".")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "good-k8.png").exists() and (tmp_path / "good-k8.gpl").exists()


def test_a_folder_name_ending_in_a_slash_is_made(good, tmp_path):
    result = run(good, "-k", 4, "--no-palette", "-o", f"{tmp_path / 'new' / 'sub'}/")
    assert result.exit_code == 0, result.output
    assert [p.name for p in (tmp_path / "new" / "sub").iterdir()] == ["good-k4.png"]


def test_a_folder_as_output_with_map_and_from_stdin(good, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    assert run(good, "-k", 8, "--palette", tmp_path / "pal8.gpl", "-o", tmp_path / "a.png").exit_code == 0
    result = run(good, "--map", tmp_path / "pal8.gpl", "-o", folder)
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == ["good-pal8.gpl", "good-pal8.png"]
    piped = run("-", "-k", 4, "-o", folder, input=good.read_bytes())
    assert piped.exit_code == 0, piped.output
    assert (folder / "stdin-k4.png").exists() and (folder / "stdin-k4.gpl").exists()


def test_a_folder_as_output_never_overwrites_what_is_inside(good, tmp_path):
    folder = tmp_path / "out"
    folder.mkdir()
    (folder / "good-k8.png").write_bytes(b"mine")
    result = run(good, "-k", 8, "-o", folder)
    assert result.exit_code == 3
    assert result.stderr == f"quantize: {folder / 'good-k8.png'}: exists; use --force to overwrite it\n"
    assert (folder / "good-k8.png").read_bytes() == b"mine"


@pytest.mark.parametrize("command", ["elbow", "batch"])
def test_a_file_given_as_the_report_or_batch_folder(good, tmp_path, command):
    """elbow and batch take folders already: an existing file there is one
    clear line (this held before; kept consistent with the main command)."""
    afile = tmp_path / "afile"
    afile.write_text("mine")
    args = ["-q"] if command == "elbow" else ["-k", 4]
    result = run(command, good, "-o", afile, *args)
    assert result.exit_code == 3
    assert result.stderr == f"quantize: {afile}: exists and is not a folder\n"
    assert afile.read_text() == "mine"


# --force never makes an input an output.

def test_force_never_overwrites_the_palette_given_with_map(good, tmp_path):
    palette = tmp_path / "pal8.gpl"
    assert run(good, "-k", 8, "--palette", palette, "-o", tmp_path / "a.png").exit_code == 0
    before = palette.read_bytes()
    result = run(good, "--map", palette, "--palette", palette, "--force", "-o", tmp_path / "o.png")
    assert result.exit_code == 3
    assert result.stderr == f"quantize: {palette}: is the input; refusing to overwrite it\n"
    assert palette.read_bytes() == before and not (tmp_path / "o.png").exists()


def test_force_never_overwrites_the_image_given_with_map(good, tmp_path):
    mapped = tmp_path / "pal.png"
    assert run(good, "-k", 8, "--no-palette", "-o", mapped).exit_code == 0
    before = mapped.read_bytes()
    result = run(good, "-o", mapped, "--map", mapped, "--force", "--no-palette")
    assert result.exit_code == 3
    assert result.stderr == f"quantize: {mapped}: is the input; refusing to overwrite it\n"
    assert mapped.read_bytes() == before


def test_the_library_counts_the_map_as_an_input(good, tmp_path):
    from quantize.errors import OutputExistsError
    from quantize.files import quantize_file

    palette = tmp_path / "pal.gpl"
    palette.write_text("GIMP Palette\n0 0 0 black\n255 255 255 white\n")
    with pytest.raises(OutputExistsError) as caught:
        quantize_file(good, None, output=tmp_path / "o.png", palette_path=palette, map_path=palette, force=True)
    assert (caught.value.reason, caught.value.path) == ("is-input", palette)


# Every target is checked before any work.

@pytest.mark.parametrize("which", ["palette", "trace"])
@pytest.mark.parametrize("force", [False, True])
def test_a_folder_in_a_targets_place_is_refused_before_any_work(good, tmp_path, monkeypatch, which, force):
    folder = tmp_path / ("good-k8.gpl" if which == "palette" else "trace.csv")
    folder.mkdir()
    no_work(monkeypatch)
    args = ["--trace", folder] if which == "trace" else []
    result = run(good, "-k", 8, *args, *(["--force"] if force else []))
    assert result.exit_code == 1, result.output
    assert result.stderr == f"quantize: {folder}: cannot write: Is a directory\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["good.png", folder.name])


def test_a_file_in_the_place_of_a_targets_folder_is_refused_before_any_work(good, tmp_path, monkeypatch):
    (tmp_path / "afile").write_text("mine")
    no_work(monkeypatch)
    result = run(good, "-k", 8, "--palette", tmp_path / "afile" / "p.gpl", "-o", tmp_path / "o.png")
    assert result.exit_code == 1, result.output
    assert result.stderr == (f"quantize: {tmp_path / 'afile' / 'p.gpl'}: cannot make its folder: "
                             f"{tmp_path / 'afile'} is a file\n")
    assert not (tmp_path / "o.png").exists()


# The elbow from stdin.

def test_elbow_from_stdin_writes_stdin_elbow_in_the_current_folder(good, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("elbow", "-", "--k-max", 4, input=good.read_bytes())
    assert result.exit_code == 0, result.output
    assert not (tmp_path / "--elbow").exists()
    assert sorted(p.name for p in (tmp_path / "stdin-elbow").iterdir()) == ["elbow.csv", "elbow.json", "elbow.png"]
    assert "report in stdin-elbow/" in result.stdout


def test_elbow_from_stdin_with_an_output_folder(good, tmp_path):
    result = run("elbow", "-", "--k-max", 4, "-o", tmp_path / "rep", "--json", input=good.read_bytes())
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["report_dir"] == str(tmp_path / "rep")
    assert (tmp_path / "rep" / "elbow.json").exists()


# Alpha with --space oklab or lab: quantized in rgb, with a note.

@pytest.mark.parametrize("space", ["oklab", "lab"])
def test_alpha_with_another_space_is_quantized_in_rgb_with_a_note(rgba, tmp_path, space):
    result = run(rgba, "-k", 8, "--space", space, "-o", tmp_path / "s.png", "--no-palette")
    assert result.exit_code == 0, result.output
    assert result.stderr == f"quantize: note: {rgba} has alpha: quantized in rgb, not {space}\n"
    assert run(rgba, "-k", 8, "-o", tmp_path / "rgb.png", "--no-palette").exit_code == 0
    np.testing.assert_array_equal(read_image(tmp_path / "s.png"), read_image(tmp_path / "rgb.png"))
    assert run(rgba, "-k", 8, "--space", space, "-o", tmp_path / "q.png", "-q", "--force").stderr == ""


def test_alpha_with_another_space_and_a_given_palette(rgba, tmp_path):
    palette = tmp_path / "p.gpl"
    palette.write_text("GIMP Palette\n0 0 0 black\n255 255 255 white\n200 30 30 red\n")
    result = run(rgba, "--map", palette, "--space", "lab", "-o", tmp_path / "m.png", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["notes"] == [f"{rgba} has alpha: quantized in rgb, not lab"]


def test_a_batch_with_alpha_and_another_space_goes_on(rgba, good, tmp_path):
    result = run("batch", rgba, good, "-k", 8, "--space", "oklab", "-o", tmp_path / "out", "--jobs", 1, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["done"] == 2
    assert (tmp_path / "out" / "logo.png").exists() and (tmp_path / "out" / "good.png").exists()
    assert "note: " in result.stderr and "has alpha: quantized in rgb, not oklab" in result.stderr  # (it was lost)
    manifest = [json.loads(line) for line in (tmp_path / "out" / "manifest.jsonl").read_text().splitlines()]
    assert [len(row.get("notes", [])) for row in sorted(manifest, key=lambda row: row["input"])] == [0, 1]


# Options that would be ignored or silently changed: a note, or a usage error.

@pytest.mark.parametrize("suffix", [".jpg", ".bmp"])
def test_alpha_dropped_by_the_output_format_gets_a_note(rgba, tmp_path, suffix):
    out = tmp_path / f"o{suffix}"
    result = run(rgba, "-k", 8, "-o", out, "--no-palette")
    assert result.exit_code == 0, result.output
    assert result.stderr == (f"quantize: note: {out}: a {suffix} file holds no transparency: "
                             "written opaque, transparent pixels black\n")
    assert run(rgba, "-k", 8, "-o", tmp_path / "o.png", "--no-palette").stderr == ""


def test_an_opaque_image_as_jpg_gets_no_note(good, tmp_path):
    assert run(good, "-k", 8, "-o", tmp_path / "o.jpg", "--no-palette").stderr == ""


def test_dither_strength_without_dither_gets_a_note(good, tmp_path):
    result = run(good, "-k", 8, "--dither-strength", 0.5, "-o", tmp_path / "o.png", "--no-palette")
    assert result.exit_code == 0, result.output
    assert result.stderr == "quantize: note: --dither-strength does nothing without --dither\n"
    quiet = run(good, "-k", 8, "--dither-strength", 0.5, "-o", tmp_path / "q.png", "--no-palette", "-q")
    assert quiet.stderr == ""
    dithered = run(good, "-k", 8, "--dither", "ordered", "--dither-strength", 0.5, "-o", tmp_path / "d.png",
                   "--no-palette")
    assert dithered.exit_code == 0 and dithered.stderr == ""


def test_dither_strength_without_dither_in_a_batch(good, tmp_path):
    result = run("batch", good, "-k", 4, "-o", tmp_path / "out", "--dither-strength", 0.3, "--jobs", 1)
    assert result.exit_code == 0, result.output
    assert "quantize: note: --dither-strength does nothing without --dither\n" in result.stderr


@pytest.mark.parametrize("speed", [2, 4, 10])
def test_exact_with_another_speed_is_a_usage_error(good, tmp_path, speed):
    result = run(good, "-k", 8, "--exact", "--speed", speed, "-o", tmp_path / "o.png")
    assert result.exit_code == 2
    assert result.stderr == (f"quantize: error: --exact is --speed 1: not with --speed {speed} "
                             "(see 'quantize image --help')\n")
    assert not (tmp_path / "o.png").exists()


def test_exact_with_speed_one_is_fine(good, tmp_path):
    assert run(good, "-k", 8, "--exact", "--speed", 1, "-o", tmp_path / "o.png").exit_code == 0


def test_palette_with_no_palette_is_a_usage_error(good, tmp_path):
    result = run(good, "-k", 8, "--palette", tmp_path / "p.gpl", "--no-palette", "-o", tmp_path / "o.png")
    assert result.exit_code == 2
    assert result.stderr == ("quantize: error: --palette names a palette file and --no-palette asks for none: "
                             "give one of them (see 'quantize image --help')\n")
    assert list(tmp_path.iterdir()) == [good]


def test_dssim_on_alpha_gets_a_note(rgba, tmp_path):
    result = run(rgba, "-k", 8, "--dssim", "-o", tmp_path / "o.png", "--no-palette", "--json")
    assert result.exit_code == 0, result.output
    summary = json.loads(result.stdout)
    assert summary["dssim"] is None
    assert summary["notes"] == [f"{rgba} has alpha: no DSSIM (it is measured on RGB images only)"]
    assert f"quantize: note: {rgba} has alpha: no DSSIM (it is measured on RGB images only)\n" == result.stderr


# A file name that starts with '-'.

@pytest.fixture
def dash(tmp_path, samples, monkeypatch):
    shutil.copy(samples / "blobs.png", tmp_path / "-dash.png")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_a_dash_name_is_a_usage_error_that_says_how_to_name_it(dash):
    result = run("-dash.png", "-k", 8)
    assert result.exit_code == 2
    assert result.stderr == ("quantize: error: no such option: -dash.png; to name a file that starts with '-', "
                             "write ./-dash.png or put it after -- (see 'quantize image --help')\n")
    assert result.stdout == ""
    assert sorted(p.name for p in dash.iterdir()) == ["-dash.png"]


@pytest.mark.parametrize("args", [["--", "-dash.png", "-k", 8], ["./-dash.png", "-k", 8],
                                  ["-k", 8, "--", "-dash.png"], ["image", "-k", 8, "--", "-dash.png"]])
def test_a_dash_name_after_double_dash_or_with_a_path(dash, args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    assert (dash / "-dash-k8.png").exists() and (dash / "-dash-k8.gpl").exists()


def test_an_unknown_option_of_a_command_says_the_same(dash):
    result = run("elbow", "-dash.png")
    assert result.exit_code == 2
    assert result.stderr == ("quantize: error: no such option: -dash.png; to name a file that starts with '-', "
                             "write ./-dash.png or put it after -- (see 'quantize elbow --help')\n")
    assert run("--bogus", "x.png").stderr.startswith("quantize: error: no such option: --bogus; to name a file")


@pytest.mark.parametrize("args", [["-h"], ["--help"]])
def test_help_and_version_still_work(args):
    result = run(*args)
    assert result.exit_code == 0 and result.stdout.startswith("Usage: ")
    assert "[OPTIONS] COMMAND [ARGS]..." in result.stdout and "Reduce images to K colours" in result.stdout
    version = run("-V")
    assert version.exit_code == 0 and version.stdout.startswith("quantize, version ")


def test_options_before_the_image_still_work(good, tmp_path):
    result = run("-k", 4, "--no-palette", "-o", tmp_path / "o.png", good)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "o.png").exists()


def test_a_gif_too_wide_from_the_command_line_names_its_file(tmp_path):
    """The encoder's error reaches the user with the output's name (it said
    'cannot encode a GIF ...' naming no file)."""
    import cv2

    source = tmp_path / "wide.png"
    cv2.imwrite(str(source), np.zeros((1, 65536, 3), np.uint8))
    out = tmp_path / "wide.gif"
    result = run(source, "-k", 2, "-o", out, "--no-palette")
    assert result.exit_code == 1
    assert result.stderr.startswith(f"quantize: {out}: cannot encode a GIF of 65536x1 pixels")
    assert not out.exists()


def test_cluster_never_writes_over_its_labels_file(tmp_path):
    """The labels given with --labels are an input: a report file of the same
    name is refused even with --force (exit 3), and the labels keep their bytes."""
    rng = np.random.default_rng(0)
    np.save(tmp_path / "v.npy", rng.random((20, 4)).astype(np.float32))
    report = tmp_path / "rep"
    report.mkdir()
    labels = report / "assignments.csv"
    labels.write_text("\n".join(str(i % 2) for i in range(20)) + "\n")
    before = labels.read_bytes()
    result = run("cluster", tmp_path / "v.npy", "-k", 2, "--labels", labels, "-o", report, "--force")
    assert result.exit_code == 3, result.output
    assert result.stderr == f"quantize: {labels}: is the input; refusing to overwrite it\n"
    assert labels.read_bytes() == before


def test_a_shared_palette_over_images_with_alpha_in_another_space(rgba, good, tmp_path):
    """--shared-palette --space oklab over RGB and RGBA images: one palette,
    fitted in rgb (it failed with exit 2 naming no file)."""
    result = run("batch", rgba, good, "-k", 8, "--space", "oklab", "--shared-palette", "-o", tmp_path / "out",
                 "--jobs", 1)
    assert result.exit_code == 0, result.output
    assert "has alpha: quantized in rgb, not oklab" in result.stderr
    assert (tmp_path / "out" / "logo.png").exists() and (tmp_path / "out" / "good.png").exists()
