"""lnpaper bench's training-loop part: FLOP counting, the ratio to raw bmm and its verdict."""

from __future__ import annotations

import pytest

from lnpaper.tools.bench import models, report


def test_rate_row_counts_flops_and_compares_with_raw_time():
    counts = {(5, 64, 64, 64): 300, (2, 8, 4, 8): 10}
    raw = {(5, 64, 64, 64): 1e-4, (2, 8, 4, 8): 1e-6}
    r = models._rate_row("x", 0.2, counts, raw)
    flop = 300 * 2 * 5 * 64**3 + 10 * 2 * 2 * 8 * 4 * 8
    assert r["gflops"] == pytest.approx(flop / 0.2 / 1e9)
    assert r["ratio"] == pytest.approx((300 * 1e-4 + 10 * 1e-6) / 0.2)


def test_models_table_gives_the_median_over_classes_and_the_verdict():
    rows = [
        {"class": f"c{i}", "cpu_s": 1.0, "gflops": 10.0, "ratio": r}
        for i, r in enumerate((0.2, 0.6, 0.7))
    ]
    rates = {"steps": 5, "threads": 1, "training": rows, "transformer": rows[:1]}
    text = report.table_models(rates)
    assert "| training | 0.20 / 0.60 / 0.70 | >= 0.5 | met |" in text
    rates["training"] = rows[:2]  # median 0.4
    assert "missed by 20 %" in report.table_models(rates)


def test_hidden_matmuls_follow_the_stacked_depths():
    """Depths 2 and 4, 3 seeds: hidden layer 1 holds both depths (6 models), layers 2 and 3
    only the deeper one (3 models); three products per layer and step."""
    counts = models.hidden_matmuls([4, 2], 3, 16, 8, steps=10)
    assert counts == {(6, 16, 8, 8): 30, (3, 16, 8, 8): 60}


def test_compile_pays_back_only_when_the_steps_saved_exceed_the_compile():
    """60 s of compiling against 10 ms saved per step: 6000 steps to break even, so 300 steps
    per class do not pay (24 classes: 1440 s compiled, 72 s saved); 30 s saved per step do."""
    r = models.payback(60.0, 0.05, 0.04, steps=300, classes=24)
    assert r["break_even_steps"] == pytest.approx(6000)
    assert r["build_compile_s"] == pytest.approx(1440)
    assert r["build_saved_s"] == pytest.approx(72)
    assert not r["paid_back"]
    assert "| paid back within the build | no |" in report.table_compile(
        {"class": "c", "threads": 1, **r}
    )
    assert models.payback(60.0, 0.5, 0.2, steps=300, classes=24)["paid_back"]
    slower = models.payback(60.0, 0.04, 0.05, steps=300, classes=24)
    assert slower["break_even_steps"] == float("inf") and not slower["paid_back"]


@pytest.mark.parametrize("kind", models.CEILING_KINDS)
def test_the_bare_kernel_ceiling_computes_the_gradients_autograd_computes(kind):
    """The ceiling loop must do the training step's arithmetic, not less: its gradients equal
    autograd's for the same stacked net (depths 3 and 2, 2 seeds each, so the shallower models
    leave the stack and their own outputs seed the gradient at layer 1)."""
    import torch
    import torch.nn.functional as F

    gen = torch.Generator().manual_seed(3)
    active, width, batch = [4, 4, 2], 8, 5
    ws = [torch.randn(k, width, width, generator=gen) * 0.4 for k in active]
    bs = [torch.randn(k, 1, width, generator=gen) * 0.1 for k in active]
    x = torch.randn(4, batch, width, generator=gen)
    gw, gb = models.bare_step(ws, bs, x, active, kind)

    leaves = [t.clone().requires_grad_() for t in ws + bs]
    lw, lb = leaves[:3], leaves[3:]
    h, ended = x, []
    for w, b, k in zip(lw, lb, active):
        if k < h.shape[0]:
            ended.append(h[k:])
            h = h[:k]
        if kind == "matmuls":
            h = torch.bmm(h, w)
        else:
            z = torch.baddbmm(b, h, w)
            h = torch.relu(F.layer_norm(z, (width,), eps=1e-5) if kind == "layernorm" else z)
    (h.sum() + sum(e.sum() for e in ended)).backward()
    for mine, leaf in zip(gw, lw):
        torch.testing.assert_close(mine, leaf.grad, rtol=1e-5, atol=1e-6)
    for mine, leaf in zip(gb, lb):
        if kind == "matmuls":
            assert mine is None and leaf.grad is None
        else:
            torch.testing.assert_close(mine, leaf.grad, rtol=1e-5, atol=1e-6)
    assert all(g.abs().sum() > 0 for g in gw)  # a layer that got no gradient tests nothing
