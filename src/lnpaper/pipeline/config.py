"""Load, validate and slice the pipeline config.

Validation happens once, when the Snakefile is parsed, so a bad value stops the run before any
job starts with a single line that names the key and what is allowed (no traceback).
"""

from __future__ import annotations

import copy
import difflib
import hashlib
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


# Checks a schema cannot express (combinations that are well typed but meaningless).
# Each takes the validated config and returns an error line or None.
SEMANTIC_CHECKS: list[Callable[[dict], str | None]] = []


def semantic_check(fn: Callable[[dict], str | None]) -> Callable[[dict], str | None]:
    SEMANTIC_CHECKS.append(fn)
    return fn


@semantic_check
def _layernorm_group_sizes_fit(cfg: dict) -> str | None:
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


@semantic_check
def _matmul_burn_in_below_steps(cfg: dict) -> str | None:
    mm = cfg.get("matmul", {})
    if "burn_in" in mm and "steps" in mm and mm["burn_in"] >= mm["steps"]:
        return (
            f"matmul.burn_in: got {mm['burn_in']}; allowed: integer < matmul.steps ({mm['steps']})"
        )
    return None


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
    for check in SEMANTIC_CHECKS:
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


@semantic_check
def _shapes_are_generated(cfg: dict) -> str | None:
    have = cfg.get("data", {}).get("shapes", [])
    wanted = [
        ("layernorm_stats.shapes", s) for s in cfg.get("layernorm_stats", {}).get("shapes", [])
    ]
    if "shape" in cfg.get("affine", {}):
        wanted.append(("affine.shape", cfg["affine"]["shape"]))
    for key, shape in wanted:
        if shape not in have:
            return f"{key}: shape {shape} is not generated; allowed: one of data.shapes {have}"
    return None


# ---------------------------------------------------------------- training / normalizers
DIGITS_SAMPLES = 1797  # scikit-learn's load_digits (fixed; not loaded here to keep start-up fast)


@semantic_check
def _training_batch_fits_data(cfg: dict) -> str | None:
    tr = cfg.get("training", {})
    if not tr or "batch_size" not in tr:
        return None
    sizes = {"digits": DIGITS_SAMPLES, "synthetic": tr.get("synthetic", {}).get("n_samples", 0)}
    for dataset in tr.get("datasets", []):
        n_train = sizes[dataset] - int(round(tr["test_fraction"] * sizes[dataset]))
        if tr["batch_size"] > n_train:
            return (
                f"training.batch_size: got {tr['batch_size']}; allowed: integer <= {n_train}, "
                f"the training split of dataset {dataset}"
            )
    return None


@semantic_check
def _training_windows_fit(cfg: dict) -> str | None:
    tr = cfg.get("training", {})
    for key in ("oscillation_window", "smooth_window"):
        if key in tr and "steps" in tr and tr[key] >= tr["steps"]:
            return (
                f"training.{key}: got {tr[key]}; allowed: integer < training.steps ({tr['steps']})"
            )
    return None


@semantic_check
def _groups_divide_width(cfg: dict) -> str | None:
    for section in ("training", "batch_dependence"):
        sec = cfg.get(section, {})
        if "groupnorm_groups" in sec and "width" in sec and sec["width"] % sec["groupnorm_groups"]:
            return (
                f"{section}.groupnorm_groups: got {sec['groupnorm_groups']}; allowed: a divisor "
                f"of {section}.width ({sec['width']})"
            )
    tf = cfg.get("transformer", {})
    if "heads" in tf and "d_model" in tf and tf["d_model"] % tf["heads"]:
        return (
            f"transformer.heads: got {tf['heads']}; allowed: a divisor of transformer.d_model "
            f"({tf['d_model']})"
        )
    return None


# ---------------------------------------------------------------- configs that measure nothing
# Well typed values under which an experiment runs but cannot measure what its claims are about
# (a verdict would rest on an empty or NaN measurement). Checked only for enabled experiments.


def _on(cfg: dict, section: str) -> dict:
    sec = cfg.get(section, {})
    return sec if sec.get("enabled", True) else {}


DIGITS_CLASSES = 10


@semantic_check
def _test_split_has_every_class(cfg: dict) -> str | None:
    tr = _on(cfg, "training")
    if "test_fraction" not in tr:
        return None
    syn = tr.get("synthetic", {})
    data = {
        "digits": (DIGITS_SAMPLES, DIGITS_CLASSES),
        "synthetic": (syn.get("n_samples", 0), syn.get("n_classes", 1)),
    }
    for dataset in tr.get("datasets", []):
        n, classes = data[dataset]
        n_test = int(round(tr["test_fraction"] * n))
        if n_test < classes:
            return (
                f"training.test_fraction: got {tr['test_fraction']}, {n_test} test samples of "
                f"dataset {dataset} for {classes} classes; allowed: >= {classes / n:.4g} (at least "
                "1 test sample per class)"
            )
    return None


@semantic_check
def _batch_sizes_compare_one_and_many(cfg: dict) -> str | None:
    sizes = _on(cfg, "batch_dependence").get("batch_sizes")
    if sizes is not None and not (1 in sizes and any(b >= 2 for b in sizes)):
        return (
            f"batch_dependence.batch_sizes: got {sizes}; allowed: a list with 1 (online "
            "inference) and a size >= 2 (batch dependence): the claims compare both"
        )
    return None


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
def _input_std_positive(cfg: dict) -> str | None:
    moments = _on(cfg, "layernorm_stats").get("correlation_input_moments", [])
    for i, pair in enumerate(moments):
        if pair[1] <= 0:
            return (
                f"layernorm_stats.correlation_input_moments[{i}][1]: got {pair[1]}; allowed: a "
                "standard deviation > 0 (a constant input has no correlation with its output)"
            )
    return None


@semantic_check
def _precision_has_reference_and_offset(cfg: dict) -> str | None:
    pr = _on(cfg, "precision")
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


@semantic_check
def _transformer_has_layernorm(cfg: dict) -> str | None:
    tf = _on(cfg, "transformer")
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
