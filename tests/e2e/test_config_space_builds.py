"""Configs from the space of valid ones built in process as the rules build them
(lnpaper.tools.config_sweep.build_in_process): an edge case with any number of scales and
depths, and drawn configs, each refused in one line or built with no warning."""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from lnpaper.report import claims  # noqa: F401  (registers the rules)
from lnpaper.tools import config_space, config_sweep


@pytest.mark.slow
def test_any_number_of_scales_and_depths_and_claims_without_their_condition(one_torch_thread):
    """Six scales, five Transformer depths (more than the figures' named colours and styles), a
    gamma/beta grid without gamma = 3, beta = 5, no whole-tensor scope: builds, and the claims
    about what was not run say not_measured."""
    import warnings

    cfg = config_sweep.variant(
        config_space.micro_config(),
        language="en",
        **{
            "matmul.scales": [0.25, 0.5, 1.0, 1.5, 2.0, 3.0],
            "transformer.layers": [1, 2, 3, 4, 5],
            "affine.gamma": [1.0],
            "affine.beta": [0.0],
            "layernorm_stats.normalized_over": ["row", "column"],
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        built = config_sweep.build_in_process(cfg)
    verdict = built.claims.set_index("claim_id")["verdict"]
    assert verdict["5.3-gamma3-beta5"] == "not_measured"
    assert verdict["4.1.2b-whole-tensor-r-1"] == "not_measured"
    row = built.claims.set_index("claim_id").loc["5.3-gamma3-beta5"]
    assert "not in this config's grid" in row["measured"]
    assert config_sweep.problems(built) == []
    counted = built.numbers.set_index("name").loc["ClaimsNotMeasured", "value"]
    assert counted == (verdict == "not_measured").sum() >= 2
    assert re.search(r"claims are not measured", built.paper)


# A few dozen drawn configs in about a minute: each is refused in one line, or builds with no
# exception, no warning (turned into errors) and no firm verdict on missing data. Drawn over every
# section at once (interactions: shapes against group sizes, widths against groups) or over one
# section (a draw over all is refused two times in three): 16 of the 24 build, 8 are refused.
# derandomize: the same examples on every run and machine; deadline off: the time of one build
# varies with the machine's load, the example count bounds the total; no shrinking: a build per
# step would make a failure cost minutes, and the failing config is printed whole.
@pytest.mark.slow
@settings(
    max_examples=24,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    phases=[Phase.explicit, Phase.generate],
)
@given(st.one_of(config_space.tiny_configs(), config_space.one_section_configs()))
def test_drawn_configs_are_refused_in_one_line_or_build_a_paper(config):
    import torch

    torch.set_num_threads(1)
    outcome = config_sweep.check_config(config)
    assert outcome.startswith(("refused: ", "built"))
