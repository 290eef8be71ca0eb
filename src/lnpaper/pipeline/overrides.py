"""``snakemake --config key=value`` read as the config file reads the same value.

Snakemake parses a ``--config`` value with YAML's base loader, which keeps every nested scalar a
string: ``--config matmul='{steps: 30}'`` would reach the schema as ``steps: "30"`` and be
refused as not an integer, and a value that is not YAML at all would pass on as a string. Here
each value is read with the same safe loader as config.yaml (numbers that Snakemake already
typed at the top level, such as ``seed=nan``, keep its reading), and a value that is not YAML is
refused with one line naming the argument. The result is merged and validated like the file.
"""

from __future__ import annotations

from typing import Any

import yaml

from lnpaper.pipeline.config import ConfigError
from lnpaper.pipeline.yamlfile import safe_load


def _number(text: str) -> int | float | None:
    for parse in (int, float):
        try:
            return parse(text)
        except ValueError:
            pass
    return None


def typed_overrides(args: list[str] | None) -> dict[str, Any]:
    """{key: value} of ``--config`` arguments, each value read as a config file would read it."""
    out: dict[str, Any] = {}
    for arg in [args] if isinstance(args, str) else args or []:
        key, sep, text = str(arg).partition("=")
        if not sep or text == "":
            continue  # Snakemake itself refuses or keeps these (no "=", empty value)
        number = _number(text)
        if number is not None:
            out[key] = number
            continue
        try:
            out[key] = safe_load(text)
        except yaml.YAMLError as exc:
            problem = getattr(exc, "problem", None) or "syntax error"
            raise ConfigError(
                f"--config {key}={text}: not a valid YAML value ({problem}); "
                f"allowed: the value as config.yaml would spell it, quoted for the shell "
                f"(--config {key}='{{a: 1, b: [2, 3]}}')"
            ) from None
    return out


def merge(config: dict, overrides: dict) -> dict:
    """``config`` with ``overrides`` merged in, mappings key by key (as Snakemake merges them)."""
    out = dict(config)
    for key, value in overrides.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out
