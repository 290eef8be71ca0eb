"""The MLflow store: open it (a local SQLite file or a server), name its failures with their
remedy, and write runs in as few calls as MLflow's limits allow. ``lnpaper.tracking.store``
logs builds through it."""

from __future__ import annotations

import os
import time
import urllib.parse
from collections.abc import Iterable
from pathlib import Path

from lnpaper.pipeline.credentials import move_to_environment, redact, redact_text

# MLflow's limits for one log_batch call: metrics, params (and tags, each), entities in all
MAX_METRICS, MAX_PARAMS_TAGS, MAX_ENTITIES = 1000, 100, 1000


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
        for attempt in range(3):  # a busy server may drop a connection; a gone one refuses all
            try:
                requests.get(uri.rstrip("/") + "/health", timeout=timeout_s).raise_for_status()
                break
            except requests.ConnectionError:
                if attempt == 2:
                    raise
                time.sleep(1.0)
    except requests.RequestException as exc:
        raise TrackingError(
            f"MLflow tracking server {redact(uri)} is not reachable ({type(exc).__name__}). Results on disk "
            f"are complete and untouched. Start the server (mlflow server --host ... --port ...) or "
            f"set mlflow.tracking_uri to sqlite:///mlflow.db, then rerun snakemake: only the "
            f"tracking step will run."
        ) from None


EXPERIMENT_KIND_TAG = "mlflow.experimentKind"


EXPERIMENT_KIND = "custom_model_development"


def open_client(uri: str, experiment: str):
    """MlflowClient on ``uri`` and the experiment id (created with artifacts beside the store).
    Credentials in the URI go to the environment: MLflow prints and stores the URI it is given."""
    uri = move_to_environment(uri)
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "1")
    # a server busy with several builds at once may take seconds to answer; one that is gone
    # refuses the connection at once, whatever this says
    os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "30")
    # MLflow prints a "View run at <uri>" line per run to a server; the step's log says enough
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")
    if uri.startswith("http"):
        check_server(uri)
    from mlflow.exceptions import MlflowException
    from mlflow.tracking import MlflowClient
    from sqlalchemy.exc import SQLAlchemyError

    try:
        client = MlflowClient(tracking_uri=uri)
        exp_id = ensure_experiment(client, experiment, artifact_root_for(uri))
    except (MlflowException, SQLAlchemyError) as exc:
        raise server_gone_error(uri, exc) or store_error(uri, exc) from None
    return client, exp_id


def ensure_experiment(client, name: str, artifact_location: str | None) -> str:
    """The id of experiment ``name``, created (with its kind tag) if missing. Safe when several
    builds start at once on a shared server: the loser of the creation race reads the winner's
    experiment, and setting the same tag twice at once is retried, not fatal."""
    from mlflow.exceptions import MlflowException

    exp = client.get_experiment_by_name(name)
    if exp is None:
        try:
            client.create_experiment(name, artifact_location=artifact_location)
        except MlflowException as exc:
            if exc.error_code != "RESOURCE_ALREADY_EXISTS":
                raise
        exp = client.get_experiment_by_name(name)
        if exp is None:  # created and deleted in between: nothing sensible to log into
            raise MlflowException(f"experiment {name!r} vanished while it was being created")
    # MLflow 3 opens an experiment without this tag in its GenAI view; this one holds
    # model-development runs (parameters, metrics, tables), shown in the classic view
    if exp.tags.get(EXPERIMENT_KIND_TAG) != EXPERIMENT_KIND:
        retry_on_conflict(
            lambda: client.set_experiment_tag(
                exp.experiment_id, EXPERIMENT_KIND_TAG, EXPERIMENT_KIND
            )
        )
    return exp.experiment_id


def retry_on_conflict(call, tries: int = 4):
    """``call()``, tried again after a short random pause when it fails. For idempotent writes of
    rows that several builds may insert at the same moment (an experiment tag, a dataset that
    identical inputs share): on PostgreSQL the second insert fails with a unique-key violation
    (an internal error of the server) instead of waiting for the first."""
    import random

    from mlflow.exceptions import MlflowException

    for attempt in range(tries):
        try:
            return call()
        except MlflowException as exc:
            if attempt == tries - 1 or not is_conflict(exc):
                raise
            time.sleep(random.uniform(0.05, 0.3) * (attempt + 1))
    return None


def is_conflict(exc: BaseException) -> bool:
    """A failed write that may succeed when tried again (a lost insert race), not a store that
    is gone or refuses: connection failures end the step at once."""
    text = str(exc)
    gone = ("Max retries exceeded", "Connection refused", "Failed to establish", "timed out")
    if any(g in text for g in gone):
        return False
    conflict = ("UniqueViolation", "unique constraint", "UNIQUE constraint", "IntegrityError")
    return getattr(exc, "error_code", "") in ("INTERNAL_ERROR", "RESOURCE_ALREADY_EXISTS") or any(
        c in text for c in conflict
    )


def store_error(uri: str, exc: BaseException) -> TrackingError:
    """A store failure as a TrackingError whose message names the remedy for its cause."""
    uri, text = redact(uri), redact_text(str(exc))
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


def server_gone_error(uri: str, exc: BaseException) -> TrackingError | None:
    """For a tracking server that stopped answering in the middle of the step: one line naming
    it (its address without user:password@) and saying to rerun; None for other failures."""
    if not uri.startswith("http"):
        return None
    text = f"{type(exc).__name__}: {exc}"
    signs = (
        "Max retries exceeded",
        "Connection refused",
        "Failed to establish a new connection",
        "RemoteDisconnected",
        "Connection aborted",
        "Read timed out",
        "ConnectionError",
    )
    if not any(sign in text for sign in signs):
        return None
    parts = urllib.parse.urlsplit(uri)
    address = f"{parts.scheme}://{parts.netloc.rsplit('@', 1)[-1]}{parts.path}".rstrip("/")
    return TrackingError(
        f"the MLflow tracking server {address} stopped answering while this build was being "
        f"logged; results on disk are complete and untouched. Once the server is back, rerun "
        f"snakemake: only the tracking step runs, and it completes this build's runs without "
        f"duplicates."
    )
