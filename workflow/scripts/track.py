"""Adapter: rule track -> lnpaper.tracking.store.log_build (one MLflow build from the manifests).

Not a run_step step: it consumes every manifest, so writing one of its own would be a cycle.
"""

import json
import os
import sys
from pathlib import Path

from lnpaper.pipeline import io, paths
from lnpaper.pipeline.config import flatten
from lnpaper.pipeline.credentials import public_config, redact_argv
from lnpaper.pipeline.provenance import git_state
from lnpaper.pipeline.runtime import setup_logging
from lnpaper.tracking.identity import build_identity
from lnpaper.tracking.store import TrackingError, log_build

setup_logging(snakemake.log[0])
p = snakemake.params
git = git_state()
argv = json.loads(os.environ.get("LNPAPER_SNAKEMAKE_ARGV", "[]"))
argv[:1] = [Path(a).name for a in argv[:1]]  # snakemake, not the path of the environment
build = {
    "config_hash": p.config_hash,
    "git_commit": git["commit"],
    "git_dirty": git["dirty"],
    "invocation": os.environ.get("LNPAPER_INVOCATION", "unknown"),
    # who and where stay on the machine: no host name, the command line without URL userinfo
    "snakemake_argv": " ".join(redact_argv(argv)),
    "config": flatten(public_config(snakemake.config)),
}
# this results folder's build id: kept beside the output, never deleted with it (a rerun of
# this step re-logs the same build in place)
identity = build_identity(paths.TRACKING_ID)
try:
    summary = log_build(
        list(snakemake.input.manifests),
        p.mlflow["tracking_uri"],
        p.mlflow["experiment"],
        build,
        identity=identity,
    )
except TrackingError as err:
    print(f"tracking error: {err}", file=sys.stderr)
    with open(snakemake.log[0], "a", encoding="utf-8") as fh:
        fh.write(f"tracking error: {err}\n")
    sys.exit(1)
io.write_json(summary, snakemake.output[0])
