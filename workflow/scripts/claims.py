"""Adapter: rule claims -> lnpaper.report.claims (the claims audit table, csv/md/tex); with
replicates (seeds, kernel paths), the table gains their comparison (lnpaper.report.replication).
The replicates' own audits (rule claims_replicate) run this adapter too, without ``replicates``."""

import pandas as pd

from lnpaper.pipeline import io
from lnpaper.pipeline.step import StepContext, StepResult, run_step
from lnpaper.report import claims, formatting, replication
from lnpaper.report.step_config import StepConfig


def compute(ctx: StepContext) -> StepResult:
    cfg = StepConfig.from_params(ctx.params["claims"])
    sources = {k: v for k, v in ctx.inputs.items() if k != "replicates"}
    frames = {source: io.read_parquet(path) for source, path in sources.items()}
    df = claims.evaluate_all(frames, cfg)
    metrics = {}
    if "replicates" in ctx.inputs:
        named = {name: pd.read_csv(path) for name, path in ctx.inputs["replicates"].items()}
        df = replication.annotate_replicates(df, cfg.seed, named)
        for column in ("fragile", "kernel_fragile"):
            if column in df.columns:
                metrics[column] = int(df[column].sum())
    out = ctx.outputs
    formatting.write_table(df, out["csv"], out["md"], out["tex"], cfg.language)
    counts = df["verdict"].value_counts()
    return StepResult(
        metrics={"rows": len(df), **{f"verdict.{k}": int(v) for k, v in counts.items()}, **metrics}
    )


run_step(snakemake, "table", compute)
