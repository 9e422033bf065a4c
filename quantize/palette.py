"""Palette files: GIMP ``.gpl``, ``.json``, ``.txt``/``.hex`` and a ``.png`` swatch.

The format is chosen by the file's extension.  Every text format can be read
back (:func:`read_palette`), and a palette written then read is unchanged.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .checks import is_int, is_real
from .errors import ImageReadError, ParameterError
from .imageio import atomic_write, encode_quantized, read_image
from .limits import MAX_COLORS

TEXT_FORMATS = (".gpl", ".json", ".txt", ".hex")  # read back by read_palette
FORMATS = (*TEXT_FORMATS, ".png")
SWATCH_SIZE = 32  # pixels per colour square
SWATCH_COLUMNS = 16
MAX_FILE_BYTES = 4 << 20  # a palette file read is at most this long (256 named colours take a few kB)

_HEX = re.compile(r"#?([0-9a-fA-F]{6}(?:[0-9a-fA-F]{2})?)")
_HEX_DIGITS = re.compile(r"[0-9a-fA-F]+")
_DIGITS = re.compile(r"[0-9]+")


def to_hex(color) -> str:
    """``#rrggbb`` of an RGB triple, ``#rrggbbaa`` of an RGBA one."""
    return "#" + "".join(f"{int(c):02x}" for c in color)


def palette_entries(colors: np.ndarray, counts: np.ndarray) -> list[dict]:
    """One dict per colour of ``colors (m, 3|4) uint8`` with pixel ``counts (m,)``:
    ``hex``, ``rgb`` (and ``alpha`` for RGBA), ``count`` and ``share`` of pixels."""
    total = int(np.sum(counts)) or 1
    entries = []
    for c, n in zip(colors, counts):
        entry = {"hex": to_hex(c), "rgb": [int(v) for v in c[:3]]}
        if len(c) == 4:
            entry["alpha"] = int(c[3])
        entries.append({**entry, "count": int(n), "share": int(n) / total})
    return entries


def check_palette_suffix(path) -> None:
    """Raise :class:`ParameterError` unless ``path`` ends in a palette format."""
    if Path(path).suffix.lower() not in FORMATS:
        raise ParameterError(f"{path}: unknown palette format; use one of {', '.join(FORMATS)}", path=path)


def write_palette(path, colors: np.ndarray, counts: np.ndarray, name: str = "quantize") -> None:
    """Write the palette ``colors (m, 3|4) uint8`` with pixel ``counts (m,)`` in the format of ``path``."""
    atomic_write(path, encode_palette(path, colors, counts, name))


def encode_palette(path, colors: np.ndarray, counts: np.ndarray, name: str = "quantize") -> bytes:
    """The bytes of a palette file of ``colors (m, 3|4) uint8`` with pixel
    ``counts (m,)``, in the format of ``path``'s extension."""
    path = Path(path)
    check_palette_suffix(path)
    suffix = path.suffix.lower()
    if suffix == ".png":
        return encode_quantized(".png", swatch_indices(len(colors)), colors)
    entries = palette_entries(colors, counts)
    if suffix == ".gpl":
        lines = ["GIMP Palette", f"Name: {name}", f"Columns: {min(len(colors), SWATCH_COLUMNS)}", "#"]
        lines += [
            f"{e['rgb'][0]:3d} {e['rgb'][1]:3d} {e['rgb'][2]:3d}\t{e['hex']} {100 * e['share']:.2f}%"
            for e in entries
        ]
        text = "\n".join(lines) + "\n"
    elif suffix == ".json":
        text = json.dumps({"name": name, "colors": entries}, indent=2) + "\n"
    else:
        text = "".join(e["hex"] + "\n" for e in entries)
    return text.encode("utf-8")


def swatch_indices(n_colors: int) -> np.ndarray:
    """Palette indices ``(h, w) uint8`` of a swatch: one square per colour, in rows of 16."""
    columns = min(n_colors, SWATCH_COLUMNS)
    rows = -(-n_colors // columns)
    grid = np.arange(rows * columns).reshape(rows, columns)
    grid = np.minimum(grid, n_colors - 1)  # pad the last row with the last colour
    return np.kron(grid, np.ones((SWATCH_SIZE, SWATCH_SIZE), dtype=np.int64)).astype(np.uint8)


def read_palette(path) -> np.ndarray:
    """Read a ``.gpl``, ``.json``, ``.txt`` or ``.hex`` palette as ``(m, 3)`` RGB
    or, when it gives alpha, ``(m, 4)`` RGBA ``uint8``, 1 <= m <= 256.

    What is read, besides what :func:`write_palette` writes (a UTF-8 byte
    order mark at the start of any of them is skipped):

    * ``.gpl``: GIMP's palette, first line ``GIMP Palette``; header lines
      (``Name:``, ``Columns:``), ``#`` comments and blank lines skipped; each
      colour a row ``R G B`` of whole numbers 0-255, then an optional name.
      With Aseprite's header ``Channels: RGBA``, rows are ``R G B A``.
    * ``.json``: ``{"colors": [...]}``, each entry ``{"rgb": [R, G, B]}``
      (optionally ``"alpha"``; or ``{"hex": "#rrggbb"}``), a hex string as
      Lospec writes, or a list ``[R, G, B]`` or ``[R, G, B, A]``.  Values
      must be whole numbers 0-255 (``10.0`` is 10; ``10.7`` is refused, not
      truncated).
    * ``.txt`` and ``.hex``: one colour a line: ``#rrggbb``, ``rrggbb``
      (Lospec), ``#rrggbbaa``, or eight digits without ``#``, which are
      Paint.NET's ``aarrggbb``; blank lines, ``;`` lines (Paint.NET) and ``#``
      lines that are not a colour (``# a comment``) skipped.

    Colours without alpha are opaque; when every colour is opaque the
    palette is RGB, ``(m, 3)``, as :func:`load_palette` takes an image's.

    Raises :class:`ImageReadError` naming the file: ``"FILE: not a valid
    .gpl palette (cause)"`` (the cause names the line or colour at fault),
    or ``"FILE: has N colours; a palette holds at most 256"``.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TEXT_FORMATS:
        raise ParameterError(f"{path}: cannot read palettes of this format", path=path)
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read: {error.strerror or error}", path=path) from None
    if len(data) > MAX_FILE_BYTES:
        raise ImageReadError(f"{path}: not a valid {suffix} palette (over {MAX_FILE_BYTES >> 20} MiB)",
                             path=path, limit=MAX_FILE_BYTES)
    try:
        colors = _PARSERS[suffix](data.decode("utf-8-sig"))
        if not colors:
            raise _Bad("no colours")
    except UnicodeDecodeError as error:
        cause, value = f"not UTF-8 text: byte 0x{data[error.start]:02x} at offset {error.start}", None
    except _Bad as bad:
        cause, value = bad.args[0], bad.value
    else:
        if len(colors) > MAX_COLORS:
            raise ImageReadError(f"{path}: has {len(colors)} colours; a palette holds at most {MAX_COLORS}",
                                 path=path, value=len(colors), limit=MAX_COLORS)
        if all(len(c) == 3 or c[3] == 255 for c in colors):  # nothing transparent: RGB, as an image's
            return np.array([c[:3] for c in colors], dtype=np.uint8)
        return np.array([c + [255] * (4 - len(c)) for c in colors], dtype=np.uint8)  # without alpha: opaque
    raise ImageReadError(f"{path}: not a valid {suffix} palette ({cause})", path=path, value=value)


class _Bad(Exception):
    """What is wrong with a palette file's text (one line), and the value at fault."""

    def __init__(self, cause: str, value=None):
        super().__init__(cause)
        self.value = value


def _channel(value, where: str) -> int:
    """``value`` as an int when it is a whole number from 0 to 255 (not a bool;
    a float only when whole); else :class:`_Bad`."""
    whole = is_int(value) or (is_real(value) and float(value).is_integer())
    if not whole or not 0 <= value <= 255:
        raise _Bad(f"{where}: {_shown(value)} is not a whole number from 0 to 255", value)
    return int(value)


def _shown(value) -> str:
    """``value`` for a message: its repr, cut to 40 characters."""
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _hex_colour(text: str, where: str, bare_is_argb: bool = False) -> list[int]:
    """The values of a hex colour ``#rrggbb``, ``#rrggbbaa``, ``rrggbb`` or
    ``rrggbbaa`` (``aarrggbb`` with ``bare_is_argb``); else :class:`_Bad`."""
    match = _HEX.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise _Bad(f"{where}: {_shown(text)} is not a colour (#rrggbb or #rrggbbaa)", text)
    digits = match.group(1)
    values = [int(digits[i:i + 2], 16) for i in range(0, len(digits), 2)]
    if bare_is_argb and len(values) == 4 and not text.startswith("#"):
        values = values[1:] + values[:1]  # Paint.NET: aarrggbb
    return values


def _read_json(text: str) -> list[list[int]]:
    """The colours of a ``.json`` palette (see :func:`read_palette`)."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise _Bad(f"not JSON: {error.msg} at line {error.lineno}, column {error.colno}") from None
    except RecursionError:
        raise _Bad("not JSON: nested too deeply") from None
    if not isinstance(data, dict) or not isinstance(data.get("colors"), list):
        raise _Bad('no "colors" list')
    colors = []
    for number, entry in enumerate(data["colors"], 1):
        where = f"colour {number}"
        if isinstance(entry, str):  # Lospec: "rrggbb"
            values = _hex_colour(entry, where)
        elif isinstance(entry, dict) and isinstance(entry.get("rgb"), list):
            values = entry["rgb"] + ([entry["alpha"]] if "alpha" in entry else [])
        elif isinstance(entry, dict) and "hex" in entry:
            values = _hex_colour(entry["hex"], where) + ([entry["alpha"]] if "alpha" in entry else [])
        elif isinstance(entry, list):  # [R, G, B] or [R, G, B, A]
            values = entry
        else:
            raise _Bad(f'{where}: not a colour (an "rgb" list, a "hex" string, a hex string or a list)', entry)
        if len(values) not in (3, 4):
            raise _Bad(f"{where}: {len(values)} values; a colour is R, G, B and an optional alpha", values)
        colors.append([_channel(v, where) for v in values])
    return colors


def _read_gpl(text: str) -> list[list[int]]:
    """The colours of a GIMP ``.gpl`` palette (see :func:`read_palette`)."""
    lines = text.splitlines()
    if not lines or lines[0].strip() != "GIMP Palette":
        raise _Bad('line 1: not "GIMP Palette"', lines[0][:40] if lines else None)
    channels, colors = 3, []
    for number, line in enumerate(lines[1:], 2):
        words = line.split()
        if not words or words[0].startswith("#"):
            continue
        if ":" in words[0]:  # a header line: Name:, Columns:, Channels: (Aseprite)
            if words[0].lower() == "channels:":
                channels = 4 if words[1:] == ["RGBA"] else 3 if words[1:] == ["RGB"] else 0
                if not channels:
                    raise _Bad(f"line {number}: Channels must be RGB or RGBA", line.strip())
            continue
        if len(words) < channels or not all(_DIGITS.fullmatch(w) for w in words[:channels]):
            want = " ".join("RGBA"[:channels])
            raise _Bad(f"line {number}: expected {want} (whole numbers 0-255), found {_shown(line.strip())}",
                       line.strip())
        colors.append([_channel(int(w) if len(w) < 8 else w, f"line {number}") for w in words[:channels]])
    return colors


def _read_hex_lines(text: str) -> list[list[int]]:
    """The colours of a ``.txt`` or ``.hex`` palette (see :func:`read_palette`)."""
    colors = []
    for number, line in enumerate(text.splitlines(), 1):
        word = line.strip()
        if not word or word.startswith(";") or (word.startswith("#") and not _HEX_DIGITS.fullmatch(word[1:])):
            continue  # blank, or a comment: Paint.NET's ';', or '#' and not a colour
        colors.append(_hex_colour(word, f"line {number}", bare_is_argb=True))
    return colors


_PARSERS = {".json": _read_json, ".gpl": _read_gpl, ".txt": _read_hex_lines, ".hex": _read_hex_lines}


def load_palette(path) -> np.ndarray:
    """A palette given in advance: a ``.gpl``, ``.json``, ``.txt`` or ``.hex``
    file (see :func:`read_palette`), or an image whose distinct colours are
    taken, ``(m, 3)`` or, for an image with alpha, ``(m, 4) uint8``, in the order
    of their values.  Raises :class:`ImageReadError` when an image has more
    than 256 colours.
    """
    if Path(path).suffix.lower() in TEXT_FORMATS:
        return read_palette(path)
    image = read_image(path)
    if image.shape[2] == 4 and (image[:, :, 3] == 255).all():
        image = image[:, :, :3]
    colors = np.unique(image.reshape(-1, image.shape[2]), axis=0)
    if len(colors) > MAX_COLORS:
        raise ImageReadError(f"{path}: has {len(colors)} colours; a palette holds at most {MAX_COLORS}",
                             path=path, value=len(colors), limit=MAX_COLORS)
    return colors
