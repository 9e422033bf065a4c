"""A stand-in for the parts of :mod:`quantize.vectors` another branch adds
(``find_test_source``, ``load_inputs``, ``working_bytes``,
``available_memory``, ``VectorSet.preprocessing`` and ``.unit_range``), as
the interfaces agreed for them say, so that the cluster test set, the model
file and ``quantize classify`` can be built and tested before they land.
Each function hands over to :mod:`quantize.vectors` when it has the real one.
Temporary: deleted (its callers then call :mod:`quantize.vectors`) once the
vectors branch is in.
"""
from __future__ import annotations

import os
import re
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import vectors
from .errors import ImageReadError, VectorDataError
from .imageio import READ_SUFFIXES, over_black, read_image, resize_padded, to_grey
from .limits import MAX_PIXELS

_TRAIN = re.compile(r"^train-images-idx3-ubyte(\.gz)?$", re.IGNORECASE)


def find_test_source(train) -> Path | None:
    if hasattr(vectors, "find_test_source"):
        return vectors.find_test_source(train)
    train = Path(train)
    match = _TRAIN.match(train.name)
    if not match:
        return None
    gz = bool(match.group(1))
    for name in (("t10k-images-idx3-ubyte.gz", "t10k-images-idx3-ubyte") if gz else
                 ("t10k-images-idx3-ubyte", "t10k-images-idx3-ubyte.gz")):
        if (train.parent / name).is_file():
            return train.parent / name
    return None


def working_bytes(data) -> int:
    if hasattr(vectors, "working_bytes"):
        return vectors.working_bytes(data)
    n, d = data.vectors.shape
    return n * d * (4 if data.vectors.dtype == np.float32 else 8)


def available_memory() -> int:
    if hasattr(vectors, "available_memory"):
        return vectors.available_memory()
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def preprocessing(data, source, size: int, grey: bool) -> dict:
    if hasattr(data, "preprocessing"):
        return dict(data.preprocessing)
    source = Path(source)
    if source.is_dir():
        return {"source": "folder", "size": int(size), "grey": bool(grey), "scale": 1 / 255}
    return {"source": "npy" if source.suffix.lower() == ".npy" else "idx", "size": None, "grey": None,
            "scale": 1 / 255}


def unit_range(data) -> bool:
    return bool(getattr(data, "unit_range", True))


def load_inputs(paths, *, size: int = 28, grey: bool = True, jobs: int = 1, max_pixels=MAX_PIXELS,
                describe=None):
    if hasattr(vectors, "load_inputs"):
        return vectors.load_inputs(paths, size=size, grey=grey, jobs=jobs, max_pixels=max_pixels,
                                   describe=describe)
    describe = describe or str
    parts, names, failures, shape = [], [], [], None
    for path in map(Path, paths):
        if path.is_file() and path.suffix.lower() in READ_SUFFIXES:
            try:
                image = read_image(path, max_pixels=max_pixels)
            except ImageReadError as error:
                failures.append((str(path), " ".join(describe(error).split(": ", 1)[-1].split())))
                continue
            picture = resize_padded(to_grey(image) if grey else over_black(image), size)
            data = vectors.VectorSet(picture.reshape(1, -1).astype(np.float32) / np.float32(255),
                                     picture.shape, (str(path),), None)
            prefix = None
        else:
            data = vectors.load_vectors(path, size=size, grey=grey, jobs=jobs, max_pixels=max_pixels,
                                        describe=describe)
            prefix = f"{path}/" if path.is_dir() else f"{path}#"
            if prefix.endswith("#"):
                data = replace(data, names=tuple(f"{path}#{i}" for i in range(len(data.names))))
            else:
                data = replace(data, names=tuple(prefix + name for name in data.names))
            failures += [((prefix if path.is_dir() else "") + name, cause) for name, cause in data.failures]
        if shape is not None and tuple(data.shape) != shape:
            raise VectorDataError(f"{path}: vectors of {'x'.join(map(str, data.shape))}, the inputs before "
                                  f"it {'x'.join(map(str, shape))}", reason="shape-mismatch", path=path,
                                  value=tuple(data.shape), limit=shape)
        shape = tuple(data.shape)
        parts.append(data.vectors)
        names += data.names
    if not parts:
        raise ImageReadError(f"{failures[0][0]}: {failures[0][1]}" if failures else "no inputs")
    return vectors.VectorSet(np.concatenate(parts), shape, tuple(names), None, tuple(failures))
