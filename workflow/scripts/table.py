"""Adapter: rule table -> lnpaper.report.tables (build one table, write csv/md/tex)."""

from lnpaper.pipeline import io
from lnpaper.pipeline.step import StepContext, StepResult, run_step
from lnpaper.report import formatting, tables


def compute(ctx: StepContext) -> StepResult:
    p = ctx.params["table"]
    frames = {source: io.read_parquet(path) for source, path in ctx.inputs.items()}
    cfg = {k: v for exp in p["experiments"].values() for k, v in exp.items()}
    cfg.update(language=p["language"], seed=p["seed"])
    df = tables.build(ctx.wildcards["table"], frames, cfg)
    out = ctx.outputs
    formatting.write_table(df, out["csv"], out["md"], out["tex"], p["language"])
    return StepResult(metrics={"rows": len(df)})


run_step(snakemake, "table", compute)
