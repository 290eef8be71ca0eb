"""Which src/ files a module can run: its own file, every lnpaper module it imports (absolute,
relative, dotted, inside functions too), the modules it imports by name (a module-level list
``<NAME>_MODULES = ["lnpaper...."]``, as the registry names the experiment declarations),
transitively, and the ``__init__.py`` of every package on the way (Python executes them on
import).

Snakemake cannot see imported code, so each rule lists these files as input; editing a module
then reruns exactly the rules whose code path includes it.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
import tempfile
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


# Every Snakemake start, a no-change rerun included, asks for the code of every rule's script,
# and the scripts share most of their modules. What a file's text imports is worked out once per
# text: in memory for this process, and in the parse cache (``use_cache``) across processes,
# which saves parsing about 50 files (0.5 s on the 2-core machine) at each start. An entry is
# keyed by the text's digest (and, for imports, the module's name, which relative imports
# depend on), so an edited file is always parsed again; a stale entry can only go unused.
_parsed: dict[str, list[str]] = {}
_used: set[str] = set()
_cache_file: Path | None = None
_dirty = False
CACHE_LIMIT = 2000  # entries; beyond it, those this process did not ask for are dropped


def use_cache(path: str | Path) -> None:
    """Keep parse results in ``path`` (JSON) across processes. An unreadable or malformed file
    counts as empty; a cache that cannot be written is skipped (it only saves time)."""
    global _cache_file, _parsed, _dirty
    _cache_file, _parsed, _dirty = Path(path), {}, False
    _used.clear()
    try:
        loaded = json.loads(_cache_file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return
    if isinstance(loaded, dict):
        _parsed = {
            k: v
            for k, v in loaded.items()
            if isinstance(v, list) and all(isinstance(x, str) for x in v)
        }


def _save_cache() -> None:
    global _dirty
    if _cache_file is None or not _dirty:
        return
    keep = _parsed  # each edit adds entries; old texts' entries go once there are too many
    if len(keep) > CACHE_LIMIT:
        keep = {k: v for k, v in keep.items() if k in _used}
    try:  # write, then rename: a concurrent reader sees the old file or the new one, whole
        _cache_file.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=_cache_file.parent, prefix=".deps-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(keep, fh, sort_keys=True)
        os.chmod(tmp, 0o644)  # mkstemp's 0600 would hide it from the project's other users
        os.replace(tmp, _cache_file)
        _dirty = False
    except OSError:
        pass


def _remember(key: str, compute) -> list[str]:
    global _dirty
    if key not in _parsed:
        _parsed[key] = list(compute())
        _dirty = True
    _used.add(key)
    return _parsed[key]


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@cache
def _tree(text: str) -> ast.Module:
    return ast.parse(text)


def _import_names(tree: ast.Module, current: str, is_package: bool) -> list[str]:
    """Every dotted name an import statement of the module could load (absolute names)."""
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
    return sorted(found | set(_named_modules(tree)))


def _named_modules(tree: ast.Module) -> list[str]:
    """The names in module-level ``<NAME>_MODULES = [...]`` lists: modules imported by name."""
    found: list[str] = []
    for node in tree.body:
        if not (isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None):
            continue
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        if any(isinstance(t, ast.Name) and t.id.endswith("_MODULES") for t in targets):
            found += [str(name) for name in ast.literal_eval(node.value)]
    return found


def _imports_of(path: Path, text: str, pkg: Path | None) -> frozenset[str]:
    current = dotted_name(path, pkg)
    is_package = path.name == "__init__.py"
    key = f"imports2:{current}:{int(is_package)}:{_digest(text)}"
    found = _remember(key, lambda: _import_names(_tree(text), current, is_package))
    # which names are lnpaper modules is asked of the file system each time, never cached
    return frozenset(name for name in found if module_path(name, pkg) is not None)


def data_files(path: Path) -> list[Path]:
    """Files a module reads from its own folder, declared as ``DATA_FILES = ["x.yaml"]``."""
    text = path.read_text(encoding="utf-8")
    return [path.parent / name for name in _remember(f"data:{_digest(text)}", lambda: _data(text))]


def _data(text: str) -> list[str]:
    for node in _tree(text).body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        if any(isinstance(t, ast.Name) and t.id == "DATA_FILES" for t in targets) and node.value:
            return [str(name) for name in ast.literal_eval(node.value)]
    return []


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
    _save_cache()
    if root is not None:
        return [str(p.relative_to(Path(root).resolve())) for p in paths]
    return [str(p) for p in paths]


def script_files(script: str | Path, root: str | Path | None = None) -> list[str]:
    """The src/ files a workflow script can run: module_files of everything it imports."""
    text = Path(script).read_text(encoding="utf-8")
    found = _remember(f"script:{_digest(text)}", lambda: _script_imports(text))
    pkg = Path(root).resolve() / "src" / PACKAGE if root is not None else SRC
    modules = sorted(name for name in found if module_path(name, pkg) is not None)
    if not modules:
        _save_cache()
        return []
    return module_files(*modules, root=root)


def _script_imports(text: str) -> list[str]:
    """The absolute import names of a workflow script (not a package module: no relative ones)."""
    found: set[str] = set()
    for node in ast.walk(_tree(text)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return sorted(found)
