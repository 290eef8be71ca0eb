"""The seeded synthetic input matrices (entries N(mean, std^2)), stored long-format in Parquet."""

from __future__ import annotations

import numpy as np
import pandas as pd

from lnpaper.experiments.seeding import torch_generator


def parse_shape(shape: str) -> tuple[int, int]:
    """'3x10' -> (3, 10)."""
    rows, cols = shape.lower().split("x")
    return int(rows), int(cols)


def generate_matrices(
    shapes, n_seeds: int, base_seed: int, mean: float = 0.0, std: float = 1.0
) -> pd.DataFrame:
    """One matrix per (shape, seed), each from its own generator; columns shape, seed, row, col, value."""
    import torch

    frames = []
    for shape in shapes:
        rows, cols = parse_shape(shape)
        mats = []
        for seed in range(n_seeds):
            gen = torch_generator(base_seed, "data", shape, seed)
            mats.append(torch.randn(rows, cols, generator=gen, dtype=torch.float64))
        values = (torch.stack(mats) * std + mean).numpy()  # seeds,rows,cols
        s, r, c = np.meshgrid(np.arange(n_seeds), np.arange(rows), np.arange(cols), indexing="ij")
        frames.append(
            pd.DataFrame(
                {
                    "shape": shape,
                    "seed": s.ravel(),
                    "row": r.ravel(),
                    "col": c.ravel(),
                    "value": values.ravel(),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def run(
    cfg: dict, *, seed: int, inputs: dict | None = None, device: str = "cpu", progress=None
) -> dict[str, pd.DataFrame]:
    """The data step: every (shape, seed) matrix of the config."""
    frame = generate_matrices(cfg["shapes"], cfg["n_seeds"], seed, cfg["mean"], cfg["std"])
    return {"matrices": frame}


def summary_metrics(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    return {"n_values": len(frames["matrices"])}


def matrices_of(df: pd.DataFrame, shape: str) -> np.ndarray:
    """All seeds' matrices of one shape as an array (seeds, rows, cols), seeds in order."""
    rows, cols = parse_shape(shape)
    sub = df[df["shape"] == shape].sort_values(["seed", "row", "col"])
    if sub.empty:
        raise KeyError(f"no matrices of shape {shape} in the data file")
    return sub["value"].to_numpy(copy=True).reshape(-1, rows, cols)
