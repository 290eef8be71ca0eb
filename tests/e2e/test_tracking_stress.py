"""Parallel logging loses no run and never hits 'database is locked' or a
migration race.

(a) 12 processes started at once each log a build into one brand-new SQLite store through
    lnpaper.tracking.log_build (plain MLflow processes crash here: they all migrate the new file;
    12 already collide on the migration, more only cost time on 2 cores).
(b) ``snakemake --cores 8`` on a fresh copy with a stress workflow (the project's workflow plus 60
    light jobs that each leave a manifest), once (``LNPAPER_STRESS_BUILDS=5`` repeats it in fresh
    copies, to hunt rare races): zero failures, and the MLflow run
    count equals the job count: each executed job leaves one manifest, the tracking job logs one
    step run per manifest plus one build run for itself; only the target rule ``stress_all`` has no
    run (it executes nothing).
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import re
import shutil
import sqlite3
import time

import pytest
import yaml

from conftest import ROOT, copy_workflow, snakemake
from lnpaper.pipeline import registry
from lnpaper.pipeline.config import load_yaml
from lnpaper.tracking import store
from stress.stress_step import stress_manifest

pytestmark = pytest.mark.slow

PROCESSES = 12
STRESS_JOBS = 60
BUILDS = int(os.environ.get("LNPAPER_STRESS_BUILDS", "1"))


def store_rows(db) -> list[tuple[str, str, str]]:
    """(run_uuid, status, lnpaper.kind tag) of every run in a store."""
    with sqlite3.connect(db) as con:
        return con.execute(
            "select r.run_uuid, r.status, t.value from runs r left join tags t "
            "on t.run_uuid = r.run_uuid and t.key = 'lnpaper.kind'"
        ).fetchall()


def _log_one(i, manifest, uri, barrier, results):
    barrier.wait()  # all processes open the brand-new store at the same moment
    try:
        summary = store.log_build([manifest], uri, "stress", {"config_hash": f"proc{i}"})
        results.put((i, "ok", summary["build_run_id"], summary["steps"][f"proc_{i}"]["run_id"]))
    except BaseException as exc:  # reported to the parent, never lost
        results.put((i, "error", repr(exc), ""))


def test_parallel_processes_log_into_one_new_store(tmp_path):
    import mlflow.entities  # noqa: F401
    import mlflow.tracking  # noqa: F401  imported once before fork: children start fast

    db = tmp_path / "mlflow.db"
    uri = f"sqlite:///{db}"
    manifests = []
    for i in range(PROCESSES):
        path = tmp_path / f"proc_{i}.json"
        path.write_text(
            json.dumps(stress_manifest(f"proc_{i}", {"i": i}, {"value": float(i)}, {}, {}))
        )
        manifests.append(str(path))
    ctx = mp.get_context("fork")
    barrier, results = ctx.Barrier(PROCESSES), ctx.Queue()
    procs = [
        ctx.Process(target=_log_one, args=(i, manifests[i], uri, barrier, results))
        for i in range(PROCESSES)
    ]
    t0 = time.monotonic()
    for p in procs:
        p.start()
    got = [results.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    print(f"{PROCESSES} processes logged in {time.monotonic() - t0:.1f} s")
    errors = [g for g in got if g[1] != "ok"]
    assert errors == []
    assert all(p.exitcode == 0 for p in procs)
    rows = store_rows(db)
    assert len(rows) == 2 * PROCESSES  # one build run and one step run per process
    assert {r[1] for r in rows} == {"FINISHED"}
    kinds = [r[2] for r in rows]
    assert kinds.count("build") == PROCESSES and kinds.count("step") == PROCESSES
    logged = {r[0] for r in rows}
    assert {g[2] for g in got} | {g[3] for g in got} == logged  # every reported run is stored
    with sqlite3.connect(db) as con:
        assert (
            con.execute("select count(*) from experiments where name = 'stress'").fetchone()[0] == 1
        )
        assert len(con.execute("select * from alembic_version").fetchall()) == 1  # migrated once


def stress_config() -> dict:
    schema = load_yaml(ROOT / "workflow/schemas/config.schema.yaml")["properties"]
    cfg = {exp: {"enabled": False} for exp in registry.EXPERIMENTS if exp in schema}
    cfg["data"] = {"n_seeds": 2}
    return cfg


def test_stress_build_run_count_equals_job_count(tmp_path):
    for build in range(BUILDS):
        (tmp_path / f"build{build}").mkdir()
        work = copy_workflow(tmp_path / f"build{build}")  # a fresh copy each time
        shutil.copy2(ROOT / "tests/stress/Snakefile", work / "stress.smk")
        shutil.copy2(ROOT / "tests/stress/stress_step.py", work / "stress_step.py")
        (work / "stress.yaml").write_text(yaml.safe_dump(stress_config()))
        t0 = time.monotonic()
        proc = snakemake(
            work,
            "stress_all",
            "-s",
            "stress.smk",
            "--cores",
            "8",
            "--configfile",
            "stress.yaml",
            env={"LNPAPER_STRESS_JOBS": str(STRESS_JOBS)},
        )
        wall = time.monotonic() - t0
        out = proc.stdout + proc.stderr
        done = re.findall(r"^(\d+) of (\d+) steps \(100%\) done$", out, re.M)
        assert done and done[-1][0] == done[-1][1], out[-2000:]
        jobs = int(done[-1][0])
        assert jobs == STRESS_JOBS + 3  # data, the stress jobs, stress_track, stress_all
        track_log = (work / "results/logs/stress_track.log").read_text()
        for bad in ("database is locked", "Traceback", "OperationalError", "IntegrityError"):
            assert bad not in out and bad not in track_log, bad
        manifests = sorted(p.stem for p in (work / "results/manifests").glob("*.json"))
        assert len(manifests) == STRESS_JOBS + 1
        rows = store_rows(work / "mlflow.db")
        assert {r[1] for r in rows} == {"FINISHED"}
        assert len(rows) == jobs - 1  # every job that executes something has exactly one run
        assert [r[2] for r in rows].count("build") == 1
        with sqlite3.connect(work / "mlflow.db") as con:
            steps = sorted(
                v for (v,) in con.execute("select value from tags where key = 'lnpaper.step'")
            )
        assert steps == manifests  # one run per manifest, none lost, none twice
        print(f"stress build {build + 1}/{BUILDS}: {jobs} jobs, {len(rows)} runs, {wall:.1f} s")
