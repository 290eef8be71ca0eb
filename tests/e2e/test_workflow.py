"""End to end: the workflow on a tiny config in a temp copy, as a user runs it.

The rerun tests run Snakemake for real (no dry runs) in one copy of the tiny build, in turn: a
no-change rerun, a parameter edit, then an English build (``--config language=en``) together
with an edit of a shared src/ module and of a workflow script; then ``lnpaper compare`` on the
builds and ``snakemake --report``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import snakemake
from lnpaper.pipeline import registry
from lnpaper.pipeline.config import load_yaml, validate
from reliability_kit import tree_digest

pytestmark = pytest.mark.slow

CONTRACT_COLUMNS = {
    "matmul/trajectories": [
        "b_dist",
        "n",
        "scale",
        "layernorm",
        "seed",
        "step",
        "log_norm",
        "norm_fp32",
    ],
    "matmul/growth": [
        "b_dist",
        "n",
        "scale",
        "layernorm",
        "growth_rate_mean",
        "growth_rate_ci_low",
        "growth_rate_ci_high",
        "growth_rate_theory",
        "overflow_step_median",
    ],
    "layernorm_stats/stats": [
        "shape",
        "normalized_over",
        "stage",
        "seed",
        "mean",
        "std_biased",
        "std_unbiased",
        "pearson_r",
    ],
    "affine/stats": ["gamma", "beta", "seed", "mean", "std_biased", "std_unbiased"],
    "training/summary": [
        "norm",
        "depth",
        "arch",
        "seed",
        "test_accuracy",
        "test_loss",
        "steps_to_threshold",
        "loss_oscillation",
        "grad_norm_first_layer_init",
        "diverged",
    ],
    "batch_dependence/stats": ["norm", "mode", "batch_size", "output_std"],
}


def scheduled_jobs(proc) -> dict[str, int]:
    """Rule -> job count from the 'Job stats' table of a dry run."""
    counts, in_table = {}, False
    for line in proc.stdout.splitlines():
        if line.startswith("job") and "count" in line:
            in_table = True
            continue
        if in_table:
            m = re.match(r"^(\w+)\s+(\d+)$", line.strip())
            if m and m.group(1) not in ("total", "all"):
                counts[m.group(1)] = int(m.group(2))
            elif line.strip().startswith("total"):
                break
    return counts


def test_every_declared_output_exists_and_is_plausible(tiny_build):
    work, proc = tiny_build
    # the build ran as typed, with no --cores: the default profile (the profiles/ link) was used
    assert "Using workflow specific profile profiles/default" in proc.stdout + proc.stderr
    # printed at start, before any job, with the job count Snakemake then runs
    done = re.findall(r"(\d+) of (\d+) steps \(100%\) done", proc.stderr)
    assert done and done[-1][0] == done[-1][1]
    assert f"build estimate: about {done[-1][1]} jobs" in proc.stderr
    assert proc.stderr.index("build estimate") < proc.stderr.index("steps (")
    cfg = validate(
        load_yaml(work / "config.yaml"), load_yaml(work / "workflow/schemas/config.schema.yaml")
    )
    for exp, outputs in registry.EXPERIMENTS.items():
        for name in outputs:
            df = pd.read_parquet(work / f"results/experiments/{exp}/{name}.parquet")
            assert len(df) > 0
            for col in CONTRACT_COLUMNS.get(f"{exp}/{name}", []):
                assert col in df.columns, (exp, name, col)
    for table in registry.enabled_tables(cfg):
        csv = pd.read_csv(work / f"results/tables/{table}.csv")
        assert len(csv) > 0
        tex = (work / f"results/tables/{table}.tex").read_text()
        parts = int(re.search(r"(\d+) part\(s\)", tex).group(1))  # a wide table is split
        assert tex.count("\\bottomrule") == parts >= 1
        assert (work / f"results/tables/{table}.md").read_text().startswith("| ")
    for fig in registry.enabled_figures(cfg):
        assert (work / f"results/figures/{fig}.png").read_bytes()[:4] == b"\x89PNG"
        assert (work / f"results/figures/{fig}.pdf").read_bytes()[:5] == b"%PDF-"
    growth = pd.read_parquet(work / "results/experiments/matmul/growth.parquet")
    plain = growth[~growth["layernorm"]]
    assert (plain["growth_rate_mean"] - plain["growth_rate_theory"]).abs().max() < 0.15
    affine = pd.read_csv(work / "results/tables/affine_grid.csv")
    row = affine[(affine["gamma"] == 3) & (affine["beta"] == 5)].iloc[0]
    assert row["mean"] == pytest.approx(5, abs=1e-5) and row["std_biased"] == pytest.approx(
        3, abs=1e-3
    )


def test_the_console_ends_with_a_summary_and_the_job_listings_are_in_the_log(tiny_build):
    work, proc = tiny_build
    out = proc.stdout + proc.stderr
    # the default profile keeps each job's listing (inputs, reason) off the console...
    assert "    input: " not in out and "reason: " not in out
    summary = out[out.index("build summary") :]
    assert "paper:   results/manuscript/paper.html" in summary
    assert "bundle:  results/manuscript/bundle.zip" in summary
    assert re.search(r"steps:   \d+ job\(s\) ran \(", summary)
    assert re.search(r"claims:  \d+ ", summary)
    assert "changed: (first build in this store: nothing to compare with)" in summary
    runs = "/#/experiments/1/runs?workflowType=machine_learning"
    assert f"{runs} (mlflow ui --backend-store-uri sqlite:///mlflow.db)" in summary
    # ...and Snakemake's log file keeps them
    log = re.search(r"log:     (\S+\.snakemake\.log)", summary).group(1)
    text = Path(log).read_text()
    assert "localrule manuscript:" in text and "    input: " in text


def test_every_output_is_readable_by_others_under_the_umask(tiny_build):
    """Files get 0666 minus the umask (0644 under 022), as with any program, not mkstemp's 0600."""
    work, _ = tiny_build
    mask = os.umask(0)
    os.umask(mask)
    want = 0o666 & ~mask
    files = [p for p in (work / "results").rglob("*") if p.is_file()]
    assert len(files) > 100
    modes = {str(p.relative_to(work)): oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    assert {k: v for k, v in modes.items() if v != oct(want)} == {}
    if mask == 0o022:
        assert oct(want) == "0o644"


def test_mlflow_holds_a_run_per_step_with_params_metrics_versions(tiny_build):
    from mlflow.tracking import MlflowClient

    work, _ = tiny_build
    client = MlflowClient(tracking_uri=f"sqlite:///{work / 'mlflow.db'}")
    exp = client.get_experiment_by_name("layernorm-paper")
    steps = client.search_runs([exp.experiment_id], "tags.`lnpaper.kind` = 'step'")
    manifests = list((work / "results/manifests").glob("*.json"))
    assert len(steps) == len(manifests)
    builds = client.search_runs([exp.experiment_id], "tags.`lnpaper.kind` = 'build'")
    assert len(builds) == 1
    by_step = {r.data.tags["lnpaper.step"]: r for r in steps}
    matmul = by_step["matmul"]
    assert matmul.data.params["matmul.steps"] == "12"
    assert "max_abs_rate_error" in matmul.data.metrics
    for pkg in ("python", "torch", "numpy", "pandas", "snakemake", "mlflow"):
        assert f"version.{pkg}" in matmul.data.tags
    assert matmul.data.tags["mlflow.parentRunId"] == builds[0].info.run_id
    # the commit of the sources that were built (the copy is a git repository, as a clone is)
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=work, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert re.fullmatch(r"[0-9a-f]{40}", head)
    assert builds[0].data.tags["lnpaper.git_commit"] == head
    assert builds[0].data.tags["lnpaper.config_hash"]


def downstream_steps(work, experiments, config="tiny.yaml") -> set[str]:
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


def downstream(work, experiments, config="tiny.yaml") -> dict[str, int]:
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
def rerun_copy(tiny_build, tmp_path_factory):
    """A copy of the tiny build (sources, results, Snakemake metadata, MLflow store, mtimes)."""
    work = tmp_path_factory.mktemp("rerun") / "work"
    shutil.copytree(tiny_build[0], work, symlinks=True)
    return work


def test_no_change_rerun_runs_no_job_and_logs_no_run(rerun_copy):
    work = rerun_copy
    before, runs = tree_digest(work / "results"), run_count(work)
    children = run_count(work, ("condition",))
    proc = snakemake(work, "--configfile", "tiny.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr and jobs_run(proc) == {}
    assert tree_digest(work / "results") == before
    assert run_count(work) == runs and run_count(work, ("condition",)) == children


def test_parameter_edit_reruns_its_jobs_and_reuses_everything_else(rerun_copy):
    work = rerun_copy
    cfg = yaml.safe_load((work / "tiny.yaml").read_text())
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
    assert len(unchanged) > 100 and all(after[k] == before[k] for k in unchanged)
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


def test_english_build_and_src_and_script_edits_rerun_what_depends_on_them(rerun_copy):
    """``--config language=en`` (a positive override) reruns every report job, no experiment;
    an edit to a shared src/ module (experiments/groups.py: affine and layernorm_stats import
    it) and to a workflow script (scripts/precision.py) rerun exactly those experiments."""
    work = rerun_copy
    with open(work / "src/lnpaper/experiments/groups.py", "a") as fh:
        fh.write("\n# edited\n")
    with open(work / "workflow/scripts/precision.py", "a") as fh:
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


def test_snakemake_report_end_to_end(tiny_build, tmp_path):
    work, _ = tiny_build
    report = tmp_path / "report.zip"
    snakemake(work, "--configfile", "tiny.yaml", "--report", str(report))
    with zipfile.ZipFile(report) as zf:
        names = zf.namelist()
    assert any(n.endswith("report.html") for n in names)
    assert any(n.endswith("affine_grid.png") for n in names)
    assert any(n.endswith("scale_behavior.csv") for n in names)
