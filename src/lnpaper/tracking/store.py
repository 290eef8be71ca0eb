"""Log a build to MLflow from the step manifests: one parent run per build, a run per step,
and per-condition child runs where users compare conditions.

Design (see README "Tracking"):
- Compute steps never open the store; one tracking step per build reads their manifests. So
  tracking cannot fail or roll back a computation, and cluster jobs need no database access.
- A step run is identified by the sha256 of its manifest: a build reuses the FINISHED run of a
  step that did not re-execute, so nothing changed -> no new runs, and the build run lists which
  runs it reused and which it created.
- Local SQLite: all access (schema migration on a fresh file included) happens under an
  exclusive file lock beside the database, so concurrent trackers queue instead of racing.
- Remote server: reachability is checked first with a short timeout, so an outage fails fast
  with a message, before anything is written.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from lnpaper.pipeline import io
from lnpaper.pipeline.faults import pause_point

log = logging.getLogger("lnpaper.tracking")

TAG = "lnpaper"  # tag prefix for everything this project sets
# MLflow's limits for one log_batch call: metrics, params (and tags, each), entities in all
MAX_METRICS, MAX_PARAMS_TAGS, MAX_ENTITIES = 1000, 100, 1000
LOCK_TIMEOUT_S = 600


class TrackingError(RuntimeError):
    """The store cannot be used; the message says what to do."""


def sqlite_path(uri: str) -> Path | None:
    return Path(uri[len("sqlite:///") :]) if uri.startswith("sqlite:///") else None


def artifact_root_for(uri: str) -> str | None:
    """Artifacts of a local store live beside it, in mlartifacts/."""
    db = sqlite_path(uri)
    return (db.resolve().parent / "mlartifacts").as_uri() if db else None


def check_server(uri: str, timeout_s: float = 5.0) -> None:
    """Fail within ``timeout_s`` if an http(s) tracking server does not answer."""
    import requests

    try:
        requests.get(uri.rstrip("/") + "/health", timeout=timeout_s).raise_for_status()
    except requests.RequestException as exc:
        raise TrackingError(
            f"MLflow tracking server {uri} is not reachable ({type(exc).__name__}). Results on disk "
            f"are complete and untouched. Start the server (mlflow server --host ... --port ...) or "
            f"set mlflow.tracking_uri to sqlite:///mlflow.db, then rerun snakemake: only the "
            f"tracking step will run."
        ) from None


@contextlib.contextmanager
def store_lock(uri: str) -> Iterator[None]:
    """Exclusive lock for a local SQLite store (no-op for servers, which serialise themselves)."""
    db = sqlite_path(uri)
    if db is None:
        yield
        return
    from filelock import FileLock, Timeout

    db.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(db) + ".lock", timeout=LOCK_TIMEOUT_S)
    try:
        with lock:
            yield
    except Timeout:
        raise TrackingError(
            f"the MLflow store {db} stayed locked for {LOCK_TIMEOUT_S} s by another process "
            f"(see {db}.lock). Wait for the other build to finish, then rerun snakemake."
        ) from None


EXPERIMENT_KIND_TAG = "mlflow.experimentKind"
EXPERIMENT_KIND = "custom_model_development"


def open_client(uri: str, experiment: str):
    """MlflowClient on ``uri`` and the experiment id (created with artifacts beside the store)."""
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
    if uri.startswith("http"):
        check_server(uri)
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient
    from sqlalchemy.exc import SQLAlchemyError

    try:
        client = MlflowClient(tracking_uri=uri)
        exp = client.get_experiment_by_name(experiment)
        exp_id = (
            exp.experiment_id
            if exp
            else client.create_experiment(experiment, artifact_location=artifact_root_for(uri))
        )
        # MLflow 3 opens an experiment without this tag in its GenAI view; this one holds
        # model-development runs (parameters, metrics, tables), shown in the classic view
        if (exp.tags if exp else {}).get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
            client.set_experiment_tag(exp_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND)
    except (MlflowException, SQLAlchemyError) as exc:
        raise store_error(uri, exc) from None
    return client, exp_id


def store_error(uri: str, exc: BaseException) -> TrackingError:
    """A store failure as a TrackingError whose message names the remedy for its cause."""
    text = str(exc)
    first = text.strip().splitlines()[0][:300] if text.strip() else type(exc).__name__
    db = sqlite_path(uri)
    untouched = "results on disk are complete and untouched"
    if "database is locked" in text:
        return TrackingError(
            f"the MLflow store {uri} is locked by another program (an `mlflow ui`/`mlflow server` "
            f"writing to it, or a sqlite3 shell with an open transaction). Close it, then rerun "
            f"snakemake: only the tracking step will run; {untouched}."
        )
    if db is not None and ("file is not a database" in text or "malformed" in text):
        return TrackingError(
            f"the MLflow store {db} is corrupt ({first}). Move it aside (mv {db} {db}.bad) and "
            f"rerun snakemake: a new store is created and the build is logged again; {untouched}."
        )
    return TrackingError(
        f"cannot use the MLflow store {uri}: {first}. Check mlflow.tracking_uri (or move a damaged "
        f"store aside) and rerun snakemake: only the tracking step will run; {untouched}."
    )


def batches(metrics=(), params=(), tags=()) -> Iterable[tuple[list, list, list]]:
    """(metrics, params, tags) of each log_batch call: as few calls as MLflow's limits allow.
    Each call costs a database transaction and about 20 ms of MLflow's Python; a condition run
    (its curve and its few params) then takes one call instead of one per kind of entity."""
    metrics, params, tags = list(metrics), list(params), list(tags)
    while metrics or params or tags:
        p, params = params[:MAX_PARAMS_TAGS], params[MAX_PARAMS_TAGS:]
        t, tags = tags[:MAX_PARAMS_TAGS], tags[MAX_PARAMS_TAGS:]
        room = min(MAX_METRICS, MAX_ENTITIES - len(p) - len(t))
        m, metrics = metrics[:room], metrics[room:]
        yield m, p, t


def log_batched(client, run_id: str, metrics=(), params=(), tags=()) -> None:
    for m, p, t in batches(metrics, params, tags):
        client.log_batch(run_id, metrics=m, params=p, tags=t)


def _finite(value: float) -> bool:
    return value == value and abs(value) != float("inf")


def manifest_tags(manifest: dict, digest: str) -> dict[str, str]:
    tags = {
        f"{TAG}.kind": "step",
        f"{TAG}.step": manifest["step"],
        f"{TAG}.step_kind": manifest["kind"],
        f"{TAG}.manifest_sha256": digest,
        f"{TAG}.params_hash": manifest["params_hash"],
    }
    tags.update({f"version.{k}": v for k, v in manifest.get("versions", {}).items()})
    tags.update({f"host.{k}": str(v) for k, v in manifest.get("host", {}).items()})
    for key in ("device", "seed"):
        if key in manifest.get("params", {}):
            tags[key] = str(manifest["params"][key])
    if "device_used" in manifest:
        tags["device"] = manifest["device_used"]
    return tags


def log_step(client, exp_id: str, build_id: str, manifest: dict, digest: str) -> str:
    """Create the run of one step (and its condition runs); return its id."""
    from mlflow.entities import Metric, Param, RunTag

    tags = manifest_tags(manifest, digest)
    tags["mlflow.parentRunId"] = build_id
    run = client.create_run(exp_id, run_name=manifest["step"], tags=tags)
    rid = run.info.run_id
    now = int(time.time() * 1000)
    metrics = [
        Metric(k, float(v), now, 0) for k, v in manifest["metrics"].items() if _finite(float(v))
    ]
    metrics += [
        Metric(f"time.{k}", float(v), now, 0)
        for k, v in manifest.get("timing", {}).items()
        if isinstance(v, (int, float)) and k != "pid"
    ]
    params = [Param(k, str(v)[:6000]) for k, v in manifest["params"].items()]
    nonfinite = [
        RunTag(f"{TAG}.nonfinite.{k}", str(v))
        for k, v in manifest["metrics"].items()
        if not _finite(float(v))
    ]  # NaN/inf are data: kept as tags, never dropped
    log_batched(client, rid, metrics, params, nonfinite)
    _log_inputs(client, rid, manifest)
    for _name, out in manifest.get("outputs", {}).items():
        path = Path(out["path"])
        if path.exists():
            client.log_artifact(rid, str(path), artifact_path=manifest["kind"])
            if path.suffix == ".csv":  # renders as a table in the UI
                client.log_table(rid, pd.read_csv(path), artifact_file=f"tables/{path.stem}.json")
    if manifest.get("conditions"):
        _log_conditions(client, exp_id, rid, manifest)
    client.set_terminated(rid, "FINISHED")
    return rid


def _log_inputs(client, rid: str, manifest: dict) -> None:
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.data.sources import LocalArtifactDatasetSource
    from mlflow.entities import DatasetInput, InputTag

    datasets = []
    for name, spec in manifest.get("inputs", {}).items():
        # an explicit source type: resolving a bare path asks every registered source class,
        # which warns once per class that cannot tell (one UserWarning per input)
        source = LocalArtifactDatasetSource(str(Path(spec["path"]).resolve()))
        ds = MetaDataset(source=source, name=Path(spec["path"]).name, digest=spec["sha256"][:16])
        datasets.append(
            DatasetInput(ds._to_mlflow_entity(), [InputTag("mlflow.data.context", name)])
        )
    if datasets:
        client.log_inputs(rid, datasets=datasets)


def _log_conditions(client, exp_id: str, parent_id: str, manifest: dict) -> None:
    """One child run per condition, the step series as step metrics (mean over seeds)."""
    from mlflow.entities import Metric, Param

    spec = manifest["conditions"]
    frame = io.read_parquet(manifest["outputs"][spec["output"]]["path"])
    keys, step_col, values = spec["keys"], spec["step"], spec["values"]
    if spec.get("reduce") == "mean":
        frame = frame.groupby(keys + [step_col], sort=True)[values].mean().reset_index()
    for ident, g in frame.groupby(keys, sort=True):
        ident = ident if isinstance(ident, tuple) else (ident,)
        name = ",".join(f"{k}={v}" for k, v in zip(keys, ident))
        run = client.create_run(
            exp_id,
            run_name=name,
            tags={
                "mlflow.parentRunId": parent_id,
                f"{TAG}.kind": "condition",
                f"{TAG}.step": manifest["step"],
            },
        )
        ts = int(time.time() * 1000)
        metrics = [
            Metric(v, float(x), ts, int(s))
            for v in values
            for s, x in zip(g[step_col], g[v])
            if _finite(float(x))
        ]
        log_batched(
            client, run.info.run_id, metrics, [Param(k, str(v)) for k, v in zip(keys, ident)]
        )
        client.set_terminated(run.info.run_id, "FINISHED")


def mark_stale_runs_killed(client, exp_id: str) -> int:
    """Runs left RUNNING by a killed tracking step are marked KILLED; returns how many."""
    stale = client.search_runs(
        [exp_id], filter_string="attributes.status = 'RUNNING'", max_results=5000
    )
    for run in stale:
        client.set_terminated(run.info.run_id, "KILLED")
    return len(stale)


def finished_step_runs(client, exp_id: str) -> dict[str, str]:
    """manifest digest -> run id of FINISHED step runs already in the store."""
    runs = client.search_runs(
        [exp_id],
        filter_string=f"tags.`{TAG}.kind` = 'step' and attributes.status = 'FINISHED'",
        max_results=50000,
    )
    return {r.data.tags[f"{TAG}.manifest_sha256"]: r.info.run_id for r in runs}


def log_build(manifest_paths: list[str], uri: str, experiment: str, build: dict) -> dict:
    """Log one build; return {build_run_id, steps: {step: {run_id, reused}}, ...}."""
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    with store_lock(uri):
        try:
            return _log_build_locked(manifest_paths, uri, experiment, build)
        except (MlflowException, SQLAlchemyError) as exc:  # e.g. locked by `mlflow ui` mid-build
            raise store_error(uri, exc) from None


def _log_build_locked(manifest_paths: list[str], uri: str, experiment: str, build: dict) -> dict:
    from mlflow.entities import Param, RunTag

    from lnpaper.tracking.build_metrics import log_build_metrics

    client, exp_id = open_client(uri, experiment)
    killed = mark_stale_runs_killed(client, exp_id)
    known = finished_step_runs(client, exp_id)
    run = client.create_run(
        exp_id,
        run_name=f"build {build.get('config_hash', '')}",
        tags={
            f"{TAG}.kind": "build",
            **{f"{TAG}.{k}": str(v) for k, v in build.items() if k != "config"},
        },
    )
    build_id = run.info.run_id
    try:
        pause_point("track:logging")  # test-only hook (inert by default), see lnpaper.faults
        steps = {}
        for path in manifest_paths:
            manifest = io.read_json(path)
            digest = io.file_digest(path)
            reused = digest in known
            rid = known[digest] if reused else log_step(client, exp_id, build_id, manifest, digest)
            steps[manifest["step"]] = {"run_id": rid, "reused": reused}
            log.info("%s %s (%s)", "reused" if reused else "logged", manifest["step"], rid)
        summary = {
            "build_run_id": build_id,
            "experiment": experiment,
            "experiment_id": exp_id,
            "tracking_uri": uri,
            "stale_runs_killed": killed,
            "steps": steps,
        }
        executed = sorted(s for s, v in steps.items() if not v["reused"])
        reused = sorted(s for s, v in steps.items() if v["reused"])
        log_batched(
            client,
            build_id,
            params=[Param(k, str(v)[:6000]) for k, v in build.get("config", {}).items()],
            tags=[
                RunTag(f"{TAG}.executed_steps", ",".join(executed)[:5000]),
                RunTag(f"{TAG}.reused_steps", ",".join(reused)[:5000]),
            ],
        )
        # cost, verdict counts and changes since the previous build, sortable in the runs table
        summary.update(log_build_metrics(client, exp_id, build_id, manifest_paths, steps))
        client.log_dict(build_id, summary, "build.json")
        client.set_terminated(build_id, "FINISHED")
    except BaseException:
        with contextlib.suppress(Exception):  # the store itself may be what failed
            client.set_terminated(build_id, "FAILED")
        raise
    return summary
