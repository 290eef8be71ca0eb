"""End to end: the workflow on a tiny config in a temp copy, as a user runs it."""

from __future__ import annotations

import re
import shutil

import pandas as pd
import pytest
import yaml

from conftest import copy_workflow, snakemake
from lnpaper.pipeline import registry
from lnpaper.pipeline.config import load_yaml, validate

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
    work, _ = tiny_build
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
        assert (work / f"results/tables/{table}.tex").read_text().count("\\toprule") == 1
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
    assert builds[0].data.tags["lnpaper.git_commit"]
    assert builds[0].data.tags["lnpaper.config_hash"]


def test_nothing_changed_runs_no_job(tiny_build):
    work, _ = tiny_build
    proc = snakemake(work, "-n", "--cores", "4", "--configfile", "tiny.yaml")
    assert "Nothing to be done" in proc.stdout + proc.stderr


def affine_downstream(work) -> dict[str, int]:
    """Jobs that must rerun when affine changes: it, its tables and figures, the claims table,
    the numbers they feed, the runtime table (it reads every step's benchmark), tracking and
    the manuscript."""
    cfg = validate(
        load_yaml(work / "tiny.yaml"), load_yaml(work / "workflow/schemas/config.schema.yaml")
    )
    tables = [
        t
        for t in registry.enabled_tables(cfg)
        if t != "claims" and "affine" in map(registry.experiment_of, registry.table_sources(t, cfg))
    ]
    figures = [
        f
        for f in registry.enabled_figures(cfg)
        if "affine" in map(registry.experiment_of, registry.FIGURES[f])
    ]
    return {
        "affine": 1,
        "table": len(tables),
        "claims": 1,
        "figure": len(figures),
        "numbers": 1,
        "runtime": 1,
        "track": 1,
        "manuscript": 1,
    }


def downstream(work, experiments) -> dict[str, int]:
    assert list(experiments) == ["affine"]
    return affine_downstream(work)


def test_one_parameter_change_reruns_only_that_experiment_and_downstream(tiny_build, tmp_path):
    work, _ = tiny_build
    cfg = yaml.safe_load((work / "tiny.yaml").read_text())
    cfg["affine"] = {"gamma": [1.0, 2.0, 4.0]}
    (work / "changed.yaml").write_text(yaml.safe_dump(cfg))
    proc = snakemake(work, "-n", "--cores", "4", "--configfile", "changed.yaml")
    assert scheduled_jobs(proc) == affine_downstream(work)


def test_code_change_reruns_only_its_rules(tiny_build, tmp_path):
    work = copy_workflow(tmp_path)
    shutil.copytree(tiny_build[0] / "results", work / "results")
    shutil.copytree(tiny_build[0] / ".snakemake", work / ".snakemake")
    with open(work / "src/lnpaper/experiments/affine.py", "a") as fh:
        fh.write("\n# edited\n")
    proc = snakemake(work, "-n", "--cores", "4", "--configfile", "tiny.yaml")
    assert scheduled_jobs(proc) == affine_downstream(work)


def test_bad_config_fails_fast_with_one_line(tmp_path):
    work = copy_workflow(tmp_path)
    (work / "bad.yaml").write_text("matmul:\n  scales: [0.5, -1.0]\n")
    proc = snakemake(work, "--cores", "4", "--configfile", "bad.yaml", check=False)
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr + proc.stdout
    errors = [line for line in proc.stderr.splitlines() if line.startswith("config error")]
    assert errors == ["config error: matmul.scales[1]: got -1.0; allowed: number > 0"]
    assert not (work / "results").exists()


def test_lint_passes():
    from conftest import ROOT

    proc = snakemake(ROOT, "--lint")
    assert "Lints for" not in proc.stdout + proc.stderr
