"""Summary metrics of a build run, so that MLflow's runs table can sort and chart builds by them.

A build run carries the config as params; these metrics say what the build cost and what it
found:
- ``build.wall_s``: from the start of the first step this build executed to the tracking step;
  ``build.cpu_s``: the CPU seconds of the steps it executed (reused steps cost nothing);
- ``build.steps_executed`` / ``build.steps_reused``;
- ``claims.<verdict>``: how many claims have each verdict (from the claims table's manifest);
- ``changed.numbers`` / ``changed.verdicts``: how many quoted numbers and claim verdicts differ
  from the build before (the previous FINISHED build run of the experiment); absent for the
  first build.

The verdicts that changed are also returned (claim id, old, new), for the console summary.
"""

from __future__ import annotations

import math
import tempfile
import time
from datetime import datetime
from pathlib import Path

from lnpaper.pipeline import io

# the tag prefix of lnpaper.tracking.store, spelled here too: the store calls this module, so
# importing it back would make a cycle
TAG = "lnpaper"

VERDICTS = ("holds", "fails", "holds_only_if", "inconclusive", "not_measured")
CLAIMS_STEP, NUMBERS_STEP = "table_claims", "numbers"


def _started(timing: dict) -> float | None:
    """Epoch seconds a step started (its finish time minus its wall time), None if unknown."""
    try:
        end = datetime.strptime(timing["finished_at"], "%Y-%m-%dT%H:%M:%S%z").timestamp()
        return end - float(timing.get("wall_s", 0.0))
    except (KeyError, TypeError, ValueError):
        return None


def cost_metrics(manifests: dict[str, dict], executed: list[str], now: float) -> dict:
    """build.wall_s, build.cpu_s and the step counts from the steps' manifests."""
    timings = [manifests[s].get("timing", {}) for s in executed if s in manifests]
    starts = [t for t in (_started(x) for x in timings) if t is not None]
    out = {
        "build.cpu_s": float(sum(float(t.get("cpu_s", 0.0)) for t in timings)),
        "build.steps_executed": float(len(executed)),
        "build.steps_reused": float(len(manifests) - len(executed)),
    }
    if starts:
        out["build.wall_s"] = max(0.0, now - min(starts))
    return out


def verdict_counts(claims_manifest: dict | None) -> dict[str, float]:
    """claims.<verdict> for every verdict (0 where none has it)."""
    metrics = (claims_manifest or {}).get("metrics", {})
    return {f"claims.{v}": float(metrics.get(f"verdict.{v}", 0.0)) for v in VERDICTS}


def _artifact(client, run_id: str, path: str, dest: str) -> Path | None:
    try:
        return Path(client.download_artifacts(run_id, path, dest))
    except Exception:  # noqa: BLE001 - a store without that artifact: nothing to compare
        return None


def changed_numbers(old: Path, new: Path) -> int:
    """How many quoted numbers differ between two numbers.parquet files (added or removed
    numbers count; NaN equals NaN)."""
    a = {r.name: float(r.value) for r in io.read_parquet(old).itertuples()}
    b = {r.name: float(r.value) for r in io.read_parquet(new).itertuples()}

    def same(x, y):
        return x is not None and y is not None and (x == y or (math.isnan(x) and math.isnan(y)))

    return sum(not same(a.get(k), b.get(k)) for k in set(a) | set(b))


def changed_verdicts(old: Path, new: Path) -> list[list[str]]:
    """[claim id, old verdict, new verdict] for each claim whose verdict differs ("–": absent)."""
    import pandas as pd

    a, b = (
        dict(zip(f["claim_id"], f["verdict"], strict=True)) for f in map(pd.read_csv, (old, new))
    )
    return [
        [str(c), str(a.get(c, "–")), str(b.get(c, "–"))]
        for c in sorted(set(a) | set(b))
        if a.get(c) != b.get(c)
    ]


def build_json(client, build_run) -> dict:
    """A build run's build.json artifact (what the tracking step returned)."""
    import json

    with tempfile.TemporaryDirectory() as tmp:
        path = client.download_artifacts(build_run.info.run_id, "build.json", tmp)
        with open(path, encoding="utf-8") as fh:
            return json.load(fh)


def build_steps(client, build_run) -> dict[str, str]:
    """step -> run id for a build (its build.json artifact)."""
    return {step: info["run_id"] for step, info in build_json(client, build_run)["steps"].items()}


def previous_build(client, exp_id: str, build_id: str):
    """The newest FINISHED build run other than ``build_id``, or None."""
    runs = client.search_runs(
        [exp_id],
        f"tags.`{TAG}.kind` = 'build' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=2,
    )
    return next((r for r in runs if r.info.run_id != build_id), None)


def change_metrics(client, previous_steps: dict[str, str], steps: dict[str, dict]) -> tuple:
    """(metrics, changed verdicts) against the previous build's step runs: a step run both
    builds share has the same outputs, so only differing runs are downloaded and compared."""
    metrics: dict[str, float] = {}
    flips: list[list[str]] = []
    specs = ((NUMBERS_STEP, "numbers/numbers.parquet"), (CLAIMS_STEP, "table/claims.csv"))
    with tempfile.TemporaryDirectory() as tmp:
        for step, artifact in specs:
            old_id, new_id = previous_steps.get(step), steps.get(step, {}).get("run_id")
            if old_id is None or new_id is None:
                continue
            found = 0
            if old_id != new_id:
                old = _artifact(client, old_id, artifact, f"{tmp}/old-{step}")
                new = _artifact(client, new_id, artifact, f"{tmp}/new-{step}")
                if old is None or new is None:
                    continue
                if step == NUMBERS_STEP:
                    found = changed_numbers(old, new)
                else:
                    flips = changed_verdicts(old, new)
                    found = len(flips)
            metrics[f"changed.{'numbers' if step == NUMBERS_STEP else 'verdicts'}"] = float(found)
    return metrics, flips


def log_build_metrics(
    client, exp_id: str, build_id: str, manifest_paths: list[str], steps: dict[str, dict]
) -> dict:
    """Log the summary metrics on the build run; return them (and the verdicts that changed)
    for build.json, under ``metrics`` and ``claims_changed``."""
    from mlflow.entities import Metric

    manifests = {}
    for path in manifest_paths:
        manifest = io.read_json(path)
        manifests[manifest["step"]] = manifest
    executed = sorted(s for s, v in steps.items() if not v["reused"])
    now = time.time()
    metrics = cost_metrics(manifests, executed, now)
    metrics.update(verdict_counts(manifests.get(CLAIMS_STEP)))
    flips: list[list[str]] = []
    before = previous_build(client, exp_id, build_id)
    if before is not None:
        try:
            previous_steps = build_steps(client, before)
        except Exception:  # noqa: BLE001 - a previous build without build.json
            previous_steps = {}
        changes, flips = change_metrics(client, previous_steps, steps)
        metrics.update(changes)
    ts = int(now * 1000)
    client.log_batch(build_id, metrics=[Metric(k, v, ts, 0) for k, v in sorted(metrics.items())])
    return {"metrics": metrics, "claims_changed": flips}
