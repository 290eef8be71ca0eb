"""Adapter: the join rule of a split experiment (rules/experiments.smk) -> its module's declared
join function over the parts."""

from lnpaper.pipeline.step import run_join

run_join(snakemake)
