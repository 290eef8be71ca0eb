"""A finished build's cost as a schedule (``lnpaper bench``): total CPU, the largest job's share,
the critical path and the ideal wall time on 2, 4, 8 and 16 cores.

The jobs and what each reads come from Snakemake's own DAG (a forced dry run, as
``lnpaper.tools.what_reruns`` reads it); each job's CPU seconds from its Snakemake benchmark file
(start-up and imports included) or, for a job without one (the rules the results cache serves),
from the timing of its process its manifest records (start-up and imports included too).
A job of ``t`` declared threads runs its CPU seconds on ``t`` cores at once (so in ``cpu / t``
seconds). The critical path is the longest chain of dependent jobs: no number of cores builds
faster. The ideal wall time at ``c`` cores schedules the jobs greedily, the job with the longest
chain still ahead of it first, with no start-up or scheduler overhead: the best a machine with
``c`` cores can hope for from these jobs.
"""

from __future__ import annotations

import heapq
import json
from pathlib import Path

CORES = (2, 4, 8, 16)


def parents_of(jobs) -> dict[str, set[str]]:
    """step -> the steps that write its inputs (``what_reruns.Job`` list)."""
    writer = {p: j.step for j in jobs for p in j.writes}
    return {j.step: {writer[p] for p in j.files.get("input", []) if p in writer} for j in jobs}


def _durations(cpu: dict[str, float], threads: dict[str, int], cores: int) -> dict[str, float]:
    return {s: c / min(max(threads.get(s, 1), 1), cores) for s, c in cpu.items()}


def chain_ahead(dur: dict[str, float], parents: dict[str, set[str]]) -> dict[str, float]:
    """Each job's own time plus the longest chain of jobs that wait for it."""
    children: dict[str, set[str]] = {s: set() for s in dur}
    for step, ups in parents.items():
        for up in ups:
            children.setdefault(up, set()).add(step)
    out: dict[str, float] = {}

    def ahead(step: str) -> float:
        if step not in out:
            out[step] = dur[step] + max((ahead(c) for c in children[step]), default=0.0)
        return out[step]

    for step in dur:
        ahead(step)
    return out


def critical_path(
    cpu: dict[str, float], parents: dict[str, set[str]], threads: dict[str, int] | None = None
) -> tuple[float, list[str]]:
    """Length (s) and steps of the longest chain of dependent jobs, on unlimited cores."""
    dur = _durations(cpu, threads or {}, 10**6)
    ahead = chain_ahead(dur, parents)
    children: dict[str, list[str]] = {s: [] for s in dur}
    for step, ups in parents.items():
        for up in ups:
            children.setdefault(up, []).append(step)
    roots = [s for s in dur if not parents.get(s)]
    step = max(roots, key=lambda s: (ahead[s], s))
    path = [step]
    while children[step]:
        step = max(children[step], key=lambda s: (ahead[s], s))
        path.append(step)
    return max(ahead[s] for s in roots), path


def ideal_wall(
    cpu: dict[str, float],
    parents: dict[str, set[str]],
    cores: int,
    threads: dict[str, int] | None = None,
) -> float:
    """The wall time of a greedy schedule on ``cores`` cores (longest chain ahead first)."""
    threads = threads or {}
    dur = _durations(cpu, threads, cores)
    rank = chain_ahead(dur, parents)
    need = {s: min(max(threads.get(s, 1), 1), cores) for s in dur}
    waiting = set(dur)
    done: set[str] = set()
    running: list[tuple[float, str]] = []
    now, free = 0.0, cores
    while waiting or running:
        ready = sorted(
            (s for s in waiting if parents.get(s, set()) <= done), key=lambda s: (-rank[s], s)
        )
        for step in ready:
            if need[step] <= free:
                free -= need[step]
                waiting.discard(step)
                heapq.heappush(running, (now + dur[step], step))
        if not running:
            raise ValueError(f"jobs wait for jobs that never run: {sorted(waiting)[:5]}")
        now, step = heapq.heappop(running)
        free += need[step]
        done.add(step)
    return now


def summarise(
    cpu: dict[str, float], parents: dict[str, set[str]], threads: dict[str, int] | None = None
) -> dict:
    total = sum(cpu.values())
    largest = max(cpu, key=lambda s: (cpu[s], s))
    length, path = critical_path(cpu, parents, threads)
    return {
        "jobs": len(cpu),
        "total_cpu_s": total,
        "largest_job": largest,
        "largest_share": cpu[largest] / total if total else 0.0,
        "critical_path_s": length,
        "critical_path": path,
        "ideal_wall_s": {str(c): ideal_wall(cpu, parents, c, threads) for c in CORES},
    }


def job_cpu_seconds(workdir: Path, steps: list[str]) -> dict[str, float]:
    """Each step's CPU seconds: its benchmark file, else its manifest's timing, else 0."""
    from lnpaper.pipeline import paths
    from lnpaper.report.runtime_table import read_benchmark

    out = {}
    for step in steps:
        bench = Path(workdir) / paths.benchmark_file(step)
        manifest = Path(workdir) / paths.manifest_file(step)
        if bench.exists():
            out[step] = read_benchmark(bench)["cpu_s"]
        elif manifest.exists():  # a cached rule's job times its own process
            timing = json.loads(manifest.read_text()).get("timing", {})
            out[step] = float(timing.get("process_cpu_s", timing.get("cpu_s", 0.0)))
        else:
            out[step] = 0.0
    return out


def declared_threads(cfg: dict) -> dict[str, int]:
    """step -> threads its rule declares (the experiments' declarations; other rules: 1)."""
    from lnpaper.pipeline import registry

    out = {}
    for exp in registry.enabled_declarations(cfg):
        for step in exp.job_steps(cfg[exp.section]):
            out[step] = exp.threads
    return out


def build_schedule(workdir: Path) -> dict:
    """``summarise`` of the build in ``workdir`` (built with its own config.yaml)."""
    from lnpaper.pipeline.config import load_yaml, validate
    from lnpaper.tools import what_reruns

    workdir = Path(workdir)
    jobs = what_reruns.parse_dry_run(what_reruns.dry_run(workdir))
    parents = parents_of(jobs)
    cpu = job_cpu_seconds(workdir, list(parents))
    cfg = validate(
        load_yaml(workdir / "config.yaml"),
        load_yaml(workdir / "workflow/schemas/config.schema.yaml"),
    )
    return summarise(cpu, parents, declared_threads(cfg))


def table_schedule(s: dict) -> str:
    walls = " / ".join(f"{s['ideal_wall_s'][str(c)]:.1f}" for c in CORES)
    return (
        "| measure | value |\n|---|---|\n"
        f"| jobs | {s['jobs']} |\n"
        f"| total CPU (s) | {s['total_cpu_s']:.1f} |\n"
        f"| largest job: {s['largest_job']} (share of total CPU) | "
        f"{100 * s['largest_share']:.1f} % |\n"
        f"| critical path (s) | {s['critical_path_s']:.1f} |\n"
        f"| ideal wall at {' / '.join(map(str, CORES))} cores (s) | {walls} |\n"
        f"\nCritical path: {' -> '.join(s['critical_path'])}.\n"
    )
