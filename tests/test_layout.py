"""Sizes and places: the tests mirror the package (a folder per layer of src/lnpaper, end-to-end
tests apart in e2e/), no test file is over 300 lines, and in src/ no function is over 60 lines
and no module over 500."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from conftest import ROOT

SRC = ROOT / "src/lnpaper"
TESTS = ROOT / "tests"
MAX_TEST_FILE = 300
MAX_FUNCTION = 60
MAX_MODULE = 500
# tests about the whole repository rather than one layer stay at the top of tests/
TOP_LEVEL_TESTS = {"test_architecture.py", "test_layout.py"}
SLOW_MARK = re.compile(r"^\s*(@pytest\.mark\.slow|pytestmark\s*=.*\bslow\b)", re.M)


def layers() -> set[str]:
    return {p.name for p in SRC.iterdir() if (p / "__init__.py").exists()}


def line_count(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines())


def long_functions(source: str, limit: int = MAX_FUNCTION) -> list[tuple[str, int]]:
    """(name, lines) of every function or method, nested ones included, longer than ``limit``
    lines from its ``def`` to its last line."""
    return [
        (node.name, node.end_lineno - node.lineno + 1)
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > limit
    ]


def the_test_files() -> list[Path]:
    return sorted(p for p in TESTS.rglob("test_*.py") if "__pycache__" not in p.parts)


def test_every_layer_has_its_test_folder_and_every_test_file_a_place():
    folders = layers() | {"e2e"}
    missing = [name for name in sorted(layers()) if not list((TESTS / name).glob("test_*.py"))]
    assert missing == [], f"layers of src/lnpaper without tests/<layer>/test_*.py: {missing}"
    astray = [
        str(p.relative_to(TESTS))
        for p in the_test_files()
        if not (p.parent == TESTS and p.name in TOP_LEVEL_TESTS)
        and not (p.parent.parent == TESTS and p.parent.name in folders)
    ]
    assert astray == [], f"test files outside tests/<layer>/ and tests/e2e/: {astray}"


def test_test_file_names_are_unique_across_folders():
    # pytest imports test modules by their file name (its default "prepend" import mode)
    names = [p.name for p in the_test_files()]
    assert sorted({n for n in names if names.count(n) > 1}) == []


def test_only_end_to_end_tests_are_marked_slow():
    """``-m "not slow"`` is exactly the unit tests: tests/e2e/ is marked slow by conftest.py, and
    no test elsewhere marks itself slow (it belongs in e2e/)."""
    marked = [
        str(p.relative_to(TESTS))
        for p in the_test_files()
        if TESTS / "e2e" not in p.parents and SLOW_MARK.search(p.read_text(encoding="utf-8"))
    ]
    assert marked == []


def test_no_test_file_is_over_300_lines():
    files = [p for p in TESTS.rglob("*.py") if "__pycache__" not in p.parts]
    long = {str(p.relative_to(TESTS)): n for p in files if (n := line_count(p)) > MAX_TEST_FILE}
    assert long == {}, f"test files over {MAX_TEST_FILE} lines (split them by what they test)"


def test_no_src_function_is_over_60_lines_and_no_module_over_500():
    long_modules, long_defs = {}, []
    for path in sorted(SRC.rglob("*.py")):
        rel = str(path.relative_to(SRC))
        if (n := line_count(path)) > MAX_MODULE:
            long_modules[rel] = n
        long_defs += [f"{rel}:{name} ({n})" for name, n in long_functions(path.read_text())]
    assert (long_modules, long_defs) == ({}, []), (
        f"modules over {MAX_MODULE} lines: {long_modules}; functions over {MAX_FUNCTION} lines: "
        + ", ".join(long_defs)
    )


def test_the_size_checks_count_what_they_claim():
    body = "\n".join(f"    x{i} = {i}" for i in range(59))
    fits = f"def f():\n{body}\n"  # def line + 59 = 60 lines
    assert long_functions(fits) == []
    inner = "\n".join(f"            x{i} = {i}" for i in range(59))
    nested = f"class C:\n    def m(self):\n        def g():\n{inner}\n            return 1\n"
    assert long_functions(nested) == [("m", 62), ("g", 61)]
    assert long_functions(fits, limit=59) == [("f", 60)]
