"""Adapter: rule table -> lnpaper.tables (build one table, write csv/md/tex)."""
from lnpaper import io, registry, tables
from lnpaper.step import StepResult, run_step


def compute(params, inputs, outputs, threads):
    p = params["table"]
    frames = {registry.source_of(key): io.read_parquet(path) for key, path in inputs.items()}
    cfg = {k: v for exp in p["experiments"].values() for k, v in exp.items()}
    cfg.update(language=p["language"], seed=p["seed"])
    df = tables.build(snakemake.wildcards.table, frames, cfg)
    tables.write_table(df, outputs["csv"], outputs["md"], outputs["tex"], p["language"])
    return StepResult(metrics={"rows": len(df)})


run_step(snakemake, "table", compute)
