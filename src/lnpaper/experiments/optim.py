"""Adam for stacked models: the same update as ``torch.optim.Adam(fused=True)``, bit for bit,
without its per-step Python work.

The experiments train S models side by side as tensors with a leading model axis, and split
that axis into groups that differ only in their learning rate (the transformer's runs with and
without warm-up). ``torch.optim.Adam`` walks every parameter in Python on each step (state
look-up, one step counter per tensor, grouping by device) before its one fused kernel: at
~150 small tensors that bookkeeping cost as much as the update itself (profiled: 4 ms of
Python around 1.6 ms of kernel per transformer step). Here the bookkeeping is done once: each
group's parameter slices and moment buffers are fixed views, the step count is one tensor per
group, and a step is one call of the same fused kernel per group.
"""

from __future__ import annotations

import torch


class StackedAdam:
    """Adam over ``params`` (each with the model axis first); with ``bounds``, the models
    ``bounds[g]`` = (start, stop) form group g, with its own learning rate. Gradients are read
    from ``p.grad`` at each step, so backward may replace them (``set_to_none``) or add into
    them."""

    def __init__(
        self,
        params: list[torch.Tensor],
        bounds: list[tuple[int, int]] | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
    ):
        self.params = list(params)
        if not self.params:
            raise ValueError("StackedAdam needs at least one parameter")
        # groups cut the model axis, which the parameters must then share; without groups
        # they may differ (the MLP's deeper layers hold fewer models)
        if bounds is None:
            self.groups = [slice(None)]
        else:
            self.groups = [slice(a, b) for a, b in bounds]
            n = self.params[0].shape[0]
            for p in self.params:
                if p.shape[0] != n:
                    raise ValueError(f"parameters disagree on the model axis: {p.shape[0]} vs {n}")
        self.beta1, self.beta2, self.eps = float(betas[0]), float(betas[1]), float(eps)
        exp_avg = [torch.zeros_like(p) for p in self.params]
        exp_avg_sq = [torch.zeros_like(p) for p in self.params]
        # each group's slices of the weights and of the moment buffers: fixed views
        self._views = [
            (
                [p.detach()[g] for p in self.params],
                [m[g] for m in exp_avg],
                [v[g] for v in exp_avg_sq],
            )
            for g in self.groups
        ]
        # the kernel wants one step tensor per parameter; it only reads them, so one tensor
        # per group, listed once per parameter, counts for all
        device = self.params[0].device
        self._steps = [torch.zeros((), dtype=torch.float32, device=device) for _ in self.groups]

    def step(self, lrs: list[float] | float) -> None:
        """One Adam step; ``lrs`` = one learning rate per group (or one for all)."""
        if not isinstance(lrs, (list, tuple)):
            lrs = [lrs] * len(self.groups)
        with torch.no_grad():
            for g, (ps, ms, vs), t, lr in zip(self.groups, self._views, self._steps, lrs):
                t += 1
                torch._fused_adam_(
                    ps,
                    [p.grad[g] for p in self.params],
                    ms,
                    vs,
                    [],
                    [t] * len(ps),
                    lr=float(lr),
                    beta1=self.beta1,
                    beta2=self.beta2,
                    weight_decay=0.0,
                    eps=self.eps,
                    amsgrad=False,
                    maximize=False,
                )
