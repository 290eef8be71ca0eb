"""StackedAdam is torch.optim.Adam(fused=True), bit for bit, per group of stacked models."""

import pytest
import torch

from lnpaper.experiments.optim import StackedAdam


def _params(seed, twins=False):
    """Six stacked models; with ``twins`` models 3-5 start as copies of models 0-2."""
    g = torch.Generator().manual_seed(seed)
    shapes = [(5, 4), (1, 4)]
    if twins:
        return [torch.randn(3, *s, generator=g).repeat(2, 1, 1) for s in shapes]
    return [torch.randn(6, *s, generator=g) for s in shapes]


def _grads(step, params, twins=False):
    g = torch.Generator().manual_seed(100 + step)
    if twins:
        return [torch.randn(3, *p.shape[1:], generator=g).repeat(2, 1, 1) for p in params]
    return [torch.randn(p.shape, generator=g) for p in params]


def test_one_group_matches_torch_adam_exactly():
    mine = [p.clone() for p in _params(0)]
    ref = [torch.nn.Parameter(p.clone()) for p in _params(0)]
    opt = StackedAdam(mine, betas=(0.9, 0.98), eps=1e-8)
    torch_opt = torch.optim.Adam(ref, lr=3e-3, betas=(0.9, 0.98), eps=1e-8, fused=True)
    for step in range(7):
        for p, r, gr in zip(mine, ref, _grads(step, mine)):
            p.grad, r.grad = gr.clone(), gr.clone()
        opt.step(3e-3)
        torch_opt.step()
    for p, r in zip(mine, ref):
        assert torch.equal(p, r.detach())


def test_groups_take_their_own_learning_rate_schedule():
    """Two groups of three models that start equal and get equal gradients: each equals a torch
    Adam over just its slice with its own learning rate at every step (a warm-up ramp for the
    second), so the groups end apart."""
    mine = [p.clone() for p in _params(1, twins=True)]
    refs = [
        [torch.nn.Parameter(p[a:b].clone()) for p in _params(1, twins=True)]
        for a, b in ((0, 3), (3, 6))
    ]
    opt = StackedAdam(mine, bounds=[(0, 3), (3, 6)])
    torch_opts = [torch.optim.Adam(r, lr=1.0, fused=True) for r in refs]
    for step in range(6):
        lrs = [1e-3, 1e-3 * min(1.0, (step + 1) / 4)]
        grads = _grads(step, mine, twins=True)
        for p, gr in zip(mine, grads):
            p.grad = gr.clone()
        for (a, b), ref, t, lr in zip(((0, 3), (3, 6)), refs, torch_opts, lrs):
            for r, gr in zip(ref, grads):
                r.grad = gr[a:b].clone()
            t.param_groups[0]["lr"] = lr
            t.step()
        opt.step(lrs)
    for (a, b), ref in zip(((0, 3), (3, 6)), refs):
        for p, r in zip(mine, ref):
            assert torch.equal(p[a:b], r.detach())
    assert torch.equal(_params(1, twins=True)[0][:3], _params(1, twins=True)[0][3:])
    assert not torch.equal(mine[0][:3], mine[0][3:])  # only the schedules differed


def test_parameters_must_share_the_model_axis():
    with pytest.raises(ValueError, match="model axis"):
        StackedAdam([torch.zeros(6, 2), torch.zeros(4, 2)], bounds=[(0, 3), (3, 6)])
    StackedAdam([torch.zeros(6, 2), torch.zeros(4, 2)])  # one group: any sizes
