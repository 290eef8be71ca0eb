"""lnpaper.pipeline.deps: the src/ files a rule's code can import, across subpackages."""

from pathlib import Path

import pytest

from conftest import ROOT
from lnpaper.pipeline.deps import imports_of, module_files, module_path, script_files


def names(files) -> set[str]:
    return {str(Path(p).relative_to(ROOT / "src/lnpaper")) for p in files}


def test_module_files_follow_imports_transitively_with_package_inits():
    files = names(module_files("experiments.matmul"))
    assert files == {
        "__init__.py",
        "experiments/__init__.py",
        "experiments/matmul.py",
        "experiments/matmul_growth.py",
        "experiments/seeding.py",
        "experiments/stats.py",
        "experiments/theory.py",
    }


def test_lazy_imports_inside_functions_count_too():
    # figures imports theory inside a function: the code can run it, so it is a dependency
    assert "experiments/theory.py" in names(module_files("report.figures"))


def test_relative_dotted_and_from_package_imports_resolve(tmp_path, monkeypatch):
    import lnpaper.pipeline.deps as deps

    pkg = tmp_path / "lnpaper"
    for sub in ("a", "b"):
        (pkg / sub).mkdir(parents=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "__init__.py").write_text("")
    (pkg / "a" / "x.py").write_text("from . import y\nfrom ..b.z import f\nimport lnpaper.b.w\n")
    (pkg / "a" / "y.py").write_text("")
    (pkg / "b" / "z.py").write_text("def f(): pass\n")
    (pkg / "b" / "w.py").write_text("from lnpaper.b import v\n")
    (pkg / "b" / "v.py").write_text("")
    monkeypatch.setattr(deps, "SRC", pkg)
    assert imports_of(pkg / "a" / "x.py") >= {"lnpaper.a.y", "lnpaper.b.z", "lnpaper.b.w"}
    got = {str(Path(p).relative_to(pkg)) for p in deps.module_files("a.x")}
    assert got == {
        "__init__.py",
        "a/__init__.py",
        "a/x.py",
        "a/y.py",
        "b/__init__.py",
        "b/z.py",
        "b/w.py",
        "b/v.py",
    }


def test_the_claims_rule_does_not_depend_on_tables_or_figures():
    files = names(script_files(ROOT / "workflow/scripts/claims.py"))
    assert "report/claims_training.py" in files
    assert not files & {"report/tables.py", "report/figures.py", "report/numbers.py"}
    table_files = names(script_files(ROOT / "workflow/scripts/table.py"))
    assert not {f for f in table_files if "claims" in f or "verdicts" in f}


def test_unknown_module_is_an_error():
    assert module_path("lnpaper.no_such_module") is None
    try:
        module_files("no_such_module")
    except FileNotFoundError as err:
        assert "no_such_module" in str(err)
    else:
        raise AssertionError("expected FileNotFoundError")


def test_data_files_a_module_declares_are_rule_inputs():
    # every vi/en text lives in report/text.yaml: editing it must rerun the tables that show it
    files = names(script_files(ROOT / "workflow/scripts/table.py"))
    assert "report/text.yaml" in files
    matmul = module_files("experiments.matmul", "experiments.matmul_spec")
    assert "report/text.yaml" not in names(matmul)
    assert "report/text.yaml" not in names(script_files(ROOT / "workflow/scripts/experiment.py"))


def test_modules_a_module_imports_by_name_are_its_dependencies():
    # the registry imports the experiments' declarations by name (EXPERIMENT_MODULES)
    files = names(module_files("pipeline.registry"))
    assert {"experiments/matmul_spec.py", "experiments/training_spec.py"} <= files
    assert "experiments/matmul.py" not in files  # the declarations, not the computations
    # a step's code (config_hash, flatten) never reads the registry
    assert "pipeline/registry.py" not in names(module_files("pipeline.step"))


def test_an_edited_module_is_parsed_again_even_with_the_same_size_and_time(tmp_path, monkeypatch):
    """The parse is cached per file text (a Snakemake start asks for the same modules once per
    rule), so an edit that keeps the file's size and modification time still shows."""
    import os

    import lnpaper.pipeline.deps as deps

    pkg = tmp_path / "lnpaper"
    pkg.mkdir()
    for name in ("__init__", "b", "c"):
        (pkg / f"{name}.py").write_text("")
    a = pkg / "a.py"
    a.write_text("import lnpaper.b\nDATA_FILES = ['b.yaml']\n")
    monkeypatch.setattr(deps, "SRC", pkg)
    assert imports_of(a) == {"lnpaper.b"}
    assert deps.data_files(a) == [pkg / "b.yaml"]
    stat = a.stat()
    a.write_text("import lnpaper.c\nDATA_FILES = ['c.yaml']\n")
    os.utime(a, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert a.stat().st_size == stat.st_size and a.stat().st_mtime_ns == stat.st_mtime_ns
    assert imports_of(a) == {"lnpaper.c"}
    assert deps.data_files(a) == [pkg / "c.yaml"]


def _isolate(deps, monkeypatch, pkg):
    """This test's package and a parse cache of its own; all restored afterwards."""
    monkeypatch.setattr(deps, "SRC", pkg)
    for name, empty in (
        ("_parsed", {}),
        ("_used", set()),
        ("_cache_file", None),
        ("_dirty", False),
    ):
        monkeypatch.setattr(deps, name, empty)


def _package(tmp_path):
    pkg = tmp_path / "lnpaper"
    pkg.mkdir()
    for name in ("__init__", "b", "c"):
        (pkg / f"{name}.py").write_text("")
    (pkg / "a.py").write_text("from . import b\nDATA_FILES = ['b.yaml']\n")
    return pkg


def test_the_parse_cache_answers_a_new_process_without_parsing(tmp_path, monkeypatch):
    """What a Snakemake start learns is kept in the cache file; the next start (here: the cache
    loaded afresh) gets the same files without parsing a single module."""
    import lnpaper.pipeline.deps as deps

    pkg = _package(tmp_path)
    _isolate(deps, monkeypatch, pkg)
    cache = tmp_path / "state" / "deps.json"
    deps.use_cache(cache)
    first = deps.module_files("a")
    assert {Path(p).name for p in first} == {"__init__.py", "a.py", "b.py", "b.yaml"}
    assert cache.is_file()

    def no_parse(text):
        raise AssertionError("parsed although the cache holds this text")

    deps.use_cache(cache)  # a new process: nothing in memory but the file
    monkeypatch.setattr(deps, "_tree", no_parse)
    assert deps.module_files("a") == first
    # an edit is a new text: parsed, whatever the cache holds
    (pkg / "a.py").write_text("from . import c\n")
    with pytest.raises(AssertionError, match="parsed although"):
        deps.module_files("a")


def test_a_broken_cache_file_counts_as_empty(tmp_path, monkeypatch):
    import lnpaper.pipeline.deps as deps

    pkg = _package(tmp_path)
    _isolate(deps, monkeypatch, pkg)
    cache = tmp_path / "deps.json"
    for broken in ("{not json", '["a list"]', '{"imports:lnpaper.a:0:x": 3}'):
        cache.write_text(broken)
        deps.use_cache(cache)
        got = {Path(p).name for p in deps.module_files("a")}
        assert got == {"__init__.py", "a.py", "b.py", "b.yaml"}
