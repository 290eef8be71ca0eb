"""Experiment 1: iterated products A_k = s * A_{k-1} B_k of random matrices.

Four tracks share the same draws of A_0 and B_k (common random numbers across scales, so at
every scale the same B_k are multiplied and measured rates differ by exactly ln s: the scales
of one (b_dist, n) are ONE measurement, shifted, not independent ones):
- exact: renormalised every step, ln||A_k|| summed in float64, valid far past float32 overflow;
- vector: v_k = s v_{k-1} B_k for the unit first row v_0 of A_0, renormalised every step. For
  Gaussian B with iid N(0, b^2) entries ||v B|| / (b ||v||) is exactly chi_n distributed whatever
  the unit vector v, so every step's log-ratio has mean ln s + ln b + lambda_1(n) from the first
  step on: an unbiased estimate of the growth rate (the Frobenius norm of A_k is not: its
  direction needs ~1/(lambda_1 - lambda_2) steps to settle, ~57 at n = 30);
- fp32: the naive float32 product and ``torch.linalg.norm`` of it (inf once ||A|| > ~1.8e19);
- layernorm: LayerNorm (no affine, over each row) applied after every step.
All scales and a batch of seeds of one (b_dist, n) share one tensor, so a step is one batched
matmul per track; B_k is drawn step by step from per-seed generators, so memory stays bounded
(1000 seeds at n = 1024 run; see lnpaper.benchmark).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lnpaper.experiments import theory
from lnpaper.experiments.seeding import numpy_rng, torch_generator
from lnpaper.experiments.stats import interval

THREADED_FROM_N = 256

TRAJECTORY_COLUMNS = [
    "b_dist",
    "n",
    "scale",
    "layernorm",
    "seed",
    "step",
    "log_norm",
    "norm_fp32",
    "entry_overflow",
    "log_vector_norm",
]


def scales_for(b_dist: str, n: int, paper_scales, critical_factors) -> list[float]:
    """The paper's scales plus a grid bracketing this ensemble's critical scale s*."""
    s_star = theory.critical_scale(b_dist, n)
    grid = {round(float(s), 12) for s in paper_scales}
    grid |= {round(float(f) * s_star, 12) for f in critical_factors}
    return sorted(grid)


def seeds_per_batch(n: int, n_scales: int, budget: int = 2**24) -> int:
    """Seeds simulated together: each (scales, seeds, n, n) state stays under ``budget`` entries.

    Depends only on the shapes, never on the machine, so batching cannot change the bytes;
    it bounds memory (1000 seeds x n = 1024 would need 8 GB per float64 state otherwise).
    """
    return max(1, budget // (n_scales * n * n))


def single_threaded(fn, *args):
    """Run ``fn`` on one CPU thread: batched LAPACK QR of small matrices gains nothing from
    threads, and on a busy machine its OpenMP threads spin against other jobs (5-30x slower,
    measured); one thread also makes the factorisation independent of the job's thread count."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return fn(*args)
    finally:
        torch.set_num_threads(threads)


def draw_normal(n: int, gens, dtype, device):
    """One n x n standard-normal matrix per generator, shape (len(gens), n, n), written in place
    (no per-seed tensors to stack: at n = 1024 the copy costs as much as the draw)."""
    import torch

    out = torch.empty(len(gens), n, n, dtype=dtype, device=device)
    for i, g in enumerate(gens):
        torch.randn(n, n, generator=g, dtype=dtype, device=device, out=out[i])
    return out


def draw_b(b_dist: str, n: int, gens, device):
    """B_k for one step: one n x n matrix per seed from that seed's generator.

    Returns (float64, float32) versions of the same matrices, shape (seeds, n, n): all three
    tracks multiply by the same draws. Gaussian entries are drawn in float32 (4x faster than
    float64 on CPU, and exactly representable in both); Haar matrices are orthogonalised in
    float64 so the exact track stays orthogonal to 1e-16.
    """
    import torch

    z = draw_normal(n, gens, torch.float32, device)
    if b_dist == "orthogonal":
        q, r = single_threaded(torch.linalg.qr, z.double())
        b64 = q * torch.sign(torch.diagonal(r, dim1=-2, dim2=-1)).unsqueeze(-2)
        return b64, b64.float()
    b32 = z.mul_(theory.b_entry_std(b_dist, n))
    return b32.double(), b32


def scaled_bmm(a, b, s):
    """s_c * (A_{c,i} @ B_i) for every scale c and seed i: one plain bmm per scale (a
    broadcasting ``a @ b`` over the scale axis runs up to 1.7x slower at n = 1024, measured)."""
    import torch

    out = torch.empty_like(a)
    for c in range(a.shape[0]):
        torch.bmm(a[c], b, out=out[c])
    return out.mul_(s)


def simulate_batch(
    b_dist: str,
    n: int,
    scales,
    seeds,
    steps: int,
    base_seed: int,
    eps: float = 1e-5,
    device: str = "cpu",
):
    """The four tracks for some seeds: arrays (steps + 1, scales, seeds) of ln||A|| (exact),
    the float32 norm, the float32 entry-overflow flag, the LayerNorm-track norm and ln||v_k||
    of the tracked vector (ln||v_0|| = 0)."""
    import torch
    import torch.nn.functional as F

    f64 = torch.float64
    # one generator per condition (b_dist, n, seed): A_0 first, then B_1, B_2, ... one per step
    gens = [torch_generator(base_seed, "matmul", b_dist, n, seed, device=device) for seed in seeds]
    a0 = draw_normal(n, gens, torch.float32, device).double()  # float32 draws, like B
    s = torch.tensor(list(scales), dtype=f64, device=device).view(-1, 1, 1, 1)  # C,1,1,1
    s32 = s.float()
    n_sc = s.shape[0]
    norm0 = torch.linalg.norm(a0, dim=(-2, -1))  # S
    exact = (a0 / norm0.view(-1, 1, 1)).expand(n_sc, -1, -1, -1).clone()  # C,S,n,n
    log_norm = torch.log(norm0).expand(n_sc, -1).clone()  # C,S
    naive = a0.float().expand(n_sc, -1, -1, -1).clone()  # C,S,n,n  float32
    ln_track = naive.clone()  # LayerNorm after each step
    # tracked vector: the unit first row of A_0 (independent of every B_k), one per scale
    vec = (
        (a0[:, :1, :] / torch.linalg.norm(a0[:, :1, :], dim=-1, keepdim=True))
        .expand(n_sc, -1, -1, -1)
        .clone()
    )  # C,S,1,n
    log_vec = torch.zeros(n_sc, len(gens), dtype=f64, device=device)  # C,S

    def fp32_rows(x):
        norm = torch.linalg.norm(x, dim=(-2, -1))
        # a finite norm means every entry is finite: scan entries only where it is not
        entry = ~torch.isfinite(norm)
        if entry.any():
            entry[entry.clone()] = ~torch.isfinite(x[entry]).all(dim=(-2, -1))
        return norm, entry

    norm, entry = fp32_rows(naive)
    rows_exact, rows_fp32, rows_entry = [log_norm.clone()], [norm], [entry]
    rows_ln = [torch.linalg.norm(ln_track, dim=(-2, -1))]
    rows_vec = [log_vec.clone()]
    for _ in range(steps):
        b64, b32 = draw_b(b_dist, n, gens, device)
        exact = scaled_bmm(exact, b64, s)
        r = torch.linalg.norm(exact, dim=(-2, -1))  # C,S
        exact = exact.div_(r[..., None, None])
        log_norm = log_norm + torch.log(r)
        vec = scaled_bmm(vec, b64, s)
        rv = torch.linalg.norm(vec, dim=(-2, -1))  # C,S
        vec = vec.div_(rv[..., None, None])
        log_vec = log_vec + torch.log(rv)
        rows_vec.append(log_vec.clone())
        naive = scaled_bmm(naive, b32, s32)
        ln_track = F.layer_norm(scaled_bmm(ln_track, b32, s32), (n,), eps=eps)
        norm, entry = fp32_rows(naive)
        rows_exact.append(log_norm.clone())
        rows_fp32.append(norm)
        rows_entry.append(entry)
        rows_ln.append(torch.linalg.norm(ln_track, dim=(-2, -1)))
    return tuple(
        torch.stack(rows).cpu().numpy()
        for rows in (rows_exact, rows_fp32, rows_entry, rows_ln, rows_vec)
    )


def simulate(
    b_dist: str,
    n: int,
    scales,
    n_seeds: int,
    steps: int,
    base_seed: int,
    eps: float = 1e-5,
    device: str = "cpu",
) -> pd.DataFrame:
    """Trajectories of all three tracks for one (b_dist, n), every scale and seed.

    Seeds run in batches (``seeds_per_batch``), each step one batched matmul per track.
    """
    per = seeds_per_batch(n, len(list(scales)))
    # below n = 256 a matmul is too small for intra-op threads to pay (they cost 3x when other
    # jobs share the cores, measured); large n (the scale run) uses the job's threads
    call = single_threaded if n < THREADED_FROM_N else (lambda fn, *args: fn(*args))
    parts = [
        call(
            simulate_batch,
            b_dist,
            n,
            scales,
            range(lo, min(lo + per, n_seeds)),
            steps,
            base_seed,
            eps,
            device,
        )
        for lo in range(0, n_seeds, per)
    ]
    exact_log, fp32, entry, ln_norm, log_vec = (
        np.concatenate(p, axis=2) for p in zip(*parts)
    )  # K+1,C,S
    fp32 = fp32.astype(np.float64)
    # once an entry is inf, later products give inf - inf = NaN: still an overflow
    fp32 = np.where(np.isnan(fp32), np.inf, fp32)
    ln_norm = ln_norm.astype(np.float64)
    n_sc = exact_log.shape[1]

    k_idx, c_idx, s_idx = np.meshgrid(
        np.arange(steps + 1), np.arange(n_sc), np.arange(n_seeds), indexing="ij"
    )
    scale_vals = np.asarray(list(scales), dtype=np.float64)[c_idx.ravel()]
    base = {
        "b_dist": b_dist,
        "n": n,
        "scale": scale_vals,
        "seed": s_idx.ravel(),
        "step": k_idx.ravel(),
    }
    plain = pd.DataFrame(
        {
            **base,
            "layernorm": False,
            "log_norm": exact_log.ravel(),
            "norm_fp32": fp32.ravel(),
            "entry_overflow": entry.ravel(),
            "log_vector_norm": log_vec.ravel(),
        }
    )
    normed = pd.DataFrame(
        {
            **base,
            "layernorm": True,
            "log_norm": np.log(ln_norm.ravel()),
            "norm_fp32": ln_norm.ravel(),
            "entry_overflow": ~np.isfinite(ln_norm.ravel()),
            "log_vector_norm": np.nan,  # the vector track has no LayerNorm variant
        }
    )
    return pd.concat([plain, normed], ignore_index=True)[TRAJECTORY_COLUMNS]


def first_true_step(flags: np.ndarray, steps: np.ndarray) -> float:
    hit = np.flatnonzero(flags)
    return float(steps[hit[0]]) if hit.size else float("nan")


def draw_set(b_dist: str, n: int) -> str:
    """Conditions with the same draw set multiply the same B_k: one measurement, not several."""
    return f"{b_dist}/n={int(n)}"


def growth_table(
    traj: pd.DataFrame, burn_in: int, base_seed: int, resamples: int = 2000, eps: float = 1e-5
) -> pd.DataFrame:
    """Per (b_dist, n, scale, layernorm): growth rate of ln||A_k|| over seeds vs theory.

    ``growth_rate_*`` is the unbiased estimate: the tracked vector's mean per-step log-ratio
    over all steps (for the LayerNorm track, where no vector is tracked, the Frobenius rate).
    ``frobenius_rate_*`` is the rate of the Frobenius norm after the burn-in,
    (ln||A_K|| - ln||A_burn||) / (K - burn), the quantity the paper's figure shows; it is biased
    upward while the product's direction settles and is reported for comparison only.
    Intervals: ``stats.interval`` over seeds (percentile bootstrap, expanded for few seeds).
    ``draw_set`` names the conditions that share draws; within one, ``growth_rate_mean - ln s``
    is the same number.
    """
    keys = ["b_dist", "n", "scale", "layernorm"]
    steps = int(traj["step"].max())
    per_seed = []
    for (b_dist, n, scale, ln, seed), g in traj.groupby(keys + ["seed"], sort=True):
        g = g.sort_values("step")
        ln_a = g["log_norm"].to_numpy()
        st = g["step"].to_numpy()
        frob = (ln_a[steps] - ln_a[burn_in]) / (steps - burn_in)
        lv = g["log_vector_norm"].to_numpy()
        per_seed.append(
            {
                "b_dist": b_dist,
                "n": n,
                "scale": scale,
                "layernorm": ln,
                "seed": seed,
                "rate": frob if ln else (lv[steps] - lv[0]) / steps,
                "frobenius_rate": frob,
                "overflow_step": first_true_step(~np.isfinite(g["norm_fp32"].to_numpy()), st),
                "entry_overflow_step": first_true_step(g["entry_overflow"].to_numpy(), st),
                "final_norm": float(np.exp(ln_a[steps])),
            }
        )
    per_seed = pd.DataFrame(per_seed)
    out = []
    for (b_dist, n, scale, ln), g in per_seed.groupby(keys, sort=True):
        ident = (b_dist, int(n), float(scale), bool(ln))
        mean, lo, hi = interval(
            g["rate"], numpy_rng(base_seed, "matmul-bootstrap", *ident), resamples=resamples
        )
        f_mean, f_lo, f_hi = interval(
            g["frobenius_rate"],
            numpy_rng(base_seed, "matmul-bootstrap-frobenius", *ident),
            resamples=resamples,
        )
        rate_theory = 0.0 if ln else theory.growth_rate(b_dist, int(n), float(scale))
        out.append(
            {
                "b_dist": b_dist,
                "n": int(n),
                "scale": float(scale),
                "layernorm": bool(ln),
                "draw_set": draw_set(b_dist, n),
                "n_seeds": int(len(g)),
                "growth_rate_mean": mean,
                "growth_rate_sd": float(g["rate"].std(ddof=1)),
                "growth_rate_ci_low": lo,
                "growth_rate_ci_high": hi,
                "growth_rate_theory": rate_theory,
                "growth_rate_estimator": "frobenius" if ln else "vector",
                "rate_minus_log_scale": mean - math.log(float(scale)),
                "frobenius_rate_mean": f_mean,
                "frobenius_rate_ci_low": f_lo,
                "frobenius_rate_ci_high": f_hi,
                "growth_factor": math.exp(mean),
                "critical_scale_measured": float(scale) * math.exp(-mean)
                if not ln
                else float("nan"),
                "critical_scale_theory": theory.critical_scale(b_dist, int(n)),
                "overflow_step_median": float(np.median(g["overflow_step"].fillna(np.inf)))
                if g["overflow_step"].notna().any()
                else float("nan"),
                "overflow_fraction": float(g["overflow_step"].notna().mean()),
                "entry_overflow_step_median": float(
                    np.median(g["entry_overflow_step"].fillna(np.inf))
                )
                if g["entry_overflow_step"].notna().any()
                else float("nan"),
                "final_norm_median": float(g["final_norm"].median()),
                "ln_norm_theory": math.sqrt(n * n) if ln else float("nan"),
            }
        )
    df = pd.DataFrame(out)
    # a median of "never" (inf) is reported as NaN: fewer than half the seeds overflowed
    for col in ("overflow_step_median", "entry_overflow_step_median"):
        df[col] = df[col].replace(np.inf, np.nan)
    return df


def theory_coverage(growth: pd.DataFrame, prefix: str = "growth_rate") -> dict[str, float]:
    """How often theory lies inside the 95% interval, over Gaussian conditions and over draw
    sets (a draw set covers only if every scale in it does: its scales are one measurement)."""
    p = growth[~growth["layernorm"] & growth["b_dist"].isin(["normal", "scaled_normal"])]
    if p.empty:
        return {}
    t = p["growth_rate_theory"]
    inside = (p[f"{prefix}_ci_low"] <= t) & (t <= p[f"{prefix}_ci_high"])
    sets = inside.groupby(p["draw_set"]).all()
    return {
        "conditions": float(len(p)),
        "theory_inside_ci": float(inside.sum()),
        "draw_sets": float(len(sets)),
        "draw_sets_theory_inside_ci": float(sets.sum()),
    }


def run(
    cfg: dict, *, seed: int, inputs: dict | None = None, device: str = "cpu", progress=None
) -> dict[str, pd.DataFrame]:
    """The whole matmul experiment for one config slice: trajectories and growth summary."""
    base_seed = seed
    frames = []
    conditions = [(d, n) for d in cfg["b_dists"] for n in cfg["sizes"]]
    if progress:
        progress.begin(len(conditions))
    for i, (b_dist, n) in enumerate(conditions):
        scales = scales_for(b_dist, n, cfg["scales"], cfg["critical_factors"])
        frames.append(
            simulate(
                b_dist,
                n,
                scales,
                cfg["n_seeds"],
                cfg["steps"],
                base_seed,
                eps=cfg["eps"],
                device=device,
            )
        )
        if progress:
            progress.update(i + 1, f"b_dist={b_dist} n={n}")
    traj = pd.concat(frames, ignore_index=True)
    growth = growth_table(traj, cfg["burn_in"], base_seed, cfg["bootstrap_resamples"], cfg["eps"])
    return {"trajectories": traj, "growth": growth}


# Tracking logs one child run per condition, with ln||A_k|| (mean over seeds) as step metric.
CONDITIONS = {
    "output": "trajectories",
    "keys": ["b_dist", "n", "scale", "layernorm"],
    "step": "step",
    "values": ["log_norm"],
    "reduce": "mean",
}


def summary_metrics(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    growth = frames["growth"]
    plain = growth[~growth["layernorm"]]
    normed = growth[growth["layernorm"]]
    err = (plain["growth_rate_mean"] - plain["growth_rate_theory"]).abs()
    outside = (plain["growth_rate_theory"] < plain["growth_rate_ci_low"]) | (
        plain["growth_rate_theory"] > plain["growth_rate_ci_high"]
    )
    cov = theory_coverage(growth)
    frob = theory_coverage(growth, "frobenius_rate")
    return {
        "conditions": float(len(plain)),
        "max_abs_rate_error": float(err.max()),
        "theory_outside_ci": float(outside.sum()),
        "gaussian_theory_inside_ci": cov.get("theory_inside_ci", float("nan")),
        "gaussian_draw_sets": cov.get("draw_sets", float("nan")),
        "gaussian_draw_sets_inside_ci": cov.get("draw_sets_theory_inside_ci", float("nan")),
        "frobenius_gaussian_theory_inside_ci": frob.get("theory_inside_ci", float("nan")),
        "max_rel_ln_norm_error": float(
            (
                (normed["final_norm_median"] - normed["ln_norm_theory"]).abs()
                / normed["ln_norm_theory"]
            ).max()
        ),
    }
