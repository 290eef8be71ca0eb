"""End to end: the workflow on a tiny config in a temp copy, as a user runs it: every declared
output, the console summary, file modes, the MLflow runs, and ``snakemake --report``. The
reruns are in test_reruns.py."""

from __future__ import annotations

import os
import re
import stat
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest

from conftest import snakemake
from lnpaper.pipeline import registry
from lnpaper.pipeline.config import load_yaml, validate

pytestmark = pytest.mark.slow

CONTRACT_COLUMNS = {
    "matmul/trajectories": "b_dist n scale layernorm seed step log_norm norm_fp32".split(),
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


def test_snakemake_report_end_to_end(tiny_build, tmp_path):
    work, _ = tiny_build
    report = tmp_path / "report.zip"
    snakemake(work, "--configfile", "tiny.yaml", "--report", str(report))
    with zipfile.ZipFile(report) as zf:
        names = zf.namelist()
    assert any(n.endswith("report.html") for n in names)
    assert any(n.endswith("affine_grid.png") for n in names)
    assert any(n.endswith("scale_behavior.csv") for n in names)
