"""Log a build to MLflow from the step manifests: one parent run per build, a run per step,
and per-condition child runs where users compare conditions.

Design (see docs/tracking.md):
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
import dataclasses
import hashlib
import json
import logging
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

import pandas as pd

from lnpaper.pipeline import io
from lnpaper.pipeline.credentials import move_to_environment
from lnpaper.pipeline.faults import pause_point
from lnpaper.tracking.client import (
    TrackingError,
    batches,
    check_server,
    ensure_experiment,
    log_batched,
    open_client,
    retry_on_conflict,
    server_gone_error,
    sqlite_path,
    store_error,
)

# the store's interface, with what it is built on (lnpaper.tracking.client)
__all__ = [
    "TAG",
    "TrackingError",
    "batches",
    "check_server",
    "ensure_experiment",
    "log_batched",
    "log_build",
    "open_client",
    "server_gone_error",
    "sqlite_path",
    "store_error",
]

log = logging.getLogger("lnpaper.tracking")

TAG = "lnpaper"  # tag prefix for everything this project sets
LOCK_TIMEOUT_S = 600


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
    # the machine (OS, CPU) but not who or where: no host name, no path of the environment
    host = {k: v for k, v in manifest.get("host", {}).items() if k not in ("host", "executable")}
    tags.update({f"host.{k}": str(v) for k, v in host.items()})
    for key in ("device", "seed"):
        if key in manifest.get("params", {}):
            tags[key] = str(manifest["params"][key])
    if "device_used" in manifest:
        tags["device"] = manifest["device_used"]
    return tags


def log_step(
    client, exp_id: str, build_id: str, manifest: dict, digest: str, identity_tags=None
) -> str:
    """Create the run of one step (and its condition runs); return its id. ``identity_tags``
    (the build's id) go on every run created, so a build finds its own runs."""
    from mlflow.entities import Metric, Param, RunTag

    tags = manifest_tags(manifest, digest)
    tags.update(identity_tags or {})
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
        _log_conditions(client, exp_id, rid, manifest, identity_tags)
    client.set_terminated(rid, "FINISHED")
    return rid


def _log_inputs(client, rid: str, manifest: dict) -> None:
    from mlflow.data.meta_dataset import MetaDataset
    from mlflow.data.sources import LocalArtifactDatasetSource
    from mlflow.entities import DatasetInput, InputTag

    datasets = []
    for name, spec in manifest.get("inputs", {}).items():
        # an explicit source type: resolving a bare path asks every registered source class,
        # which warns once per class that cannot tell (one UserWarning per input). The path as
        # the manifest has it (relative to the checkout): the shared store names no folder of
        # the machine that built it
        source = LocalArtifactDatasetSource(str(spec["path"]))
        ds = MetaDataset(source=source, name=Path(spec["path"]).name, digest=spec["sha256"][:16])
        datasets.append(
            DatasetInput(ds._to_mlflow_entity(), [InputTag("mlflow.data.context", name)])
        )
    if datasets:  # builds with the same input files share their dataset rows: may collide
        retry_on_conflict(lambda: client.log_inputs(rid, datasets=datasets))


def _log_conditions(
    client, exp_id: str, parent_id: str, manifest: dict, identity_tags=None
) -> None:
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
                **(identity_tags or {}),
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


BUILD_ID_TAG = f"{TAG}.build_id"  # the results folder's id (lnpaper.tracking.identity)
BUILD_KEY_TAG = f"{TAG}.build_key"  # what a build run logs: config and manifest bytes
SEARCH_MAX = 50000  # the most runs one search_runs call returns from a server


def mark_stale_runs_killed(client, exp_id: str) -> int:
    """Runs without a build id left RUNNING by a killed tracking step are marked KILLED; returns
    how many. A run with a build id belongs to a build that may be logging right now (a
    colleague's, on a shared server): only that build itself settles it (``plan_build``)."""
    stale = [
        run
        for run in client.search_runs(
            [exp_id], filter_string="attributes.status = 'RUNNING'", max_results=SEARCH_MAX
        )
        if BUILD_ID_TAG not in run.data.tags
    ]
    for run in stale:
        client.set_terminated(run.info.run_id, "KILLED")
    return len(stale)


def finished_step_runs(client, exp_id: str, build_id: str | None = None) -> dict[str, str]:
    """manifest digest -> run id of FINISHED step runs already in the store (of one build)."""
    only = f" and tags.`{BUILD_ID_TAG}` = '{build_id}'" if build_id else ""
    runs = client.search_runs(
        [exp_id],
        filter_string=f"tags.`{TAG}.kind` = 'step' and attributes.status = 'FINISHED'{only}",
        max_results=SEARCH_MAX,
    )
    return {r.data.tags[f"{TAG}.manifest_sha256"]: r.info.run_id for r in runs}


# ---- build identity: find this build's runs, resume them, touch no other build's --------------


@dataclasses.dataclass
class BuildPlan:
    """What a tracking step starts from: the build run to reuse (None: create one), the step
    runs it may reuse by manifest digest, those already in its own tree, what it cleaned up."""

    run: object | None
    known: dict[str, str]
    own: set[str] = dataclasses.field(default_factory=set)
    stale_runs_killed: int = 0
    partial_runs_replaced: int = 0


def build_key(build: dict, digests: Iterable[str]) -> str:
    """The state a build run logs: its config and the bytes of every manifest. The same results
    logged again (a forced rerun of the tracking step, a rerun after a crash or an outage) have
    the same key and update the same build run; a step that ran again is a new state of the
    folder, logged as a new build run that reuses the runs of the steps that did not."""
    payload = {"config_hash": str(build.get("config_hash", "")), "manifests": sorted(digests)}
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


def plan_build(client, exp_id: str, identity: dict, key: str) -> BuildPlan:
    """Read the runs of this build (tagged with its id, and nothing else) and settle them:

    - the build run of ``key`` (these results, logged before) is reused, whatever its status;
    - its step runs that did not finish (the tracking step was killed, or the server went away,
      while logging them) are deleted with their condition runs: the step is logged again, once;
    - runs of this build left RUNNING under another build run (an earlier state of the folder
      whose tracking step was killed) are marked KILLED.

    Runs of other builds are never read or changed, so builds logging at the same moment cannot
    kill or take each other's runs. FINISHED step runs of this build and of the builds it
    continues (a copied folder) are reused by manifest digest, its own tree's first."""
    runs = client.search_runs(
        [exp_id],
        filter_string=f"tags.`{BUILD_ID_TAG}` = '{identity['build_id']}'",
        max_results=SEARCH_MAX,
    )
    parent = {r.info.run_id: r.data.tags.get("mlflow.parentRunId") for r in runs}

    def kind(r) -> str:
        return r.data.tags.get(f"{TAG}.kind", "")

    def root(rid: str) -> str:
        seen = set()
        while parent.get(rid) in parent and rid not in seen:
            seen.add(rid)
            rid = parent[rid]
        return rid

    same = [r for r in runs if kind(r) == "build" and r.data.tags.get(BUILD_KEY_TAG) == key]
    run = min(same, key=lambda r: r.info.start_time) if same else None
    this = run.info.run_id if run else None
    gone: set[str] = set()
    for r in runs:
        rid = r.info.run_id
        if this and parent[rid] == this and kind(r) == "step" and r.info.status != "FINISHED":
            gone |= {rid} | {c for c, p in parent.items() if p == rid}
    for rid in sorted(gone):
        client.delete_run(rid)
    killed = 0
    for r in runs:
        rid = r.info.run_id
        if r.info.status == "RUNNING" and rid not in gone and not (this and root(rid) == this):
            client.set_terminated(rid, "KILLED")
            killed += 1
    known: dict[str, str] = {}
    for ancestor in reversed(identity.get("continues", [])):  # the nearest copy wins
        known.update(finished_step_runs(client, exp_id, ancestor))
    steps = [r for r in runs if kind(r) == "step" and r.info.status == "FINISHED"]
    own = {r.info.run_id for r in steps if this and parent[r.info.run_id] == this}
    for r in sorted(steps, key=lambda r: r.info.run_id in own):  # its own tree's runs last: win
        known[r.data.tags[f"{TAG}.manifest_sha256"]] = r.info.run_id
    return BuildPlan(run, known, own, killed, len(gone))


def open_build_run(client, exp_id: str, name: str, tags: dict[str, str], plan: BuildPlan) -> str:
    """The build run: the plan's, set RUNNING again with the current tags, or a new one."""
    from mlflow.entities import RunTag

    if plan.run is None:
        return client.create_run(exp_id, run_name=name, tags=tags).info.run_id
    rid = plan.run.info.run_id
    client.update_run(rid, status="RUNNING")
    log_batched(client, rid, tags=[RunTag(k, v) for k, v in tags.items()])
    return rid


def log_build(
    manifest_paths: list[str], uri: str, experiment: str, build: dict, identity: dict | None = None
) -> dict:
    """Log one build; return {build_run_id, steps: {step: {run_id, reused}}, ...}.

    With ``identity`` (lnpaper.tracking.identity, as the tracking step passes it) the build's
    runs are found by its id and completed in place; without it every call is a new build."""
    import requests
    from mlflow.exceptions import MlflowException
    from sqlalchemy.exc import SQLAlchemyError

    uri = move_to_environment(uri)  # the summary and every message name the server without it
    with store_lock(uri):
        try:
            return _log_build_locked(manifest_paths, uri, experiment, build, identity)
        except (MlflowException, SQLAlchemyError, requests.RequestException) as exc:
            # e.g. locked by `mlflow ui` mid-build, or the server went away
            raise server_gone_error(uri, exc) or store_error(uri, exc) from None


def _log_build_locked(
    manifest_paths: list[str], uri: str, experiment: str, build: dict, identity: dict | None
) -> dict:
    client, exp_id = open_client(uri, experiment)
    digests = {path: io.file_digest(path) for path in manifest_paths}
    tags = {
        f"{TAG}.kind": "build",
        **{f"{TAG}.{k}": str(v) for k, v in build.items() if k != "config"},
    }
    if identity:
        key = build_key(build, digests.values())
        identity_tags = {BUILD_ID_TAG: identity["build_id"]}
        tags.update({**identity_tags, BUILD_KEY_TAG: key})
        plan = plan_build(client, exp_id, identity, key)
    else:
        identity_tags = {}
        killed = mark_stale_runs_killed(client, exp_id)
        plan = BuildPlan(None, finished_step_runs(client, exp_id), stale_runs_killed=killed)
    resumed_from = plan.run.info.status if plan.run else None
    name = f"build {build.get('config_hash', '')}"
    build_id = open_build_run(client, exp_id, name, tags, plan)
    try:
        pause_point("track:logging")  # test-only hook (inert by default), see lnpaper.faults
        steps = _log_steps(client, exp_id, build_id, digests, plan, identity_tags)
        summary = {
            "build_run_id": build_id,
            "build_id": identity["build_id"] if identity else None,
            "resumed_from": resumed_from,
            "experiment": experiment,
            "experiment_id": exp_id,
            "tracking_uri": uri,
            "stale_runs_killed": plan.stale_runs_killed,
            "partial_runs_replaced": plan.partial_runs_replaced,
            "steps": steps,
        }
        _finish_build(client, build_id, build, manifest_paths, summary)
    except BaseException:
        with contextlib.suppress(Exception):  # the store itself may be what failed
            client.set_terminated(build_id, "FAILED")
        raise
    return summary


def _log_steps(client, exp_id, build_id, digests: dict, plan: BuildPlan, identity_tags) -> dict:
    """A run per step manifest (``digests``: path -> sha256), or the known run of an unchanged
    step reused; {step: {run_id, reused}}."""
    steps = {}
    for path, digest in digests.items():
        manifest = io.read_json(path)
        rid = plan.known.get(digest)
        reused = rid is not None and rid not in plan.own
        if rid is None:
            rid = log_step(client, exp_id, build_id, manifest, digest, identity_tags)
        steps[manifest["step"]] = {"run_id": rid, "reused": reused}
        log.info("%s %s (%s)", "reused" if reused else "logged", manifest["step"], rid)
        pause_point(f"track:logged:{manifest['step']}")  # test-only, as above
    return steps


def _finish_build(client, build_id: str, build: dict, manifest_paths, summary: dict) -> None:
    """The build run's config params, its executed and reused steps, its build metrics and
    ``build.json``; then it is FINISHED."""
    from mlflow.entities import Param, RunTag

    from lnpaper.tracking.build_metrics import log_build_metrics

    steps = summary["steps"]
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
    exp_id = summary["experiment_id"]
    summary.update(log_build_metrics(client, exp_id, build_id, manifest_paths, steps))
    client.log_dict(build_id, summary, "build.json")
    client.set_terminated(build_id, "FINISHED")
