"""Nothing private leaves the machine: tracking credentials are written nowhere, whichever of
MLflow's documented ways they were given in, and the published files name no user, host or
absolute path (docs/security.md).

The end-to-end part runs one tiny build against a real MLflow server that requires a password
(MLflow's basic-auth app), in a folder with a distinctive absolute path, under a distinctive user
name (USER/LOGNAME/HOME) and, where a UTS namespace can be made (unshare), a distinctive host
name. The secret goes in the tracking URI for that build; the tracking step alone then runs again
with the secret in MLFLOW_TRACKING_USERNAME/PASSWORD, then in MLFLOW_TRACKING_TOKEN.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
import zipfile
import zlib
from pathlib import Path
from urllib.parse import quote, quote_plus

import pytest
import requests
from test_tracking import free_port

from conftest import ROOT, SNAKEMAKE, copy_workflow, make_git_repository
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

# Each secret has a core no encoding changes and characters that URL-encode (@ % : / + =).
PASSWORD = "Zq8pw0rdQx@7%:/+="
TOKEN = "Tk9t0kenWv.7/+="
USER = "admin"
WHO = "lnwhoq7x"  # the distinctive user name
WHERE = "papers-where-q7x"  # a distinctive folder name in the build's absolute path
HOST = "ln-host-q7x"  # the distinctive host name (inside a UTS namespace)
CLEAN_ENV = ("MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD", "MLFLOW_TRACKING_TOKEN")


def forms(secret: str) -> list[bytes]:
    """The secret as it could be written: plain, URL-encoded (either way), as a basic-auth header
    value; and its core, which every percent-encoding keeps."""
    core = re.match(r"[A-Za-z0-9]+", secret).group(0)
    texts = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), core}
    texts.add(base64.b64encode(f"{USER}:{secret}".encode()).decode())
    return sorted(t.encode() for t in texts)


def uri_with(port: int) -> str:
    return f"http://{USER}:{quote(PASSWORD, safe='')}@127.0.0.1:{port}"


# ---------------------------------------------------------------- unit: redaction


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


def test_step_runs_name_no_host_interpreter_or_folder_of_the_machine(tmp_path, monkeypatch):
    from mlflow.tracking import MlflowClient
    from test_tracking import fake_manifest

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
    uri = f"sqlite:///{tmp_path / 'm.db'}"
    summary = log_build([path], uri, "e", {"config_hash": "h"})
    run = MlflowClient(uri).get_run(summary["steps"]["s1"]["run_id"])
    assert run.data.tags["host.cpu"] == "c"  # the machine's kind stays
    (ds,) = run.inputs.dataset_inputs
    assert ds.dataset.source_type == "local" and "results/in.parquet" in ds.dataset.source
    # (a local SQLite store keeps its artifact folder as an absolute URI; a server does not)
    named = json.dumps([run.data.tags, run.data.params, ds.dataset.source])
    assert [n for n in (HOST, WHO, str(tmp_path)) if n in named] == []


# ---------------------------------------------------------------- scanning


def pdf_streams(data: bytes) -> list[bytes]:
    """The inflated streams of a PDF (links and metadata may sit in compressed object streams)."""
    out = []
    for m in re.finditer(rb"stream\r?\n(.*?)endstream", data, re.S):
        try:
            out.append(zlib.decompress(m.group(1)))
        except zlib.error:
            pass
    return out


def contents(path: Path) -> list[tuple[str, bytes]]:
    """(name, bytes) of a file and of what it holds: zip members (docx, bundle.zip), PDF streams."""
    data = path.read_bytes()
    out = [(str(path), data)]
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as zf:
            for name in zf.namelist():
                member = zf.read(name)
                out.append((f"{path}!{name}", member))
                if name.endswith(".pdf"):
                    out += [(f"{path}!{name}!stream", s) for s in pdf_streams(member)]
    if data.startswith(b"%PDF"):
        out += [(f"{path}!stream", s) for s in pdf_streams(data)]
    return out


def find(needles: list[bytes], files) -> list[str]:
    return [
        f"{name}: {needle.decode()}"
        for path in files
        if path.is_file() and not path.is_symlink()
        for name, data in contents(path)
        for needle in needles
        if needle in data
    ]


def tree(root: Path):
    return sorted(p for p in root.rglob("*") if p.is_file() and not p.is_symlink())


def store_rows(db: Path) -> bytes:
    """Every row of every table of an SQLite store, as text."""
    con = sqlite3.connect(db)
    try:
        tables = [r[0] for r in con.execute("select name from sqlite_master where type='table'")]
        return "\n".join(
            repr(row) for t in tables for row in con.execute(f'select * from "{t}"')
        ).encode()
    finally:
        con.close()


# ---------------------------------------------------------------- end to end


def uts_prefix() -> list[str] | None:
    """A command prefix that runs its command with host name HOST, or None where this machine
    cannot make a UTS namespace (no unshare, or neither root nor user namespaces)."""
    if shutil.which("unshare") is None:
        return None
    base = ["unshare", "--uts"] if os.geteuid() == 0 else ["unshare", "--map-root-user", "--uts"]
    prefix = [*base, "sh", "-c", 'hostname "$0" && exec "$@"', HOST]
    probe = subprocess.run([*prefix, "hostname"], capture_output=True, text=True)
    return prefix if probe.returncode == 0 and probe.stdout.strip() == HOST else None


@pytest.fixture(scope="module")
def auth_server(tmp_path_factory):
    """A local MLflow server that requires a password (MLflow's basic-auth app), or None where
    the app cannot run; yields (port, store folder)."""
    if importlib.util.find_spec("flask_wtf") is None:
        yield None
        return
    port = free_port()
    store = tmp_path_factory.mktemp("auth-server")
    (store / "auth.ini").write_text(
        "[mlflow]\ndefault_permission = NO_PERMISSIONS\n"
        f"database_uri = sqlite:///{store / 'auth.db'}\nadmin_username = {USER}\n"
        "authorization_function = mlflow_token_auth:authenticate\n"
    )
    env = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    env.update(
        MLFLOW_AUTH_CONFIG_PATH=str(store / "auth.ini"),
        MLFLOW_AUTH_ADMIN_PASSWORD=PASSWORD,
        MLFLOW_FLASK_SERVER_SECRET_KEY="test-only-csrf-key",
        LNPAPER_TEST_TOKEN=TOKEN,
        PYTHONPATH=os.pathsep.join([str(ROOT / "tests"), env.get("PYTHONPATH", "")]),
    )
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    log = (store / "server.log").open("w")
    proc = subprocess.Popen(
        [
            *(mlflow, "server", "--app-name", "basic-auth", "--host", "127.0.0.1"),
            *("--port", str(port), "--workers", "1"),
            *("--backend-store-uri", f"sqlite:///{store / 'mlflow.db'}"),
            *("--artifacts-destination", str(store / "artifacts")),
        ],
        cwd=store,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 180
    while True:
        try:
            check_server(f"http://127.0.0.1:{port}", timeout_s=1)
            break
        except TrackingError:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError(
                    "mlflow basic-auth server did not start:\n"
                    + (store / "server.log").read_text()[-2000:]
                ) from None
            time.sleep(0.5)
    yield port, store
    proc.terminate()
    proc.wait(timeout=30)


def run_build(work: Path, home: Path, prefix: list[str], *args: str, env=None):
    """snakemake in ``work`` as user WHO (USER/LOGNAME/HOME) with the given environment."""
    base = {k: v for k, v in os.environ.items() if k not in CLEAN_ENV}
    base.update(USER=WHO, LOGNAME=WHO, HOME=str(home), **(env or {}))
    proc = subprocess.run(
        [*prefix, SNAKEMAKE, "--configfile", "tiny.yaml", *args],
        cwd=work,
        capture_output=True,
        text=True,
        timeout=1800,
        env=base,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    return proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def private_build(tmp_path_factory, auth_server):
    """One tiny build as user WHO in <tmp>/home/WHO/WHERE/work, on host HOST where a UTS namespace
    can be made, tracked on the password-protected server (secret in the URI) when it runs, else
    in the default SQLite store. Returns (work, home, console, prefix)."""
    home = tmp_path_factory.mktemp("home") / WHO
    work = home / WHERE / "work"
    work.mkdir(parents=True)
    copy_workflow(work)
    make_git_repository(work)
    prefix = uts_prefix() or []
    args = []
    if auth_server:
        args = ["--config", f"mlflow={{tracking_uri: {uri_with(auth_server[0])}}}"]
    console = run_build(work, home, prefix, *args)
    return work, home, console, prefix


def leaks(needles: list[bytes], work: Path, console: str, store: Path | None) -> list[str]:
    found = find(needles, tree(work))
    found += [f"console: {n.decode()}" for n in needles if n in console.encode()]
    if store is not None:
        found += find(needles, tree(store / "artifacts"))
        rows = store_rows(store / "mlflow.db")
        found += [f"store rows: {n.decode()}" for n in needles if n in rows]
    return found


@pytest.mark.slow
def test_credentials_are_written_nowhere_whichever_way_they_are_given(auth_server, private_build):
    if auth_server is None:
        pytest.skip("needs Flask-WTF for MLflow's basic-auth app: pip install 'mlflow[auth]'")
    port, store = auth_server
    work, home, console, prefix = private_build
    plain = f"http://127.0.0.1:{port}"
    api = f"{plain}/api/2.0/mlflow/experiments/search?max_results=1"
    assert requests.get(api, timeout=10).status_code == 401  # the server does require them
    summary = json.loads((work / "results/tracking/build.json").read_text())
    assert summary["tracking_uri"] == plain and summary["experiment_id"]
    assert (
        f"{plain}/#/experiments/{summary['experiment_id']}/runs/"
        in (work / "results/manuscript/paper.md").read_text()
    )  # the paper links the server, without userinfo
    assert leaks(forms(PASSWORD), work, console, store) == []

    # the tracking step alone again, the secret in the environment: username/password, then token
    config = ["--config", f"mlflow={{tracking_uri: {plain}}}"]
    rerun = [*config, "--forcerun", "track"]
    for env, secret in (
        ({"MLFLOW_TRACKING_USERNAME": USER, "MLFLOW_TRACKING_PASSWORD": PASSWORD}, PASSWORD),
        ({"MLFLOW_TRACKING_TOKEN": TOKEN}, TOKEN),
    ):
        summary = work / "results/tracking/build.json"
        before, written = json.loads(summary.read_text()), summary.stat().st_mtime_ns
        console = run_build(work, home, prefix, *rerun, env=env)
        after = json.loads(summary.read_text())
        # the tracking step ran and reached the server (it writes the summary only after
        # logging); the same results are the same build, re-logged in place
        assert summary.stat().st_mtime_ns != written
        assert after["build_run_id"] == before["build_run_id"]
        assert "matmul" not in re.findall(r"rule (\w+):", console)
        assert leaks(forms(secret) + forms(PASSWORD), work, console, store) == []


@pytest.mark.slow
def test_published_files_name_no_user_host_or_absolute_path(private_build, auth_server):
    work, home, _, prefix = private_build
    if not prefix:
        pytest.skip(
            "needs unshare (util-linux) with root or user namespaces for a distinctive host name"
        )
    needles = [str(work).encode(), str(home).encode(), WHO.encode(), WHERE.encode()]
    needles += [HOST.encode(), sys.prefix.encode()]
    published = tree(work / "results/manuscript") + [work / "results/tracking/build.json"]
    names = {p.name for p in published}
    assert {"paper.html", "paper.md", "paper.pdf", "paper.docx", "bundle.zip"} <= names
    assert {"numbers.json", "build.json"} <= names
    # the build did run as that user on that host: the machine's own log names both
    log = "\n".join(p.read_text() for p in (work / ".snakemake/log").glob("*.log"))
    assert f"Host: {HOST}" in log and f"User: {WHO}" in log
    assert find(needles, published) == []
    if auth_server:  # the shared server store too (a local SQLite one keeps absolute URIs)
        rows = store_rows(auth_server[1] / "mlflow.db")
        assert [n.decode() for n in needles if n in rows] == []
    summary = json.loads((work / "results/tracking/build.json").read_text())
    assert "host" not in summary
