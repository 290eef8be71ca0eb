"""Adapter: every experiment rule (rules/experiments.smk) -> lnpaper.experiments.<rule name>,
the uniform experiment interface; a split experiment's part rule runs one unit."""

import os

# a kernel replicate's job (lnpaper.pipeline.kernels) runs under its CPU kernel path: torch,
# MKL and OpenBLAS read these variables when they load, so they are set before any import
os.environ.update(getattr(snakemake.params, "kernel_env", None) or {})

from lnpaper.pipeline.step import run_declared  # noqa: E402

run_declared(snakemake)
