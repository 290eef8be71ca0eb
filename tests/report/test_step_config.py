"""lnpaper.report.step_config: a step's experiment sections by name, and its globals required."""

from __future__ import annotations

import pytest

from lnpaper.report.step_config import StepConfig, params_for

CONFIG = {
    "seed": 5,
    "language": "en",
    "matmul": {"eps": 1e-5, "n_seeds": 20},
    "layernorm_stats": {"eps": 1e-3, "n_seeds": 7},
    "training": {"n_seeds": 3},
}


def test_sections_stay_apart_under_their_names():
    # both experiments have eps and n_seeds: a flat merge would keep only one of each
    cfg = StepConfig.for_sources(CONFIG, ["matmul/growth", "layernorm_stats/stats"])
    assert cfg.section("matmul")["eps"] == 1e-5
    assert cfg.section("layernorm_stats")["eps"] == 1e-3
    assert (cfg.seed, cfg.language) == (5, "en")
    with pytest.raises(KeyError, match="training"):
        cfg.section("training")  # not a source of this step


@pytest.mark.parametrize("missing", ["seed", "language", "experiments"])
def test_a_missing_global_is_an_error_not_a_default(missing):
    params = params_for(CONFIG, ["training/summary"])
    del params[missing]
    with pytest.raises(KeyError, match=rf"lack \['{missing}'\]"):
        StepConfig.from_params(params)
    with pytest.raises(KeyError, match=r"unknown \['scales'\]"):
        StepConfig.from_params({**params_for(CONFIG, []), "scales": [1.0]})  # a flat key


def test_a_seed_must_be_an_integer():
    with pytest.raises(TypeError):
        StepConfig({}, seed="42", language="en")
    with pytest.raises(ValueError):
        StepConfig({}, seed=42, language="fr")
