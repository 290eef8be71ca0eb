"""The MLflow UI in a real browser: the paper's first MLflow link and the experiment page the
build summary prints open on this build's runs, not on MLflow 3's empty GenAI overview.

Starts ``mlflow ui`` on a free port over the tiny build's store and reads the pages with headless
Chromium (``--dump-dom``). Needs Debian's ``chromium`` (``.ci/run`` installs it)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

from conftest import free_port
from lnpaper.pipeline.console import runs_page

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def page_text(url: str) -> str:
    """The rendered page's visible text (the UI is a React app: the DOM after its scripts ran)."""
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=20000"]
        + ["--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=120,
    )
    dom = re.sub(r"<(style|script)\b.*?</\1>", " ", proc.stdout, flags=re.S)
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", dom))


@pytest.fixture
def mlflow_ui(tiny_build):
    work = tiny_build[0]
    port = free_port()
    mlflow = str(Path(sys.executable).with_name("mlflow"))
    proc = subprocess.Popen(
        [mlflow, "ui", "--backend-store-uri", "sqlite:///mlflow.db"]
        + ["--host", "127.0.0.1", "--port", str(port), "--workers", "1"],
        cwd=work,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    ui = f"http://127.0.0.1:{port}"  # the UI the paper links to, on a free port
    deadline = time.monotonic() + 300  # tens of seconds on a busy machine
    while True:
        try:
            requests.get(f"{ui}/health", timeout=1).raise_for_status()
            break
        except requests.RequestException:
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                raise RuntimeError("mlflow ui did not start") from None
            time.sleep(0.5)
    yield work, ui
    proc.terminate()
    proc.wait(timeout=30)


@pytest.mark.skipif(CHROMIUM is None, reason="needs chromium (apt-get install chromium)")
def test_paper_link_and_experiment_page_show_the_build_runs(mlflow_ui):
    work, ui = mlflow_ui
    build = json.loads((work / "results/tracking/build.json").read_text())
    from mlflow.tracking import MlflowClient

    client = MlflowClient(f"sqlite:///{work / 'mlflow.db'}")
    build_name = client.get_run(build["build_run_id"]).info.run_name
    # the paper's first MLflow link, on the port this UI listens on
    html = (work / "results/manuscript/paper.html").read_text()
    link = re.search(r'href="(https?://[^"]*/#/experiments/[^"]+)"', html).group(1)
    path = link.split("/#/", 1)[1]
    run_id = path.rstrip("/").split("/")[-1]
    text = page_text(f"{ui}/#/{path}")
    assert f"Run {run_id}" in text and "Parameters" in text, text[:2000]
    # the experiment page the summary prints: the runs table of the model-training view
    text = page_text(runs_page(ui, build["experiment_id"]))
    assert build_name in text and "matching runs" in text, text[:2000]
    assert "No data available" not in text
    # what MLflow 3.17 does without the view in the address: the GenAI overview, no runs
    bare = page_text(f"{ui}/#/experiments/{build['experiment_id']}")
    assert build_name not in bare
