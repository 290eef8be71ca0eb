"""Declaration of the affine experiment (computation: ``affine.py``)."""

from __future__ import annotations

from lnpaper.experiments.spec import ConfigSpace, Experiment, shape_not_generated


def memory_bytes(af: dict, data_entries: int) -> int:
    grid = len(af.get("gamma", [])) * len(af.get("beta", []))
    return 32 * grid * data_entries + 100 * data_entries


def shape_is_generated(cfg: dict) -> str | None:
    af = cfg.get("affine", {})
    return shape_not_generated(cfg, [("affine.shape", af["shape"])] if "shape" in af else [])


# the config space's tests (see ``Experiment``)
TINY_RANGES = {
    "shape": {"enum": ["3x10", "30x30"]},
    "gamma": {"items.minimum": -3, "items.maximum": 5, "maxItems": 3},
    "beta": {"items.minimum": -5, "items.maximum": 5, "maxItems": 3},
}
MICRO: dict = {}

# variations of the tiny config a researcher tries first, by name: dotted key -> value (some
# are refused by the checks above, the rest must build; lnpaper.tools.config_sweep)
EDGE_CASES = {
    "affine-gamma1-beta0": {"affine.gamma": [1.0], "affine.beta": [0.0]},
    "affine-gamma-negative": {"affine.gamma": [-1.0, 1.0]},
    "affine-grid-2x2": {"affine.gamma": [1.0, 3.0], "affine.beta": [0.0, 5.0]},
    "affine-gamma-zero": {"affine.gamma": [0.0, 1.0]},
}


EXPERIMENT = Experiment(
    id="affine",
    outputs=("stats",),
    reads=("matrices",),
    memory_bytes=memory_bytes,
    checks=(shape_is_generated,),
    space=ConfigSpace(TINY_RANGES, MICRO, EDGE_CASES),
)
