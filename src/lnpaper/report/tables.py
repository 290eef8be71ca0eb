"""The paper's tables, rebuilt from the experiment Parquet files.

Each builder takes ``{source: DataFrame}`` (source = "experiment/output") and the table's
``StepConfig`` (its experiments' config sections by name, the seed), and returns a tidy DataFrame with machine column names; ``write_table`` renders it to CSV
(machine names, full precision), Markdown and booktabs LaTeX (localized headers, numbers written
by ``numfmt``: an estimate at the digits of its interval, other values to 4 significant digits).
Every number in a table comes from those frames.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from lnpaper.report.step_config import StepConfig
from lnpaper.report.summaries import (
    classify_growth,
    loglog_slope,
    loglog_slope_ci,
    normalizer_aggregate,
    online_ok,
    order_norms,
    overflow_step_ci,
    paper_behavior,
    sd_interval,
    seed_mean_ci,
    transformer_grad_profile,
)

BUILDERS: dict[str, Callable[[dict, StepConfig], pd.DataFrame]] = {}


def builder(name: str):
    def register(fn):
        BUILDERS[name] = fn
        return fn

    return register


def seed_means(s: pd.DataFrame, keys: list[str], sort: bool, **more) -> pd.DataFrame:
    """Per group of ``keys``: the number of seeds, the mean over seeds of ``mean``,
    ``std_biased`` and ``std_unbiased``, then the ``more`` aggregations (``name=(column, how)``)."""
    return (
        s.groupby(keys, sort=sort)
        .agg(
            n_seeds=("seed", "nunique"),
            mean=("mean", "mean"),
            std_biased=("std_biased", "mean"),
            std_unbiased=("std_unbiased", "mean"),
            **more,
        )
        .reset_index()
    )


@builder("scale_behavior")
def scale_behavior(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    """The paper's Table 5.1, measured. All scales of one ``draw_set`` multiply the same B_k:
    their rates differ by exactly ln s (``rate_minus_log_scale`` is one number per draw set), so
    they are one measurement, not independent confirmations. ``growth_rate_*`` is the unbiased
    tracked-vector estimate, ``frobenius_rate_*`` the Frobenius-norm rate after the burn-in."""
    g = frames["matmul/growth"]
    plain = g[~g["layernorm"]].copy()
    normed = g[g["layernorm"]].set_index(["b_dist", "n", "scale"])["final_norm_median"]
    matmul = cfg.section("matmul")
    paper_scales = [float(s) for s in matmul["scales"]]
    is_paper = plain["scale"].apply(lambda s: any(math.isclose(s, p) for p in paper_scales))
    out = pd.DataFrame(
        {
            "b_dist": plain["b_dist"],
            "n": plain["n"],
            "scale": plain["scale"],
            "draw_set": plain["draw_set"],
            "scale_source": np.where(is_paper, "paper", "grid"),
            "paper_behavior": [
                paper_behavior(s) if p else "" for s, p in zip(plain["scale"], is_paper)
            ],
            "measured_behavior": [
                classify_growth(lo, hi, matmul["near_critical_tol"])
                for lo, hi in zip(plain["growth_rate_ci_low"], plain["growth_rate_ci_high"])
            ],
            "growth_rate_mean": plain["growth_rate_mean"],
            "growth_rate_ci_low": plain["growth_rate_ci_low"],
            "growth_rate_ci_high": plain["growth_rate_ci_high"],
            "growth_rate_theory": plain["growth_rate_theory"],
            "rate_minus_log_scale": plain["rate_minus_log_scale"],
            "frobenius_rate_mean": plain["frobenius_rate_mean"],
            "frobenius_rate_ci_low": plain["frobenius_rate_ci_low"],
            "frobenius_rate_ci_high": plain["frobenius_rate_ci_high"],
            "growth_factor": plain["growth_factor"],
            # exp(rate) per step: the rate's interval mapped through the increasing exponential
            "growth_factor_ci_low": np.exp(plain["growth_rate_ci_low"]),
            "growth_factor_ci_high": np.exp(plain["growth_rate_ci_high"]),
            "overflow_step_median": plain["overflow_step_median"],
            **overflow_step_ci(frames, plain, matmul.get("burn_in", 0)),
            "entry_overflow_step_median": plain["entry_overflow_step_median"],
            "critical_scale_theory": plain["critical_scale_theory"],
            "critical_scale_measured": plain["critical_scale_measured"],
            # s* = s exp(-rate): the rate's interval mapped through the decreasing exponential
            "critical_scale_measured_ci_low": plain["scale"]
            * np.exp(-plain["growth_rate_ci_high"]),
            "critical_scale_measured_ci_high": plain["scale"]
            * np.exp(-plain["growth_rate_ci_low"]),
            "ln_norm": [
                normed.get((d, n, s), np.nan)
                for d, n, s in zip(plain["b_dist"], plain["n"], plain["scale"])
            ],
        }
    )
    order = {d: i for i, d in enumerate(["normal", "scaled_normal", "orthogonal"])}
    out = out.sort_values(
        ["b_dist", "n", "scale"], key=lambda c: c.map(order) if c.name == "b_dist" else c
    )
    return out.reset_index(drop=True)


@builder("ln_before_after")
def ln_before_after(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    s = frames["layernorm_stats/stats"]
    keys = ["shape", "normalized_over", "group_size", "stage"]
    agg = seed_means(s, keys, sort=False, max_abs_group_mean=("max_abs_group_mean", "max"))
    agg = agg[[*keys, "n_seeds", "mean", "max_abs_group_mean", "std_biased", "std_unbiased"]]
    k = agg["group_size"].astype(float)
    agg["std_unbiased_theory"] = np.where(agg["stage"] == "after", np.sqrt(k / (k - 1)), np.nan)
    return agg


@builder("ln_correlation")
def ln_correlation(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    """Pearson r between input and LayerNorm output, mean over seeds with its interval.

    ``pearson_r_theory`` is the exact expectation for the number of groups actually present
    (``theory.pearson_r_finite_groups``); ``pearson_r_limit`` is the many-groups limit
    sqrt(2/k) Gamma(k/2) / Gamma((k-1)/2), which a matrix with few groups sits above.
    """
    from lnpaper.experiments import theory
    from lnpaper.experiments.seeding import numpy_rng
    from lnpaper.experiments.stats import interval

    def r_theory(k: int, groups: int) -> tuple[float, float]:
        if groups == 1:  # the whole tensor: an affine map of the input
            return 1.0, 1.0
        return theory.pearson_r_finite_groups(k, groups), theory.pearson_r_groupwise(k)

    def row(source, shape, over, k, mu, g, rng, groups):
        mean, lo, hi = interval(g["pearson_r"], rng)
        exact, limit = r_theory(int(k), int(groups))
        return {
            "source": source,
            "shape": shape,
            "normalized_over": over,
            "group_size": int(k),
            "n_groups": int(groups),
            "input_mean": float(mu),
            "n_seeds": int(g["seed"].nunique()),
            "pearson_r_mean": mean,
            "pearson_r_ci_low": lo,
            "pearson_r_ci_high": hi,
            "pearson_r_theory": exact,
            "pearson_r_limit": limit,
        }

    seed = cfg.seed
    rows = []
    corr = frames["layernorm_stats/correlation"]
    for (k, scope, mu), g in corr.groupby(["group_size", "scope", "input_mean"], sort=True):
        groups = int(g["n_entries"].iloc[0]) // int(k)
        rng = numpy_rng(seed, "ln_correlation", int(k), float(mu))
        shape = f"{groups}x{k}"
        over = "all" if scope == "all" else "row"
        rows.append(row("iid", shape, over, k, mu, g, rng, 1 if scope == "all" else groups))
    stats = frames["layernorm_stats/stats"]
    after = stats[stats["stage"] == "after"]
    for (shape, over, k), g in after.groupby(
        ["shape", "normalized_over", "group_size"], sort=False
    ):
        rows_, cols_ = (int(v) for v in shape.split("x"))
        n_groups = {"row": rows_, "column": cols_, "all": 1}[over]
        rng = numpy_rng(seed, "ln_correlation", shape, over)
        rows.append(row("matrix", shape, over, k, 0.0, g, rng, n_groups))
    return pd.DataFrame(rows)


@builder("affine_grid")
def affine_grid(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    s = frames["affine/stats"].copy()
    s["mean_err"] = (s["mean"] - s["mean_theory"]).abs()
    s["std_err"] = (s["std_biased"] - s["std_biased_theory"]).abs()
    return seed_means(
        s,
        ["gamma", "beta"],
        sort=True,
        mean_theory=("mean_theory", "first"),
        std_biased_theory=("std_biased_theory", "mean"),
        max_abs_mean_error=("mean_err", "max"),
        max_abs_std_error=("std_err", "max"),
    )


@builder("eps_placement")
def eps_placement(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    e = frames["layernorm_stats/eps_placement"]
    wide = e.pivot_table(index="sigma", columns="formula", values="output_std").reset_index()
    theory = e[e["formula"] != "torch"].pivot_table(
        index="sigma", columns="formula", values="output_std_theory"
    )
    diff = e[e["formula"] != "torch"].pivot_table(
        index="sigma", columns="formula", values="max_abs_diff_vs_torch"
    )
    return pd.DataFrame(
        {
            "sigma": wide["sigma"],
            "output_std_torch": wide["torch"],
            "output_std_pytorch_formula": theory["pytorch"].to_numpy(),
            "output_std_paper_formula": theory["paper"].to_numpy(),
            "max_abs_diff_pytorch_formula": diff["pytorch"].to_numpy(),
            "max_abs_diff_paper_formula": diff["paper"].to_numpy(),
        }
    )


@builder("invariances")
def invariances(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    inv = frames["layernorm_stats/invariances"].copy()
    # an identity holds when the difference is at rounding level (float64)
    inv["holds"] = inv["max_abs_diff"] < 1e-9
    inv["as_expected"] = inv["holds"] == inv["invariant_expected"]
    return inv


@builder("precision")
def precision(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    e = frames["precision/errors"]
    tot = (
        e[e["error_source"] != "input_rounding"]
        .pivot_table(
            index=["dtype", "method", "offset"],
            columns="error_source",
            values="max_abs_error",
            dropna=False,
        )
        .reset_index()
    )
    rounding = (
        e[e["error_source"] == "input_rounding"]
        .drop_duplicates(["dtype", "offset"])
        .set_index(["dtype", "offset"])["max_abs_error"]
    )
    finite = e.drop_duplicates(["dtype", "method", "offset"]).set_index(
        ["dtype", "method", "offset"]
    )["finite_output"]
    out = pd.DataFrame(
        {
            "dtype": tot["dtype"],
            "method": tot["method"],
            "offset": tot["offset"],
            "max_abs_error_total": tot["total"],
            "max_abs_error_kernel": tot["kernel"],
            "max_abs_error_input_rounding": [
                rounding.get((d, o), np.nan) for d, o in zip(tot["dtype"], tot["offset"])
            ],
            "finite_output": [
                bool(finite.get((d, m, o), False))
                for d, m, o in zip(tot["dtype"], tot["method"], tot["offset"])
            ],
        }
    )
    order = {"float32": 0, "bfloat16": 1, "float16": 2}
    return out.sort_values(
        ["dtype", "method", "offset"], key=lambda c: c.map(order) if c.name == "dtype" else c
    ).reset_index(drop=True)


def build(name: str, frames: dict, cfg: dict) -> pd.DataFrame:
    if name not in BUILDERS:
        raise KeyError(f"no table builder named {name!r}; known: {', '.join(sorted(BUILDERS))}")
    return BUILDERS[name](frames, cfg)


@builder("normalizer_comparison")
def normalizer_comparison(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    return normalizer_aggregate(frames["training/summary"])


@builder("bn_vs_ln")
def bn_vs_ln(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    """The paper's qualitative Table 6.2, measured: spread of one sample's output per batch
    size (over ``n_batches`` batches) with its chi-square interval, its log-log slope (-1/2 = 1/sqrt(B)) with its
    least-squares interval, and whether online inference works."""
    s = frames["batch_dependence/stats"]
    rows = []
    for (norm, mode), g in s.groupby(["norm", "mode"], sort=False):
        row = {"norm": norm, "mode": mode, "n_batches": int(g["n_batches"].iloc[0])}
        for b, v in zip(g["batch_size"], g["output_std"]):
            col = f"output_std_b{int(b)}"  # the spread and its chi-square interval over the batches
            row[col] = float(v)
            row[f"{col}_ci_low"], row[f"{col}_ci_high"] = sd_interval(float(v), row["n_batches"])
        row["loglog_slope"] = loglog_slope(s, norm, mode)
        row["loglog_slope_ci_low"], row["loglog_slope_ci_high"] = loglog_slope_ci(s, norm, mode)
        row["batch_dependent"] = bool((g["output_std"] > 0).any())
        row["online_ok"] = online_ok(s, norm, mode)
        one = g[g["batch_size"] == 1]
        row["batch1_error"] = str(one["error"].iloc[0]) if len(one) else ""
        rows.append(row)
    return order_norms(pd.DataFrame(rows), ["norm", "mode"])


@builder("transformer_pre_post")
def transformer_pre_post(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    s = frames["transformer/summary"]
    s = s[s["arch"].isin(["post_ln", "pre_ln"])]  # the no-LayerNorm baseline is not in this table
    prof = transformer_grad_profile(frames["transformer/grads"])
    rows = []
    for (layers, arch, warm), g in s.groupby(["layers", "arch", "warmup"], sort=True):
        p = prof[(prof["layers"] == layers) & (prof["arch"] == arch)].sort_values("layer")
        row = {
            "layers": int(layers),
            "arch": arch,
            "warmup": bool(warm),
            "n_seeds": int(g["seed"].nunique()),
        }
        row["final_loss_mean"], row["final_loss_ci_low"], row["final_loss_ci_high"] = seed_mean_ci(
            g["final_loss"]
        )
        # the best of these means is quoted: its interval is the one over that row's seeds
        acc = seed_mean_ci(g["test_accuracy"], "transformer_accuracy", layers, arch, warm)
        row["test_accuracy_mean"], row["test_accuracy_ci_low"], row["test_accuracy_ci_high"] = acc
        row["chance_loss"] = float(g["chance_loss"].iloc[0])
        row["diverged_fraction"] = float(g["diverged"].mean())
        for end, at in (("bottom", 0), ("top", -1)):  # mean over the gradient seeds
            for col, stem in (
                ("", "_init"),
                ("_ci_low", "_init_ci_low"),
                ("_ci_high", "_init_ci_high"),
            ):
                value = float(p[f"grad_norm{col}"].iloc[at]) if len(p) else float("nan")
                row[f"grad_ffn_{end}{stem}"] = value
        row["grad_ffn_top_bottom_ratio"] = row["grad_ffn_top_init"] / row["grad_ffn_bottom_init"]
        rows.append(row)
    return pd.DataFrame(rows)


# ---------------------------------------------------------------- main-text tables
# The full grids above go to the supplement; the main text shows each at the size of the paper's
# own table. These builders select and reshape, they compute nothing new.


@builder("scale_main")
def scale_main(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    """Table 5.1 as the paper has it: its four scales for N(0,1) at the reference size, then the
    fix (scaled N(0,1/n) and orthogonal B) at s = 1."""
    from lnpaper.report.summaries import reference_n

    full = scale_behavior(frames, cfg)
    n = reference_n(full)
    paper = full[(full["scale_source"] == "paper") & (full["n"] == n)]
    rows = [paper[paper["b_dist"] == "normal"]]
    for dist in ("scaled_normal", "orthogonal"):
        fix = paper[(paper["b_dist"] == dist) & np.isclose(paper["scale"], 1.0)]
        rows.append(fix)
    cols = [
        "b_dist",
        "scale",
        "paper_behavior",
        "measured_behavior",
        "growth_rate_mean",
        "growth_rate_ci_low",
        "growth_rate_ci_high",
        "growth_rate_theory",
        "frobenius_rate_mean",
        "frobenius_rate_ci_low",
        "frobenius_rate_ci_high",
        "overflow_step_median",
    ]
    return pd.concat(rows)[cols].reset_index(drop=True)


PAPER_LN_SHAPE = "3x10"  # the paper's worked example of section 4.1.2


@builder("ln_before_after_main")
def ln_before_after_main(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    """Section 4.1.2's example: one small matrix, per row / column / whole tensor, before and
    after LayerNorm, with both std estimators."""
    full = ln_before_after(frames, cfg)
    shapes = list(dict.fromkeys(full["shape"]))
    shape = PAPER_LN_SHAPE if PAPER_LN_SHAPE in shapes else shapes[0]
    sub = full[full["shape"] == shape]
    cols = ["normalized_over", "group_size", "stage", "mean", "std_biased", "std_unbiased"]
    return sub[cols].reset_index(drop=True)


@builder("affine_main")
def affine_main(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    """The 3 x 3 grid of the paper: one row per γ, one column per β, each cell 'mean / std'."""
    grid = affine_grid(frames, cfg)
    out = {"gamma": sorted(grid["gamma"].unique())}
    for beta in sorted(grid["beta"].unique()):
        sub = grid[grid["beta"] == beta].set_index("gamma")
        out[f"beta={fmt_value(beta)}"] = [
            f"{fixed(sub.at[g, 'mean'], 3)} / {fixed(sub.at[g, 'std_biased'], 3)}"
            for g in out["gamma"]
        ]
    return pd.DataFrame(out)


BN_LN_PROPERTIES = ["batch_dependent", "loglog_slope", "online_ok", "train_eval_same"]


@builder("bn_vs_ln_main")
def bn_vs_ln_main(frames: dict, cfg: StepConfig) -> pd.DataFrame:
    """Table 6.2 of the paper (BatchNorm vs LayerNorm in words), measured: one row per property,
    one column per normalizer."""
    full = bn_vs_ln(frames, cfg).set_index(["norm", "mode"])
    norms = [n for n in ("batchnorm", "layernorm") if (n, "train") in full.index]
    rows = []
    for prop in BN_LN_PROPERTIES:
        row: dict = {"property": prop}
        for norm in norms:
            train = full.loc[(norm, "train")]
            if prop == "train_eval_same":
                ev = full.loc[(norm, "eval")] if (norm, "eval") in full.index else None
                row[norm] = bool(ev is not None and not train["batch_dependent"]) and bool(
                    not ev["batch_dependent"]
                )
            else:
                row[norm] = train[prop]
        rows.append(row)
    return pd.DataFrame(rows, columns=["property", *norms]).astype(object)


def claims_summary(claims: pd.DataFrame, language: str) -> pd.DataFrame:
    """The claims table of the main text: one short line per claim (the paper's section, the
    statement, verdict, the headline number), from ``tables/claims.csv``; the full table, with
    ids, measurements and theory, is in the supplement."""

    def number(col: str) -> pd.Series:
        value = claims[col] if col in claims.columns else pd.Series(np.nan, claims.index)
        return pd.to_numeric(value, errors="coerce").astype(float)

    out = pd.DataFrame(
        {
            "section": claims["section"].astype(str),
            "claim": claims["claim"].astype(str),
            "verdict": claims["verdict"].astype(str),
            **{col: number(col) for col in ("value", "value_ci_low", "value_ci_high")},
        }
    )
    if {"seeds_agree", "seeds"} <= set(claims.columns):  # replicate seeds ran: "k/K" per claim
        agree = claims["seeds_agree"].astype(int).astype(str) + "/" + claims["seeds"].astype(str)
        out["seeds_agree"] = agree.to_numpy()
    return out


def fmt_value(v: float) -> str:
    return str(int(v)) if float(v).is_integer() else f"{v:g}"


def fixed(v: float, decimals: int) -> str:
    from lnpaper.report.formatting import fmt_fixed

    return fmt_fixed(float(v), decimals)
