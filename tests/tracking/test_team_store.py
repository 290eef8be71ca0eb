"""A team's store: build identity, builds that log at once, a server that goes away.

Unit tests on a local SQLite store (fast), then end-to-end tests on a real MLflow server backed by
PostgreSQL started on this machine (slow; skipped, with what to install, where PostgreSQL or its
Python driver is missing, and failing instead under LNPAPER_REQUIRE_POSTGRES=1, as CI sets it).
"""

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
from test_tracking import fake_manifest, free_port

from conftest import SNAKEMAKE
from lnpaper.pipeline import paths
from lnpaper.tracking import store
from lnpaper.tracking.identity import build_identity


def active_runs(uri: str, experiment: str = "e") -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], max_results=50000)


def kinds(runs) -> list[str]:
    return sorted(r.data.tags.get("lnpaper.kind", "") for r in runs)


# ---- identity -----------------------------------------------------------------------------------


def test_build_id_is_kept_with_the_results_and_a_copy_is_another_build(tmp_path):
    id_file = tmp_path / "a/results/tracking/build_id.json"
    first = build_identity(id_file)
    assert build_identity(id_file) == first  # written once, read back after
    assert json.loads(id_file.read_text())["build_id"] == first["build_id"]
    assert first["continues"] == []
    shutil.copytree(tmp_path / "a", tmp_path / "b")  # another clone's copy of the results
    copy = build_identity(tmp_path / "b/results/tracking/build_id.json")
    assert copy["build_id"] != first["build_id"] and copy["continues"] == [first["build_id"]]
    assert build_identity(id_file) == first  # the original keeps its id
    id_file.write_text("{not json")  # damaged: a new build, not a crash
    assert build_identity(id_file)["build_id"] not in (first["build_id"], copy["build_id"])


# ---- one build's runs, on a local store -------------------------------------------------------


def test_relogging_the_same_results_updates_the_build_in_place(tmp_path):
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    ident = build_identity(tmp_path / "results/tracking/build_id.json")
    manifests = [fake_manifest(tmp_path, "s1", 1.0, series=True), fake_manifest(tmp_path, "s2", 2)]
    first = store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=ident)
    runs = active_runs(uri)
    assert kinds(runs) == ["build", "condition", "condition", "step", "step"]
    again = store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=ident)
    assert again["build_run_id"] == first["build_run_id"] and again["resumed_from"] == "FINISHED"
    assert again["steps"] == first["steps"]  # its own step runs: kept, not counted as reused
    after = active_runs(uri)
    assert sorted(r.info.run_id for r in after) == sorted(r.info.run_id for r in runs)
    assert {r.info.status for r in after} == {"FINISHED"}
    assert {r.data.tags["lnpaper.build_id"] for r in after} == {ident["build_id"]}


def test_a_step_that_ran_again_is_a_new_build_run_of_the_same_folder(tmp_path):
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    ident = build_identity(tmp_path / "results/tracking/build_id.json")
    manifests = [fake_manifest(tmp_path, "s1", 1.0), fake_manifest(tmp_path, "s2", 2.0)]
    first = store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=ident)
    manifests[1] = fake_manifest(tmp_path, "s2", 3.0)
    second = store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=ident)
    assert second["build_run_id"] != first["build_run_id"] and second["resumed_from"] is None
    assert second["steps"]["s1"] == {"run_id": first["steps"]["s1"]["run_id"], "reused": True}
    assert not second["steps"]["s2"]["reused"]
    assert kinds(active_runs(uri)) == ["build", "build", "step", "step", "step"]


def test_another_results_folder_is_another_build_with_a_tree_of_its_own(tmp_path):
    """Byte-identical manifests (results copied between clones) are not reused across builds
    that do not descend from each other: each build's tree is complete on its own."""
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    manifests = [fake_manifest(tmp_path, "s1", 1.0, series=True)]
    a = build_identity(tmp_path / "a/tracking/build_id.json")
    b = build_identity(tmp_path / "b/tracking/build_id.json")
    sa = store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=a)
    sb = store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=b)
    assert sa["build_run_id"] != sb["build_run_id"]
    assert sa["steps"]["s1"]["run_id"] != sb["steps"]["s1"]["run_id"]
    assert not sb["steps"]["s1"]["reused"]
    by_build = {}
    for run in active_runs(uri):
        by_build.setdefault(run.data.tags["lnpaper.build_id"], []).append(run)
    assert {k: kinds(v) for k, v in by_build.items()} == {
        a["build_id"]: ["build", "condition", "condition", "step"],
        b["build_id"]: ["build", "condition", "condition", "step"],
    }
    # a copy of a's folder continues it: the step's run is reused, the build run is its own
    shutil.copytree(tmp_path / "a", tmp_path / "a2")
    a2 = build_identity(tmp_path / "a2/tracking/build_id.json")
    s2 = store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=a2)
    assert s2["steps"]["s1"] == {"run_id": sa["steps"]["s1"]["run_id"], "reused": True}
    assert s2["build_run_id"] not in (sa["build_run_id"], sb["build_run_id"])


def test_an_interrupted_build_is_completed_in_place_without_duplicates(tmp_path, monkeypatch):
    from mlflow.exceptions import MlflowException

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    ident = build_identity(tmp_path / "results/tracking/build_id.json")
    manifests = [fake_manifest(tmp_path, "s1", 1.0), fake_manifest(tmp_path, "s2", 2.0, True)]
    real = store._log_conditions

    def one_condition_then_gone(client, exp_id, parent_id, manifest, identity_tags=None):
        client.create_run(
            exp_id,
            tags={"mlflow.parentRunId": parent_id, "lnpaper.kind": "condition", **identity_tags},
        )
        raise MlflowException("API request failed: Max retries exceeded (Connection refused)")

    monkeypatch.setattr(store, "_log_conditions", one_condition_then_gone)
    with pytest.raises(store.TrackingError):
        store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=ident)
    statuses = sorted(r.info.status for r in active_runs(uri))
    assert statuses == ["FAILED", "FINISHED", "RUNNING", "RUNNING"]  # build, s1, s2, 1 condition
    monkeypatch.setattr(store, "_log_conditions", real)
    done = store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=ident)
    assert done["resumed_from"] == "FAILED" and done["partial_runs_replaced"] == 2
    runs = active_runs(uri)
    assert kinds(runs) == ["build", "condition", "condition", "step", "step"]
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert len({r.data.tags["lnpaper.build_id"] for r in runs}) == 1
    assert not any(s["reused"] for s in done["steps"].values())


def test_only_the_runs_of_the_build_being_logged_are_marked_killed(tmp_path):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{tmp_path / 'm.db'}"
    mine = build_identity(tmp_path / "mine/tracking/build_id.json")
    theirs = build_identity(tmp_path / "theirs/tracking/build_id.json")
    manifests = [fake_manifest(tmp_path, "s1", 1.0)]
    store.log_build(manifests, uri, "e", {"config_hash": "c1"}, identity=mine)
    client = MlflowClient(uri)
    exp_id = client.get_experiment_by_name("e").experiment_id
    # a colleague's build is logging right now; one of mine was killed while logging c0
    live = client.create_run(exp_id, tags={"lnpaper.build_id": theirs["build_id"]})
    stale = client.create_run(
        exp_id, tags={"lnpaper.build_id": mine["build_id"], "lnpaper.kind": "build"}
    )
    summary = store.log_build(manifests, uri, "e", {"config_hash": "c2"}, identity=mine)
    assert summary["stale_runs_killed"] == 1
    assert client.get_run(stale.info.run_id).info.status == "KILLED"
    assert client.get_run(live.info.run_id).info.status == "RUNNING"
    # an unidentified logger (the library without identity) does not kill it either
    assert store.log_build(manifests, uri, "e", {})["stale_runs_killed"] == 0
    assert client.get_run(live.info.run_id).info.status == "RUNNING"


def test_creating_the_experiment_at_the_same_moment_reads_the_winners():
    from mlflow.entities import Experiment
    from mlflow.exceptions import MlflowException
    from mlflow.protos.databricks_pb2 import INTERNAL_ERROR, RESOURCE_ALREADY_EXISTS

    winner = Experiment("7", "e", "loc", "active", tags={})

    class LosesTheRace:
        calls = []

        def get_experiment_by_name(self, name):
            self.calls.append("get")
            return winner if "create" in self.calls else None

        def create_experiment(self, name, artifact_location=None):
            self.calls.append("create")
            raise MlflowException("exists", error_code=RESOURCE_ALREADY_EXISTS)

        def set_experiment_tag(self, exp_id, key, value):
            self.calls.append("tag")
            if self.calls.count("tag") == 1:  # the other build inserts the same tag row
                raise MlflowException("UniqueViolation: duplicate key", error_code=INTERNAL_ERROR)

    client = LosesTheRace()
    assert store.ensure_experiment(client, "e", None) == "7"
    assert client.calls == ["get", "create", "get", "tag", "tag"]


def test_server_gone_message_is_one_line_naming_the_server_without_credentials():
    from mlflow.exceptions import MlflowException

    exc = MlflowException(
        "API request to http://ann:s3cret@mlflow.lab:5000/api/2.0/mlflow/runs/create failed with "
        "exception HTTPConnectionPool(host='mlflow.lab', port=5000): Max retries exceeded\n"
        "(Caused by NewConnectionError: Connection refused)"
    )
    err = store.server_gone_error("http://ann:s3cret@mlflow.lab:5000/", exc)
    text = str(err)
    assert "\n" not in text and "s3cret" not in text and "ann" not in text
    assert "http://mlflow.lab:5000 stopped answering" in text and "rerun snakemake" in text
    assert store.server_gone_error("sqlite:///m.db", exc) is None
    assert store.server_gone_error("http://h:1", MlflowException("bad param")) is None


# ---- a real team server: PostgreSQL and MLflow on this machine --------------------------------


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
