"""Nothing private leaves the machine, end to end (docs/security.md; unit level:
pipeline/test_credentials.py).

One lean build (tests/configs/lean.yaml: every kind of job, seconds each) runs against a real
MLflow server that requires a password (MLflow's basic-auth app), in a folder with a distinctive
absolute path, under a distinctive user name (USER/LOGNAME/HOME) and, where a UTS namespace can
be made (unshare), a distinctive host name. The secret goes in the tracking URI for that build;
the tracking step alone then runs again with the secret in MLFLOW_TRACKING_USERNAME/PASSWORD,
then in MLFLOW_TRACKING_TOKEN. Credentials are written nowhere, and the published files name no
user, host or absolute path."""

from __future__ import annotations

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

import pytest
import requests

from conftest import ROOT, SNAKEMAKE, copy_workflow, free_port, make_git_repository
from lnpaper.tracking.store import TrackingError, check_server
from secrets_kit import CLEAN_ENV, HOST, PASSWORD, TOKEN, USER, WHERE, WHO, forms, uri_with

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
        # a checked password is remembered for an hour instead of being hashed again (PBKDF2)
        # on each of the build's requests: half the server's CPU, the same answers
        "auth_cache_ttl_seconds = 3600\n"
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
        [*prefix, SNAKEMAKE, "--configfile", "lean.yaml", *args],
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
    """One lean build as user WHO in <tmp>/home/WHO/WHERE/work, on host HOST where a UTS namespace
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
