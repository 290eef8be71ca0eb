"""Helpers for the reliability tests: compare builds, kill Snakemake at a chosen point,
mount read-only / tiny file systems."""

from __future__ import annotations

import contextlib
import hashlib
import os
import signal
import subprocess
import tempfile
import time
from pathlib import Path

from conftest import SNAKEMAKE

# Outputs that must be byte-identical between builds of the same config. Figures may differ in
# embedded metadata (compared by decoded pixels), manifests hold timings, build.json run ids.
SAME_BYTES_DIRS = ("results/data", "results/experiments", "results/tables")
SAME_BYTES_FILES = ("results/manuscript/numbers.tex",)
# ... except tables that report measured wall times (they are about the machine, not the config)
TIMING_TABLES = ("results/tables/runtime.",)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def tree_digest(root: Path) -> dict[str, str]:
    return {str(p.relative_to(root)): digest(p) for p in sorted(root.rglob("*")) if p.is_file()}


def deterministic_outputs(work: Path) -> dict[str, str]:
    """{path: sha256} of the outputs the contract says are byte-identical."""
    out = {}
    for d in SAME_BYTES_DIRS:
        for p in sorted((work / d).rglob("*")):
            if p.is_file() and not str(p.relative_to(work)).startswith(TIMING_TABLES):
                out[str(p.relative_to(work))] = digest(p)
    for f in SAME_BYTES_FILES:
        if (work / f).exists():
            out[f] = digest(work / f)
    return out


def figure_differences(a: Path, b: Path) -> list[str]:
    """PNG figures of two builds that differ in bytes and in decoded pixels."""
    import matplotlib.image as mpimg
    import numpy as np

    bad = []
    names = sorted(p.name for p in (a / "results/figures").glob("*.png"))
    assert names == sorted(p.name for p in (b / "results/figures").glob("*.png"))
    for name in names:
        pa, pb = a / "results/figures" / name, b / "results/figures" / name
        if pa.read_bytes() != pb.read_bytes() and not np.array_equal(
            mpimg.imread(pa), mpimg.imread(pb)
        ):
            bad.append(name)
    return bad


def assert_same_build(a: Path, b: Path) -> int:
    """Same Parquet, tables, numbers.tex bytes and figure pixels; returns the files compared."""
    da, db = deterministic_outputs(a), deterministic_outputs(b)
    assert sorted(da) == sorted(db)
    differ = [k for k in da if da[k] != db[k]]
    assert differ == [], f"outputs differ between builds: {differ}"
    assert figure_differences(a, b) == []
    return len(da)


def clone_sources(built: Path, dest: Path) -> Path:
    """The workflow sources of an earlier build (not the repository's current ones, which may
    have been edited since), without its results, metadata or MLflow store."""
    import shutil

    skip = {"results", ".snakemake", "mlflow.db", "mlflow.db.lock", "mlartifacts"}
    for item in built.iterdir():
        if item.name in skip:
            continue
        (shutil.copytree if item.is_dir() else shutil.copy2)(item, dest / item.name)
    return dest


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def start(
    work: Path, *args: str, log, pause_at: str | None = None, signal_file: Path | None = None
):
    """Start snakemake in its own process group (so a kill reaches its jobs, like Ctrl-C does),
    its output going to the open file ``log``. Not a pipe: nobody reads a pipe while the test
    waits for the pause point, and a build that prints more than the pipe holds (64 KiB, about
    40 jobs' worth) would block on its next line and never get there."""
    env = dict(os.environ)
    env.pop("LNPAPER_TEST_PAUSE_AT", None)
    if pause_at:
        env.update(LNPAPER_TEST_PAUSE_AT=pause_at, LNPAPER_TEST_PAUSE_SIGNAL=str(signal_file))
    return subprocess.Popen(
        [SNAKEMAKE, *args],
        cwd=work,
        env=env,
        start_new_session=True,
        # a shell without job control starts background commands with SIGINT ignored (``make
        # test &``), and the jobs would inherit that: restore what Ctrl-C meets in a terminal
        preexec_fn=_default_sigint,
        stdout=log,
        stderr=subprocess.STDOUT,
    )


def kill_at(work: Path, point: str, sig: int, *args: str, timeout: float = 600) -> tuple[str, str]:
    """Run snakemake until a job pauses at ``point``, then send ``sig`` to the whole group.

    Returns (what paused, snakemake output). Fails if the build ends before reaching the point.
    """
    flag = work / f".pause-{point.replace(':', '_')}"
    flag.unlink(missing_ok=True)
    with tempfile.TemporaryFile("w+") as log:

        def output() -> str:
            log.seek(0)
            return log.read()

        proc = start(work, *args, log=log, pause_at=point, signal_file=flag)
        deadline = time.monotonic() + timeout
        while not flag.exists():
            if proc.poll() is not None:
                raise AssertionError(f"build ended before pausing at {point}:\n{output()[-3000:]}")
            if time.monotonic() > deadline:
                os.killpg(proc.pid, signal.SIGKILL)
                raise AssertionError(f"no job reached {point} in {timeout} s:\n{output()[-3000:]}")
            time.sleep(0.2)
        paused = flag.read_text().strip()
        os.killpg(proc.pid, sig)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:  # SIGINT ignored somewhere: finish it off
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        with contextlib.suppress(ProcessLookupError):  # SIGKILL leaves no one to reap the jobs
            os.killpg(proc.pid, signal.SIGKILL)
        flag.unlink(missing_ok=True)
        return paused, output()


def mount_available() -> bool:
    probe = Path(f"/tmp/lnpaper-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        ok = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)], capture_output=True
            ).returncode
            == 0
        )
        if ok:
            subprocess.run(["umount", str(probe)], check=True)
        return ok
    except FileNotFoundError:
        return False
    finally:
        probe.rmdir()


@contextlib.contextmanager
def read_only(path: Path):
    """``path`` read-only even for root: a read-only bind mount over itself."""
    subprocess.run(["mount", "--bind", str(path), str(path)], check=True)
    try:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(path)], check=True)
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)


@contextlib.contextmanager
def tiny_disk(path: Path, size: str):
    """A tmpfs of ``size`` mounted on ``path`` (existing content copied in)."""
    import shutil
    import tempfile

    keep = Path(tempfile.mkdtemp())
    if path.exists():
        shutil.copytree(path, keep, dirs_exist_ok=True)
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        shutil.copytree(keep, path, dirs_exist_ok=True)
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=True)
        shutil.rmtree(keep)
