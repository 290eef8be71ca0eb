"""Adapter: rule figure -> lnpaper.report.figures (draw one figure, save PNG and PDF)."""

from lnpaper.pipeline import io
from lnpaper.pipeline.config import config_hash
from lnpaper.pipeline.step import StepContext, StepResult, run_step
from lnpaper.report import figures
from lnpaper.report.step_config import StepConfig


def compute(ctx: StepContext) -> StepResult:
    cfg = StepConfig.from_params(ctx.params["figure"])
    frames = {source: io.read_parquet(path) for source, path in ctx.inputs.items()}
    name = ctx.wildcards["figure"]
    fig = figures.draw(name, frames, cfg)
    figures.save_figure(
        fig,
        ctx.outputs["png"],
        ctx.outputs["pdf"],
        {"rule": f"figure_{name}", "config_hash": config_hash(ctx.params)[:12]},
    )
    return StepResult()


run_step(snakemake, "figure", compute)
