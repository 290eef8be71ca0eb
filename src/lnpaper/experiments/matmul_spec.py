"""Declaration of the matmul experiment (computation: ``matmul.py``)."""

from __future__ import annotations

from lnpaper.experiments.spec import FRAME_ROW_BYTES, ConfigSpace, Experiment, at_most

CPU_S_PER_FLOP = 4.6 / 1.67e11  # fitted to the default config's compute time


def _scales(mm: dict) -> int:
    # the paper's scales plus the critical grid of each ensemble (an upper bound: they can merge)
    return len(mm.get("scales", [])) + len(mm.get("critical_factors", []))


def cpu_seconds(mm: dict) -> float:
    """Three bmm tracks (exact float64, naive and LayerNorm float32) per step, seed and scale."""
    flops = sum(
        3 * 2 * n**3 * _scales(mm) * mm.get("n_seeds", 0) * mm.get("steps", 0)
        for n in mm.get("sizes", [])
    ) * len(mm.get("b_dists", []))
    return CPU_S_PER_FLOP * flops


def memory_bytes(mm: dict, data_entries: int) -> int:
    n_sc = _scales(mm)
    seeds, steps = mm.get("n_seeds", 0), mm.get("steps", 0)
    state = 0
    for n in mm.get("sizes", []):
        # seeds are batched so that one state holds at most 2^24 entries, but never less
        # than one seed (matmul.seeds_per_batch)
        per = max(1, 2**24 // max(1, n_sc * n * n))
        batch = min(seeds, per) * n_sc * n * n
        # exact float64 + two float32 tracks, their products, B_k in both precisions
        state = max(state, 48 * batch + 12 * min(seeds, per) * n * n)
    rows = 2 * (steps + 1) * n_sc * seeds * len(mm.get("b_dists", [])) * len(mm.get("sizes", []))
    return state + FRAME_ROW_BYTES * rows


def burn_in_below_steps(cfg: dict) -> str | None:
    mm = cfg.get("matmul", {})
    if "burn_in" in mm and "steps" in mm and mm["burn_in"] >= mm["steps"]:
        return (
            f"matmul.burn_in: got {mm['burn_in']}; allowed: integer < matmul.steps ({mm['steps']})"
        )
    return None


# the config space's tests (see ``Experiment``)
TINY_RANGES = {
    **at_most(steps=12, n_seeds=3, burn_in=3, bootstrap_resamples=200, near_critical_tol=1),
    "sizes": {"items.maximum": 6, "maxItems": 2},
    "scales": {"items.minimum": 0.01, "items.maximum": 3, "maxItems": 6},
    "critical_factors": {"items.minimum": 0.1, "items.maximum": 3, "maxItems": 2},
}
MICRO = dict(
    b_dists=["normal", "orthogonal"],
    sizes=[4],
    critical_factors=[1.0],
    steps=6,
    n_seeds=2,
    burn_in=1,
    bootstrap_resamples=100,
)

# variations of the tiny config a researcher tries first, by name: dotted key -> value (some
# are refused by the checks above, the rest must build; lnpaper.tools.config_sweep)
EDGE_CASES = {
    "matmul-six-scales": {"matmul.scales": [0.25, 0.5, 1.0, 1.5, 2.0, 3.0]},
    "matmul-eps-one": {"matmul.eps": 1.0},
    "matmul-scales-extreme": {"matmul.scales": [0.01, 2.0]},
    "matmul-scales-above-one": {"matmul.scales": [1.5, 2.0]},
    "matmul-scale-one-only": {"matmul.scales": [1.0]},
    "matmul-steps-12": {"matmul.steps": 12},
}


EXPERIMENT = Experiment(
    id="matmul",
    outputs=("trajectories", "growth"),
    threads=2,
    uses_device=True,
    cpu_seconds=cpu_seconds,
    memory_bytes=memory_bytes,
    checks=(burn_in_below_steps,),
    space=ConfigSpace(TINY_RANGES, MICRO, EDGE_CASES),
)
