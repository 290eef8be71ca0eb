"""A build's identity: one results folder is one build.

The tracking step tags every run it creates with the id kept in ``results/tracking/build_id.json``
(``paths.TRACKING_ID``). The file is written once, the first time a folder's build is logged, and
is not an output of any rule: Snakemake deletes a job's outputs before it reruns the job and after
it fails, and the id must outlive both (a forced rerun of the tracking step, a rerun after a crash
or a store outage re-log the same build). Removing the results folder (``make clean-results``)
starts a new build.

The file also records a digest of the folder's absolute path. A copy of the folder (``cp -r``,
another clone's results copied in, a folder moved elsewhere) therefore finds a file that is not
its own and starts a build of its own, which ``continues`` the one it was copied from: its step
runs may be reused (their manifests are the same bytes), its build run is never touched. No path
is written: results folders travel in bundles.
"""

from __future__ import annotations

import hashlib
import json
import logging
import uuid
from pathlib import Path

from lnpaper.pipeline import io

log = logging.getLogger("lnpaper.tracking")

MAX_CONTINUES = 8  # ancestors whose step runs a copied folder may reuse (a chain of copies)


def folder_digest(folder: Path) -> str:
    return hashlib.sha256(str(Path(folder).resolve()).encode()).hexdigest()[:16]


def build_identity(id_file: str | Path) -> dict:
    """{build_id, folder, continues} of the results folder holding ``id_file``; created (or, for a
    copied folder, replaced by a new id that continues the old one) when it is not this folder's."""
    id_file = Path(id_file)
    here = folder_digest(id_file.parent)
    old = None
    if id_file.exists():
        try:
            old = io.read_json(id_file)
            if not isinstance(old, dict) or not isinstance(old.get("build_id"), str):
                raise ValueError("no build_id")
        except (ValueError, json.JSONDecodeError) as exc:  # damaged: this folder starts anew
            log.warning("ignoring unreadable %s (%s): a new build id is created", id_file, exc)
            old = None
    if old is not None and old.get("folder") == here:
        return old
    continues = [old["build_id"], *old.get("continues", [])][:MAX_CONTINUES] if old else []
    identity = {"build_id": uuid.uuid4().hex, "folder": here, "continues": continues}
    io.write_json(identity, id_file)  # atomic: a kill leaves the old file or the new one
    if old is not None:
        log.info(
            "results folder copied or moved: build %s continues %s",
            identity["build_id"],
            continues[0],
        )
    return identity
