"""Adapter: rule affine -> lnpaper.affine.run."""
from lnpaper import affine, io
from lnpaper.runtime import setup_torch
from lnpaper.step import StepResult, run_step


def compute(params, inputs, outputs, threads):
    setup_torch(threads, "cpu")
    frames = affine.run(params["affine"], io.read_parquet(inputs["matrices"]))
    return StepResult(frames=frames, metrics=affine.summary_metrics(frames["stats"]))


run_step(snakemake, "experiment", compute)
