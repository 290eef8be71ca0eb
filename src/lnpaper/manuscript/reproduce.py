"""What bundle.zip carries so that a second person can rebuild the paper and check it.

``LAYOUT`` is the one declaration of where each part lies in the zip; ``lnpaper verify`` reads
the bundle through it and anything else that adds files to the bundle declares them here.

- the commit the paper was built from and whether the tree was clean (a paper built from
  uncommitted changes cannot be rebuilt: ``lnpaper verify`` refuses it), and the ``git archive``
  of that commit;
- the resolved config, the tracking URI's credentials removed (``pipeline.credentials``);
- the lock file of the environment;
- the science Parquet files themselves (``data/<experiment>/<output>.parquet``): a reader opens
  the data behind every table without running anything;
- every table as CSV (the claims table with its verdicts among them; ``tables/<name>.csv``);
- the machine the paper was built on: CPU model, core count, OS, Python and library versions,
  the CPU kernel path torch dispatched to and the variables that choose it (no host name, user
  or path): training amplifies rounding, so another CPU gives other digits;
- ``digests.json``: the SHA-256 of every file, of every quoted number, and of each row and
  column of every table and science file, so that an edit of one cell is found and named.
"""

from __future__ import annotations

import hashlib
import io as _io
import json
import os
import platform
import subprocess
from pathlib import Path

import numpy as np
import pandas as pd

LAYOUT = {
    "commit": "reproduce/commit.json",
    "source": "reproduce/source.tar.gz",
    "config": "reproduce/config.yaml",
    "lock": "reproduce/requirements.lock",
    "machine": "reproduce/machine.json",
    "digests": "reproduce/digests.json",
    "science": "data/{ref}.parquet",  # ref: <experiment>/<output>
    "table": "tables/{name}.csv",
    "numbers": "numbers.json",
    "article": "article.xml",  # the article as JATS XML (lnpaper.manuscript.jats)
}
# the variables that choose torch's, MKL's and OpenBLAS's CPU kernels
KERNEL_VARIABLES = ("ATEN_CPU_CAPABILITY", "MKL_ENABLE_INSTRUCTIONS", "OPENBLAS_CORETYPE")
ROW_BLOCK = 256  # rows per digest of a science file (tables: one digest per row)


def science_name(ref: str) -> str:
    return LAYOUT["science"].format(ref=ref)


def science_ref(name: str) -> str | None:
    """``<experiment>/<output>`` of a science file's name in the bundle, else None."""
    head, _, tail = LAYOUT["science"].partition("{ref}")
    if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail):
        return name[len(head) : len(name) - len(tail)]
    return None


# ---------------------------------------------------------------- the build's record


def machine_record() -> dict:
    """The CPU, OS and software a build ran on; nothing that names the host, a user or a path."""
    from lnpaper.pipeline.provenance import cpu_model, versions

    try:
        import torch

        capability = torch.backends.cpu.get_cpu_capability()
    except (ImportError, AttributeError):
        capability = "unknown"
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count() or 0,
        "os": f"{platform.system()} {platform.release()}",
        "machine": platform.machine(),
        "versions": versions(),
        "torch_cpu_capability": capability,
        "kernel_variables": {k: os.environ.get(k, "") for k in KERNEL_VARIABLES},
    }


def same_kernels(a: dict, b: dict) -> bool:
    """Whether two machine records run the same CPU model and kernel paths (then two builds of
    one commit agree byte for byte)."""
    keys = ("cpu", "torch_cpu_capability", "kernel_variables")
    return all(a.get(k) == b.get(k) for k in keys)


def git_archive(root: Path, commit: str) -> bytes | None:
    """``git archive`` of ``commit`` (the whole tree, from any folder of the checkout
    ``root``) as tar.gz; None when there is no such commit."""
    try:
        top = subprocess.run(
            ["git", "rev-parse", "--show-toplevel"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.strip()
        proc = subprocess.run(
            ["git", "archive", "--format=tar.gz", commit],
            cwd=top or root,
            capture_output=True,
            timeout=120,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return proc.stdout if proc.returncode == 0 and proc.stdout else None


# ---------------------------------------------------------------- digests


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def number_digest(name: str, value, text: str) -> str:
    """Digest of one quoted number: its name, value (as JSON writes it) and printed text."""
    return sha256(json.dumps([name, value, text], ensure_ascii=False).encode())


def _column_hashes(column: pd.Series) -> np.ndarray:
    """One 64-bit hash per value of a column (exact: floats by their bits); a column of values
    pandas cannot hash (lists) by their text."""
    try:
        return pd.util.hash_pandas_object(column, index=False).to_numpy()
    except TypeError:
        return pd.util.hash_pandas_object(column.map(str), index=False).to_numpy()


def frame_digests(frame: pd.DataFrame, block: int = 1) -> dict:
    """Digests of each column and of each row (or block of ``block`` rows) of a frame: one
    changed cell shows as one column and one row whose digests differ. Vectorised (pandas'
    hashing): the default build's 600 000-row science files take well under a second."""
    hashes = {str(c): _column_hashes(frame[c]) for c in frame.columns}
    columns = {c: sha256(h.tobytes())[:16] for c, h in hashes.items()}
    if hashes:
        table = np.stack(list(hashes.values()), axis=1)  # rows x columns
    else:
        table = np.zeros((len(frame), 0), dtype=np.uint64)
    rows = [sha256(table[i : i + block].tobytes())[:16] for i in range(0, len(table), block)]
    return {"columns": columns, "rows": rows, "block": block}


def file_frame(name: str, data: bytes) -> pd.DataFrame | None:
    """The frame of a bundled table or science file, else None."""
    if name.endswith(".csv") and name.startswith("tables/"):
        return pd.read_csv(_io.BytesIO(data), dtype=str, keep_default_na=False)
    if science_ref(name) is not None:
        return pd.read_parquet(_io.BytesIO(data))
    return None


def digests(files: dict[str, bytes], numbers: dict) -> dict:
    """digests.json: SHA-256 of every file, every quoted number (``numbers``: numbers.json's
    "numbers"), and the row and column digests of each table and science file."""
    frames = {}
    for name, data in files.items():
        frame = file_frame(name, data)
        if frame is not None:
            block = ROW_BLOCK if science_ref(name) is not None else 1
            frames[name] = frame_digests(frame, block)
    return {
        "files": {name: sha256(data) for name, data in sorted(files.items())},
        "numbers": {
            name: number_digest(name, n.get("value"), n.get("text", ""))
            for name, n in sorted(numbers.items())
        },
        "frames": frames,
    }


# ---------------------------------------------------------------- the files


def _bytes(content: Path | bytes) -> bytes:
    return content if isinstance(content, bytes) else Path(content).read_bytes()


def reproduce_files(
    files: dict[str, Path | bytes],
    *,
    config: dict,
    git: dict,
    root: Path,
    science: dict[str, str],
    lock: str | None,
) -> dict[str, bytes]:
    """The files ``LAYOUT`` adds to the bundle whose other files are ``files``: commit, source,
    config, lock file, machine, science files, and the digests of all of them together.

    ``config``: the resolved config, credentials already removed; ``git``: commit and dirty
    flag (``provenance.git_state``) of ``root``; ``science``: ``<experiment>/<output>`` -> its
    Parquet file; ``lock``: the lock file (None where the checkout has none)."""
    import yaml

    from lnpaper.pipeline.credentials import public_config

    commit = git.get("commit", "unknown")
    clean = git.get("dirty") == "false"
    out: dict[str, bytes] = {
        LAYOUT["commit"]: (
            json.dumps({"commit": commit, "clean": clean}, indent=2, sort_keys=True) + "\n"
        ).encode(),
        LAYOUT["config"]: yaml.safe_dump(public_config(config), sort_keys=True).encode(),
        LAYOUT["machine"]: (json.dumps(machine_record(), indent=2, sort_keys=True) + "\n").encode(),
    }
    source = git_archive(root, commit) if commit != "unknown" else None
    if source is not None:
        out[LAYOUT["source"]] = source
    if lock and Path(lock).is_file():
        out[LAYOUT["lock"]] = Path(lock).read_bytes()
    for ref, path in sorted(science.items()):
        out[science_name(ref)] = Path(path).read_bytes()
    everything = {name: _bytes(content) for name, content in files.items()}
    everything.update(out)
    numbers = json.loads(everything.get(LAYOUT["numbers"], b"{}")).get("numbers", {})
    out[LAYOUT["digests"]] = (
        json.dumps(digests(everything, numbers), indent=1, sort_keys=True) + "\n"
    ).encode()
    return out
