"""Every path under ``results/``, spelled once. The rules, the registry, the numbers and the claims
table's ``source`` column all ask this module; wildcards pass through as ``{name}``.
"""

from __future__ import annotations

RESULTS = "results"
DATA = f"{RESULTS}/data/matrices.parquet"
TRACKING_BUILD = f"{RESULTS}/tracking/build.json"
# the results folder's build id: written once, never a rule's output (lnpaper.tracking.identity)
TRACKING_ID = f"{RESULTS}/tracking/build_id.json"
RUNTIME_CSV = f"{RESULTS}/tables/runtime.csv"
RUNTIME_MD = f"{RESULTS}/tables/runtime.md"
REPORT_ZIP = f"{RESULTS}/report.zip"
# not a result: the rule-code parse cache (pipeline/deps.py) kept with Snakemake's own state
DEPS_CACHE = ".snakemake/lnpaper/deps-cache.json"
# held by a running build (lnpaper.pipeline.inputs.acquire_build_lock)
BUILD_LOCK = ".snakemake/lnpaper/build.lock"


def experiment_file(source: str) -> str:
    """'matmul/growth' -> results/experiments/matmul/growth.parquet."""
    return f"{RESULTS}/experiments/{source}.parquet"


def part_file(experiment: str, unit: str, name: str) -> str:
    """One unit's share of a split experiment's output (joined by the experiment's rule):
    'training', 'digits', 'summary' -> results/experiments/training/parts/digits/summary.parquet."""
    return f"{RESULTS}/experiments/{experiment}/parts/{unit}/{name}.parquet"


def table_file(name: str, ext: str) -> str:
    return f"{RESULTS}/tables/{name}.{ext}"


def figure_file(name: str, ext: str) -> str:
    return f"{RESULTS}/figures/{name}.{ext}"


def manuscript_file(name: str) -> str:
    return f"{RESULTS}/manuscript/{name}"


def manifest_file(step: str) -> str:
    return f"{RESULTS}/manifests/{step}.json"


def log_file(step: str) -> str:
    return f"{RESULTS}/logs/{step}.log"


def benchmark_file(step: str) -> str:
    return f"{RESULTS}/benchmarks/{step}.tsv"
