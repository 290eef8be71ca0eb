"""Adapter: rule training_part -> lnpaper.experiments.training for one dataset (the wildcard
narrows the config slice; rule training joins the parts)."""

from lnpaper.experiments import training
from lnpaper.pipeline.step import run_experiment

run_experiment(snakemake, training, kind="experiment_part")
