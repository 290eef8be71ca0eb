"""Experiment `batch_dependence` (paper 6.2, Tables 6.2 / 4.2.2): does a sample's output depend
on the other samples in its batch?

One fixed sample x0 is placed in ``n_batches`` random batches of each size B (batch-mates drawn
from the same N(0,1) distribution, the same batch-mates for every normalization), and passed
through PyTorch's own modules: nn.BatchNorm1d (train mode: batch statistics; eval mode: running
statistics from ``warmup_batches`` earlier training batches), nn.LayerNorm, nn.RMSNorm and
nn.GroupNorm. ``output_std`` is the SD of x0's output over the batches, averaged over features.
Batch size 1 is online inference: whether the module runs at all, and whether it gives x0 the
same output it gets inside a batch.
"""

from __future__ import annotations

import pandas as pd
import torch
from torch import nn

from lnpaper.experiments.seeding import torch_generator

NORMS = ["batchnorm", "layernorm", "rmsnorm", "groupnorm"]


def make_module(norm: str, width: int, groups: int, eps: float) -> nn.Module:
    if norm == "batchnorm":
        return nn.BatchNorm1d(width, eps=eps)
    if norm == "layernorm":
        return nn.LayerNorm(width, eps=eps)
    if norm == "rmsnorm":
        return nn.RMSNorm(width, eps=eps)
    if norm == "groupnorm":
        return nn.GroupNorm(groups, width, eps=eps)
    raise ValueError(f"unknown normalization {norm!r}")


def draw_inputs(cfg: dict, base_seed: int):
    """The fixed sample x0 (1,H), the BatchNorm warm-up batches (from x0's generator, after
    it), and per batch size B the batch-mates of every batch (R,B-1,H, own generator)."""
    width = cfg["width"]
    gen = torch_generator(base_seed, "batch_dependence", "sample")
    x0 = torch.randn(1, width, generator=gen)  # 1,H
    warm = [
        torch.randn(cfg["warmup_batch_size"], width, generator=gen)
        for _ in range(cfg["warmup_batches"])
    ]
    mates = {
        b: torch.randn(
            cfg["n_batches"],
            max(b - 1, 0),
            width,
            generator=torch_generator(base_seed, "batch_dependence", b),
        )
        for b in cfg["batch_sizes"]
    }  # R,B-1,H
    return x0, warm, mates


def measure(module: nn.Module, x0, mates, ref) -> dict:
    """x0's output over the batches [x0, mates[r]]: its SD over batches (mean and max over
    features), whether the module runs at all, whether the output is informative (not all
    zero), and whether the first batch's output matches ``ref`` (x0 in the largest batch)."""
    outs, error = [], ""
    try:
        for r in range(mates.shape[0]):
            batch = torch.cat([x0, mates[r]])  # B,H
            outs.append(module(batch)[0])
    except (ValueError, RuntimeError) as exc:  # BatchNorm train at B=1
        error = str(exc).splitlines()[0][:200]
    if outs:
        y = torch.stack(outs).double()  # R,H
        std = float(y.std(0, unbiased=True).mean()) if len(outs) > 1 else 0.0
        std_max = float(y.std(0, unbiased=True).max()) if len(outs) > 1 else 0.0
        same = bool(ref is not None and torch.allclose(outs[0], ref, rtol=0, atol=1e-6))
        informative = bool(y.abs().max() > 0)
    else:
        std = std_max = float("nan")
        same = informative = False
    return {
        "output_std": std,
        "output_std_max": std_max,
        "runs": not error,
        "informative": informative,
        "matches_batched_output": same,
        "error": error,
    }


def run(
    cfg: dict, *, seed: int, inputs: dict | None = None, device: str = "cpu", progress=None
) -> dict[str, pd.DataFrame]:
    """x0's output in many random batches, per normalization, mode (train / eval) and batch
    size: one row each of ``stats``."""
    x0, warm, mates = draw_inputs(cfg, seed)
    largest = mates[max(cfg["batch_sizes"])][0]
    rows = []
    for norm in NORMS:
        module = make_module(norm, cfg["width"], cfg["groupnorm_groups"], cfg["eps"])
        module.train()
        with torch.no_grad():
            for w in warm:  # fills BatchNorm's running statistics; the others have none
                module(w)
        for mode in ("train", "eval"):
            module.train(mode == "train")
            with torch.no_grad():
                batched = mode == "eval" or norm != "batchnorm"
                ref = module(torch.cat([x0, largest]))[0] if batched else None
                for b in cfg["batch_sizes"]:
                    rows.append(
                        {
                            "norm": norm,
                            "mode": mode,
                            "batch_size": int(b),
                            "n_batches": cfg["n_batches"],
                            **measure(module, x0, mates[b], ref),
                        }
                    )
    return {"stats": pd.DataFrame(rows)}


def summary_metrics(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    stats = frames["stats"]
    m = {}
    for (norm, mode, b), v in stats.set_index(["norm", "mode", "batch_size"])["output_std"].items():
        m[f"output_std.{norm}.{mode}.B{b}"] = float(v)
    return m
