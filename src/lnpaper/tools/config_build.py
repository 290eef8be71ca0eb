"""A config's paper built in process, as the Snakemake rules build it (experiments, tables,
figures, claims, numbers and the filled manuscript), for the property tests over the config
space (lnpaper.tools.config_sweep checks what comes out)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from lnpaper.pipeline import registry
from lnpaper.pipeline.config import load_yaml, validate

ROOT = Path(__file__).resolve().parents[3]
SCHEMA_PATH = ROOT / "workflow/schemas/config.schema.yaml"


@dataclass
class Built:
    """What an in-process build produced."""

    config: dict
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    claims: pd.DataFrame | None = None
    numbers: pd.DataFrame | None = None
    paper: str = ""


def run_experiments(config: dict) -> dict[str, pd.DataFrame]:
    """Every enabled experiment of a validated config: ``{"matmul/growth": df, ...}``."""
    import importlib

    from lnpaper.experiments import data

    seed = config["seed"]
    pipeline = {"matrices": data.run(config["data"], seed=seed)["matrices"]}
    frames: dict[str, pd.DataFrame] = {}
    for exp in registry.enabled_declarations(config):
        module = importlib.import_module(exp.module)
        cfg = config[exp.section]
        if exp.split:  # one part per unit, joined (as its rules run it)
            parts = [module.run(exp.split.slice(cfg, u), seed=seed) for u in exp.split.units(cfg)]
            out = getattr(importlib.import_module(exp.join_module), exp.split.join)(parts)
        else:
            inputs = {name: pipeline[name] for name in exp.reads}
            out = module.run(cfg, seed=seed, inputs=inputs, device="cpu")
        frames.update({f"{exp.id}/{name}": df for name, df in out.items()})
    return frames


def build_in_process(config: dict, figures: bool = True) -> Built:
    """Validate ``config`` (raises ConfigError) and build its paper as the rules do, in memory
    (figures are drawn and closed, not saved). Warnings are whatever the caller makes of them."""
    from lnpaper.report import claims, numbers, tables
    from lnpaper.report.step_config import StepConfig

    cfg = validate(config, load_yaml(SCHEMA_PATH))
    out = Built(config=cfg, frames=run_experiments(cfg))
    for name in registry.enabled_tables(cfg):
        if name == "claims":
            continue
        sources = registry.TABLES[name]
        tcfg = StepConfig.for_sources(cfg, sources)  # what rule table gets (common.smk)
        out.tables[name] = tables.build(name, {s: out.frames[s] for s in sources}, tcfg)
    if figures:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        from lnpaper.report import figures as figs

        for name in registry.enabled_figures(cfg):
            sources = registry.FIGURES[name]
            fig = figs.draw(
                name, {s: out.frames[s] for s in sources}, StepConfig.for_sources(cfg, sources)
            )
            plt.close(fig)
    csrc = registry.claims_sources(cfg)
    if csrc:
        out.claims = claims.evaluate_all(
            {s: out.frames[s] for s in csrc}, StepConfig.for_sources(cfg, csrc)
        )
        out.tables["claims"] = out.claims
    wanted = numbers.in_build(cfg)
    sources = {}
    for n in wanted:
        if n.kind == "table":
            sources[n.source] = out.tables[n.ref]
        elif n.kind == "experiment":
            sources[n.source] = out.frames[n.ref]
    out.numbers = numbers.compute(sources, numbers.config_slice(cfg), [n.name for n in wanted])
    out.paper = _paper(out, cfg)
    return out


def _paper(out: Built, cfg: dict) -> str:
    """The filled manuscript of an in-memory build (no provenance: blank traces)."""
    from lnpaper.manuscript.fill import Build, fill
    from lnpaper.manuscript.front import prose
    from lnpaper.report import formatting
    from lnpaper.report.tables import claims_summary

    language = cfg["language"]
    md = {
        name: formatting.to_markdown(
            df,
            language,
            sorted({registry.experiment_of(s) for s in registry.table_sources(name, cfg)}),
        )
        for name, df in out.tables.items()
    }
    if out.claims is not None:
        md["claims_main"] = formatting.to_markdown(claims_summary(out.claims, language), language)
    steps = {"numbers", "data", *registry.enabled_experiments(cfg)}
    steps |= {f"table_{t}" for t in out.tables} | {f"figure_{f}" for f in registry.FIGURES}
    blank = {"rule": "", "config_hash": "", "git_commit": "", "mlflow_run_id": ""}
    build = Build(
        config=cfg,
        language=language,
        numbers=out.numbers,
        tables=md,
        captions=load_yaml(ROOT / "manuscript/captions.yaml") or {},
        traces={s: dict(blank, rule=s) for s in steps},
        claims=(
            dict(zip(out.claims["claim_id"], out.claims["verdict"]))
            if out.claims is not None
            else None
        ),
    )
    # the abstract (front file) and the template, filled as the manuscript rule fills them
    return fill(prose(ROOT, language), build)
