"""The Method section's set-up numbers (read from the config) and the residual-net evidence on
the training claims (read from the training summary), on hand-built frames: the counts and the
oscillation interval the text quotes are the ones the claim rules decide on."""

from __future__ import annotations

import pandas as pd
import pytest
import yaml

from claims_kit import CFG, training, verdict
from conftest import ROOT
from lnpaper.report import numbers
from lnpaper.report.numbers_methods import SETUP, SUMMARY

FAST = [(50, 100, 0.01, 0.02)] * 5
# LayerNorm later in every seed, and oscillating about three times as much (seed-to-seed spread)
SLOW = [(150, 100, 0.02 * r, 0.02) for r in (2.0, 3.0, 2.5, 4.0, 3.5)]
MIXED = [(50, 100, 0.02, 0.02), (150, 100, 0.02, 0.02)] * 2 + [(50, 100, 0.02, 0.02)]
NAMES = [
    "TrainResidualConditions",
    "TrainResidualLater",
    "TrainResidualFasterSeeds",
    "TrainResidualPairedSeeds",
    "TrainResidualOscMore",
    "TrainResidualOscCompared",
    "TrainResidualOscRatio",
    "TrainResidualOscRatioLow",
    "TrainResidualOscRatioHigh",
]


def residual_numbers(conds: dict) -> dict[str, float]:
    out = numbers.compute({SUMMARY: training(conds)}, {"seed": CFG.seed}, NAMES)
    return dict(zip(out["name"], out["value"]))


def test_residual_counts_and_ratio_are_those_the_claim_rules_decide_on():
    conds = {("plain", 20): FAST, ("residual", 20): SLOW, ("residual", 10): MIXED}
    got = residual_numbers(conds)
    assert got["TrainResidualConditions"] == 2 and got["TrainResidualLater"] == 1
    # the reference depth (20): LayerNorm first in 0 of 5 seeds
    assert (got["TrainResidualFasterSeeds"], got["TrainResidualPairedSeeds"]) == (0, 5)
    assert got["TrainResidualOscMore"] == 1 and got["TrainResidualOscCompared"] == 2
    lo, ratio, hi = (got[f"TrainResidualOscRatio{e}"] for e in ("Low", "", "High"))
    assert 1.0 < lo < ratio < hi
    # the claims table prints the same condition's ratio and interval (same generator)
    frames = {"training/summary": training(conds)}
    measured = verdict("4.1.4-less-oscillation", frames, CFG)["measured"]
    assert f"residual (pre-norm)/depth 20: ratio LN/none {ratio:.1f} [{lo:.1f}, {hi:.1f}]" in (
        measured
    ), measured
    assert verdict("4.1.4-faster-convergence", frames)["verdict"] == "holds_only_if"


def test_without_a_residual_net_reaching_the_threshold_the_numbers_are_missing():
    inf = float("inf")
    got = residual_numbers({("residual", 20): [(inf, inf, 0.0, 0.0)] * 5})
    assert all(pd.isna(got[n]) for n in NAMES)


@pytest.mark.parametrize("name", sorted(SETUP))
def test_set_up_numbers_read_the_config_the_build_runs(name):
    config = yaml.safe_load((ROOT / "config.yaml").read_text(encoding="utf-8"))
    section, key, _, _ = SETUP[name]
    out = numbers.compute({}, numbers.config_slice(config), [name])
    assert out["value"].iloc[0] == pytest.approx(float(config[section][key]))


def test_an_asymmetric_interval_prints_its_bounds_and_a_symmetric_one_a_half_width():
    from lnpaper.report.numfmt import estimate_text

    assert estimate_text(0.839, 0.731, 0.921, "x") == "0.84 [0.73, 0.92]"
    assert estimate_text(1.683, 1.672, 1.694, "x") == "1.683 ± 0.011"
    assert estimate_text(float("nan"), 0.1, 0.2, "x") == "x"
