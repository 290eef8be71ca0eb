"""Configs drawn from the schema (workflow/schemas/config.schema.yaml) restricted to tiny sizes,
for property tests over the config space (hypothesis + hypothesis-jsonschema).

The schema's own ranges allow paper-sized runs (minutes each); ``TINY_RANGES`` narrows every size
to seconds while keeping each key's type, enum and lower bound, so a drawn config is one a user
could write. A drawn config is laid over tests/configs/tiny.yaml: keys it does not draw keep the
tiny values (the schema's defaults are the paper's sizes).
"""

from __future__ import annotations

import copy
from pathlib import Path

from lnpaper.pipeline.config import load_yaml

ROOT = Path(__file__).resolve().parents[3]
SHAPES = ["1x1", "1x4", "2x2", "3x10", "30x30"]

# dotted key -> schema keywords that replace the schema's (items.* for the list's items)
TINY_RANGES: dict[str, dict] = {
    "seed": {"maximum": 1000},
    "device": {"enum": ["cpu"]},
    "data.shapes": {"items": {"type": "string", "enum": SHAPES}, "maxItems": 3},
    "data.n_seeds": {"maximum": 4},
    "data.mean": {"minimum": -3, "maximum": 3},
    "data.std": {"maximum": 3},
    "matmul.sizes": {"items.maximum": 6, "maxItems": 2},
    "matmul.scales": {"items.minimum": 0.01, "items.maximum": 3, "maxItems": 6},
    "matmul.critical_factors": {"items.minimum": 0.1, "items.maximum": 3, "maxItems": 2},
    "matmul.steps": {"maximum": 12},
    "matmul.n_seeds": {"maximum": 3},
    "matmul.burn_in": {"maximum": 3},
    "matmul.bootstrap_resamples": {"maximum": 200},
    "matmul.near_critical_tol": {"maximum": 1},
    "layernorm_stats.shapes": {"items": {"type": "string", "enum": SHAPES[3:]}, "maxItems": 2},
    "layernorm_stats.group_sizes": {"items.maximum": 20, "maxItems": 3},
    "layernorm_stats.correlation_entries": {"maximum": 200},
    "layernorm_stats.correlation_seeds": {"maximum": 4},
    "layernorm_stats.correlation_input_moments": {
        "items.items": {"type": "number", "minimum": -3, "maximum": 3},
        "maxItems": 2,
    },
    "layernorm_stats.eps_sigmas": {"items.minimum": 1e-4, "items.maximum": 2, "maxItems": 3},
    "layernorm_stats.eps_width": {"maximum": 20},
    "layernorm_stats.eps_rows": {"maximum": 8},
    "precision.offsets": {"items.maximum": 1e5, "maxItems": 3},
    "precision.rows": {"maximum": 6},
    "precision.width": {"maximum": 32},
    "affine.shape": {"enum": SHAPES[3:]},
    "affine.gamma": {"items.minimum": -3, "items.maximum": 5, "maxItems": 3},
    "affine.beta": {"items.minimum": -5, "items.maximum": 5, "maxItems": 3},
    "training.depths": {"items.maximum": 4, "maxItems": 2},
    "training.norms": {"maxItems": 4},
    "training.width": {"maximum": 12},
    "training.n_seeds": {"maximum": 3},
    "training.steps": {"maximum": 10},
    "training.batch_size": {"maximum": 16},
    "training.log_every": {"maximum": 4},
    "training.smooth_window": {"maximum": 3},
    "training.oscillation_window": {"maximum": 4},
    "training.test_fraction": {"minimum": 0.001, "maximum": 0.5},
    "training.lr": {"minimum": 1e-4, "maximum": 1},
    "training.loss_threshold": {"maximum": 5},
    "training.groupnorm_groups": {"maximum": 4},
    "training.dyt_alpha": {"maximum": 3},
    "training.synthetic.n_samples": {"maximum": 150},
    "training.synthetic.n_features": {"maximum": 8},
    "training.synthetic.n_classes": {"maximum": 5},
    "training.synthetic.cluster_std": {"maximum": 3},
    "batch_dependence.width": {"maximum": 16},
    "batch_dependence.batch_sizes": {"items.maximum": 16, "maxItems": 4},
    "batch_dependence.n_batches": {"maximum": 8},
    "batch_dependence.warmup_batches": {"maximum": 3},
    "batch_dependence.warmup_batch_size": {"maximum": 8},
    "batch_dependence.groupnorm_groups": {"maximum": 4},
    "transformer.layers": {"items.maximum": 3, "maxItems": 3},
    "transformer.d_model": {"maximum": 16},
    "transformer.heads": {"maximum": 4},
    "transformer.ffn": {"maximum": 16},
    "transformer.vocab": {"maximum": 8},
    "transformer.seq_len": {"maximum": 6},
    "transformer.batch_size": {"maximum": 4},
    "transformer.steps": {"maximum": 8},
    "transformer.lr": {"minimum": 1e-4, "maximum": 1},
    "transformer.warmup_steps": {"maximum": 8},
    "transformer.n_seeds": {"maximum": 3},
    "transformer.grad_seeds": {"maximum": 3},
    "transformer.log_every": {"maximum": 3},
    "transformer.final_window": {"maximum": 3},
}
# drawn sections (mlflow stays off: tracking is not part of an in-process build)
SECTIONS = [
    "seed",
    "language",
    "device",
    "data",
    "matmul",
    "layernorm_stats",
    "precision",
    "affine",
    "training",
    "batch_dependence",
    "transformer",
]


def _node(schema: dict, dotted: str) -> dict:
    node = schema
    for part in dotted.split("."):
        node = node["properties"][part]
    return node


def tiny_schema(schema: dict | None = None) -> dict:
    """The config schema with every size capped (``TINY_RANGES``), mlflow left out, and every
    property optional (what is not drawn keeps its tiny-config value)."""
    schema = copy.deepcopy(schema or load_yaml(ROOT / "workflow/schemas/config.schema.yaml"))
    schema.pop("$schema", None)
    for dotted, change in TINY_RANGES.items():
        node = _node(schema, dotted)
        for key, value in change.items():
            if key.startswith("items."):
                node["items"][key[len("items.") :]] = value
            elif key == "items":
                node["items"] = value
            else:
                node[key] = value
        if "enum" in change:
            node.pop("pattern", None)
        if "maximum" in change and "exclusiveMaximum" in node:
            node.pop("exclusiveMaximum")
    schema["properties"] = {k: schema["properties"][k] for k in SECTIONS}
    return schema


def overlay(base: dict, drawn: dict) -> dict:
    """``base`` with ``drawn``'s keys put over it, recursively for mappings."""
    out = copy.deepcopy(base)
    for key, value in drawn.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = overlay(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


# smaller than tests/configs/tiny.yaml (a second per build, not tens): the base of drawn configs
MICRO = {
    "mlflow": {"enabled": False},
    "device": "cpu",
    "data": {"shapes": ["3x10", "30x30"], "n_seeds": 2},
    "matmul": {
        "b_dists": ["normal", "orthogonal"],
        "sizes": [4],
        "critical_factors": [1.0],
        "steps": 6,
        "n_seeds": 2,
        "burn_in": 1,
        "bootstrap_resamples": 100,
    },
    "layernorm_stats": {
        "group_sizes": [3, 10],
        "correlation_entries": 60,
        "correlation_seeds": 2,
        "eps_sigmas": [1.0e-3, 1.0],
        "eps_width": 4,
        "eps_rows": 2,
    },
    "precision": {
        "offsets": [0.0, 1000.0],
        "dtypes": ["float32", "float16"],
        "rows": 2,
        "width": 16,
    },
    "training": {
        "datasets": ["synthetic"],
        "depths": [2],
        "norms": ["none", "layernorm"],
        "width": 8,
        "n_seeds": 2,
        "steps": 6,
        "batch_size": 8,
        "log_every": 2,
        "smooth_window": 2,
        "oscillation_window": 3,
        "groupnorm_groups": 1,
        "synthetic": {"n_samples": 60, "n_features": 4, "n_classes": 3},
    },
    "batch_dependence": {
        "width": 8,
        "batch_sizes": [1, 2],
        "n_batches": 3,
        "warmup_batches": 1,
        "warmup_batch_size": 4,
        "groupnorm_groups": 1,
    },
    "transformer": {
        "layers": [1],
        "d_model": 8,
        "heads": 2,
        "ffn": 8,
        "seq_len": 4,
        "batch_size": 2,
        "steps": 4,
        "warmup_steps": 2,
        "n_seeds": 2,
        "grad_seeds": 2,
        "log_every": 2,
        "final_window": 2,
    },
}


def micro_config() -> dict:
    return overlay(load_yaml(ROOT / "tests/configs/tiny.yaml"), MICRO)


def tiny_configs():
    """A hypothesis strategy of configs: ``micro_config()`` with a drawn part of the schema over
    it (every drawn size within ``TINY_RANGES``)."""
    base = micro_config()
    return _strategy(tiny_schema()).map(lambda drawn: overlay(base, drawn))


def _strategy(schema: dict):
    """hypothesis-jsonschema's strategy, with mappings built here as dictionaries of optional
    keys (its own object strategy needs a Hypothesis internal that newer releases renamed)."""
    from hypothesis import strategies as st
    from hypothesis_jsonschema import from_schema

    if schema.get("type") == "object":
        props = {k: _strategy(v) for k, v in schema.get("properties", {}).items()}
        return st.fixed_dictionaries({}, optional=props)
    leaf = {k: v for k, v in schema.items() if k not in ("default", "description")}
    return from_schema(leaf)
