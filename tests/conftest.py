"""Shared fixtures and helpers of every test folder: the repository root, the schema and the
manuscript templates, a runner for Snakemake in a temp copy and the one tiny build the end-to-end
tests share, and the fake step manifests and free ports of the tracking tests.

Test modules import the helpers by name (``from conftest import ROOT``): pytest puts this folder
on ``sys.path`` when it loads this file. The subfolders have no conftest.py of their own, so that
name always means this file. Tests under ``e2e/`` are marked ``slow`` here, whether or not they
say so: ``-m "not slow"`` leaves out every end-to-end test and nothing else."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from lnpaper.manuscript.front import prose
from lnpaper.pipeline import io

# The MLflow servers the tests start (mlflow server, mlflow ui, the team server) run no job
# runner: the pipeline submits no server-side jobs, and the runner is one more process per
# server competing for the CPU with the builds under test. Child processes inherit it.
os.environ["MLFLOW_SERVER_ENABLE_JOB_EXECUTION"] = "false"

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).with_name("snakemake"))
E2E = Path(__file__).resolve().parent / "e2e"
# the bound prose of each language: the abstract of its front file, then its template
TEMPLATES = {lang: prose(ROOT, lang) for lang in ("vi", "en")}


# The end-to-end files that take longest, first (measured with --durations), in pairs for the
# two workers of a 2-core machine: one that needs the tiny build beside one that builds its own,
# then one that needs the lean build, and so on. With pytest-xdist (``make test`` runs ``-n auto
# --dist loadfile``) files go to the workers in collection order, so both shared builds start at
# once with the other long builds, and the short files fill the gaps at the end instead of one
# long build running alone there.
LONG_FIRST = (
    "test_paper_outputs.py",  # tiny
    "test_secrets.py",  # its own lean build
    "test_kill_resume.py",  # lean
    "test_verify_rebuild.py",  # tiny and lean, rebuilt from their bundles: the most CPU of all
    "test_claims_seed.py",  # its own
    "test_reruns.py",  # lean
    "test_tracking_stress.py",  # its own
    "test_env_faults.py",  # lean
    "test_team_server.py",  # tiny
    "test_add_experiment.py",  # lean
    "test_tracking_server.py",  # tiny
    "test_bad_inputs_snakemake.py",  # lean
    "test_results_cache.py",  # its own
    "test_manuscript_build.py",  # tiny
    "test_config_space_builds.py",  # in process
    "test_slurm.py",  # tiny
)


def pytest_configure(config):
    # keep the order set below: xdist otherwise sorts files by their number of tests, which puts
    # the many-case unit files first and the few-case end-to-end builds last
    if hasattr(config.option, "loadscopereorder"):
        config.option.loadscopereorder = False


def pytest_collection_modifyitems(items):
    """Every test under tests/e2e/ is an end-to-end test: mark it ``slow``. The long ones run
    first (``LONG_FIRST``), then the other end-to-end files, then the rest."""
    rank = {name: k for k, name in enumerate(LONG_FIRST)}

    def order(item) -> tuple[int, int]:
        path = Path(item.fspath).resolve()
        if E2E not in path.parents:
            return (2, 0)
        return (0, rank[path.name]) if path.name in rank else (1, 0)

    for item in items:
        if E2E in Path(item.fspath).resolve().parents:
            item.add_marker(pytest.mark.slow)
    items.sort(key=order)  # stable: the order within a file and within each group stays


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
    """The workflow as a user has it (lnpaper.benchmark.copy_workflow) plus the tiny and lean
    configs and the top-level ``profiles`` link, through which Snakemake finds the default profile."""
    from lnpaper.tools.benchmark import copy_workflow as copy_clean

    copy_clean(dest, ROOT)
    for name in ("tiny.yaml", "lean.yaml"):
        shutil.copy2(ROOT / "tests/configs" / name, dest / name)
    if (ROOT / "profiles").is_symlink() and not (dest / "profiles").exists():
        (dest / "profiles").symlink_to(os.readlink(ROOT / "profiles"))
    return dest


def git(root: Path, *args: str) -> str:
    """``git *args`` in ``root`` as a test user; its output."""
    return subprocess.run(
        ["git", "-c", "user.name=test", "-c", "user.email=test@example.org", *args],
        cwd=root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def make_git_repository(work: Path) -> str:
    """Commit everything in ``work`` to a new repository there (as a clone has it); the commit."""
    git(work, "init", "-q")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "tiny build sources")
    return git(work, "rev-parse", "HEAD")


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


def session_folder(config: pytest.Config, tmp_path_factory) -> Path:
    """A folder of this test session that every pytest-xdist worker sees: beside the workers'
    own temp folders (``<basetemp>/popen-gwN``) under xdist, named by the run's id; the base
    temp folder otherwise."""
    base = tmp_path_factory.getbasetemp()
    worker = getattr(config, "workerinput", None)
    if worker is None:
        return base
    folder = base.parent / f"shared-{worker['testrunuid']}"
    folder.mkdir(exist_ok=True)
    return folder


def shared_build(
    config: pytest.Config, tmp_path_factory, name: str, *args: str
) -> tuple[Path, subprocess.CompletedProcess]:
    """One build per test session of a temp copy of the workflow (``snakemake *args``), shared by
    every worker: the first to ask builds it under a file lock, the others wait on the lock and
    reuse it (its folder and the Snakemake console, kept as JSON). Users only read it.

    The copy is a git repository (as a clone is)."""
    from filelock import FileLock

    root = session_folder(config, tmp_path_factory)
    work, record = root / name, root / f"{name}.json"
    with FileLock(str(root / f"{name}.lock")):
        if not record.exists():
            shutil.rmtree(work, ignore_errors=True)  # a copy an earlier worker failed to make
            work.mkdir()
            copy_workflow(work)
            make_git_repository(work)
            proc = snakemake(work, *args, check=False)
            record.write_text(json.dumps([proc.args, proc.returncode, proc.stdout, proc.stderr]))
    proc = subprocess.CompletedProcess(*json.loads(record.read_text()))
    if proc.returncode != 0:
        raise AssertionError(
            f"{' '.join(proc.args)} failed ({proc.returncode}):\n{proc.stderr[-4000:]}"
        )
    return work, proc


@pytest.fixture(scope="session")
def tiny_build(request, tmp_path_factory):
    """One full tiny build in a temp copy, shared by the end-to-end tests (read-only use).

    The build runs as a user types it, with no ``--cores``: the default profile
    (``profiles/default``, 4 cores) supplies the options."""
    return shared_build(request.config, tmp_path_factory, "tiny", "--configfile", "tiny.yaml")


@pytest.fixture(scope="session")
def lean_build(request, tmp_path_factory):
    """The lean build (tests/configs/lean.yaml: every kind of job, the three slow experiments
    off), made as ``tiny_build`` is, for the tests that look at how a build runs rather than at
    what those experiments compute."""
    return shared_build(request.config, tmp_path_factory, "lean", "--configfile", "lean.yaml")


@pytest.fixture(scope="session")
def migrated_mlflow_db(tmp_path_factory) -> Path:
    """An empty MLflow SQLite store (schema migrated, MLflow's Default experiment), made once per
    worker. A brand-new file costs MLflow's schema migrations: about 1.4 CPU-s and dozens of
    synced writes (seconds of wall time on a busy disk), where logging a build into an existing
    store takes 0.1 s. Tests of how a store is created (the parallel migration race in
    tests/e2e/test_tracking_stress.py, every build's tracking step) start from no file."""
    from mlflow.tracking import MlflowClient

    db = tmp_path_factory.mktemp("mlflow-template") / "m.db"
    MlflowClient(tracking_uri=f"sqlite:///{db}").search_experiments()
    return db


def copy_mlflow_store(template: Path, db: Path) -> str:
    """A copy of the migrated empty store at ``db``; its URI."""
    shutil.copyfile(template, db)
    return f"sqlite:///{db}"


@pytest.fixture
def mlflow_store(migrated_mlflow_db, tmp_path) -> str:
    """The URI of an empty, migrated MLflow store of the test's own (``tmp_path/m.db``)."""
    return copy_mlflow_store(migrated_mlflow_db, tmp_path / "m.db")


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
