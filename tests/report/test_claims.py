"""Every claim rule on hand-built frames: each verdict it can give, and `fails` for all of them
(the registry is checked against the cases here and in test_claims_layernorm.py and
test_claims_training.py, so a new rule without a `fails` case fails)."""

from dataclasses import replace

import pandas as pd
import pytest

from claims_kit import CFG, matmul_cfg, verdict
from lnpaper.report import claim_text, claims, verdicts


def growth(cis: dict) -> pd.DataFrame:
    """A growth frame: (b_dist, scale) -> (ci_low, ci_high) of the rate, plus the LN rows."""
    rows = []
    for (dist, scale), (lo, hi) in cis.items():
        for ln in (False, True):
            rows.append(
                {
                    "b_dist": dist,
                    "n": 30,
                    "scale": scale,
                    "layernorm": ln,
                    "growth_rate_mean": 0.0 if ln else (lo + hi) / 2,
                    "growth_rate_ci_low": -1e-6 if ln else lo,
                    "growth_rate_ci_high": 1e-6 if ln else hi,
                    "growth_rate_theory": 0.0 if ln else (lo + hi) / 2,
                    "final_norm_median": 30.0,
                    "ln_norm_theory": 30.0,
                }
            )
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- matmul

UP, DOWN, ZERO = (1.6, 1.7), (-0.8, -0.6), (-0.005, 0.005)
STRADDLE_LOW, STRADDLE_HIGH = (-0.03, -0.01), (0.01, 0.03)

MATMUL = {
    "5.1-s-below-1-decays": {
        "holds": {("normal", 0.5): DOWN, ("scaled_normal", 0.5): DOWN},
        "fails": {("normal", 0.5): UP, ("scaled_normal", 0.5): UP},
        "holds_only_if": {("normal", 0.5): UP, ("scaled_normal", 0.5): DOWN},
        "inconclusive": {("normal", 0.5): STRADDLE_LOW, ("scaled_normal", 0.5): STRADDLE_LOW},
    },
    "5.1-s-equal-1-oscillates": {
        "holds": {("normal", 1.0): ZERO, ("orthogonal", 1.0): (0.0, 0.0)},
        "fails": {("normal", 1.0): UP, ("scaled_normal", 1.0): DOWN},
        "holds_only_if": {("normal", 1.0): UP, ("scaled_normal", 1.0): ZERO},
        "inconclusive": {("normal", 1.0): STRADDLE_HIGH, ("scaled_normal", 1.0): STRADDLE_LOW},
    },
    "5.1-s-above-1-explodes": {
        "holds": {("normal", 2.0): UP, ("scaled_normal", 2.0): UP},
        "fails": {("normal", 2.0): ZERO, ("scaled_normal", 2.0): DOWN},
        "holds_only_if": {("normal", 2.0): UP, ("orthogonal", 2.0): ZERO},
        "inconclusive": {("normal", 2.0): STRADDLE_HIGH, ("scaled_normal", 2.0): STRADDLE_HIGH},
    },
}


@pytest.mark.parametrize(
    "claim_id,want", [(c, v) for c, cases in MATMUL.items() for v in cases], ids=str
)
def test_scale_rules_reach_every_verdict(claim_id, want):
    row = verdict(claim_id, {"matmul/growth": growth(MATMUL[claim_id][want])})
    assert row["verdict"] == want
    # the scales of one distribution are one draw set: the text says so
    assert "one draw set: all its scales multiply the same B_k" in row["measured"]


def test_scale_condition_names_the_distribution_and_is_localized():
    frames = {"matmul/growth": growth(MATMUL["5.1-s-below-1-decays"]["holds_only_if"])}
    en = claims.evaluate_all(frames, CFG).set_index("claim_id")
    vi = claims.evaluate_all(frames, replace(CFG, language="vi")).set_index("claim_id")
    assert "N(0,1/n)" in en.loc["5.1-s-below-1-decays", "condition"]
    assert "critical scale" in en.loc["5.1-s-below-1-decays", "condition"]
    assert "tỉ lệ tới hạn" in vi.loc["5.1-s-below-1-decays", "condition"]
    assert en.loc["5.1-s-below-1-decays", "verdict"] == vi.loc["5.1-s-below-1-decays", "verdict"]


def test_one_failing_draw_set_is_one_failure_not_one_per_scale():
    # three scales of one distribution below the threshold, in one draw set: one state
    cis = {("normal", s): UP for s in (0.25, 0.5, 0.75)} | {("scaled_normal", 0.5): DOWN}
    row = verdict(
        "5.1-s-below-1-decays", {"matmul/growth": growth(cis)}, matmul_cfg(scales=[0.25, 0.5, 0.75])
    )
    assert row["verdict"] == "holds_only_if"
    assert row["measured"].count("one draw set") == 2  # two draw sets, not four conditions


@pytest.mark.parametrize("final,want", [(30.0, "holds"), (25.0, "fails")])
def test_layernorm_stabilises(final, want):
    g = growth({("normal", 2.0): UP})
    g.loc[g["layernorm"], "final_norm_median"] = final
    assert verdict("5.1-layernorm-stabilises", {"matmul/growth": g})["verdict"] == want


# ---------------------------------------------------------------- the registry


FAILS_COVERED = set(MATMUL) | {
    "5.1-layernorm-stabilises",
    "3.2-mean0-std1",
    "4.1.2a-example-mean-0.01",
    "4.1.2a-example-std-1.02",
    "3.1-formula-sigma-plus-eps",
    "4.1.2b-whole-tensor-r-1",
    "4.1.2b-per-column-r-slightly-lower",
    "5.3-gamma3-beta5",
    "9-numerically-stable",
    "4.1.4-faster-convergence",
    "4.1.4-less-oscillation",
    "4.1.4-fewer-vanishing-exploding",
    "6.2-batchnorm-batch-dependent",
    "6.2-online-inference",
    "6.3-post-ln-trains",
}


def test_every_registered_rule_has_a_fails_case_above():
    assert {c.claim_id for c in verdicts.CLAIMS} == FAILS_COVERED


def test_rules_have_names_saying_what_they_check():
    assert all(c.evaluate.__name__ != "_" for c in verdicts.CLAIMS)


def test_claim_texts_are_templates_in_both_languages():
    assert all({"vi", "en"} <= set(v) for v in claim_text.TEMPLATES.values())
    with pytest.raises(TypeError):
        verdicts.ClaimResult("an English sentence", claim_text.t("float_zero"), "holds")
    with pytest.raises(ValueError):
        verdicts.ClaimResult(claim_text.t("float_zero"), claim_text.t("float_zero"), "maybe")


def test_claims_of_missing_experiments_are_left_out():
    table = claims.evaluate_all(
        {"matmul/growth": growth({("normal", 1.0): UP})}, matmul_cfg(scales=[1.0])
    )
    assert set(table["claim_id"]) == {
        "5.1-s-below-1-decays",
        "5.1-s-equal-1-oscillates",
        "5.1-s-above-1-explodes",
        "5.1-layernorm-stabilises",
    }
    # no scale below or above one in this build: those rules measure nothing, and say so
    by_id = table.set_index("claim_id")["verdict"]
    assert by_id["5.1-s-below-1-decays"] == by_id["5.1-s-above-1-explodes"] == "not_measured"
    assert set(table["verdict"]) <= set(verdicts.VERDICTS)


def test_every_rule_says_what_it_tests():
    # the docstring states the rule; the claims table's theory column states it to readers
    missing = [c.claim_id for c in verdicts.CLAIMS if not (c.evaluate.__doc__ or "").strip()]
    assert missing == []
