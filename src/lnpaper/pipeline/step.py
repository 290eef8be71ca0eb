"""Run one pipeline step from a Snakemake script: set up threads and device, time it, write its
outputs atomically, and leave a manifest (params, metrics, versions, digests) that the tracking
step logs to MLflow.

Compute jobs never talk to MLflow themselves: tracking is its own step, so a tracking outage or
a locked store can never fail or roll back a finished computation.

The rule-script contract: a rule passes its config slice as params, and the files it reads as
one params entry ``files`` (a name -> path mapping, nested where a step reads groups of files,
e.g. ``{"tables": {"claims": {"csv": ..., "md": ...}}}``); its ``input`` lists the same paths
flat (``common.smk: flat_files``) so Snakemake sees them. Scripts get that structure back as
``ctx.inputs``, never by splitting input names apart.
"""

from __future__ import annotations

import importlib
import logging
import os
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

import pandas as pd

from lnpaper.pipeline import io
from lnpaper.pipeline.config import config_hash, flatten
from lnpaper.pipeline.provenance import host_info, versions
from lnpaper.pipeline.runtime import Progress, setup_logging, setup_torch

log = logging.getLogger("lnpaper")


@dataclass
class StepResult:
    """What a step computed: Parquet frames by output name, summary metrics, extra files."""

    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    conditions: dict[str, Any] | None = None  # how tracking splits results into condition runs
    extra: dict[str, Any] = field(default_factory=dict)  # more manifest keys, e.g. device_used


@dataclass
class StepContext:
    """Everything a step's compute function may use; no compute reads the snakemake object."""

    step: str  # "matmul", "table_scale_behavior", ...
    params: dict  # the rule's config slice (without ``files``)
    inputs: dict  # the rule's ``files`` structure: name -> path, or nested groups of them
    outputs: dict[str, str]  # output name -> path (without the manifest)
    threads: int
    wildcards: dict[str, str]
    device: str = "cpu"  # the torch device set up for this step (experiments only)


def flat_paths(tree: Any) -> list[str]:
    """Every path in a ``files`` structure, in a fixed order."""
    if isinstance(tree, dict):
        return [p for key in sorted(tree) for p in flat_paths(tree[key])]
    if isinstance(tree, (list, tuple)):
        return [p for item in tree for p in flat_paths(item)]
    return [str(tree)]


def build_manifest(
    step: str,
    kind: str,
    params: dict,
    result: StepResult,
    inputs: dict,
    outputs: dict,
    timing: dict,
    extra: dict | None = None,
) -> dict:
    return {
        "step": step,
        "kind": kind,
        "params": flatten(params),
        "params_hash": config_hash(params),
        "metrics": {k: float(v) for k, v in sorted(result.metrics.items())},
        "conditions": result.conditions,
        "inputs": {
            name: {"path": str(p), "sha256": io.file_digest(p)} for name, p in inputs.items()
        },
        "outputs": {
            name: {"path": str(p), "sha256": io.file_digest(p)} for name, p in outputs.items()
        },
        "versions": versions(),
        "host": host_info(),
        "timing": timing,
        **(extra or {}),
    }


def named_items(namedlist) -> dict[str, str]:
    """Snakemake's Namedlist -> {name: path} for its named entries."""
    return {name: str(path) for name, path in namedlist.items()}


def context_from(smk, uses_torch: bool) -> StepContext:
    """The StepContext of a Snakemake job (threads and device set up when it runs torch)."""
    params = dict(smk.params.items())
    files = params.pop("files", {})
    # the software digest keys the results cache (lnpaper.pipeline.cache); not the step's config
    params.pop("software", None)
    params.pop("unit", None)  # a split experiment's part: its unit is its wildcard
    outputs = named_items(smk.output)
    outputs.pop("manifest", None)
    device = setup_torch(smk.threads, params.get("device", "cpu")) if uses_torch else "cpu"
    return StepContext(
        step=Path(smk.output.manifest).stem,
        params=params,
        inputs=files,
        outputs=outputs,
        threads=smk.threads,
        wildcards=dict(smk.wildcards.items()),
        device=device,
    )


def _flat_inputs(tree: Any, prefix: str = "") -> dict[str, str]:
    """{"a": {"b": path}} -> {"a/b": path}: manifest names of the input files."""
    if isinstance(tree, dict):
        out: dict[str, str] = {}
        for key in sorted(tree):
            out.update(_flat_inputs(tree[key], f"{prefix}/{key}" if prefix else str(key)))
        return out
    return {prefix: str(tree)}


def process_timing() -> dict[str, float]:
    """CPU seconds (user + system) and wall seconds of this process since it started."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    out = {"process_cpu_s": usage.ru_utime + usage.ru_stime}
    try:
        import psutil

        out["process_wall_s"] = time.time() - psutil.Process().create_time()
    except (ImportError, OSError):
        pass
    return out


def execute(
    ctx: StepContext, kind: str, compute: Callable[[StepContext], StepResult], manifest: str
) -> None:
    """Compute, write the frames to the outputs of the same name, then the manifest (last, so its
    presence means success)."""
    log.info("step %s: start (threads=%s, device=%s)", ctx.step, ctx.threads, ctx.device)
    wall0, cpu0 = time.perf_counter(), time.process_time()
    result = compute(ctx)
    for name, frame in result.frames.items():
        if name not in ctx.outputs:
            raise KeyError(
                f"step {ctx.step} produced '{name}' but the rule declares no such output"
            )
        io.write_parquet(frame, ctx.outputs[name])
    timing = {
        "wall_s": time.perf_counter() - wall0,
        "cpu_s": time.process_time() - cpu0,
        # the whole job's process, start-up and imports included (what a benchmark file
        # measures; cached rules have none, lnpaper.pipeline.cache)
        **process_timing(),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "threads": ctx.threads,
        "pid": os.getpid(),
        "finished_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    extra = {
        **({"device_used": ctx.device} if kind.startswith("experiment") else {}),
        # a kernel replicate's job: the kernel path torch ran, as it reports it
        **({"cpu_capability": cpu_capability()} if "kernel_env" in ctx.params else {}),
        **result.extra,
    }
    doc = build_manifest(
        ctx.step, kind, ctx.params, result, _flat_inputs(ctx.inputs), ctx.outputs, timing, extra
    )
    io.write_json(doc, manifest)
    log.info("step %s: done in %.2f s", ctx.step, timing["wall_s"])


def cpu_capability() -> str:
    """The CPU kernel path torch dispatches to ("DEFAULT", "AVX2", "AVX512")."""
    import torch

    return str(torch.backends.cpu.get_cpu_capability())


def run_step(
    smk, kind: str, compute: Callable[[StepContext], StepResult], uses_torch: bool = False
) -> None:
    """Adapter body for ``workflow/scripts``: build the context, compute, write everything."""
    setup_logging(smk.log[0] if smk.log else None)
    execute(context_from(smk, uses_torch), kind, compute, smk.output.manifest)


def experiment_compute(
    module: ModuleType, kind: str = "experiment", split=None
) -> Callable[[StepContext], StepResult]:
    """The compute function of an experiment module with the uniform interface
    ``run(cfg, *, seed, inputs, device, progress)`` and ``summary_metrics(frames)``; with the
    declaration's ``split``, a part's job runs the config slice of its unit (its wildcard)."""
    name = module.__name__.rsplit(".", 1)[-1]

    def compute(ctx: StepContext) -> StepResult:
        cfg = ctx.params[name]
        if split is not None and split.wildcard in ctx.wildcards:
            cfg = split.slice(cfg, ctx.wildcards[split.wildcard])
        frames_in = {key: io.read_parquet(path) for key, path in ctx.inputs.items()}
        frames = module.run(
            cfg,
            seed=ctx.params.get("seed", 0),
            inputs=frames_in,
            device=ctx.device,
            progress=Progress(ctx.step),
        )
        conditions = getattr(module, "CONDITIONS", None) if kind == "experiment" else None
        return StepResult(
            frames=frames, metrics=module.summary_metrics(frames), conditions=conditions
        )

    return compute


def run_experiment(smk, module: ModuleType, kind: str = "experiment", split=None) -> None:
    """Run an experiment module as a rule's step: ``run_experiment(snakemake, matmul)``."""
    run_step(smk, kind, experiment_compute(module, kind, split), uses_torch=True)


# A replicate's copy of a rule (config ``replicate_seeds``, ``replicate_kernels``;
# workflow/rules/replicates.smk): ``<rule>_replicate``, the replicate's name (seed43,
# kernel-avx2; lnpaper.pipeline.kernels.parse_replicate) as wildcard ``replicate``, its seed as
# the params' ``seed`` and its kernel variables as the params' ``kernel_env``.
REPLICATE_SUFFIX = "_replicate"
REPLICATE_WILDCARD = "replicate"


def unit_wildcards(wildcards: dict) -> dict:
    """A job's wildcards that name a split experiment's unit (not its replicate)."""
    return {k: v for k, v in wildcards.items() if k != REPLICATE_WILDCARD}


def experiment_of_rule(rule: str, wildcards: dict) -> str:
    """The experiment a rule runs: ``matmul`` -> matmul; a split experiment's part rule
    ``<id>_part`` (it has the unit wildcard) -> ``<id>``; a replicate's copy of either,
    ``<rule>_replicate``, -> the same experiment."""
    rule = rule.removesuffix(REPLICATE_SUFFIX)
    return rule.removesuffix("_part") if unit_wildcards(wildcards) else rule


def declaration(experiment: str) -> Any:
    """An experiment's declaration, imported by name (light: no torch)."""
    return importlib.import_module(f"lnpaper.experiments.{experiment}_spec").EXPERIMENT


def declared(experiment: str) -> tuple[ModuleType, Any]:
    """An experiment's module and declaration, imported by name (a rule lists both files)."""
    decl = declaration(experiment)
    return importlib.import_module(decl.module), decl


def run_declared(smk) -> None:
    """The adapter of every experiment rule: the rule's name names the experiment; a split
    experiment's part rule (it has the unit wildcard) runs the slice of one unit."""
    wildcards = dict(smk.wildcards.items())
    module, decl = declared(experiment_of_rule(smk.rule, wildcards))
    part = bool(unit_wildcards(wildcards))
    run_experiment(smk, module, "experiment_part" if part else "experiment", decl.split)


def join_compute(module: ModuleType, decl) -> Callable[[StepContext], StepResult]:
    """The compute function of a split experiment's join: its parts' frames joined by the
    declared ``join`` function of its join module; metrics and conditions of the whole."""

    def compute(ctx: StepContext) -> StepResult:
        parts = ctx.inputs["parts"]  # unit -> {output name: path}
        join = getattr(module, decl.split.join)
        frames = join(
            [
                {name: io.read_parquet(part[name]) for name in decl.outputs}
                for part in parts.values()
            ]
        )
        # the parts ran the torch work: their device is this step's device
        manifests = ctx.inputs["manifests"].values()
        used = sorted({io.read_json(path)["device_used"] for path in manifests})
        return StepResult(
            frames=frames,
            metrics=module.summary_metrics(frames),
            conditions=getattr(module, "CONDITIONS", None),
            extra={"device_used": ",".join(used)},
        )

    return compute


def run_join(smk) -> None:
    """The adapter of a split experiment's join rule (named after the experiment): it imports
    the declared join module only (torch stays out when that module does not import it)."""
    decl = declaration(experiment_of_rule(smk.rule, {}))
    run_step(smk, "experiment", join_compute(importlib.import_module(decl.join_module), decl))
