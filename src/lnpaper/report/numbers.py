"""Every number the manuscript quotes, defined once: name -> (source file, extraction, format).

The ``numbers`` rule reads the sources (table CSVs, experiment Parquet, the config) and writes
``results/manuscript/numbers.tex`` (one ``\\newcommand`` per number, fixed precision, spec order,
so unchanged numbers give unchanged bytes) and ``numbers.parquet`` (value, text, source, step).
The manuscript rule adds the MLflow run of each source step and writes ``numbers.json``.

A number belongs to a table, an experiment or the config: when its table or experiment is not in
the build (disabled, or not yet part of the pipeline) it simply drops out. A number whose source
exists but lacks the row it needs (a scale not in the config) has value NaN and renders as "–".
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from lnpaper.pipeline import paths, registry
from lnpaper.report.formatting import printed_frame
from lnpaper.report.numfmt import pm_text, quoted_text, tex_of
from lnpaper.report.summaries import (
    reference_dataset,
    reference_depth,
    reference_layers,
    reference_n,
)


@dataclass(frozen=True)
class Number:
    """One quoted number. ``source`` is "table:<name>", "experiment:<exp>/<output>", "config"
    or "config:<exp>" (a config value of one experiment: it drops out with the experiment)."""

    name: str
    source: str
    extract: Callable[[object], float]
    digits: int = 3  # decimals for "fixed", significant decimals of the mantissa for "sci"
    style: str = "fixed"  # fixed | int | sci
    # half-width of the value's 95% interval: then the text is "value ± u" and the decimals
    # follow the uncertainty (u to 1 significant digit, 2 when it starts with 1 or 2)
    uncertainty: Callable[[object], float] | None = None

    @property
    def kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def ref(self) -> str:
        return self.source.split(":", 1)[1] if ":" in self.source else ""


SPEC: list[Number] = []
MACRO_NAME = re.compile(r"^[A-Za-z]+$")  # TeX control words: letters only


def number(
    name: str,
    source: str,
    digits: int = 3,
    style: str = "fixed",
    uncertainty: Callable[[object], float] | None = None,
):
    def register(fn):
        if not MACRO_NAME.match(name) or any(n.name == name for n in SPEC):
            raise ValueError(f"number name {name!r} must be letters only and unique")
        SPEC.append(Number(name, source, fn, digits, style, uncertainty))
        return fn

    return register


# ---------------------------------------------------------------- extraction helpers

# the cells ``pick`` read, (column, row position), in order: ``compute`` takes the one a number's
# value came from as the table cell it quotes
READ: list[tuple[str, int]] = []


def pick(df: pd.DataFrame, col: str, **where) -> float:
    """The single value of ``col`` in the row matching ``where`` (floats compared with isclose)."""
    mask = pd.Series(True, index=df.index)
    for key, want in where.items():
        if isinstance(want, float):
            mask &= (
                df[key].astype(float).map(lambda v, want=want: math.isclose(v, want, abs_tol=1e-12))
            )
        else:
            mask &= df[key] == want
    rows = df.loc[mask, col]
    if len(rows) != 1:
        raise LookupError(f"{len(rows)} rows for {where} (need exactly 1)")
    READ.append((col, int(df.index.get_loc(rows.index[0]))))
    return float(rows.iloc[0])


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


def half_width(get_low: Callable, get_high: Callable) -> Callable:
    """Half the width of a 95% interval, for "value ± u"."""
    return lambda t: (get_high(t) - get_low(t)) / 2.0


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
    number(f"MatmulOverflowNormal{_word}", "table:scale_behavior", style="int")(
        _growth("overflow_step_median", "normal", _scale)
    )
for _scale, _word in ((0.5, "Half"), (2.0, "Two")):  # the range of growth factors
    number(f"MatmulFactorNormal{_word}", "table:scale_behavior", digits=2)(
        _growth("growth_factor", "normal", _scale)
    )
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
    from lnpaper.report.claims_matrices import PRECISION_THRESHOLD

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
    "training": ["lr", "steps", "batch_size", "width"],
    "transformer": ["lr", "steps", "warmup_steps"],
}


def _train(col: str, norm: str, deepest: bool = False, arch: str = "plain"):
    def get(t):
        depth = int(t["depth"].max()) if deepest else reference_depth(t)
        return pick(t, col, dataset=reference_dataset(t), arch=arch, depth=depth, norm=norm)

    return get


def _runs(t: pd.DataFrame, diverged: bool) -> float:
    """Number of runs (seeds x conditions) in a table, or of those that diverged."""
    n = t["n_seeds"].astype(float)
    return float(round((n * t["diverged_fraction"]).sum() if diverged else n.sum()))


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
    number(f"TrainGradInit{_word}", "table:normalizer_comparison", digits=1, style="sci")(
        _train("grad_norm_first_layer_init_mean", _norm)
    )
    number(f"TrainDeepAcc{_word}", "table:normalizer_comparison")(
        _train("test_accuracy_mean", _norm, deepest=True)
    )
    number(f"TrainResidualAcc{_word}", "table:normalizer_comparison")(
        _train("test_accuracy_mean", _norm, arch="residual")
    )
number("TrainDeepGradInitLayerNorm", "table:normalizer_comparison", digits=1, style="sci")(
    _train("grad_norm_first_layer_init_mean", "layernorm", deepest=True)
)
number("TrainRuns", "table:normalizer_comparison", style="int")(lambda t: _runs(t, False))
number("TrainDiverged", "table:normalizer_comparison", style="int")(lambda t: _runs(t, True))


# batch_dependence: section 6.2, one sample's output over random batches (table bn_vs_ln)
def _batch_sizes(t: pd.DataFrame) -> list[int]:
    return sorted(int(c.rsplit("b", 1)[1]) for c in t.columns if c.startswith("output_std_b"))


def _smallest(t: pd.DataFrame) -> int:
    """The smallest batch with a spread (BatchNorm's train mode cannot run at batch size 1)."""
    return [b for b in _batch_sizes(t) if b >= 2][0]


def _bn_std(size: Callable[[pd.DataFrame], int]):
    """BatchNorm (train mode) output SD at the batch size ``size(table)``."""
    return lambda t: pick(t, f"output_std_b{size(t)}", norm="batchnorm", mode="train")


number("BatchSmallest", "table:bn_vs_ln", style="int")(_smallest)
number("BatchLargest", "table:bn_vs_ln", style="int")(lambda t: _batch_sizes(t)[-1])
number("BatchStdBnSmallest", "table:bn_vs_ln")(_bn_std(_smallest))
number("BatchStdBnLargest", "table:bn_vs_ln")(_bn_std(lambda t: _batch_sizes(t)[-1]))
number("BatchSlopeBn", "table:bn_vs_ln", digits=2)(
    lambda t: pick(t, "loglog_slope", norm="batchnorm", mode="train")
)
# the largest spread of LayerNorm/RMSNorm/GroupNorm (any mode and size): 0 when batch-independent
number("BatchStdOthersMax", "table:bn_vs_ln", digits=1, style="sci")(
    lambda t: (
        t.loc[t["norm"] != "batchnorm", [c for c in t.columns if c.startswith("output_std_b")]]
        .max()
        .max()
    )
)


# transformer: section 6.3, Post-LN vs Pre-LN (table transformer_pre_post)


def _tf_grad(col: str, arch: str):
    """Gradient at init (the same in every warm-up row of one architecture)."""

    def get(t):
        rows = t[(t["layers"] == reference_layers(t)) & (t["arch"] == arch)]
        if rows.empty:
            raise LookupError(f"no {arch} rows")
        return float(rows[col].iloc[0])

    return get


def _tf_loss(arch: str, warmup: bool, col: str = "final_loss_mean"):
    return lambda t: pick(t, col, layers=reference_layers(t), arch=arch, warmup=warmup)


number("TransformerSteps", "config:transformer", style="int")(
    lambda cfg: cfg["transformer"]["steps"]
)
number("TransformerWarmupSteps", "config:transformer", style="int")(
    lambda cfg: cfg["transformer"]["warmup_steps"]
)
number("TransformerLr", "config:transformer", digits=0, style="sci")(
    lambda cfg: cfg["transformer"]["lr"]
)
number("TransformerRefLayers", "table:transformer_pre_post", style="int")(reference_layers)
number("TransformerSeeds", "table:transformer_pre_post", style="int")(lambda t: t["n_seeds"].max())
for _arch, _word in (("post_ln", "Post"), ("pre_ln", "Pre")):
    for _end in ("Top", "Bottom"):
        number(f"TransformerGrad{_word}{_end}", "table:transformer_pre_post")(
            _tf_grad(f"grad_ffn_{_end.lower()}_init", _arch)
        )
    for _warm, _wword in ((False, "NoWarmup"), (True, "Warmup")):
        number(
            f"TransformerLoss{_word}{_wword}",
            "table:transformer_pre_post",
            uncertainty=half_width(
                _tf_loss(_arch, _warm, "final_loss_ci_low"),
                _tf_loss(_arch, _warm, "final_loss_ci_high"),
            ),
        )(_tf_loss(_arch, _warm))
number("TransformerAccMax", "table:transformer_pre_post")(
    lambda t: t.loc[t["layers"] == reference_layers(t), "test_accuracy_mean"].max()
)
number("TransformerChanceLoss", "table:transformer_pre_post")(lambda t: t["chance_loss"].iloc[0])
number("TransformerRuns", "table:transformer_pre_post", style="int")(lambda t: _runs(t, False))
number("TransformerDiverged", "table:transformer_pre_post", style="int")(lambda t: _runs(t, True))


# ---------------------------------------------------------------- availability and sources


def source_path(n: Number) -> str:
    """Path of the file a number is read from (relative to the workflow root)."""
    if n.kind == "table":
        return paths.table_file(n.ref, "csv")
    if n.kind == "experiment":
        return registry.experiment_path(n.ref)
    return "config.yaml"


def source_step(n: Number) -> str:
    """The pipeline step that wrote the source file (its MLflow run is the number's run)."""
    return {"table": f"table_{n.ref}", "experiment": n.ref.split("/")[0]}.get(n.kind, "numbers")


def in_build(config: dict) -> list[Number]:
    """The numbers whose source is part of this build, in spec order."""
    tables = set(registry.enabled_tables(config))
    experiments = set(registry.enabled_experiments(config))
    out = []
    for n in SPEC:
        if n.kind == "table" and n.ref not in tables:
            continue
        if n.kind == "config" and n.ref and n.ref not in experiments:
            continue
        if n.kind == "experiment" and (
            n.ref.split("/")[0] not in experiments
            or n.ref.split("/")[1] not in registry.EXPERIMENTS.get(n.ref.split("/")[0], [])
        ):
            continue
        out.append(n)
    return out


def source_files(config: dict) -> dict[str, str]:
    """Source -> file of every number in this build that is read from a file (the rule's files)."""
    files = {n.source: source_path(n) for n in in_build(config) if n.kind != "config"}
    return dict(sorted(files.items()))


def config_slice(config: dict) -> dict:
    """The config values that config-sourced numbers read (the rule's params); an experiment's
    values only while it is enabled (so they drop out, and their changes rerun nothing)."""
    out = {
        "seed": config["seed"],
        "matmul": {k: config["matmul"][k] for k in ("steps", "n_seeds")},
        "layernorm_stats": {"eps": config["layernorm_stats"]["eps"]},
    }
    on = set(registry.enabled_experiments(config))
    for exp, keys in CONFIG_KEYS.items():
        if exp in on and exp in config:
            out[exp] = {k: config[exp][k] for k in keys if k in config[exp]}
    return out


# ---------------------------------------------------------------- formatting (numfmt)


def format_text(value: float, n: Number) -> str:
    """The text of a number that is no table cell, in the digits its spec declares."""
    return quoted_text(value, n.style, n.digits)


def format_tex(value: float, n: Number) -> str:
    return tex_of(format_text(value, n))


def table_cell(frame: pd.DataFrame, value: float, read: list) -> tuple[str, int] | None:
    """(column, row) of the table cell a quoted number is read from: the last cell ``pick`` read
    when it holds the value, else the first cell that holds exactly ``value`` (a maximum over a
    column). Integers are not looked up (counts: they print the same everywhere, and would match
    unrelated cells)."""
    if not math.isfinite(value) or float(value).is_integer():
        return None
    if read and float(frame[read[-1][0]].iloc[read[-1][1]]) == value:
        return read[-1]
    for col in frame.columns:
        if pd.api.types.is_float_dtype(frame[col]):
            rows = (frame[col] == value).to_numpy().nonzero()[0]
            if len(rows):
                return str(col), int(rows[0])
    return None


def quote(n: Number, value: float, u: float, cell: tuple[str, int] | None, printed) -> dict:
    """Text, TeX and table cell of one number. A table cell prints as the table prints it
    (``printed``: the table's ``formatting.printed_frame``); with an uncertainty, "value ± u" at
    the decimals u sets (the digits the table gives the estimate beside its interval)."""
    text = format_text(value, n) if cell is None else printed[cell[0]].iloc[cell[1]]
    if n.uncertainty is not None:
        text = pm_text(value, u, text)
    return {
        "text": text,
        "tex": tex_of(text),
        "cell_column": cell[0] if cell else "",
        "cell_row": cell[1] if cell else -1,
    }


COLUMNS = ["name", "value", "text", "tex", "source", "file", "step", "cell_column", "cell_row"]


def compute(sources: dict[str, pd.DataFrame], config: dict, names: list[str]) -> pd.DataFrame:
    """Evaluate the named numbers (those ``available`` in this build).

    ``sources``: source string -> DataFrame; ``config``: the ``config_slice``. Returns one row
    per number in spec order: name, value, text, tex, source, file, step, and the table cell it
    is read from (``cell_column``, ``cell_row``; "" and -1 for none).
    """
    rows, printed = [], {}
    wanted = set(names)
    for n in (n for n in SPEC if n.name in wanted):
        data = config if n.kind == "config" else sources[n.source]
        READ.clear()
        value, u = _evaluate(n.extract, data), float("nan")
        cell = None
        if n.kind == "table" and n.style != "int":
            cell = table_cell(data, value, list(READ))
            if n.source not in printed:
                printed[n.source] = printed_frame(data)
        if n.uncertainty is not None:
            u = _evaluate(n.uncertainty, data)
        rows.append(
            {
                "name": n.name,
                "value": value,
                **quote(n, value, u, cell, printed.get(n.source)),
                "source": n.source,
                "file": source_path(n),
                "step": source_step(n),
            }
        )
    return pd.DataFrame(rows, columns=COLUMNS)


def _evaluate(get: Callable, data) -> float:
    try:
        return float(get(data))
    except (LookupError, ValueError):
        return float("nan")  # the row this number needs is not in this build's config


def to_tex(numbers: pd.DataFrame) -> str:
    """One \\newcommand per number, in spec order; no times, run ids or paths that vary."""
    lines = [
        "% Numbers quoted by the manuscript; generated by the `numbers` rule. Do not edit.",
        "% Each macro's source file is in numbers.json.",
    ]
    lines += [f"\\newcommand{{\\{r.name}}}{{{r.tex}}}" for r in numbers.itertuples()]
    return "\n".join(lines) + "\n"
