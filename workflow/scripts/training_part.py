"""Adapter: rule training_part -> lnpaper.training.run for one dataset (joined by rule training)."""
from lnpaper import training
from lnpaper.runtime import Progress, setup_torch
from lnpaper.step import StepResult, run_step

device = setup_torch(snakemake.threads, snakemake.params["device"])


def compute(params, inputs, outputs, threads):
    cfg, dataset = params["training"], snakemake.wildcards.dataset
    n = sum(1 for c in training.conditions(cfg) if c[0] == dataset)
    frames = training.run(cfg, params["seed"], datasets=[dataset], device=device,
                          progress=Progress(f"training[{dataset}]", n))
    return StepResult(frames=frames, metrics=training.summary_metrics(frames["summary"]))


run_step(snakemake, "experiment_part", compute, device_used=device)
