"""The tiny build's tracking step against a real MLflow server started on a free port: the
build, step and condition runs with their params, metrics and artifacts."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from conftest import copy_mlflow_store, copy_workflow, free_port, snakemake
from lnpaper.tracking.store import TrackingError, check_server


@pytest.fixture
def mlflow_server(tmp_path, migrated_mlflow_db):
    port = free_port()
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    store = tmp_path / "server"
    store.mkdir()
    # a migrated empty store: the server skips MLflow's schema migrations, seconds of synced
    # writes that on a loaded machine pushed its start past the deadline below
    copy_mlflow_store(migrated_mlflow_db, store / "mlflow.db")
    proc = subprocess.Popen(
        [
            mlflow,
            "server",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--backend-store-uri",
            f"sqlite:///{store / 'mlflow.db'}",
            "--artifacts-destination",
            str(store / "artifacts"),
            "--workers",
            "1",
        ],
        cwd=store,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uri = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            check_server(uri, timeout_s=1)
            break
        except TrackingError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("mlflow server did not start") from None
            time.sleep(0.5)
    yield uri
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.slow
def test_pipeline_logs_everything_to_a_tracking_server(mlflow_server, tiny_build, tmp_path):
    from mlflow.tracking import MlflowClient

    work = copy_workflow(tmp_path)
    shutil.copytree(tiny_build[0] / "results", work / "results")
    shutil.copytree(tiny_build[0] / ".snakemake", work / ".snakemake")
    (work / "results/tracking/build.json").unlink()
    cfg = yaml.safe_load((work / "tiny.yaml").read_text())
    cfg["mlflow"] = {"tracking_uri": mlflow_server}
    (work / "server.yaml").write_text(yaml.safe_dump(cfg))
    # the tracking URI is the track step's own param: only tracking runs again
    dry = snakemake(work, "-n", "--cores", "2", "--configfile", "server.yaml")
    assert "track" in dry.stdout and "matmul " not in dry.stdout
    snakemake(work, "--cores", "2", "--configfile", "server.yaml")
    summary = json.loads((work / "results/tracking/build.json").read_text())
    client = MlflowClient(mlflow_server)
    exp = client.get_experiment_by_name("layernorm-paper")
    steps = client.search_runs([exp.experiment_id], "tags.`lnpaper.kind` = 'step'")
    manifests = sorted(p.stem for p in (work / "results/manifests").glob("*.json"))
    assert sorted(r.data.tags["lnpaper.step"] for r in steps) == manifests
    for run in steps:
        manifest = json.loads(
            (work / f"results/manifests/{run.data.tags['lnpaper.step']}.json").read_text()
        )
        assert run.info.status == "FINISHED"
        assert "version.torch" in run.data.tags
        assert run.data.params == {k: str(v) for k, v in manifest["params"].items()}
        assert set(run.data.metrics) >= set(manifest["metrics"]) - {
            k for k, v in manifest["metrics"].items() if v != v or abs(v) == float("inf")
        }
        artifacts = [
            a.path
            for a in client.list_artifacts(run.info.run_id, run.data.tags["lnpaper.step_kind"])
        ]
        assert len(artifacts) == len(manifest["outputs"])
    matmul = client.get_run(summary["steps"]["matmul"]["run_id"])
    assert matmul.data.metrics["max_abs_rate_error"] < 1
    children = client.search_runs(
        [exp.experiment_id], f"tags.`mlflow.parentRunId` = '{matmul.info.run_id}'"
    )
    assert len(children) > 0
    hist = client.get_metric_history(children[0].info.run_id, "log_norm")
    assert len(hist) == 13  # steps 0..12 of the tiny config
