"""Inputs other than the config, checked before any job: the intermediate files under results/
that later steps read, and the folder itself (one build at a time).

Each problem is one line that names the culprit (a file, an argument) and what to do, so the
Snakefile prints it and stops with nothing touched. The manuscript's own text files are checked
by ``lnpaper.manuscript.template``.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import fcntl
import json
import os
import time
from pathlib import Path

from lnpaper.pipeline import io


class InputError(ValueError):
    """A bad input that is not a config value; the message is one line naming the culprit."""


# ---------------------------------------------------------------- damaged intermediate files

PARQUET_MAGIC = b"PAR1"


def parquet_damage(path: Path) -> str | None:
    """Why ``path`` cannot be a whole Parquet file (magic bytes at both ends, a footer that fits),
    or None. Reads 12 bytes: cheap enough for every start."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as fh:
            head = fh.read(4)
            if size < 12:
                return "truncated (shorter than a Parquet header and footer)"
            fh.seek(size - 8)
            tail = fh.read(8)
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    footer = int.from_bytes(tail[:4], "little")
    if head != PARQUET_MAGIC or tail[4:] != PARQUET_MAGIC or footer > size - 12:
        return "truncated or overwritten (no Parquet footer)"
    return None


def _incomplete(path: str, snakemake_dir: Path) -> bool:
    """Whether Snakemake marks ``path`` as the output of a job that did not finish (it reruns
    that job itself): a marker named by the path's urlsafe base64 under .snakemake/incomplete."""
    marker = base64.urlsafe_b64encode(path.encode()).decode()
    return (snakemake_dir / "incomplete" / marker).exists()


def damaged_outputs(
    results: str | os.PathLike = "results", snakemake_dir: str | os.PathLike = ".snakemake"
) -> str | None:
    """One line naming the first damaged intermediate file under ``results``, or None.

    Every step's manifest records the sha256 of what it wrote, and is written after its outputs.
    A file newer than its manifest was changed after its step finished (truncated, edited,
    copied over): its digest is compared. A Parquet file is also checked for its footer, which
    catches a truncation that kept the old modification time. A manifest that is not JSON is
    damaged itself. Outputs of an interrupted job are left to Snakemake, which reruns it."""
    results, snakemake_dir = Path(results), Path(snakemake_dir)
    manifests = results / "manifests"
    if not manifests.is_dir():
        return None
    remedy = "delete it and rerun snakemake to rebuild it (or rerun with --forcerun {step})"
    for manifest in sorted(manifests.glob("*.json")):
        step = manifest.stem
        try:
            doc = json.loads(manifest.read_text(encoding="utf-8"))
            outputs = {name: entry["path"] for name, entry in doc["outputs"].items()}
            digests = {name: entry["sha256"] for name, entry in doc["outputs"].items()}
            written = manifest.stat().st_mtime_ns
        except (OSError, UnicodeDecodeError, ValueError, KeyError, TypeError, AttributeError):
            return (
                f"{manifest} is damaged (not the JSON record step {step} writes); "
                + remedy.format(step=step)
            )
        for name, rel in outputs.items():
            path = Path(rel)
            if not path.is_file() or _incomplete(rel, snakemake_dir):
                continue  # missing or interrupted: Snakemake rebuilds it
            why = parquet_damage(path) if path.suffix == ".parquet" else None
            if why is None and path.stat().st_mtime_ns > written:
                if io.file_digest(path) != digests[name]:
                    why = "changed after its step wrote it (truncated or edited)"
            if why:
                return f"{path} is damaged: {why}; " + remedy.format(step=step)
    return None


# ---------------------------------------------------------------- one build per folder

_held: list = []  # the open lock file of this process, kept until it exits


def acquire_build_lock(path: str | os.PathLike) -> str | None:
    """Take the folder's build lock for the life of this process; None if taken, else one line
    saying a build is running there. Non-blocking; the kernel releases it when the process
    exits, however it ends, so a killed build leaves no stale lock."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)  # not inherited by job processes
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
            os.close(fd)
            raise
        holder = ""
        with contextlib.suppress(OSError):
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip()
        os.close(fd)
        since = f" ({holder})" if holder else ""
        return (
            f"a build is already running in this folder{since}; wait for it to finish (or stop "
            f"it), then rerun snakemake. Nothing was changed"
        )
    os.ftruncate(fd, 0)
    os.pwrite(fd, f"pid {os.getpid()}, started {time.strftime('%H:%M:%S')}".encode(), 0)
    _held.append(fd)
    return None
