"""One edit per layer of src/lnpaper, and the jobs it must rerun on the tiny build, no more: each
rule lists as input exactly the files its script can import (lnpaper.pipeline.deps)."""

from __future__ import annotations

import os
import shutil

import pytest

from conftest import copy_workflow, snakemake
from test_reruns import downstream
from test_workflow import scheduled_jobs

pytestmark = pytest.mark.slow

EDITS = {
    # pipeline: the registry (experiments, tables, figures) is read by every report job
    "pipeline/registry.py": {
        "claims": 1,
        "figure": 10,
        "table": 14,
        "numbers": 1,
        "runtime": 1,
        "track": 1,
        "manuscript": 1,
    },
    # experiments: one experiment and everything built from it
    "experiments/affine.py": "affine",
    # report: the training claims feed the claims table (and the verdict counts the text
    # quotes); the figures module draws every figure
    "report/claims_training.py": {
        "claims": 1,
        "numbers": 1,
        "runtime": 1,
        "track": 1,
        "manuscript": 1,
    },
    "report/figures.py": {"figure": 10, "runtime": 1, "track": 1, "manuscript": 1},
    # manuscript: only the manuscript renders again
    "manuscript/render.py": {"manuscript": 1},
    # tracking: the tracking step, and the manuscript that quotes its run ids
    "tracking/store.py": {"track": 1, "manuscript": 1},
}


@pytest.fixture(scope="module")
def built_copy(tiny_build, tmp_path_factory):
    """The tiny build's results and Snakemake metadata, in a copy each edit can dirty."""
    work = copy_workflow(tmp_path_factory.mktemp("edits"))
    shutil.copytree(tiny_build[0] / "results", work / "results")
    shutil.copytree(tiny_build[0] / ".snakemake", work / ".snakemake")
    return work


@pytest.mark.parametrize("module", sorted(EDITS))
def test_code_change_reruns_only_its_rules(built_copy, module):
    path = built_copy / "src/lnpaper" / module
    original, stat = path.read_text(), path.stat()
    try:
        path.write_text(original + "\n# edited\n")
        proc = snakemake(built_copy, "-n", "--cores", "4", "--configfile", "tiny.yaml")
    finally:  # the copy is shared by the edits: restore the file and its time stamp
        path.write_text(original)
        os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    expected = EDITS[module]
    if isinstance(expected, str):
        expected = downstream(built_copy, [expected])
    assert scheduled_jobs(proc) == expected
