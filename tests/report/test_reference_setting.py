"""One rule picks the setting the text quotes: with matrix sizes [7, 31] the quoted numbers, the
claims table and the matmul figure all name n = 31 (the size closest to the paper's 30)."""

from __future__ import annotations

import pandas as pd
import pytest

from lnpaper.experiments import matmul
from lnpaper.report import claims, figures, numbers, summaries, tables
from lnpaper.report.step_config import StepConfig

CFG = {
    "b_dists": ["normal", "scaled_normal"],
    "sizes": [7, 31],
    "scales": [0.5, 1.0, 2.0],
    "critical_factors": [1.0],
    "steps": 12,
    "n_seeds": 4,
    "burn_in": 2,
    "eps": 1e-5,
    "near_critical_tol": 0.02,
    "bootstrap_resamples": 200,
}


@pytest.fixture(scope="module")
def frames():
    out = matmul.run(CFG, seed=3)
    return {"matmul/trajectories": out["trajectories"], "matmul/growth": out["growth"]}


@pytest.mark.parametrize(
    ("values", "expected"),
    [([7, 31], 31), ([10, 30, 100], 30), ([29, 31], 31), ([5, 7], 7), ([100, 1000], 100)],
)
def test_closest_to_the_paper_setting_ties_to_the_larger(values, expected):
    assert summaries.closest(values, summaries.PAPER_N) == expected


def test_text_claims_and_figure_name_the_same_n(frames):
    n = summaries.reference_n(frames["matmul/growth"])
    assert n == 31

    # the text: the number the manuscript quotes as the reference size
    step = StepConfig({"matmul": CFG}, seed=3, language="en")
    table = tables.build("scale_behavior", frames, step)
    table = pd.read_csv(pd.io.common.StringIO(table.to_csv(index=False)))  # as the csv reads back
    quoted = numbers.compute({"table:scale_behavior": table}, {}, ["MatmulRefN"])
    assert quoted.set_index("name").loc["MatmulRefN", "value"] == n

    # the claims table: the explosion claim's headline number is the rate at that size
    claim_rows = claims.evaluate_all(frames, step).set_index("claim_id")
    growth = frames["matmul/growth"]
    rates = growth[(growth["n"] == n) & ~growth["layernorm"]]["growth_rate_mean"]
    assert claim_rows.loc["5.1-s-above-1-explodes", "value"] in set(rates)
    other = growth[(growth["n"] == 7) & ~growth["layernorm"]]["growth_rate_mean"]
    assert claim_rows.loc["5.1-s-above-1-explodes", "value"] not in set(other)

    # the figure: its title names the size every panel draws
    fig = figures.draw("matmul_norms", frames, step)
    assert fig._suptitle.get_text() == f"n = {n}"
