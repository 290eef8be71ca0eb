"""Declaration of the transformer experiment (computation: ``transformer.py``)."""

from __future__ import annotations

from lnpaper.experiments.spec import ConfigSpace, Experiment, at_most, enabled_section

CPU_S_PER_FLOP = 29.0 / 8.15e11  # fitted to the default config's compute time


def cpu_seconds(tf: dict) -> float:
    """Forward and backward of every run's attention projections and feed-forward layers."""
    runs = len(tf.get("archs", [])) * len(tf.get("warmup", [])) * tf.get("n_seeds", 0)
    d = tf.get("d_model", 0)
    per_layer = (
        tf.get("batch_size", 0) * tf.get("seq_len", 0) * (4 * d * d + 2 * d * tf.get("ffn", 0))
    )
    flops = 6 * runs * tf.get("steps", 0) * per_layer * sum(tf.get("layers", []))
    return CPU_S_PER_FLOP * flops


def memory_bytes(tf: dict, data_entries: int) -> int:
    layers = max(tf.get("layers", [0]) or [0])
    d, ffn = tf.get("d_model", 0), tf.get("ffn", 0)
    tokens = tf.get("batch_size", 0) * tf.get("seq_len", 0)
    acts = 16 * tokens * layers * (4 * d + ffn + tf.get("heads", 1) * tf.get("seq_len", 0))
    return 16 * layers * (4 * d * d + 2 * d * ffn) + acts


def heads_divide_width(cfg: dict) -> str | None:
    tf = cfg.get("transformer", {})
    if "heads" in tf and "d_model" in tf and tf["d_model"] % tf["heads"]:
        return (
            f"transformer.heads: got {tf['heads']}; allowed: a divisor of transformer.d_model "
            f"({tf['d_model']})"
        )
    return None


def has_layernorm(cfg: dict) -> str | None:
    tf = enabled_section(cfg, "transformer")
    if "archs" in tf and not {"post_ln", "pre_ln"} & set(tf["archs"]):
        return (
            f"transformer.archs: got {tf['archs']}; allowed: a list with post_ln or pre_ln "
            "(the experiment compares LayerNorm placements)"
        )
    if (
        "warmup_steps" in tf
        and "steps" in tf
        and True in tf.get("warmup", [])
        and tf["warmup_steps"] >= tf["steps"]
    ):
        return (
            f"transformer.warmup_steps: got {tf['warmup_steps']}; allowed: integer < "
            f"transformer.steps ({tf['steps']})"
        )
    return None


# the config space's tests (see ``Experiment``)
TINY_RANGES = {
    # the model and the sequences it reads
    **at_most(d_model=16, heads=4, ffn=16, vocab=8, seq_len=6),
    # the runs: seeds, steps, batches and the window the final loss is read over
    **at_most(n_seeds=3, grad_seeds=3, steps=8, warmup_steps=8, batch_size=4),
    **at_most(log_every=3, final_window=3),
    "layers": {"items.maximum": 3, "maxItems": 3},
    "lr": {"minimum": 0.0001, "maximum": 1},
}
MICRO = dict(
    layers=[1],
    d_model=8,
    heads=2,
    ffn=8,
    seq_len=4,
    batch_size=2,
    steps=4,
    warmup_steps=2,
    n_seeds=2,
    grad_seeds=2,
    log_every=2,
    final_window=2,
)

# variations of the tiny config a researcher tries first, by name: dotted key -> value (some
# are refused by the checks above, the rest must build; lnpaper.tools.config_sweep)
EDGE_CASES = {
    "transformer-five-depths": {"transformer.layers": [1, 2, 3, 4, 5]},
    "transformer-archs-none": {"transformer.archs": ["none"]},
    "transformer-one-seed": {"transformer.n_seeds": 1},
    "transformer-warmup-too-long": {"transformer.warmup_steps": 6},
}


EXPERIMENT = Experiment(
    id="transformer",
    outputs=("grads", "summary", "curves"),
    uses_device=True,
    cpu_seconds=cpu_seconds,
    memory_bytes=memory_bytes,
    checks=(heads_divide_width, has_layernorm),
    space=ConfigSpace(TINY_RANGES, MICRO, EDGE_CASES),
)
