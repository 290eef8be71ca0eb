"""Adapter: rule training -> lnpaper.experiments.training.merge (join the per-dataset parts)."""

from lnpaper.experiments import training
from lnpaper.pipeline import io
from lnpaper.pipeline.step import StepContext, StepResult, run_step


def compute(ctx: StepContext) -> StepResult:
    parts = ctx.inputs["parts"]  # dataset -> {output name: path}
    frames = training.merge(
        [
            {name: io.read_parquet(part[name]) for name in training.OUTPUTS}
            for part in parts.values()
        ]
    )
    # the parts ran the torch work: their device is this step's device
    used = sorted({io.read_json(path)["device_used"] for path in ctx.inputs["manifests"].values()})
    return StepResult(
        frames=frames,
        metrics=training.summary_metrics(frames),
        conditions=training.CONDITIONS,
        extra={"device_used": ",".join(used)},
    )


run_step(snakemake, "experiment", compute)
