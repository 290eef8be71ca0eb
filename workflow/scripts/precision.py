"""Adapter: rule precision -> lnpaper.experiments.precision (the uniform experiment interface)."""

from lnpaper.experiments import precision
from lnpaper.pipeline.step import run_experiment

run_experiment(snakemake, precision)
