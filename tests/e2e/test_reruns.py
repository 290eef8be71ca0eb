"""Reruns of the lean build, for real (no dry runs), in one copy of it, in turn: a no-change
rerun, a parameter edit, ``lnpaper compare`` on the two builds, then an English build
(``--config language=en``) together with an edit of a shared src/ module and of a workflow
script. Each reruns exactly the jobs that depend on what changed. The lean config
(tests/configs/lean.yaml) has every kind of job and every experiment these edits touch."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

import pytest
import yaml
from helpers_front import check_front_in_every_format
from helpers_tex import check_arxiv

from conftest import snakemake
from lnpaper.pipeline import registry
from lnpaper.pipeline.config import load_yaml, validate
from reliability_kit import tree_digest


def downstream_steps(work, experiments, config="lean.yaml") -> set[str]:
    """Steps (jobs) that must rerun when ``experiments`` change: them, their tables and figures,
    the claims table, the numbers they feed, the runtime table (it reads every step's
    benchmark), tracking and the manuscript."""
    cfg = validate(
        load_yaml(work / config), load_yaml(work / "workflow/schemas/config.schema.yaml")
    )
    exps = set(experiments)
    steps = set(experiments) | {"numbers", "runtime", "track", "manuscript"}
    steps |= {
        f"table_{t}"
        for t in registry.enabled_tables(cfg)
        if t != "claims" and exps & set(map(registry.experiment_of, registry.table_sources(t, cfg)))
    }
    steps |= {
        f"figure_{f}"
        for f in registry.enabled_figures(cfg)
        if exps & set(map(registry.experiment_of, registry.FIGURES[f]))
    }
    if exps & set(map(registry.experiment_of, registry.claims_sources(cfg))):
        steps.add("table_claims")
    return steps


def downstream(work, experiments, config="lean.yaml") -> dict[str, int]:
    """Rule -> job count of ``downstream_steps``."""
    counts: dict[str, int] = {}
    for step in downstream_steps(work, experiments, config):
        counts[rule_of(step)] = counts.get(rule_of(step), 0) + 1
    return counts


def jobs_run(proc) -> dict[str, int]:
    """Rule -> jobs that ran in a real (not dry) run."""
    counts: dict[str, int] = {}
    for rule in re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", proc.stdout + proc.stderr):
        if rule != "all":
            counts[rule] = counts.get(rule, 0) + 1
    return counts


def step_of(rel: str) -> str:
    """The step (job) that writes a file, from its path under results/."""
    parts = rel.split("/")
    folder, stem = parts[0], parts[-1].split(".")[0]
    if folder in ("benchmarks", "logs", "manifests"):
        return stem
    if folder == "experiments":
        return f"training_part_{parts[3]}" if parts[2:3] == ["parts"] else parts[1]
    if folder == "tables":
        return "runtime" if stem == "runtime" else f"table_{stem}"
    if folder == "figures":
        return f"figure_{stem}"
    if folder == "manuscript":
        return "numbers" if stem == "numbers" else "manuscript"
    return {"tracking": "track", "data": "data"}.get(folder, folder)


def rule_of(step: str) -> str:
    if step == "table_claims":
        return "claims"
    for prefix in ("table", "figure", "training_part"):
        if step.startswith(prefix + "_"):
            return prefix
    return step


def run_count(work, kinds=("step", "build")) -> int:
    """MLflow runs of these kinds (per-condition child runs come with their step run)."""
    marks = ",".join("?" * len(kinds))
    with sqlite3.connect(work / "mlflow.db") as con:
        return con.execute(
            f"select count(*) from tags where key = 'lnpaper.kind' and value in ({marks})", kinds
        ).fetchone()[0]


def changed_steps(before: dict, after: dict) -> set[str]:
    assert set(before) <= set(after)
    return {step_of(k) for k in after if before.get(k) != after[k]}


@pytest.fixture(scope="module")
def rerun_copy(lean_build, tmp_path_factory):
    """A copy of the lean build (sources, results, Snakemake metadata, MLflow store, mtimes)."""
    work = tmp_path_factory.mktemp("rerun") / "work"
    shutil.copytree(lean_build[0], work, symlinks=True)
    return work


def test_no_change_rerun_runs_no_job_and_logs_no_run(rerun_copy):
    work = rerun_copy
    before, runs = tree_digest(work / "results"), run_count(work)
    children = run_count(work, ("condition",))
    proc = snakemake(work, "--configfile", "lean.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr and jobs_run(proc) == {}
    assert tree_digest(work / "results") == before
    assert run_count(work) == runs and run_count(work, ("condition",)) == children


def test_parameter_edit_reruns_its_jobs_and_reuses_everything_else(rerun_copy):
    work = rerun_copy
    cfg = yaml.safe_load((work / "lean.yaml").read_text())
    cfg["affine"] = {"gamma": [1.0, 2.0, 4.0]}
    (work / "changed.yaml").write_text(yaml.safe_dump(cfg))
    before, runs = tree_digest(work / "results"), run_count(work)
    build_before = json.loads((work / "results/tracking/build.json").read_text())
    proc = snakemake(work, "--configfile", "changed.yaml")
    assert jobs_run(proc) == downstream(work, ["affine"])
    after = tree_digest(work / "results")
    expected = downstream_steps(work, ["affine"])
    # the files that changed are exactly those of the jobs that had to run (each job rewrites at
    # least its benchmark and log); every other output keeps its bytes
    ran = changed_steps(before, after)
    assert ran == expected
    unchanged = [k for k in before if step_of(k) not in expected]
    # most of the build is not downstream of affine (93 of the lean build's 155 files)
    assert len(unchanged) > len(before) / 2 and all(after[k] == before[k] for k in unchanged)
    # MLflow: one new build run and one new step run per rerun step that leaves a manifest; the
    # runs of every other step are reused, not logged again
    build = json.loads((work / "results/tracking/build.json").read_text())
    new = sorted(s for s, v in build["steps"].items() if not v["reused"])
    assert "affine" in new and "matmul" not in new and "training" not in new
    assert set(new) <= ran
    for step, info in build["steps"].items():
        if step not in ran:
            assert info == {"run_id": build_before["steps"][step]["run_id"], "reused": True}
    assert run_count(work) == runs + 1 + len(new)


def test_compare_two_real_builds(rerun_copy):
    work = rerun_copy
    # the `lnpaper` command (pyproject's entry point) runs lnpaper.tools.cli:main
    proc = subprocess.run(
        [sys.executable, "-m", "lnpaper.tools.cli", "compare"]
        + ["--tracking-uri", f"sqlite:///{work / 'mlflow.db'}"],
        cwd=work,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(work / "src")},
    )
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| ")]
    assert rows[0].startswith("| key |")
    gamma = [r for r in rows if r.startswith("| params.affine.gamma |")]
    assert gamma == ["| params.affine.gamma | [1.0, 2.0, 3.0] | [1.0, 2.0, 4.0] |  |"], rows
    assert any(r.startswith("| metrics.affine.") for r in rows)
    assert not any(r.startswith(("| metrics.matmul.", "| params.matmul.")) for r in rows)


def test_english_build_and_src_and_script_edits_rerun_what_depends_on_them(rerun_copy, tmp_path):
    """``--config language=en`` (a positive override) reruns every report job, no experiment;
    an edit to a shared src/ module (experiments/groups.py: affine and layernorm_stats import
    it) and to an experiment's declaration (experiments/precision_spec.py) rerun exactly those
    experiments."""
    work = rerun_copy
    with open(work / "src/lnpaper/experiments/groups.py", "a") as fh:
        fh.write("\n# edited\n")
    with open(work / "src/lnpaper/experiments/precision_spec.py", "a") as fh:
        fh.write("\n# edited\n")
    before = tree_digest(work / "results")
    proc = snakemake(work, "--configfile", "changed.yaml", "--config", "language=en")
    ran = jobs_run(proc)
    edited = ["affine", "layernorm_stats", "precision"]
    experiments = {r for r in ran if r in registry.EXPERIMENTS or r == "training_part"}
    assert experiments == set(edited), ran
    cfg = validate(
        load_yaml(work / "changed.yaml"), load_yaml(work / "workflow/schemas/config.schema.yaml")
    )
    report = {
        "table": len(registry.enabled_tables(cfg)) - 1,  # claims has its own rule
        "figure": len(registry.enabled_figures(cfg)),
        "claims": 1,
        "numbers": 1,
        "runtime": 1,
        "track": 1,
        "manuscript": 1,
    }
    assert {r: n for r, n in ran.items() if r not in experiments} == report
    after = tree_digest(work / "results")
    for key in before:
        if key.startswith(("data/", "experiments/")) and step_of(key) not in edited:
            assert after[key] == before[key], key
    # English text where the language shows: table headers, figure labels, the manuscript
    header = (work / "results/tables/affine_grid.md").read_text().splitlines()[0]
    assert "| Mean |" in header and "Trung bình" not in header, header
    assert 'lang="en"' in (work / "results/manuscript/paper.html").read_text()
    # the build run records the override
    build = json.loads((work / "results/tracking/build.json").read_text())
    assert build["steps"]["affine"]["reused"] is False
    # the English arXiv source compiles alone with pdflatex (last: it skips where TeX is absent)
    out = work / "results/manuscript"
    check_front_in_every_format(out, "en")  # the English front file's title and abstract
    check_arxiv(out / "arxiv.tar.gz", out, tmp_path)
