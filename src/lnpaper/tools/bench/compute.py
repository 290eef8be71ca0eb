"""The compute-only replay: every science step of a build called in one Python process, through
the same compute functions its rule's adapter runs, without Snakemake or MLflow (the build's
lower bound in ``lnpaper bench``). The steps, their files and threads come from the experiments'
declarations (lnpaper.pipeline.registry), as the rules do."""

from __future__ import annotations

import runpy
import shutil
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace


class _Captured(Exception):
    pass


def load_compute(script: Path, smk=None):
    """The compute function a workflow adapter hands to ``run_step``, without running Snakemake.

    The adapter runs with ``run_step`` swapped for a catcher, so the benchmark calls exactly the
    code the rule calls; returns ``(compute, kind, uses_torch)``.
    """
    from lnpaper.pipeline import step

    captured = {}

    def catch(smk, kind, compute, uses_torch=False):
        captured.update(compute=compute, kind=kind, uses_torch=uses_torch)
        raise _Captured

    real, step.run_step = step.run_step, catch
    try:
        runpy.run_path(str(script), init_globals={"snakemake": smk})
    except _Captured:
        pass
    finally:
        step.run_step = real
    return captured["compute"], captured["kind"], captured["uses_torch"]


def _adapter_of(script: Path, rule: str, wildcards: dict | None = None):
    """``load_compute`` of an adapter, given the rule it runs for (generic experiment adapters
    look their experiment up by the rule's name). Adapters that read ``params`` before
    ``run_step`` (a kernel replicate's environment) find none: the replay's default path."""
    smk = SimpleNamespace(rule=rule, wildcards=wildcards or {}, params=SimpleNamespace())
    return load_compute(script, smk)


class Replay:
    """The steps of one build, called in order in this process; seconds per step."""

    def __init__(self, workdir: Path, cfg: dict, threads: int):
        self.cfg, self.threads = cfg, threads
        self.scripts = Path(workdir) / "workflow/scripts"
        self.out = Path(tempfile.mkdtemp(prefix="compute-only-"))
        self.common = {"seed": cfg["seed"], "device": cfg["device"]}
        self.times: dict[str, float] = {}
        self.exp_path: dict[str, str] = {}  # "experiment/output" -> its Parquet file

    def call(self, name, script, rule, params, files, outputs, wildcards=None, threads=1):
        """One step: the adapter's compute function with the threads its rule declares (capped
        at the replay's), its frames written as the rule writes them."""
        from lnpaper.pipeline import io
        from lnpaper.pipeline.runtime import setup_torch
        from lnpaper.pipeline.step import StepContext

        t0 = time.perf_counter()
        for p in outputs.values():
            Path(p).parent.mkdir(parents=True, exist_ok=True)
        n = min(self.threads, threads)
        compute, _, uses_torch = _adapter_of(self.scripts / script, rule, wildcards)
        device = setup_torch(n, params.get("device", "cpu")) if uses_torch else "cpu"
        result = compute(StepContext(name, params, files, outputs, n, wildcards or {}, device))
        for key, frame in result.frames.items():
            io.write_parquet(frame, outputs[key])
        self.times[name] = time.perf_counter() - t0

    def experiment(self, exp, pipeline_files: dict) -> None:
        """An experiment's jobs as its declaration splits them: one, or its parts and the join."""
        from lnpaper.pipeline import io

        params = {exp.section: self.cfg[exp.section], **self.common}
        outputs = {n: str(self.out / f"experiments/{exp.id}/{n}.parquet") for n in exp.outputs}
        self.exp_path.update({f"{exp.id}/{k}": v for k, v in outputs.items()})
        if not exp.split:
            files = {name: pipeline_files[name] for name in exp.reads}
            self.call(exp.id, "experiment.py", exp.id, params, files, outputs, None, exp.threads)
            return
        files = {"parts": {}, "manifests": {}}
        for unit in exp.split.units(self.cfg[exp.section]):
            part = {n: str(self.out / f"parts/{exp.id}/{unit}/{n}.parquet") for n in outputs}
            step, wildcards = exp.part_step(unit), {exp.split.wildcard: unit}
            self.call(step, "experiment.py", exp.job_rule, params, {}, part, wildcards, exp.threads)
            files["parts"][unit] = part
            files["manifests"][unit] = str(self.out / f"parts/{exp.id}/{unit}/manifest.json")
            io.write_json({"device_used": "cpu"}, files["manifests"][unit])
        self.call(exp.id, "experiment_join.py", exp.id, params, files, outputs)

    def sources_params(self, sources):
        from lnpaper.pipeline import registry

        slices = {registry.experiment_of(s): self.cfg[registry.experiment_of(s)] for s in sources}
        return {"experiments": slices, "language": self.cfg["language"], "seed": self.cfg["seed"]}

    def report(self) -> None:
        """Every enabled table (the claims table by its own adapter) and figure."""
        from lnpaper.pipeline import registry

        for table in registry.enabled_tables(self.cfg):
            srcs = registry.table_sources(table, self.cfg)
            script, key = ("claims.py", "claims") if table == "claims" else ("table.py", "table")
            files = {s: self.exp_path[s] for s in srcs}
            outputs = {ext: str(self.out / f"tables/{table}.{ext}") for ext in ("csv", "md", "tex")}
            params = {key: self.sources_params(srcs)}
            self.call(f"table_{table}", script, key, params, files, outputs, {"table": table})
        for fig in registry.enabled_figures(self.cfg):
            srcs = registry.FIGURES[fig]
            files = {s: self.exp_path[s] for s in srcs}
            outputs = {ext: str(self.out / f"figures/{fig}.{ext}") for ext in ("png", "pdf")}
            params = {"figure": self.sources_params(srcs)}
            self.call(
                f"figure_{fig}", "figure.py", "figure", params, files, outputs, {"figure": fig}
            )


def compute_only(workdir: Path, threads: int) -> dict[str, float]:
    """data, every enabled experiment, table and figure of ``workdir/config.yaml``: seconds each.

    Each step gets the threads its experiment declares (capped at ``threads``), as under
    Snakemake; every other rule declares none (one thread).
    """
    from lnpaper.pipeline import registry
    from lnpaper.pipeline.config import load_yaml, validate

    workdir = Path(workdir)
    cfg = validate(
        load_yaml(workdir / "config.yaml"),
        load_yaml(workdir / "workflow/schemas/config.schema.yaml"),
    )
    replay = Replay(workdir, cfg, threads)
    matrices = str(replay.out / "data/matrices.parquet")
    params = {"data": cfg["data"], **replay.common}
    replay.call("data", "data.py", "data", params, {}, {"matrices": matrices})
    for exp in registry.enabled_declarations(cfg):
        replay.experiment(exp, {"matrices": matrices})
    replay.report()
    shutil.rmtree(replay.out, ignore_errors=True)
    return replay.times
