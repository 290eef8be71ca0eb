"""Authorization function for the test MLflow server (basic-auth app): a bearer token, as
``MLFLOW_TRACKING_TOKEN`` sends it, is accepted as the admin; everything else goes through
MLflow's own basic-auth check. The server's auth config names it as
``authorization_function = mlflow_token_auth:authenticate`` (tests/test_secrets.py)."""

import os

from flask import request
from mlflow.server.auth import authenticate_request_basic_auth
from werkzeug.datastructures import Authorization


def authenticate():
    token = os.environ.get("LNPAPER_TEST_TOKEN")
    if token and request.headers.get("Authorization") == f"Bearer {token}":
        return Authorization("basic", {"username": "admin", "password": ""})
    return authenticate_request_basic_auth()
