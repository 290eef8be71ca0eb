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

from lnpaper.pipeline import registry
from lnpaper.pipeline.config import load_yaml

ROOT = Path(__file__).resolve().parents[3]
# the valid shapes first: hypothesis starts from (and shrinks towards) the first entries, so
# most drawn shape lists build; the last two are refused (a dimension of 1)
SHAPES = ["3x10", "2x2", "30x30", "1x4", "1x1"]

# dotted key -> schema keywords that replace the schema's (items.* for the list's items)
TINY_RANGES: dict[str, dict] = {
    "seed": {"maximum": 1000},
    "device": {"enum": ["cpu"]},
    "data.shapes": {"items": {"type": "string", "enum": SHAPES}, "maxItems": 3},
    "data.n_seeds": {"maximum": 4},
    "data.mean": {"minimum": -3, "maximum": 3},
    "data.std": {"maximum": 3},
}
# each experiment's own caps, from its declaration (``tiny_ranges``)
TINY_RANGES.update(
    {
        f"{exp.section}.{key}": change
        for exp in registry.DECLARATIONS.values()
        for key, change in exp.tiny_ranges.items()
    }
)
# drawn sections (mlflow stays off: tracking is not part of an in-process build)
SECTIONS = ["seed", "language", "device", "data", *registry.EXPERIMENTS]


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
    # each experiment's section, from its declaration (``micro``)
    **{exp.section: exp.micro for exp in registry.DECLARATIONS.values() if exp.micro},
}


def micro_config() -> dict:
    return overlay(load_yaml(ROOT / "tests/configs/tiny.yaml"), MICRO)


def tiny_configs():
    """A hypothesis strategy of configs: ``micro_config()`` with a drawn part of the schema over
    it (every drawn size within ``TINY_RANGES``)."""
    base = micro_config()
    return _strategy(tiny_schema()).map(lambda drawn: overlay(base, drawn))


def one_section_configs(base: dict | None = None, sections: list[str] | None = None):
    """A hypothesis strategy of configs that differ from ``base`` (default ``micro_config()``)
    in ONE drawn section (or top-level key; one of ``sections``, default all of ``SECTIONS``).
    Most of them build (a draw over every section at once is refused by one of its many checks
    about two times in three), and builds of them through Snakemake share everything upstream
    of that section with the base build."""
    from hypothesis import strategies as st

    base = micro_config() if base is None else base
    props = tiny_schema()["properties"]

    def over_base(section: str):
        return _strategy(props[section]).map(lambda drawn: overlay(base, {section: drawn}))

    return st.sampled_from(list(sections or SECTIONS)).flatmap(over_base)


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
