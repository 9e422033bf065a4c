"""The size rules of the code: no module in quantize/ over 600 lines, no
function over 60 lines of code (its docstring, comments and blank lines
aside).  Past that, a concept wants its own home."""
from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "quantize"
MAX_MODULE_LINES = 600
MAX_FUNCTION_CODE = 60


def token_lines(source: str) -> set[int]:
    """The lines of ``source`` that hold code: not blank, not only a comment."""
    lines = set()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type not in (tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT,
                              tokenize.DEDENT, tokenize.ENDMARKER):
            lines.update(range(token.start[0], token.end[0] + 1))
    return lines


def code_lines(source: str, node: ast.AST, coded: set[int] | None = None) -> int:
    """Lines of ``node`` that hold code: not blank, not only a comment, not its
    docstring (``coded``: :func:`token_lines` of the source, when known)."""
    lines = set(range(node.lineno, node.end_lineno + 1))
    body = getattr(node, "body", [])
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant) \
            and isinstance(body[0].value.value, str):
        lines -= set(range(body[0].lineno, body[0].end_lineno + 1))
    return len(lines & (token_lines(source) if coded is None else coded))


def modules():
    return sorted(PACKAGE.rglob("*.py"))


def test_code_lines_counts_code_only():
    source = 'def f():\n    """Doc\n    string."""\n    # a comment\n\n    x = (1,\n         2)\n    return x\n'
    assert code_lines(source, ast.parse(source).body[0]) == 4


def test_no_module_over_600_lines():
    long = {str(p.relative_to(PACKAGE)): n for p in modules()
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_MODULE_LINES}
    assert long == {}


def test_no_function_over_60_lines_of_code():
    long = {}
    for path in modules():
        source = path.read_text(encoding="utf-8")
        coded = token_lines(source)
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if (n := code_lines(source, node, coded)) > MAX_FUNCTION_CODE:
                    long[f"{path.relative_to(PACKAGE)}:{node.lineno} {node.name}"] = n
    assert long == {}
