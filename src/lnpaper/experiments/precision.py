"""Numerics of computing LayerNorm: one-pass E[x^2]-E[x]^2, two-pass and Welford (the project's
own, vectorised over rows) and torch's kernel, in float32 / bfloat16 / float16, on rows drawn from
N(offset, 1). Errors are measured against a float64 two-pass reference and split into

- ``input_rounding``: float64 LayerNorm of the input rounded to the dtype, vs the reference;
- ``kernel``: the method's output vs float64 LayerNorm of that same rounded input;
- ``total``: the method's output vs the reference.

Our own methods compute everything in the given dtype (sums included); torch's CPU kernel
accumulates reduced-precision inputs in float32 (aten/src/ATen/native/cpu/moments_utils.h).
Overflow to inf and NaN are kept as data.
"""

from __future__ import annotations

import pandas as pd

from lnpaper.experiments.seeding import torch_generator

METHODS = ("naive", "two_pass", "welford", "torch")


def _normalize(x, mean, var, eps):
    import torch

    return (x - mean) * torch.rsqrt(var + eps)


def ln_naive(x, eps: float):
    """One pass: var = E[x^2] - E[x]^2 (cancels catastrophically when |mean| >> std)."""
    mean = x.mean(dim=-1, keepdim=True)  # R,1
    var = (x * x).mean(dim=-1, keepdim=True) - mean * mean  # R,1
    return _normalize(x, mean, var, eps)


def ln_two_pass(x, eps: float):
    mean = x.mean(dim=-1, keepdim=True)  # R,1
    var = ((x - mean) ** 2).mean(dim=-1, keepdim=True)  # R,1
    return _normalize(x, mean, var, eps)


def ln_welford(x, eps: float):
    """Welford's running mean / M2, one element at a time, vectorised over rows."""
    import torch

    rows, width = x.shape
    mean = torch.zeros(rows, dtype=x.dtype, device=x.device)  # R
    m2 = torch.zeros(rows, dtype=x.dtype, device=x.device)  # R
    for i in range(width):
        xi = x[:, i]
        delta = xi - mean
        mean = mean + delta / (i + 1)
        m2 = m2 + delta * (xi - mean)
    var = (m2 / width).unsqueeze(-1)  # R,1 biased, as PyTorch
    return _normalize(x, mean.unsqueeze(-1), var, eps)


def ln_torch(x, eps: float):
    import torch.nn.functional as F

    return F.layer_norm(x, (x.shape[-1],), eps=eps)


LN_FUNCTIONS = {
    "naive": ln_naive,
    "two_pass": ln_two_pass,
    "welford": ln_welford,
    "torch": ln_torch,
}


def _errors(out64, ref64) -> tuple[float, float]:
    """(max, mean) absolute error; NaN if any output is non-finite (kept, never dropped)."""
    diff = (out64 - ref64).abs()
    if not bool(diff.isfinite().all()):
        return float("nan"), float("nan")
    return float(diff.max()), float(diff.mean())


def measure(
    offsets, dtypes, rows: int, width: int, eps: float, base_seed: int, methods=METHODS
) -> pd.DataFrame:
    import torch

    out = []
    for offset in offsets:
        gen = torch_generator(base_seed, "precision", float(offset))
        x64 = torch.randn(rows, width, generator=gen, dtype=torch.float64) + offset
        ref = ln_two_pass(x64, eps)  # float64 reference
        for dtype_name in dtypes:
            dtype = getattr(torch, dtype_name)
            x_low = x64.to(dtype)
            overflow = not bool(x_low.isfinite().all())
            exact_on_rounded = ln_two_pass(x_low.double(), eps)
            in_max, in_mean = _errors(exact_on_rounded, ref)
            for method in methods:
                y = LN_FUNCTIONS[method](x_low, eps).double()
                tot_max, tot_mean = _errors(y, ref)
                ker_max, ker_mean = _errors(y, exact_on_rounded)
                for source, mx, mn in (
                    ("total", tot_max, tot_mean),
                    ("kernel", ker_max, ker_mean),
                    ("input_rounding", in_max, in_mean),
                ):
                    out.append(
                        {
                            "offset": float(offset),
                            "dtype": dtype_name,
                            "method": method,
                            "error_source": source,
                            "max_abs_error": mx,
                            "mean_abs_error": mn,
                            "input_overflow": overflow,
                            "finite_output": bool(y.isfinite().all()),
                            "rows": rows,
                            "width": width,
                        }
                    )
    return pd.DataFrame(out)


def run(
    cfg: dict, *, seed: int, inputs: dict | None = None, device: str = "cpu", progress=None
) -> dict[str, pd.DataFrame]:
    return {
        "errors": measure(
            cfg["offsets"], cfg["dtypes"], cfg["rows"], cfg["width"], cfg["eps"], seed
        )
    }


def summary_metrics(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    errors = frames["errors"]
    tot = errors[errors["error_source"] == "total"]
    out = {}
    for (dtype, method), g in tot.groupby(["dtype", "method"]):
        worst = g["max_abs_error"].max() if g["max_abs_error"].notna().all() else float("nan")
        out[f"max_error.{dtype}.{method}"] = float(worst)
    return out
