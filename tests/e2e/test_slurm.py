"""The cluster profile on a real single-node Slurm: same bytes as a local build.

Starts slurmctld/slurmd/munged here (tests/slurm_cluster.py), runs the tiny config through
``--profile workflow/profiles/slurm`` and compares every Parquet file, table and figure with the
local tiny build byte for byte. Skipped, with the reason, where Slurm cannot start (no root, no
packages); ``.ci/run`` installs slurm-wlm and munge so that it runs in CI.
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest

import slurm_cluster
from conftest import SNAKEMAKE, copy_workflow

pytestmark = pytest.mark.slow

# Fast polling (the plugin's default waits 40 s before the first check) and squeue instead of
# sacct: this cluster has no accounting (SLURM.md pitfalls 2 and 8).
FAST = [
    "--slurm-status-command",
    "squeue",
    "--slurm-init-seconds-before-status-checks",
    "2",
    "--seconds-between-status-checks",
    "2",
    "--latency-wait",
    "5",
    "--jobs",
    "4",
    "--default-resources",
    "slurm_partition=debug",
    "mem_mb=500",
    "runtime=10",
]
# A slice of the build that exercises every kind of rule (data, experiments with 1 and 2
# threads, table, figure) in about 7 jobs: the whole tiny build is ~35 jobs, ~4 min on 2 cores.
TARGETS = [
    "results/tables/scale_behavior.csv",
    "results/tables/affine_grid.csv",
    "results/figures/affine_grid.png",
    "results/experiments/layernorm_stats/stats.parquet",
]


@pytest.fixture(scope="session")
def slurm(tmp_path_factory):
    reason = slurm_cluster.unavailable()
    if reason and os.environ.get("LNPAPER_REQUIRE_SLURM") == "1":
        pytest.fail(f"Slurm is required here (LNPAPER_REQUIRE_SLURM=1, set by .ci/run): {reason}")
    if reason:
        pytest.skip(reason)
    cluster = slurm_cluster.Cluster(tmp_path_factory.mktemp("slurm"))
    cluster.start()
    yield cluster
    cluster.stop()


def outputs(root: Path) -> dict[str, bytes]:
    """Every data, Parquet, table and figure file of a build (the runtime table holds timings)."""
    files = {}
    for sub in ("results/data", "results/experiments", "results/tables", "results/figures"):
        for p in sorted((root / sub).rglob("*")):
            if p.is_file() and not p.name.startswith("runtime."):
                files[str(p.relative_to(root))] = p.read_bytes()
    return files


def test_slurm_profile_gives_the_local_bytes(slurm, tiny_build, tmp_path):
    local, _ = tiny_build
    work = copy_workflow(tmp_path)
    # tracking off here: the profile's tracking.yaml points at a server this machine lacks
    (work / "notrack.yaml").write_text("mlflow:\n  enabled: false\n")
    # under timeout -k: a stuck executor plugin can ignore SIGTERM (SLURM.md pitfall 2)
    cmd = [
        "timeout",
        "-k",
        "10",
        "600",
        SNAKEMAKE,
        *TARGETS,
        "--profile",
        "workflow/profiles/slurm",
        "--configfile",
        "config.yaml",
        "tiny.yaml",
        "notrack.yaml",
        *FAST,
    ]
    proc = subprocess.run(cmd, cwd=work, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-4000:]
    remote, expected = outputs(work), outputs(local)
    assert set(TARGETS) <= set(remote) and set(remote) <= set(expected), sorted(remote)
    differ = [name for name in remote if remote[name] != expected[name]]
    assert not differ, f"differ from the local build: {differ}"
    # every job went through sbatch: one Slurm submission per finished job
    finished = re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", proc.stderr)
    submitted = re.findall(r"submitted with SLURM jobid \d+", proc.stderr)
    jobs = [r for r in finished if r != "all"]
    assert {"data", "matmul", "affine", "layernorm_stats", "table", "figure"} <= set(jobs), jobs
    assert len(submitted) == len(jobs)
