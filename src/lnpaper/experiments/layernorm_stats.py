"""Experiment 2: what nn.LayerNorm does to a matrix's statistics, and why the paper's numbers look
the way they do (biased vs unbiased std, group size, eps placement)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lnpaper.experiments import theory
from lnpaper.experiments.data import matrices_of, parse_shape
from lnpaper.experiments.groups import groups_of
from lnpaper.experiments.seeding import torch_generator


def apply_layernorm(x, normalized_over: str, eps: float):
    """nn.LayerNorm (default affine: weight 1, bias 0) on x (seeds, rows, cols).

    PyTorch normalizes over the trailing dims only, so 'column' needs a transpose.
    """
    from torch import nn

    rows, cols = x.shape[-2:]
    if normalized_over == "row":
        return nn.LayerNorm(cols, eps=eps, dtype=x.dtype)(x)
    if normalized_over == "column":
        return nn.LayerNorm(rows, eps=eps, dtype=x.dtype)(x.transpose(-1, -2)).transpose(-1, -2)
    if normalized_over == "all":
        return nn.LayerNorm((rows, cols), eps=eps, dtype=x.dtype)(x)
    raise ValueError(f"normalized_over must be row, column or all, not {normalized_over!r}")


def pearson_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between a[i] and b[i] (flattened) for each leading index i."""
    a = a.reshape(a.shape[0], -1)
    b = b.reshape(b.shape[0], -1)
    a = a - a.mean(axis=1, keepdims=True)
    b = b - b.mean(axis=1, keepdims=True)
    return (a * b).sum(1) / np.sqrt((a * a).sum(1) * (b * b).sum(1))


def group_stats(x: np.ndarray, normalized_over: str) -> dict[str, np.ndarray]:
    """Per seed: mean over groups of each group's mean / biased std / unbiased std."""
    g = groups_of(x, normalized_over)
    means = g.mean(axis=-1)
    return {
        "mean": means.mean(axis=-1),
        "max_abs_group_mean": np.abs(means).max(axis=-1),
        "std_biased": g.std(axis=-1, ddof=0).mean(axis=-1),
        "std_unbiased": g.std(axis=-1, ddof=1).mean(axis=-1),
        "tensor_mean": x.reshape(x.shape[0], -1).mean(axis=1),
        "tensor_std_unbiased": x.reshape(x.shape[0], -1).std(axis=1, ddof=1),
    }


def before_after(
    matrices: pd.DataFrame, shapes, normalized_over, eps: float, dtype: str = "float32"
) -> pd.DataFrame:
    """Stats before and after LayerNorm for each shape and normalization scope, per seed.

    LayerNorm runs in ``dtype`` (float32 like the paper's default tensors); the statistics of
    input and output are then computed in float64 so they reflect the data, not the summing.
    """
    import torch

    frames = []
    for shape in shapes:
        xt = torch.from_numpy(matrices_of(matrices, shape)).to(getattr(torch, dtype))
        x = xt.double().numpy()  # seeds,rows,cols
        rows, cols = parse_shape(shape)
        for over in normalized_over:
            y = apply_layernorm(xt, over, eps).detach().double().numpy()
            k = {"row": cols, "column": rows, "all": rows * cols}[over]
            for stage, arr, r in (("before", x, np.ones(len(x))), ("after", y, pearson_rows(x, y))):
                st = group_stats(arr, over)
                frames.append(
                    pd.DataFrame(
                        {
                            "shape": shape,
                            "normalized_over": over,
                            "group_size": k,
                            "stage": stage,
                            "seed": np.arange(len(x)),
                            **st,
                            "pearson_r": r,
                        }
                    )
                )
    return pd.concat(frames, ignore_index=True)


def correlation_vs_group_size(
    group_sizes, entries: int, n_seeds: int, input_moments, base_seed: int, eps: float
) -> pd.DataFrame:
    """Pearson r between iid Gaussian input and its group-wise LayerNorm, per seed.

    Each seed normalizes ``entries // k`` groups of size k; 'all' (k = entries) is the
    whole-tensor case, where r is exactly 1 (an affine map).
    """
    import torch
    import torch.nn.functional as F

    rows = []
    for mean, std in input_moments:
        for k in list(group_sizes) + [entries]:
            groups = entries // k
            xs = []
            for seed in range(n_seeds):
                gen = torch_generator(base_seed, "ln-correlation", k, mean, std, seed)
                xs.append(torch.randn(groups, k, generator=gen, dtype=torch.float64) * std + mean)
            x = torch.stack(xs)  # seeds,groups,k
            y = F.layer_norm(x, (k,), eps=eps)
            r = pearson_rows(x.numpy(), y.numpy())
            rows.append(
                pd.DataFrame(
                    {
                        "group_size": k,
                        "scope": "all" if k == entries else "group",
                        "input_mean": mean,
                        "input_std": std,
                        "seed": np.arange(n_seeds),
                        "n_entries": groups * k,
                        "pearson_r": r,
                        "pearson_r_theory": 1.0 if k == entries else theory.pearson_r_groupwise(k),
                    }
                )
            )
    return pd.concat(rows, ignore_index=True)


def reference_layer_norm(x, normalized_shape, weight=None, bias=None, eps: float = 1e-5):
    """LayerNorm written out (two-pass, biased variance, eps inside the root); autograd backward."""
    import torch

    dims = tuple(range(-len(normalized_shape), 0))
    mu = x.mean(dim=dims, keepdim=True)  # ...,1
    var = ((x - mu) ** 2).mean(dim=dims, keepdim=True)  # ...,1 biased, as PyTorch
    y = (x - mu) * torch.rsqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def paper_layer_norm(x, normalized_shape, eps: float = 1e-5):
    """The paper's section 3.1 formula: (x - mu) / (sigma + eps), sigma the biased std."""
    dims = tuple(range(-len(normalized_shape), 0))
    mu = x.mean(dim=dims, keepdim=True)
    sigma = ((x - mu) ** 2).mean(dim=dims, keepdim=True).sqrt()
    return (x - mu) / (sigma + eps)


def eps_placement(sigmas, eps: float, width: int, n_rows: int, base_seed: int) -> pd.DataFrame:
    """Output std of nn.LayerNorm vs both formulas for inputs of std sigma; which one torch uses."""
    import torch
    import torch.nn.functional as F

    out = []
    for sigma in sigmas:
        gen = torch_generator(base_seed, "eps-placement", float(sigma))
        z = torch.randn(n_rows, width, generator=gen, dtype=torch.float64)
        x = z / z.std(dim=-1, unbiased=False, keepdim=True) * sigma  # rows of std exactly sigma
        y_torch = F.layer_norm(x, (width,), eps=eps)
        candidates = {
            "pytorch": reference_layer_norm(x, (width,), eps=eps),
            "paper": paper_layer_norm(x, (width,), eps=eps),
        }
        for name, y in (("torch", y_torch), *candidates.items()):
            out.append(
                {
                    "sigma": float(sigma),
                    "formula": name,
                    "output_std": float(y.std(dim=-1, unbiased=False).mean()),
                    "output_std_theory": theory.ln_output_std(
                        float(sigma), eps, "pytorch" if name == "torch" else name
                    ),
                    "max_abs_diff_vs_torch": float((y - y_torch).abs().max()),
                }
            )
    return pd.DataFrame(out)


def run(
    cfg: dict, *, seed: int, inputs: dict | None = None, device: str = "cpu", progress=None
) -> dict[str, pd.DataFrame]:
    base_seed, matrices = seed, inputs["matrices"]
    stats = before_after(matrices, cfg["shapes"], cfg["normalized_over"], cfg["eps"], cfg["dtype"])
    corr = correlation_vs_group_size(
        cfg["group_sizes"],
        cfg["correlation_entries"],
        cfg["correlation_seeds"],
        cfg["correlation_input_moments"],
        base_seed,
        cfg["eps"],
    )
    eps_df = eps_placement(
        cfg["eps_sigmas"], cfg["eps"], cfg["eps_width"], cfg["eps_rows"], base_seed
    )
    return {
        "stats": stats,
        "correlation": corr,
        "eps_placement": eps_df,
        "invariances": invariances(base_seed, eps=cfg["eps"]),
    }


def summary_metrics(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    stats, corr, eps_df = frames["stats"], frames["correlation"], frames["eps_placement"]
    after = stats[stats["stage"] == "after"]
    r = corr.groupby(["group_size", "input_mean"]).agg(
        m=("pearson_r", "mean"), t=("pearson_r_theory", "first")
    )
    torch_vs = (
        eps_df[eps_df["formula"] != "torch"].groupby("formula")["max_abs_diff_vs_torch"].max()
    )
    return {
        "max_abs_group_mean_after": float(after["max_abs_group_mean"].max()),
        "max_abs_r_error": float((r["m"] - r["t"]).abs().max()),
        "eps_max_diff_pytorch_formula": float(torch_vs.get("pytorch", float("nan"))),
        "eps_max_diff_paper_formula": float(torch_vs.get("paper", float("nan"))),
    }


def invariances(base_seed: int, width: int = 64, rows: int = 32, eps: float = 1e-5) -> pd.DataFrame:
    """Identities of the normalizers, checked numerically in float64 (max |difference|).

    LN(a x + b) = LN(x) for a > 0; RMSNorm(a x) = RMSNorm(x) but RMSNorm(x + b) != RMSNorm(x);
    GroupNorm(1, C) = LayerNorm(C); BatchNorm (train) at batch 2 outputs only +-1.
    """
    import torch
    from torch import nn

    gen = torch_generator(base_seed, "invariances")
    x = torch.randn(rows, width, generator=gen, dtype=torch.float64)
    ln = nn.LayerNorm(width, eps=0.0, dtype=torch.float64)  # eps 0: exact identities
    rms = nn.RMSNorm(width, eps=0.0, dtype=torch.float64)
    gn = nn.GroupNorm(1, width, eps=eps, dtype=torch.float64)
    ln_eps = nn.LayerNorm(width, eps=eps, dtype=torch.float64)
    bn = nn.BatchNorm1d(width, eps=1e-20, dtype=torch.float64).train()  # eps must be > 0
    checks = []
    with torch.no_grad():
        for a, b in ((10.0, 0.0), (0.01, 0.0), (1000.0, -5.0), (1.0, 100.0)):
            checks.append(
                ("ln_affine_input", f"a={a:g}, b={b:g}", True, (ln(a * x + b) - ln(x)).abs().max())
            )
        for a in (10.0, 0.01):
            checks.append(("rmsnorm_scale", f"a={a:g}", True, (rms(a * x) - rms(x)).abs().max()))
        for b in (1.0, 100.0):
            checks.append(("rmsnorm_shift", f"b={b:g}", False, (rms(x + b) - rms(x)).abs().max()))
        checks.append(
            ("groupnorm1_equals_layernorm", f"C={width}", True, (gn(x) - ln_eps(x)).abs().max())
        )
        pair = bn(x[:2])
        checks.append(("batchnorm_batch2_sign", "batch=2", True, (pair.abs() - 1).abs().max()))
    return pd.DataFrame(
        [
            {"check": c, "setting": s, "invariant_expected": e, "max_abs_diff": float(d)}
            for c, s, e, d in checks
        ]
    )
