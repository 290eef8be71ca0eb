"""Run one pipeline step from a Snakemake script: time it, write its outputs atomically, and
leave a manifest (params, metrics, versions, digests) that the tracking step logs to MLflow.

Compute jobs never talk to MLflow themselves: tracking is its own step, so a tracking outage or
a locked store can never fail or roll back a finished computation.
"""

from __future__ import annotations

import logging
import os
import resource
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd

from . import io
from .config import config_hash, flatten
from .provenance import host_info, versions

log = logging.getLogger("lnpaper")


@dataclass
class StepResult:
    """What a step computed: Parquet frames by output name, summary metrics, extra files."""
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    conditions: dict[str, Any] | None = None  # how tracking splits results into condition runs
    extra: dict[str, Any] = field(default_factory=dict)  # more manifest keys, e.g. device_used


def build_manifest(step: str, kind: str, params: dict, result: StepResult, inputs: dict,
                   outputs: dict, timing: dict, extra: dict | None = None) -> dict:
    return {
        "step": step,
        "kind": kind,
        "params": flatten(params),
        "params_hash": config_hash(params),
        "metrics": {k: float(v) for k, v in sorted(result.metrics.items())},
        "conditions": result.conditions,
        "inputs": {name: {"path": str(p), "sha256": io.file_digest(p)} for name, p in inputs.items()},
        "outputs": {name: {"path": str(p), "sha256": io.file_digest(p)} for name, p in outputs.items()},
        "versions": versions(),
        "host": host_info(),
        "timing": timing,
        **(extra or {}),
    }


def named_items(namedlist) -> dict[str, str]:
    """Snakemake's Namedlist -> {name: path} for its named entries."""
    return {name: str(path) for name, path in namedlist.items()}


def run_step(smk, kind: str, compute: Callable[..., StepResult], **extra) -> None:
    """Adapter body for ``workflow/scripts``: compute, write frames and manifest.

    ``compute(params, inputs, outputs, threads)`` gets the rule's params (a dict), its named
    inputs (data files only: the src/ entries are for rerun detection), its named outputs and
    thread count. Frames it returns are written to the outputs of the same name; anything else
    it writes itself. The manifest is always written last, so its presence means success.
    """
    from pathlib import Path

    from .runtime import setup_logging

    setup_logging(smk.log[0] if smk.log else None)
    step = Path(smk.output.manifest).stem  # "matmul", "table_scale_behavior", ...
    params = dict(smk.params.items())
    inputs = {k: v for k, v in named_items(smk.input).items() if k != "src"}
    outputs = named_items(smk.output)
    outputs.pop("manifest", None)
    log.info("step %s: start (threads=%s)", step, smk.threads)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = compute(params, inputs, outputs, smk.threads)
    for name, frame in result.frames.items():
        if name not in outputs:
            raise KeyError(f"step {step} produced '{name}' but the rule declares no such output")
        io.write_parquet(frame, outputs[name])
    timing = {"wall_s": time.perf_counter() - wall0, "cpu_s": time.process_time() - cpu0,
              "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
              "threads": smk.threads, "pid": os.getpid(),
              "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    manifest = build_manifest(step, kind, params, result, inputs, outputs, timing,
                              {**extra, **result.extra})
    io.write_json(manifest, smk.output.manifest)
    log.info("step %s: done in %.2f s", step, timing["wall_s"])
