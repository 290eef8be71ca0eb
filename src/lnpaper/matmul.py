"""Experiment 1: iterated products A_k = s * A_{k-1} B_k of random matrices.

Three tracks share the same draws of A_0 and B_k (common random numbers across scales):
- exact: renormalised every step, ln||A_k|| summed in float64, valid far past float32 overflow;
- fp32: the naive float32 product and ``torch.linalg.norm`` of it (inf once ||A|| > ~1.8e19);
- layernorm: LayerNorm (no affine, over each row) applied after every step.
All scales and seeds of one (b_dist, n) are batched into one tensor, so a step is one bmm.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from . import theory
from .seeding import numpy_rng, torch_generator
from .stats import bootstrap_ci

TRAJECTORY_COLUMNS = ["b_dist", "n", "scale", "layernorm", "seed", "step", "log_norm",
                      "norm_fp32", "entry_overflow"]


def scales_for(b_dist: str, n: int, paper_scales, critical_factors) -> list[float]:
    """The paper's scales plus a grid bracketing this ensemble's critical scale s*."""
    s_star = theory.critical_scale(b_dist, n)
    grid = {round(float(s), 12) for s in paper_scales}
    grid |= {round(float(f) * s_star, 12) for f in critical_factors}
    return sorted(grid)


def draw_haar(n: int, count: int, gen, dtype, device):
    """``count`` Haar-distributed orthogonal n x n matrices (QR of Gaussians, sign-fixed)."""
    import torch

    z = torch.randn(count, n, n, generator=gen, dtype=dtype, device=device)
    q, r = torch.linalg.qr(z)
    return q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)


def draw_b(b_dist: str, n: int, steps: int, gen, dtype, device):
    """B_1..B_steps for one seed, shape (steps, n, n)."""
    import torch

    if b_dist == "orthogonal":
        return draw_haar(n, steps, gen, dtype, device)
    b = torch.randn(steps, n, n, generator=gen, dtype=dtype, device=device)
    return b * theory.b_entry_std(b_dist, n)


def simulate(b_dist: str, n: int, scales, n_seeds: int, steps: int, base_seed: int,
             eps: float = 1e-5, device: str = "cpu") -> pd.DataFrame:
    """Trajectories of all three tracks for one (b_dist, n), every scale and seed."""
    import torch
    import torch.nn.functional as F

    f64 = torch.float64
    a0, bs = [], []
    for seed in range(n_seeds):  # one generator per condition: (b_dist, n, seed)
        gen = torch_generator(base_seed, "matmul", b_dist, n, seed, device=device)
        a0.append(torch.randn(n, n, generator=gen, dtype=f64, device=device))
        bs.append(draw_b(b_dist, n, steps, gen, f64, device))
    a0 = torch.stack(a0)                                   # S,n,n   (S = seeds)
    b = torch.stack(bs, dim=1)                             # K,S,n,n (K = steps)
    b32 = b.float()
    s = torch.tensor(list(scales), dtype=f64, device=device).view(-1, 1, 1, 1)  # C,1,1,1

    n_sc = s.shape[0]
    norm0 = torch.linalg.norm(a0, dim=(-2, -1))            # S
    exact = (a0 / norm0.view(-1, 1, 1)).expand(n_sc, -1, -1, -1).clone()  # C,S,n,n
    log_norm = torch.log(norm0).expand(n_sc, -1).clone()   # C,S
    naive = a0.float().expand(n_sc, -1, -1, -1).clone()    # C,S,n,n  float32
    ln_track = naive.clone()                               # LayerNorm after each step

    rows_exact, rows_fp32, rows_entry = [log_norm.clone()], [], []
    rows_fp32.append(torch.linalg.norm(naive, dim=(-2, -1)))
    rows_entry.append(~torch.isfinite(naive).all(dim=(-2, -1)))
    rows_ln = [torch.linalg.norm(ln_track, dim=(-2, -1))]
    s32 = s.float()
    for k in range(steps):
        exact = s * (exact @ b[k])
        r = torch.linalg.norm(exact, dim=(-2, -1))          # C,S
        exact = exact / r[..., None, None]
        log_norm = log_norm + torch.log(r)
        naive = s32 * (naive @ b32[k])
        ln_track = F.layer_norm(s32 * (ln_track @ b32[k]), (n,), eps=eps)
        rows_exact.append(log_norm.clone())
        rows_fp32.append(torch.linalg.norm(naive, dim=(-2, -1)))
        rows_entry.append(~torch.isfinite(naive).all(dim=(-2, -1)))
        rows_ln.append(torch.linalg.norm(ln_track, dim=(-2, -1)))

    exact_log = torch.stack(rows_exact).cpu().numpy()                  # K+1,C,S
    fp32 = torch.stack(rows_fp32).cpu().numpy().astype(np.float64)
    # once an entry is inf, later products give inf - inf = NaN: still an overflow
    fp32 = np.where(np.isnan(fp32), np.inf, fp32)
    entry = torch.stack(rows_entry).cpu().numpy()
    ln_norm = torch.stack(rows_ln).cpu().numpy().astype(np.float64)

    k_idx, c_idx, s_idx = np.meshgrid(np.arange(steps + 1), np.arange(n_sc), np.arange(n_seeds),
                                      indexing="ij")
    scale_vals = np.asarray(list(scales), dtype=np.float64)[c_idx.ravel()]
    base = {"b_dist": b_dist, "n": n, "scale": scale_vals, "seed": s_idx.ravel(),
            "step": k_idx.ravel()}
    plain = pd.DataFrame({**base, "layernorm": False, "log_norm": exact_log.ravel(),
                          "norm_fp32": fp32.ravel(), "entry_overflow": entry.ravel()})
    normed = pd.DataFrame({**base, "layernorm": True, "log_norm": np.log(ln_norm.ravel()),
                           "norm_fp32": ln_norm.ravel(), "entry_overflow": ~np.isfinite(ln_norm.ravel())})
    return pd.concat([plain, normed], ignore_index=True)[TRAJECTORY_COLUMNS]


def first_true_step(flags: np.ndarray, steps: np.ndarray) -> float:
    hit = np.flatnonzero(flags)
    return float(steps[hit[0]]) if hit.size else float("nan")


def growth_table(traj: pd.DataFrame, burn_in: int, base_seed: int, resamples: int = 2000,
                 eps: float = 1e-5) -> pd.DataFrame:
    """Per (b_dist, n, scale, layernorm): growth rate of ln||A_k|| over seeds vs theory."""
    keys = ["b_dist", "n", "scale", "layernorm"]
    steps = int(traj["step"].max())
    per_seed = []
    for (b_dist, n, scale, ln, seed), g in traj.groupby(keys + ["seed"], sort=True):
        g = g.sort_values("step")
        ln_a = g["log_norm"].to_numpy()
        st = g["step"].to_numpy()
        per_seed.append({
            "b_dist": b_dist, "n": n, "scale": scale, "layernorm": ln, "seed": seed,
            "rate": (ln_a[steps] - ln_a[burn_in]) / (steps - burn_in),
            "overflow_step": first_true_step(~np.isfinite(g["norm_fp32"].to_numpy()), st),
            "entry_overflow_step": first_true_step(g["entry_overflow"].to_numpy(), st),
            "final_norm": float(np.exp(ln_a[steps])),
        })
    per_seed = pd.DataFrame(per_seed)
    out = []
    for (b_dist, n, scale, ln), g in per_seed.groupby(keys, sort=True):
        rng = numpy_rng(base_seed, "matmul-bootstrap", b_dist, int(n), float(scale), bool(ln))
        lo, hi = bootstrap_ci(g["rate"], rng, resamples)
        mean = float(g["rate"].mean())
        rate_theory = 0.0 if ln else theory.growth_rate(b_dist, int(n), float(scale))
        out.append({
            "b_dist": b_dist, "n": int(n), "scale": float(scale), "layernorm": bool(ln),
            "n_seeds": int(len(g)),
            "growth_rate_mean": mean, "growth_rate_sd": float(g["rate"].std(ddof=1)),
            "growth_rate_ci_low": lo, "growth_rate_ci_high": hi,
            "growth_rate_theory": rate_theory,
            "growth_factor": math.exp(mean),
            "critical_scale_measured": float(scale) * math.exp(-mean) if not ln else float("nan"),
            "critical_scale_theory": theory.critical_scale(b_dist, int(n)),
            "overflow_step_median": float(np.median(g["overflow_step"].fillna(np.inf)))
            if g["overflow_step"].notna().any() else float("nan"),
            "overflow_fraction": float(g["overflow_step"].notna().mean()),
            "entry_overflow_step_median": float(np.median(g["entry_overflow_step"].fillna(np.inf)))
            if g["entry_overflow_step"].notna().any() else float("nan"),
            "final_norm_median": float(g["final_norm"].median()),
            "ln_norm_theory": math.sqrt(n * n) if ln else float("nan"),
        })
    df = pd.DataFrame(out)
    # a median of "never" (inf) is reported as NaN: fewer than half the seeds overflowed
    for col in ("overflow_step_median", "entry_overflow_step_median"):
        df[col] = df[col].replace(np.inf, np.nan)
    return df


def run(cfg: dict, base_seed: int, device: str = "cpu", progress=None) -> dict[str, pd.DataFrame]:
    """The whole matmul experiment for one config slice: trajectories and growth summary."""
    frames = []
    conditions = [(d, n) for d in cfg["b_dists"] for n in cfg["sizes"]]
    for i, (b_dist, n) in enumerate(conditions):
        scales = scales_for(b_dist, n, cfg["scales"], cfg["critical_factors"])
        frames.append(simulate(b_dist, n, scales, cfg["n_seeds"], cfg["steps"], base_seed,
                               eps=cfg["eps"], device=device))
        if progress:
            progress.update(i + 1, f"b_dist={b_dist} n={n}")
    traj = pd.concat(frames, ignore_index=True)
    growth = growth_table(traj, cfg["burn_in"], base_seed, cfg["bootstrap_resamples"], cfg["eps"])
    return {"trajectories": traj, "growth": growth}


# Tracking logs one child run per condition, with ln||A_k|| (mean over seeds) as step metric.
CONDITIONS = {"output": "trajectories", "keys": ["b_dist", "n", "scale", "layernorm"],
              "step": "step", "values": ["log_norm"], "reduce": "mean"}


def summary_metrics(growth: pd.DataFrame) -> dict[str, float]:
    plain = growth[~growth["layernorm"]]
    normed = growth[growth["layernorm"]]
    err = (plain["growth_rate_mean"] - plain["growth_rate_theory"]).abs()
    outside = (plain["growth_rate_theory"] < plain["growth_rate_ci_low"]) | \
              (plain["growth_rate_theory"] > plain["growth_rate_ci_high"])
    return {
        "conditions": float(len(plain)),
        "max_abs_rate_error": float(err.max()),
        "theory_outside_ci": float(outside.sum()),
        "max_rel_ln_norm_error": float(((normed["final_norm_median"] - normed["ln_norm_theory"]).abs()
                                        / normed["ln_norm_theory"]).max()),
    }
