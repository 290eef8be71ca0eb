"""What the claim-rule tests share: the config they evaluate under and the lookup of one verdict
row in the claims table built from hand-made frames, and the hand-built training frames."""

from dataclasses import replace

import pandas as pd

from lnpaper.report import claims
from lnpaper.report.step_config import StepConfig

MATMUL_CFG = {"scales": [0.5, 1.0, 2.0], "near_critical_tol": 0.02, "eps": 1e-5}
CFG = StepConfig({"matmul": MATMUL_CFG}, seed=42, language="en")


def matmul_cfg(**section) -> StepConfig:
    """CFG with some keys of its matmul section changed."""
    return replace(CFG, experiments={"matmul": {**MATMUL_CFG, **section}})


def verdict(claim_id, frames, cfg=None):
    table = claims.evaluate_all(frames, cfg or CFG)
    rows = table.set_index("claim_id")
    assert claim_id in rows.index, f"{claim_id} not evaluated"
    return rows.loc[claim_id]


def _row(arch: str, depth: int, norm: str, seed: int, **values) -> dict:
    """One row of a hand-built training frame: the digits data set, its condition and values."""
    return {"dataset": "digits", "arch": arch, "depth": depth, "norm": norm, "seed": seed, **values}


def curves(grads: dict, steps: int = 5) -> pd.DataFrame:
    """(arch, depth) -> (LN, none) first-layer gradient norm at every logged step of each of 5
    seeds; a value may be a list over steps."""
    rows = []
    for (arch, depth), pair in grads.items():
        for norm, g in zip(("layernorm", "none"), pair):
            per_step = g if isinstance(g, list) else [g] * steps
            for seed in range(5):
                for step, v in enumerate(per_step):
                    rows.append(
                        _row(arch, depth, norm, seed, step=step * 10, loss=1.0, grad_norm=v)
                    )
    return pd.DataFrame(rows)


def training(conds: dict) -> pd.DataFrame:
    """(arch, depth) -> list over seeds of (steps LN, steps none, oscillation LN, osc none)."""
    rows = []
    for (arch, depth), seeds in conds.items():
        for seed, (s_ln, s_none, o_ln, o_none) in enumerate(seeds):
            for norm, steps, osc, grad in (
                ("layernorm", s_ln, o_ln, 0.1),
                ("none", s_none, o_none, 1e-9),
            ):
                rows.append(
                    _row(
                        arch,
                        depth,
                        norm,
                        seed,
                        steps_to_threshold=steps,
                        loss_oscillation=osc,
                        grad_norm_first_layer_init=grad,
                        test_accuracy=0.9,
                    )
                )
    return pd.DataFrame(rows)
