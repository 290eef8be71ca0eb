"""Adapter: rule data -> lnpaper.data.generate_matrices."""
from lnpaper.data import generate_matrices
from lnpaper.step import StepResult, run_step


def compute(params, inputs, outputs, threads):
    d = params["data"]
    frame = generate_matrices(d["shapes"], d["n_seeds"], params["seed"], d["mean"], d["std"])
    return StepResult(frames={"matrices": frame}, metrics={"n_values": len(frame)})


run_step(snakemake, "data", compute)
