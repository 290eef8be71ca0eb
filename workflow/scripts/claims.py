"""Adapter: rule claims -> lnpaper.report.claims (the claims audit table, csv/md/tex)."""

from lnpaper.pipeline import io
from lnpaper.pipeline.step import StepContext, StepResult, run_step
from lnpaper.report import claims, formatting


def compute(ctx: StepContext) -> StepResult:
    p = ctx.params["claims"]
    frames = {source: io.read_parquet(path) for source, path in ctx.inputs.items()}
    cfg = claims.claims_config(p["experiments"])
    df = claims.evaluate_all(frames, cfg, p["language"])
    out = ctx.outputs
    formatting.write_table(df, out["csv"], out["md"], out["tex"], p["language"])
    counts = df["verdict"].value_counts()
    return StepResult(
        metrics={"rows": len(df), **{f"verdict.{k}": int(v) for k, v in counts.items()}}
    )


run_step(snakemake, "table", compute)
