"""Checks run when the workflow starts, before any job: can results/ be written at all?

A read-only or full results/ would otherwise show up as a failed job with an OS traceback (or as
Snakemake's "write-protected output" error). Checked once at parse time, they stop the run with
one line that says what to do, and nothing is touched.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

MIN_FREE_MB = float(os.environ.get("LNPAPER_MIN_FREE_MB", "50"))  # a full build writes ~20 MB

# Snakemake invocations that write no output: no check (a dry run on a read-only copy is fine).
READ_ONLY_FLAGS = {
    "-n",
    "--dry-run",
    "--dryrun",
    "--lint",
    "--unlock",
    "--summary",
    "-S",
    "--detailed-summary",
    "-D",
    "--list",
    "-l",
    "--dag",
    "--rulegraph",
    "--filegraph",
    "--list-changes",
    "--lc",
    "--cleanup-metadata",
    "--report",
    "--list-rules",
    "--list-target-rules",
    "--lt",
    "--containerize",
    "--archive",
}


def export_src_for_jobs(basedir: str | os.PathLike) -> None:
    """Put the workflow's src/ first on PYTHONPATH: jobs (script processes) inherit it, so they run
    the src/ files the rules list as inputs, even where another checkout is pip-installed."""
    src = str(Path(basedir) / "src")
    rest = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p and p != src]
    os.environ["PYTHONPATH"] = os.pathsep.join([src, *rest])


def writes_outputs(argv: list[str]) -> bool:
    for arg in argv[1:]:
        if arg in READ_ONLY_FLAGS or arg.split("=")[0] in READ_ONLY_FLAGS:
            return False
        if arg.startswith("-") and not arg.startswith("--") and "n" in arg[1:]:
            return False  # combined short flags such as -np
    return True


def check_results_dir(
    results: str | os.PathLike = "results", min_free_mb: float = MIN_FREE_MB
) -> str | None:
    """None if ``results`` (or the folder it will be created in) takes writes; else one line."""
    results = Path(results)
    probe = results if results.exists() else results.parent.resolve()
    try:
        fd, name = tempfile.mkstemp(prefix=".lnpaper-probe.", dir=probe)
        os.close(fd)
        os.unlink(name)
    except OSError as exc:
        return (
            f"{results}/ is not writable ({exc.strerror}); make it writable (remount read-write, "
            f"chmod u+w, chattr -i) or run from a writable copy, then rerun snakemake. "
            f"Nothing was changed"
        )
    free_mb = shutil.disk_usage(probe).free / 2**20
    if free_mb < min_free_mb:
        return (
            f"only {free_mb:.1f} MB free under {results}/ (a build needs about "
            f"{min_free_mb:.0f} MB; set LNPAPER_MIN_FREE_MB to change this check); free space or "
            f"move {results}/ to a bigger disk, then rerun snakemake. Nothing was changed"
        )
    return None
