"""Adapter: rule batch_dependence -> lnpaper.experiments.batch_dependence (the uniform experiment interface)."""

from lnpaper.experiments import batch_dependence
from lnpaper.pipeline.step import run_experiment

run_experiment(snakemake, batch_dependence)
