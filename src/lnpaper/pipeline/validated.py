"""The config check at every Snakemake start, remembered once it has passed.

``config.validate`` itself takes about 5 ms, but importing jsonschema for it takes 130 ms, a
sixteenth of a no-change rerun. A validation that passed is kept (the validated config, as JSON)
under a key made of everything its answer depends on: the config as given, the schema, the text of
every src/ file the checks can run (``lnpaper.pipeline.deps``: config.py, the registry, each
experiment's declaration) and the jsonschema version. Any change to one of them is a new key, so
the check runs again. A config that fails is never kept: its one-line error always comes from
``validate``.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from importlib.metadata import version
from pathlib import Path

from lnpaper.pipeline import deps
from lnpaper.pipeline.config import validate
from lnpaper.pipeline.kernels import kernel_paths

# not a result: kept with Snakemake's own state, beside the rule-code parse cache
CACHE = ".snakemake/lnpaper/validated.json"
# what validate() can run
CHECK_MODULES = ("pipeline.config", "pipeline.registry", "pipeline.kernels")
LIMIT = 20  # configs kept; beyond it the oldest entries go


def validation_key(config: dict, schema: dict, root: str | Path | None = None) -> str:
    """sha256 of the config, the schema, the checking code under ``root`` (else this package's
    own), the jsonschema version and the CPU's kernel paths."""
    digest = hashlib.sha256()
    # the CPU's kernel paths too: replicate_kernels is checked against them
    answer_of = [config, schema, version("jsonschema"), kernel_paths()]
    digest.update(json.dumps(answer_of, sort_keys=True).encode())
    base = Path(root).resolve() if root is not None else None
    for name in deps.module_files(*CHECK_MODULES, root=root):
        path = base / name if base is not None else Path(name)
        digest.update(f"\0{name}\0".encode() + hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def validate_remembered(
    config: dict, schema: dict, cache: str | Path, root: str | Path | None = None
) -> dict:
    """``validate(config, schema)``, answered from ``cache`` (JSON) when this very config, schema
    and code passed before. A cache that cannot be read counts as empty; one that cannot be
    written is skipped (it only saves time)."""
    key = validation_key(config, schema, root)
    cache = Path(cache)
    try:
        kept = json.loads(cache.read_text(encoding="utf-8"))
        if not isinstance(kept, dict):
            kept = {}
    except (OSError, ValueError):
        kept = {}
    if isinstance(kept.get(key), dict):
        return kept[key]
    result = validate(config, schema)  # raises ConfigError: nothing is kept
    if json.loads(json.dumps(result)) != result:  # kept only where JSON gives it back as it is
        return result
    kept = {k: v for k, v in list(kept.items())[-(LIMIT - 1) :] if k != key}
    kept[key] = result
    try:  # write, then rename: a concurrent start reads the old file or the new one, whole
        cache.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=cache.parent, prefix=".validated-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(kept, fh)
        os.replace(tmp, cache)
    except OSError:
        pass
    return result
