"""Declaration of the layernorm_stats experiment (computation: ``layernorm_stats.py``)."""

from __future__ import annotations

from lnpaper.experiments.spec import (
    ConfigSpace,
    Experiment,
    at_most,
    enabled_section,
    shape_not_generated,
)


def memory_bytes(ln: dict, data_entries: int) -> int:
    corr = (
        ln.get("correlation_entries", 0)
        * ln.get("correlation_seeds", 0)
        * max(1, len(ln.get("correlation_input_moments", [])))
    )
    eps = ln.get("eps_width", 0) * ln.get("eps_rows", 0) * len(ln.get("eps_sigmas", []))
    return 64 * (corr + eps) + 100 * data_entries


def group_sizes_fit(cfg: dict) -> str | None:
    ln = cfg.get("layernorm_stats", {})
    entries = ln.get("correlation_entries")
    for k in ln.get("group_sizes", []):
        if entries is not None and k > entries:
            return (
                f"layernorm_stats.group_sizes: group size {k} is larger than the "
                f"{entries} entries it divides (layernorm_stats.correlation_entries); "
                f"allowed: group sizes <= {entries}"
            )
    return None


def shapes_are_generated(cfg: dict) -> str | None:
    shapes = cfg.get("layernorm_stats", {}).get("shapes", [])
    return shape_not_generated(cfg, [("layernorm_stats.shapes", s) for s in shapes])


def input_std_positive(cfg: dict) -> str | None:
    moments = enabled_section(cfg, "layernorm_stats").get("correlation_input_moments", [])
    for i, pair in enumerate(moments):
        if pair[1] <= 0:
            return (
                f"layernorm_stats.correlation_input_moments[{i}][1]: got {pair[1]}; allowed: a "
                "standard deviation > 0 (a constant input has no correlation with its output)"
            )
    return None


# the config space's tests (see ``Experiment``)
TINY_RANGES = {
    **at_most(correlation_entries=200, correlation_seeds=4, eps_width=20, eps_rows=8),
    "shapes": {"items": {"type": "string", "enum": ["3x10", "30x30"]}, "maxItems": 2},
    "group_sizes": {"items.maximum": 20, "maxItems": 3},
    "correlation_input_moments": {
        "items.items": {"type": "number", "minimum": -3, "maximum": 3},
        "maxItems": 2,
    },
    "eps_sigmas": {"items.minimum": 0.0001, "items.maximum": 2, "maxItems": 3},
}
MICRO = dict(
    group_sizes=[3, 10],
    correlation_entries=60,
    correlation_seeds=2,
    eps_sigmas=[0.001, 1.0],
    eps_width=4,
    eps_rows=2,
)

# variations of the tiny config a researcher tries first, by name: dotted key -> value (some
# are refused by the checks above, the rest must build; lnpaper.tools.config_sweep)
EDGE_CASES = {
    "layernorm-whole-off": {"layernorm_stats.normalized_over": ["row", "column"]},
    "data-shape-1x1": {
        "data.shapes": ["1x1", "3x10", "30x30"],
        "layernorm_stats.shapes": ["1x1", "3x10"],
    },
    "data-std-zero": {"layernorm_stats.correlation_input_moments": [[0.0, 0.0]]},
}


EXPERIMENT = Experiment(
    id="layernorm_stats",
    outputs=("stats", "correlation", "eps_placement", "invariances"),
    reads=("matrices",),
    memory_bytes=memory_bytes,
    checks=(group_sizes_fit, shapes_are_generated, input_std_positive),
    space=ConfigSpace(TINY_RANGES, MICRO, EDGE_CASES),
)
