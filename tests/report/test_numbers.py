"""The numbers the manuscript quotes (lnpaper.report.numbers): macro names, fixed-precision text
and TeX, the reference rows they come from, and numbers that drop out with their experiment."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd
import pytest
from helpers_tex import parse_tex

from lnpaper.pipeline import registry
from lnpaper.report import numbers

ALL_ON = {e: {"enabled": True} for e in registry.EXPERIMENTS}


def spec(name: str) -> numbers.Number:
    return next(n for n in numbers.SPEC if n.name == name)


def test_macro_names_are_tex_control_words_and_unique():
    names = [n.name for n in numbers.SPEC]
    assert len(names) == len(set(names))
    assert all(re.fullmatch(r"[A-Za-z]+", n) for n in names)


@pytest.mark.parametrize(
    "value,name,text,tex",
    [
        (1.69149, "MatmulRateNormalOne", "1.691", "1.691"),
        (-0.0174, "MatmulRateScaledOne", "−0.017", r"\ensuremath{-0.017}"),
        (-0.0001, "MatmulRateScaledOne", "0.000", "0.000"),  # no "−0.000"
        (24.0, "MatmulOverflowNormalOne", "24", "24"),
        (float("nan"), "MatmulOverflowNormalOne", "–", "--"),
        (6.265e-8, "LnMaxAbsMeanAfter", "6.3·10⁻⁸", r"\ensuremath{6.3\times 10^{-8}}"),
        (1e-5, "LnEps", "10⁻⁵", r"\ensuremath{10^{-5}}"),
        (0.0, "BatchStdOthersMax", "0", "0"),  # an exact zero, not 0·10⁰
        (1.53, "TrainGradInitLayerNorm", "1.5", "1.5"),  # no ·10⁰
        (1.66e-8, "TrainGradInitNone", "1.7·10⁻⁸", r"\ensuremath{1.7\times 10^{-8}}"),
    ],
)
def test_fixed_precision_formatting(value, name, text, tex):
    assert numbers.format_text(value, spec(name)) == text
    assert numbers.format_tex(value, spec(name)) == tex


def scale_table(ns=(10, 30)) -> pd.DataFrame:
    rows = []
    for dist, b in (("normal", 0.0), ("scaled_normal", -0.5)):
        for n in ns:
            for s in (0.5, 1.0, 1.5, 2.0):
                rate = math.log(s) + b * math.log(n) + 0.001 * n
                rows.append(
                    {
                        "b_dist": dist,
                        "n": n,
                        "scale": s,
                        "growth_rate_mean": rate,
                        "growth_rate_theory": rate - 0.0005,
                        "growth_factor": math.exp(rate),
                        "overflow_step_median": np.nan if s < 1 else 40 / s,
                        "critical_scale_theory": 0.1857,
                        "critical_scale_measured": 0.19,
                        "ln_norm": float(n),
                    }
                )
    return pd.DataFrame(rows)


def test_matmul_numbers_come_from_the_reference_size_row():
    t = scale_table()
    cfg = numbers.config_slice(
        {"seed": 42, "matmul": {"steps": 50, "n_seeds": 20}, "layernorm_stats": {"eps": 1e-5}}
    )
    names = [
        "MatmulRefN",
        "MatmulRateNormalOne",
        "MatmulRateScaledOne",
        "MatmulOverflowNormalTwo",
        "MatmulOverflowNormalHalf",
        "MatmulLnNorm",
        "Seed",
        "MatmulSteps",
    ]
    got = numbers.compute({"table:scale_behavior": t}, cfg, names).set_index("name")
    assert got.loc["MatmulRefN", "value"] == 30  # the paper's n when it was run
    assert got.loc["MatmulRateNormalOne", "value"] == pytest.approx(0.03)
    assert got.loc["MatmulRateScaledOne", "value"] == pytest.approx(-0.5 * math.log(30) + 0.03)
    assert got.loc["MatmulOverflowNormalTwo", "text"] == "20"
    assert got.loc["MatmulOverflowNormalHalf", "text"] == "–"  # never overflowed
    assert got.loc["MatmulLnNorm", "text"] == "30.00"
    assert got.loc["Seed", "text"] == "42" and got.loc["MatmulSteps", "text"] == "50"
    assert list(got.index) == [
        n for n in (x.name for x in numbers.SPEC) if n in names
    ]  # spec order
    # without n = 30 the largest size is quoted
    small = numbers.compute({"table:scale_behavior": scale_table((10,))}, cfg, ["MatmulRefN"])
    assert small["text"].tolist() == ["10"]


def test_a_missing_row_gives_nan_not_a_failure():
    t = scale_table()
    t = t[t["scale"] != 1.5]
    got = numbers.compute({"table:scale_behavior": t}, {}, ["MatmulRateNormalOneHalf"])
    assert math.isnan(got["value"].iloc[0]) and got["tex"].iloc[0] == "--"


def test_disabled_experiments_drop_their_numbers():
    all_names = {n.name for n in numbers.in_build(ALL_ON)}
    off = {**ALL_ON, "affine": {"enabled": False}}
    names = {n.name for n in numbers.in_build(off)}
    assert {n for n in all_names - names} == {n for n in all_names if n.startswith("Affine")}
    assert not any(k.startswith("table:affine") for k in numbers.source_files(off))
    none = {e: {"enabled": False} for e in registry.EXPERIMENTS}
    assert {n.kind for n in numbers.in_build(none)} == {"config"}


def test_tex_has_one_definition_per_number_in_spec_order():
    df = numbers.compute(
        {"table:scale_behavior": scale_table()}, {}, ["MatmulRateNormalTwo", "MatmulRateNormalOne"]
    )
    tex = numbers.to_tex(df)
    defs = parse_tex(tex)
    assert list(defs) == ["MatmulRateNormalOne", "MatmulRateNormalTwo"]
    assert all(len(v) == 1 for v in defs.values())


def test_training_numbers_quote_the_reference_depth_and_drop_out_with_their_experiment():
    rows = [
        {
            "dataset": "digits",
            "arch": arch,
            "depth": d,
            "norm": norm,
            "n_seeds": 5,
            "test_accuracy_mean": d / 100 + (norm == "layernorm") + (arch == "residual") * 10,
            "grad_norm_first_layer_init_mean": 1e-8 if norm == "none" else 0.6,
            "diverged_fraction": 0.4 if d == 50 else 0.0,
        }
        for arch in ("plain", "residual")
        for d in (10, 20, 50)
        for norm in ("none", "layernorm")
    ]
    t = pd.DataFrame(rows)
    names = [
        "TrainRefDepth",
        "TrainDeepDepth",
        "TrainAccNone",
        "TrainAccLayerNorm",
        "TrainDeepAccLayerNorm",
        "TrainResidualAccNone",
        "TrainAccDyt",
        "TrainRuns",
        "TrainDiverged",
        "TrainGradInitNone",
        "TrainLr",
    ]
    full = {
        "seed": 1,
        "matmul": {"steps": 5, "n_seeds": 2},
        "layernorm_stats": {"eps": 1e-5},
        "training": {
            "lr": 1e-3,
            "steps": 300,
            "batch_size": 64,
            "width": 64,
            "depths": [10, 20, 50],
        },
    }
    cfg = numbers.config_slice(full)
    assert cfg["training"] == {"lr": 1e-3, "steps": 300, "batch_size": 64, "width": 64}
    got = numbers.compute({"table:normalizer_comparison": t}, cfg, names).set_index("name")["text"]
    assert got["TrainRefDepth"] == "20" and got["TrainDeepDepth"] == "50"
    assert got["TrainAccNone"] == "0.2" and got["TrainAccLayerNorm"] == "1.2"  # as the table
    assert got["TrainDeepAccLayerNorm"] == "1.5" and got["TrainResidualAccNone"] == "10.2"
    assert got["TrainAccDyt"] == "–"  # dyt not run
    assert got["TrainRuns"] == "60" and got["TrainDiverged"] == "8"  # 0.4 x 5 seeds x 4 rows
    assert got["TrainGradInitNone"] == "10⁻⁸" and got["TrainLr"] == "10⁻³"
    off = {**ALL_ON, "training": {"enabled": False}}
    gone = {n.name for n in numbers.in_build(ALL_ON)} - {n.name for n in numbers.in_build(off)}
    assert gone == {n.name for n in numbers.SPEC if n.name.startswith("Train")}
    full["training"]["enabled"] = False
    assert "training" not in numbers.config_slice(full)
