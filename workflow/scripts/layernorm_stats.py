"""Adapter: rule layernorm_stats -> lnpaper.layernorm_stats.run."""
from lnpaper import io, layernorm_stats
from lnpaper.runtime import setup_torch
from lnpaper.step import StepResult, run_step


def compute(params, inputs, outputs, threads):
    setup_torch(threads, "cpu")
    frames = layernorm_stats.run(params["layernorm_stats"], io.read_parquet(inputs["matrices"]),
                                 params["seed"])
    return StepResult(frames=frames, metrics=layernorm_stats.summary_metrics(frames))


run_step(snakemake, "experiment", compute)
