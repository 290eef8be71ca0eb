"""Compare two builds logged in MLflow: the params and metrics that differ, as a Markdown table
(like ``dvc exp diff --md``), for pull requests and lab notebooks."""

from __future__ import annotations

import math

from lnpaper.pipeline.credentials import redact
from lnpaper.tracking.store import TAG, open_client


def list_builds(client, exp_id: str, max_results: int = 1000):
    """FINISHED build runs, newest first."""
    return client.search_runs(
        [exp_id],
        f"tags.`{TAG}.kind` = 'build' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=max_results,
    )


def build_steps(client, build_run) -> dict[str, str]:
    """step -> run id for a build (its build.json artifact)."""
    data = (
        client.load_dict(build_run.info.run_id, "build.json")
        if hasattr(client, "load_dict")
        else None
    )
    if data is None:
        import json
        import tempfile

        with tempfile.TemporaryDirectory() as tmp:
            path = client.download_artifacts(build_run.info.run_id, "build.json", tmp)
            with open(path, encoding="utf-8") as fh:
                data = json.load(fh)
    return {step: info["run_id"] for step, info in data["steps"].items()}


def snapshot(client, build_run) -> dict[str, object]:
    """Flat {'params.matmul.steps': ..., 'metrics.matmul.max_abs_rate_error': ...} of a build."""
    out: dict[str, object] = {f"params.{k}": v for k, v in build_run.data.params.items()}
    for step, run_id in sorted(build_steps(client, build_run).items()):
        run = client.get_run(run_id)
        for key, value in run.data.metrics.items():
            if not key.startswith("time."):  # timings always differ; they are not results
                out[f"metrics.{step}.{key}"] = value
    return out


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    return a == b


def diff_rows(a: dict, b: dict) -> list[tuple[str, object, object, str]]:
    rows = []
    for key in sorted(set(a) | set(b)):
        va, vb = a.get(key, "–"), b.get(key, "–")
        if _same(va, vb):
            continue
        change = ""
        if (
            isinstance(va, float)
            and isinstance(vb, float)
            and math.isfinite(va)
            and math.isfinite(vb)
        ):
            change = f"{vb - va:+.4g}"
        rows.append((key, va, vb, change))
    return rows


def markdown(rows, name_a: str, name_b: str) -> str:
    def cell(v):
        return (f"{v:.6g}" if isinstance(v, float) else str(v)).replace("|", "\\|")

    lines = [f"| key | {name_a} | {name_b} | change |", "|---|---|---|---|"]
    lines += [f"| {k} | {cell(a)} | {cell(b)} | {c} |" for k, a, b, c in rows]
    if not rows:
        lines.append("| (no differences) | | | |")
    return "\n".join(lines) + "\n"


def compare(
    uri: str, experiment: str, build_a: str | None = None, build_b: str | None = None
) -> str:
    """Markdown diff of two builds (default: the previous and the latest)."""
    client, exp_id = open_client(uri, experiment)
    if build_a is None or build_b is None:
        builds = list_builds(client, exp_id, max_results=2)
        if len(builds) < 2:
            raise SystemExit(
                f"need two finished builds in experiment {experiment!r} at {redact(uri)}; "
                f"found {len(builds)}"
            )
        run_b, run_a = builds[0], builds[1]
    else:
        run_a, run_b = client.get_run(build_a), client.get_run(build_b)
    rows = diff_rows(snapshot(client, run_a), snapshot(client, run_b))
    return markdown(rows, f"A {run_a.info.run_id[:8]}", f"B {run_b.info.run_id[:8]}")
