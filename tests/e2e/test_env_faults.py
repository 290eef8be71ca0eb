"""Environment faults in a build: read-only or full results/, a locked or corrupt MLflow store
and an unreachable tracking server each give one clear message that names the remedy, and no
existing result is deleted or overwritten with partial data (unit level:
pipeline/test_io_faults.py, tracking/test_store_faults.py).

We run as root here, so chmod does not stop writes: read-only is a read-only bind mount and a full
disk a small tmpfs (both need mount rights, which root has; see reliability_kit)."""

from __future__ import annotations

import re
import shutil
import socket
import sqlite3

import pytest
import yaml

from conftest import copy_mlflow_store, snakemake
from lnpaper.tracking import store
from reliability_kit import digest, mount_available, read_only, tiny_disk, tree_digest

needs_mount = pytest.mark.skipif(not mount_available(), reason="needs mount rights (root)")


# ---- unit level: the MLflow store --------------------------------------------------------------


@pytest.mark.slow
def test_store_locked_by_sqlite_transaction_names_the_remedy(tmp_path, migrated_mlflow_db):
    db = tmp_path / "mlflow.db"
    uri = copy_mlflow_store(migrated_mlflow_db, db)
    store.log_build([], uri, "e", {"config_hash": "x"})
    con = sqlite3.connect(db, isolation_level=None)
    con.execute("BEGIN EXCLUSIVE")  # e.g. a sqlite3 shell or a writing `mlflow ui`
    try:
        with pytest.raises(store.TrackingError) as info:
            store.log_build([], uri, "e", {"config_hash": "y"})
    finally:
        con.execute("ROLLBACK")
        con.close()
    assert "is locked by another program" in str(info.value) and "Close it" in str(info.value)
    with sqlite3.connect(db) as con:  # the store still holds exactly the first build, FINISHED
        assert [r[0] for r in con.execute("select status from runs")] == ["FINISHED"]


# ---- end to end: snakemake on a built copy ---------------------------------------------------


@pytest.fixture
def built_copy(lean_build, tmp_path):
    """A copy of the lean build (results, Snakemake metadata and store) to break things in: it
    has every kind of job, and the faults are the same whatever the experiments compute."""
    work = tmp_path / "work"
    shutil.copytree(lean_build[0], work, symlinks=True)  # its sources too: nothing is out of date
    cfg = yaml.safe_load((work / "lean.yaml").read_text())
    cfg["affine"] = {"gamma": [1.0, 2.0, 4.0]}  # one experiment has to run again
    (work / "changed.yaml").write_text(yaml.safe_dump(cfg))
    return work


def one_error_line(proc, prefix: str) -> str:
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0 and "Traceback" not in out, out[-3000:]
    lines = [line for line in proc.stderr.splitlines() if line.startswith(prefix)]
    # one message; the default profile's show-failed-logs prints the failed job's log after it,
    # so the same line may appear a second time there
    assert len(set(lines)) == 1 and len(lines) <= 2, out[-3000:]
    return lines[0]


@pytest.mark.slow
@needs_mount
def test_read_only_results_stop_the_build_before_any_job(built_copy):
    work = built_copy
    with read_only(work / "results"):
        proc = snakemake(work, "--cores", "4", "--configfile", "changed.yaml", check=False)
    # results/ cannot change under a read-only mount, so only the message and the stop before
    # any job are checked (the full-disk test below checks untouched results where it can fail)
    line = one_error_line(proc, "output error:")
    assert "not writable (Read-only file system)" in line and "remount read-write" in line
    assert "Finished jobid" not in proc.stdout + proc.stderr


@pytest.mark.slow
@needs_mount
def test_full_results_disk_stops_the_build_before_any_job(built_copy):
    work = built_copy
    before = tree_digest(work / "results")
    files = [p for p in (work / "results").rglob("*")]
    size_kb = sum(4 + p.stat().st_size // 1024 for p in files)  # tmpfs: 4 kB blocks per file
    with tiny_disk(work / "results", f"{size_kb + 2048}k"):
        proc = snakemake(work, "--cores", "4", "--configfile", "changed.yaml", check=False)
        line = one_error_line(proc, "output error:")
        assert "MB free under results/" in line and "free space" in line
        assert tree_digest(work / "results") == before


@pytest.mark.slow
def test_corrupt_store_fails_only_the_tracking_step(built_copy):
    work = built_copy
    (work / "mlflow.db").write_bytes(b"\x00garbage" * 4096)
    db_before = digest(work / "mlflow.db")
    proc = snakemake(work, "--cores", "4", "--configfile", "changed.yaml", check=False)
    line = one_error_line(proc, "tracking error:")
    assert "is corrupt" in line and "mv " in line and "mlflow.db.bad" in line
    assert digest(work / "mlflow.db") == db_before  # never "repaired" by overwriting
    # the computation finished and is kept: after moving the store aside only tracking runs
    (work / "mlflow.db").rename(work / "mlflow.db.bad")
    dry = snakemake(work, "-n", "--cores", "4", "--configfile", "changed.yaml")
    assert re.search(r"^track\s+1$", dry.stdout, re.M) and not re.search(
        r"^affine\s+\d", dry.stdout, re.M
    )
    snakemake(work, "--cores", "4", "--configfile", "changed.yaml")
    assert (work / "results/tracking/build.json").exists()


@pytest.mark.slow
def test_unreachable_server_fails_only_the_tracking_step(built_copy):
    work = built_copy
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = yaml.safe_load((work / "lean.yaml").read_text())
    cfg["mlflow"] = {"tracking_uri": f"http://127.0.0.1:{port}"}  # only the tracking step reruns
    (work / "server.yaml").write_text(yaml.safe_dump(cfg))
    before = tree_digest(work / "results")
    proc = snakemake(work, "--cores", "4", "--configfile", "server.yaml", check=False)
    line = one_error_line(proc, "tracking error:")
    assert "not reachable" in line and "Start the server" in line
    # the build ends naming the failed step and its log, and never prints the config
    assert "build failed in step track (log: results/logs/track.log)" in proc.stderr
    assert "matmul.steps" not in proc.stdout + proc.stderr
    after = tree_digest(work / "results")
    # every result is kept as it was; only the tracking step's own files changed (Snakemake
    # removes the output of the failed job: the build.json of the previous build)
    own = ("tracking/", "logs/track.log", "benchmarks/track.tsv")
    assert {k: v for k, v in after.items() if not k.startswith(own)} == {
        k: v for k, v in before.items() if not k.startswith(own)
    }
