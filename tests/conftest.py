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
