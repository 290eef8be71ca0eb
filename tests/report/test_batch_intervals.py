"""The intervals of the batch-dependence numbers: the chi-square interval of an SD (exact for
normal draws, conservative for BatchNorm's spread averaged over features) and the least-squares
interval of the log-log slope, checked against their coverage and against scipy."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import torch
from scipy import stats as scipy_stats

from lnpaper.report import formatting, numbers, tables
from lnpaper.report.step_config import StepConfig
from lnpaper.report.summaries import loglog_slope, loglog_slope_ci, sd_interval


def test_sd_interval_covers_a_normal_sd_95_percent_of_the_time():
    rng = np.random.default_rng(0)
    reps, n, sigma = 4000, 12, 2.5
    hits = 0
    for _ in range(reps):
        lo, hi = sd_interval(float(rng.normal(0, sigma, n).std(ddof=1)), n)
        hits += lo <= sigma <= hi
    # binomial SE of a 95% coverage over 4000 reps is 0.0034: +-0.015 is over 4 SE
    assert abs(hits / reps - 0.95) < 0.015


def bn_train_output(x0: np.ndarray, mates: np.ndarray, eps: float = 1e-5) -> np.ndarray:
    """x0's output from BatchNorm in train mode in each batch [x0, mates[r]] (R,H)."""
    batch = np.concatenate([np.broadcast_to(x0, (mates.shape[0], 1, x0.size)), mates], axis=1)
    mean, var = batch.mean(1), batch.var(1)  # biased variance, as BatchNorm normalizes with
    return (x0 - mean) / np.sqrt(var + eps)


def test_the_numpy_batchnorm_is_torchs():
    rng = np.random.default_rng(1)
    x0, mates = rng.normal(size=(1, 6)), rng.normal(size=(3, 4, 6))
    bn = torch.nn.BatchNorm1d(6).double().train()
    want = [bn(torch.from_numpy(np.concatenate([x0, m])))[0].detach().numpy() for m in mates]
    assert np.allclose(bn_train_output(x0[0], mates), np.stack(want), atol=1e-10)


@pytest.mark.parametrize("b", [2, 8])
def test_the_spread_interval_is_conservative_for_batchnorm(b):
    """The quoted spread: mean over features of each feature's SD over R batches. Its target is
    the same mean of the population SDs (x0 fixed), measured here from 40000 batches. The
    per-feature chi-square interval covers it in every one of 400 draws here (the mean over 16
    features varies far less than one SD): conservative, never below the nominal 95%."""
    rng = np.random.default_rng(10 + b)
    width, r, reps = 16, 40, 400
    x0 = rng.normal(size=width)
    truth = bn_train_output(x0, rng.normal(size=(40000, b - 1, width))).std(0).mean()
    hits = 0
    for _ in range(reps):
        spread = bn_train_output(x0, rng.normal(size=(r, b - 1, width))).std(0, ddof=1).mean()
        lo, hi = sd_interval(float(spread), r)
        hits += lo <= truth <= hi
    assert hits / reps >= 0.95


def stats_frame(sizes, sds) -> pd.DataFrame:
    return pd.DataFrame(
        {"norm": "batchnorm", "mode": "train", "batch_size": sizes, "output_std": sds}
    )


def test_the_slope_interval_is_the_least_squares_one():
    sizes, sds = [2, 4, 8, 32, 128], [0.9, 0.52, 0.36, 0.18, 0.088]
    t = stats_frame(sizes, sds)
    fit = scipy_stats.linregress(np.log(sizes), np.log(sds))
    lo, hi = loglog_slope_ci(t, "batchnorm", "train")
    assert loglog_slope(t, "batchnorm", "train") == pytest.approx(fit.slope)
    assert (hi - lo) / 2 == pytest.approx(scipy_stats.t.ppf(0.975, 3) * fit.stderr)
    assert lo < fit.slope < hi
    # two sizes fit a line exactly: no residuals, no interval
    assert all(
        math.isnan(v) for v in loglog_slope_ci(stats_frame([2, 8], [0.9, 0.4]), *t.iloc[0, :2])
    )


def test_the_slope_interval_covers_a_power_law_95_percent_of_the_time():
    rng = np.random.default_rng(3)
    sizes = np.array([2, 4, 8, 32, 128])
    hits, reps = 0, 600
    for _ in range(reps):
        sds = np.exp(-0.5 * np.log(sizes) + rng.normal(0, 0.1, sizes.size))
        lo, hi = loglog_slope_ci(stats_frame(sizes, sds), "batchnorm", "train")
        hits += lo <= -0.5 <= hi
    # binomial SE of 95% over 600 reps is 0.009: +-0.035 is about 4 SE
    assert abs(hits / reps - 0.95) < 0.035


def test_the_quoted_spreads_print_as_their_table_cells_with_the_tables_intervals():
    """The table gives every spread its chi-square interval; the quoted numbers take theirs from
    it and print the digits the table prints (one formatter)."""
    sizes = [1, 2, 4, 8, 32, 128]
    sds = [float("nan"), 0.78, 0.5, 0.33, 0.17, 0.0871]
    stats = stats_frame(sizes, sds).assign(
        n_batches=200, error="", runs=True, informative=True, matches_batched_output=False
    )
    layer = stats.assign(norm="layernorm", output_std=0.0, matches_batched_output=True)
    cfg = StepConfig({}, seed=42, language="en")
    t = tables.build("bn_vs_ln", {"batch_dependence/stats": pd.concat([stats, layer])}, cfg)
    bn = t[t["norm"] == "batchnorm"].iloc[0]
    at = int((t["norm"] == "batchnorm").to_numpy().nonzero()[0][0])
    assert (bn["output_std_b2_ci_low"], bn["output_std_b2_ci_high"]) == sd_interval(0.78, 200)
    ln = t[t["norm"] == "layernorm"].iloc[0]  # no spread: no interval (never [0, 0] as noise)
    assert math.isnan(ln["output_std_b8_ci_low"]) and ln["output_std_b8"] == 0
    names = ["BatchStdBnSmallest", "BatchStdBnLargest", "BatchSlopeBn"]
    got = numbers.compute({"table:bn_vs_ln": t}, {}, names).set_index("name")
    lo, hi = sd_interval(0.78, 200)
    assert got.at["BatchStdBnSmallest", "ci_half_width"] == pytest.approx((hi - lo) / 2)
    cells = formatting.printed_frame(t).iloc[at]
    for name, col in (
        ("BatchStdBnSmallest", "output_std_b2"),
        ("BatchStdBnLargest", "output_std_b128"),
    ):
        assert got.at[name, "text"].split(" ± ")[0].split(" [")[0] == cells[col], name
    assert cells["output_std_b128"] == "0.087"  # the interval's digits, not the raw 0.0871
    assert got.at["BatchSlopeBn", "text"].startswith("\u2212")  # a minus sign, with its interval
    assert " [" in got.at["BatchSlopeBn", "text"] or " ± " in got.at["BatchSlopeBn", "text"]
