"""docs/adding-an-experiment.md, done once for a toy experiment in a copy of the lean build: its
module, its declaration, one registry entry, its config section and schema fragment are enough
for it to get a rule, run, be counted by preflight, be tracked as a step with its condition runs,
and be timed by the benchmark's compute-only replay. No rule, adapter or pipeline code is
written for it."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys

import pandas as pd
import pytest

from conftest import snakemake

pytestmark = pytest.mark.slow

TOY_MODULE = '''"""Toy experiment: seeded normal draws in two groups."""

from __future__ import annotations

import pandas as pd

from lnpaper.experiments.seeding import numpy_rng


def run(cfg, *, seed, inputs=None, device="cpu", progress=None):
    x = numpy_rng(seed, "toy").normal(cfg["loc"], 1.0, size=2 * cfg["n"])
    group = ["a"] * cfg["n"] + ["b"] * cfg["n"]
    return {"values": pd.DataFrame({"group": group, "i": [*range(cfg["n"])] * 2, "x": x})}


def summary_metrics(frames):
    return {"mean": float(frames["values"]["x"].mean())}


# one MLflow child run per group, x along i as its step series
CONDITIONS = {"output": "values", "keys": ["group"], "step": "i", "values": ["x"]}
'''

TOY_DECLARATION = '''"""Declaration of the toy experiment (computation: toy.py)."""

from lnpaper.experiments.spec import Experiment


def memory_bytes(cfg, data_entries):
    return 10**6 * cfg["n"]


EXPERIMENT = Experiment(id="toy", outputs=("values",), memory_bytes=memory_bytes)
'''

TOY_SCHEMA = """
  toy:
    type: object
    additionalProperties: false
    default: {}
    description: A toy experiment.
    properties:
      enabled: {type: boolean, default: true, description: Run this experiment.}
      n: {type: integer, minimum: 1, default: 5, description: Number of draws per group.}
      loc: {type: number, default: 0.0, description: Mean of the draws.}
"""


def add_toy(work):
    """The recipe's steps, in its order."""
    experiments = work / "src/lnpaper/experiments"
    (experiments / "toy.py").write_text(TOY_MODULE)  # 1. the experiment and its declaration
    (experiments / "toy_spec.py").write_text(TOY_DECLARATION)
    registry = work / "src/lnpaper/pipeline/registry.py"  # 2. one registry entry
    text, count = re.subn(
        r"(EXPERIMENT_MODULES = \[\n)",
        r'\1    "lnpaper.experiments.toy_spec",\n',
        registry.read_text(),
    )
    assert count == 1
    registry.write_text(text)
    schema = work / "workflow/schemas/config.schema.yaml"  # 3. its config section and schema
    schema.write_text(schema.read_text().rstrip("\n") + "\n" + TOY_SCHEMA)
    with open(work / "config.yaml", "a") as fh:
        fh.write("\ntoy:\n  n: 5\n  loc: 2.0\n")


def in_copy(work, code: str) -> str:
    """Run Python in the copy's own src/ (as its build does) and return what it prints."""
    env = {**os.environ, "PYTHONPATH": str(work / "src")}
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=work, env=env, capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return proc.stdout


def estimated_jobs(proc) -> int:
    return int(re.search(r"build estimate: about (\d+) jobs", proc.stderr).group(1))


@pytest.fixture(scope="module")
def toy_build(lean_build, tmp_path_factory):
    """The lean build's copy with the toy added, then built again (the toy and what reads every
    experiment: numbers, runtime, tracking, manuscript)."""
    work = tmp_path_factory.mktemp("toy") / "work"
    shutil.copytree(lean_build[0], work, symlinks=True)
    add_toy(work)
    return work, snakemake(work, "--configfile", "lean.yaml")


def test_the_toy_gets_a_rule_and_runs(toy_build):
    work, proc = toy_build
    assert re.search(r"Finished jobid: \d+ \(Rule: toy\)", proc.stdout + proc.stderr)
    values = pd.read_parquet(work / "results/experiments/toy/values.parquet")
    assert len(values) == 10 and abs(values["x"].mean() - 2.0) < 2.0  # loc 2, 10 draws of N(2, 1)
    manifest = json.loads((work / "results/manifests/toy.json").read_text())
    assert manifest["metrics"]["mean"] == pytest.approx(values["x"].mean())
    assert manifest["params"]["toy.loc"] == 2.0
    # the rule lists exactly the src/ files the toy code can import
    summary = snakemake(work, "--summary", "--cores", "1", "--configfile", "lean.yaml")
    assert "results/experiments/toy/values.parquet" in summary.stdout
    files = in_copy(
        work,
        "from lnpaper.pipeline.deps import module_files\n"
        "print(module_files('experiments.toy', 'experiments.toy_spec', root='.'))",
    )
    assert "src/lnpaper/experiments/toy.py" in files and "experiments/seeding.py" in files
    assert "report/" not in files and "tracking/" not in files


def test_preflight_counts_the_toy(lean_build, toy_build):
    work, proc = toy_build
    assert estimated_jobs(proc) == estimated_jobs(lean_build[1]) + 1
    memory = in_copy(
        work,
        "from lnpaper.pipeline import preflight\n"
        "from lnpaper.pipeline.config import load_config\n"
        "cfg = load_config('config.yaml', 'workflow/schemas/config.schema.yaml')\n"
        "print(preflight.step_memory_bytes(cfg)['toy'])",
    )
    assert int(memory) == 400 * 2**20 + 5 * 10**6  # the process base and the toy's estimate


def test_the_toy_is_a_tracked_step_with_its_condition_runs(toy_build):
    work, _ = toy_build
    with sqlite3.connect(work / "mlflow.db") as con:
        kinds = con.execute(
            "select k.value, count(*) from tags s join tags k on s.run_uuid = k.run_uuid "
            "where s.key = 'lnpaper.step' and s.value = 'toy' and k.key = 'lnpaper.kind' "
            "group by k.value"
        ).fetchall()
    assert dict(kinds) == {"step": 1, "condition": 2}  # groups a and b


def test_the_benchmark_replays_the_toy(toy_build, tmp_path):
    work, _ = toy_build
    # the replay reads config.yaml: the toy alone (and the data step) keeps it short
    bench = tmp_path / "bench"
    bench.mkdir()
    (bench / "workflow").symlink_to(work / "workflow")
    sections = in_copy(work, "from lnpaper.pipeline import registry; print(*registry.EXPERIMENTS)")
    off = "".join(f"{e}:\n  enabled: false\n" for e in sections.split() if e != "toy")
    (bench / "config.yaml").write_text("toy:\n  n: 3\n" + off)
    times = in_copy(
        work,
        "import json\nfrom lnpaper.tools.bench.compute import compute_only\n"
        f"print(json.dumps(compute_only({str(bench)!r}, 1)))",
    )
    assert set(json.loads(times.splitlines()[-1])) == {"data", "toy"}
