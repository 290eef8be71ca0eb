"""Adapter: rule data -> lnpaper.experiments.data (the seeded input matrices)."""

import os

# a kernel replicate's job (lnpaper.pipeline.kernels) runs under its CPU kernel path: torch,
# MKL and OpenBLAS read these variables when they load, so they are set before any import
os.environ.update(getattr(snakemake.params, "kernel_env", None) or {})

from lnpaper.experiments import data  # noqa: E402
from lnpaper.pipeline.step import experiment_compute, run_step  # noqa: E402

run_step(snakemake, "data", experiment_compute(data, kind="data"), uses_torch=True)
