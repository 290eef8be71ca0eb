"""A team's MLflow server backed by PostgreSQL started on this machine: four builds logging at
once each get one complete run tree, and a server that goes away mid-tracking fails the step,
which a rerun completes. Skipped, with what to install, where PostgreSQL or its Python driver is
missing, and failing instead under LNPAPER_REQUIRE_POSTGRES=1, as CI sets it."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from pathlib import Path

import pytest
import yaml

from conftest import SNAKEMAKE, active_runs, free_port, kinds
from lnpaper.pipeline import paths


@pytest.fixture(scope="module")
def team_server(tmp_path_factory):
    from lnpaper.tools import team_server as ts

    missing = None
    if ts.pg_bindir() is None:
        missing = ts.INSTALL_HINT
    else:
        try:
            import psycopg  # noqa: F401
        except ImportError:
            missing = "install the PostgreSQL driver (make server-setup) to run"
    if missing:
        if os.environ.get("LNPAPER_REQUIRE_POSTGRES"):
            pytest.fail(f"LNPAPER_REQUIRE_POSTGRES is set but: {missing}")
        pytest.skip(missing)
    # not below pytest's temporary folder, which only its owner may enter: as root, PostgreSQL
    # runs as the postgres user, who must reach its data folder
    state = Path(tempfile.mkdtemp(prefix="lnpaper-team-"))
    os.chmod(state, 0o755)
    try:
        backend = ts.start_postgres(state, free_port())
        port = free_port()
        # one process: on a loaded machine the supervisor of several workers may kill a worker
        # that answers its health ping late, dropping the connections of the builds it serves
        uri = ts.start_server(state, backend, port=port, workers=1)
        yield {"uri": uri, "state": state, "backend": backend, "port": port}
    finally:
        ts.stop_server(state)
        ts.stop_postgres(state)
        shutil.rmtree(state, ignore_errors=True)


def reference_tree(tiny_build) -> list[str]:
    """The kinds of runs one tiny build logs: its own local store holds exactly one build."""
    with sqlite3.connect(tiny_build[0] / "mlflow.db") as con:
        rows = con.execute(
            "select t.value from runs r join tags t on t.run_uuid = r.run_uuid "
            "and t.key = 'lnpaper.kind' where r.lifecycle_stage = 'active'"
        ).fetchall()
    return sorted(v for (v,) in rows)


def clone(tiny_build, dest: Path, uri: str) -> Path:
    """Another clone holding the tiny build's results (sources, git, results, Snakemake's
    metadata; not its local store), configured for the team server: only tracking is to run."""
    shutil.copytree(
        tiny_build[0],
        dest,
        symlinks=True,
        ignore=shutil.ignore_patterns("mlflow.db*", "mlartifacts"),
    )
    cfg = yaml.safe_load((dest / "tiny.yaml").read_text())
    cfg["mlflow"] = {"tracking_uri": uri}
    (dest / "server.yaml").write_text(yaml.safe_dump(cfg))
    return dest


TRACK = (paths.TRACKING_BUILD, "--cores", "1", "--configfile", "server.yaml")


def start_track(work: Path, *extra: str, env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen(
        [SNAKEMAKE, *TRACK, *extra],
        cwd=work,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def runs_by_build(uri: str) -> dict[str, list]:
    out: dict[str, list] = {}
    for run in active_runs(uri, "layernorm-paper"):
        out.setdefault(run.data.tags.get("lnpaper.build_id", "?"), []).append(run)
    return out


def check_tree(runs: list, work: Path, expected: list[str]) -> None:
    """One build's runs: the reference shape, all FINISHED, every step with its manifest's params
    and finite metrics, every condition run with its params and a curve."""
    assert kinds(runs) == expected
    assert {r.info.status for r in runs} == {"FINISHED"}
    steps = [r for r in runs if r.data.tags["lnpaper.kind"] == "step"]
    assert sorted(r.data.tags["lnpaper.step"] for r in steps) == sorted(
        p.stem for p in (work / "results/manifests").glob("*.json")
    )
    for run in steps:
        manifest = json.loads(
            (work / f"results/manifests/{run.data.tags['lnpaper.step']}.json").read_text()
        )
        assert run.data.params == {k: str(v) for k, v in manifest["params"].items()}
        finite = {k for k, v in manifest["metrics"].items() if v == v and abs(v) != float("inf")}
        assert set(run.data.metrics) >= finite
    for run in runs:
        if run.data.tags["lnpaper.kind"] == "condition":
            assert run.data.params and run.data.metrics


@pytest.mark.slow
def test_four_builds_logging_at_once_each_get_one_complete_tree(team_server, tiny_build, tmp_path):
    uri = team_server["uri"]
    expected = reference_tree(tiny_build)
    assert expected.count("build") == 1 and expected.count("step") > 10
    # the tiny build is computed once; four clones hold copies of its results, each a build of
    # its own, and their four tracking steps start at the same moment
    works = [clone(tiny_build, tmp_path / f"clone{k}", uri) for k in range(4)]
    t0 = time.monotonic()
    procs = [start_track(w) for w in works]
    outs = [p.communicate(timeout=900)[0] for p in procs]
    print(f"4 builds logged at once in {time.monotonic() - t0:.0f} s")
    for proc, out in zip(procs, outs):
        assert proc.returncode == 0, out[-3000:]
    summaries = [json.loads((w / paths.TRACKING_BUILD).read_text()) for w in works]
    ids = [s["build_id"] for s in summaries]
    assert len(set(ids)) == 4
    by_build = runs_by_build(uri)
    for work, summary in zip(works, summaries):
        runs = by_build.pop(summary["build_id"])
        check_tree(runs, work, expected)
        assert [r.info.run_id for r in runs if r.data.tags["lnpaper.kind"] == "build"] == [
            summary["build_run_id"]
        ]
        assert not any(s["reused"] for s in summary["steps"].values())
    assert by_build == {}  # nothing else in the store: no run lost, none twice

    # the tracking step of one build forced again: the same runs, updated in place
    before = sorted(r.info.run_id for r in active_runs(uri, "layernorm-paper"))
    proc = start_track(works[1], "--forcerun", "track")
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out[-3000:]
    again = json.loads((works[1] / paths.TRACKING_BUILD).read_text())
    assert again["build_run_id"] == summaries[1]["build_run_id"]
    assert again["resumed_from"] == "FINISHED" and again["steps"] == summaries[1]["steps"]
    runs = active_runs(uri, "layernorm-paper")
    assert sorted(r.info.run_id for r in runs) == before
    assert {r.info.status for r in runs} == {"FINISHED"}


@pytest.mark.slow
def test_server_going_away_mid_tracking_fails_the_step_and_a_rerun_completes_it(
    team_server, tiny_build, tmp_path
):
    from lnpaper.tools import team_server as ts
    from reliability_kit import tree_digest

    uri, state = team_server["uri"], team_server["state"]
    expected = reference_tree(tiny_build)
    work = clone(tiny_build, tmp_path / "clone", uri)
    steps = [p.stem for p in sorted((work / "results/manifests").glob("*.json"))]
    before = tree_digest(work / "results")
    flag = tmp_path / "paused"
    # pause the tracking step once a few steps are logged, stop the server, let the step go on
    proc = start_track(
        work,
        env={
            "LNPAPER_TEST_PAUSE_AT": "track:logged:figure_",
            "LNPAPER_TEST_PAUSE_SIGNAL": str(flag),
        },
    )
    deadline = time.monotonic() + 600
    while not flag.exists():
        assert proc.poll() is None, proc.communicate()[0][-3000:]
        assert time.monotonic() < deadline, "the tracking step never reached its pause point"
        time.sleep(0.2)
    ts.stop_server(state)
    flag.unlink()
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode != 0 and "Traceback" not in out, out[-3000:]
    lines = {line for line in out.splitlines() if line.startswith("tracking error:")}
    assert len(lines) == 1, out[-3000:]
    (line,) = lines
    assert f"server {uri} stopped answering" in line and "rerun snakemake" in line
    # the science results are intact: only the tracking step's own files changed
    own = ("tracking/", "logs/track.log", "benchmarks/track.tsv")
    after = tree_digest(work / "results")
    assert {k: v for k, v in after.items() if not k.startswith(own)} == {
        k: v for k, v in before.items() if not k.startswith(own)
    }
    assert (
        ts.start_server(state, team_server["backend"], port=team_server["port"], workers=1) == uri
    )
    ident = json.loads((work / paths.TRACKING_ID).read_text())["build_id"]
    partial = runs_by_build(uri)[ident]
    assert 1 < len(partial) < len(expected)  # some of its runs were logged before it went away
    # once the server is back, a plain rerun completes the same build's tree, no duplicate
    proc = start_track(work)
    out = proc.communicate(timeout=600)[0]
    assert proc.returncode == 0, out[-3000:]
    summary = json.loads((work / paths.TRACKING_BUILD).read_text())
    assert summary["build_id"] == ident and summary["resumed_from"] == "RUNNING"
    runs = runs_by_build(uri)[ident]
    check_tree(runs, work, expected)
    first = {r.info.run_id for r in partial}
    assert first <= {r.info.run_id for r in runs}  # what was logged before is kept, not redone
    assert sorted(summary["steps"]) == sorted(steps)
