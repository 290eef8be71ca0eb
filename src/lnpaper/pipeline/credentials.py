"""Tracking credentials: read where the connection is made, written nowhere.

MLflow takes a server's credentials in three documented ways: userinfo in the tracking URI
(``http://user:password@host:port``), ``MLFLOW_TRACKING_USERNAME`` / ``MLFLOW_TRACKING_PASSWORD``,
and ``MLFLOW_TRACKING_TOKEN``. The environment is the only one that never reaches a file: the
config, rule params (kept by Snakemake in ``.snakemake/metadata``), the command line (an MLflow
tag and Snakemake's log header), ``build.json``, the paper's links and MLflow's own "View run at"
lines all see the URI. So at workflow start the userinfo of the URI moves into the environment
(inherited by local jobs, exported by sbatch to cluster jobs) and everything else only ever sees
the URI without it (``redact``). docs/security.md lists the guarantees and their test.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

USERNAME_ENV = "MLFLOW_TRACKING_USERNAME"
PASSWORD_ENV = "MLFLOW_TRACKING_PASSWORD"

# scheme://userinfo@ anywhere in a text (a URI, a command line, an error message). The userinfo
# runs to the last "@" before whitespace, so a password with an unencoded "@", ":" or "/" is
# removed whole too (a redaction may take a little more than the userinfo, never less).
_USERINFO = re.compile(r"(?i)\b([a-z][a-z0-9+.-]*://)(\S*)@")


def redact(uri: str) -> str:
    """``uri`` without userinfo: ``http://user:pw@host:5000/x`` -> ``http://host:5000/x``.
    Strings without one (a SQLite path) come back unchanged."""
    return _USERINFO.sub(r"\1", uri)


def redact_text(text: str) -> str:
    """``text`` with the userinfo of every URL in it removed (command lines, messages)."""
    return _USERINFO.sub(r"\1", text)


def userinfo(uri: str) -> tuple[str, str] | None:
    """(username, password) of ``uri``'s userinfo, percent-decoded; None without userinfo."""
    match = _USERINFO.match(uri.strip())
    if match is None:
        return None
    user, _, password = match.group(2).partition(":")
    return unquote(user), unquote(password)


def move_to_environment(uri: str, environ: dict | None = None) -> str:
    """Put the userinfo of ``uri`` into ``MLFLOW_TRACKING_USERNAME``/``_PASSWORD`` and return the
    URI without it. Credentials already in the environment are kept: MLflow itself prefers them
    over the URI's userinfo, so the connection authenticates as it would with the URI given to
    MLflow directly."""
    env = os.environ if environ is None else environ
    found = userinfo(uri)
    if found is None:
        return uri
    user, password = found
    if not (env.get(USERNAME_ENV) and env.get(PASSWORD_ENV)):
        env[USERNAME_ENV] = user
        env[PASSWORD_ENV] = password
    return redact(uri)


def public_config(config: dict) -> dict:
    """A copy of the config whose tracking URI has no userinfo (what params and digests see)."""
    mlflow = config.get("mlflow")
    if not isinstance(mlflow, dict) or "tracking_uri" not in mlflow:
        return config
    return {**config, "mlflow": {**mlflow, "tracking_uri": redact(str(mlflow["tracking_uri"]))}}


def take_credentials(config: object) -> object:
    """The config (as loaded, before validation) with the userinfo of ``mlflow.tracking_uri``
    moved into the environment: validation messages, params and digests never see it."""
    mlflow = config.get("mlflow") if isinstance(config, dict) else None
    if not isinstance(mlflow, dict) or not isinstance(mlflow.get("tracking_uri"), str):
        return config
    uri = move_to_environment(mlflow["tracking_uri"])
    return {**config, "mlflow": {**mlflow, "tracking_uri": uri}}


def redact_argv(argv: list[str]) -> list[str]:
    """The command line without URL userinfo (it is logged and stored as an MLflow tag)."""
    return [redact_text(arg) for arg in argv]
