"""Adapter: rule track -> lnpaper.tracking.store.log_build (one MLflow build from the manifests).

Not a run_step step: it consumes every manifest, so writing one of its own would be a cycle.
"""

import json
import os
import platform
import sys

from lnpaper.pipeline import io
from lnpaper.pipeline.config import flatten
from lnpaper.pipeline.provenance import git_state
from lnpaper.pipeline.runtime import setup_logging
from lnpaper.tracking.store import TrackingError, log_build

setup_logging(snakemake.log[0])
p = snakemake.params
git = git_state()
build = {
    "config_hash": p.config_hash,
    "git_commit": git["commit"],
    "git_dirty": git["dirty"],
    "host": platform.node(),
    "invocation": os.environ.get("LNPAPER_INVOCATION", "unknown"),
    "snakemake_argv": " ".join(json.loads(os.environ.get("LNPAPER_SNAKEMAKE_ARGV", "[]"))),
    "config": flatten(snakemake.config),
}
try:
    summary = log_build(
        list(snakemake.input.manifests), p.mlflow["tracking_uri"], p.mlflow["experiment"], build
    )
except TrackingError as err:
    print(f"tracking error: {err}", file=sys.stderr)
    with open(snakemake.log[0], "a", encoding="utf-8") as fh:
        fh.write(f"tracking error: {err}\n")
    sys.exit(1)
io.write_json(summary, snakemake.output[0])
