# Regenerates the LayerNorm paper: data -> experiments (Parquet) -> tables/figures -> manuscript,
# with a tracking step that logs the build to MLflow. Run: snakemake --cores 4
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/console.smk"
include: "workflow/rules/data.smk"
include: "workflow/rules/experiments.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/replicates.smk"
include: "workflow/rules/runtime.smk"
include: "workflow/rules/tracking.smk"
include: "workflow/rules/manuscript.smk"


rule all:
    default_target: True
    input:
        all_targets(),
