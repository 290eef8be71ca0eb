"""Adapter: rule numbers -> lnpaper.numbers (every quoted number -> numbers.parquet, numbers.tex)."""
import pandas as pd

from lnpaper import io, numbers
from lnpaper.step import StepResult, run_step


def compute(params, inputs, outputs, threads):
    p = params["numbers"]
    spec = [n for n in numbers.SPEC if n.name in set(p["names"])]
    sources = {}
    for n in spec:
        if n.kind != "config" and n.source not in sources:
            path = inputs[numbers.input_key(n.source)]
            sources[n.source] = pd.read_csv(path) if path.endswith(".csv") else io.read_parquet(path)
    values = numbers.compute(sources, p["config"], p["names"])
    io.write_text(numbers.to_tex(values), outputs["tex"])
    return StepResult(frames={"values": values},
                      metrics={"numbers": len(values), "missing": int(values["value"].isna().sum())})


run_step(snakemake, "numbers", compute)
