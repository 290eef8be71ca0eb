"""Load, validate and slice the pipeline config.

Validation happens once, when the Snakefile is parsed, so a bad value stops the run before any
job starts with a single line that names the key and what is allowed (no traceback).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
import importlib
import json
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import yaml

from lnpaper.pipeline.yamlfile import safe_load


class ConfigError(ValueError):
    """A config value the pipeline cannot run with; the message is one line for the user."""


def load_yaml(path: str | Path) -> Any:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path} is not a text (UTF-8) YAML file") from None
    try:
        return safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        raise ConfigError(f"{path} is not valid YAML{where}") from None


def key_path(path) -> str:
    """'matmul.scales[2]' from a jsonschema error path."""
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "<top level>"


def _allowed(schema: dict) -> str:
    """A short description of what a schema node allows."""
    if "enum" in schema:
        return "one of " + ", ".join(json.dumps(v) for v in schema["enum"])
    kind = schema.get("type", "value")
    kind = " or ".join(kind) if isinstance(kind, list) else kind
    bounds = []
    for key, sym in (
        ("minimum", ">="),
        ("exclusiveMinimum", ">"),
        ("maximum", "<="),
        ("exclusiveMaximum", "<"),
    ):
        if key in schema:
            bounds.append(f"{sym} {schema[key]}")
    if kind == "array":
        items = schema.get("items", {})
        text = f"a list of {_allowed(items)}" if items else "a list"
        if schema.get("minItems"):
            text += f", at least {schema['minItems']} item(s)"
        if schema.get("uniqueItems"):
            text += ", no duplicates"
        return text
    if kind == "object":
        return "a mapping with keys " + ", ".join(sorted(schema.get("properties", {})))
    if schema.get("minLength"):
        bounds.append(f"at least {schema['minLength']} character(s)")
    if "pattern" in schema:
        bounds.append(f"matching {schema['pattern']}")
    return kind + (" " + " and ".join(bounds) if bounds else "")


def _format_error(err) -> str:
    where = key_path(err.absolute_path)
    if err.validator == "additionalProperties":
        allowed = sorted(err.schema.get("properties", {}))
        extra = sorted(set(err.instance) - set(allowed))
        hints = []
        for key in extra:
            close = difflib.get_close_matches(str(key), allowed, n=1)
            hints.append(f"'{key}'" + (f" (did you mean '{close[0]}'?)" if close else ""))
        return f"{where}: unknown key {', '.join(hints)}; allowed keys: {', '.join(allowed)}"
    if err.validator == "required":
        return f"{where}: {err.message}"
    if err.validator == "uniqueItems":
        return f"{where}: duplicate entries in {json.dumps(err.instance)}; allowed: {_allowed(err.schema)}"
    if err.validator == "minItems":
        return f"{where}: list is empty or too short; allowed: {_allowed(err.schema)}"
    got = json.dumps(err.instance, default=str)
    if len(got) > 60:
        got = got[:57] + "..."
    return f"{where}: got {got}; allowed: {_allowed(err.schema)}"


def _fill_defaults(instance: dict, schema: dict) -> None:
    for key, sub in schema.get("properties", {}).items():
        if key not in instance and "default" in sub:
            instance[key] = copy.deepcopy(sub["default"])
        if isinstance(instance.get(key), dict) and sub.get("type") == "object":
            _fill_defaults(instance[key], sub)


# Checks a schema cannot express (combinations that are well typed but meaningless, or under
# which an experiment runs but cannot measure what its claims are about). Each takes the
# validated config and returns an error line or None. These are the data section's; each
# experiment declares its own (``checks`` of its declaration), run after these.
SEMANTIC_CHECKS: list[Callable[[dict], str | None]] = []


def semantic_check(fn: Callable[[dict], str | None]) -> Callable[[dict], str | None]:
    SEMANTIC_CHECKS.append(fn)
    return fn


def _allows_nonfinite(schema: dict | None) -> bool:
    """A schema node may opt in to NaN/inf with ``x-allow-nonfinite: true`` (none does today)."""
    return bool(schema and schema.get("x-allow-nonfinite"))


def _child_schema(schema: dict | None, part) -> dict | None:
    if not isinstance(schema, dict):
        return None
    if isinstance(part, int):
        items = schema.get("items")
        prefix = schema.get("prefixItems")
        if prefix and part < len(prefix):
            return prefix[part]
        return items if isinstance(items, dict) else None
    return schema.get("properties", {}).get(part)


def find_nonfinite(tree: Any, schema: dict | None, path: tuple = ()) -> tuple[tuple, float] | None:
    """(path, value) of the first NaN or +-inf number in ``tree``, or None.

    JSON Schema range checks are silently true for NaN (every comparison with NaN is false), so
    ``minimum``/``exclusiveMinimum`` cannot refuse it, and YAML spells both (``.nan``, ``.inf``).
    """
    if _allows_nonfinite(schema):
        return None
    if isinstance(tree, float) and not math.isfinite(tree):
        return path, tree
    if isinstance(tree, dict):
        children = ((k, tree[k]) for k in sorted(tree, key=str))
    elif isinstance(tree, list):
        children = enumerate(tree)
    else:
        return None
    for part, value in children:
        found = find_nonfinite(value, _child_schema(schema, part), (*path, part))
        if found:
            return found
    return None


def _nonfinite_message(path: tuple, value: float) -> str:
    got = "NaN" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    return f"{key_path(path)}: got {got}; allowed: a finite number (no NaN or inf)"


def experiment_checks() -> list[Callable[[dict], str | None]]:
    """The experiments' declared checks. Imported by name: steps import this module for
    ``config_hash`` and ``flatten`` and never validate, so their code must not include the
    registry (lnpaper.pipeline.deps lists what a step's code imports as its rule's input)."""
    return importlib.import_module("lnpaper.pipeline.registry").config_checks()


def validate(config: dict, schema: dict) -> dict:
    """Return a validated copy of ``config`` with schema defaults filled; raise ConfigError."""
    import jsonschema

    if not isinstance(config, dict):
        raise ConfigError(
            f"<top level>: got {type(config).__name__}; allowed: a mapping of sections"
        )
    # before the schema: a NaN passes every range check there, and must not reach any step
    found = find_nonfinite(config, schema)
    if found:
        raise ConfigError(_nonfinite_message(*found))
    cfg = copy.deepcopy(config)
    _fill_defaults(cfg, schema)
    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(cfg))
    if errors:
        # the deepest error names the most specific key ("matmul.scales[1]", not "matmul")
        err = max(errors, key=lambda e: len(e.absolute_path))
        raise ConfigError(_format_error(err))
    for check in SEMANTIC_CHECKS + experiment_checks():
        message = check(cfg)
        if message:
            raise ConfigError(message)
    return sort_keys(cfg)


def sort_keys(tree: Any) -> Any:
    """Dicts with sorted keys, recursively: Snakemake compares params by their repr, so key order
    (which follows the order of keys in the YAML files) must not look like a change."""
    if isinstance(tree, dict):
        return {k: sort_keys(tree[k]) for k in sorted(tree)}
    if isinstance(tree, list):
        return [sort_keys(v) for v in tree]
    return tree


def load_config(config_path: str | Path, schema_path: str | Path) -> dict:
    return validate(load_yaml(config_path) or {}, load_yaml(schema_path))


def config_hash(config: dict) -> str:
    """Short stable hash of a config (or a slice of it)."""
    canon = json.dumps(config, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canon.encode()).hexdigest()[:12]


def flatten(tree: Any, prefix: str = "") -> dict[str, Any]:
    """{'a': {'b': [1, 2]}} -> {'a.b': '[1, 2]'}: stable keys for MLflow params."""
    out: dict[str, Any] = {}
    if isinstance(tree, dict):
        for key in sorted(tree):
            out.update(flatten(tree[key], f"{prefix}.{key}" if prefix else str(key)))
    else:
        out[prefix] = json.dumps(tree) if isinstance(tree, list) else tree
    return out


def _dims(shape: str) -> tuple[int, int]:
    rows, cols = shape.split("x")
    return int(rows), int(cols)


@semantic_check
def _shapes_have_two_entries_per_std(cfg: dict) -> str | None:
    for i, shape in enumerate(cfg.get("data", {}).get("shapes", [])):
        if min(_dims(shape)) < 2:
            return (
                f"data.shapes[{i}]: got {shape}; allowed: ROWSxCOLS with both >= 2 (LayerNorm's "
                "row and column standard deviations need 2 entries)"
            )
    return None


@semantic_check
def _replicate_kernels_run_on_this_cpu(cfg: dict) -> str | None:
    """A kernel path is named in lnpaper.pipeline.kernels.PATHS and runs on this CPU: a path it
    lacks (avx512 on an AVX2 machine) would fall back to another path, not measure its own."""
    from lnpaper.pipeline.kernels import kernel_paths, kernels_problem

    names = cfg.get("replicate_kernels", [])
    return kernels_problem(names, kernel_paths()) if names else None


@semantic_check
def _replicate_seeds_differ_from_seed(cfg: dict) -> str | None:
    """A replicate of the base seed would be the base build again, not a second measurement."""
    seeds = cfg.get("replicate_seeds", [])
    if cfg.get("seed") in seeds:
        return (
            f"replicate_seeds[{seeds.index(cfg['seed'])}]: got {cfg['seed']}, the base seed; "
            f"allowed: distinct integers >= 0 other than seed ({cfg['seed']})"
        )
    return None
