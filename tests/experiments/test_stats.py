import math

import numpy as np
import pytest

from lnpaper.experiments.stats import expanded_alpha, interval, wilson


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
