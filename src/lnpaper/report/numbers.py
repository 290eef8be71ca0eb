"""Every number the manuscript quotes, defined once: name -> (source, extraction, format).

The ``numbers`` rule reads the sources (table CSVs, experiment Parquet, the config) and writes
``results/manuscript/numbers.tex`` (one ``\\newcommand`` per number, spec order, so unchanged
numbers give unchanged bytes) and ``numbers.parquet`` (value, text, source, step, table cell).
A number read from a table cell prints as the table prints it; any other number in the digits
it declares here (``quoting.compute``, ``numfmt``).
The manuscript rule adds the MLflow run of each source step and writes ``numbers.json``.

A number belongs to a table, an experiment or the config: when its table or experiment is not in
the build (disabled, or not yet part of the pipeline) it simply drops out. A number whose source
exists but lacks the row it needs (a scale not in the config) has value NaN and renders as "–".
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pandas as pd

from lnpaper.pipeline import registry
from lnpaper.report import replication
from lnpaper.report.quoting import (  # noqa: F401  (the numbers rule's and the tests' names)
    SPEC,
    Number,
    compute,
    format_tex,
    format_text,
    half_width,
    in_build,
    number,
    pick,
    quote,
    source_files,
    source_path,
    source_step,
    to_tex,
)
from lnpaper.report.summaries import (
    DATASET_CLASSES,
    reference_dataset,
    reference_depth,
    reference_n,
    run_count,
)

# ---------------------------------------------------------------- the numbers, by experiment


@number("Seed", "config", style="int")
def _seed(cfg):
    return cfg["seed"]


# matmul: Table 5.1 of the paper, measured growth rates of ln||A_k|| (table scale_behavior)
SCALE_WORDS = {0.5: "Half", 1.0: "One", 1.5: "OneHalf", 2.0: "Two"}
DIST_WORDS = {"normal": "Normal", "scaled_normal": "Scaled", "orthogonal": "Orthogonal"}

number("MatmulRefN", "table:scale_behavior", style="int")(lambda t: reference_n(t))
number("MatmulSteps", "config:matmul", style="int")(lambda cfg: cfg["matmul"]["steps"])
number("MatmulSeeds", "config:matmul", style="int")(lambda cfg: cfg["matmul"]["n_seeds"])


def _growth(col: str, dist: str, scale: float):
    return lambda t: pick(t, col, b_dist=dist, n=reference_n(t), scale=scale)


def _growth_pm(stem: str, dist: str, scale: float) -> Callable:
    return half_width(
        _growth(f"{stem}_ci_low", dist, scale), _growth(f"{stem}_ci_high", dist, scale)
    )


# the paper's four scales with N(0,1) entries; N(0,1/n) only at its near-critical s = 1
for _dist, _scales in (("normal", SCALE_WORDS), ("scaled_normal", {1.0: "One"})):
    for _scale, _word in _scales.items():
        number(
            f"MatmulRate{DIST_WORDS[_dist]}{_word}",
            "table:scale_behavior",
            uncertainty=_growth_pm("growth_rate", _dist, _scale),
        )(_growth("growth_rate_mean", _dist, _scale))

        number(f"MatmulTheory{DIST_WORDS[_dist]}{_word}", "table:scale_behavior")(
            _growth("growth_rate_theory", _dist, _scale)
        )
for _scale, _word in SCALE_WORDS.items():
    number(
        f"MatmulOverflowNormal{_word}",
        "table:scale_behavior",
        style="int",
        uncertainty=_growth_pm("overflow_step_median", "normal", _scale),
    )(_growth("overflow_step_median", "normal", _scale))
for _scale, _word in ((0.5, "Half"), (2.0, "Two")):  # the range of growth factors
    number(
        f"MatmulFactorNormal{_word}",
        "table:scale_behavior",
        digits=2,
        uncertainty=_growth_pm("growth_factor", "normal", _scale),
    )(_growth("growth_factor", "normal", _scale))
number("MatmulCriticalTheoryNormal", "table:scale_behavior", digits=4)(
    lambda t: pick(t, "critical_scale_theory", b_dist="normal", n=reference_n(t), scale=1.0)
)
# the paper's quantity: the Frobenius norm's rate after the burn-in (biased upward), at s = 1
number(
    "MatmulFrobRateNormalOne",
    "table:scale_behavior",
    uncertainty=_growth_pm("frobenius_rate", "normal", 1.0),
)(_growth("frobenius_rate_mean", "normal", 1.0))
# s* = s exp(-rate), with the interval the table maps from the rate's
number(
    "MatmulCriticalMeasuredNormal",
    "table:scale_behavior",
    digits=4,
    uncertainty=_growth_pm("critical_scale_measured", "normal", 1.0),
)(_growth("critical_scale_measured", "normal", 1.0))
number("MatmulDrawSets", "table:scale_behavior", style="int")(
    lambda t: float(t.loc[t["n"] == reference_n(t), "draw_set"].nunique())
)
number("MatmulLnNorm", "table:scale_behavior", digits=2)(
    lambda t: pick(t, "ln_norm", b_dist="normal", n=reference_n(t), scale=2.0)
)


# layernorm_stats: section 4.1.2 of the paper (tables ln_before_after, ln_correlation)
def _after(col: str, shape: str, over: str):
    return lambda t: pick(t, col, shape=shape, normalized_over=over, stage="after")


number("LnEps", "config", digits=0, style="sci")(lambda cfg: cfg["layernorm_stats"]["eps"])
number("LnStdUnbiasedTen", "table:ln_before_after", digits=4)(_after("std_unbiased", "3x10", "row"))
number("LnStdUnbiasedThirty", "table:ln_before_after", digits=4)(
    _after("std_unbiased", "30x30", "row")
)
number("LnStdBiasedThirty", "table:ln_before_after", digits=4)(_after("std_biased", "30x30", "row"))
number("LnMaxAbsMeanAfter", "table:ln_before_after", digits=1, style="sci")(
    lambda t: t.loc[t["stage"] == "after", "max_abs_group_mean"].max()
)


def _pearson(col: str, k: int):
    return lambda t: pick(t, col, source="iid", group_size=k, input_mean=0.0)


for _k, _word in ((3, "Three"), (10, "Ten")):
    number(
        f"LnPearsonK{_word}",
        "table:ln_correlation",
        digits=4,
        uncertainty=half_width(_pearson("pearson_r_ci_low", _k), _pearson("pearson_r_ci_high", _k)),
    )(_pearson("pearson_r_mean", _k))
    number(f"LnPearsonTheoryK{_word}", "table:ln_correlation", digits=4)(
        _pearson("pearson_r_theory", _k)
    )
number("LnPearsonWhole", "table:ln_correlation", digits=4)(
    lambda t: t.loc[t["normalized_over"] == "all", "pearson_r_mean"].min()
)


def _eps_sigma(e: pd.DataFrame) -> float:
    """The sigma the text quotes: the 1e-3 of the science notes when it was run, else the smallest."""
    return 1e-3 if (e["sigma"] - 1e-3).abs().min() < 1e-12 else float(e["sigma"].min())


# quoted from the main-text table eps_placement, beside which the text stands
number("LnEpsSigma", "table:eps_placement", digits=0, style="sci")(
    lambda t: pick(t, "sigma", sigma=_eps_sigma(t))
)
number("LnEpsStdTorch", "table:eps_placement", digits=3)(
    lambda t: pick(t, "output_std_torch", sigma=_eps_sigma(t))
)
number("LnEpsStdPaper", "table:eps_placement", digits=3)(
    lambda t: pick(t, "output_std_paper_formula", sigma=_eps_sigma(t))
)


# affine: section 4.1.3, gamma and beta set by hand (table affine_grid)
number("AffineSeeds", "table:affine_grid", style="int")(lambda t: t["n_seeds"].max())
number("AffineMeanGammaThreeBetaFive", "table:affine_grid", digits=4)(
    lambda t: pick(t, "mean", gamma=3.0, beta=5.0)
)
number("AffineStdGammaThreeBetaFive", "table:affine_grid", digits=4)(
    lambda t: pick(t, "std_biased", gamma=3.0, beta=5.0)
)
number("AffineMaxMeanError", "table:affine_grid", digits=1, style="sci")(
    lambda t: t["max_abs_mean_error"].max()
)
number("AffineMaxStdError", "table:affine_grid", digits=1, style="sci")(
    lambda t: t["max_abs_std_error"].max()
)


# precision: float32 error of each way of computing LayerNorm, worst over the offsets run
PRECISION_WORDS = {"naive": "Naive", "two_pass": "TwoPass", "welford": "Welford", "torch": "Torch"}


def _precision_worst(method: str):
    def get(t):
        rows = t[(t["dtype"] == "float32") & (t["method"] == method)]
        if rows.empty:
            raise LookupError(f"no float32 rows for {method}")
        return float(rows["max_abs_error_total"].max())

    return get


for _method, _word in PRECISION_WORDS.items():
    number(f"PrecisionError{_word}", "table:precision", digits=1, style="sci")(
        _precision_worst(_method)
    )
number("PrecisionMaxOffset", "table:precision", digits=0, style="sci")(lambda t: t["offset"].max())


def _precision_threshold(_t) -> float:
    from lnpaper.report.summaries import PRECISION_THRESHOLD

    return PRECISION_THRESHOLD


number("PrecisionThreshold", "table:precision", digits=1)(_precision_threshold)


# claims audit (table claims): how many claims get each verdict
for _verdict, _word in (
    ("holds", "Hold"),
    ("fails", "Fail"),
    ("holds_only_if", "HoldOnlyIf"),
    ("inconclusive", "Inconclusive"),
    ("not_measured", "NotMeasured"),
):
    number(f"Claims{_word}", "table:claims", style="int")(
        lambda t, v=_verdict: float((t["verdict"] == v).sum())
    )
number("ClaimsTotal", "table:claims", style="int")(lambda t: float(len(t)))

# replicates (config replicate_seeds, replicate_kernels): how many seeds (kernel paths) the
# verdicts were computed at, and how many claims keep one verdict at all; none without them
number("ReplicateSeeds", "table:claims", style="int")(replication.seed_count)
number("ClaimsReplicated", "table:claims", style="int")(replication.replicated_count)
number("ReplicateKernels", "table:claims", style="int")(replication.kernel_count)
number("ClaimsKernelStable", "table:claims", style="int")(replication.kernel_stable_count)


# training: section 4.1.4, deep ReLU MLPs with each normalization (table normalizer_comparison,
# means over seeds); the text quotes the plain MLP on digits at the reference depth
NORM_WORDS = {
    "none": "None",
    "layernorm": "LayerNorm",
    "rmsnorm": "RmsNorm",
    "batchnorm": "BatchNorm",
    "groupnorm": "GroupNorm",
    "dyt": "Dyt",
}
CONFIG_KEYS = {
    "training": [
        "lr",
        "steps",
        "batch_size",
        "width",
        "datasets",
        "synthetic",
        "test_fraction",
        "loss_threshold",
        "log_every",
        "smooth_window",
        "oscillation_window",
        "groupnorm_groups",
        "dyt_alpha",
    ],
    "transformer": [
        "lr",
        "steps",
        "warmup_steps",
        "d_model",
        "heads",
        "ffn",
        "vocab",
        "seq_len",
        "batch_size",
        "grad_seeds",
        "final_window",
    ],
    "precision": ["rows", "width"],
    "batch_dependence": [
        "width",
        "n_batches",
        "warmup_batches",
        "warmup_batch_size",
        "groupnorm_groups",
    ],
}


def _train(col: str, norm: str, deepest: bool = False, arch: str = "plain"):
    def get(t):
        depth = int(t["depth"].max()) if deepest else reference_depth(t)
        return pick(t, col, dataset=reference_dataset(t), arch=arch, depth=depth, norm=norm)

    return get


def _pm(col: str, norm: str, where: dict) -> Callable:
    """Half-width (and bounds) of a column's interval over seeds, for "mean ± h"."""
    low, high = (_train(f"{col}_ci_{e}", norm, **where) for e in ("low", "high"))
    return half_width(low, high)


def _acc_pm(norm: str, where: dict) -> Callable:
    return _pm("test_accuracy", norm, where)


number("TrainSteps", "config:training", style="int")(lambda cfg: cfg["training"]["steps"])
number("TrainBatch", "config:training", style="int")(lambda cfg: cfg["training"]["batch_size"])
number("TrainWidth", "config:training", style="int")(lambda cfg: cfg["training"]["width"])
number("TrainLr", "config:training", digits=0, style="sci")(lambda cfg: cfg["training"]["lr"])
number("TrainSeeds", "table:normalizer_comparison", style="int")(lambda t: t["n_seeds"].max())
number("TrainRefDepth", "table:normalizer_comparison", style="int")(reference_depth)
number("TrainDeepDepth", "table:normalizer_comparison", style="int")(lambda t: t["depth"].max())
for _norm, _word in NORM_WORDS.items():
    number(
        f"TrainAcc{_word}",
        "table:normalizer_comparison",
        uncertainty=half_width(
            _train("test_accuracy_ci_low", _norm), _train("test_accuracy_ci_high", _norm)
        ),
    )(_train("test_accuracy_mean", _norm))
for _norm, _word in (("none", "None"), ("layernorm", "LayerNorm")):
    number(
        f"TrainGradInit{_word}",
        "table:normalizer_comparison",
        digits=1,
        style="sci",
        uncertainty=_pm("grad_norm_first_layer_init", _norm, {}),
    )(_train("grad_norm_first_layer_init_mean", _norm))
    for _stem, _where in (
        ("TrainDeepAcc", {"deepest": True}),
        ("TrainResidualAcc", {"arch": "residual"}),
    ):
        number(
            f"{_stem}{_word}", "table:normalizer_comparison", uncertainty=_acc_pm(_norm, _where)
        )(_train("test_accuracy_mean", _norm, **_where))
number(
    "TrainDeepGradInitLayerNorm",
    "table:normalizer_comparison",
    digits=1,
    style="sci",
    uncertainty=_pm("grad_norm_first_layer_init", "layernorm", {"deepest": True}),
)(_train("grad_norm_first_layer_init_mean", "layernorm", deepest=True))
_DEEP_RESIDUAL = {"deepest": True, "arch": "residual"}
number(
    "TrainDeepResidualAccNone",
    "table:normalizer_comparison",
    uncertainty=_acc_pm("none", _DEEP_RESIDUAL),
)(_train("test_accuracy_mean", "none", **_DEEP_RESIDUAL))
# the 95% interval bounds of the accuracies and gradients the text compares: the manuscript's
# comparisons (lnpaper.manuscript.conditions) decide above / below / undecided from them
BOUNDED = {  # stem -> (column, where, normalizations)
    "TrainAcc": ("test_accuracy", {}, ("none", "layernorm", "groupnorm", "dyt")),
    "TrainDeepAcc": ("test_accuracy", {"deepest": True}, ("none", "layernorm")),
    "TrainResidualAcc": ("test_accuracy", {"arch": "residual"}, ("none",)),
    "TrainDeepResidualAcc": ("test_accuracy", {"deepest": True, "arch": "residual"}, ("none",)),
    "TrainGradInit": ("grad_norm_first_layer_init", {}, ("none", "layernorm")),
}
for _stem, (_col, _where, _norms) in BOUNDED.items():
    for _norm in _norms:
        _word = NORM_WORDS[_norm]
        for _end in ("Low", "High"):
            number(f"{_stem}{_word}{_end}", "table:normalizer_comparison", digits=4)(
                _train(f"{_col}_ci_{_end.lower()}", _norm, **_where)
            )
# scikit-learn's digits are the ten digits (summaries.DATASET_CLASSES); the synthetic task has
# the classes its config sets


def _chance(cfg) -> float:
    """Accuracy of guessing a class uniformly, on the data set the text quotes."""
    tr = cfg["training"]
    name = reference_dataset(pd.DataFrame({"dataset": tr["datasets"]}))
    if name in DATASET_CLASSES:
        return 1.0 / DATASET_CLASSES[name]
    return 1.0 / tr["synthetic"]["n_classes"]


number("TrainChance", "config:training")(_chance)
number("TrainRuns", "table:normalizer_comparison", style="int")(lambda t: run_count(t, False))
number("TrainDiverged", "table:normalizer_comparison", style="int")(lambda t: run_count(t, True))


# batch_dependence: section 6.2, one sample's output over random batches (table bn_vs_ln)
def _batch_sizes(t: pd.DataFrame) -> list[int]:
    return sorted(int(c.rsplit("b", 1)[1]) for c in _std_columns(t))


def _std_columns(t: pd.DataFrame) -> list[str]:
    """The spread columns, one per batch size (not their interval columns)."""
    return [c for c in t.columns if re.fullmatch(r"output_std_b\d+", c)]


def _smallest(t: pd.DataFrame) -> int:
    """The smallest batch with a spread (BatchNorm's train mode cannot run at batch size 1)."""
    return [b for b in _batch_sizes(t) if b >= 2][0]


def _bn_std(size: Callable[[pd.DataFrame], int]):
    """BatchNorm (train mode) output SD at the batch size ``size(table)``."""
    return lambda t: pick(t, f"output_std_b{size(t)}", norm="batchnorm", mode="train")


def _bn_std_pm(size: Callable[[pd.DataFrame], int]) -> Callable:
    """The interval the table gives that SD: chi-square over its ``n_batches`` batches
    (``summaries.sd_interval``: conservative for a mean over features)."""

    def bound(end: str) -> Callable:
        return lambda t: pick(t, f"output_std_b{size(t)}_ci_{end}", norm="batchnorm", mode="train")

    return half_width(bound("low"), bound("high"))


def _bn_slope(col: str) -> Callable:
    return lambda t: pick(t, col, norm="batchnorm", mode="train")


# batch_dependence runs once (one x0, one set of batch-mates per size): the interval of a spread
# is that of an SD over the batches, the slope's is the least-squares one over the batch sizes
number("BatchSmallest", "table:bn_vs_ln", style="int")(_smallest)
number("BatchLargest", "table:bn_vs_ln", style="int")(lambda t: _batch_sizes(t)[-1])
number("BatchStdBnSmallest", "table:bn_vs_ln", uncertainty=_bn_std_pm(_smallest))(
    _bn_std(_smallest)
)
_largest = lambda t: _batch_sizes(t)[-1]  # noqa: E731
number("BatchStdBnLargest", "table:bn_vs_ln", uncertainty=_bn_std_pm(_largest))(_bn_std(_largest))
number(
    "BatchSlopeBn",
    "table:bn_vs_ln",
    digits=2,
    uncertainty=half_width(_bn_slope("loglog_slope_ci_low"), _bn_slope("loglog_slope_ci_high")),
)(_bn_slope("loglog_slope"))
# the largest spread of LayerNorm/RMSNorm/GroupNorm (any mode and size): 0 when batch-independent
number("BatchStdOthersMax", "table:bn_vs_ln", digits=1, style="sci")(
    lambda t: t.loc[t["norm"] != "batchnorm", _std_columns(t)].max().max()
)


def config_slice(config: dict) -> dict:
    """The config values that config-sourced numbers read (the rule's params); an experiment's
    values only while it is enabled (so they drop out, and their changes rerun nothing)."""
    out = {
        "seed": config["seed"],
        "matmul": {
            k: config["matmul"][k]
            for k in ("steps", "n_seeds", "near_critical_tol")
            if k in config["matmul"]
        },
        "layernorm_stats": {
            k: config["layernorm_stats"][k]
            for k in ("eps", "eps_width", "eps_rows")
            if k in config["layernorm_stats"]
        },
    }
    on = set(registry.enabled_experiments(config))
    for exp, keys in CONFIG_KEYS.items():
        if exp in on and exp in config:
            out[exp] = {k: config[exp][k] for k in keys if k in config[exp]}
    return out


# section 6.3's numbers, then the Method section's set-ups and the residual-net evidence
# (registered after the numbers above, in this order: the spec order is numbers.tex's)
import lnpaper.report.numbers_transformer  # noqa: E402, F401, I001
import lnpaper.report.numbers_methods  # noqa: E402, F401
