"""Numerical faults on the tiny build's results: with inf and NaN put into its Parquet frames, every
table builder keeps every row and every figure drawer still draws."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from lnpaper.pipeline import io, registry
from lnpaper.pipeline.config import load_yaml, validate
from lnpaper.report import figures, formatting, tables
from lnpaper.report.step_config import StepConfig

# the naive float32 Frobenius norm sums squares: it overflows once the norm passes
# sqrt(float32 max) ~ 1.8e19, the threshold the figure marks


def tiny_config(work):
    return validate(
        {**load_yaml(work / "config.yaml"), **load_yaml(work / "tiny.yaml")},
        load_yaml(ROOT / "workflow/schemas/config.schema.yaml"),
    )


def merged_cfg(cfg, sources):
    """What the table/figure adapters pass: the experiments' sections by name, language, seed."""
    return StepConfig.for_sources(cfg, sources)


def poisoned(frame: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """NaN, +inf and -inf in the first rows of every measured float column (a float column with
    many distinct values: a measurement, not a condition key such as scale or eps)."""
    df = frame.copy()
    floats = [c for c in df.columns if pd.api.types.is_float_dtype(df[c])]
    cols = [c for c in floats if df[c].nunique() > max(3, len(df) // 4)]
    if not cols and floats:  # e.g. a spread that is exactly 0 in most rows
        cols = [max(floats, key=lambda c: df[c].nunique())]
    for col in cols:
        for i, bad in enumerate((np.nan, np.inf, -np.inf)[: len(df)]):
            df.loc[df.index[i], col] = bad
    return df, cols


@pytest.fixture(scope="module")
def built_frames(tiny_build):
    work, _ = tiny_build
    cfg = tiny_config(work)
    frames = {}
    for exp in registry.enabled_experiments(cfg):
        for name in registry.EXPERIMENTS[exp]:
            frames[f"{exp}/{name}"] = io.read_parquet(
                work / f"results/experiments/{exp}/{name}.parquet"
            )
    return cfg, frames


@pytest.mark.slow
def test_tables_keep_every_row_when_values_are_not_finite(built_frames, tmp_path):
    cfg, frames = built_frames
    checked = 0
    for name in registry.enabled_tables(cfg):
        sources = (
            [s for s in registry.TABLES[name] if s in frames] if name in registry.TABLES else []
        )
        if not sources:
            continue
        clean = tables.build(name, {s: frames[s] for s in sources}, merged_cfg(cfg, sources))
        bad = {s: poisoned(frames[s])[0] for s in sources}
        with np.errstate(all="ignore"):
            out = tables.build(name, bad, merged_cfg(cfg, sources))
            formatting.write_table(
                out,
                tmp_path / f"{name}.csv",
                tmp_path / f"{name}.md",
                tmp_path / f"{name}.tex",
                cfg["language"],
            )
        assert len(out) == len(clean), name  # no row silently dropped
        checked += 1
    assert checked >= 4


@pytest.mark.slow
def test_figures_draw_with_inf_and_nan(built_frames, tmp_path):
    import matplotlib.pyplot as plt

    cfg, frames = built_frames
    drawn = 0
    for name in registry.enabled_figures(cfg):
        sources = registry.FIGURES[name]
        bad, injected = {}, 0
        for s in sources:
            bad[s], cols = poisoned(frames[s])
            injected += len(cols)
        assert injected > 0, name
        with np.errstate(all="ignore"):
            fig = figures.draw(name, bad, merged_cfg(cfg, sources))
            figures.save_figure(fig, tmp_path / f"{name}.png", tmp_path / f"{name}.pdf")
        plt.close("all")
        assert (tmp_path / f"{name}.png").read_bytes()[:4] == b"\x89PNG"
        drawn += 1
    assert drawn >= 4
