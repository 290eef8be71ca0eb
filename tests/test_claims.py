"""Every claim rule on hand-built frames: each verdict it can give, and `fails` for all of them
(the registry is checked against the cases below, so a new rule without a `fails` case fails)."""

import math
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from lnpaper.report import claim_text, claims, verdicts
from lnpaper.report.step_config import StepConfig

MATMUL_CFG = {"scales": [0.5, 1.0, 2.0], "near_critical_tol": 0.02, "eps": 1e-5}
CFG = StepConfig({"matmul": MATMUL_CFG}, seed=42, language="en")
TOL = MATMUL_CFG["near_critical_tol"]


def matmul_cfg(**section) -> StepConfig:
    """CFG with some keys of its matmul section changed."""
    return replace(CFG, experiments={"matmul": {**MATMUL_CFG, **section}})


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


def verdict(claim_id, frames, cfg=None):
    table = claims.evaluate_all(frames, cfg or CFG)
    rows = table.set_index("claim_id")
    assert claim_id in rows.index, f"{claim_id} not evaluated"
    return rows.loc[claim_id]


# ---------------------------------------------------------------- matmul

UP, DOWN, ZERO = (1.6, 1.7), (-0.8, -0.6), (-0.005, 0.005)
STRADDLE_LOW, STRADDLE_HIGH = (-0.03, -0.01), (0.01, 0.03)

MATMUL = {
    "5.1-s-below-1-decays": {
        "holds": {("normal", 0.5): DOWN, ("scaled_normal", 0.5): DOWN},
        "fails": {("normal", 0.5): UP, ("scaled_normal", 0.5): UP},
        "holds_only_if": {("normal", 0.5): UP, ("scaled_normal", 0.5): DOWN},
        "inconclusive": {("normal", 0.5): STRADDLE_LOW, ("scaled_normal", 0.5): DOWN},
    },
    "5.1-s-equal-1-oscillates": {
        "holds": {("normal", 1.0): ZERO, ("orthogonal", 1.0): (0.0, 0.0)},
        "fails": {("normal", 1.0): UP, ("scaled_normal", 1.0): DOWN},
        "holds_only_if": {("normal", 1.0): UP, ("scaled_normal", 1.0): ZERO},
        "inconclusive": {("normal", 1.0): STRADDLE_HIGH, ("scaled_normal", 1.0): ZERO},
    },
    "5.1-s-above-1-explodes": {
        "holds": {("normal", 2.0): UP, ("scaled_normal", 2.0): UP},
        "fails": {("normal", 2.0): ZERO, ("scaled_normal", 2.0): DOWN},
        "holds_only_if": {("normal", 2.0): UP, ("orthogonal", 2.0): ZERO},
        "inconclusive": {("normal", 2.0): UP, ("scaled_normal", 2.0): STRADDLE_HIGH},
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


# ---------------------------------------------------------------- layernorm statistics


def ln_stats(group_mean=1e-8, std_biased=(0.99999,) * 5, k=30, pearson_all=1.0, pearson_col=0.97):
    rows = []
    for i, sd in enumerate(std_biased):
        for over, r in (("row", 0.97), ("column", pearson_col), ("all", pearson_all)):
            rows.append(
                {
                    "shape": "30x30",
                    "normalized_over": over,
                    "group_size": k,
                    "stage": "after",
                    "seed": i,
                    "max_abs_group_mean": group_mean,
                    "std_biased": sd,
                    "std_unbiased": sd * math.sqrt(k / (k - 1)),
                    "pearson_r": r,
                }
            )
    return pd.DataFrame(rows)


def test_mean0_std1_compares_with_the_exact_value_not_the_worst_seed():
    # one seed with a group of variance ~ eps: std pulled below 1 by the exact amount
    one_rare = (0.99999,) * 19 + (0.9925,)
    frames = {"layernorm_stats/stats": ln_stats(std_biased=one_rare)}
    assert verdict("3.2-mean0-std1", frames)["verdict"] == "holds"
    frames = {"layernorm_stats/stats": ln_stats(std_biased=(1.02,) * 5)}  # above 1: impossible
    assert verdict("3.2-mean0-std1", frames)["verdict"] == "fails"
    frames = {"layernorm_stats/stats": ln_stats(group_mean=0.01)}
    assert verdict("3.2-mean0-std1", frames)["verdict"] == "fails"
    frames = {"layernorm_stats/stats": ln_stats(std_biased=(0.95,) * 5)}  # typical seed off
    assert verdict("3.2-mean0-std1", frames)["verdict"] == "fails"


@pytest.mark.parametrize("mean,want", [(0.01, "holds"), (1e-8, "fails")])
def test_example_mean_one_percent(mean, want):
    frames = {"layernorm_stats/stats": ln_stats(group_mean=mean)}
    assert verdict("4.1.2a-example-mean-0.01", frames)["verdict"] == want


@pytest.mark.parametrize("k,want", [(30, "holds_only_if"), (10, "fails")])
def test_example_std_1_02(k, want):
    frames = {"layernorm_stats/stats": ln_stats(std_biased=(1.0,) * 3, k=k)}
    row = verdict("4.1.2a-example-std-1.02", frames)
    assert row["verdict"] == want
    if want == "holds_only_if":
        assert "k=30" in row["condition"]


def eps_frame(pytorch_diff: float) -> pd.DataFrame:
    rows = []
    for sigma in (1e-3, 1.0):
        paper_std = sigma / (sigma + 1e-5)
        torch_std = sigma / math.sqrt(sigma**2 + 1e-5)
        rows += [
            {
                "formula": "paper",
                "sigma": sigma,
                "output_std": paper_std,
                "max_abs_diff_vs_torch": abs(paper_std - torch_std),
            },
            {
                "formula": "torch",
                "sigma": sigma,
                "output_std": torch_std,
                "max_abs_diff_vs_torch": 0,
            },
            {
                "formula": "pytorch",
                "sigma": sigma,
                "output_std": torch_std,
                "max_abs_diff_vs_torch": pytorch_diff,
            },
        ]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("diff,want", [(1e-8, "holds_only_if"), (1e-3, "fails")])
def test_eps_placement(diff, want):
    frames = {"layernorm_stats/eps_placement": eps_frame(diff)}
    assert verdict("3.1-formula-sigma-plus-eps", frames)["verdict"] == want


@pytest.mark.parametrize("r,want", [(1.0, "holds"), (0.99, "fails")])
def test_whole_tensor_r(r, want):
    frames = {"layernorm_stats/stats": ln_stats(pearson_all=r)}
    assert verdict("4.1.2b-whole-tensor-r-1", frames)["verdict"] == want


@pytest.mark.parametrize(
    "by_k,want",
    [
        ({30: 0.975, 100: 0.99}, "holds"),
        ({3: 0.72, 30: 0.975}, "holds_only_if"),
        ({3: 0.72, 10: 0.92}, "fails"),
    ],
)
def test_per_column_r(by_k, want):
    corr = pd.DataFrame(
        [{"scope": "group", "group_size": k, "pearson_r": r} for k, r in by_k.items()]
    )
    frames = {"layernorm_stats/stats": ln_stats(), "layernorm_stats/correlation": corr}
    assert verdict("4.1.2b-per-column-r-slightly-lower", frames)["verdict"] == want


@pytest.mark.parametrize("mean,want", [(5.0, "holds"), (5.1, "fails")])
def test_gamma_beta(mean, want):
    s = pd.DataFrame(
        [{"gamma": 3.0, "beta": 5.0, "mean": mean, "std_biased": 3.0, "std_unbiased": 3.05}] * 3
    )
    assert verdict("5.3-gamma3-beta5", {"affine/stats": s})["verdict"] == want


@pytest.mark.parametrize(
    "errors,want",
    [
        ({"two_pass": 0.02, "torch": 0.016}, "holds"),
        ({"naive": 1500.0, "welford": 0.136, "two_pass": 0.02}, "holds_only_if"),
        ({"naive": 1500.0, "welford": 0.136}, "fails"),
    ],
)
def test_numerical_stability(errors, want):
    e = pd.DataFrame(
        [
            {
                "error_source": "total",
                "dtype": "float32",
                "method": m,
                "offset": 1e5,
                "max_abs_error": v,
            }
            for m, v in errors.items()
        ]
    )
    row = verdict("9-numerically-stable", {"precision/errors": e})
    assert row["verdict"] == want
    if want == "holds_only_if":
        assert "welford" in row["condition"].lower() and "two-pass" in row["condition"].lower()


# ---------------------------------------------------------------- training


def training(conds: dict) -> pd.DataFrame:
    """(arch, depth) -> list over seeds of (steps LN, steps none, oscillation LN, osc none)."""
    rows = []
    for (arch, depth), seeds in conds.items():
        for seed, (s_ln, s_none, o_ln, o_none) in enumerate(seeds):
            for norm, steps, osc, grad in (
                ("layernorm", s_ln, o_ln, 0.1),
                ("none", s_none, o_none, 1e-9),
            ):
                rows.append(
                    {
                        "dataset": "digits",
                        "arch": arch,
                        "depth": depth,
                        "norm": norm,
                        "seed": seed,
                        "steps_to_threshold": steps,
                        "loss_oscillation": osc,
                        "grad_norm_first_layer_init": grad,
                        "test_accuracy": 0.9,
                    }
                )
    return pd.DataFrame(rows)


INF = math.inf
FAST = [(50, 100, 0.01, 0.02)] * 5  # LN first, LN oscillates less (half)
SLOW = [(150, 100, 0.04, 0.02)] * 5  # LN later, oscillates more
MIXED = [
    (50, 100, 0.01, 0.02),
    (150, 100, 0.04, 0.02),
    (50, 100, 0.01, 0.02),
    (150, 100, 0.04, 0.02),
    (50, 100, 0.02, 0.02),
]


@pytest.mark.parametrize(
    "conds,want",
    [
        ({("plain", 20): FAST, ("residual", 20): FAST}, "holds"),
        ({("plain", 20): SLOW, ("residual", 20): SLOW}, "fails"),
        ({("plain", 20): FAST, ("residual", 20): SLOW}, "holds_only_if"),
        ({("plain", 20): FAST, ("residual", 20): MIXED}, "inconclusive"),
        # neither net reaches the threshold: no convergence speed is measured
        ({("plain", 50): [(INF, INF, 0.0, 0.0)] * 5}, "not_measured"),
        # measured where a net converges only; a condition where none does is named, not counted
        ({("plain", 50): [(INF, INF, 0.0, 0.0)] * 5, ("residual", 20): FAST}, "holds_only_if"),
        ({("plain", 20): [(100, 100, 0.0, 0.0)] * 5}, "fails"),  # every seed ties: not faster
    ],
)
def test_faster_convergence_is_a_paired_sign_test(conds, want):
    frames = {"training/summary": training(conds)}
    assert verdict("4.1.4-faster-convergence", frames)["verdict"] == want


@pytest.mark.parametrize(
    "conds,want",
    [
        ({("plain", 20): FAST, ("residual", 20): FAST}, "holds"),
        ({("plain", 20): SLOW, ("residual", 20): SLOW}, "fails"),
        ({("plain", 20): FAST, ("residual", 20): SLOW}, "holds_only_if"),
        ({("plain", 20): FAST, ("residual", 20): MIXED}, "inconclusive"),
        ({("plain", 50): [(INF, 100, 0.01, 0.02)] * 5}, "not_measured"),  # LN never trains
    ],
)
def test_less_oscillation_uses_paired_log_ratios(conds, want):
    frames = {"training/summary": training(conds)}
    assert verdict("4.1.4-less-oscillation", frames, CFG)["verdict"] == want


def test_one_outlier_seed_cannot_make_layernorm_oscillate_less():
    # means say LN oscillates less (one huge none seed), the paired ratios say the opposite
    seeds = [(50, 60, 0.03, 0.02)] * 4 + [(50, 60, 0.03, 5.0)]
    frames = {"training/summary": training({("residual", 10): seeds})}
    assert verdict("4.1.4-less-oscillation", frames, CFG)["verdict"] != "holds"


@pytest.mark.parametrize(
    "ln_grad,none_grad,want",
    [(0.1, 1e-9, "holds"), (1e-9, 1e-9, "fails"), (0.1, 0.1, "holds_only_if")],
)
def test_vanishing_gradients(ln_grad, none_grad, want):
    s = training({("plain", 20): FAST})
    s.loc[s["norm"] == "layernorm", "grad_norm_first_layer_init"] = ln_grad
    s.loc[s["norm"] == "none", "grad_norm_first_layer_init"] = none_grad
    assert verdict("4.1.4-fewer-vanishing-exploding", {"training/summary": s})["verdict"] == want


# ---------------------------------------------------------------- batch dependence


def batch_stats(ln_sd=0.0, bn_sd=0.5, ln_online=True, bn_eval_online=False) -> pd.DataFrame:
    rows = []
    for norm in ("batchnorm", "layernorm"):
        for mode in ("train", "eval"):
            for b in (1, 2, 8):
                sd = (
                    (bn_sd / math.sqrt(b) if mode == "train" else 0.0)
                    if norm == "batchnorm"
                    else ln_sd
                )
                ok = ln_online if norm == "layernorm" else (bn_eval_online and mode == "eval")
                rows.append(
                    {
                        "norm": norm,
                        "mode": mode,
                        "batch_size": b,
                        "output_std": sd if b >= 2 else 0.0,
                        "runs": ok or norm == "batchnorm" and mode == "eval",
                        "informative": ok,
                        "matches_batched_output": ok,
                    }
                )
    return pd.DataFrame(rows)


@pytest.mark.parametrize("ln_sd,want", [(0.0, "holds"), (1e-3, "fails")])
def test_batch_dependence(ln_sd, want):
    frames = {"batch_dependence/stats": batch_stats(ln_sd=ln_sd)}
    assert verdict("6.2-batchnorm-batch-dependent", frames)["verdict"] == want


@pytest.mark.parametrize(
    "ln_ok,bn_eval,want",
    [(True, False, "holds"), (True, True, "holds_only_if"), (False, False, "fails")],
)
def test_online_inference(ln_ok, bn_eval, want):
    frames = {"batch_dependence/stats": batch_stats(ln_online=ln_ok, bn_eval_online=bn_eval)}
    assert verdict("6.2-online-inference", frames)["verdict"] == want


# ---------------------------------------------------------------- transformer


def transformer(post: dict, none: dict | None) -> dict:
    """warm-up flag -> final losses per seed for Post-LN and (optionally) no normalization."""
    rows = []
    for arch, losses in (("post_ln", post), ("pre_ln", {False: [1.0] * 3, True: [1.0] * 3})) + (
        (("none", none),) if none is not None else ()
    ):
        for warm, vals in losses.items():
            for seed, v in enumerate(vals):
                rows.append(
                    {
                        "layers": 12,
                        "arch": arch,
                        "warmup": warm,
                        "seed": seed,
                        "final_loss": v,
                        "diverged": not np.isfinite(v),
                        "chance_loss": math.log(10),
                    }
                )
    grads = pd.DataFrame(
        [
            {"param": "ffn_w2", "layers": 12, "arch": a, "layer": i, "seed": 0, "grad_norm": g}
            for a in ("post_ln", "pre_ln")
            for i, g in enumerate((0.1, 0.2))
        ]
    )
    return {"transformer/summary": pd.DataFrame(rows), "transformer/grads": grads}


LEARNS, CHANCE = [1.0, 1.1, 0.9], [2.30, 2.31, 2.29]


@pytest.mark.parametrize(
    "post,none,want",
    [
        ({False: LEARNS, True: LEARNS}, {False: CHANCE, True: CHANCE}, "holds"),
        ({False: CHANCE, True: LEARNS}, {False: [1.5, 1.6, 1.4], True: CHANCE}, "holds_only_if"),
        ({False: CHANCE, True: CHANCE}, {False: CHANCE, True: CHANCE}, "fails"),  # no learning
        ({False: [2.0] * 3, True: [1.9] * 3}, {False: [1.0] * 3, True: [1.0] * 3}, "fails"),
        ({False: LEARNS, True: LEARNS}, None, "inconclusive"),  # no baseline in this build
        (
            {False: LEARNS, True: LEARNS},
            {False: [0.7, 1.1, 1.5], True: [0.7, 1.1, 1.5]},
            "inconclusive",
        ),
        ({False: [math.nan] * 3, True: [math.nan] * 3}, None, "fails"),  # diverged
    ],
)
def test_post_ln_compares_with_no_normalization(post, none, want):
    row = verdict("6.3-post-ln-trains", transformer(post, none), CFG)
    assert row["verdict"] == want
    if none is None and want == "inconclusive":
        assert "no Transformer without normalization" in row["condition"]


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
