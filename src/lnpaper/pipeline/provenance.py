"""Who produced a result: library versions, host, git state. Cheap: no heavy imports."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from importlib import metadata

TRACKED_PACKAGES = (
    "torch",
    "numpy",
    "pandas",
    "pyarrow",
    "matplotlib",
    "snakemake",
    "mlflow",
    "scikit-learn",
    "scipy",
)


@functools.cache
def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out


@functools.cache
def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def host_info() -> dict[str, str]:
    return {
        "platform": platform.platform(),
        "host": platform.node(),
        "cpu": cpu_model(),
        "executable": sys.executable,
    }


def git_state(cwd: str = ".") -> dict[str, str]:
    """Commit and dirty flag of the repository at cwd ('unknown' outside git)."""

    def git(*args):
        return subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10
        ).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD") or "unknown"
        dirty = bool(git("status", "--porcelain", "--untracked-files=no"))
    except (OSError, subprocess.SubprocessError):
        return {"commit": "unknown", "dirty": "unknown"}
    return {"commit": commit, "dirty": str(dirty).lower()}
