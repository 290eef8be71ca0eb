import pandas as pd
import pytest

from lnpaper.report import claims, verdicts


def growth(rates: dict) -> pd.DataFrame:
    """A growth frame with given (b_dist, scale) -> rate and a tight CI."""
    rows = []
    for (dist, scale), r in rates.items():
        for ln in (False, True):
            rows.append(
                {
                    "b_dist": dist,
                    "n": 30,
                    "scale": scale,
                    "layernorm": ln,
                    "growth_rate_mean": 0.0 if ln else r,
                    "growth_rate_ci_low": -1e-6 if ln else r - 0.01,
                    "growth_rate_ci_high": 1e-6 if ln else r + 0.01,
                    "growth_rate_theory": 0.0 if ln else r,
                    "final_norm_median": 30.0,
                    "ln_norm_theory": 30.0,
                }
            )
    return pd.DataFrame(rows)


def run_claim(claim_id, frames, cfg=None):
    table = claims.evaluate_all(
        frames, cfg or {"scales": [0.5, 1.0, 2.0], "near_critical_tol": 0.02}, "en"
    )
    return table.set_index("claim_id").loc[claim_id]


def test_scale_claim_verdict_follows_the_measured_behaviour():
    frames = {
        "matmul/growth": growth(
            {
                ("normal", 0.5): 1.0,
                ("scaled_normal", 0.5): -0.7,
                ("normal", 1.0): 1.7,
                ("scaled_normal", 1.0): -0.017,
                ("normal", 2.0): 2.4,
                ("scaled_normal", 2.0): 0.68,
            }
        )
    }
    below = run_claim("5.1-s-below-1-decays", frames)
    assert below["verdict"] == "holds_only_if" and "N(0,1/n)" in below["condition"]
    assert run_claim("5.1-s-above-1-explodes", frames)["verdict"] == "holds"
    frames_all_explode = {
        "matmul/growth": growth({("normal", 0.5): 1.0, ("normal", 1.0): 1.7, ("normal", 2.0): 2.4})
    }
    assert run_claim("5.1-s-below-1-decays", frames_all_explode)["verdict"] == "fails"


def test_claims_of_missing_experiments_are_left_out():
    table = claims.evaluate_all(
        {"matmul/growth": growth({("normal", 1.0): 1.7})}, {"scales": [1.0]}, "en"
    )
    # only matmul claims, and of those only the ones this config measures (no scale != 1 here)
    assert set(table["claim_id"]) == {"5.1-s-equal-1-oscillates", "5.1-layernorm-stabilises"}
    assert set(table["verdict"]) <= set(verdicts.VERDICTS)


def test_claim_ids_are_unique_and_verdicts_validated():
    ids = [c.claim_id for c in verdicts.CLAIMS]
    assert len(ids) == len(set(ids)) >= 8
    with pytest.raises(ValueError):
        verdicts.ClaimResult("m", "t", "maybe")
