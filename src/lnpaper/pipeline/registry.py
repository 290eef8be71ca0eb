"""What the pipeline produces: experiments with their Parquet outputs, and the tables and figures
built from them. The Snakefile, the manuscript and the tests all read this one map.

An experiment switched off in config (``<experiment>.enabled: false``) removes its tables and
figures from the build; a table or figure that needs several experiments appears once all exist.
"""

from __future__ import annotations

import importlib

from lnpaper.experiments.spec import Experiment
from lnpaper.pipeline import paths

# The experiments of the paper, in build order: one entry each, the module holding its
# declaration (lnpaper/experiments/<id>_spec.py, next to its computation <id>.py). Everything
# else the pipeline knows about an experiment comes from that declaration. (lnpaper.pipeline.deps
# follows these names: the code that reads the registry lists the declarations as its input.)
EXPERIMENT_MODULES = [
    "lnpaper.experiments.matmul_spec",
    "lnpaper.experiments.layernorm_stats_spec",
    "lnpaper.experiments.affine_spec",
    "lnpaper.experiments.precision_spec",
    "lnpaper.experiments.training_spec",
    "lnpaper.experiments.batch_dependence_spec",
    "lnpaper.experiments.transformer_spec",
]

DECLARATIONS: dict[str, Experiment] = {
    d.id: d for d in (importlib.import_module(m).EXPERIMENT for m in EXPERIMENT_MODULES)
}

# experiment -> Parquet outputs (results/experiments/<experiment>/<name>.parquet)
EXPERIMENTS: dict[str, list[str]] = {e: list(d.outputs) for e, d in DECLARATIONS.items()}

# table -> the experiment outputs it is built from ("experiment/name")
TABLES: dict[str, list[str]] = {
    "scale_behavior": ["matmul/growth", "matmul/trajectories"],
    "ln_before_after": ["layernorm_stats/stats"],
    "ln_correlation": ["layernorm_stats/stats", "layernorm_stats/correlation"],
    "affine_grid": ["affine/stats"],
    "eps_placement": ["layernorm_stats/eps_placement"],
    "invariances": ["layernorm_stats/invariances"],
    "precision": ["precision/errors"],
    "normalizer_comparison": ["training/summary"],
    "bn_vs_ln": ["batch_dependence/stats"],
    "transformer_pre_post": ["transformer/summary", "transformer/grads"],
    # the main text's compact versions of the grids above
    "scale_main": ["matmul/growth"],
    "ln_before_after_main": ["layernorm_stats/stats"],
    "affine_main": ["affine/stats"],
    "bn_vs_ln_main": ["batch_dependence/stats"],
}

# Where each table goes: the main text shows tables the size of the paper's own, the supplement
# (an appendix of the same PDF, after the references) every full grid. ``claims_main`` is the
# claims table cut to one line per claim; the manuscript builds it from ``claims.csv``.
MAIN_TABLES: list[str] = [
    "scale_main",
    "ln_before_after_main",
    "eps_placement",
    "affine_main",
    "bn_vs_ln_main",
    "claims_main",
]
SUPPLEMENT_TABLES: list[str] = [
    "scale_behavior",
    "ln_before_after",
    "ln_correlation",
    "affine_grid",
    "precision",
    "normalizer_comparison",
    "bn_vs_ln",
    "transformer_pre_post",
    "invariances",
    "claims",
]
# derived in the manuscript step from another table's CSV, not by a table rule
DERIVED_TABLES: dict[str, str] = {"claims_main": "claims"}


def placement(table: str) -> str:
    """``main`` or ``supplement``."""
    if table in MAIN_TABLES:
        return "main"
    if table in SUPPLEMENT_TABLES:
        return "supplement"
    raise KeyError(f"table {table!r} has no place in the manuscript")


# figure -> the experiment outputs it is drawn from
FIGURES: dict[str, list[str]] = {
    "matmul_norms": ["matmul/trajectories", "matmul/growth"],
    "ln_distributions": ["layernorm_stats/stats"],
    "ln_correlation": ["layernorm_stats/correlation"],
    "affine_grid": ["affine/stats"],
    "eps_placement": ["layernorm_stats/eps_placement"],
    "precision": ["precision/errors"],
    "training_curves": ["training/curves"],
    "grad_norms": ["training/layer_grads"],
    "batch_dependence": ["batch_dependence/stats"],
    "transformer_grads": ["transformer/grads"],
}

# The claims table checks the paper's statements against whichever of these exist: its sources
# are optional, so it is built from the enabled experiments (claims.py marks the others).
CLAIMS_SOURCES: list[str] = [
    "matmul/growth",
    "layernorm_stats/stats",
    "layernorm_stats/correlation",
    "layernorm_stats/eps_placement",
    "affine/stats",
    "precision/errors",
    "training/summary",
    "training/curves",
    "batch_dependence/stats",
    "transformer/grads",
    "transformer/summary",
]


def experiment_of(source: str) -> str:
    return source.split("/", 1)[0]


def enabled_experiments(config: dict) -> list[str]:
    return [e for e in EXPERIMENTS if config.get(e, {}).get("enabled", True)]


def enabled_declarations(config: dict) -> list[Experiment]:
    return [DECLARATIONS[e] for e in enabled_experiments(config)]


def config_checks() -> list:
    """Every experiment's cross-field config checks, in registry order."""
    return [check for d in DECLARATIONS.values() for check in d.checks]


def available(sources: list[str], config: dict) -> bool:
    """True when every experiment the sources come from is enabled."""
    on = set(enabled_experiments(config))
    return all(experiment_of(s) in on for s in sources)


def claims_sources(config: dict) -> list[str]:
    """The experiment outputs the claims table reads under this config (enabled ones only)."""
    on = set(enabled_experiments(config))
    return [s for s in CLAIMS_SOURCES if experiment_of(s) in on]


def enabled_tables(config: dict) -> list[str]:
    """Every table of this build; ``claims`` (its own rule) last, when any source exists."""
    tables = [t for t, src in TABLES.items() if available(src, config)]
    return tables + (["claims"] if claims_sources(config) else [])


def table_sources(table: str, config: dict) -> list[str]:
    """The experiment outputs a table is built from under this config."""
    return claims_sources(config) if table == "claims" else TABLES[table]


def enabled_figures(config: dict) -> list[str]:
    return [f for f, src in FIGURES.items() if available(src, config)]


def experiment_path(source: str) -> str:
    return paths.experiment_file(source)
