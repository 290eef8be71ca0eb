"""Adapter: rule data -> lnpaper.experiments.data (the seeded input matrices)."""

from lnpaper.experiments import data
from lnpaper.pipeline.step import experiment_compute, run_step

run_step(snakemake, "data", experiment_compute(data, kind="data"), uses_torch=True)
