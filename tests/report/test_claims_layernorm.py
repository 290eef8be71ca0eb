"""The claim rules about LayerNorm's statistics on hand-built frames: mean 0 and std 1, the
paper's examples, eps placement, correlations, gamma/beta and numerical stability."""

import math

import pandas as pd
import pytest

from claims_kit import verdict


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
    "nonfinite,want",
    [
        (set(), "holds"),
        ({("naive", "float32", 1e4)}, "holds_only_if"),
        ({(m, "float16", 1e2) for m in ("naive", "two_pass", "welford", "torch")}, "fails"),
        # an input that already overflows its dtype tests nothing: not LayerNorm's fault
        ({("torch", "float16", 1e5)}, "holds"),
    ],
)
def test_numerical_stability_is_values_kept_in_range(nonfinite, want):
    rows = []
    for m in ("naive", "two_pass", "welford", "torch"):
        for dtype in ("float32", "float16"):
            for offset in (0.0, 1e2, 1e4, 1e5):
                bad = (m, dtype, offset) in nonfinite
                rows.append(
                    {
                        "error_source": "total",
                        "dtype": dtype,
                        "method": m,
                        "offset": offset,
                        # accuracy does not decide: Welford's 0.2 is above the 0.1 threshold
                        "max_abs_error": math.nan if bad else (0.2 if m == "welford" else 0.01),
                        "finite_output": not bad,
                        "input_overflow": dtype == "float16" and offset == 1e5,
                    }
                )
    row = verdict("9-numerically-stable", {"precision/errors": pd.DataFrame(rows)})
    assert row["verdict"] == want
    assert "no overflow, no NaN" in row["theory"]
    if want == "holds_only_if":
        assert "welford" in row["condition"].lower() and "two-pass" in row["condition"].lower()
        assert "NaN/inf output at float32 offset 10000" in row["measured"]
        assert "float32 max error non-finite (NaN/inf)" in row["measured"]
