"""Every estimate the text quotes carries its 95% interval over independent replicates: the
median overflow step (order statistics over the matmul seeds), the FFN gradient at init (mean
over the gradient seeds), the best transformer accuracy (mean over that model's seeds), a
BatchNorm spread (an SD over the batches) and its log-log slope (over the batch sizes), and the
tables those numbers are read from keep the bounds beside each estimate."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from lnpaper.report import formatting, numbers, summaries, tables
from lnpaper.report.step_config import StepConfig

# the estimates of sections 5, 6.2 and 6.3 the text quotes, and what each interval is over
WITH_INTERVAL = [
    "MatmulFactorNormalHalf",
    "MatmulFactorNormalTwo",
    *(f"MatmulOverflowNormal{w}" for w in ("Half", "One", "OneHalf", "Two")),
    *(f"TransformerGrad{a}{e}" for a in ("Post", "Pre") for e in ("Bottom", "Top")),
    "TransformerAccMax",
    "BatchStdBnSmallest",
    "BatchStdBnLargest",
    "BatchSlopeBn",
]


def test_the_quoted_estimates_declare_an_interval():
    spec = {n.name: n for n in numbers.SPEC}
    assert [n for n in WITH_INTERVAL if spec[n].uncertainty is None] == []


def trajectories(steps_by_seed: list[float], n_steps: int = 50) -> pd.DataFrame:
    """Per-seed trajectories of one plain condition whose float32 norm overflows at the given
    step (NaN: never), plus its LayerNorm twin (never overflows)."""
    rows = []
    for seed, first in enumerate(steps_by_seed):
        for ln in (False, True):
            for k in range(n_steps + 1):
                inf = not ln and not math.isnan(first) and k >= first
                rows.append(
                    {
                        "b_dist": "normal",
                        "n": 30,
                        "scale": 0.5,
                        "layernorm": ln,
                        "seed": seed,
                        "step": k,
                        "log_norm": 0.1 * k,
                        "norm_fp32": math.inf if inf else 1.0,
                        "entry_overflow": inf,
                        "log_vector_norm": 0.1 * k,
                    }
                )
    return pd.DataFrame(rows)


def test_the_overflow_steps_interval_holds_the_median_and_its_bounds_are_seed_steps():
    steps = [41, 42, 40, 41, 41, 41, 41, 41, 42, 41, 42, 42, 42, 41, 41, 43, 42, 42, 41, 40]
    plain = pd.DataFrame({"b_dist": ["normal"], "n": [30], "scale": [0.5]})
    frames = {"matmul/trajectories": trajectories(steps)}
    got = summaries.overflow_step_ci(frames, plain, burn_in=5)
    lo, hi = got["overflow_step_median_ci_low"][0], got["overflow_step_median_ci_high"][0]
    assert (lo, hi) == (41.0, 42.0) and lo <= float(np.median(steps)) <= hi
    # most seeds never overflow: the upper bound is "never", reported as NaN like the median
    never = [10.0] * 5 + [math.nan] * 15
    got = summaries.overflow_step_ci({"matmul/trajectories": trajectories(never)}, plain, 5)
    assert math.isnan(got["overflow_step_median_ci_high"][0])
    assert summaries.overflow_step_ci({}, plain, 5) == {}  # no trajectories, no columns


def test_a_median_step_prints_whole_with_its_interval_in_the_table_and_the_text():
    t = pd.DataFrame(
        {
            "b_dist": ["normal"] * 2,
            "n": [30, 30],
            "scale": [0.5, 1.0],
            "overflow_step_median": [41.0, 25.0],
            "overflow_step_median_ci_low": [41.0, 25.0],
            "overflow_step_median_ci_high": [42.0, 25.0],
        }
    )
    shown = formatting.merge_ci(t)
    assert shown["overflow_step_median_ci"].tolist() == ["[41, 42]", "[25, 25]"]
    assert shown["overflow_step_median"].tolist() == ["41", "25"]
    names = ["MatmulOverflowNormalHalf", "MatmulOverflowNormalOne"]
    got = numbers.compute({"table:scale_behavior": t}, {}, names).set_index("name")
    assert got.loc["MatmulOverflowNormalHalf", "text"] == "41 [41, 42]"
    assert got.loc["MatmulOverflowNormalHalf", "ci_half_width"] == 0.5
    # every seed overflowed at step 25: an interval of zero width, shown as such
    assert got.loc["MatmulOverflowNormalOne", "text"] == "25 [25, 25]"
    assert got.loc["MatmulOverflowNormalOne", "ci_half_width"] == 0.0


def transformer_frames(seeds: int = 5) -> dict:
    rng = np.random.default_rng(0)
    grads, summary = [], []
    for arch, scale in (("post_ln", 1.0), ("pre_ln", 0.3)):
        for seed in range(seeds):
            for layer in (1, 2, 3):
                g = scale * layer * (1 + 0.2 * rng.standard_normal())
                grads.append(
                    dict(layers=3, arch=arch, seed=seed, layer=layer, param="ffn_w2", grad_norm=g)
                )
            for warm in (False, True):
                summary.append(
                    dict(
                        layers=3,
                        arch=arch,
                        warmup=warm,
                        seed=seed,
                        final_loss=1.0 + 0.1 * rng.standard_normal(),
                        test_accuracy=(0.3 if warm else 0.5) + 0.02 * rng.standard_normal(),
                        diverged=False,
                        chance_loss=2.3,
                    )
                )
    return {"transformer/grads": pd.DataFrame(grads), "transformer/summary": pd.DataFrame(summary)}


def test_transformer_gradients_and_best_accuracy_carry_their_seed_intervals():
    frames = transformer_frames()
    cfg = StepConfig({"transformer": {}}, 42, "en")
    t = tables.build("transformer_pre_post", frames, cfg)
    for stem in ("grad_ffn_bottom_init", "grad_ffn_top_init", "test_accuracy"):
        est = t[stem if stem.startswith("grad") else f"{stem}_mean"]
        assert (t[f"{stem}_ci_low"] <= est).all() and (est <= t[f"{stem}_ci_high"]).all()
        assert (t[f"{stem}_ci_low"] < t[f"{stem}_ci_high"]).all()  # seeds differ: a spread
    g = frames["transformer/grads"]
    top = g[(g["arch"] == "post_ln") & (g["layer"] == 3)]["grad_norm"]
    post = t[t["arch"] == "post_ln"].iloc[0]
    assert post["grad_ffn_top_init"] == pytest.approx(top.mean())
    assert top.min() <= post["grad_ffn_top_init_ci_low"]  # a bootstrap of the mean stays inside
    got = numbers.compute(
        {"table:transformer_pre_post": t}, {}, ["TransformerAccMax", "TransformerGradPostTop"]
    ).set_index("name")
    best = t.loc[t["test_accuracy_mean"].idxmax()]
    acc = got.loc["TransformerAccMax"]
    assert acc["value"] == best["test_accuracy_mean"]
    half = (best["test_accuracy_ci_high"] - best["test_accuracy_ci_low"]) / 2
    assert acc["ci_half_width"] == pytest.approx(half) and (
        "±" in acc["text"] or "[" in acc["text"]
    )
    assert math.isfinite(got.loc["TransformerGradPostTop", "ci_half_width"])


def test_the_growth_factor_interval_is_the_rates_mapped_through_exp():
    from lnpaper.report.tables import scale_behavior

    g = pd.DataFrame(
        {
            "b_dist": ["normal"] * 2,
            "n": [30, 30],
            "scale": [0.5, 0.5],
            "layernorm": [False, True],
            "draw_set": ["normal/n=30"] * 2,
            **{c: [0.99, 0.0] for c in ("growth_rate_mean", "growth_rate_theory")},
            "growth_rate_ci_low": [0.97, 0.0],
            "growth_rate_ci_high": [1.01, 0.0],
            **{f"frobenius_rate{e}": [1.0, 0.0] for e in ("_mean", "_ci_low", "_ci_high")},
            "rate_minus_log_scale": [1.68, 0.0],
            "growth_factor": [math.exp(0.99), 1.0],
            **{c: [41.0, np.nan] for c in ("overflow_step_median", "entry_overflow_step_median")},
            **{c: [0.19, np.nan] for c in ("critical_scale_theory", "critical_scale_measured")},
            "final_norm_median": [np.inf, 30.0],
        }
    )
    cfg = StepConfig({"matmul": {"scales": [0.5], "near_critical_tol": 0.02}}, 42, "en")
    row = scale_behavior({"matmul/growth": g}, cfg).iloc[0]
    assert row["growth_factor_ci_low"] == pytest.approx(math.exp(0.97))
    assert row["growth_factor_ci_low"] < row["growth_factor"] < row["growth_factor_ci_high"]
    assert "overflow_step_median_ci_low" not in row  # no trajectories given: no such column
