"""Adapter: rule layernorm_stats -> lnpaper.experiments.layernorm_stats (the uniform experiment interface)."""

from lnpaper.experiments import layernorm_stats
from lnpaper.pipeline.step import run_experiment

run_experiment(snakemake, layernorm_stats)
