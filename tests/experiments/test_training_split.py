"""The training experiment runs one job per (dataset, normalizer) and joins them: the units a
split over several config lists gives, the config slice each job runs, the join's bytes equal to
one job's, and a join that never imports torch."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest

from conftest import ROOT
from lnpaper.experiments import training, training_join
from lnpaper.experiments.spec import Split
from lnpaper.experiments.training_spec import EXPERIMENT
from lnpaper.pipeline.config import load_yaml

CFG = {
    **load_yaml(ROOT / "tests/configs/units.yaml")["training"],
    "datasets": ["digits", "synthetic"],
    "depths": [2, 3],
    "archs": ["plain", "residual"],
    "norms": ["none", "layernorm", "dyt"],
    "n_seeds": 2,
}

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_a_split_over_two_lists_runs_one_unit_per_combination():
    split = Split(key=("datasets", "norms"), wildcard="unit")
    assert split.keys == ("datasets", "norms")
    assert split.units({"datasets": ["d1", "d2"], "norms": ["a", "b"]}) == [
        "d1-a",
        "d1-b",
        "d2-a",
        "d2-b",
    ]
    assert Split(key="units", wildcard="u").units({"units": [1, 2]}) == ["1", "2"]
    cut = split.slice({"datasets": ["d1", "d2"], "norms": ["a", "b"], "width": 8}, "d2-a")
    assert cut == {"datasets": ["d2"], "norms": ["a"], "width": 8}


@pytest.mark.parametrize("unit", ["digits", "digits-layernorm-x", "digits-groupnorm"])
def test_a_unit_that_names_no_combination_is_refused(unit):
    with pytest.raises(ValueError, match=unit):
        EXPERIMENT.split.slice(CFG, unit)


def test_training_runs_a_job_per_dataset_and_normalizer_and_a_join():
    assert EXPERIMENT.split.units(CFG) == [
        f"{d}-{n}" for d in ("digits", "synthetic") for n in ("none", "layernorm", "dyt")
    ]
    assert EXPERIMENT.job_steps(CFG)[0] == "training_part_digits-none"
    assert EXPERIMENT.jobs(CFG) == 7  # six parts and the join


def test_the_joined_parts_equal_the_whole_run_row_for_row():
    """Depths and seeds of a unit stay stacked together, so the parts compute exactly what one
    job over the whole config computes; the join's sort makes the order the same."""
    whole = training_join.merge([training.run(CFG, seed=3)])
    parts = [
        training.run(EXPERIMENT.split.slice(CFG, u), seed=3)
        for u in reversed(EXPERIMENT.split.units(CFG))
    ]
    joined = training_join.merge(parts)
    assert list(joined) == training_join.OUTPUTS
    for name, frame in whole.items():
        pd.testing.assert_frame_equal(joined[name], frame, check_exact=True)
    assert len(joined["summary"]) == 2 * 3 * 2 * 2 * 2  # datasets, norms, depths, archs, seeds


def test_the_join_step_imports_no_torch():
    code = (
        "import importlib, sys\n"
        "from lnpaper.pipeline.step import declaration, join_compute\n"
        "decl = declaration('training')\n"
        "module = importlib.import_module(decl.join_module)\n"
        "join_compute(module, decl)\n"
        "assert callable(getattr(module, decl.split.join)) and module.CONDITIONS\n"
        "print('torch' in sys.modules)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "False"
