"""Check that a change of the PNG writer keeps the pixels: run the commands of
output_hashes.py with two source trees (``--before``, e.g. a ``git archive``
of the last commit before the change, and this tree) and decode every PNG
both wrote, comparing the pixels as RGBA.

    git archive BASE | tar -x -C /tmp/before
    python bench/png_pixels_check.py --before /tmp/before
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent))
from output_hashes import ROOT, prepare, run_all  # noqa: E402


def outputs(tree: Path, work: Path) -> None:
    os.environ["PYTHONPATH"] = str(tree)
    prepare(work)
    inputs = {p for p in work.rglob("*") if p.is_file()}
    run_all(work)
    for path in inputs:
        path.unlink()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--before", type=Path, required=True, help="the source tree before the change")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        before, after = Path(tmp) / "before", Path(tmp) / "after"
        before.mkdir()
        after.mkdir()
        outputs(args.before.resolve(), before)
        outputs(ROOT, after)
        names = sorted(p.relative_to(before) for p in before.rglob("*.png"))
        assert names == sorted(p.relative_to(after) for p in after.rglob("*.png")), "not the same PNGs written"
        same, smaller = 0, 0
        for name in names:
            old, new = Image.open(before / name), Image.open(after / name)
            if np.array_equal(np.asarray(old.convert("RGBA")), np.asarray(new.convert("RGBA"))):
                same += 1
            else:
                print(f"PIXELS DIFFER  {name}")
            old_size, new_size = (before / name).stat().st_size, (after / name).stat().st_size
            smaller += new_size < old_size
            if new_size > old_size:
                print(f"larger  {name}: {old_size:,} -> {new_size:,}")
        size = lambda root: sum((root / n).stat().st_size for n in names)  # noqa: E731
        print(f"{same} of {len(names)} PNGs decode to the same pixels; {smaller} smaller; "
              f"bytes {size(before):,} -> {size(after):,}")
        sys.exit(0 if same == len(names) else 1)


if __name__ == "__main__":
    main()
