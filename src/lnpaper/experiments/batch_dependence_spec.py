"""Declaration of the batch_dependence experiment (computation: ``batch_dependence.py``)."""

from __future__ import annotations

from lnpaper.experiments.spec import (
    ConfigSpace,
    Experiment,
    at_most,
    enabled_section,
    width_not_divided,
)


def memory_bytes(bd: dict, data_entries: int) -> int:
    batch = max(bd.get("batch_sizes", [1]) or [1])
    return 64 * batch * bd.get("width", 0) * max(1, bd.get("n_batches", 0))


def groups_divide_width(cfg: dict) -> str | None:
    return width_not_divided("batch_dependence", cfg.get("batch_dependence", {}))


def batch_sizes_compare_one_and_many(cfg: dict) -> str | None:
    sizes = enabled_section(cfg, "batch_dependence").get("batch_sizes")
    if sizes is not None and not (1 in sizes and any(b >= 2 for b in sizes)):
        return (
            f"batch_dependence.batch_sizes: got {sizes}; allowed: a list with 1 (online "
            "inference) and a size >= 2 (batch dependence): the claims compare both"
        )
    return None


# the config space's tests (see ``Experiment``)
TINY_RANGES = {
    **at_most(width=16, n_batches=8, warmup_batches=3, warmup_batch_size=8, groupnorm_groups=4),
    "batch_sizes": {"items.maximum": 16, "maxItems": 4},
}
MICRO = dict(
    width=8,
    batch_sizes=[1, 2],
    n_batches=3,
    warmup_batches=1,
    warmup_batch_size=4,
    groupnorm_groups=1,
)

# variations of the tiny config a researcher tries first, by name: dotted key -> value (some
# are refused by the checks above, the rest must build; lnpaper.tools.config_sweep)
EDGE_CASES = {
    "batch-sizes-one": {"batch_dependence.batch_sizes": [1]},
    "batch-sizes-two": {"batch_dependence.batch_sizes": [2]},
}


EXPERIMENT = Experiment(
    id="batch_dependence",
    outputs=("stats",),
    memory_bytes=memory_bytes,
    checks=(groups_divide_width, batch_sizes_compare_one_and_many),
    space=ConfigSpace(TINY_RANGES, MICRO, EDGE_CASES),
)
