"""Tracking on a local store: build/step/condition structure, unchanged manifests reused,
batched logging, stale runs marked killed, and an unreachable server (the real server:
e2e/test_tracking_server.py)."""

from __future__ import annotations

import time

import pytest

from conftest import fake_manifest, free_port
from lnpaper.pipeline import io
from lnpaper.tracking.compare import diff_rows, markdown
from lnpaper.tracking.store import TrackingError, check_server, log_build


def test_unchanged_manifests_are_reused_and_changed_ones_logged(tmp_path, mlflow_store):
    from mlflow.tracking import MlflowClient

    uri = mlflow_store
    paths = [fake_manifest(tmp_path, "s1", 1.0, series=True), fake_manifest(tmp_path, "s2", 2.0)]
    first = log_build(paths, uri, "e", {"config_hash": "c1"})
    assert not any(s["reused"] for s in first["steps"].values())
    paths[1] = fake_manifest(tmp_path, "s2", 3.0)  # only s2 re-executed
    second = log_build(paths, uri, "e", {"config_hash": "c2"})
    assert second["steps"]["s1"] == {"run_id": first["steps"]["s1"]["run_id"], "reused": True}
    assert not second["steps"]["s2"]["reused"]
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("e")
    runs = client.search_runs([exp.experiment_id])
    kinds = sorted(r.data.tags["lnpaper.kind"] for r in runs)
    # 2 builds, 3 step runs (s1 once, s2 twice), 2 condition runs under s1
    assert kinds == ["build", "build", "condition", "condition", "step", "step", "step"]
    cond_b = next(r for r in runs if r.info.run_name == "cond=b")
    hist = client.get_metric_history(cond_b.info.run_id, "y")
    assert [(m.step, m.value) for m in hist] == [(0, 3.0)]  # inf is not a metric value...
    s2 = client.get_run(second["steps"]["s2"]["run_id"])
    assert s2.data.tags["lnpaper.nonfinite.bad"] == "nan"  # ...but NaN metrics stay visible
    build = client.get_run(second["build_run_id"])
    assert build.data.tags["lnpaper.reused_steps"] == "s1"
    assert build.data.tags["lnpaper.executed_steps"] == "s2"


def test_batches_pack_each_run_into_as_few_log_batch_calls_as_mlflow_allows():
    """A condition run (its curve and a few params) is one call; big ones split within MLflow's
    limits (1000 metrics, 100 params, 100 tags, 1000 entities per call), every entity once."""
    from lnpaper.tracking.store import batches

    assert list(batches(range(60), ["p1", "p2"])) == [(list(range(60)), ["p1", "p2"], [])]
    metrics, params, tags = range(2500), [f"p{i}" for i in range(150)], [f"t{i}" for i in range(30)]
    calls = list(batches(metrics, params, tags))
    assert len(calls) == 3
    for m, p, t in calls:
        assert len(m) <= 1000 and len(p) <= 100 and len(t) <= 100
        assert len(m) + len(p) + len(t) <= 1000
    assert [x for m, _, _ in calls for x in m] == list(metrics)
    assert [x for _, p, _ in calls for x in p] == params
    assert [x for _, _, t in calls for x in t] == tags
    assert list(batches()) == []


def test_stale_running_runs_are_marked_killed(tmp_path, mlflow_store):
    from mlflow.tracking import MlflowClient

    uri = mlflow_store
    log_build([fake_manifest(tmp_path, "s1", 1.0)], uri, "e", {})
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("e")
    orphan = client.create_run(exp.experiment_id)  # as a killed tracking job leaves it
    summary = log_build([fake_manifest(tmp_path, "s1", 1.0)], uri, "e", {})
    assert summary["stale_runs_killed"] == 1
    assert client.get_run(orphan.info.run_id).info.status == "KILLED"


def test_experiment_opens_as_model_development_and_inputs_log_without_warnings(
    tmp_path, mlflow_store
):
    import warnings

    from mlflow.tracking import MlflowClient

    uri = mlflow_store
    data = tmp_path / "in.parquet"
    data.write_bytes(b"x")
    path = fake_manifest(tmp_path, "s1", 1.0)
    manifest = io.read_json(path)
    manifest["inputs"] = {"data": {"path": str(data), "sha256": io.file_digest(data)}}
    io.write_json(manifest, path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary = log_build([path], uri, "e", {})
    assert not [w for w in caught if "dataset source" in str(w.message).lower()]
    client = MlflowClient(uri)
    exp = client.get_experiment_by_name("e")
    assert exp.tags["mlflow.experimentKind"] == "custom_model_development"
    run = client.get_run(summary["steps"]["s1"]["run_id"])
    (ds,) = run.inputs.dataset_inputs
    assert ds.dataset.source_type == "local" and str(data) in ds.dataset.source


def test_diff_rows_and_markdown():
    rows = diff_rows(
        {"params.a": "1", "metrics.x.m": 1.0, "same": 2.0},
        {"params.a": "2", "metrics.x.m": 1.5, "same": 2.0},
    )
    assert rows == [("metrics.x.m", 1.0, 1.5, "+0.5"), ("params.a", "1", "2", "")]
    md = markdown(rows, "A", "B")
    assert md.splitlines()[0] == "| key | A | B | change |" and len(md.splitlines()) == 4


def test_unreachable_server_fails_fast_with_remedy():
    port = free_port()  # nothing listens there
    start = time.monotonic()
    with pytest.raises(TrackingError, match="not reachable.*rerun snakemake"):
        check_server(f"http://127.0.0.1:{port}")
    assert time.monotonic() - start < 30
