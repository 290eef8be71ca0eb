"""Adapter: rule batch_dependence -> lnpaper.batch_dependence.run."""
from lnpaper import batch_dependence
from lnpaper.runtime import setup_torch
from lnpaper.step import StepResult, run_step

# PyTorch's own modules on CPU: the measurement is of their semantics, not of speed
device = setup_torch(snakemake.threads, "cpu")


def compute(params, inputs, outputs, threads):
    frames = batch_dependence.run(params["batch_dependence"], params["seed"])
    return StepResult(frames=frames, metrics=batch_dependence.summary_metrics(frames["stats"]))


run_step(snakemake, "experiment", compute, device_used=device)
