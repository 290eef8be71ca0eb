"""Adapter: rule matmul -> lnpaper.experiments.matmul (the uniform experiment interface)."""

from lnpaper.experiments import matmul
from lnpaper.pipeline.step import run_experiment

run_experiment(snakemake, matmul)
