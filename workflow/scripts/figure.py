"""Adapter: rule figure -> lnpaper.figures (draw one figure, save PNG and PDF)."""
from lnpaper import figures, io, registry
from lnpaper.config import config_hash
from lnpaper.step import StepResult, run_step


def compute(params, inputs, outputs, threads):
    p = params["figure"]
    frames = {registry.source_of(key): io.read_parquet(path) for key, path in inputs.items()}
    cfg = {k: v for exp in p["experiments"].values() for k, v in exp.items()}
    name = snakemake.wildcards.figure
    fig = figures.draw(name, frames, cfg, p["language"])
    figures.save_figure(fig, outputs["png"], outputs["pdf"],
                        {"rule": f"figure_{name}", "config_hash": config_hash(params)[:12]})
    return StepResult()


run_step(snakemake, "figure", compute)
