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
(1000 seeds at n = 1024 run; see lnpaper.tools.benchmark).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from lnpaper.experiments import theory
from lnpaper.experiments.matmul_growth import growth_table, theory_coverage
from lnpaper.experiments.seeding import torch_generator

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

    Returns (float64, float32) versions of the same matrices, shape (seeds, n, n): all four
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


def fp32_rows(x):
    """Per (scale, seed): the float32 Frobenius norm and whether some entry is non-finite."""
    import torch

    norm = torch.linalg.norm(x, dim=(-2, -1))
    # a finite norm means every entry is finite: scan entries only where it is not
    entry = ~torch.isfinite(norm)
    if entry.any():
        entry[entry.clone()] = ~torch.isfinite(x[entry]).all(dim=(-2, -1))
    return norm, entry


def initial_tracks(a0, n_sc: int, device) -> dict:
    """The four tracks at step 0 for ``n_sc`` scales, from A_0 (S,n,n float64): the exact
    product renormalised (C,S,n,n) with its log-norm (C,S), the naive float32 product, the
    LayerNorm track, and the tracked unit vector (C,S,1,n) with its log-norm (C,S)."""
    import torch

    norm0 = torch.linalg.norm(a0, dim=(-2, -1))  # S
    naive = a0.float().expand(n_sc, -1, -1, -1).clone()  # C,S,n,n  float32
    return {
        "exact": (a0 / norm0.view(-1, 1, 1)).expand(n_sc, -1, -1, -1).clone(),
        "log_norm": torch.log(norm0).expand(n_sc, -1).clone(),
        "naive": naive,
        "ln_track": naive.clone(),  # LayerNorm after each step
        # tracked vector: the unit first row of A_0 (independent of every B_k), one per scale
        "vec": (a0[:, :1, :] / torch.linalg.norm(a0[:, :1, :], dim=-1, keepdim=True))
        .expand(n_sc, -1, -1, -1)
        .clone(),
        "log_vec": torch.zeros(n_sc, a0.shape[0], dtype=torch.float64, device=device),
    }


def advance_tracks(t: dict, b64, b32, s, s32, n: int, eps: float) -> None:
    """One step of every track, in place in ``t``: multiply by s B_k (float64 B for the exact
    and vector tracks, float32 B for the naive and LayerNorm tracks)."""
    import torch
    import torch.nn.functional as F

    exact = scaled_bmm(t["exact"], b64, s)
    r = torch.linalg.norm(exact, dim=(-2, -1))  # C,S
    t["exact"] = exact.div_(r[..., None, None])
    t["log_norm"] = t["log_norm"] + torch.log(r)
    vec = scaled_bmm(t["vec"], b64, s)
    rv = torch.linalg.norm(vec, dim=(-2, -1))  # C,S
    t["vec"] = vec.div_(rv[..., None, None])
    t["log_vec"] = t["log_vec"] + torch.log(rv)
    t["naive"] = scaled_bmm(t["naive"], b32, s32)
    t["ln_track"] = F.layer_norm(scaled_bmm(t["ln_track"], b32, s32), (n,), eps=eps)


def record_tracks(rows: dict, t: dict) -> None:
    """Append this step's measurements of every track to ``rows`` (one list per output)."""
    import torch

    norm, entry = fp32_rows(t["naive"])
    rows["exact"].append(t["log_norm"].clone())
    rows["fp32"].append(norm)
    rows["entry"].append(entry)
    rows["ln"].append(torch.linalg.norm(t["ln_track"], dim=(-2, -1)))
    rows["vec"].append(t["log_vec"].clone())


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

    f64 = torch.float64
    # one generator per condition (b_dist, n, seed): A_0 first, then B_1, B_2, ... one per step
    gens = [torch_generator(base_seed, "matmul", b_dist, n, seed, device=device) for seed in seeds]
    a0 = draw_normal(n, gens, torch.float32, device).double()  # float32 draws, like B
    s = torch.tensor(list(scales), dtype=f64, device=device).view(-1, 1, 1, 1)  # C,1,1,1
    s32 = s.float()
    tracks = initial_tracks(a0, s.shape[0], device)
    rows = {k: [] for k in ("exact", "fp32", "entry", "ln", "vec")}
    record_tracks(rows, tracks)
    for _ in range(steps):
        b64, b32 = draw_b(b_dist, n, gens, device)
        advance_tracks(tracks, b64, b32, s, s32, n, eps)
        record_tracks(rows, tracks)
    return tuple(torch.stack(r).cpu().numpy() for r in rows.values())


def simulate_arrays(
    b_dist: str, n: int, scales, n_seeds: int, steps: int, base_seed: int, eps: float, device
):
    """``simulate_batch`` over all seeds, in batches of ``seeds_per_batch``, joined along the
    seed axis: (ln||A|| exact, float32 norm (NaN read as inf), entry overflow, LayerNorm-track
    norm, ln||v_k||), each (steps + 1, scales, seeds)."""
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
    return exact_log, fp32, entry, ln_norm.astype(np.float64), log_vec


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
    """Trajectories of all four tracks for one (b_dist, n), every scale and seed: one row per
    (scale, seed, step) without LayerNorm (exact, float32 and vector tracks) and one with it.

    Seeds run in batches (``seeds_per_batch``), each step one batched matmul per track.
    """
    exact_log, fp32, entry, ln_norm, log_vec = simulate_arrays(
        b_dist, n, scales, n_seeds, steps, base_seed, eps, device
    )
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
    growth = growth_table(traj, cfg["burn_in"], base_seed, cfg["bootstrap_resamples"])
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
