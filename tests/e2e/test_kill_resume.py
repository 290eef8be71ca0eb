"""Killed builds resume to the same bytes; same config gives the same bytes.

The killed build runs with ``--cores 1``, the clean one (``lean_build``) with the default
profile's 4 cores: the byte comparison at the end also checks the 1-vs-4 core identity. Both use
the lean config (tests/configs/lean.yaml): the kills fall in matmul and tracking, which it has,
with data, numpy and torch experiments, tables, figures and the manuscript around them. matmul is
also the one experiment that asks for more than one thread (2 at 4 cores, 1 at 1 core); the
experiments lean leaves out run on one thread at any core count.

Kills are placed deterministically with the test-only pause hook of lnpaper.faults: a job that
reaches the named point (an atomic write just before its rename, or the tracking step after its
MLflow build run was created) writes a flag file and sleeps; the test then signals the whole
Snakemake process group, as Ctrl-C (SIGINT) or a power loss / OOM killer (SIGKILL) would.
"""

from __future__ import annotations

import json
import signal
import sqlite3

import pyarrow.parquet as pq
import pytest

from conftest import snakemake
from reliability_kit import assert_same_build, clone_sources, kill_at

pytestmark = pytest.mark.slow

LEAN = ("--cores", "1", "--configfile", "lean.yaml")
RESUME = (*LEAN, "--rerun-incomplete")  # what Snakemake asks for after a kill (README)


def run_statuses(work) -> list[str]:
    db = work / "mlflow.db"
    if not db.exists():
        return []
    with sqlite3.connect(db) as con:
        return [row[0] for row in con.execute("select status from runs")]


def assert_no_half_written_file(work) -> None:
    """Every file under a final name is complete: Parquet footers parse, JSON loads."""
    for path in (work / "results").rglob("*.parquet"):
        pq.read_metadata(path)
    for path in (work / "results").rglob("*.json"):
        json.loads(path.read_text())


def test_killed_builds_resume_to_the_clean_bytes(lean_build, tmp_path):
    clean, _ = lean_build
    work = clone_sources(clean, tmp_path)  # same sources as the clean build
    kills = []

    # 1. SIGKILL while matmul writes a Parquet file: the data sits complete under a temporary
    #    name, the final name does not exist yet
    paused, _ = kill_at(work, "trajectories.parquet", signal.SIGKILL, *LEAN)
    kills.append(paused)
    matmul = work / "results/experiments/matmul"
    assert not (matmul / "trajectories.parquet").exists()
    assert list(matmul.glob(".trajectories.parquet.*.tmp"))
    assert_no_half_written_file(work)
    # after SIGKILL Snakemake's lock and incomplete marks stay; a plain rerun says what to do
    # (the README explains: --unlock, then --rerun-incomplete)
    refused = snakemake(work, *LEAN, check=False)
    assert refused.returncode != 0
    assert "--unlock" in refused.stderr or "--rerun-incomplete" in refused.stderr
    snakemake(work, "--unlock")
    assert list((work / ".snakemake/incomplete").iterdir())  # matmul's outputs stay marked

    # 2. Ctrl-C while the rerun matmul writes its second Parquet file: Snakemake stops the jobs,
    #    removes their outputs and its lock; the interrupted writer removes its temporary file
    paused, _ = kill_at(work, "growth.parquet", signal.SIGINT, *RESUME)
    kills.append(paused)
    assert not (matmul / "growth.parquet").exists()
    assert not list(matmul.glob(".growth.parquet.*.tmp"))
    assert_no_half_written_file(work)
    assert not list((work / ".snakemake/locks").glob("*"))

    # 3. Ctrl-C while the tracking step logs to MLflow: its build run ends FAILED, not RUNNING
    paused, _ = kill_at(work, "track:logging", signal.SIGINT, *RESUME)
    kills.append(paused)
    assert "FAILED" in run_statuses(work) and "RUNNING" not in run_statuses(work)

    # 4. SIGKILL while the tracking step logs: a RUNNING run is left in the store
    paused, _ = kill_at(work, "track:logging", signal.SIGKILL, *RESUME)
    kills.append(paused)
    assert run_statuses(work).count("RUNNING") == 1
    assert_no_half_written_file(work)
    snakemake(work, "--unlock")

    # the build Snakemake asks for finishes ...
    snakemake(work, *RESUME)
    assert len(kills) == 4
    # ... completes the interrupted build run in place (same results, same build: not a second
    # tree), leaves nothing RUNNING or KILLED and no temporary file behind ...
    statuses = run_statuses(work)
    assert set(statuses) == {"FINISHED"}
    summary = json.loads((work / "results/tracking/build.json").read_text())
    assert summary["resumed_from"] == "RUNNING" and summary["stale_runs_killed"] == 0
    with sqlite3.connect(work / "mlflow.db") as con:
        builds = con.execute(
            "select count(*) from tags where key = 'lnpaper.kind' and value = 'build'"
        )
        assert builds.fetchone()[0] == 1
    assert not list((work / "results").rglob("*.tmp"))
    # ... and every output equals the clean build's, byte for byte (figures: pixels), though
    # the clean build ran with 4 cores and this one with 1
    assert "--cores" not in lean_build[1].args and "Provided cores: 4" in lean_build[1].stderr
    assert assert_same_build(clean, work) > 5
    assert "Nothing to be done" in snakemake(work, "-n", *LEAN).stdout
