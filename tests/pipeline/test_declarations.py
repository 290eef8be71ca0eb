"""The experiments' declarations (lnpaper.experiments.spec) and what the pipeline derives from
them: outputs, jobs, estimates and config checks, read through the registry."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from lnpaper.experiments.spec import PROCESS_BASE_BYTES, Experiment, Split
from lnpaper.pipeline import preflight, registry
from lnpaper.pipeline.config import ConfigError, load_yaml, validate
from lnpaper.pipeline.step import experiment_of_rule

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = load_yaml(ROOT / "workflow/schemas/config.schema.yaml")


def test_the_registry_is_derived_from_one_declaration_per_listed_module():
    assert list(registry.DECLARATIONS) == list(registry.EXPERIMENTS)
    assert len(registry.EXPERIMENT_MODULES) == len(registry.DECLARATIONS)
    for module, (exp_id, decl) in zip(registry.EXPERIMENT_MODULES, registry.DECLARATIONS.items()):
        assert module == f"{decl.module}_spec" and decl.id == exp_id
        assert registry.EXPERIMENTS[exp_id] == list(decl.outputs)


def test_a_split_experiment_runs_a_part_per_unit_and_a_join():
    toy = Experiment(id="toy", outputs=("a",), split=Split(key="units", wildcard="unit"))
    assert toy.job_rule == "toy_part"
    assert toy.job_steps({"units": ["x", "y"]}) == ["toy_part_x", "toy_part_y"]
    assert toy.jobs({"units": ["x", "y"]}) == 3  # two parts and the join
    assert dataclasses.replace(toy, split=None).jobs({"units": ["x", "y"]}) == 1
    assert experiment_of_rule("toy_part", {"unit": "x"}) == "toy"
    assert experiment_of_rule("toy", {}) == "toy"


def test_a_replicate_seeds_copy_of_a_rule_runs_the_same_experiment():
    # the replicate's wildcard is its seed, not a unit: a whole experiment stays whole
    assert experiment_of_rule("toy_replicate", {"replicate": "seed43"}) == "toy"
    assert (
        experiment_of_rule("toy_part_replicate", {"replicate": "kernel-avx2", "unit": "x"}) == "toy"
    )
    assert experiment_of_rule("toy_replicate", {}) == "toy"  # a join, named by its rule


def test_preflight_counts_and_sizes_the_declared_jobs(default_config, monkeypatch):
    cfg = validate(default_config, SCHEMA)
    assert preflight.estimate_jobs(cfg) == 50
    big = Experiment(id="toy", outputs=("a",), memory_bytes=lambda c, n: 2**40 * c["n"])
    monkeypatch.setitem(registry.DECLARATIONS, "toy", big)
    monkeypatch.setitem(registry.EXPERIMENTS, "toy", ["a"])
    cfg = {**cfg, "toy": {"n": 1}}
    assert preflight.estimate_jobs(cfg) == 51
    assert preflight.step_memory_bytes(cfg)["toy"] == PROCESS_BASE_BYTES + 2**40
    assert preflight.check_memory(cfg, memory=2**35).startswith("step toy needs about")


@pytest.mark.parametrize(
    ("section", "change", "message"),
    [
        ("matmul", {"burn_in": 300, "steps": 300}, "matmul.burn_in: got 300;"),
        ("transformer", {"heads": 3}, "transformer.heads: got 3; allowed: a divisor"),
        ("training", {"oscillation_window": 1000}, "training.oscillation_window: got 1000;"),
    ],
)
def test_the_validator_runs_each_experiments_declared_checks(section, change, message):
    with pytest.raises(ConfigError) as err:
        validate({section: change}, SCHEMA)
    assert str(err.value).startswith(message)
    assert registry.config_checks()  # every check comes from a declaration
