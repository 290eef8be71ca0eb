"""Shared fixtures: the repository root, the schema, and a runner for Snakemake in a temp copy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))


@pytest.fixture(scope="session")
def schema():
    return yaml.safe_load((ROOT / "workflow/schemas/config.schema.yaml").read_text())


@pytest.fixture(scope="session")
def default_config():
    return yaml.safe_load((ROOT / "config.yaml").read_text())


def copy_workflow(dest: Path) -> Path:
    """The workflow as a user has it (lnpaper.benchmark.copy_workflow) plus the tiny config."""
    from lnpaper.tools.benchmark import copy_workflow as copy_clean

    copy_clean(dest, ROOT)
    shutil.copy2(ROOT / "tests/configs/tiny.yaml", dest / "tiny.yaml")
    return dest


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
    """One full tiny build in a temp copy, shared by the end-to-end tests (read-only use)."""
    work = copy_workflow(tmp_path_factory.mktemp("tiny"))
    proc = snakemake(work, "--cores", "4", "--configfile", "tiny.yaml")
    return work, proc
