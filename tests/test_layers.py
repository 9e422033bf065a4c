"""The layers of ARCHITECTURE.md, kept honest by reading every module's imports.

Lowest first::

    foundation < core < colour path < io < commands < cli

A module imports from its own layer and the layers below it, never above.
Every import counts: ``import quantize.x``, ``from .x import y``, ``from . import
x``, ``from ..x import y`` in a subpackage, and imports inside functions (a lazy
import moves the cost of a dependency, not the dependency).  Within a layer
imports are free, but the graph of imports has no cycle.  ``quantize/__init__.py``
(lazy re-exports) is outside the layers; it imports nothing but the standard
library eagerly.

LAYERS places every module; a new module fails ``test_every_module_is_placed``
until it is placed there.  The source is read from this checkout (``ast``, not
``import``), so the test needs neither NumPy nor OpenCV to say where a module sits.
"""
import ast
import json
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

FOUNDATION, CORE, COLOUR, IO, COMMANDS, CLI = range(6)
LAYER_NAMES = ("foundation", "core", "colour path", "io", "commands", "cli")

# Module (dotted, inside quantize) -> layer; "pkg.*" places every module of the
# subpackage pkg (its __init__ is "pkg").
LAYERS = {
    # foundation: errors (facts, exit codes), limits and constants, the checks
    # and the options they guard, the progress protocol
    "errors": FOUNDATION, "limits": FOUNDATION, "checks": FOUNDATION, "progress": FOUNDATION,
    "options": FOUNDATION,
    # core: k-means on weighted points (the package core/: nearest, layouts,
    # seeding, lloyd, minibatch, arguments, result)
    "core": CORE, "core.*": CORE,
    # colour path: histogram, working spaces, remap and dither, scores, fit/apply
    "histogram": COLOUR, "spaces": COLOUR, "remap": COLOUR, "dither": COLOUR,
    "metrics": COLOUR, "metrics.*": COLOUR,
    "pipeline": COLOUR, "pipeline.*": COLOUR,
    # io: decoding (the only cv2 importer), encoders, palette files, reports and plots
    "imageio": IO, "exif": IO, "png": IO, "png_order": IO, "gif": IO, "palette": IO, "report": IO, "plots": IO,
    "reading": IO, "headers": IO, "colour_profile": IO, "metadata": IO, "animation": IO, "apng": IO,
    # commands: one module per command, and the shared file discovery
    "files": COMMANDS, "batch": COMMANDS, "elbow": COMMANDS, "cluster": COMMANDS, "vectors": COMMANDS,
    "vector_files": COMMANDS, "model": COMMANDS,
    "discover": COMMANDS, "outfolder": COMMANDS,
    # the command line
    "cli": CLI, "cli.*": CLI, "__main__": CLI,
}

# Imports that run upward today, module -> why; each is a strict xfail, so the
# test flips (and this entry must go) when the import is gone.
KNOWN_UPWARD: dict[str, str] = {}

# Third-party packages that only one layer may import (ARCHITECTURE.md).
ONLY_IN = {"click": CLI, "click_default_group": CLI, "tqdm": CLI, "cv2": IO, "matplotlib": IO, "PIL": IO}

PACKAGE = Path(__file__).resolve().parent.parent / "quantize"
ROOT = ""  # quantize/__init__.py


def layer_of(module: str):
    """The layer of ``module`` (dotted, inside quantize), or None if it is not placed."""
    if module in LAYERS:
        return LAYERS[module]
    parts = module.split(".")
    for end in range(len(parts) - 1, 0, -1):
        prefix = ".".join(parts[:end]) + ".*"
        if prefix in LAYERS:
            return LAYERS[prefix]
    return None


@lru_cache(maxsize=None)
def modules() -> dict:
    """Every module file of the package: dotted name inside quantize -> path."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        if "__pycache__" in parts:
            continue
        if parts[-1] == "__init__":
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


@lru_cache(maxsize=None)
def _tree(module: str) -> ast.Module:
    path = modules()[module]
    return ast.parse(path.read_text("utf-8"), str(path))


@lru_cache(maxsize=None)
def lazy_names() -> dict:
    """The package's lazy re-exports (``_WHERE`` in __init__): name -> module."""
    for node in _tree(ROOT).body:
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == "_WHERE" for t in node.targets):
            return ast.literal_eval(node.value)
    return {}


@lru_cache(maxsize=None)
def root_names() -> frozenset:
    """The names quantize/__init__.py binds itself (``__version__``, ...)."""
    names = set()
    for node in _tree(ROOT).body:
        if isinstance(node, ast.Assign):
            names |= {t.id for t in node.targets if isinstance(t, ast.Name)}
        elif isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
    return frozenset(names)


def _resolve(dotted: str, name=None) -> str:
    """The quantize module that ``from dotted import name`` (or ``import dotted``)
    loads; ``dotted`` is absolute and inside quantize ("" is the package)."""
    if name is not None:
        candidate = f"{dotted}.{name}" if dotted else name
        if candidate in modules():
            return candidate
        if dotted == ROOT and name in lazy_names():
            return lazy_names()[name]
        if dotted == ROOT and name not in root_names():
            return candidate  # no such module: test_every_import_of_the_package_is_a_module_of_it
    return dotted


@lru_cache(maxsize=None)
def imports(module: str) -> list:
    """``(line, what)`` for every import in ``module``, eager or lazy: ``what`` is a
    quantize module (dotted; ROOT for the package itself) or, for anything
    else, ``"external:"`` and its top-level name."""
    path = modules()[module]
    package = module.split(".") if module else []
    if path.name != "__init__.py":
        package = package[:-1]
    found = []

    def inside(absolute: str):
        """``absolute`` relative to quantize, or None if it is outside the package."""
        if absolute == "quantize":
            return ROOT
        return absolute[len("quantize."):] if absolute.startswith("quantize.") else None

    for node in ast.walk(_tree(module)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = inside(alias.name)
                found.append((node.lineno, _resolve(local) if local is not None
                              else "external:" + alias.name.split(".")[0]))
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                assert node.level - 1 <= len(package), f"{path}:{node.lineno}: import beyond the package"
                base = package[:len(package) - (node.level - 1)]
                local = ".".join([*base, *([node.module] if node.module else [])])
            else:
                local = inside(node.module)
                if local is None:
                    found.append((node.lineno, "external:" + node.module.split(".")[0]))
                    continue
            for alias in node.names:
                found.append((node.lineno, _resolve(local, alias.name)))
    return found


def where(module: str, line: int) -> str:
    return f"{modules()[module].relative_to(PACKAGE.parent)}:{line}"


def describe(module: str) -> str:
    layer = layer_of(module)
    return f"{module or 'quantize'} ({'not placed' if layer is None else LAYER_NAMES[layer]})"


def test_every_module_is_placed():
    unplaced = sorted(m for m in modules() if m != ROOT and layer_of(m) is None)
    assert not unplaced, (f"modules missing from LAYERS in {Path(__file__).name}: {unplaced}; "
                          f"place each in its layer ({', '.join(LAYER_NAMES)})")


def test_the_table_is_the_architecture():
    """Guards the table itself: the layers of today's modules, lowest first."""
    assert [layer_of(m) for m in ("errors", "core", "pipeline", "imageio", "batch", "cli")] == list(range(6))
    assert layer_of("core.lloyd") == CORE and layer_of("metrics.image") == COLOUR
    assert layer_of("pipeline.fit") == COLOUR and layer_of("nowhere") is None


def _upward_params():
    params = []
    for module in modules():
        if module == ROOT or layer_of(module) is None:
            continue
        marks = ([pytest.mark.xfail(strict=True, reason=KNOWN_UPWARD[module])]
                 if module in KNOWN_UPWARD else [])
        params.append(pytest.param(module, id=module or "quantize", marks=marks))
    return params


@pytest.mark.parametrize("module", _upward_params())
def test_no_import_runs_upward(module):
    upward = [f"{where(module, line)}: {describe(module)} imports {describe(target)}"
              for line, target in imports(module)
              if not target.startswith("external:") and target != ROOT
              and layer_of(target) is not None and layer_of(target) > layer_of(module)]
    assert not upward, "\n".join(upward)


def test_every_import_of_the_package_is_a_module_of_it():
    """An import of quantize.x where x is no module of ours is a typo or a
    stale name after a move; the layer test could not place it."""
    unknown = [f"{where(module, line)}: imports quantize.{target}, no module of the package" for module in modules()
               for line, target in imports(module)
               if not target.startswith("external:") and target not in modules()]
    assert not unknown, "\n".join(unknown)


def test_the_imports_have_no_cycle():
    graph = {m: sorted({t for _, t in imports(m) if t in modules() and t != m and t != ROOT})
             for m in modules() if m != ROOT}
    state, stack = {}, []  # state: 1 = on the path being explored, 2 = done

    def visit(module):
        state[module] = 1
        stack.append(module)
        for target in graph.get(module, ()):
            if state.get(target) == 1:
                cycle = stack[stack.index(target):] + [target]
                pytest.fail("import cycle: " + " -> ".join(cycle))
            if target not in state:
                visit(target)
        stack.pop()
        state[module] = 2

    for module in graph:
        if module not in state:
            visit(module)


def _eager_nodes(tree):
    """The statements that run when the module is imported (not function bodies)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        yield node
        todo.extend(ast.iter_child_nodes(node))


def test_the_package_imports_only_the_standard_library_eagerly():
    eager = set()
    for node in _eager_nodes(_tree(ROOT)):
        if isinstance(node, ast.Import):
            eager |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            eager.add("." * node.level + (node.module or ""))
    assert eager, "no imports found: has __init__.py moved?"
    assert not sorted(name for name in eager if name.split(".")[0] not in sys.stdlib_module_names)


def test_the_lazy_re_exports_point_at_modules():
    """quantize/__init__.py's lazy names (and its literal import_module calls)
    name modules that exist: a move must update them."""
    targets = set(lazy_names().values())
    for node in ast.walk(_tree(ROOT)):
        if (isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "import_module"
                and node.args and isinstance(node.args[0], ast.Constant)):
            targets.add(node.args[0].value.lstrip("."))
    assert targets, "no lazy names found: has __init__.py changed shape?"
    assert not sorted(t for t in targets if t not in modules()), sorted(t for t in targets if t not in modules())


def test_third_party_packages_stay_in_their_layer():
    """click, click-default-group and tqdm only in the cli; cv2 and matplotlib only in io."""
    wrong = [f"{where(module, line)}: {describe(module)} imports {target[len('external:'):]}"
             for module in modules() for line, target in imports(module)
             if target.startswith("external:") and target[len("external:"):] in ONLY_IN
             and (module == ROOT or layer_of(module) != ONLY_IN[target[len("external:"):]])]
    assert not wrong, "\n".join(wrong)


# Every command's help, in one fresh interpreter: which heavy packages got loaded.
HELP_PROBE = r"""
import contextlib, io, json, sys
from quantize.cli import cli
seen = {}
for args in [[]] + [[name] for name in sorted(cli.commands)]:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main([*args, "--help"], prog_name="quantize", standalone_mode=False)
    seen[" ".join(["quantize", *args, "--help"])] = {
        "code": code, "usage": "Usage:" in out.getvalue(),
        "heavy": sorted(m for m in ("numpy", "cv2") if m in sys.modules)}
print(json.dumps(seen))
"""


def test_help_of_every_command_loads_neither_numpy_nor_opencv():
    result = subprocess.run([sys.executable, "-c", HELP_PROBE], capture_output=True, text=True,
                            cwd=PACKAGE.parent, check=True)
    seen = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"quantize --help", "quantize image --help", "quantize batch --help"} <= set(seen), sorted(seen)
    assert all(r["code"] == 0 and r["usage"] for r in seen.values()), seen
    assert {args: r["heavy"] for args, r in seen.items() if r["heavy"]} == {}
