import math

import numpy as np
import pytest

from lnpaper.experiments.stats import expanded_alpha, interval, median_rank, wilson


def test_intervals_stay_inside_what_is_possible():
    rng = np.random.default_rng(0)
    acc = [0.9, 1.0, 1.0, 1.0, 0.96]  # t interval: [0.894, 1.026]
    m, lo, hi = interval(acc, rng)
    assert 0.9 <= lo <= m <= hi <= 1.0
    osc = [0.0001, 0.0002, 0.008, 0.0003, 0.0001]  # a spread: t interval goes negative
    m, lo, hi = interval(osc, np.random.default_rng(1), kind="positive")
    assert 0 < lo <= m <= hi
    p, lo, hi = interval([True] * 5, kind="proportion")
    assert p == 1.0 and 0.5 < lo < 1.0 and hi == 1.0
    with pytest.raises(ValueError):
        interval([1.0, -1.0], np.random.default_rng(2), kind="positive")


def test_wilson_matches_closed_form():
    lo, hi = wilson(0, 5)
    assert lo == 0.0 and hi == pytest.approx(0.4345, abs=1e-4)
    lo, hi = wilson(4, 5)
    assert (lo, hi) == pytest.approx((0.3755, 0.9638), abs=1e-4)


def test_expanded_bootstrap_has_nominal_coverage_for_20_normal_seeds():
    # the plain percentile interval of 20 values covers ~93%; the expanded one ~95%
    assert expanded_alpha(20, 0.95) < 0.025
    rng = np.random.default_rng(11)
    hits = 0
    trials = 1500
    for _ in range(trials):
        x = rng.standard_normal(20)
        _, lo, hi = interval(x, rng, resamples=1000)
        hits += lo <= 0 <= hi
    assert hits / trials > 0.93  # binomial SE ~0.006 around 0.95


def test_same_rng_same_interval_and_nan_ignored():
    a = interval([1.0, 2.0, math.nan, 4.0], np.random.default_rng(5))
    b = interval([1.0, 2.0, 4.0], np.random.default_rng(5))
    assert a == b
    assert all(math.isnan(v) for v in interval([], np.random.default_rng(5)))


def test_median_interval_is_the_order_statistic_one():
    # n = 20: [x_(6), x_(15)], P(Binomial(20, 1/2) <= 5) = 0.0207 per side, 95.9% in all
    assert median_rank(20) == 6 and median_rank(6) == 1 and median_rank(5) is None
    steps = [41, 42, 40, 41, 41, 41, 41, 41, 42, 41, 42, 42, 42, 41, 41, 43, 42, 42, 41, 40]
    assert interval(steps, kind="median") == (41.0, 41.0, 42.0)
    m, lo, hi = interval([3, 1, 2, 5, 4], kind="median")  # too few values for 95%
    assert m == 3.0 and math.isnan(lo) and math.isnan(hi)
    # "never" (inf) counts as the largest value; NaN is dropped
    m, lo, hi = interval([1, 2, 3, 4, 5, 6, math.inf, math.inf, math.nan], kind="median")
    assert (m, lo, hi) == (4.5, 1.0, math.inf)


def test_median_interval_covers_a_skewed_distributions_median_at_its_level():
    # exponential(1): median ln 2; the exact coverage at n = 20 is 95.86% whatever the law
    rng = np.random.default_rng(3)
    trials = 2000
    hits = sum(
        lo <= math.log(2) <= hi
        for lo, hi in (interval(rng.exponential(size=20), kind="median")[1:] for _ in range(trials))
    )
    assert 0.94 < hits / trials < 0.975  # binomial SE ~0.0045 around 0.9586
