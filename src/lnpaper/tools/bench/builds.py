"""Timing of whole builds in throw-away copies of the workflow: a clean build, a no-change
rerun and a one-parameter edit (``lnpaper bench``), and the helpers that make and run the copies."""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from lnpaper.pipeline import paths
from lnpaper.tools.bench.schedule import build_schedule

ROOT = Path(__file__).resolve().parents[4]  # the checkout: src/lnpaper/tools/bench/builds.py


NO_CHANGE_RUNS = 5  # no-change reruns per round: their minimum and median are reported

WORKFLOW_FILES = ("Snakefile", "config.yaml", "environment.yml", "pyproject.toml")


WORKFLOW_DIRS = ("workflow", "src", "manuscript")


def copy_workflow(dest: Path, root: Path = ROOT) -> Path:
    """The workflow as a fresh clone has it (no results, no MLflow store)."""
    for name in WORKFLOW_FILES:
        shutil.copy2(root / name, dest / name)
    for name in WORKFLOW_DIRS:
        if (root / name).exists():
            shutil.copytree(
                root / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info")
            )
    return dest


def default_config() -> dict:
    """The checkout's config.yaml, read as the Snakefile reads it."""
    from lnpaper.pipeline.config import load_yaml

    return load_yaml(ROOT / "config.yaml")


def snakemake_exe() -> str:
    return str(Path(sys.executable).with_name("snakemake"))


def run_snakemake(cwd: Path, *args: str) -> tuple[float, list[str]]:
    """Wall time and the rules of the jobs that ran (``all`` left out)."""
    t0 = time.perf_counter()
    proc = subprocess.run(
        [snakemake_exe(), "--cores", "4", *args], cwd=cwd, capture_output=True, text=True
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake failed in {cwd}:\n{proc.stderr[-3000:]}")
    rules = re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", proc.stderr + proc.stdout)
    return wall, [r for r in rules if r != "all"]


def benchmark_seconds(path: Path) -> float:
    from lnpaper.report.runtime_table import read_benchmark

    return read_benchmark(path)["wall_s"] if path.exists() else float("nan")


def edit_gamma(workdir: Path) -> None:
    """Change one gamma value of config.yaml (the last one, 3.0 -> 4.0 by default)."""
    import yaml

    cfg_path = workdir / "config.yaml"
    cfg = yaml.safe_load(cfg_path.read_text())
    gammas = list(cfg["affine"]["gamma"])
    gammas[-1] = float(gammas[-1]) + 1.0
    text = cfg_path.read_text()
    new = re.sub(
        r"(?m)^(\s+gamma:\s*).*$", lambda m: m.group(1) + json.dumps(gammas), text, count=1
    )
    cfg_path.write_text(new)


def in_subprocess(fn_name: str, **kwargs) -> dict:
    """Run ``fn_name`` ("module.function" of this package, e.g. "compute.compute_only") in a
    fresh interpreter; its result and wall time."""
    module, fn = fn_name.split(".")
    code = (
        f"import json,sys; from lnpaper.tools.bench import {module} as b; "
        f"r = b.{fn}(**json.loads(sys.argv[1])); print('RESULT' + json.dumps(r))"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    t0 = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, "-c", code, json.dumps(kwargs, default=str)],
        capture_output=True,
        text=True,
        env=env,
        cwd=kwargs.get("workdir", None),
    )
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"{fn_name} failed:\n{proc.stderr[-3000:]}")
    line = [ln for ln in proc.stdout.splitlines() if ln.startswith("RESULT")][-1]
    return {"wall": wall, "result": json.loads(line[len("RESULT") :])}


def build_round(threads: int, log) -> dict:
    """One round in a fresh copy: full build (and its schedule), no-change reruns, gamma edit,
    compute only."""
    with tempfile.TemporaryDirectory(prefix="lnpaper-bench-") as tmp:
        work = copy_workflow(Path(tmp))
        full, jobs = run_snakemake(work)
        log(f"  full build {full:.1f} s, {len(jobs)} jobs")
        track = benchmark_seconds(work / paths.benchmark_file("track"))
        sched = build_schedule(work)
        log(
            f"  total CPU {sched['total_cpu_s']:.1f} s, critical path "
            f"{sched['critical_path_s']:.1f} s, largest job {sched['largest_job']} "
            f"{100 * sched['largest_share']:.1f} %"
        )
        reruns = [run_snakemake(work) for _ in range(NO_CHANGE_RUNS)]
        rerun, rerun_jobs = statistics.median(w for w, _ in reruns), reruns[0][1]
        log(
            f"  no-change rerun min {min(w for w, _ in reruns):.2f} s, median {rerun:.2f} s of "
            f"{NO_CHANGE_RUNS}, {len(rerun_jobs)} jobs"
        )
        edit_gamma(work)
        edit, edit_jobs = run_snakemake(work)
        log(f"  gamma edit {edit:.1f} s: {' '.join(edit_jobs)}")
        compute = in_subprocess("compute.compute_only", workdir=str(work), threads=threads)
        log(f"  compute only {compute['wall']:.1f} s")
    return {
        "full": full,
        "jobs": len(jobs),
        "track": track,
        "rerun": rerun,
        "rerun_min": min(w for w, _ in reruns),
        "rerun_jobs": len(rerun_jobs),
        "schedule": sched,
        "edit": edit,
        "edit_jobs": sorted(edit_jobs),
        "compute": compute["wall"],
        "compute_steps": compute["result"],
    }
