"""Adapter: rule claims -> lnpaper.report.claims (the claims audit table, csv/md/tex)."""

from lnpaper.pipeline import io
from lnpaper.pipeline.step import StepContext, StepResult, run_step
from lnpaper.report import claims, formatting
from lnpaper.report.step_config import StepConfig


def compute(ctx: StepContext) -> StepResult:
    cfg = StepConfig.from_params(ctx.params["claims"])
    frames = {source: io.read_parquet(path) for source, path in ctx.inputs.items()}
    df = claims.evaluate_all(frames, cfg)
    out = ctx.outputs
    formatting.write_table(df, out["csv"], out["md"], out["tex"], cfg.language)
    counts = df["verdict"].value_counts()
    return StepResult(
        metrics={"rows": len(df), **{f"verdict.{k}": int(v) for k, v in counts.items()}}
    )


run_step(snakemake, "table", compute)
