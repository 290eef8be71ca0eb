"""Atomic, deterministic file writes: a killed job never leaves a half-written output behind.

Every writer goes to a temporary name in the destination folder, then ``os.replace`` renames
it, so readers see either the old file or the complete new one. ``mkstemp`` creates that name
with mode 0600 (private to its owner); before the rename it gets the mode an ordinary ``open``
would give, 0666 minus the umask (0644 under umask 022), so group members, web servers and
cluster jobs under other users can read the results as they can any other file.
"""

from __future__ import annotations

import contextlib
import errno
import glob
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

from lnpaper.pipeline.faults import pause_point

# What to do when the disk refuses a write (the message is all the user sees of it).
_REMEDY = {
    errno.ENOSPC: "the disk is full: free space (or move results/ to a bigger disk) and rerun snakemake",
    errno.EDQUOT: "the disk quota is used up: free space and rerun snakemake",
    errno.EROFS: "the file system is read-only: remount it read-write (or run from a writable copy) "
    "and rerun snakemake",
    errno.EACCES: "permission denied: make the folder writable (chmod u+w) and rerun snakemake",
    errno.EPERM: "operation not permitted (immutable file?): make it writable (chattr -i) and rerun "
    "snakemake",
}


def current_umask() -> int:
    """The process umask, read without changing it where Linux exposes it (os.umask can only be
    read by setting it, which races with threads creating files)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open(path, "w")`` gives a new file: 0666 minus the umask."""
    return 0o666 & ~current_umask()


class OutputWriteError(OSError):
    """An output could not be written; the message names the file and the remedy."""


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` only if the block succeeds."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # a writer killed (SIGKILL, power loss) before its rename leaves its temporary file; the
        # rule that owns ``path`` is the only writer of these names, so they are safe to remove
        for stale in path.parent.glob(f".{glob.escape(path.name)}.*.tmp"):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as exc:
        raise _write_error(path, exc) from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        try:
            yield tmp
            # after the writer: some writers replace the temporary file instead of reusing it
            os.chmod(tmp, file_mode())
            pause_point(path.name)  # test-only hook (inert by default), see lnpaper.faults
            os.replace(tmp, path)
        except OSError as exc:
            raise _write_error(path, exc) from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()


def _write_error(path: Path, exc: OSError) -> OSError:
    if exc.errno not in _REMEDY:
        return exc
    return OutputWriteError(
        exc.errno,
        f"cannot write {path}: {exc.strerror}; {_REMEDY[exc.errno]}. "
        f"Nothing was half-written: the previous version of this file, if "
        f"any, is unchanged",
    )


def write_parquet(df: pd.DataFrame, path: str | os.PathLike) -> None:
    """Parquet without the pandas index; same frame, same bytes."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False, engine="pyarrow", compression="zstd")


class DamagedFileError(ValueError):
    """An intermediate file that cannot be read back; the message names it and the remedy."""


def _damaged(path, what: str, exc: Exception) -> DamagedFileError:
    cause = " ".join(str(exc).split())[:200]
    return DamagedFileError(
        f"{path} is damaged (not a readable {what}: {cause}); delete it and rerun snakemake to "
        f"rebuild it"
    )


def read_parquet(path: str | os.PathLike) -> pd.DataFrame:
    import pyarrow as pa

    try:
        return pd.read_parquet(path, engine="pyarrow")
    except pa.ArrowException as exc:  # the start of the workflow names it first (inputs.py)
        raise _damaged(path, "Parquet file", exc) from None


def write_text(text: str, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def write_bytes(data: bytes, path: str | os.PathLike) -> None:
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_json(obj: object, path: str | os.PathLike) -> None:
    write_text(json.dumps(obj, indent=2, sort_keys=True, default=str) + "\n", path)


def read_json(path: str | os.PathLike) -> object:
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise _damaged(path, "JSON file", exc) from None


def file_digest(path: str | os.PathLike) -> str:
    """sha256 of a file's bytes, hex."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
