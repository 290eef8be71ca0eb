"""What a build prints: a short summary at the end, one line on failure, the long job listings
in Snakemake's log file only.

The default profile sets ``quiet: [host, rules]``, so the console does not list every job
with its inputs (up to 100 files each); :func:`keep_full_log` makes Snakemake's log file under
``.snakemake/log/`` keep those listings all the same (``snakemake --quiet host`` shows them on
the console). The Snakefile's ``onsuccess``/``onerror`` handlers print :func:`success_summary`
and :func:`failure_line`.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from lnpaper.pipeline import paths

DEFAULT_UI = "http://127.0.0.1:5000"
VERDICT_ORDER = ("holds", "holds_only_if", "fails", "inconclusive", "not_measured")
SEE_JOBS = "snakemake --quiet host lists every job"


def keep_full_log(logger_manager) -> bool:
    """Let Snakemake's log file keep what ``quiet`` hides from the console (job listings,
    progress, errors). True when done; False (the log file then follows ``quiet`` too) where
    this Snakemake's logging differs from the one this was written for (9.x)."""
    try:
        handlers = list(logger_manager.logfile_handlers)
        for handler in handlers:
            for part in [*handler.filters, handler.formatter]:
                if hasattr(part, "quiet"):
                    part.quiet = set()
        return bool(handlers)
    except Exception:  # noqa: BLE001 - internal API: degrade to Snakemake's own behaviour
        return False


def _read_json(path: Path) -> dict | None:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def jobs_finished(log_text: str) -> Counter:
    """rule -> how many of its jobs finished, from Snakemake's log (the target rule left out)."""
    found = re.findall(r"Finished jobid: \d+ \(Rule: (\w+)\)", log_text)
    return Counter(r for r in found if r != "all")


def jobs_from_cache(log_text: str) -> int:
    """How many finished jobs Snakemake served from the results cache instead of running: every
    cached job writes one manifest, so the manifests it linked or copied from the cache count
    them (``Symlinking output file results/manifests/<step>.json from cache.``)."""
    found = re.findall(r"output file (\S+) from cache\.", log_text)
    manifests = paths.manifest_file("")[: -len(".json")]
    return len({f for f in found if f.startswith(manifests) and f.endswith(".json")})


def verdict_counts(claims_csv: Path) -> dict[str, int]:
    """verdict -> number of claims, from the claims table (empty if it is absent)."""
    try:
        lines = claims_csv.read_text(encoding="utf-8")
    except OSError:
        return {}
    import csv
    import io

    return dict(Counter(row["verdict"] for row in csv.DictReader(io.StringIO(lines))))


def public_url(uri: str) -> str:
    """``uri`` without user name and password."""
    parts = urlsplit(uri)
    if parts.username is None and parts.password is None:
        return uri
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def runs_page(ui: str, experiment_id: str) -> str:
    """The experiment's runs table in MLflow's model-training view. MLflow 3.17's UI picks the
    view from the ``workflowType`` query (else the browser's last choice, GenAI at first) and
    ignores the experiment's ``mlflow.experimentKind`` tag: ``#/experiments/<id>`` alone opens
    the GenAI overview, with no runs on it."""
    return f"{ui.rstrip('/')}/#/experiments/{experiment_id}/runs?workflowType=machine_learning"


def mlflow_line(build: dict, ui_url: str | None = None) -> str:
    """Where this build's runs are (see :func:`runs_page`), and the store to open locally."""
    uri = build.get("tracking_uri", "")
    exp = build.get("experiment_id", "")
    if uri.startswith("http"):
        return runs_page(public_url(uri), exp)
    store = f" (mlflow ui --backend-store-uri {uri})" if uri else ""
    return runs_page(ui_url or DEFAULT_UI, exp) + store


def _names(names, limit: int = 8) -> str:
    names = list(names)
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


def read_logs(log_files: list[str] | tuple[str, ...]) -> str:
    """The text of Snakemake's log files, the unreadable ones left out."""
    text = ""
    for path in log_files:
        try:
            text += Path(path).read_text(encoding="utf-8", errors="replace")
        except OSError:
            pass
    return text


def success_summary(
    root: Path | str = ".",
    log_files: list[str] | tuple[str, ...] = (),
    started: float = 0.0,
    ui_url: str | None = None,
    mlflow_enabled: bool = True,
) -> str:
    """The lines printed at the end of a build that ran jobs (Snakemake's ``onsuccess``)."""
    root = Path(root)
    log_text = read_logs(log_files)
    ran, cached = jobs_finished(log_text), jobs_from_cache(log_text)
    manuscript = root / paths.manuscript_file("")
    lines = ["", "build summary"]
    lines.append(f"  paper:   {paths.manuscript_file('paper.html')} (.pdf, .docx beside it)")
    if (manuscript / "bundle.zip").exists():
        lines.append(f"  bundle:  {paths.manuscript_file('bundle.zip')}")
    steps = f"  steps:   {sum(ran.values())} job(s) ran"
    if ran:
        steps += f" ({_names(r if ran[r] == 1 else f'{r} x{ran[r]}' for r in sorted(ran))})"
    if cached:
        steps += f", {cached} of them served from the results cache"
    build_path = root / paths.TRACKING_BUILD
    build = _read_json(build_path) if mlflow_enabled else None
    fresh = build is not None and build_path.stat().st_mtime >= started
    if fresh:
        reused = [s for s, v in build.get("steps", {}).items() if v.get("reused")]
        steps += f"; {len(reused)} step(s) reused from earlier builds"
    lines.append(steps)
    counts = verdict_counts(root / paths.table_file("claims", "csv"))
    if counts:
        order = [v for v in VERDICT_ORDER if v in counts] + sorted(set(counts) - set(VERDICT_ORDER))
        lines.append("  claims:  " + ", ".join(f"{counts[v]} {v}" for v in order))
    if fresh and "metrics" in build:
        flips = build.get("claims_changed", [])
        numbers = build["metrics"].get("changed.numbers")
        if "changed.verdicts" not in build["metrics"]:
            lines.append("  changed: (first build in this store: nothing to compare with)")
        else:
            what = f"{int(numbers)} quoted number(s)" if numbers is not None else ""
            flipped = "; ".join(f"{c}: {old} -> {new}" for c, old, new in flips)
            lines.append(
                f"  changed: {what or 'numbers unknown'}, {len(flips)} verdict(s)"
                + (f" ({flipped})" if flips else "")
                + " since the previous build"
            )
    if build is not None:
        lines.append(f"  mlflow:  {mlflow_line(build, ui_url)}")
        lines.append("           lnpaper compare: what differs from the previous build")
    if log_files:
        lines.append(f"  log:     {log_files[0]} ({SEE_JOBS})")
    return "\n".join(lines)


def failed_jobs(log_text: str) -> list[tuple[str, str | None]]:
    """(rule, its log file or None) of each "Error in rule" block in Snakemake's log."""
    out = []
    blocks = re.split(r"\n(?=\S)", log_text)
    for block in blocks:
        m = re.match(r"Error in rule (\w+):", block.strip())
        if not m:
            continue
        log = re.search(r"^\s+log: (\S+?)(?:,| \(| *$)", block, re.MULTILINE)
        out.append((m.group(1), log.group(1) if log else None))
    return out


def failure_line(log_files: list[str] | tuple[str, ...] = ()) -> str:
    """One line naming the failed step(s) and their logs (Snakemake's ``onerror``)."""
    failed = failed_jobs(read_logs(log_files))
    where = f"; full log {log_files[0]}" if log_files else ""
    if not failed:
        return f"build failed{where}"
    steps = ", ".join(f"{rule} (log: {log})" if log else rule for rule, log in failed)
    return f"build failed in step {steps}{where}"
