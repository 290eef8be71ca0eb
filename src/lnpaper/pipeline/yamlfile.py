"""YAML text -> Python objects, with libyaml's parser where PyYAML was built with it.

The C parser reads the config schema and report/text.yaml in about 12 ms instead of 90-110 ms;
the Snakefile reads the schema at every start and each table and figure job reads text.yaml.
The objects are the same: PyYAML's C and pure-Python safe loaders share the constructor and
the tag resolver (tests/pipeline/test_config.py compares them on every YAML file of the repository).
"""

from __future__ import annotations

from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """``yaml.safe_load``, faster."""
    return yaml.load(text, Loader=LOADER)  # a safe loader: plain data only
