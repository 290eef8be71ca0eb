import math

import numpy as np
import pandas as pd
import pytest

from lnpaper.experiments import matmul, theory


@pytest.fixture(scope="module")
def small():
    cfg = dict(
        b_dists=["normal", "scaled_normal", "orthogonal"],
        sizes=[10, 30],
        scales=[0.5, 1.0, 2.0],
        critical_factors=[1.0],
        steps=40,
        n_seeds=12,
        burn_in=8,
        eps=1e-5,
        bootstrap_resamples=500,
    )
    return cfg, matmul.run(cfg, seed=7)


def test_growth_rate_matches_lyapunov_theory(small):
    cfg, out = small
    g = out["growth"][~out["growth"]["layernorm"]]
    err = (g["growth_rate_mean"] - g["growth_rate_theory"]).abs()
    assert err.max() < 0.03, g.loc[err.idxmax()].to_dict()


def test_orthogonal_products_grow_exactly_by_log_s(small):
    _, out = small
    g = out["growth"]
    orth = g[(g["b_dist"] == "orthogonal") & ~g["layernorm"]]
    np.testing.assert_allclose(orth["growth_rate_mean"], np.log(orth["scale"]), atol=1e-12)


def test_layernorm_pins_the_norm_at_sqrt_rows_cols(small):
    _, out = small
    t = out["trajectories"]
    normed = t[t["layernorm"] & (t["step"] > 0)]
    expected = normed["n"].astype(float)  # sqrt(n*n) for n x n
    # exactly sqrt(sum_rows n v/(v+eps)): rows of small variance v sit a hair below n
    assert np.all(normed["norm_fp32"] <= expected * (1 + 1e-6))
    assert np.allclose(normed["norm_fp32"], expected, rtol=5e-4)


def test_fp32_norm_overflows_where_exact_log_norm_passes_float32_max(small):
    _, out = small
    t = out["trajectories"]
    plain = t[~t["layernorm"]]
    over = plain["log_norm"] > math.log(3.5e38)  # beyond float32 range: must be inf
    assert over.any()
    assert np.isinf(plain.loc[over, "norm_fp32"]).all()
    fine = plain["log_norm"] < math.log(1e18)  # well inside: finite and accurate
    rel = np.abs(plain.loc[fine, "norm_fp32"] / np.exp(plain.loc[fine, "log_norm"]) - 1)
    assert rel.max() < 1e-3


def test_norm_overflow_step_near_the_float32_limit():
    # N(0,1), n = 30: ||A|| passes 1.8e19 (where the naive float32 norm squares overflow)
    # around step 24 for s = 1 and 17 for s = 2
    traj = matmul.simulate("normal", 30, [1.0, 2.0], n_seeds=20, steps=40, base_seed=42)
    g = matmul.growth_table(traj, burn_in=5, base_seed=42, resamples=200)
    g = g[~g["layernorm"]].set_index("scale")["overflow_step_median"]
    assert abs(g[1.0] - 24) <= 2 and abs(g[2.0] - 17) <= 2


def test_critical_scale_grid_brackets_prediction():
    scales = matmul.scales_for("normal", 30, [0.5, 1.0], [0.9, 1.0, 1.1])
    s_star = theory.critical_scale("normal", 30)
    assert min(scales) < s_star < max(scales)
    assert any(math.isclose(s, s_star, rel_tol=1e-9) for s in scales)


def test_simulate_is_byte_identical_run_to_run():
    a = matmul.simulate("orthogonal", 10, [0.5, 2.0], n_seeds=3, steps=5, base_seed=1)
    b = matmul.simulate("orthogonal", 10, [0.5, 2.0], n_seeds=3, steps=5, base_seed=1)
    assert a.equals(b)
    assert pd.util.hash_pandas_object(a).sum() == pd.util.hash_pandas_object(b).sum()


def test_a_seed_does_not_depend_on_its_batch(monkeypatch):
    # per-seed generators drawn step by step: splitting seeds into batches (what bounds memory
    # at 1000 seeds x n = 1024) must leave every seed's trajectory as it was
    whole = matmul.simulate("normal", 12, [1.0, 1.5], n_seeds=5, steps=6, base_seed=3)
    monkeypatch.setattr(matmul, "seeds_per_batch", lambda n, c: 2)
    split = matmul.simulate("normal", 12, [1.0, 1.5], n_seeds=5, steps=6, base_seed=3)
    pd.testing.assert_frame_equal(whole, split, check_exact=False, rtol=1e-12)


def test_seed_batches_bound_memory_at_scale():
    per = matmul.seeds_per_batch(1024, 1)
    assert per == 16  # 16 x 1024^2 float64 = 128 MiB per state tensor
    assert matmul.seeds_per_batch(10, 9) >= 1000  # the default build runs in one batch


def test_vector_steps_are_exact_chi_n_log_ratios(small):
    # ||v_k|| / ||v_{k-1}|| = s b chi_n at every step: pooled over steps and seeds its log has
    # the mean ln s + ln b + lambda_1(n) and the variance trigamma(n/2) / 4
    from scipy.special import polygamma

    _, out = small
    t = out["trajectories"]
    v = t[(t["b_dist"] == "normal") & (t["n"] == 30) & (t["scale"] == 1.0) & ~t["layernorm"]]
    inc = v.sort_values(["seed", "step"]).groupby("seed")["log_vector_norm"].diff().dropna()
    sd = math.sqrt(float(polygamma(1, 15)) / 4)
    assert abs(inc.mean() - theory.lyapunov_top(30)) < 4 * sd / math.sqrt(len(inc))
    assert abs(inc.std() / sd - 1) < 0.15


def test_scales_of_one_draw_set_differ_by_exactly_log_s(small):
    _, out = small
    g = out["growth"][~out["growth"]["layernorm"]]
    for _, d in g.groupby("draw_set"):
        spread = d["rate_minus_log_scale"].max() - d["rate_minus_log_scale"].min()
        assert spread < 1e-12
        assert d["draw_set"].nunique() == 1 and d["b_dist"].nunique() == 1


def test_unbiased_rate_covers_theory_and_frobenius_rate_is_kept(small):
    _, out = small
    g = out["growth"][~out["growth"]["layernorm"]]
    gauss = g[g["b_dist"] != "orthogonal"]
    inside = (gauss["growth_rate_ci_low"] <= gauss["growth_rate_theory"]) & (
        gauss["growth_rate_theory"] <= gauss["growth_rate_ci_high"]
    )
    cov = matmul.theory_coverage(out["growth"])
    assert cov["theory_inside_ci"] == inside.sum() and cov["draw_sets"] == 4
    assert cov["draw_sets_theory_inside_ci"] >= 3  # 4 independent 95% intervals
    # the Frobenius rate after the burn-in is a different, upward-biased estimate
    assert (gauss["frobenius_rate_mean"] - gauss["growth_rate_theory"]).mean() > 0
    assert not np.allclose(gauss["frobenius_rate_mean"], gauss["growth_rate_mean"])
