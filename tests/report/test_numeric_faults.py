"""Numerical faults are data: overflow to inf stays a row, and inf and NaN survive Parquet
(e2e/test_numeric_faults_built.py feeds them to every table builder and figure drawer)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from conftest import ROOT
from lnpaper.experiments import matmul
from lnpaper.pipeline import io
from lnpaper.pipeline.config import load_yaml, validate
from lnpaper.report import figures
from lnpaper.report.step_config import StepConfig

# the naive float32 Frobenius norm sums squares: it overflows once the norm passes
# sqrt(float32 max) ~ 1.8e19, the threshold the figure marks
FP32_NORM_LIMIT_LOG = 0.5 * math.log(np.finfo(np.float32).max)


def test_matmul_overflow_is_recorded_as_inf_not_dropped():
    cfg = validate(
        {
            "matmul": {
                "b_dists": ["normal"],
                "sizes": [30],
                "scales": [2.0],
                "critical_factors": [],
                "steps": 45,
                "n_seeds": 3,
                "burn_in": 5,
                "bootstrap_resamples": 100,
            }
        },
        load_yaml(ROOT / "workflow/schemas/config.schema.yaml"),
    )["matmul"]
    out = matmul.run(cfg, seed=42)
    traj, growth = out["trajectories"], out["growth"]
    # every (seed, step, track) row is there, the overflow included: 3 seeds x 46 steps x 2
    assert len(traj) == 3 * 46 * 2
    plain = traj[~traj["layernorm"]]
    overflowed = plain[np.isinf(plain["norm_fp32"])]
    assert len(overflowed) > 0
    # the exact log norm stays finite past the float32 overflow, and the overflow rows are
    # exactly those whose exact norm exceeds the float32 range (inf is data, not an error)
    assert np.isfinite(plain["log_norm"]).all()
    assert (overflowed["log_norm"] > FP32_NORM_LIMIT_LOG - 1).all()
    assert np.isfinite(plain.loc[plain["log_norm"] < FP32_NORM_LIMIT_LOG - 1, "norm_fp32"]).all()
    g = growth[~growth["layernorm"]].iloc[0]
    assert g["overflow_fraction"] == 1.0 and 10 < g["overflow_step_median"] <= 45
    # written and read back, inf survives the Parquet round trip
    step = StepConfig({"matmul": cfg}, seed=42, language="en")
    fig = figures.draw("matmul_norms", {"matmul/trajectories": traj, "matmul/growth": growth}, step)
    texts = " ".join(t.get_text() for t in fig.texts + fig.legends[0].get_texts())
    assert "overflow" in texts  # the overflow threshold is annotated on the figure


def test_inf_and_nan_survive_parquet(tmp_path):
    df = pd.DataFrame({"x": [1.0, np.inf, -np.inf, np.nan]})
    io.write_parquet(df, tmp_path / "x.parquet")
    back = io.read_parquet(tmp_path / "x.parquet")["x"].to_numpy()
    assert back[0] == 1.0 and back[1] == np.inf and back[2] == -np.inf and np.isnan(back[3])
