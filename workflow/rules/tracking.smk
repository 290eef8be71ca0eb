# Stage 4: log the build to MLflow. Compute steps only leave manifests; this one step writes
# the store, so parallel jobs never race on it and a tracking outage never costs results.
import json as _json
import os as _os
import uuid as _uuid

from lnpaper.pipeline.config import config_hash

# Invocation metadata reaches the tracking job through the environment (inherited by local
# jobs, exported by sbatch), not params: a different command line must not force a rerun.
_os.environ.setdefault("LNPAPER_INVOCATION", _uuid.uuid4().hex)
_os.environ.setdefault("LNPAPER_SNAKEMAKE_ARGV", _json.dumps(sys.argv))


rule track:
    input:
        manifests=step_manifests(),
        src=src("track.py"),
    output:
        paths.TRACKING_BUILD,
    log:
        paths.log_file("track"),
    benchmark:
        paths.benchmark_file("track")
    conda:
        "../../environment.yml"
    params:
        mlflow=config["mlflow"],
        # the digest reruns tracking when any config value changes; the script reads the values
        # from snakemake.config, so that no job listing or error prints the whole config
        config_hash=config_hash(config),
    script:
        "../scripts/track.py"
