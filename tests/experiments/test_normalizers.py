"""The stacked normalizers against their definitions and against PyTorch's own modules, and the
batch dependence of BatchNorm against the exact batch independence of LayerNorm."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from lnpaper.experiments import batch_dependence
from lnpaper.experiments.normalizers import NORMS, StackedNorm
from lnpaper.report.tables import bn_vs_ln, loglog_slope, online_ok

S, B, H = 3, 16, 12


@pytest.fixture
def x():
    g = torch.Generator().manual_seed(0)
    return torch.randn(S, B, H, generator=g) * 3 + 1.5


def randomize(norm: StackedNorm, seed: int = 1) -> StackedNorm:
    """Non-trivial gains and biases, so a wrong affine cannot pass."""
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for p in norm.parameters():
            p.copy_(torch.randn(p.shape, generator=g))
    return norm


def test_layernorm_matches_definition_and_nn_layernorm(x):
    n = randomize(StackedNorm("layernorm", S, H))
    y = n(x)
    mu, var = x.mean(-1, keepdim=True), x.var(-1, unbiased=False, keepdim=True)
    torch.testing.assert_close(y, (x - mu) / torch.sqrt(var + 1e-5) * n.weight + n.bias)
    for s in range(S):
        ref = nn.LayerNorm(H, eps=1e-5)
        with torch.no_grad():
            ref.weight.copy_(n.weight[s, 0])
            ref.bias.copy_(n.bias[s, 0])
        torch.testing.assert_close(y[s], ref(x[s]))


def test_rmsnorm_matches_definition_and_nn_rmsnorm(x):
    n = randomize(StackedNorm("rmsnorm", S, H))
    y = n(x)
    torch.testing.assert_close(y, x / torch.sqrt(x.pow(2).mean(-1, keepdim=True) + 1e-5) * n.weight)
    assert not hasattr(n, "bias")  # RMSNorm has a gain only
    for s in range(S):
        ref = nn.RMSNorm(H, eps=1e-5)
        with torch.no_grad():
            ref.weight.copy_(n.weight[s, 0])
        torch.testing.assert_close(y[s], ref(x[s]))


@pytest.mark.parametrize("groups", [1, 3, 4])
def test_groupnorm_matches_nn_groupnorm(x, groups):
    n = randomize(StackedNorm("groupnorm", S, H, groups=groups))
    y = n(x)
    for s in range(S):
        ref = nn.GroupNorm(groups, H, eps=1e-5)
        with torch.no_grad():
            ref.weight.copy_(n.weight[s, 0])
            ref.bias.copy_(n.bias[s, 0])
        torch.testing.assert_close(y[s], ref(x[s]))


def test_groupnorm_with_one_group_is_layernorm(x):
    gn, ln = StackedNorm("groupnorm", S, H, groups=1), StackedNorm("layernorm", S, H)
    torch.testing.assert_close(gn(x), ln(x))


def test_batchnorm_matches_nn_batchnorm1d_in_train_and_eval(x):
    n = randomize(StackedNorm("batchnorm", S, H))
    refs = []
    for s in range(S):
        ref = nn.BatchNorm1d(H, eps=1e-5, momentum=0.1)
        with torch.no_grad():
            ref.weight.copy_(n.weight[s, 0])
            ref.bias.copy_(n.bias[s, 0])
        refs.append(ref)
    for step in range(3):  # running statistics follow nn.BatchNorm1d's (unbiased variance)
        xs = x * (step + 1) - step
        y = n(xs)
        for s in range(S):
            torch.testing.assert_close(y[s], refs[s](xs[s]))
    n.eval()
    y = n(x)
    for s in range(S):
        refs[s].eval()
        torch.testing.assert_close(y[s], refs[s](x[s]))
        torch.testing.assert_close(n.running_var[s, 0], refs[s].running_var)


def test_dyt_shape_parameters_and_definition(x):
    n = StackedNorm("dyt", S, H, dyt_alpha=0.5)
    shapes = {name: tuple(p.shape) for name, p in n.named_parameters()}
    assert shapes == {"weight": (S, 1, H), "bias": (S, 1, H), "alpha": (S, 1, 1)}
    assert torch.all(n.alpha == 0.5)
    randomize(n)
    y = n(x)
    assert y.shape == x.shape
    torch.testing.assert_close(y, n.weight * torch.tanh(n.alpha * x) + n.bias)


def test_each_model_is_normalized_on_its_own(x):
    """Changing one stacked model's input never changes another model's output."""
    for kind in NORMS:
        n = randomize(StackedNorm(kind, S, H, groups=4))
        y0 = n(x)
        x2 = x.clone()
        x2[0] = x2[0] * 7 - 3
        y2 = n(x2)
        assert torch.equal(y0[1:], y2[1:]), kind


def test_batchnorm_depends_on_batch_mates_layernorm_does_not():
    g = torch.Generator().manual_seed(3)
    sample = torch.randn(1, H, generator=g)
    mates = [torch.randn(7, H, generator=g) for _ in range(2)]
    for kind in ("batchnorm", "layernorm", "rmsnorm", "groupnorm"):
        n = StackedNorm(kind, 1, H, groups=4)
        a = n(torch.cat([sample, mates[0]])[None])[0, 0]
        b = n(torch.cat([sample, mates[1]])[None])[0, 0]
        if kind == "batchnorm":
            assert (a - b).abs().max() > 0.05
        else:
            assert torch.equal(a, b), kind  # exactly, not approximately


@pytest.fixture(scope="module")
def stats():
    cfg = dict(
        width=64,
        batch_sizes=[1, 2, 8, 32, 128],
        n_batches=300,
        warmup_batches=20,
        warmup_batch_size=32,
        groupnorm_groups=8,
        eps=1e-5,
    )
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # thousands of tiny calls: threads only add contention
    try:
        return batch_dependence.run(cfg, seed=5)["stats"]
    finally:
        torch.set_num_threads(threads)


def test_batchnorm_spread_falls_as_one_over_sqrt_batch(stats):
    bn = stats[(stats["norm"] == "batchnorm") & (stats["mode"] == "train")].set_index("batch_size")
    # B=2: BN outputs exactly +-1, the sign set by the other sample: SD E[2 sqrt(p(1-p))] ~ 0.78
    assert bn.loc[2, "output_std"] == pytest.approx(0.78, abs=0.06)
    assert -0.6 < loglog_slope(stats, "batchnorm", "train") < -0.4
    per_sample = stats[stats["norm"] != "batchnorm"]
    assert (per_sample["output_std"] == 0).all()
    evals = stats[(stats["norm"] == "batchnorm") & (stats["mode"] == "eval")]
    assert (evals["output_std"] == 0).all()


def test_online_inference_by_mode(stats):
    one = stats[
        (stats["norm"] == "batchnorm") & (stats["mode"] == "train") & (stats["batch_size"] == 1)
    ]
    assert not one["runs"].iloc[0] and "more than 1 value" in one["error"].iloc[0]
    assert not online_ok(stats, "batchnorm", "train")
    for norm in ("layernorm", "rmsnorm", "groupnorm", "batchnorm"):
        assert online_ok(stats, norm, "eval"), norm
    table = bn_vs_ln({"batch_dependence/stats": stats}, {})
    assert len(table) == 8 and list(table["norm"])[:2] == ["layernorm", "layernorm"]
    bn = table.set_index(["norm", "mode"]).loc[("batchnorm", "train")]
    assert bn["batch_dependent"] and bn["n_batches"] == 300
    # the slope's interval holds the slope and, over 4 sizes, resolves it from 0 and from -1
    assert -1 < bn["loglog_slope_ci_low"] < bn["loglog_slope"] < bn["loglog_slope_ci_high"] < 0
