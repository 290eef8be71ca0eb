"""Experiment 3: setting LayerNorm's gamma (weight) and beta (bias) by hand.

Identities checked: output mean = beta exactly; biased std = gamma * sqrt(v / (v + eps)),
with v the biased variance of each normalized group (averaged as variances).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lnpaper.experiments.data import matrices_of
from lnpaper.experiments.groups import groups_of


def run(
    cfg: dict, *, seed: int, inputs: dict | None = None, device: str = "cpu", progress=None
) -> dict[str, pd.DataFrame]:
    matrices = inputs["matrices"]
    import torch
    from torch import nn

    dtype = getattr(torch, cfg.get("dtype", "float32"))
    x = torch.from_numpy(matrices_of(matrices, cfg["shape"])).to(dtype)  # seeds,rows,cols
    rows, cols = x.shape[-2:]
    shape = {"row": (cols,), "all": (rows, cols)}[cfg["normalized_over"]]
    v = groups_of(x.double().numpy(), cfg["normalized_over"]).var(axis=-1)  # seeds,groups (biased)
    shrink = np.sqrt((v / (v + cfg["eps"])).mean(axis=-1))  # seeds
    out = []
    for gamma in cfg["gamma"]:
        for beta in cfg["beta"]:
            ln = nn.LayerNorm(shape, eps=cfg["eps"], dtype=dtype)
            with torch.no_grad():
                ln.weight.fill_(gamma)
                ln.bias.fill_(beta)
                y = ln(x).reshape(len(x), -1).double()  # statistics in float64
            out.append(
                pd.DataFrame(
                    {
                        "gamma": float(gamma),
                        "beta": float(beta),
                        "seed": np.arange(len(x)),
                        "mean": y.mean(dim=1).numpy(),
                        "std_biased": y.std(dim=1, unbiased=False).numpy(),
                        "std_unbiased": y.std(dim=1, unbiased=True).numpy(),
                        "mean_theory": float(beta),
                        "std_biased_theory": gamma * shrink,
                    }
                )
            )
    return {"stats": pd.concat(out, ignore_index=True)}


def summary_metrics(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    stats = frames["stats"]
    return {
        "max_abs_mean_error": float((stats["mean"] - stats["mean_theory"]).abs().max()),
        "max_abs_std_error": float((stats["std_biased"] - stats["std_biased_theory"]).abs().max()),
    }
