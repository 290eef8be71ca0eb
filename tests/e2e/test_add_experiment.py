"""README "How to add an experiment", done once for a toy experiment in a workflow copy: the
five files it names are enough for Snakemake to run the step, list its src/ files, and track it."""

from __future__ import annotations

import json
import re

import pandas as pd
import pytest

from conftest import copy_workflow, snakemake

pytestmark = pytest.mark.slow

TOY_MODULE = '''"""Toy experiment: seeded normal draws and their mean."""

from __future__ import annotations

import pandas as pd

from lnpaper.experiments.seeding import numpy_rng


def run(cfg, *, seed, inputs=None, device="cpu", progress=None):
    x = numpy_rng(seed, "toy").normal(cfg["loc"], 1.0, size=cfg["n"])
    return {"values": pd.DataFrame({"i": range(cfg["n"]), "x": x})}


def summary_metrics(frames):
    return {"mean": float(frames["values"]["x"].mean())}
'''

TOY_SCHEMA = """
  toy:
    type: object
    additionalProperties: false
    default: {}
    description: A toy experiment.
    properties:
      enabled: {type: boolean, default: true, description: Run this experiment.}
      n: {type: integer, minimum: 1, default: 5, description: Number of draws.}
      loc: {type: number, default: 0.0, description: Mean of the draws.}
"""

TOY_SCRIPT = '''"""Adapter: rule toy -> lnpaper.experiments.toy."""

from lnpaper.experiments import toy
from lnpaper.pipeline.step import run_experiment

run_experiment(snakemake, toy)
'''

TOY_RULE = """

rule toy:
    input:
        flat_files(no_files),
        src=src("toy.py"),
    output:
        **experiment_outputs("toy"),
        manifest=step_files("toy")["manifest"],
    log:
        step_files("toy")["log"],
    benchmark:
        step_files("toy")["benchmark"]
    conda:
        "../../environment.yml"
    params:
        toy=config["toy"],
        seed=config["seed"],
        files=no_files,
    script:
        "../scripts/toy.py"
"""


def add_toy(work):
    """The README's steps, in its order."""
    (work / "src/lnpaper/experiments/toy.py").write_text(TOY_MODULE)  # 1. the experiment
    schema = work / "workflow/schemas/config.schema.yaml"  # 2. its config section
    schema.write_text(schema.read_text().rstrip("\n") + "\n" + TOY_SCHEMA)
    with open(work / "config.yaml", "a") as fh:
        fh.write("\ntoy:\n  n: 5\n  loc: 2.0\n")
    registry = work / "src/lnpaper/pipeline/registry.py"  # 3. its outputs in the registry
    text = registry.read_text()
    text, count = re.subn(
        r"(EXPERIMENTS: dict\[str, list\[str\]\] = \{\n)", r'\1    "toy": ["values"],\n', text
    )
    assert count == 1
    registry.write_text(text)
    (work / "workflow/scripts/toy.py").write_text(TOY_SCRIPT)  # 4. the adapter
    with open(work / "workflow/rules/experiments.smk", "a") as fh:  # 5. the rule
        fh.write(TOY_RULE)


def test_a_toy_experiment_added_by_the_readme_recipe_runs_and_is_tracked(tmp_path):
    work = copy_workflow(tmp_path)
    add_toy(work)
    dry = snakemake(work, "-n", "--cores", "2", "--configfile", "tiny.yaml")
    assert re.search(r"^toy\s+1$", dry.stdout, re.M), "the full build schedules the toy step"
    target = "results/experiments/toy/values.parquet"
    snakemake(work, target, "--cores", "2", "--configfile", "tiny.yaml")
    values = pd.read_parquet(work / target)
    assert len(values) == 5 and abs(values["x"].mean() - 2.0) < 2.0  # loc 2, 5 draws of N(2, 1)
    manifest = json.loads((work / "results/manifests/toy.json").read_text())
    assert manifest["metrics"]["mean"] == pytest.approx(values["x"].mean())
    assert manifest["params"]["toy.loc"] == 2.0
    # the rule lists exactly the src/ files the toy code can import
    summary = snakemake(work, target, "--summary", "--cores", "1", "--configfile", "tiny.yaml")
    assert "toy" in summary.stdout
    from lnpaper.pipeline.deps import script_files

    files = script_files(work / "workflow/scripts/toy.py", root=work)
    assert "src/lnpaper/experiments/toy.py" in files
    assert "src/lnpaper/experiments/seeding.py" in files
    assert not any("report/" in f or "tracking/" in f for f in files)
