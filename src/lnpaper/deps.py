"""Which src/ files a module runs: its own file plus every lnpaper module it imports, transitively.

Snakemake cannot see imported code, so each rule lists these files as input; editing a module
then reruns exactly the rules whose code path includes it.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = "lnpaper"
SRC = Path(__file__).resolve().parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1:  # from . import x / from .x import y
                if node.module:
                    found.add(node.module.split(".")[0])
                else:
                    found.update(alias.name for alias in node.names)
            elif node.level == 0 and node.module and node.module.startswith(PACKAGE + "."):
                found.add(node.module.split(".")[1])
            elif node.level == 0 and node.module == PACKAGE:
                found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith(PACKAGE + "."):
                    found.add(alias.name.split(".")[1])
    return {m for m in found if (SRC / f"{m}.py").exists()}


def module_files(*modules: str, root: str | Path | None = None) -> list[str]:
    """Sorted paths (relative to ``root`` if given) of the modules and their lnpaper imports."""
    todo = [m.removeprefix(PACKAGE + ".") for m in modules]
    seen: set[str] = set()
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        if not (SRC / f"{mod}.py").exists():
            raise FileNotFoundError(f"no module {PACKAGE}.{mod} in {SRC}")
        seen.add(mod)
        todo.extend(_imports(SRC / f"{mod}.py") - seen)
    paths = sorted(SRC / f"{m}.py" for m in seen)
    if root is not None:
        return [str(p.relative_to(Path(root).resolve())) for p in paths]
    return [str(p) for p in paths]
