import math

import pytest

from lnpaper.experiments import theory


@pytest.mark.parametrize("n, expected", [(10, 1.0996), (30, 1.6837)])
def test_lyapunov_exponent_matches_closed_form(n, expected):
    assert theory.lyapunov_top(n) == pytest.approx(expected, abs=1e-4)


def test_lyapunov_approaches_half_log_n_for_large_n():
    # lambda_1(n) ~ (ln n)/2 - 1/(2n): growth factor of a Gaussian matrix ~ sqrt(n)
    n = 10_000
    assert theory.lyapunov_top(n) == pytest.approx(0.5 * math.log(n) - 0.5 / n, abs=1e-6)


def test_critical_scales():
    assert theory.critical_scale("normal", 30) == pytest.approx(0.1857, abs=1e-4)
    assert theory.critical_scale("orthogonal", 30) == 1.0
    # N(0,1/n): s = 1 is slightly subcritical, drift -0.017 per step at n = 30
    assert theory.growth_rate("scaled_normal", 30, 1.0) == pytest.approx(-0.0169, abs=2e-4)


@pytest.mark.parametrize("k, r", [(3, 0.7236), (10, 0.9227), (30, 0.9748), (100, 0.9925)])
def test_pearson_formula_values(k, r):
    assert theory.pearson_r_groupwise(k) == pytest.approx(r, abs=1e-4)


def test_unbiased_std_after_ln_explains_paper_1_02():
    assert theory.unbiased_std_after_ln(10) == pytest.approx(1.0541, abs=1e-4)
    assert theory.unbiased_std_after_ln(30) == pytest.approx(1.0171, abs=1e-4)
    assert theory.unbiased_std_after_ln(900) == pytest.approx(1.00056, abs=1e-5)


def test_eps_placement_formulas_at_sigma_1e_3():
    assert theory.ln_output_std(1e-3, 1e-5, "pytorch") == pytest.approx(0.3015, abs=1e-4)
    assert theory.ln_output_std(1e-3, 1e-5, "paper") == pytest.approx(0.990, abs=1e-3)


def test_finite_group_pearson_matches_monte_carlo_and_tends_to_the_limit():
    import numpy as np

    rng = np.random.default_rng(12345)
    k, groups, reps = 10, 3, 100_000
    x = rng.standard_normal((reps, groups, k))
    y = (x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True)
    xc = x.reshape(reps, -1) - x.reshape(reps, -1).mean(1, keepdims=True)
    yc = y.reshape(reps, -1) - y.reshape(reps, -1).mean(1, keepdims=True)
    r = (xc * yc).sum(1) / np.sqrt((xc**2).sum(1) * (yc**2).sum(1))
    se = r.std() / np.sqrt(reps)
    assert abs(r.mean() - theory.pearson_r_finite_groups(k, groups)) < 4 * se
    assert abs(r.mean() - theory.pearson_r_groupwise(k)) > 20 * se  # the limit does not apply
    # rows of 300 entries with 10 groups sit above the many-groups limit
    assert theory.pearson_r_finite_groups(300, 10) == pytest.approx(0.997747, abs=2e-6)
    assert theory.pearson_r_finite_groups(30, 10**6) == pytest.approx(
        theory.pearson_r_groupwise(30), abs=1e-7
    )
