"""Adapter: rule matmul -> lnpaper.matmul.run."""
from lnpaper import matmul
from lnpaper.runtime import Progress, setup_torch
from lnpaper.step import StepResult, run_step


def compute(params, inputs, outputs, threads):
    cfg = params["matmul"]
    device = setup_torch(threads, params["device"])
    progress = Progress("matmul", len(cfg["b_dists"]) * len(cfg["sizes"]))
    frames = matmul.run(cfg, params["seed"], device=device, progress=progress)
    return StepResult(frames=frames, metrics=matmul.summary_metrics(frames["growth"]),
                      conditions=matmul.CONDITIONS, extra={"device_used": device})


run_step(snakemake, "experiment", compute)
