"""Adapter: rule numbers -> lnpaper.report.numbers (every quoted number -> numbers.parquet/.tex)."""

import pandas as pd

from lnpaper.pipeline import io
from lnpaper.pipeline.step import StepContext, StepResult, run_step
from lnpaper.report import numbers
from lnpaper.report.uncertainty import se_metrics


def compute(ctx: StepContext) -> StepResult:
    p = ctx.params["numbers"]
    sources = {
        source: pd.read_csv(path) if path.endswith(".csv") else io.read_parquet(path)
        for source, path in ctx.inputs.items()
    }
    values = numbers.compute(sources, p["config"], p["names"])
    io.write_text(numbers.to_tex(values), ctx.outputs["tex"])
    missing = int(values["value"].isna().sum())
    metrics = {"numbers": len(values), "missing": missing, **se_metrics(values)}
    return StepResult(frames={"values": values}, metrics=metrics)


run_step(snakemake, "numbers", compute)
