"""The paper's numbers and tables as a reader gets them: digits that follow the uncertainty, no
e-notation, localized labels, and the compact main-text tables."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lnpaper.report import formatting, labels, tables
from lnpaper.report.step_config import StepConfig

# ---------------------------------------------------------------- numbers as a reader expects


@pytest.mark.parametrize(
    "half, decimals",
    [(0.0072, 3), (0.007, 3), (0.0096, 3), (0.015, 3), (0.25, 2), (0.35, 1), (3.0, 0), (0.1, 2)],
)
def test_decimals_follow_the_uncertainty(half, decimals):
    assert formatting.decimals_for(half) == decimals


def test_estimate_with_interval_prints_digits_the_interval_resolves():
    assert formatting.fmt_pm(1.69095, 1.684, 1.698) == "1.691 ± 0.007"
    assert formatting.fmt_ci(1.684, 1.698) == "[1.684, 1.698]"
    assert formatting.fmt_pm(2.0, math.nan, math.nan) == "2"  # no interval: plain fmt


def test_no_e_notation_and_theory_zero_by_construction_prints_zero():
    assert formatting.fmt(2.2e-16) == "2.2·10⁻¹⁶"
    assert formatting.fmt(3.5e7) == "3.5·10⁷"
    df = pd.DataFrame(
        {
            "growth_rate_mean": [0.0004, 1.121],
            "growth_rate_ci_low": [-0.05, 1.087],
            "growth_rate_ci_high": [0.06, 1.155],
            "growth_rate_theory": [1.104e-12, 1.1],  # ln s + λ₁ at s = s*: zero up to rounding
            "max_abs_diff": [2.2e-16, 4.4e-16],  # a measured tiny value stays as it is
        }
    )
    md = formatting.to_markdown(df, "en")
    assert "e-" not in md and "e+" not in md
    rows = [r.split("|")[1:-1] for r in md.splitlines()[2:]]
    assert rows[0][2].strip() == "0" and rows[1][2].strip() == "1.1"
    assert rows[0][3].strip() == "2.2·10⁻¹⁶"
    assert rows[1][0].strip() == "1.12" and rows[1][1].strip() == "[1.09, 1.16]"
    assert "$^{-16}$" in formatting.tex_escape("2.2·10⁻¹⁶")


def test_value_keyed_columns_and_verdicts_are_localized():
    assert labels.label("beta=2", "vi") == "β = 2"
    err = "Expected more than 1 value per channel when training, got input size [1, 64]"
    assert labels.label(err, "vi").startswith("lỗi") and labels.label(err, "en").startswith("error")
    for verdict in ("holds", "fails", "holds_only_if", "inconclusive"):
        assert labels.label(verdict, "vi") != labels.label(verdict, "en")


# ---------------------------------------------------------------- main-text tables


def growth_frame() -> pd.DataFrame:
    rows = []
    for dist in ("normal", "scaled_normal", "orthogonal"):
        for n in (10, 30):
            for s in (0.5, 1.0, 1.5, 2.0, 0.19):
                for ln in (False, True):
                    rate = math.log(s) + (1.7 if dist == "normal" else 0.0)
                    rows.append(
                        dict(
                            b_dist=dist,
                            n=n,
                            scale=s,
                            layernorm=ln,
                            growth_rate_mean=rate,
                            growth_rate_ci_low=rate - 0.01,
                            growth_rate_ci_high=rate + 0.01,
                            growth_rate_theory=rate,
                            draw_set=f"{dist}/n={n}",
                            rate_minus_log_scale=rate - math.log(s),
                            frobenius_rate_mean=rate + 0.004,
                            frobenius_rate_ci_low=rate - 0.006,
                            frobenius_rate_ci_high=rate + 0.014,
                            growth_factor=math.exp(rate),
                            overflow_step_median=np.nan,
                            entry_overflow_step_median=np.nan,
                            critical_scale_theory=0.18,
                            critical_scale_measured=0.18,
                            final_norm_median=30.0,
                        )
                    )
    return pd.DataFrame(rows)


def test_scale_main_is_table_5_1_plus_the_fix():
    matmul = {"scales": [0.5, 1.0, 1.5, 2.0], "near_critical_tol": 0.02}
    cfg = StepConfig({"matmul": matmul}, seed=42, language="en")
    t = tables.build("scale_main", {"matmul/growth": growth_frame()}, cfg)
    assert list(t["b_dist"]) == ["normal"] * 4 + ["scaled_normal", "orthogonal"]
    assert list(t["scale"]) == [0.5, 1.0, 1.5, 2.0, 1.0, 1.0]  # the grid point 0.19 is left out
    full = tables.build("scale_behavior", {"matmul/growth": growth_frame()}, cfg)
    assert len(full) == 30 and len(t.columns) < len(full.columns)


def test_affine_main_is_the_three_by_three_grid():
    rows = [
        dict(
            gamma=g,
            beta=b,
            seed=s,
            mean=b + 1e-9,
            std_biased=g * 0.99999,
            std_unbiased=g,
            mean_theory=b,
            std_biased_theory=g * 0.99999,
        )
        for g in (1.0, 2.0, 3.0)
        for b in (0.0, 2.0, 5.0)
        for s in range(2)
    ]
    t = tables.build(
        "affine_main", {"affine/stats": pd.DataFrame(rows)}, StepConfig({}, seed=42, language="en")
    )
    assert t.shape == (3, 4) and list(t.columns) == ["gamma", "beta=0", "beta=2", "beta=5"]
    assert t.loc[2, "beta=5"] == "5.000 / 3.000" and t.loc[0, "beta=0"] == "0.000 / 1.000"
    md = formatting.to_markdown(t, "vi")
    assert "| γ | β = 0 | β = 2 | β = 5 |" in md


def test_bn_vs_ln_main_has_one_row_per_property_and_a_column_per_normalizer():
    rows = []
    for norm in ("batchnorm", "layernorm"):
        for mode in ("train", "eval"):
            for b in (1, 2, 8):
                dep = norm == "batchnorm" and mode == "train"
                rows.append(
                    dict(
                        norm=norm,
                        mode=mode,
                        batch_size=b,
                        n_batches=20,
                        output_std=(np.nan if b == 1 else 0.7 / math.sqrt(b)) if dep else 0.0,
                        error="Expected more than 1 value" if dep and b == 1 else "",
                        runs=not (dep and b == 1),
                        informative=True,
                        matches_batched_output=not dep,
                    )
                )
    t = tables.build(
        "bn_vs_ln_main",
        {"batch_dependence/stats": pd.DataFrame(rows)},
        StepConfig({}, seed=42, language="en"),
    )
    assert list(t.columns) == ["property", "batchnorm", "layernorm"]
    got = t.set_index("property")
    assert got.at["batch_dependent", "batchnorm"] and not got.at["batch_dependent", "layernorm"]
    assert got.at["loglog_slope", "batchnorm"] == pytest.approx(-0.5)
    assert not got.at["online_ok", "batchnorm"] and got.at["online_ok", "layernorm"]
    assert not got.at["train_eval_same", "batchnorm"] and got.at["train_eval_same", "layernorm"]


def test_claims_main_is_one_localized_line_per_claim():
    claims = pd.DataFrame(
        {
            "claim_id": ["a", "b"],
            "section": ["5.1", "4.1.2"],
            "claim": ["Nếu s < 1: chuẩn → 0", "Độ lệch chuẩn ≈ 1"],
            "measured": ["normal s=0.5: explodes ...", "biased 1.0"],
            "theory": ["x", "y"],
            "verdict": ["holds_only_if", "inconclusive"],
            "value": [0.4279546962, 1.0171],
        }
    )
    t = tables.claims_summary(claims, "vi")
    assert list(t.columns)[:4] == ["section", "claim", "verdict", "value"] and len(t) == 2
    md = formatting.to_markdown(t, "vi")
    assert "đúng có điều kiện" in md and "chưa kết luận" in md and "0.428" in md
    assert "explodes" not in md  # the English measured strings stay in the supplement


def test_an_interval_of_zero_width_up_to_rounding_prints_the_default_digits():
    # orthogonal products: the rate is exactly ln s, its bootstrap interval is [x, x] up to 1e-16
    x = -0.6931471805599453
    assert formatting.decimals_for(1e-16) is None
    assert formatting.fmt_ci(x - 1e-16, x) == "[−0.6931, −0.6931]"
    assert formatting.decimals_for(0.0072) == 3
