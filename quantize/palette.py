"""Palette files: GIMP ``.gpl``, ``.json``, ``.txt``/``.hex`` and a ``.png`` swatch.

The format is chosen by the file's extension.  Every text format can be read
back (:func:`read_palette`), and a palette written then read is unchanged.
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from .errors import ImageReadError, ParameterError
from .imageio import atomic_write, encode_quantized, read_image
from .limits import MAX_COLORS

TEXT_FORMATS = (".gpl", ".json", ".txt", ".hex")  # read back by read_palette
FORMATS = (*TEXT_FORMATS, ".png")
SWATCH_SIZE = 32  # pixels per colour square
SWATCH_COLUMNS = 16

_HEX = re.compile(r"#?([0-9a-fA-F]{6}(?:[0-9a-fA-F]{2})?)")


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
    or, when it gives alpha (``#rrggbbaa``; ``"alpha"`` in JSON), ``(m, 4)`` RGBA
    ``uint8``."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TEXT_FORMATS:
        raise ParameterError(f"{path}: cannot read palettes of this format", path=path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ImageReadError(f"{path}: cannot read: {error.strerror or error}", path=path) from None
    try:
        if suffix == ".json":
            entries = json.loads(text)["colors"]
            alpha = any("alpha" in entry for entry in entries)
            colors = [entry["rgb"] + ([entry.get("alpha", 255)] if alpha else []) for entry in entries]
        elif suffix == ".gpl":
            colors = [
                [int(v) for v in line.split()[:3]]
                for line in text.splitlines()[1:]
                if line.strip() and not line.startswith("#") and ":" not in line.split()[0]
            ]
        else:
            colors = []
            for line in text.splitlines():
                if line.strip():
                    value = _HEX.fullmatch(line.strip()).group(1)
                    colors.append([int(value[i : i + 2], 16) for i in range(0, len(value), 2)])
            if len({len(c) for c in colors}) > 1:  # some with alpha, some without: opaque
                colors = [c + [255] * (4 - len(c)) for c in colors]
        array = np.array(colors, dtype=np.int64)
        array = array.reshape(-1, array.shape[-1] if array.ndim == 2 else 3)
    except (ValueError, KeyError, TypeError, AttributeError, IndexError):
        raise ImageReadError(f"{path}: not a valid {suffix} palette", path=path) from None
    if array.size == 0 or (array < 0).any() or (array > 255).any():
        raise ImageReadError(f"{path}: not a valid {suffix} palette", path=path)
    return array.astype(np.uint8)


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
