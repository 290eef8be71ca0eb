"""The console at the end of a build: the summary (paper, bundle, steps, claims, changes, MLflow),
the one failure line, and which commands print the build estimate."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from lnpaper.pipeline import console
from lnpaper.pipeline.preflight import shows_estimate

SNAKEMAKE_LOG = """\
Select jobs to execute...
[Sat Dec  5 09:19:52 2026]
localrule affine:
    input: results/data/matrices.parquet
    log: results/logs/affine.log
[Sat Dec  5 09:19:52 2026]
Finished jobid: 4 (Rule: affine)
Finished jobid: 14 (Rule: table)
Finished jobid: 23 (Rule: table)
Finished jobid: 0 (Rule: all)
"""

FAILED_LOG = """\
[Sat Dec  5 09:18:06 2026]
localrule track:
    input: results/manifests/data.json
    output: results/tracking/build.json
    log: results/logs/track.log
    reason: Params have changed since last execution
Error in rule track:
    message: None
    jobid: 38
    input: results/manifests/data.json, results/manifests/matmul.json
    output: results/tracking/build.json
    log: results/logs/track.log (check log file(s) for error details)
Logfile results/logs/track.log:
================================================================================
tracking error: MLflow tracking server http://127.0.0.1:1 is not reachable
================================================================================
Error in rule matmul:
    jobid: 3
    output: results/experiments/matmul/growth.parquet
Shutting down, this might take some time.
"""


def results_folder(root: Path, verdicts: list[str], build: dict | None) -> None:
    (root / "results/manuscript").mkdir(parents=True)
    (root / "results/manuscript/bundle.zip").write_bytes(b"zip")
    (root / "results/tables").mkdir()
    rows = "\n".join(f"c{i},{v}" for i, v in enumerate(verdicts))
    (root / "results/tables/claims.csv").write_text(f"claim_id,verdict\n{rows}\n")
    if build is not None:
        (root / "results/tracking").mkdir()
        (root / "results/tracking/build.json").write_text(json.dumps(build))


def test_summary_names_paper_steps_claims_changes_and_the_runs_page(tmp_path):
    build = {
        "tracking_uri": "sqlite:///mlflow.db",
        "experiment_id": "3",
        "steps": {"affine": {"reused": False}, "matmul": {"reused": True}},
        "metrics": {"changed.numbers": 4.0, "changed.verdicts": 1.0},
        "claims_changed": [["5.3-gamma", "holds", "fails"]],
    }
    results_folder(tmp_path, ["holds", "fails", "holds", "inconclusive"], build)
    log = tmp_path / "snakemake.log"
    log.write_text(SNAKEMAKE_LOG)
    text = console.success_summary(tmp_path, [str(log)], started=0.0)
    lines = dict(
        line.strip().split(":", 1) for line in text.strip().splitlines()[1:] if ":" in line
    )
    assert lines["paper"].strip().startswith("results/manuscript/paper.html")
    assert lines["bundle"].strip() == "results/manuscript/bundle.zip"
    assert lines["steps"].strip() == (
        "3 job(s) ran (affine, table x2); 1 step(s) reused from earlier builds"
    )
    assert lines["claims"].strip() == "2 holds, 1 fails, 1 inconclusive"
    assert lines["changed"].strip() == (
        "4 quoted number(s), 1 verdict(s) (5.3-gamma: holds -> fails) since the previous build"
    )
    # the runs table, not MLflow 3's overview page, and the store to open
    assert (
        "http://127.0.0.1:5000/#/experiments/3/runs?workflowType=machine_learning (mlflow ui"
        in text
    )
    assert "snakemake --quiet host" in text


def test_summary_of_a_build_that_did_not_track_says_nothing_about_changes(tmp_path):
    old = {"tracking_uri": "sqlite:///m.db", "experiment_id": "1", "steps": {}, "metrics": {}}
    results_folder(tmp_path, ["holds"], old)
    stale = time.time() - 100
    os.utime(tmp_path / "results/tracking/build.json", (stale, stale))
    text = console.success_summary(tmp_path, [], started=time.time())
    assert "reused" not in text and "changed:" not in text
    assert "steps:   0 job(s) ran" in text
    text = console.success_summary(tmp_path, [], started=time.time(), mlflow_enabled=False)
    assert "mlflow:" not in text


def test_a_first_build_says_there_is_nothing_to_compare_with(tmp_path):
    first = {"tracking_uri": "sqlite:///m.db", "experiment_id": "1", "steps": {}, "metrics": {}}
    results_folder(tmp_path, ["holds"], first)
    text = console.success_summary(tmp_path, [], started=0.0)
    assert "changed: (first build in this store: nothing to compare with)" in text


def test_a_server_link_carries_no_credentials():
    build = {"tracking_uri": "https://user:secret@mlflow.example.org:8443/", "experiment_id": "7"}
    line = console.mlflow_line(build)
    assert (
        line == "https://mlflow.example.org:8443/#/experiments/7/runs?workflowType=machine_learning"
    )


def test_failure_is_one_line_naming_each_failed_step_and_its_log(tmp_path):
    log = tmp_path / "snakemake.log"
    log.write_text(FAILED_LOG)
    line = console.failure_line([str(log)])
    assert line == (
        f"build failed in step track (log: results/logs/track.log), matmul; full log {log}"
    )
    assert "\n" not in line
    assert console.failure_line([]) == "build failed"


@pytest.mark.parametrize(
    "argv, shown",
    [
        (["snakemake"], True),
        (["snakemake", "--cores", "4"], True),
        (["snakemake", "-n"], True),  # a dry run asks what a build would do
        (["snakemake", "--unlock"], False),
        (["snakemake", "--lint"], False),
        (["snakemake", "--report=r.zip"], False),
        (["snakemake", "--cleanup-metadata", "x"], False),
    ],
)
def test_only_commands_that_build_print_the_estimate(argv, shown):
    assert shows_estimate(argv) is shown


def test_the_log_file_keeps_what_quiet_hides_from_the_console():
    import logging

    from snakemake.logging import DefaultFilter, DefaultFormatter
    from snakemake.settings.enums import Quietness

    quiet = {Quietness.RULES, Quietness.HOST}
    handler = logging.FileHandler(os.devnull)
    handler.addFilter(DefaultFilter(quiet, False, False, False, False))
    handler.setFormatter(DefaultFormatter(quiet, True))

    class Manager:
        logfile_handlers = {handler: os.devnull}

    assert console.keep_full_log(Manager())
    assert handler.filters[0].quiet == set() and handler.formatter.quiet == set()
    assert console.keep_full_log(object()) is False  # another Snakemake: left as it is


CACHED_LOG = """\
localrule batch_dependence:
    output: results/experiments/batch_dependence/stats.parquet, results/manifests/batch_dependence.json
Symlinking output file results/experiments/training/parts/digits-rmsnorm/summary.parquet from cache.
Symlinking output file results/manifests/training_part_digits-rmsnorm.json from cache.
Symlinking output file results/experiments/batch_dependence/stats.parquet from cache.
Copying output file results/manifests/batch_dependence.json from cache.
Finished jobid: 14 (Rule: training_part)
Finished jobid: 19 (Rule: batch_dependence)
Finished jobid: 20 (Rule: table)
Finished jobid: 0 (Rule: all)
"""


def test_summary_counts_the_jobs_the_results_cache_served(tmp_path):
    """A job the cache served finishes like one that ran; its manifest, linked or copied from
    the cache, tells them apart (one per job, whatever its other outputs)."""
    assert console.jobs_from_cache(CACHED_LOG) == 2
    assert console.jobs_from_cache(SNAKEMAKE_LOG) == 0
    results_folder(tmp_path, ["holds"], None)
    log = tmp_path / "snakemake.log"
    log.write_text(CACHED_LOG)
    text = console.success_summary(tmp_path, [str(log)], started=0.0, mlflow_enabled=False)
    steps = next(line for line in text.splitlines() if line.strip().startswith("steps:"))
    assert steps.split(":", 1)[1].strip() == (
        "3 job(s) ran (batch_dependence, table, training_part), 2 of them served from the"
        " results cache"
    )
