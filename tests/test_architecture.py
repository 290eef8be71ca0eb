"""The package's layers import one way: pipeline <- experiments <- report <- manuscript; tracking
imports only pipeline; nothing imports tools. The experiments' declarations (``*_spec.py``) sit
beside pipeline: they import only pipeline, and the registry reads them. No import cycles between modules."""

from __future__ import annotations

import shutil
from pathlib import Path

from conftest import ROOT
from lnpaper.pipeline.deps import dotted_name, imports_of

SRC = ROOT / "src/lnpaper"

# layer -> the layers it may import (itself included)
ALLOWED = {
    "declarations": {"pipeline", "declarations"},
    "pipeline": {"pipeline", "declarations"},
    "experiments": {"pipeline", "declarations", "experiments"},
    "report": {"pipeline", "declarations", "experiments", "report"},
    "manuscript": {"pipeline", "declarations", "experiments", "report", "manuscript"},
    "tracking": {"pipeline", "declarations", "tracking"},
    "tools": {
        "pipeline",
        "declarations",
        "experiments",
        "report",
        "manuscript",
        "tracking",
        "tools",
    },
}


def layer(module: str) -> str:
    parts = module.split(".")
    if parts[1:2] == ["experiments"] and parts[-1].endswith("spec"):
        # an experiment's declaration (``<id>_spec.py``, and ``spec.py`` its type) is data the
        # registry collects: it imports only pipeline, and pipeline may read it
        return "declarations"
    return parts[1] if len(parts) > 1 else "root"


def graph(src: Path = SRC) -> dict[str, set[str]]:
    edges = {}
    for path in src.rglob("*.py"):
        mod = dotted_name(path, src)
        # `from lnpaper.report import tables` names the package and the module; keep modules
        edges[mod] = {m for m in imports_of(path, src) if m.count(".") >= 2 or m == mod}
    return edges


def test_every_module_is_in_a_layer():
    flat = [p.name for p in SRC.glob("*.py") if p.name != "__init__.py"]
    assert flat == [], f"modules outside a layer: {flat}"
    layers = {p.name for p in SRC.iterdir() if p.is_dir() and p.name != "__pycache__"}
    assert layers == set(ALLOWED) - {"declarations"}


def test_imports_point_only_down_the_layers():
    wrong = []
    for mod, targets in graph().items():
        for target in targets:
            if layer(target) not in ALLOWED[layer(mod)] | {"root"}:
                wrong.append(f"{mod} -> {target}")
    assert wrong == [], "imports against the layer direction:\n" + "\n".join(sorted(wrong))


def test_no_import_cycles():
    edges = graph()
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt == node or nxt not in edges:
                continue
            if state.get(nxt) == 1:
                cycles.append(" -> ".join(stack[stack.index(nxt) :] + [nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == [], "import cycles:\n" + "\n".join(cycles)


def test_the_checks_catch_a_wrong_import(tmp_path):
    """The direction check is not vacuous: a pipeline module importing report is flagged. The
    probe goes into a copy of the package, never into src/, which other tests (and parallel
    test workers) read at the same time."""
    src = tmp_path / "lnpaper"
    shutil.copytree(SRC, src, ignore=shutil.ignore_patterns("__pycache__"))
    (src / "pipeline" / "_probe_wrong_direction.py").write_text(
        "from lnpaper.report import tables\n"
    )
    wrong = [
        f"{m} -> {t}"
        for m, ts in graph(src).items()
        for t in ts
        if layer(t) not in ALLOWED[layer(m)] | {"root"}
    ]
    assert wrong == ["lnpaper.pipeline._probe_wrong_direction -> lnpaper.report.tables"]


def test_workflow_scripts_import_no_tools():
    for script in (ROOT / "workflow/scripts").glob("*.py"):
        assert "lnpaper.tools" not in Path(script).read_text(), script.name
