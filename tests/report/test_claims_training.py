"""The claim rules about training on hand-built frames: faster convergence and less oscillation
as paired tests over seeds, vanishing gradients, batch dependence, online inference and the
Post-LN Transformer against no normalization."""

import math

import numpy as np
import pandas as pd
import pytest

from claims_kit import CFG, curves, training, verdict
from lnpaper.report.numfmt import fmt
from lnpaper.report.step_config import StepConfig
from lnpaper.report.summaries import sd_interval

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
# each verdict of a paired comparison over the seeds of two conditions, for either measure
PAIRED = [
    ({("plain", 20): FAST, ("residual", 20): FAST}, "holds"),
    ({("plain", 20): SLOW, ("residual", 20): SLOW}, "fails"),
    ({("plain", 20): FAST, ("residual", 20): SLOW}, "holds_only_if"),
    ({("plain", 20): MIXED, ("residual", 20): MIXED}, "inconclusive"),
    # a condition decided either way is reported, not averaged away with an undecided one
    ({("plain", 20): FAST, ("residual", 20): MIXED}, "holds_only_if"),
    ({("plain", 20): SLOW, ("residual", 20): MIXED}, "fails"),
]


@pytest.mark.parametrize(
    "conds,want",
    PAIRED
    + [
        # neither net reaches the threshold: no convergence speed is measured
        ({("plain", 50): [(INF, INF, 0.0, 0.0)] * 5}, "not_measured"),
        # measured where a net converges only; a condition where none does is named, not counted
        ({("plain", 50): [(INF, INF, 0.0, 0.0)] * 5, ("residual", 20): FAST}, "holds_only_if"),
        ({("plain", 20): [(100, 100, 0.0, 0.0)] * 5}, "fails"),  # every seed ties: not faster
    ],
)
def test_faster_convergence_is_a_paired_sign_test(conds, want):
    frames = {"training/summary": training(conds)}
    row = verdict("4.1.4-faster-convergence", frames)
    assert row["verdict"] == want
    if want == "holds_only_if" and {("plain", 20), ("residual", 20)} <= set(conds):
        # where it holds, fails and is undecided are all named
        assert "only in: digits (sklearn)/plain MLP/depth 20" in row["condition"]
        assert ("undecided in" in row["condition"]) == (conds[("residual", 20)] is MIXED)
        assert ("fails in" in row["condition"]) == (conds[("residual", 20)] is SLOW)


def test_binomial_test_is_exact_and_one_sided():
    from lnpaper.report.verdicts import ALPHA, binomial_p, count_state

    assert ALPHA == pytest.approx(0.05)
    assert binomial_p(5, 5) == pytest.approx(1 / 32)
    assert binomial_p(4, 4) == pytest.approx(1 / 16)
    assert binomial_p(0, 5, "less") == pytest.approx(1 / 32)
    assert binomial_p(5, 5, "two-sided") == pytest.approx(2 / 32)
    assert [count_state(k, n) for k, n in ((5, 5), (4, 4), (0, 5), (0, 4), (4, 5))] == [
        "holds",
        "inconclusive",
        "fails",
        "inconclusive",
        "inconclusive",
    ]


@pytest.mark.parametrize("n_seeds,want", [(4, "inconclusive"), (5, "holds"), (6, "holds")])
def test_seed_count_needs_the_exact_test(n_seeds, want):
    # all seeds agree: 4 of 4 (p = 0.0625) does not decide, 5 of 5 (p = 0.031) does
    frames = {"training/summary": training({("plain", 20): FAST[:1] * n_seeds})}
    row = verdict("4.1.4-faster-convergence", frames)
    assert row["verdict"] == want
    assert f"{n_seeds}/{n_seeds} seeds (one-sided p = {fmt(2.0**-n_seeds)})" in row["measured"]


@pytest.mark.parametrize(
    "conds,want",
    PAIRED
    + [
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
                        "n_batches": 20,
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
    row = verdict("6.2-batchnorm-batch-dependent", frames)
    assert row["verdict"] == want
    # the headline spread (smallest batch with one) carries its chi-square interval over batches
    assert (row["value_ci_low"], row["value_ci_high"]) == pytest.approx(
        sd_interval(row["value"], 20)
    )
    assert row["value_ci_low"] < row["value"] < row["value_ci_high"]


@pytest.mark.parametrize(
    "ln_ok,bn_eval,want",
    [(True, False, "holds"), (True, True, "holds_only_if"), (False, False, "fails")],
)
def test_online_inference(ln_ok, bn_eval, want):
    frames = {"batch_dependence/stats": batch_stats(ln_online=ln_ok, bn_eval_online=bn_eval)}
    assert verdict("6.2-online-inference", frames)["verdict"] == want


LEARNS, CHANCE = [1.0, 1.1, 0.9], [2.30, 2.31, 2.29]


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


@pytest.mark.parametrize(
    "post,none,want",
    [
        ({False: LEARNS, True: LEARNS}, {False: CHANCE, True: CHANCE}, "holds"),
        ({False: CHANCE, True: LEARNS}, {False: [1.5, 1.6, 1.4], True: CHANCE}, "holds_only_if"),
        ({False: CHANCE, True: CHANCE}, {False: CHANCE, True: CHANCE}, "fails"),  # no learning
        ({False: [2.0] * 3, True: [1.9] * 3}, {False: [1.0] * 3, True: [1.0] * 3}, "fails"),
        ({False: LEARNS, True: LEARNS}, None, "inconclusive"),  # no baseline in this build
        # significant without warm-up, undecided with it: reported, not averaged away
        (
            {False: LEARNS, True: LEARNS},
            {False: CHANCE, True: [0.7, 1.1, 1.5]},
            "holds_only_if",
        ),
        # significantly worse than the baseline in one setting, undecided in the other
        (
            {False: [2.0] * 3, True: LEARNS},
            {False: [1.0] * 3, True: [0.7, 1.1, 1.5]},
            "fails",
        ),
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
    if want == "holds_only_if" and none[True] == [0.7, 1.1, 1.5]:
        assert row["condition"] == "without warm-up; undecided in: with warm-up"


def test_post_ln_with_one_warmup_setting_names_the_other_as_not_run():
    """A config with warm-up only: the verdict rests on that setting, and the text says the
    other was not run instead of printing a dash for it."""
    row = verdict("6.3-post-ln-trains", transformer({True: CHANCE}, None), CFG)
    assert row["verdict"] == "fails"  # Post-LN with warm-up does not learn: measured
    assert "not run in this config" in row["measured"]
    assert "–" not in row["measured"]


def test_claim_rules_on_constructed_results():
    from lnpaper.report import claims

    rows = []
    for arch, none_steps in (("plain", np.nan), ("residual", 20.0)):
        for n, steps, osc in (("none", none_steps, 0.3), ("layernorm", 40.0, 0.1)):
            for s in range(5):  # a paired sign test needs 5 agreeing seeds at 95%
                rows.append(
                    {
                        "dataset": "d",
                        "arch": arch,
                        "depth": 10,
                        "norm": n,
                        "seed": s,
                        "test_accuracy": 0.9,
                        "test_loss": 0.3,
                        "steps_to_threshold": steps,
                        "loss_oscillation": osc,
                        "diverged": False,
                        "grad_norm_first_layer_init": 1e-9
                        if (n, arch) == ("none", "plain")
                        else 0.5,
                    }
                )
    cfg = StepConfig({"training": {}}, seed=0, language="en")
    summary = pd.DataFrame(rows)
    grads = curves({("plain", 10): (0.5, 1e-9), ("residual", 10): (0.5, 0.5)})
    frames = {"training/summary": summary, "training/curves": grads.assign(dataset="d")}
    res = claims.evaluate_all(frames, cfg).set_index("claim_id")
    # LN reaches the threshold where none never does (plain) but later where both do (residual)
    assert res.loc["4.1.4-faster-convergence", "verdict"] == "holds_only_if"
    assert "plain" in res.loc["4.1.4-faster-convergence", "condition"]
    assert res.loc["4.1.4-less-oscillation", "verdict"] == "holds_only_if"  # only residual testable
    # tested where the unnormalized net vanishes (plain); residual has nothing to reduce
    assert res.loc["4.1.4-fewer-vanishing-exploding", "verdict"] == "holds"
    assert "not tested in: d/residual" in res.loc["4.1.4-fewer-vanishing-exploding", "condition"]
