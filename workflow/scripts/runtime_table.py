"""Adapter: rule runtime -> lnpaper.report.runtime_table (benchmark files -> runtime.{csv,md})."""

from lnpaper.pipeline.step import StepContext, StepResult, run_step
from lnpaper.report import runtime_table


def compute(ctx: StepContext) -> StepResult:
    df = runtime_table.build(ctx.inputs["benchmarks"], ctx.inputs.get("timings", {}))
    runtime_table.write(df, ctx.outputs["csv"], ctx.outputs["md"])
    return StepResult(metrics=runtime_table.metrics(df))


run_step(snakemake, "runtime", compute)
