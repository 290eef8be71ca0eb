"""Adapter: rule transformer -> lnpaper.transformer.run."""
from lnpaper import transformer
from lnpaper.runtime import Progress, setup_torch
from lnpaper.step import StepResult, run_step

device = setup_torch(snakemake.threads, snakemake.params["device"])


def compute(params, inputs, outputs, threads):
    cfg = params["transformer"]
    progress = Progress("transformer", transformer.n_runs(cfg))
    frames = transformer.run(cfg, params["seed"], device=device, progress=progress)
    return StepResult(frames=frames, metrics=transformer.summary_metrics(frames),
                      conditions=transformer.CONDITIONS)


run_step(snakemake, "experiment", compute, device_used=device)
