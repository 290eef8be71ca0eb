"""A team's MLflow tracking server on a local PostgreSQL: start, stop, status.

``make mlflow-server`` / ``make mlflow-server-stop`` run this (docs/team-store.md); the tests start
their own in a temporary folder. Everything lives in one state folder (default
``.mlflow-server/`` in the repository, never committed):

- ``postgres/data``: the database cluster, made by ``initdb`` on the first start;
- ``postgres/socket``: its Unix socket. PostgreSQL listens on nothing else (no TCP port), the
  folder is open to its owner only, and the one local client is the MLflow server, so the
  database needs no password and there is none to leak;
- ``artifacts/``: the artifacts, served by the MLflow server (builds upload them through it and
  need no shared file system);
- ``server.pid``, ``server.log``, ``postgres.log``.

PostgreSQL refuses to run as root: as root, its commands run as the ``postgres`` user of
Debian's package (``runuser -u postgres --``), which then owns ``postgres/``; as any other user
they run as that user.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

INSTALL_HINT = "install postgresql (apt-get install postgresql) to run"
DRIVER_HINT = "install the PostgreSQL driver: make mlflow-server (requirements-server.lock)"
DB = "mlflow"  # database and role
PG_USER = "postgres"


class ServerError(RuntimeError):
    """The team server cannot start or stop; the message says why."""


def pg_bindir() -> Path | None:
    """Where initdb and pg_ctl are: on PATH, else Debian's /usr/lib/postgresql/<ver>/bin."""
    found = shutil.which("pg_ctl")
    if found and shutil.which("initdb"):
        return Path(found).resolve().parent
    versions = sorted(
        Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"),
        key=lambda p: int(p.parent.parent.name) if p.parent.parent.name.isdigit() else 0,
    )
    for pg_ctl in reversed(versions):
        if (pg_ctl.parent / "initdb").exists():
            return pg_ctl.parent
    return None


def _as_pg(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", PG_USER, "--", *cmd] if os.geteuid() == 0 else cmd


def _run(cmd: list[str], what: str, **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(_as_pg(cmd), capture_output=True, text=True, **kw)
    if proc.returncode != 0:
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise ServerError(f"{what} failed: {detail[-1] if detail else proc.returncode}")
    return proc


class Paths:
    def __init__(self, state: Path):
        self.state = state.resolve()
        self.pg = self.state / "postgres"
        self.data = self.pg / "data"
        self.socket = self.pg / "socket"
        self.pg_log = self.state / "postgres.log"
        self.artifacts = self.state / "artifacts"
        self.pid = self.state / "server.pid"
        self.log = self.state / "server.log"


def db_uri(p: Paths, pg_port: int) -> str:
    """The SQLAlchemy URI of the database: psycopg over the Unix socket, no password."""
    return f"postgresql+psycopg://{DB}@/{DB}?host={p.socket}&port={pg_port}"


def _hand_to_server_user(p: Paths) -> None:
    """Run as root: the server's own user must own its folders and its log, and reach them."""
    if os.geteuid() != 0:
        return
    if subprocess.run(["id", PG_USER], capture_output=True).returncode != 0:
        raise ServerError(f"no {PG_USER} user (Debian's postgresql package creates it)")
    shutil.chown(p.pg, PG_USER, PG_USER)
    shutil.chown(p.socket, PG_USER, PG_USER)
    shutil.chown(p.pg_log, PG_USER, PG_USER)
    probe = subprocess.run(_as_pg(["test", "-w", str(p.socket)]), capture_output=True)
    if probe.returncode != 0:
        raise ServerError(
            f"the {PG_USER} user cannot enter {p.state} (a parent folder is closed to other "
            f"users): choose a state folder it can reach, e.g. MLFLOW_SERVER_DIR=/srv/mlflow"
        )


def _configure(p: Paths, pg_port: int) -> None:
    """This project's settings, rewritten at each start (port or folder may have changed)."""
    conf = (
        f"port = {pg_port}\nlisten_addresses = ''\nunix_socket_directories = '{p.socket}'\n"
        "unix_socket_permissions = 0700\n"
    )
    _run(["sh", "-c", f"cat > '{p.data}/lnpaper.conf'"], "writing lnpaper.conf", input=conf)
    main_conf = (p.data / "postgresql.conf").read_text()
    if "include_if_exists 'lnpaper.conf'" not in main_conf:
        _run(
            [
                "sh",
                "-c",
                f"echo \"include_if_exists 'lnpaper.conf'\" >> '{p.data}/postgresql.conf'",
            ],
            "configuring postgresql.conf",
        )


def _create_database(bindir: Path, p: Paths, pg_port: int) -> None:
    """The project's role and database, created once."""
    psql = [str(bindir / "psql"), "-h", str(p.socket), "-p", str(pg_port), "-U", PG_USER]
    psql += ["-d", "postgres", "-tA", "-v", "ON_ERROR_STOP=1", "-c"]
    if not _run([*psql, f"select 1 from pg_roles where rolname = '{DB}'"], "psql").stdout.strip():
        _run([*psql, f"create role {DB} login"], "creating the database role")
    if not _run(
        [*psql, f"select 1 from pg_database where datname = '{DB}'"], "psql"
    ).stdout.strip():
        _run([*psql, f"create database {DB} owner {DB}"], "creating the database")


def start_postgres(state: Path, pg_port: int) -> str:
    """Initialise (first time) and start PostgreSQL on a Unix socket only; create the database.
    Returns its SQLAlchemy URI. Nothing happens to a cluster that is already running."""
    bindir = pg_bindir()
    if bindir is None:
        raise ServerError(INSTALL_HINT)
    p = Paths(state)
    p.socket.mkdir(parents=True, exist_ok=True)
    p.pg_log.touch()
    _hand_to_server_user(p)
    os.chmod(p.socket, 0o700)
    if not (p.data / "PG_VERSION").exists():
        _run(
            [
                str(bindir / "initdb"),
                "-D",
                str(p.data),
                "-U",
                PG_USER,
                "--auth=trust",
                "-E",
                "UTF8",
            ],
            "initdb",
        )
    _configure(p, pg_port)
    status = [str(bindir / "pg_ctl"), "status", "-D", str(p.data)]
    if subprocess.run(_as_pg(status), capture_output=True).returncode != 0:
        _run(
            [str(bindir / "pg_ctl"), "start", "-w", "-t", "60", "-D", str(p.data)]
            + ["-l", str(p.pg_log)],
            f"starting PostgreSQL (see {p.pg_log})",
        )
    _create_database(bindir, p, pg_port)
    return db_uri(p, pg_port)


def stop_postgres(state: Path) -> bool:
    """Stop the cluster of ``state`` (fast shutdown: open sessions are ended). True if it ran."""
    bindir = pg_bindir()
    p = Paths(state)
    if bindir is None or not (p.data / "PG_VERSION").exists():
        return False
    status = [str(bindir / "pg_ctl"), "status", "-D", str(p.data)]
    if subprocess.run(_as_pg(status), capture_output=True).returncode != 0:
        return False
    _run([str(bindir / "pg_ctl"), "stop", "-w", "-m", "fast", "-D", str(p.data)], "pg_ctl stop")
    return True


def health(uri: str, timeout_s: float = 2.0) -> bool:
    import requests

    try:
        return requests.get(f"{uri}/health", timeout=timeout_s).ok
    except requests.RequestException:
        return False


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie (our own child, not yet reaped) is not alive
    with contextlib.suppress(OSError):
        if Path(f"/proc/{pid}/stat").read_text().split(") ", 1)[1].startswith("Z"):
            return False
    return True


def server_pid(state: Path) -> int | None:
    p = Paths(state)
    try:
        pid = int(p.pid.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def start_server(
    state: Path,
    backend_uri: str,
    host: str = "127.0.0.1",
    port: int = 5050,
    workers: int = 2,
    timeout_s: float = 180,
    extra: list[str] | None = None,
) -> str:
    """Start ``mlflow server`` on ``backend_uri`` in its own process group (it outlives this
    process); wait until it answers. Returns the tracking URI for clients on this machine."""
    try:
        import psycopg  # noqa: F401
    except ImportError:
        raise ServerError(DRIVER_HINT) from None
    p = Paths(state)
    uri = f"http://{'127.0.0.1' if host in ('0.0.0.0', '::') else host}:{port}"
    if server_pid(state) is not None and health(uri):
        return uri
    p.artifacts.mkdir(parents=True, exist_ok=True)
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    cmd = [mlflow, "server", "--backend-store-uri", backend_uri]
    cmd += ["--artifacts-destination", str(p.artifacts), "--host", host, "--port", str(port)]
    cmd += ["--workers", str(workers), *(extra or [])]
    with open(p.log, "ab") as log:
        proc = subprocess.Popen(
            cmd,
            cwd=p.state,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    p.pid.write_text(f"{proc.pid}\n")
    deadline = time.monotonic() + timeout_s
    while not health(uri, timeout_s=1):
        if proc.poll() is not None or time.monotonic() > deadline:
            stop_server(state)
            tail = p.log.read_text(errors="replace").strip().splitlines()[-5:]
            raise ServerError(f"mlflow server did not start (see {p.log}): " + " | ".join(tail))
        time.sleep(0.5)
    return uri


def stop_server(state: Path, timeout_s: float = 30) -> bool:
    """Stop the MLflow server of ``state`` (its whole process group: the workers too)."""
    p = Paths(state)
    pid = server_pid(state)
    if pid is None:
        p.pid.unlink(missing_ok=True)
        return False
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while _alive(pid) and time.monotonic() < deadline:
        with contextlib.suppress(ChildProcessError):  # reap it when it is our own child
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.2)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)
    p.pid.unlink(missing_ok=True)
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="team_server", description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["start", "stop", "status"])
    parser.add_argument("--dir", type=Path, default=Path(".mlflow-server"), help="state folder")
    parser.add_argument("--host", default="127.0.0.1", help="0.0.0.0: reachable by the team")
    parser.add_argument("--port", type=int, default=5050, help="MLflow server port")
    parser.add_argument("--pg-port", type=int, default=55432, help="PostgreSQL (socket) port")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    try:
        if args.action == "start":
            backend = start_postgres(args.dir, args.pg_port)
            uri = start_server(args.dir, backend, args.host, args.port, args.workers)
            print(f"MLflow tracking server on PostgreSQL: {uri}")
            if args.host in ("0.0.0.0", "::"):
                import socket

                uri = f"http://{socket.getfqdn()}:{args.port}"
                print(f"colleagues reach it at {uri}")
            print(
                f"point builds at it: mlflow.tracking_uri: {uri} (in a --configfile), "
                f"or browse it at {uri}; stop it with make mlflow-server-stop"
            )
        elif args.action == "stop":
            server = stop_server(args.dir)
            database = stop_postgres(args.dir)
            print(
                f"MLflow server {'stopped' if server else 'was not running'}; "
                f"PostgreSQL {'stopped' if database else 'was not running'} ({args.dir})"
            )
        else:
            pid = server_pid(args.dir)
            print(f"MLflow server: {'pid ' + str(pid) if pid else 'not running'} ({args.dir})")
            return 0 if pid else 3
    except ServerError as err:
        print(f"mlflow-server: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
