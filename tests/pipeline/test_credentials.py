"""Tracking credentials (lnpaper.pipeline.credentials): userinfo is redacted from URIs and
command lines, moved to MLflow's environment variables, and kept out of the config digest, the
paper's links, error messages and the step runs (docs/security.md). The end-to-end part is
e2e/test_secrets.py."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import free_port
from lnpaper.manuscript import fill
from lnpaper.pipeline.config import ConfigError, config_hash, validate
from lnpaper.pipeline.credentials import (
    PASSWORD_ENV,
    USERNAME_ENV,
    move_to_environment,
    public_config,
    redact,
    redact_argv,
    redact_text,
    take_credentials,
    userinfo,
)
from lnpaper.tracking.store import TrackingError, check_server, store_error
from secrets_kit import HOST, PASSWORD, USER, WHO, forms, uri_with

# Each secret has a core no encoding changes and characters that URL-encode (@ % : / + =).


@pytest.mark.parametrize(
    "uri, plain, info",
    [
        ("http://u:p%40w@127.0.0.1:5000", "http://127.0.0.1:5000", ("u", "p@w")),
        ("https://u:a/b@c:d@mlflow.lab/x/", "https://mlflow.lab/x/", ("u", "a/b@c:d")),
        ("http://mlflow.lab:8080/", "http://mlflow.lab:8080/", None),
        ("sqlite:///mlflow.db", "sqlite:///mlflow.db", None),
        ("http://token@h:1", "http://h:1", ("token", "")),
    ],
)
def test_redact_strips_userinfo_and_userinfo_decodes_it(uri, plain, info):
    assert redact(uri) == plain
    assert userinfo(uri) == info


def test_redact_text_removes_userinfo_of_every_url_in_a_command_line():
    argv = ["snakemake", "--config", f"mlflow={{tracking_uri: {uri_with(5)}}}", "a@b.org"]
    out = " ".join(redact_argv(argv))
    assert out == "snakemake --config mlflow={tracking_uri: http://127.0.0.1:5} a@b.org"
    assert redact_text("see http://x:y@h/ and https://h2/") == "see http://h/ and https://h2/"


def test_credentials_move_to_the_environment_unless_it_has_them_already():
    env: dict = {}
    assert move_to_environment(uri_with(9), env) == "http://127.0.0.1:9"
    assert env == {USERNAME_ENV: USER, PASSWORD_ENV: PASSWORD}
    env = {USERNAME_ENV: "other", PASSWORD_ENV: "kept"}  # MLflow prefers these over the URI
    move_to_environment(uri_with(9), env)
    assert env == {USERNAME_ENV: "other", PASSWORD_ENV: "kept"}
    assert move_to_environment("sqlite:///mlflow.db", env) == "sqlite:///mlflow.db"


def test_config_and_its_digest_never_hold_the_password(monkeypatch, schema):
    monkeypatch.delenv(USERNAME_ENV, raising=False)
    monkeypatch.delenv(PASSWORD_ENV, raising=False)
    raw = {"mlflow": {"tracking_uri": uri_with(7)}}
    cfg = validate(take_credentials(raw), schema)
    assert cfg["mlflow"]["tracking_uri"] == "http://127.0.0.1:7"
    assert os.environ[PASSWORD_ENV] == PASSWORD
    plain = validate({"mlflow": {"tracking_uri": "http://127.0.0.1:7"}}, schema)
    assert config_hash(cfg) == config_hash(plain)  # the digest is over the redacted URI
    assert public_config(raw)["mlflow"]["tracking_uri"] == "http://127.0.0.1:7"
    assert not any(f in json.dumps(cfg).encode() for f in forms(PASSWORD))


@pytest.mark.parametrize("bad", ["http://u:p@mlflow.lab", "ftp://mlflow.lab", "mlflow.lab:5000"])
def test_ui_url_must_be_http_without_userinfo(schema, bad):
    with pytest.raises(ConfigError, match="mlflow.ui_url"):
        validate({"mlflow": {"ui_url": bad}}, schema)


def test_paper_links_name_the_server_without_credentials():
    tracking = {"experiment_id": "7", "tracking_uri": "http://mlflow.lab:8080/"}
    assert fill.mlflow_ui(tracking) == "http://mlflow.lab:8080/#/experiments/7"  # as before
    secret = {**tracking, "tracking_uri": "http://u:p%40w@mlflow.lab:8080/"}
    assert fill.mlflow_ui(secret) == "http://mlflow.lab:8080/#/experiments/7"
    local = {**tracking, "tracking_uri": "sqlite:///mlflow.db"}
    assert fill.mlflow_ui(local) == "http://127.0.0.1:5000/#/experiments/7"
    ui = fill.mlflow_ui(secret, "https://ui.lab/mlflow/")
    assert ui == "https://ui.lab/mlflow/#/experiments/7"


def test_error_messages_name_the_server_without_credentials():
    port = free_port()  # nothing listens there
    with pytest.raises(TrackingError) as err:
        check_server(uri_with(port), timeout_s=2)
    message = str(err.value)
    assert f"http://127.0.0.1:{port}" in message
    assert not any(f.decode() in message for f in forms(PASSWORD))
    exc = RuntimeError(f"API request to {uri_with(1)}/api failed")
    message = str(store_error(uri_with(1), exc))
    assert "http://127.0.0.1:1" in message
    assert not any(f.decode() in message for f in forms(PASSWORD))


def test_step_runs_name_no_host_interpreter_or_folder_of_the_machine(
    tmp_path, monkeypatch, mlflow_store
):
    from mlflow.tracking import MlflowClient

    from conftest import fake_manifest
    from lnpaper.pipeline import io
    from lnpaper.tracking.store import log_build

    monkeypatch.chdir(tmp_path)  # manifests name inputs relative to the checkout, as builds do
    Path("results").mkdir()
    Path("results/in.parquet").write_bytes(b"x")
    path = fake_manifest(Path("results"), "s1", 1.0)
    manifest = io.read_json(path)
    manifest["inputs"] = {"data": {"path": "results/in.parquet", "sha256": "0" * 64}}
    manifest["host"] = {"host": HOST, "executable": f"/home/{WHO}/venv/bin/python", "cpu": "c"}
    io.write_json(manifest, path)
    uri = mlflow_store
    summary = log_build([path], uri, "e", {"config_hash": "h"})
    run = MlflowClient(uri).get_run(summary["steps"]["s1"]["run_id"])
    assert run.data.tags["host.cpu"] == "c"  # the machine's kind stays
    (ds,) = run.inputs.dataset_inputs
    assert ds.dataset.source_type == "local" and "results/in.parquet" in ds.dataset.source
    # (a local SQLite store keeps its artifact folder as an absolute URI; a server does not)
    named = json.dumps([run.data.tags, run.data.params, ds.dataset.source])
    assert [n for n in (HOST, WHO, str(tmp_path)) if n in named] == []
