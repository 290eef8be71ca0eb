"""The results cache across checkouts (``snakemake --cache``, Snakemake's between-workflow output
cache, with lnpaper.pipeline.cache around it), on two experiments of a small config, in a cache
folder of the test's own: a second checkout takes the results from the cache, byte for byte; the
entries are read-only with their digest; a damaged entry is recomputed, never used; a changed
software version misses; a folder that cannot be written turns the cache off with one line."""

from __future__ import annotations

import stat

import pytest
import yaml

from conftest import copy_workflow, snakemake
from lnpaper.pipeline import paths

TARGETS = [
    paths.experiment_file("precision/errors"),
    *(paths.experiment_file(f"training/{n}") for n in ("summary", "curves", "layer_grads")),
]
UNITS = ["synthetic-none", "synthetic-layernorm"]


def checkout(root, name):
    (root / name).mkdir()
    work = copy_workflow(root / name)
    cfg = yaml.safe_load((work / "tiny.yaml").read_text())
    cfg["training"].update(datasets=["synthetic"], norms=["none", "layernorm"])
    (work / "small.yaml").write_text(yaml.safe_dump(cfg))
    return work


def cached_build(work, cache_dir, *extra, env=None):
    # `--configfile` and `--cache` take lists: the targets come first
    args = [*TARGETS, "--cores", "2", *extra, "--configfile", "small.yaml", "--cache"]
    return snakemake(work, *args, env={"SNAKEMAKE_OUTPUT_CACHE": str(cache_dir), **(env or {})})


def science(work) -> dict[str, bytes]:
    return {t: (work / t).read_bytes() for t in TARGETS}


@pytest.fixture(scope="module")
def first_checkout(tmp_path_factory):
    root = tmp_path_factory.mktemp("cache")
    (root / "cache").mkdir()
    work = checkout(root, "a")
    cached_build(work, root / "cache")
    return root, work, science(work)


def test_entries_are_read_only_with_their_digest_and_results_link_to_them(first_checkout):
    root, work, _ = first_checkout
    entries = [p for p in (root / "cache").iterdir() if not p.name.endswith(".sha256")]
    # precision (errors, manifest), two training parts and the join (3 outputs + manifest each)
    assert len(entries) == 2 + 4 * (len(UNITS) + 1)
    for entry in entries:
        assert stat.S_IMODE(entry.stat().st_mode) == stat.S_IRUSR | stat.S_IRGRP | stat.S_IROTH
        assert (root / "cache" / f"{entry.name}.sha256").exists()
    for target in TARGETS:
        assert (work / target).is_symlink()
        assert (work / target).resolve().parent == (root / "cache").resolve()


def test_a_second_checkout_takes_every_result_from_the_cache(first_checkout):
    root, _, bytes_a = first_checkout
    work = checkout(root, "b")
    proc = cached_build(work, root / "cache")
    assert science(work) == bytes_a
    # no job computed: Snakemake creates each job's log, empty, and no step wrote to one
    logs = list((work / "results/logs").glob("*.log"))
    assert logs and all(p.stat().st_size == 0 for p in logs), proc.stderr[-2000:]
    assert "from cache" in proc.stderr + proc.stdout


def test_a_damaged_entry_is_recomputed_not_used(first_checkout):
    root, _, bytes_a = first_checkout
    entry = next((root / "cache").glob("*_errors.parquet"))
    entry.chmod(0o644)
    entry.write_bytes(entry.read_bytes()[:-8] + b"damaged!")
    work = checkout(root, "c")
    proc = cached_build(work, root / "cache")
    out = proc.stderr + proc.stdout
    assert f"cache: entry {entry.name} does not match its recorded digest" in out
    assert science(work) == bytes_a
    assert (work / paths.log_file("precision")).stat().st_size > 0  # it ran
    assert (work / paths.log_file("training")).stat().st_size == 0  # from the cache


def test_a_changed_software_version_misses_the_cache(first_checkout, tmp_path):
    root, _, _ = first_checkout
    work = checkout(root, "d")
    hit = cached_build(work, root / "cache", "-n")
    assert "will be obtained from global between-workflow cache" in hit.stdout + hit.stderr
    # a distribution of another version on the path: every cached rule's software digest changes
    (tmp_path / "numpy-0.0.1.dist-info").mkdir()
    env = {"PYTHONPATH": f"{tmp_path}:{work / 'src'}"}
    miss = cached_build(work, root / "cache", "-n", env=env)
    out = miss.stdout + miss.stderr
    assert "will be written to global between-workflow cache" in out
    assert "will be obtained from" not in out


def test_a_cache_folder_that_cannot_be_written_turns_the_cache_off(first_checkout):
    root, _, _ = first_checkout
    work = checkout(root, "e")
    (root / "not-a-folder").write_text("x")
    proc = cached_build(work, root / "not-a-folder" / "cache", "-n")
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("cache: off")]
    assert len(lines) == 1 and "cannot create" in lines[0], proc.stderr[-2000:]
    assert "between-workflow cache" not in proc.stdout + proc.stderr
