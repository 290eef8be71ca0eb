import numpy as np
import pytest
import torch

from lnpaper.experiments import affine, data, layernorm_stats, theory


@pytest.fixture(scope="module")
def matrices():
    return data.generate_matrices(["3x10", "30x30"], 20, 42)


def test_layernorm_output_mean_zero_biased_std_one(matrices):
    # eps -> 0 isolates the identity; with eps the std is sqrt(v/(v+eps)) (test_affine below)
    stats = layernorm_stats.before_after(
        matrices, ["3x10", "30x30"], ["row", "column", "all"], eps=1e-12, dtype="float64"
    )
    after = stats[stats["stage"] == "after"]
    assert after["max_abs_group_mean"].max() < 1e-6
    assert np.abs(after["std_biased"] - 1).max() < 1e-5


def test_unbiased_std_is_sqrt_k_over_k_minus_1(matrices):
    stats = layernorm_stats.before_after(matrices, ["30x30"], ["row"], eps=1e-12, dtype="float64")
    after = stats[stats["stage"] == "after"]
    assert after["std_unbiased"].mean() == pytest.approx(theory.unbiased_std_after_ln(30), abs=1e-6)


def test_whole_tensor_correlation_is_exactly_one(matrices):
    stats = layernorm_stats.before_after(matrices, ["3x10"], ["all", "column"], eps=1e-5)
    after = stats[stats["stage"] == "after"].groupby("normalized_over")["pearson_r"].mean()
    assert after["all"] == pytest.approx(1.0, abs=1e-6)
    assert after["column"] < 0.85  # groups of 3: theory 0.7236


def test_pearson_r_vs_group_size_matches_gamma_formula():
    corr = layernorm_stats.correlation_vs_group_size(
        [3, 10, 30], 900, 60, [[0.0, 1.0], [5.0, 3.0]], base_seed=1, eps=1e-5
    )
    for (k, _mu), g in corr[corr["scope"] == "group"].groupby(["group_size", "input_mean"]):
        se = g["pearson_r"].std(ddof=1) / np.sqrt(len(g))
        assert abs(g["pearson_r"].mean() - theory.pearson_r_groupwise(k)) < 4 * se + 1e-3


def test_eps_placement_shows_torch_uses_sqrt_var_plus_eps():
    df = layernorm_stats.eps_placement([1e-3], eps=1e-5, width=30, n_rows=50, base_seed=0)
    by = df.set_index("formula")
    assert by.loc["torch", "output_std"] == pytest.approx(0.3015, abs=1e-3)
    assert by.loc["paper", "output_std"] == pytest.approx(0.990, abs=1e-3)
    assert by.loc["pytorch", "max_abs_diff_vs_torch"] < 1e-10
    assert by.loc["paper", "max_abs_diff_vs_torch"] > 1.0


def test_reference_layernorm_matches_torch_forward_and_backward_float64():
    gen = torch.Generator().manual_seed(0)
    x = (torch.randn(8, 16, 32, generator=gen, dtype=torch.float64) * 3 + 2).requires_grad_()
    w = torch.randn(32, generator=gen, dtype=torch.float64, requires_grad=True)
    b = torch.randn(32, generator=gen, dtype=torch.float64, requires_grad=True)
    y_ref = layernorm_stats.reference_layer_norm(x, (32,), w, b, eps=1e-5)
    y_torch = torch.nn.functional.layer_norm(x, (32,), w, b, eps=1e-5)
    assert (y_ref - y_torch).abs().max() < 1e-6
    g = torch.randn_like(y_ref)
    grads_ref = torch.autograd.grad(y_ref, (x, w, b), g)
    grads_torch = torch.autograd.grad(y_torch, (x, w, b), g)
    for a, c in zip(grads_ref, grads_torch):
        assert (a - c).abs().max() < 1e-6


def test_affine_mean_is_beta_and_std_is_gamma_shrunk(matrices):
    cfg = dict(
        shape="30x30",
        normalized_over="all",
        gamma=[1.0, 3.0],
        beta=[0.0, 5.0],
        eps=1e-5,
        dtype="float64",
    )
    s = affine.run(cfg, seed=0, inputs={"matrices": matrices})["stats"]
    assert np.abs(s["mean"] - s["beta"]).max() < 1e-12
    assert np.abs(s["std_biased"] - s["std_biased_theory"]).max() < 1e-12
    g3 = s[(s["gamma"] == 3) & (s["beta"] == 5)]
    assert g3["mean"].mean() == pytest.approx(5.0, abs=1e-9)
    assert g3["std_biased"].mean() == pytest.approx(3.0, abs=1e-4)
    # torch.std's default (unbiased) over 900 entries is 3 * sqrt(900/899)
    assert g3["std_unbiased"].mean() == pytest.approx(3 * np.sqrt(900 / 899), abs=1e-4)
