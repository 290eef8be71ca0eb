"""Adapter: rule training -> lnpaper.training.merge (join the per-dataset parts)."""
from lnpaper import io, training
from lnpaper.step import StepResult, run_step

DATASETS = snakemake.params["training"]["datasets"]
# the parts ran the torch work: their device is this step's device
DEVICE_USED = ",".join(sorted({io.read_json(snakemake.input[f"{d}__manifest"])["device_used"]
                               for d in DATASETS}))


def compute(params, inputs, outputs, threads):
    parts = [{name: io.read_parquet(inputs[f"{d}__{name}"]) for name in training.OUTPUTS}
             for d in DATASETS]
    frames = training.merge(parts)
    return StepResult(frames=frames, metrics=training.summary_metrics(frames["summary"]),
                      conditions=training.CONDITIONS)


run_step(snakemake, "experiment", compute, device_used=DEVICE_USED)
