"""``python -m lnpaper.tools.what_reruns``: the page ``docs/what-reruns.md``, what an edit reruns,
read from Snakemake's own DAG of the default config.

One dry run with every job forced (``snakemake -n --forceall``) lists each job with its input,
output, log and benchmark files; a job depends on the jobs that write its inputs. Editing a file
reruns the jobs that list it as input and every job downstream of them (Snakemake's ``mtime``
rerun trigger and the changed outputs they write). A parameter of an experiment's config section
reruns that experiment's jobs, those that write under ``results/experiments/<section>/`` (each job
gets only its own config slice, so the ``params`` trigger fires there), and everything downstream.
``tests/tools/test_what_reruns.py`` regenerates the page and fails when it differs.
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

FIELDS = ("input", "output", "log", "benchmark")
HEADER = """# What an edit reruns

Generated from Snakemake's DAG of the default `config.yaml` by
`python -m lnpaper.tools.what_reruns --write docs/what-reruns.md` (do not edit by hand;
`tests/tools/test_what_reruns.py` regenerates it and fails when it differs). A job is named by its
step (`results/manifests/<step>.json`); "every table (14)" means every job of that rule.

Editing a file reruns the jobs that list it as input (each rule lists the `src/` files its script
can import, `lnpaper.pipeline.deps`) and everything built from them; a parameter of one
experiment's section reruns that experiment and everything built from it. The real reruns of one
edit per layer are checked with `snakemake -n` on a built copy by `tests/e2e/test_edit_reruns.py`.
"""


@dataclass
class Job:
    rule: str
    step: str
    files: dict[str, list[str]] = field(default_factory=dict)

    @property
    def writes(self) -> set[str]:
        return set(self.files.get("output", []) + self.files.get("benchmark", []))


def parse_dry_run(text: str) -> list[Job]:
    """The jobs of a ``snakemake -n`` listing (``rule NAME:`` blocks with their file lines); a job
    is named by the stem of its log file (the target rule ``all`` has none and is left out)."""
    jobs, current = [], None
    for line in text.splitlines():
        head = re.match(r"^(?:local)?rule (\w+):$", line)
        if head:
            current = Job(head.group(1), "")
            jobs.append(current)
            continue
        item = re.match(r"^    (\w+): (.*)$", line)
        if current is not None and item and item.group(1) in FIELDS:
            current.files[item.group(1)] = [p for p in item.group(2).split(", ") if p]
    for job in jobs:
        logs = job.files.get("log", [])
        job.step = Path(logs[0]).name.split(".")[0] if logs else ""
    return [j for j in jobs if j.step]


def downstream(jobs: list[Job], start: set[str]) -> set[str]:
    """``start`` (steps) and every step that reads, directly or not, what they write."""
    done, todo = set(start), list(start)
    by_step = {j.step: j for j in jobs}
    while todo:
        written = by_step[todo.pop()].writes
        for job in jobs:
            if job.step not in done and written & set(job.files.get("input", [])):
                done.add(job.step)
                todo.append(job.step)
    return done


def reruns_of_file(jobs: list[Job], path: str) -> set[str]:
    return downstream(jobs, {j.step for j in jobs if path in j.files.get("input", [])})


def reruns_of_section(jobs: list[Job], section: str) -> set[str]:
    prefix = f"results/experiments/{section}/"
    return downstream(jobs, {j.step for j in jobs if any(p.startswith(prefix) for p in j.writes)})


def experiment_sections(jobs: list[Job]) -> list[str]:
    return sorted(
        {p.split("/")[2] for j in jobs for p in j.writes if p.startswith("results/experiments/")}
    )


def depths(jobs: list[Job]) -> dict[str, int]:
    """Each step's longest chain of upstream jobs (0 for a job that reads no job's output)."""
    writer = {p: j.step for j in jobs for p in j.writes}
    parents = {j.step: {writer[p] for p in j.files.get("input", []) if p in writer} for j in jobs}
    out: dict[str, int] = {}

    def depth(step: str) -> int:
        if step not in out:
            out[step] = 1 + max((depth(p) for p in parents[step]), default=-1)
        return out[step]

    for job in jobs:
        depth(job.step)
    return out


def describe(jobs: list[Job], steps: set[str]) -> str:
    """The steps of a rerun, rule by rule in the order the stages run (a rule's place is its
    deepest job): a rule of one job by its step,
    a rule all of whose jobs rerun as "every RULE (N)", otherwise the steps it reruns."""
    if not steps:
        return "no job"
    depth = depths(jobs)
    rules: dict[str, list[Job]] = {}
    for job in jobs:
        rules.setdefault(job.rule, []).append(job)
    last = {rule: max(depth[j.step] for j in members) for rule, members in rules.items()}
    parts = []
    for rule in sorted(rules, key=lambda r: (last[r], r)):
        members = rules[rule]
        hit = sorted(j.step for j in members if j.step in steps)
        if not hit:
            continue
        if len(members) == 1:
            parts.append(hit[0])
        elif len(hit) == len(members):
            parts.append(f"every {rule} ({len(members)})")
        else:
            parts.append(", ".join(hit))
    return ", ".join(parts)


def candidate_files(root: Path) -> list[str]:
    """The files a user edits: the package's modules and data files, the manuscript text."""
    found = [*root.glob("src/lnpaper/**/*.py"), *root.glob("src/lnpaper/**/*.yaml")]
    found += [p for p in root.glob("manuscript/*") if p.is_file()]
    return sorted(str(p.relative_to(root)) for p in found if "__pycache__" not in p.parts)


def page(jobs: list[Job], files: list[str]) -> str:
    """The Markdown page: files grouped by what they rerun, then config sections, then the files
    no job reads."""
    groups: dict[str, list[str]] = {}
    untouched = []
    for path in files:
        steps = reruns_of_file(jobs, path)
        if steps:
            groups.setdefault(describe(jobs, steps), []).append(path)
        else:
            untouched.append(path)
    lines = [
        HEADER,
        "## Editing a file",
        "",
        "| edit (any change to) | jobs that rerun |",
        "|---|---|",
    ]
    for what, paths in sorted(groups.items(), key=lambda kv: (len(kv[0]), kv[0])):
        lines.append(f"| {', '.join(f'`{p}`' for p in paths)} | {what} |")
    lines += [
        "",
        "## Changing a parameter",
        "",
        "| a parameter of | jobs that rerun |",
        "|---|---|",
    ]
    for section in experiment_sections(jobs):
        lines.append(f"| `{section}:` | {describe(jobs, reruns_of_section(jobs, section))} |")
    lines += ["", "## Files no job reads (an edit reruns nothing)", ""]
    lines += [
        "The Snakefile reads some of them when it starts, the `lnpaper` command the others.",
        "",
    ]
    lines += [", ".join(f"`{p}`" for p in untouched) or "none"]
    return "\n".join(lines) + "\n"


def dry_run(workdir: Path) -> str:
    """``snakemake -n --forceall`` in ``workdir``, with the job listing on (the default profile
    hides it) and no lock (nothing is written)."""
    cmd = [sys.executable, "-m", "snakemake", "-n", "--forceall", "--nolock"]
    cmd += ["--cores", "4", "--quiet", "progress"]
    proc = subprocess.run(cmd, cwd=workdir, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise RuntimeError(f"snakemake -n failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return proc.stdout + proc.stderr


def generate(workdir: Path) -> str:
    return page(parse_dry_run(dry_run(workdir)), candidate_files(workdir))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workdir", default=".", help="the workflow's root (default: here)")
    parser.add_argument("--write", help="write the page to this file (default: print it)")
    args = parser.parse_args(argv)
    text = generate(Path(args.workdir))
    if args.write:
        Path(args.write).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
