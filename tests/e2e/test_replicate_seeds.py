"""Replicate seeds through Snakemake: the lean build (shared) copied and rebuilt with
``replicate_seeds: [43]`` runs only seed 43's data, experiments and claims audit and the steps
that read the claims table; seed 42's science files keep their bytes (none of its jobs reruns),
the claims table gains the seeds' columns and the paper says at how many seeds verdicts were
computed. A dry run of the tiny config shows a split experiment keeps its split per seed.
``replicate_kernels: [default]`` reruns them at seed 42 with torch held to its default kernels,
which the replicate's manifests record as torch reports them."""

from __future__ import annotations

import hashlib
import re
import shutil

import pandas as pd
import pytest

from conftest import snakemake
from lnpaper.pipeline import io, paths
from lnpaper.pipeline.kernels import kernel_replicate, seed_replicate
from lnpaper.report import replication

pytestmark = pytest.mark.slow

SEED = 43


def science_digests(work) -> dict:
    files = sorted((work / paths.RESULTS / "experiments").rglob("*.parquet"))
    files.append(work / paths.DATA)
    return {p.relative_to(work): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def dry_run_jobs(work, *args) -> dict[str, int]:
    out = snakemake(work, "-n", "--configfile", "tiny.yaml", *args).stdout
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", out, re.M)}


def test_a_replicate_seed_adds_its_own_jobs_and_leaves_seed_42s_bytes(lean_build, tmp_path):
    lean, _ = lean_build
    work = tmp_path / "lean"
    shutil.copytree(lean, work, symlinks=True)
    before = science_digests(work)
    plain_paper = (work / paths.manuscript_file("paper.md")).read_text(encoding="utf-8")
    proc = snakemake(work, "--configfile", "lean.yaml", "--config", f"replicate_seeds=[{SEED}]")
    assert science_digests(work) == before
    ran = set(re.findall(r"Rule: (\w+)\)", proc.stdout + proc.stderr))
    assert {"data_replicate", "matmul_replicate", "claims_replicate", "claims"} <= ran
    assert not ran & {"data", "matmul", "layernorm_stats", "precision", "affine"}
    root = paths.replicate_root(seed_replicate(SEED))
    ours = work / paths.experiment_file("matmul/growth", root)
    assert ours.read_bytes() != (work / paths.experiment_file("matmul/growth")).read_bytes()
    claims = pd.read_csv(work / paths.table_file("claims", "csv"))
    assert replication.replicated(claims) and set(claims["seeds"]) == {2}
    audit = pd.read_csv(work / paths.table_file("claims", "csv", root))
    assert list(audit["claim_id"]) == list(claims["claim_id"])
    k = (audit["verdict"].to_numpy() == claims["verdict"].to_numpy()) + 1
    assert list(claims["seeds_agree"]) == list(k)
    paper = (work / paths.manuscript_file("paper.md")).read_text(encoding="utf-8")
    assert "replicate_seeds" in paper and "replicate_seeds" not in plain_paper
    # the tiny config's split training: one part per unit and seed, one join per seed
    jobs = dry_run_jobs(work, "--config", f"replicate_seeds=[{SEED},44]")
    assert jobs["training_part_replicate"] == 2 * jobs["training_part"] > 0
    assert jobs["training_replicate"] == 2 and jobs["claims_replicate"] == 2
    added = sum(v for rule, v in jobs.items() if rule.endswith("_replicate"))
    assert dry_run_jobs(work)["total"] == jobs["total"] - added  # nothing else changes


def test_a_kernel_replicate_runs_torch_on_its_path_and_leaves_the_base_bytes(lean_build, tmp_path):
    lean, _ = lean_build
    work = tmp_path / "lean"
    shutil.copytree(lean, work, symlinks=True)
    before = science_digests(work)
    proc = snakemake(work, "--configfile", "lean.yaml", "--config", "replicate_kernels=[default]")
    assert science_digests(work) == before
    ran = set(re.findall(r"Rule: (\w+)\)", proc.stdout + proc.stderr))
    assert {"data_replicate", "matmul_replicate", "claims_replicate", "claims"} <= ran
    assert not ran & {"data", "matmul", "layernorm_stats", "precision", "affine"}
    root = paths.replicate_root(kernel_replicate("default"))
    # the variables were set before torch loaded: it dispatches to its default kernels
    for step in ("data", "matmul"):
        manifest = io.read_json(work / paths.manifest_file(step, root))
        assert manifest["cpu_capability"] == "DEFAULT"
        assert manifest["params"]["seed"] == 42
    assert "cpu_capability" not in io.read_json(work / paths.manifest_file("matmul"))
    claims = pd.read_csv(work / paths.table_file("claims", "csv"))
    assert replication.kernel_replicated(claims) and set(claims["kernels"]) == {2}
    assert not replication.replicated(claims)  # no seed replicate: no seed columns
    paper = (work / paths.manuscript_file("paper.md")).read_text(encoding="utf-8")
    assert "replicate_kernels" in paper and "`default`" in paper
