"""Adapter: every experiment rule (rules/experiments.smk) -> lnpaper.experiments.<rule name>,
the uniform experiment interface; a split experiment's part rule runs one unit."""

from lnpaper.pipeline.step import run_declared

run_declared(snakemake)
