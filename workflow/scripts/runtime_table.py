"""Adapter: rule runtime -> lnpaper.runtime_table (benchmark files -> runtime.{csv,md})."""
from lnpaper import runtime_table
from lnpaper.step import StepResult, run_step


def compute(params, inputs, outputs, threads):
    benchmarks = {k.split("__", 1)[1]: v for k, v in inputs.items() if k.startswith("bench__")}
    df = runtime_table.build(benchmarks)
    runtime_table.write(df, outputs["csv"], outputs["md"])
    return StepResult(metrics=runtime_table.metrics(df))


run_step(snakemake, "runtime", compute)
