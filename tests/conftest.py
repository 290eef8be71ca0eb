"""Shared fixtures and helpers of every test folder: the repository root, the schema and the
manuscript templates, a runner for Snakemake in a temp copy and the one tiny build the end-to-end
tests share, and the fake step manifests and free ports of the tracking tests.

Test modules import the helpers by name (``from conftest import ROOT``): pytest puts this folder
on ``sys.path`` when it loads this file. The subfolders have no conftest.py of their own, so that
name always means this file. Tests under ``e2e/`` are marked ``slow`` here, whether or not they
say so: ``-m "not slow"`` leaves out every end-to-end test and nothing else."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lnpaper.pipeline import io

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
E2E = Path(__file__).resolve().parent / "e2e"
TEMPLATES = {
    lang: (ROOT / f"manuscript/paper.{lang}.md").read_text(encoding="utf-8")
    for lang in ("vi", "en")
}


def pytest_collection_modifyitems(items):
    """Every test under tests/e2e/ is an end-to-end test: mark it ``slow``."""
    for item in items:
        if E2E in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.slow)


@pytest.fixture
def one_torch_thread():
    """Torch on one thread for the test: tiny ops only add contention on a shared machine."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def schema():
    return yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


@pytest.fixture(scope="session")
def default_config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def copy_workflow(dest: Path) -> Path:
    """The workflow as a user has it (lnpaper.benchmark.copy_workflow) plus the tiny config and
    the top-level ``profiles`` link, through which Snakemake finds the default profile."""
    from lnpaper.tools.benchmark import copy_workflow as copy_clean

    copy_clean(dest, ROOT)
    shutil.copy2(ROOT / "tests/configs/tiny.yaml", dest / "tiny.yaml")
    if (ROOT / "profiles").is_symlink() and not (dest / "profiles").exists():
        (dest / "profiles").symlink_to(os.readlink(ROOT / "profiles"))
    return dest


def make_git_repository(work: Path) -> str:
    """Commit everything in ``work`` to a new repository there (as a clone has it); the commit."""

    def git(*args):
        return subprocess.run(
            ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args],
            cwd=work,
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()

    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "tiny build sources")
    return git("rev-parse", "HEAD")


def snakemake(
    cwd: Path, *args: str, timeout: int = 900, check: bool = True, env: dict | None = None
) -> subprocess.CompletedProcess:
    cmd = [SNAKEMAKE, *args]
    proc = subprocess.run(
        cmd,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if check and proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}")
    return proc


@pytest.fixture(scope="session")
def tiny_build(tmp_path_factory):
    """One full tiny build in a temp copy, shared by the end-to-end tests (read-only use).

    The copy is a git repository (as a clone is) and the build runs as a user types it, with no
    ``--cores``: the default profile (``profiles/default``, 4 cores) supplies the options."""
    work = copy_workflow(tmp_path_factory.mktemp("tiny"))
    make_git_repository(work)
    proc = snakemake(work, "--configfile", "tiny.yaml")
    return work, proc


def active_runs(uri: str, experiment: str = "e") -> list:
    from mlflow.tracking import MlflowClient

    client = MlflowClient(uri)
    exp = client.get_experiment_by_name(experiment)
    return client.search_runs([exp.experiment_id], max_results=50000)


def kinds(runs) -> list[str]:
    return sorted(r.data.tags.get("lnpaper.kind", "") for r in runs)


def fake_manifest(tmp: Path, step: str, value: float, series: bool = False) -> str:
    out = tmp / f"{step}.parquet"
    import pandas as pd

    io.write_parquet(
        pd.DataFrame(
            {"cond": ["a", "a", "b", "b"], "step": [0, 1, 0, 1], "y": [1.0, 2.0, 3.0, float("inf")]}
        ),
        out,
    )
    manifest = {
        "step": step,
        "kind": "experiment",
        "params": {"x": 1, "seed": 42},
        "params_hash": "h",
        "metrics": {"m": value, "bad": float("nan")},
        "conditions": {
            "output": "o",
            "keys": ["cond"],
            "step": "step",
            "values": ["y"],
            "reduce": None,
        }
        if series
        else None,
        "inputs": {},
        "outputs": {"o": {"path": str(out), "sha256": io.file_digest(out)}},
        "versions": {"torch": "x"},
        "host": {},
        "timing": {"wall_s": 1.0},
    }
    path = tmp / f"{step}.json"
    io.write_json(manifest, path)
    return str(path)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
