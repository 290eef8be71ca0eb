"""Declaration of the affine experiment (computation: ``affine.py``)."""

from __future__ import annotations

from lnpaper.experiments.spec import Experiment, shape_not_generated


def memory_bytes(af: dict, data_entries: int) -> int:
    grid = len(af.get("gamma", [])) * len(af.get("beta", []))
    return 32 * grid * data_entries + 100 * data_entries


def shape_is_generated(cfg: dict) -> str | None:
    af = cfg.get("affine", {})
    return shape_not_generated(cfg, [("affine.shape", af["shape"])] if "shape" in af else [])


EXPERIMENT = Experiment(
    id="affine",
    outputs=("stats",),
    reads=("matrices",),
    memory_bytes=memory_bytes,
    checks=(shape_is_generated,),
)
