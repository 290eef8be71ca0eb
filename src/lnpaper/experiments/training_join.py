"""The torch-free half of experiment `training`: its frames' keys and columns, the join of its
per-unit parts (rule ``training``), its summary metrics and how tracking splits it into
condition runs. The join job imports only this (pandas, numpy): not torch's ~4 s start-up."""

from __future__ import annotations

import numpy as np
import pandas as pd

KEYS = ["dataset", "norm", "depth", "arch"]
OUTPUTS = ["summary", "curves", "layer_grads"]
SUMMARY_COLUMNS = KEYS + [
    "seed",
    "test_accuracy",
    "test_loss",
    "final_train_loss",
    "steps_to_threshold",
    "loss_oscillation",
    "grad_norm_first_layer_init",
    "grad_norm_last_layer_init",
    "diverged",
    "diverged_step",
]


def merge(parts: list[dict]) -> dict[str, pd.DataFrame]:
    """Join the per-unit parts (one per dataset and normalizer) in a fixed order: rows sorted by
    their full key, so the bytes are the same whatever finished first and however it was split."""
    out = {}
    for name in OUTPUTS:
        df = pd.concat([p[name] for p in parts], ignore_index=True)
        sort = KEYS + ["seed"] + [c for c in ("step", "layer") if c in df.columns]
        out[name] = df.sort_values(sort, kind="stable").reset_index(drop=True)
    return out


# Tracking: one child run per condition (72 by default), loss and first-layer gradient norm per
# logged step, mean over seeds. One run per seed (360) took the tracking step from ~16 s to ~60 s
# on the 2-core machine; per-seed curves stay in curves.parquet.
CONDITIONS = {
    "output": "curves",
    "keys": KEYS,
    "step": "step",
    "values": ["loss", "grad_norm"],
    "reduce": "mean",
}


def summary_metrics(frames: dict[str, pd.DataFrame]) -> dict[str, float]:
    summary = frames["summary"]
    m = {"runs": float(len(summary)), "diverged_runs": float(summary["diverged"].sum())}
    for (dataset, norm), g in summary[(summary["arch"] == "plain")].groupby(["dataset", "norm"]):
        m[f"acc.{dataset}.plain.{norm}"] = float(np.nanmean(g["test_accuracy"]))
    return m
