"""Compare two builds logged in MLflow, leading with what a researcher changed and what it changed:
the config params that differ, then the science metrics that differ, then the claim verdicts;
step timings (which differ in every build) only when asked. Markdown tables (like
``dvc exp diff --md``), for pull requests and lab notebooks.

Builds are named as ``lnpaper builds`` prints them: a run id or a unique prefix of one, or
``latest`` / ``previous``. A name that matches no build, or several, is a TrackingError whose
message is one line.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime

from lnpaper.pipeline.credentials import redact
from lnpaper.tracking.build_metrics import build_json, build_steps
from lnpaper.tracking.store import TAG, TrackingError, open_client

__all__ = ["build_json", "build_steps", "compare", "builds_table", "list_builds", "resolve"]

# the sections of a comparison, in the order they are printed; timings only on request
SECTIONS = ("config", "metrics", "verdicts", "timings")
TITLES = {
    "config": "Config",
    "metrics": "Science metrics",
    "verdicts": "Claim verdicts",
    "timings": "Timings",
}
ALIASES = {"latest": 0, "previous": 1}
SHORT = 8  # the shortest id prefix printed


def list_builds(client, exp_id: str, max_results: int = 1000):
    """FINISHED build runs, newest first."""
    return client.search_runs(
        [exp_id],
        f"tags.`{TAG}.kind` = 'build' and attributes.status = 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=max_results,
    )


def short_id(run_id: str, others: list[str]) -> str:
    """The shortest prefix of ``run_id`` (at least SHORT characters) no other id starts with."""
    n = SHORT
    while n < len(run_id) and any(o != run_id and o.startswith(run_id[:n]) for o in others):
        n += 1
    return run_id[:n]


def resolve(builds, ref: str):
    """The build run ``ref`` names among ``builds`` (newest first): ``latest``, ``previous``, a
    full run id or a unique prefix of one."""
    if ref in ALIASES:
        i = ALIASES[ref]
        if i >= len(builds):
            raise TrackingError(f"there is no {ref} build: the store holds {len(builds)} build(s)")
        return builds[i]
    key = ref.strip().lower()
    found = [r for r in builds if key and r.info.run_id.startswith(key)]
    if len(found) == 1:
        return found[0]
    if not found:
        raise TrackingError(
            f"no build {ref!r} in the store; `lnpaper builds` lists the builds "
            "(use an id it prints, a unique prefix, latest or previous)"
        )
    ids = [r.info.run_id for r in builds]
    names = ", ".join(short_id(r.info.run_id, ids) for r in found[:5])
    raise TrackingError(f"{ref!r} names {len(found)} builds ({names}); give more characters")


def claim_verdicts(client, claims_run_id: str) -> dict[str, str]:
    """claim id -> verdict from the claims table a step run logged ({} where it has none)."""
    import tempfile

    import pandas as pd

    with tempfile.TemporaryDirectory() as tmp:
        try:
            path = client.download_artifacts(claims_run_id, "table/claims.csv", tmp)
        except Exception:  # noqa: BLE001 - an older store or another layout: no per-claim rows
            return {}
        frame = pd.read_csv(path)
    return dict(zip(frame["claim_id"].astype(str), frame["verdict"].astype(str), strict=True))


def section_of(key: str) -> str:
    """Which section a snapshot key belongs to (see SECTIONS)."""
    if key.startswith("params."):
        return "config"
    if key.startswith("verdict.") or ".verdict." in key:
        return "verdicts"
    if key.startswith("metrics.runtime.") or ".time." in key:
        return "timings"
    return "metrics"


def snapshot(client, build_run, cache: dict | None = None) -> dict[str, object]:
    """Flat {'params.affine.gamma': ..., 'metrics.affine.max_abs_mean_error': ...,
    'verdict.<claim id>': ..., 'metrics.matmul.time.wall_s': ...} of a build."""
    cache = {} if cache is None else cache
    out: dict[str, object] = {f"params.{k}": v for k, v in build_run.data.params.items()}
    for step, run_id in sorted(build_steps(client, build_run).items()):
        if run_id not in cache:  # a step reused by both builds is read once
            cache[run_id] = client.get_run(run_id).data.metrics
            if step == "table_claims":
                cache[run_id + "/claims"] = claim_verdicts(client, run_id)
        for key, value in cache[run_id].items():
            out[f"metrics.{step}.{key}"] = value
        for claim, verdict in cache.get(run_id + "/claims", {}).items():
            out[f"verdict.{claim}"] = verdict
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


def sectioned(rows) -> dict[str, list]:
    """The rows of each section, in SECTIONS order (rows keep their order within a section)."""
    out: dict[str, list] = {s: [] for s in SECTIONS}
    for row in rows:
        out[section_of(row[0])].append(row)
    return out


def markdown(rows, name_a: str, name_b: str) -> str:
    def cell(v):
        return (f"{v:.6g}" if isinstance(v, float) else str(v)).replace("|", "\\|")

    lines = [f"| key | {name_a} | {name_b} | change |", "|---|---|---|---|"]
    lines += [f"| {k} | {cell(a)} | {cell(b)} | {c} |" for k, a, b, c in rows]
    if not rows:
        lines.append("| (no differences) | | | |")
    return "\n".join(lines) + "\n"


def report(rows, name_a: str, name_b: str, timings: bool = False) -> str:
    """The comparison as Markdown: one table per section that has differences, config first;
    the timings section only when ``timings``, else one line saying how many were left out."""
    parts = sectioned(rows)
    out = []
    for section in SECTIONS:
        got = parts[section]
        if section == "timings" and not timings:
            if got:
                out.append(f"{len(got)} timing(s) differ too; `--timings` lists them.\n")
            continue
        if section in ("config", "verdicts") or got:  # "nothing changed" is news there too
            out.append(f"## {TITLES[section]}\n\n{markdown(got, name_a, name_b)}")
    return "\n".join(out)


def _when(run) -> str:
    return datetime.fromtimestamp(run.info.start_time / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def _commit(run) -> str:
    tags = run.data.tags
    commit = tags.get(f"{TAG}.git_commit", "")[:8] or "–"
    return commit + ("+dirty" if tags.get(f"{TAG}.git_dirty") == "true" else "")


def compare(
    uri: str,
    experiment: str,
    build_a: str | None = None,
    build_b: str | None = None,
    timings: bool = False,
) -> str:
    """Markdown diff of two builds (default: the previous and the latest)."""
    client, exp_id = open_client(uri, experiment)
    builds = list_builds(client, exp_id)
    if build_a is None and build_b is None:
        if len(builds) < 2:
            raise TrackingError(
                f"need two finished builds in experiment {experiment!r} at {redact(uri)}; "
                f"found {len(builds)}"
            )
        build_a, build_b = "previous", "latest"
    elif build_b is None:  # one name: compare it with the latest build
        build_b = "latest"
    run_a, run_b = resolve(builds, build_a), resolve(builds, build_b)
    ids = [r.info.run_id for r in builds]
    name_a, name_b = (
        f"{x} {short_id(r.info.run_id, ids)}" for x, r in (("A", run_a), ("B", run_b))
    )
    cache: dict = {}
    rows = diff_rows(snapshot(client, run_a, cache), snapshot(client, run_b, cache))
    head = "\n".join(
        f"- {name}: {_when(r)} UTC, commit {_commit(r)}, config "
        f"{r.data.tags.get(f'{TAG}.config_hash', '–')}"
        for name, r in ((name_a, run_a), (name_b, run_b))
    )
    return f"{head}\n\n{report(rows, name_a, name_b, timings)}"


def config_changes(a_params: dict, b_params: dict) -> list[str]:
    """The config keys whose values differ between two builds' params."""
    return [k for k in sorted(set(a_params) | set(b_params)) if a_params.get(k) != b_params.get(k)]


def what_differed(run, before) -> str:
    """One cell: what differed from the build before (config keys, commit), or "–"."""
    if before is None:
        return "(first build)"
    keys = config_changes(before.data.params, run.data.params)
    parts = []
    if keys:
        shown = ", ".join(keys[:4]) + (f" +{len(keys) - 4} more" if len(keys) > 4 else "")
        parts.append(f"config: {shown}")
    if _commit(run) != _commit(before):
        parts.append(f"commit {_commit(before)} → {_commit(run)}")
    return "; ".join(parts) or "no config or commit change"


def builds_table(uri: str, experiment: str, limit: int = 10) -> str:
    """Markdown table of the newest ``limit`` builds: id (as compare accepts it), start time,
    commit, config digest, what differed from the build before."""
    client, exp_id = open_client(uri, experiment)
    builds = list_builds(client, exp_id)
    if not builds:
        raise TrackingError(f"no finished build in experiment {experiment!r} at {uri}")
    ids = [r.info.run_id for r in builds]
    lines = [
        "| id | started (UTC) | commit | config | changed from the build before |",
        "|---|---|---|---|---|",
    ]
    for i, run in enumerate(builds[:limit]):
        before = builds[i + 1] if i + 1 < len(builds) else None
        name = short_id(run.info.run_id, ids)
        alias = {0: " (latest)", 1: " (previous)"}.get(i, "")
        lines.append(
            f"| {name}{alias} | {_when(run)} | {_commit(run)} | "
            f"{run.data.tags.get(f'{TAG}.config_hash', '–')} | "
            f"{what_differed(run, before).replace('|', '/')} |"
        )
    more = len(builds) - limit
    tail = f"\n{more} older build(s) not shown (--limit).\n" if more > 0 else ""
    return "\n".join(lines) + "\n" + tail
