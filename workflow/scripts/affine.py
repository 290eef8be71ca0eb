"""Adapter: rule affine -> lnpaper.experiments.affine (the uniform experiment interface)."""

from lnpaper.experiments import affine
from lnpaper.pipeline.step import run_experiment

run_experiment(snakemake, affine)
