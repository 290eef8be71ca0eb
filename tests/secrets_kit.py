"""The secrets and distinctive names the credential tests look for, and the forms a secret could
be written in (plain, URL-encoded, in a basic-auth header)."""

from __future__ import annotations

import base64
import re
from urllib.parse import quote, quote_plus

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
