"""Declaration of the precision experiment (computation: ``precision.py``)."""

from __future__ import annotations

from lnpaper.experiments.spec import ConfigSpace, Experiment, at_most, enabled_section


def memory_bytes(pr: dict, data_entries: int) -> int:
    return 64 * pr.get("rows", 0) * pr.get("width", 0) * max(1, len(pr.get("offsets", [])))


def has_reference_and_offset(cfg: dict) -> str | None:
    pr = enabled_section(cfg, "precision")
    if "dtypes" in pr and "float32" not in pr["dtypes"]:
        return (
            f"precision.dtypes: got {pr['dtypes']}; allowed: a list with float32 (the stability "
            "claim is about float32; bfloat16 and float16 are compared with it)"
        )
    if "offsets" in pr and not any(o > 0 for o in pr["offsets"]):
        return (
            f"precision.offsets: got {pr['offsets']}; allowed: a list with an offset > 0 (the "
            "one-pass variance fails only for inputs away from zero)"
        )
    return None


# the config space's tests (see ``Experiment``)
TINY_RANGES = {
    **at_most(rows=6, width=32),
    "offsets": {"items.maximum": 100000.0, "maxItems": 3},
}
MICRO = dict(offsets=[0.0, 1000.0], dtypes=["float32", "float16"], rows=2, width=16)

# variations of the tiny config a researcher tries first, by name: dotted key -> value (some
# are refused by the checks above, the rest must build; lnpaper.tools.config_sweep)
EDGE_CASES = {
    "precision-float16-only": {"precision.dtypes": ["float16"]},
    "precision-offset-zero": {"precision.offsets": [0.0]},
    "precision-no-float32": {"precision.dtypes": ["bfloat16", "float16"]},
}


EXPERIMENT = Experiment(
    id="precision",
    outputs=("errors",),
    memory_bytes=memory_bytes,
    checks=(has_reference_and_offset,),
    space=ConfigSpace(TINY_RANGES, MICRO, EDGE_CASES),
)
