"""`make test-fast` runs the tests not marked slow and promises no Snakemake run: every test that
starts Snakemake, directly or through a fixture, carries the slow mark (read from the sources)."""

from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def _is_slow_mark(node: ast.AST) -> bool:
    """``pytest.mark.slow`` (a decorator, or an item of a ``pytestmark`` list)."""
    if isinstance(node, ast.Call):
        node = node.func
    return isinstance(node, ast.Attribute) and node.attr == "slow"


def _calls(fn: ast.AST, names: set[str]) -> bool:
    """``fn`` calls one of ``names`` or uses the Snakemake executable (``SNAKEMAKE``)."""
    return any(
        (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id in names)
        or (isinstance(n, ast.Name) and n.id == "SNAKEMAKE")
        for n in ast.walk(fn)
    )


def _module_slow(tree: ast.Module) -> bool:
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "pytestmark" for t in node.targets
        ):
            marks = node.value.elts if isinstance(node.value, ast.List) else [node.value]
            return any(_is_slow_mark(m) for m in marks)
    return False


def _functions(tree: ast.Module):
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef)]


def _is_fixture(fn: ast.FunctionDef) -> bool:
    return any("fixture" in ast.unparse(d) for d in fn.decorator_list)


def builders(trees: dict[Path, ast.Module]) -> set[str]:
    """Functions and fixtures that run Snakemake: directly, through a helper that does, or by
    requesting a fixture that does (to a fixed point)."""
    functions = [fn for tree in trees.values() for fn in _functions(tree)]
    found = {"snakemake"}
    while True:
        more = {
            fn.name
            for fn in functions
            if fn.name not in found
            and (_calls(fn, found) or (_is_fixture(fn) and {a.arg for a in fn.args.args} & found))
        }
        if not more:
            return found
        found |= more


def unmarked_builders(trees: dict[Path, ast.Module]) -> list[str]:
    found = builders(trees)
    out = []
    for path, tree in trees.items():
        # everything under tests/e2e/ is marked slow by the conftest hook
        if _module_slow(tree) or "e2e" in path.relative_to(TESTS).parts:
            continue
        for fn in _functions(tree):
            if not fn.name.startswith("test_") or any(_is_slow_mark(d) for d in fn.decorator_list):
                continue
            if _calls(fn, found) or {a.arg for a in fn.args.args} & found:
                out.append(f"{path.relative_to(TESTS)}::{fn.name}")
    return out


def parse(sources: dict[str, str]) -> dict[Path, ast.Module]:
    return {TESTS / name: ast.parse(text) for name, text in sources.items()}


def test_the_check_sees_a_build_through_a_fixture_and_a_direct_call():
    sources = {
        "conftest.py": (
            "import pytest\n"
            "@pytest.fixture\ndef built(tmp_path):\n    snakemake(tmp_path)\n"
            "@pytest.fixture\ndef copy_of_built(built):\n    return built\n"
            "def run_it(work):\n    subprocess.run([SNAKEMAKE, '-n'], cwd=work)\n"
        ),
        "test_a.py": (
            "import pytest\n"
            "def test_unit():\n    assert 1\n"
            "def test_uses(copy_of_built):\n    pass\n"
            "def test_calls(tmp_path):\n    snakemake(tmp_path)\n"
            "def test_helper(tmp_path):\n    run_it(tmp_path)\n"
            "@pytest.mark.slow\ndef test_marked(built):\n    pass\n"
        ),
        "test_b.py": "import pytest\npytestmark = [pytest.mark.slow]\ndef test_x(built):\n    pass\n",
    }
    assert unmarked_builders(parse(sources)) == [
        "test_a.py::test_uses",
        "test_a.py::test_calls",
        "test_a.py::test_helper",
    ]


def test_every_test_that_starts_snakemake_is_marked_slow():
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(TESTS.rglob("*.py"))}
    assert unmarked_builders(trees) == [], (
        "mark these @pytest.mark.slow (make test-fast skips them)"
    )
