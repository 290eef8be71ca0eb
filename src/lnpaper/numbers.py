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
from dataclasses import dataclass
from typing import Callable

import pandas as pd

from . import registry

SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Number:
    """One quoted number. ``source`` is "table:<name>", "experiment:<exp>/<output>" or "config"."""
    name: str
    source: str
    extract: Callable[[object], float]
    digits: int = 3          # decimals for "fixed", significant decimals of the mantissa for "sci"
    style: str = "fixed"     # fixed | int | sci

    @property
    def kind(self) -> str:
        return self.source.split(":", 1)[0]

    @property
    def ref(self) -> str:
        return self.source.split(":", 1)[1] if ":" in self.source else ""


SPEC: list[Number] = []
MACRO_NAME = re.compile(r"^[A-Za-z]+$")  # TeX control words: letters only


def number(name: str, source: str, digits: int = 3, style: str = "fixed"):
    def register(fn):
        if not MACRO_NAME.match(name) or any(n.name == name for n in SPEC):
            raise ValueError(f"number name {name!r} must be letters only and unique")
        SPEC.append(Number(name, source, fn, digits, style))
        return fn
    return register


# ---------------------------------------------------------------- extraction helpers

def pick(df: pd.DataFrame, col: str, **where) -> float:
    """The single value of ``col`` in the row matching ``where`` (floats compared with isclose)."""
    mask = pd.Series(True, index=df.index)
    for key, want in where.items():
        if isinstance(want, float):
            mask &= df[key].astype(float).map(lambda v: math.isclose(v, want, abs_tol=1e-12))
        else:
            mask &= df[key] == want
    rows = df.loc[mask, col]
    if len(rows) != 1:
        raise LookupError(f"{len(rows)} rows for {where} (need exactly 1)")
    return float(rows.iloc[0])


def reference_n(df: pd.DataFrame) -> int:
    """The matrix size the text quotes: the paper's 30 when it was run, else the largest size."""
    sizes = sorted(set(int(v) for v in df["n"]))
    return 30 if 30 in sizes else sizes[-1]


# ---------------------------------------------------------------- the numbers, by experiment

@number("Seed", "config", style="int")
def _seed(cfg):
    return cfg["seed"]


# matmul: Table 5.1 of the paper, measured growth rates of ln||A_k|| (table scale_behavior)
SCALE_WORDS = {0.5: "Half", 1.0: "One", 1.5: "OneHalf", 2.0: "Two"}
DIST_WORDS = {"normal": "Normal", "scaled_normal": "Scaled", "orthogonal": "Orthogonal"}

number("MatmulRefN", "table:scale_behavior", style="int")(lambda t: reference_n(t))
number("MatmulSteps", "config", style="int")(lambda cfg: cfg["matmul"]["steps"])
number("MatmulSeeds", "config", style="int")(lambda cfg: cfg["matmul"]["n_seeds"])


def _growth(col: str, dist: str, scale: float):
    return lambda t: pick(t, col, b_dist=dist, n=reference_n(t), scale=scale)


# the paper's four scales with N(0,1) entries; N(0,1/n) only at its near-critical s = 1
for _dist, _scales in (("normal", SCALE_WORDS), ("scaled_normal", {1.0: "One"})):
    for _scale, _word in _scales.items():
        number(f"MatmulRate{DIST_WORDS[_dist]}{_word}", "table:scale_behavior")(
            _growth("growth_rate_mean", _dist, _scale))
        number(f"MatmulTheory{DIST_WORDS[_dist]}{_word}", "table:scale_behavior")(
            _growth("growth_rate_theory", _dist, _scale))
for _scale, _word in SCALE_WORDS.items():
    number(f"MatmulOverflowNormal{_word}", "table:scale_behavior", style="int")(
        _growth("overflow_step_median", "normal", _scale))
for _scale, _word in ((0.5, "Half"), (2.0, "Two")):  # the range of growth factors
    number(f"MatmulFactorNormal{_word}", "table:scale_behavior", digits=2)(
        _growth("growth_factor", "normal", _scale))
number("MatmulCriticalTheoryNormal", "table:scale_behavior", digits=4)(
    lambda t: pick(t, "critical_scale_theory", b_dist="normal", n=reference_n(t), scale=1.0))
number("MatmulCriticalMeasuredNormal", "table:scale_behavior", digits=4)(
    lambda t: pick(t, "critical_scale_measured", b_dist="normal", n=reference_n(t), scale=1.0))
number("MatmulLnNorm", "table:scale_behavior", digits=2)(
    lambda t: pick(t, "ln_norm", b_dist="normal", n=reference_n(t), scale=2.0))


# layernorm_stats: section 4.1.2 of the paper (tables ln_before_after, ln_correlation)
def _after(col: str, shape: str, over: str):
    return lambda t: pick(t, col, shape=shape, normalized_over=over, stage="after")


number("LnEps", "config", digits=0, style="sci")(lambda cfg: cfg["layernorm_stats"]["eps"])
number("LnStdUnbiasedTen", "table:ln_before_after", digits=4)(_after("std_unbiased", "3x10", "row"))
number("LnStdUnbiasedThirty", "table:ln_before_after", digits=4)(_after("std_unbiased", "30x30", "row"))
number("LnStdBiasedThirty", "table:ln_before_after", digits=4)(_after("std_biased", "30x30", "row"))
number("LnMaxAbsMeanAfter", "table:ln_before_after", digits=1, style="sci")(
    lambda t: t.loc[t["stage"] == "after", "max_abs_group_mean"].max())


def _pearson(col: str, k: int):
    return lambda t: pick(t, col, source="iid", group_size=k, input_mean=0.0)


for _k, _word in ((3, "Three"), (10, "Ten")):
    number(f"LnPearsonK{_word}", "table:ln_correlation", digits=4)(_pearson("pearson_r_mean", _k))
    number(f"LnPearsonTheoryK{_word}", "table:ln_correlation", digits=4)(_pearson("pearson_r_theory", _k))
number("LnPearsonWhole", "table:ln_correlation", digits=4)(
    lambda t: t.loc[t["normalized_over"] == "all", "pearson_r_mean"].min())
def _eps_sigma(e: pd.DataFrame) -> float:
    """The sigma the text quotes: the 1e-3 of the science notes when it was run, else the smallest."""
    return 1e-3 if (e["sigma"] - 1e-3).abs().min() < 1e-12 else float(e["sigma"].min())


number("LnEpsSigma", "experiment:layernorm_stats/eps_placement", digits=0, style="sci")(_eps_sigma)
number("LnEpsStdTorch", "experiment:layernorm_stats/eps_placement", digits=3)(
    lambda e: pick(e, "output_std", sigma=_eps_sigma(e), formula="torch"))
number("LnEpsStdPaper", "experiment:layernorm_stats/eps_placement", digits=3)(
    lambda e: pick(e, "output_std", sigma=_eps_sigma(e), formula="paper"))


# affine: section 4.1.3, gamma and beta set by hand (table affine_grid)
number("AffineSeeds", "table:affine_grid", style="int")(lambda t: t["n_seeds"].max())
number("AffineMeanGammaThreeBetaFive", "table:affine_grid", digits=4)(
    lambda t: pick(t, "mean", gamma=3.0, beta=5.0))
number("AffineStdGammaThreeBetaFive", "table:affine_grid", digits=4)(
    lambda t: pick(t, "std_biased", gamma=3.0, beta=5.0))
number("AffineMaxMeanError", "table:affine_grid", digits=1, style="sci")(
    lambda t: t["max_abs_mean_error"].max())
number("AffineMaxStdError", "table:affine_grid", digits=1, style="sci")(
    lambda t: t["max_abs_std_error"].max())


# claims audit (table claims, built by the lead's step once it exists)
for _verdict, _word in (("holds", "Hold"), ("fails", "Fail"), ("holds_only_if", "HoldOnlyIf")):
    number(f"Claims{_word}", "table:claims", style="int")(
        lambda t, v=_verdict: float((t["verdict"] == v).sum()))
number("ClaimsTotal", "table:claims", style="int")(lambda t: float(len(t)))


# ---------------------------------------------------------------- availability and sources

def source_path(n: Number) -> str:
    """Path of the file a number is read from (relative to the workflow root)."""
    if n.kind == "table":
        return f"results/tables/{n.ref}.csv"
    if n.kind == "experiment":
        return registry.experiment_path(n.ref)
    return "config.yaml"


def source_step(n: Number) -> str:
    """The pipeline step that wrote the source file (its MLflow run is the number's run)."""
    return {"table": f"table_{n.ref}", "experiment": n.ref.split("/")[0]}.get(n.kind, "numbers")


def available(config: dict) -> list[Number]:
    """The numbers whose source is part of this build, in spec order."""
    tables = set(registry.enabled_tables(config))
    experiments = set(registry.enabled_experiments(config))
    out = []
    for n in SPEC:
        if n.kind == "table" and n.ref not in tables:
            continue
        if n.kind == "experiment" and (n.ref.split("/")[0] not in experiments
                                       or n.ref.split("/")[1] not in registry.EXPERIMENTS.get(
                                           n.ref.split("/")[0], [])):
            continue
        out.append(n)
    return out


def input_key(source: str) -> str:
    """'table:affine_grid' -> 'table__affine_grid': a rule input name for a number's source."""
    return source.replace(":", "__").replace("/", "__")


def input_files(config: dict) -> dict[str, str]:
    """Rule inputs: one entry per source file of the available numbers."""
    files = {input_key(n.source): source_path(n) for n in available(config) if n.kind != "config"}
    return dict(sorted(files.items()))


def config_slice(config: dict) -> dict:
    """The config values that config-sourced numbers read (the rule's params)."""
    return {"seed": config["seed"],
            "matmul": {k: config["matmul"][k] for k in ("steps", "n_seeds")},
            "layernorm_stats": {"eps": config["layernorm_stats"]["eps"]}}


# ---------------------------------------------------------------- formatting

def format_text(value: float, n: Number) -> str:
    """Plain text as the manuscript prints it (fixed precision; NaN -> '–')."""
    if value is None or math.isnan(value):
        return "–"
    if math.isinf(value):
        return "∞" if value > 0 else "−∞"
    if n.style == "int":
        return str(int(round(value)))
    if n.style == "sci":
        mant, exp = _sci(value, n.digits)
        power = f"10{str(exp).translate(SUPERSCRIPT)}"
        return power if mant == "1" else f"{mant}·{power}"
    text = f"{value:.{n.digits}f}"
    return "0" + text[2:] if text.startswith("-0") and float(text) == 0 else text.replace("-", "−")


def format_tex(value: float, n: Number) -> str:
    if value is None or math.isnan(value):
        return "--"
    if math.isinf(value):
        return r"\ensuremath{\infty}" if value > 0 else r"\ensuremath{-\infty}"
    if n.style == "sci":
        mant, exp = _sci(value, n.digits)
        power = rf"10^{{{exp}}}"
        return rf"\ensuremath{{{power}}}" if mant == "1" else rf"\ensuremath{{{mant}\times {power}}}"
    text = format_text(value, n).replace("−", "-")
    return rf"\ensuremath{{{text}}}" if text.startswith("-") else text


def _sci(value: float, digits: int) -> tuple[str, int]:
    mant, exp = f"{value:.{digits}e}".split("e")
    if float(mant) == 1.0 and digits == 0:
        mant = "1"
    return mant.replace("-", "−"), int(exp)


# ---------------------------------------------------------------- compute and write

def compute(sources: dict[str, pd.DataFrame], config: dict, names: list[str]) -> pd.DataFrame:
    """Evaluate the named numbers (those ``available`` in this build).

    ``sources``: source string -> DataFrame; ``config``: the ``config_slice``. Returns one row
    per number in spec order: name, value, text, tex, source, file, step.
    """
    rows = []
    wanted = set(names)
    for n in (n for n in SPEC if n.name in wanted):
        data = config if n.kind == "config" else sources[n.source]
        try:
            value = float(n.extract(data))
        except (LookupError, ValueError):
            value = float("nan")  # the row this number needs is not in this build's config
        rows.append({"name": n.name, "value": value, "text": format_text(value, n),
                     "tex": format_tex(value, n), "source": n.source, "file": source_path(n),
                     "step": source_step(n)})
    return pd.DataFrame(rows, columns=["name", "value", "text", "tex", "source", "file", "step"])


def to_tex(numbers: pd.DataFrame) -> str:
    """One \\newcommand per number, in spec order; no times, run ids or paths that vary."""
    lines = ["% Numbers quoted by the manuscript; generated by the `numbers` rule. Do not edit.",
             "% Each macro's source file is in numbers.json."]
    lines += [f"\\newcommand{{\\{r.name}}}{{{r.tex}}}" for r in numbers.itertuples()]
    return "\n".join(lines) + "\n"


def parse_tex(text: str) -> dict[str, list[str]]:
    """name -> list of definitions in a numbers.tex (a test helper: each list must have length 1)."""
    found: dict[str, list[str]] = {}
    for m in re.finditer(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}\s*$", text, flags=re.M):
        found.setdefault(m.group(1), []).append(m.group(2))
    return found
