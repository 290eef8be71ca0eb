"""Which src/ files a module can run: its own file, every lnpaper module it imports (absolute,
relative, dotted, inside functions too), transitively, and the ``__init__.py`` of every package
on the way (Python executes them on import).

Snakemake cannot see imported code, so each rule lists these files as input; editing a module
then reruns exactly the rules whose code path includes it.
"""

from __future__ import annotations

import ast
from functools import cache
from pathlib import Path

PACKAGE = "lnpaper"
SRC = Path(__file__).resolve().parents[1]  # src/lnpaper


def module_path(dotted: str, pkg: Path | None = None) -> Path | None:
    """'lnpaper.report.tables' -> its file (a module or a package's __init__), None if absent."""
    parts = dotted.split(".")
    if parts[0] != PACKAGE:
        return None
    base = (pkg or SRC).joinpath(*parts[1:])
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def dotted_name(path: Path, pkg: Path | None = None) -> str:
    rel = path.relative_to((pkg or SRC).parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _resolve_relative(current: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute name of ``from <level dots><module> import ...`` inside module ``current``."""
    base = current.split(".")
    if not is_package:
        base = base[:-1]  # a module's own package
    base = base[: len(base) - (level - 1)] if level > 1 else base
    return ".".join(base + ([module] if module else []))


def imports_of(path: Path, pkg: Path | None = None) -> set[str]:
    """Dotted names of the lnpaper modules a file imports (anywhere in the file)."""
    return set(_imports_of(path, path.read_text(encoding="utf-8"), pkg))


# The Snakefile asks for the code of every rule's script, and the scripts share most of their
# modules: each file's text is parsed once (keyed by the text itself, so an edited file is
# parsed again), which takes about 1 s off every Snakemake start.
@cache
def _tree(text: str) -> ast.Module:
    return ast.parse(text)


@cache
def _imports_of(path: Path, text: str, pkg: Path | None) -> frozenset[str]:
    tree = _tree(text)
    current = dotted_name(path, pkg)
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = _resolve_relative(current, is_package, node.level, node.module)
            else:
                base = node.module or ""
            found.add(base)
            found.update(f"{base}.{alias.name}" for alias in node.names)  # `from pkg import mod`
    return frozenset(name for name in found if module_path(name, pkg) is not None)


def data_files(path: Path) -> list[Path]:
    """Files a module reads from its own folder, declared as ``DATA_FILES = ["x.yaml"]``."""
    return list(_data_files(path, path.read_text(encoding="utf-8")))


@cache
def _data_files(path: Path, text: str) -> tuple[Path, ...]:
    for node in _tree(text).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "DATA_FILES" for t in targets) and node.value:
            return tuple(
                path.parent / ast.literal_eval(node.value)[i] for i in range(len(node.value.elts))
            )
    return ()


def _with_packages(dotted: str) -> list[str]:
    """A module and every package above it: importing a.b.c runs a/__init__ and a/b/__init__."""
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def module_files(*modules: str, root: str | Path | None = None) -> list[str]:
    """Sorted paths (relative to ``root`` if given) of the modules, their lnpaper imports and the
    packages' ``__init__`` files. Names may omit the ``lnpaper.`` prefix. With ``root``, the
    package is ``root/src/lnpaper`` (the checkout being built), else this one."""
    pkg = Path(root).resolve() / "src" / PACKAGE if root is not None else SRC
    todo = [m if m.startswith(PACKAGE + ".") else f"{PACKAGE}.{m}" for m in modules]
    seen: set[str] = set()
    while todo:
        mod = todo.pop()
        if mod in seen:
            continue
        path = module_path(mod, pkg)
        if path is None:
            raise FileNotFoundError(f"no module {mod} under {pkg}")
        seen.add(mod)
        todo.extend(p for p in _with_packages(mod) if p not in seen)
        todo.extend(imports_of(path, pkg) - seen)
    paths = {module_path(m, pkg) for m in seen}
    paths = sorted(paths | {f for p in paths for f in data_files(p)})
    if root is not None:
        return [str(p.relative_to(Path(root).resolve())) for p in paths]
    return [str(p) for p in paths]


def script_files(script: str | Path, root: str | Path | None = None) -> list[str]:
    """The src/ files a workflow script can run: module_files of everything it imports."""
    tree = ast.parse(Path(script).read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    pkg = Path(root).resolve() / "src" / PACKAGE if root is not None else SRC
    modules = sorted(name for name in found if module_path(name, pkg) is not None)
    return module_files(*modules, root=root) if modules else []
