"""Normalization layers written for stacks of independent models: every tensor is (S, B, H),
S = models trained side by side (seeds), B = batch, H = features. Parameters carry the S axis
too, so one ``torch.bmm`` step trains S seeds at once while each seed sees only its own slice.

Each forward matches PyTorch's module on one slice (test_normalizers checks this):
layernorm = nn.LayerNorm(H), rmsnorm = nn.RMSNorm(H), batchnorm = nn.BatchNorm1d(H) (train: batch
statistics, biased variance; eval: running statistics, updated with the unbiased variance),
groupnorm = nn.GroupNorm(G, H), dyt = gamma * tanh(alpha x) + beta (Zhu et al. 2025, alpha
init 0.5), none = identity.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

NORMS = ["none", "layernorm", "rmsnorm", "batchnorm", "groupnorm", "dyt"]


class StackedNorm(nn.Module):
    """One normalization layer for S stacked models of width H."""

    def __init__(
        self,
        kind: str,
        n_models: int,
        width: int,
        eps: float = 1e-5,
        groups: int = 8,
        momentum: float = 0.1,
        dyt_alpha: float = 0.5,
        device=None,
        dtype=torch.float32,
    ):
        super().__init__()
        if kind not in NORMS:
            raise ValueError(f"unknown normalization {kind!r}; known: {', '.join(NORMS)}")
        if kind == "groupnorm" and width % groups:
            raise ValueError(f"groupnorm: width {width} is not divisible by {groups} groups")
        self.kind, self.eps, self.groups, self.momentum = kind, eps, groups, momentum
        kw = {"device": device, "dtype": dtype}
        if kind == "none":
            return
        self.weight = nn.Parameter(torch.ones(n_models, 1, width, **kw))  # S,1,H
        if kind != "rmsnorm":
            self.bias = nn.Parameter(torch.zeros(n_models, 1, width, **kw))  # S,1,H
        if kind == "dyt":
            self.alpha = nn.Parameter(torch.full((n_models, 1, 1), dyt_alpha, **kw))  # S,1,1
        if kind == "batchnorm":
            self.register_buffer("running_mean", torch.zeros(n_models, 1, width, **kw))
            self.register_buffer("running_var", torch.ones(n_models, 1, width, **kw))

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # x: S,B,H
        # PyTorch's fused kernels do the normalization (one op instead of five: the loop is
        # overhead-bound at width 64); the per-model affine is applied on top.
        k = self.kind
        if k == "none":
            return x
        s, b, h = x.shape
        if k == "layernorm":
            return F.layer_norm(x, (h,), eps=self.eps) * self.weight + self.bias
        if k == "rmsnorm":
            return F.rms_norm(x, (h,), eps=self.eps) * self.weight
        if k == "groupnorm":  # groups of H/G consecutive features of each sample
            y = F.group_norm(x.reshape(s * b, h), self.groups, eps=self.eps)
            return y.reshape(s, b, h) * self.weight + self.bias
        if k == "dyt":
            return torch.tanh(self.alpha * x) * self.weight + self.bias
        # batchnorm: the S models' features side by side as S*H channels, so each model is
        # normalized over its own batch; running statistics as nn.BatchNorm1d (unbiased var)
        y = F.batch_norm(
            x.transpose(0, 1).reshape(b, s * h),
            self.running_mean.view(-1),
            self.running_var.view(-1),
            training=self.training,
            momentum=self.momentum,
            eps=self.eps,
        )
        return y.reshape(b, s, h).transpose(0, 1) * self.weight + self.bias
