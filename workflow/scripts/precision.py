"""Adapter: rule precision -> lnpaper.precision.run."""
from lnpaper import precision
from lnpaper.runtime import setup_torch
from lnpaper.step import StepResult, run_step


def compute(params, inputs, outputs, threads):
    setup_torch(threads, "cpu")
    frames = precision.run(params["precision"], params["seed"])
    return StepResult(frames=frames, metrics=precision.summary_metrics(frames["errors"]))


run_step(snakemake, "experiment", compute)
