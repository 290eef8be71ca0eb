"""Adapter: the join rule of a split experiment (rules/experiments.smk) -> its module's declared
join function over the parts."""

import os

# a kernel replicate's job (lnpaper.pipeline.kernels) runs under its CPU kernel path, set before
# torch loads (the manifest records the path torch reports)
os.environ.update(getattr(snakemake.params, "kernel_env", None) or {})

from lnpaper.pipeline.step import run_join  # noqa: E402

run_join(snakemake)
