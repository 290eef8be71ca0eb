"""Adapter: rule table -> lnpaper.report.tables (build one table, write csv/md/tex)."""

from lnpaper.pipeline import io
from lnpaper.pipeline.step import StepContext, StepResult, run_step
from lnpaper.report import formatting, tables
from lnpaper.report.step_config import StepConfig


def compute(ctx: StepContext) -> StepResult:
    cfg = StepConfig.from_params(ctx.params["table"])
    frames = {source: io.read_parquet(path) for source, path in ctx.inputs.items()}
    df = tables.build(ctx.wildcards["table"], frames, cfg)
    out = ctx.outputs
    # an empty table names the experiments that ran none of its conditions
    formatting.write_table(
        df, out["csv"], out["md"], out["tex"], cfg.language, sorted(cfg.experiments)
    )
    return StepResult(metrics={"rows": len(df)})


run_step(snakemake, "table", compute)
