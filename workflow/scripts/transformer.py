"""Adapter: rule transformer -> lnpaper.experiments.transformer (the uniform experiment interface)."""

from lnpaper.experiments import transformer
from lnpaper.pipeline.step import run_experiment

run_experiment(snakemake, transformer)
