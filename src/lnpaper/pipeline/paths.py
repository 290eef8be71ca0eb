"""Every path under ``results/``, spelled once. The rules, the registry, the numbers and the claims
table's ``source`` column all ask this module; wildcards pass through as ``{name}``.
"""

from __future__ import annotations

RESULTS = "results"
TRACKING_BUILD = f"{RESULTS}/tracking/build.json"
# the results folder's build id: written once, never a rule's output (lnpaper.tracking.identity)
TRACKING_ID = f"{RESULTS}/tracking/build_id.json"
DATA = f"{RESULTS}/data/matrices.parquet"  # data_file() at the base seed
RUNTIME_CSV = f"{RESULTS}/tables/runtime.csv"
RUNTIME_MD = f"{RESULTS}/tables/runtime.md"
REPORT_ZIP = f"{RESULTS}/report.zip"
# not a result: the rule-code parse cache (pipeline/deps.py) kept with Snakemake's own state
DEPS_CACHE = ".snakemake/lnpaper/deps-cache.json"
# held by a running build (lnpaper.pipeline.inputs.acquire_build_lock)
BUILD_LOCK = ".snakemake/lnpaper/build.lock"


# A replicate's build (config ``replicate_seeds``, ``replicate_kernels``; its names in
# lnpaper.pipeline.kernels): its data, experiments, claims audit, manifests and logs, laid out
# under results/replicates/<name>/ as the base build's are under results/ (``root`` of the
# functions below). ``name`` may be the rule's wildcard, "{replicate}".
REPLICATES = f"{RESULTS}/replicates"


def replicate_root(name: str) -> str:
    """seed43 -> results/replicates/seed43: the ``root`` of one replicate's files."""
    return f"{REPLICATES}/{name}"


def data_file(root: str = RESULTS) -> str:
    """The seeded input matrices: results/data/matrices.parquet (``DATA``) at the base seed."""
    return f"{root}/data/matrices.parquet"


def experiment_file(source: str, root: str = RESULTS) -> str:
    """'matmul/growth' -> results/experiments/matmul/growth.parquet."""
    return f"{root}/experiments/{source}.parquet"


def part_file(experiment: str, unit: str, name: str, root: str = RESULTS) -> str:
    """One unit's share of a split experiment's output (joined by the experiment's rule):
    'training', 'digits', 'summary' -> results/experiments/training/parts/digits/summary.parquet."""
    return f"{root}/experiments/{experiment}/parts/{unit}/{name}.parquet"


def table_file(name: str, ext: str, root: str = RESULTS) -> str:
    return f"{root}/tables/{name}.{ext}"


def figure_file(name: str, ext: str) -> str:
    return f"{RESULTS}/figures/{name}.{ext}"


def manuscript_file(name: str) -> str:
    return f"{RESULTS}/manuscript/{name}"


def manifest_file(step: str, root: str = RESULTS) -> str:
    return f"{root}/manifests/{step}.json"


def log_file(step: str, root: str = RESULTS) -> str:
    return f"{root}/logs/{step}.log"


def benchmark_file(step: str, root: str = RESULTS) -> str:
    return f"{root}/benchmarks/{step}.tsv"
