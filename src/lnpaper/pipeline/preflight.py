"""Checks run when the workflow starts, before any job: can results/ be written at all?

A read-only or full results/ would otherwise show up as a failed job with an OS traceback (or as
Snakemake's "write-protected output" error). Checked once at parse time, they stop the run with
one line that says what to do, and nothing is touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from lnpaper.experiments.spec import PROCESS_BASE_BYTES
from lnpaper.pipeline import registry
from lnpaper.pipeline.kernels import replicates as replicates_of

MIN_FREE_MB = float(os.environ.get("LNPAPER_MIN_FREE_MB", "50"))  # a full build writes ~20 MB

# Snakemake invocations that write no output: no check (a dry run on a read-only copy is fine).
READ_ONLY_FLAGS = {
    "-n",
    "--dry-run",
    "--dryrun",
    "--lint",
    "--unlock",
    "--summary",
    "-S",
    "--detailed-summary",
    "-D",
    "--list",
    "-l",
    "--dag",
    "--rulegraph",
    "--filegraph",
    "--list-changes",
    "--lc",
    "--cleanup-metadata",
    "--report",
    "--list-rules",
    "--list-target-rules",
    "--lt",
    "--containerize",
    "--archive",
}


def export_src_for_jobs(basedir: str | os.PathLike) -> None:
    """Put the workflow's src/ first on PYTHONPATH: jobs (script processes) inherit it, so they run
    the src/ files the rules list as inputs, even where another checkout is pip-installed."""
    src = str(Path(basedir) / "src")
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *rest])


def writes_outputs(argv: list[str]) -> bool:
    for arg in argv[1:]:
        if arg in READ_ONLY_FLAGS or arg.split("=")[0] in READ_ONLY_FLAGS:
            return False
        if arg.startswith("-") and not arg.startswith("--") and "n" in arg[1:]:
            return False  # combined short flags such as -np
    return True


DRY_RUN_FLAGS = {"-n", "--dry-run", "--dryrun"}


def shows_estimate(argv: list[str]) -> bool:
    """Whether the build estimate is worth printing: for a build and for a dry run (which asks
    what a build would do), not for commands that build nothing (--unlock, --lint, --report...)."""
    for arg in argv[1:]:
        flag = arg.split("=")[0]
        if flag in READ_ONLY_FLAGS and flag not in DRY_RUN_FLAGS:
            return False
    return True


def check_results_dir(
    results: str | os.PathLike = "results", min_free_mb: float = MIN_FREE_MB
) -> str | None:
    """None if ``results`` (or the folder it will be created in) takes writes; else one line."""
    results = Path(results)
    probe = results if results.exists() else results.parent.resolve()
    try:
        fd, name = tempfile.mkstemp(prefix=".lnpaper-probe.", dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return (
            f"{results}/ is not writable ({exc.strerror}); make it writable (remount read-write, "
            f"chmod u+w, chattr -i) or run from a writable copy, then rerun snakemake. "
            f"Nothing was changed"
        )
    free_mb = shutil.disk_usage(probe).free / 2**20
    if free_mb < min_free_mb:
        return (
            f"only {free_mb:.1f} MB free under {results}/ (a build needs about "
            f"{min_free_mb:.0f} MB; set LNPAPER_MIN_FREE_MB to change this check); free space or "
            f"move {results}/ to a bigger disk, then rerun snakemake. Nothing was changed"
        )
    return None


# ---------------------------------------------------------------- size of the build
# A well-typed config can still ask for more memory than the machine has (matmul at n = 10^5
# needs 80 GB per float64 matrix); the OOM killer then ends the job with no message. These
# estimates are upper bounds from the shapes in the config, calibrated on the default build
# (docs/performance.md); they refuse a step that cannot fit and print the size of every build.
# Each experiment declares its own estimates (lnpaper.experiments.spec); the data step's is here.
JOB_OVERHEAD_CPU_S = 2.0  # interpreter start, imports, manifest (docs/performance.md)


def _shape_entries(shapes) -> int:
    total = 0
    for shape in shapes:
        rows, cols = (int(v) for v in str(shape).split("x"))
        total += rows * cols
    return total


def step_memory_bytes(cfg: dict) -> dict[str, int]:
    """Estimated peak resident memory (bytes) of each enabled compute step under ``cfg``: the
    data step and each experiment's job (its part, for an experiment split into parts)."""
    data = cfg.get("data", {})
    entries = data.get("n_seeds", 0) * _shape_entries(data.get("shapes", []))
    est = {"data": PROCESS_BASE_BYTES + 100 * entries}  # torch + numpy copies + long frame
    for exp in registry.enabled_declarations(cfg):
        section = cfg.get(exp.section, {})
        if section:
            reads = entries if "matrices" in exp.reads else 0
            est[exp.job_rule] = exp.peak_bytes(section, reads)
    return est


def seed_jobs(cfg: dict) -> int:
    """Jobs of one seed's data and experiments (the base build's, and each replicate's)."""
    return 1 + sum(exp.jobs(cfg.get(exp.section, {})) for exp in registry.enabled_declarations(cfg))


def estimate_jobs(cfg: dict) -> int:
    """Jobs a clean build runs under ``cfg`` (the Snakemake job count, target rule included);
    each replicate (seed or kernel path) adds its data, experiments and claims audit."""
    replicates = len(replicates_of(cfg))
    jobs = (1 + replicates) * seed_jobs(cfg)
    jobs += replicates if registry.claims_sources(cfg) else 0
    tables = registry.enabled_tables(cfg)
    jobs += len(tables) + len(registry.enabled_figures(cfg))
    jobs += 3  # numbers, runtime, manuscript
    jobs += 1 if cfg.get("mlflow", {}).get("enabled", True) else 0
    return jobs + 1  # the target rule `all`


def estimate_cpu_seconds(cfg: dict) -> float:
    """Rough CPU seconds of a clean build: each job's start-up plus each experiment's declared
    compute (work counts times rates fitted to the default build)."""
    cpu = JOB_OVERHEAD_CPU_S * estimate_jobs(cfg)
    seeds = 1 + len(replicates_of(cfg))  # every replicate runs every experiment
    for exp in registry.enabled_declarations(cfg):
        section = cfg.get(exp.section, {})
        if section:
            cpu += seeds * exp.cpu_seconds(section)
    return cpu


def machine_memory_bytes() -> int | None:
    """Memory this process may use: the smaller of RAM and a cgroup (container, Slurm) limit.
    ``LNPAPER_MEMORY_MB`` overrides it (to plan a build for another machine, and for tests)."""
    if os.environ.get("LNPAPER_MEMORY_MB"):
        return int(float(os.environ["LNPAPER_MEMORY_MB"]) * 2**20)
    limits = []
    try:
        limits.append(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, AttributeError):
        pass
    for cgroup in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(cgroup).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < 2**60:
            limits.append(int(text))
    return min(limits) if limits else None


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB" if n >= 2**30 else f"{n / 2**20:.0f} MB"


def check_memory(cfg: dict, memory: int | None = None) -> str | None:
    """None if every step's estimated peak fits in ``memory`` (default: this machine); else one
    line naming the step, its estimate and the machine's memory."""
    memory = machine_memory_bytes() if memory is None else memory
    if not memory:
        return None
    for step, need in sorted(step_memory_bytes(cfg).items(), key=lambda kv: -kv[1]):
        if need > memory:
            return (
                f"step {step} needs about {_gb(need)} of memory at its peak (estimated from the "
                f"{step.removesuffix('_part')} section of the config) but this machine has "
                f"{_gb(memory)}; lower its sizes, seeds or steps, or run on a bigger machine "
                f"(LNPAPER_MEMORY_MB overrides the detected memory). Nothing was changed"
            )
    return None


def build_summary(cfg: dict, memory: int | None = None) -> str:
    """One line printed at start: estimated jobs, CPU time and the largest step's memory."""
    memory = machine_memory_bytes() if memory is None else memory
    est = step_memory_bytes(cfg)
    step, need = max(est.items(), key=lambda kv: kv[1])
    cpu = estimate_cpu_seconds(cfg)
    cpu_text = f"{cpu:.0f} s" if cpu < 600 else f"{cpu / 60:.0f} min"
    have = f" of {_gb(memory)}" if memory else ""
    return (
        f"build estimate: about {estimate_jobs(cfg)} jobs for a clean build, {cpu_text} of CPU "
        f"time, largest step {step} at about {_gb(need)}{have} of memory"
    )
