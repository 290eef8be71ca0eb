"""A team's store on a local SQLite store: build identity, one build's runs relogged in place, a
step run again, another results folder, an interrupted build, experiments created at once, and
a server that goes away (the real PostgreSQL server: e2e/test_team_server.py)."""

from __future__ import annotations

import json
import shutil

import pytest

from conftest import active_runs, fake_manifest, kinds
from lnpaper.tracking import store
from lnpaper.tracking.identity import build_identity

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


def test_relogging_the_same_results_updates_the_build_in_place(tmp_path, mlflow_store):
    uri = mlflow_store
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


def test_a_step_that_ran_again_is_a_new_build_run_of_the_same_folder(tmp_path, mlflow_store):
    uri = mlflow_store
    ident = build_identity(tmp_path / "results/tracking/build_id.json")
    manifests = [fake_manifest(tmp_path, "s1", 1.0), fake_manifest(tmp_path, "s2", 2.0)]
    first = store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=ident)
    manifests[1] = fake_manifest(tmp_path, "s2", 3.0)
    second = store.log_build(manifests, uri, "e", {"config_hash": "c"}, identity=ident)
    assert second["build_run_id"] != first["build_run_id"] and second["resumed_from"] is None
    assert second["steps"]["s1"] == {"run_id": first["steps"]["s1"]["run_id"], "reused": True}
    assert not second["steps"]["s2"]["reused"]
    assert kinds(active_runs(uri)) == ["build", "build", "step", "step", "step"]


def test_another_results_folder_is_another_build_with_a_tree_of_its_own(tmp_path, mlflow_store):
    """Byte-identical manifests (results copied between clones) are not reused across builds
    that do not descend from each other: each build's tree is complete on its own."""
    uri = mlflow_store
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


def test_an_interrupted_build_is_completed_in_place_without_duplicates(
    tmp_path, monkeypatch, mlflow_store
):
    from mlflow.exceptions import MlflowException

    uri = mlflow_store
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


def test_only_the_runs_of_the_build_being_logged_are_marked_killed(tmp_path, mlflow_store):
    from mlflow.tracking import MlflowClient

    uri = mlflow_store
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
