"""Analysis summaries shared by tables, claims, numbers and figures: growth classification,
seed intervals, normalizer aggregates, and the reference setting the text quotes."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from lnpaper.experiments.seeding import numpy_rng
from lnpaper.experiments.stats import interval

# max abs error of a normalized output still counted accurate: the accuracy the text and the
# precision figure quote beside the numerical-stability verdict (which is about finite values)
PRECISION_THRESHOLD = 0.1


def classify_growth(ci_low: float, ci_high: float, tol: float) -> str:
    """decays / near-critical / explodes from the CI of the growth rate of ln||A_k||.

    Decays only if the whole CI lies below -tol, explodes only if it lies above +tol;
    anything else (CI within or straddling the band) is near-critical.
    """
    if ci_high < -tol:
        return "decays"
    if ci_low > tol:
        return "explodes"
    return "near-critical"


def paper_behavior(scale: float) -> str:
    """What the paper's Table 5.1 states for a scale: <1 decays, =1 oscillates, >1 explodes."""
    if math.isclose(scale, 1.0):
        return "oscillates"
    return "decays" if scale < 1 else "explodes"


NORM_ORDER = ["none", "layernorm", "rmsnorm", "batchnorm", "groupnorm", "dyt"]


def order_norms(df: pd.DataFrame, cols: list[str]) -> pd.DataFrame:
    """Sort with normalizations in their fixed order (not alphabetical)."""
    rank = {n: i for i, n in enumerate(NORM_ORDER)}
    return df.sort_values(
        cols, key=lambda c: c.map(rank) if c.name == "norm" else c, kind="stable"
    ).reset_index(drop=True)


def seed_mean_ci(x, *identity: object, kind: str = "mean") -> tuple[float, float, float]:
    """Mean and 95% interval over seeds of the finite values (NaN if none), from the shared
    ``stats.interval`` (bootstrap percentile, inside the data's range, so an accuracy stays in
    [0, 1]); the resampling generator is seeded by ``identity`` (the condition)."""
    return interval(x, numpy_rng(0, "seed-interval", *identity), kind=kind)


def normalizer_aggregate(summary: pd.DataFrame) -> pd.DataFrame:
    """Per (dataset, arch, depth, norm): mean and 95% interval over seeds of each per-run measure
    (``stats.interval``). Positive measures spanning orders of magnitude (loss oscillation, the
    first-layer gradient norm) get the log-scale interval: their ``_mean`` is the geometric mean."""
    rows = []
    for key, g in summary.groupby(["dataset", "arch", "depth", "norm"], sort=True):
        row = dict(zip(["dataset", "arch", "depth", "norm"], key))
        row["n_seeds"] = int(g["seed"].nunique())
        for col in (
            "test_accuracy",
            "steps_to_threshold",
            "loss_oscillation",
            "grad_norm_first_layer_init",
        ):
            # a gradient norm or an oscillation is positive: its interval on the log scale
            kind = (
                "positive" if col in ("loss_oscillation", "grad_norm_first_layer_init") else "mean"
            )
            vals = g[col].where(g[col] > 0) if kind == "positive" else g[col]
            row[f"{col}_mean"], row[f"{col}_ci_low"], row[f"{col}_ci_high"] = seed_mean_ci(
                vals, *key, col, kind=kind
            )
        row["test_loss_mean"] = seed_mean_ci(g["test_loss"])[0]
        row["reached_threshold_fraction"] = float(np.isfinite(g["steps_to_threshold"]).mean())
        row["diverged_fraction"] = float(g["diverged"].mean())
        rows.append(row)
    return order_norms(pd.DataFrame(rows), ["dataset", "arch", "depth", "norm"])


def _loglog_points(stats: pd.DataFrame, norm: str, mode: str) -> pd.DataFrame:
    g = stats[(stats["norm"] == norm) & (stats["mode"] == mode) & (stats["batch_size"] >= 2)]
    return g[g["output_std"] > 0]


def loglog_slope(stats: pd.DataFrame, norm: str, mode: str) -> float:
    """Slope of log(output_std) vs log(batch size) over sizes >= 2 with a positive spread."""
    g = _loglog_points(stats, norm, mode)
    if len(g) < 2:
        return float("nan")
    return float(np.polyfit(np.log(g["batch_size"]), np.log(g["output_std"]), 1)[0])


def loglog_slope_ci(
    stats: pd.DataFrame, norm: str, mode: str, level: float = 0.95
) -> tuple[float, float]:
    """The least-squares 95% interval of ``loglog_slope``: slope +- t(n-2) * SE, with SE from the
    residuals about the fitted line. Each batch size has its own batch-mates (own generator), so
    the points are independent measurements; a departure from a power law (B = 2 sits off the
    1/sqrt(B) line) adds to the residuals and widens the interval. Needs 3 sizes (NaN below)."""
    from scipy import stats as scipy_stats  # here: the workflow's start imports this module

    g = _loglog_points(stats, norm, mode)
    if len(g) < 3:
        return float("nan"), float("nan")
    fit = scipy_stats.linregress(np.log(g["batch_size"]), np.log(g["output_std"]))
    half = float(scipy_stats.t.ppf(0.5 + level / 2, len(g) - 2) * fit.stderr)
    slope = loglog_slope(stats, norm, mode)
    return slope - half, slope + half


def sd_interval(sd: float, n: int, level: float = 0.95) -> tuple[float, float]:
    """95% interval of a standard deviation measured from ``n`` draws: the chi-square interval
    sd * sqrt((n-1) / chi2_q), q = 0.975 and 0.025, exact for normal draws.

    Applied to the batch spread (the mean over features of each feature's SD over ``n``
    batches) it is conservative: the features are independent given x0 (their batch-mates are
    drawn independently), so their mean varies less than one feature's SD; and BatchNorm's
    output at B = 2 takes two values (+-1 about the batch mean), lighter-tailed than normal,
    which narrows an SD's spread further (tests/report/test_batch_intervals.py measures the
    coverage)."""
    from scipy import stats as scipy_stats

    if not (math.isfinite(sd) and n >= 2 and sd > 0):
        return float("nan"), float("nan")
    df = n - 1
    lo = sd * math.sqrt(df / scipy_stats.chi2.ppf(0.5 + level / 2, df))
    hi = sd * math.sqrt(df / scipy_stats.chi2.ppf(0.5 - level / 2, df))
    return float(lo), float(hi)


def run_count(t: pd.DataFrame, diverged: bool) -> float:
    """Number of runs (seeds x conditions) in a table, or of those that diverged."""
    n = t["n_seeds"].astype(float)
    return float(round((n * t["diverged_fraction"]).sum() if diverged else n.sum()))


def online_ok(stats: pd.DataFrame, norm: str, mode: str) -> bool:
    """Online (batch-size-1) inference works: the module runs at B=1, its output depends on the
    input, and it equals the sample's output inside a batch."""
    g = stats[(stats["norm"] == norm) & (stats["mode"] == mode) & (stats["batch_size"] == 1)]
    return bool(
        len(g)
        and g["runs"].iloc[0]
        and g["informative"].iloc[0]
        and g["matches_batched_output"].iloc[0]
    )


def transformer_grad_profile(grads: pd.DataFrame, param: str = "ffn_w2") -> pd.DataFrame:
    """Mean over seeds of one weight's gradient norm at init, per (layers, arch, layer), with
    its 95% interval over the seeds (``grad_norm_ci_low``/``_high``, ``stats.interval``: each
    seed draws its own initial weights and batch, so the seeds are independent replicates)."""
    keys = ["layers", "arch", "layer"]
    rows = []
    for key, g in grads[grads["param"] == param].groupby(keys, sort=True):
        _, lo, hi = seed_mean_ci(g["grad_norm"], "transformer_grad", param, *key)
        rows.append({**dict(zip(keys, key)), "grad_norm": g["grad_norm"].mean()})
        rows[-1].update(grad_norm_ci_low=lo, grad_norm_ci_high=hi)
    return pd.DataFrame(rows, columns=[*keys, "grad_norm", "grad_norm_ci_low", "grad_norm_ci_high"])


def overflow_step_ci(frames: dict, plain: pd.DataFrame, burn_in: int) -> dict[str, list]:
    """The 95% order-statistic interval (``stats.interval(kind="median")``) of the median first
    float32 overflow step over the seeds of each row of ``plain`` (the growth rows without
    LayerNorm), from the per-seed trajectories; a seed that never overflows counts as inf and an
    inf bound is reported as NaN, like the median. No columns without the trajectories."""
    if "matmul/trajectories" not in frames:
        return {}
    from lnpaper.experiments.matmul_growth import per_seed_rates

    traj = frames["matmul/trajectories"]
    steps = per_seed_rates(traj[~traj["layernorm"]], burn_in).groupby(
        ["b_dist", "n", "scale"], sort=False
    )["overflow_step"]
    bounds = {key: interval(g.fillna(np.inf), kind="median")[1:] for key, g in steps}
    got = [
        bounds.get((d, n, s), (np.nan, np.nan))
        for d, n, s in zip(plain["b_dist"], plain["n"], plain["scale"])
    ]
    lo, hi = (np.array(v, dtype=float) for v in zip(*got)) if got else ([], [])
    clean = lambda v: np.where(np.isinf(v), np.nan, v)  # noqa: E731
    return {"overflow_step_median_ci_low": clean(lo), "overflow_step_median_ci_high": clean(hi)}


# ---------------------------------------------------------------- the setting the text quotes
# The paper's own setting; when a config does not run it, the text, the figures and the claims
# all quote the run closest to it (ties: the larger), chosen here and nowhere else.
PAPER_N = 30  # Table 5.1: 30x30 matrices
# classes of the data sets whose size is fixed: scikit-learn's digits are the ten digits
DATASET_CLASSES = {"digits": 10}
PAPER_DEPTH = 20  # the deep plain MLP of section 4.1.4 as the science notes measure it
PAPER_LAYERS = 12  # Post-LN vs Pre-LN at 12 layers (Xiong et al. 2020)
PAPER_DATASET = "digits"  # the real data set that ships offline


def closest(values, target: int) -> int:
    """The value closest to ``target`` (ties: the larger)."""
    vals = sorted({int(v) for v in values})
    return min(vals, key=lambda v: (abs(v - target), -v))


def reference_n(df: pd.DataFrame) -> int:
    """The matrix size the text, the matmul figure and the matmul claims quote."""
    return closest(df["n"], PAPER_N)


def reference_depth(df: pd.DataFrame) -> int:
    """The MLP depth the text and the training figures quote."""
    return closest(df["depth"], PAPER_DEPTH)


def reference_layers(df: pd.DataFrame) -> int:
    """The Transformer depth the text quotes."""
    return closest(df["layers"], PAPER_LAYERS)


def reference_dataset(df: pd.DataFrame) -> str:
    """The training data set the text and the training figures quote."""
    names = sorted(set(df["dataset"]))
    return PAPER_DATASET if PAPER_DATASET in names else names[0]
