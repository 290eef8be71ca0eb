"""The matmul experiment's summary: per-seed growth rates of the trajectories, and per
condition (b_dist, n, scale, layernorm) their mean with a bootstrap interval, against the
Lyapunov theory of ``theory`` (lnpaper.experiments.matmul simulates the trajectories)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lnpaper.experiments import theory
from lnpaper.experiments.seeding import numpy_rng
from lnpaper.experiments.stats import interval


def first_true_step(flags: np.ndarray, steps: np.ndarray) -> float:
    hit = np.flatnonzero(flags)
    return float(steps[hit[0]]) if hit.size else float("nan")


def draw_set(b_dist: str, n: int) -> str:
    """Conditions with the same draw set multiply the same B_k: one measurement, not several."""
    return f"{b_dist}/n={int(n)}"


GROWTH_KEYS = ["b_dist", "n", "scale", "layernorm"]


def per_seed_rates(traj: pd.DataFrame, burn_in: int) -> pd.DataFrame:
    """One row per (b_dist, n, scale, layernorm, seed): the growth rate (the vector track's for
    the plain product, the Frobenius rate after ``burn_in`` for the LayerNorm track), the
    Frobenius rate, the first float32 norm and entry overflow steps, and the final norm."""
    steps = int(traj["step"].max())
    per_seed = []
    for (b_dist, n, scale, ln, seed), g in traj.groupby(GROWTH_KEYS + ["seed"], sort=True):
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
    return pd.DataFrame(per_seed)


def median_step(steps: pd.Series) -> float:
    """Median over seeds of a first-overflow step, a seed that never overflows counting as
    inf; NaN if no seed overflows (an inf median is made NaN by ``growth_table``)."""
    if not steps.notna().any():
        return float("nan")
    return float(np.median(steps.fillna(np.inf)))


def growth_row(key: tuple, g: pd.DataFrame, base_seed: int, resamples: int) -> dict:
    """The growth-table row of one condition ``key`` = (b_dist, n, scale, layernorm) from its
    per-seed rows ``g``: rates with bootstrap intervals, theory, overflow steps, final norm."""
    b_dist, n, scale, ln = key
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
    return {
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
        "critical_scale_measured": float(scale) * math.exp(-mean) if not ln else float("nan"),
        "critical_scale_theory": theory.critical_scale(b_dist, int(n)),
        "overflow_step_median": median_step(g["overflow_step"]),
        "overflow_fraction": float(g["overflow_step"].notna().mean()),
        "entry_overflow_step_median": median_step(g["entry_overflow_step"]),
        "final_norm_median": float(g["final_norm"].median()),
        "ln_norm_theory": math.sqrt(n * n) if ln else float("nan"),
    }


def growth_table(
    traj: pd.DataFrame, burn_in: int, base_seed: int, resamples: int = 2000
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
    per_seed = per_seed_rates(traj, burn_in)
    df = pd.DataFrame(
        [
            growth_row(key, g, base_seed, resamples)
            for key, g in per_seed.groupby(GROWTH_KEYS, sort=True)
        ]
    )
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
