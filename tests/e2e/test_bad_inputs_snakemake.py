"""Bad inputs through the commands a user types, on one copy of the shared lean build: `lnpaper`
arguments (cli.main in this process), and through Snakemake `--config` values, damaged
intermediate files and a second build in the same folder. Each ends in one line naming the
culprit, with no traceback, a non-zero exit and the science results' bytes untouched."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT, snakemake
from lnpaper.tools import cli


@pytest.fixture(scope="module")
def store_dir(lean_build, tmp_path_factory):
    """A folder with the lean build's results and MLflow store (a copy: nothing is written)."""
    work, _ = lean_build
    dest = tmp_path_factory.mktemp("cli")
    shutil.copy2(work / "mlflow.db", dest / "mlflow.db")
    shutil.copytree(work / "results", dest / "results")
    return dest


CLI_CASES = [
    (
        "compare-unknown-ids",
        ["compare", "0" * 32, "1" * 32],
        f"no build '{'0' * 32}' in the store",
    ),
    # one name is compared with the latest build; a name no build starts with is refused
    ("compare-unknown-prefix", ["compare", "abc"], "no build 'abc' in the store"),
    (
        "compare-no-store",
        ["compare", "--tracking-uri", "sqlite:///missing.db"],
        "--tracking-uri sqlite:///missing.db: no MLflow store there",
    ),
    (
        "diff-missing-folders",
        ["diff", "./gone_a", "./gone_b"],
        "build_a ./gone_a: no such results folder",
    ),
    ("diff-not-results", ["diff", "results", "./empty"], "build_b ./empty: not a results folder"),
    (
        "diff-unknown-ids",
        ["diff", "f" * 32, "e" * 32],
        f"no build '{'f' * 32}' in the store",
    ),
    ("bad-flag", ["compare", "--colour"], "unrecognized arguments: --colour"),
    ("unknown-command", ["frobnicate"], "invalid choice: 'frobnicate'"),
    ("bench-bad-number", ["bench", "--repeats", "many"], "argument --repeats: invalid int value"),
]


@pytest.mark.slow
@pytest.mark.parametrize("case, argv, expect", CLI_CASES, ids=[c[0] for c in CLI_CASES])
def test_lnpaper_argument_is_one_line(store_dir, monkeypatch, capsys, case, argv, expect):
    monkeypatch.chdir(store_dir)
    (store_dir / "empty").mkdir(exist_ok=True)
    before = science_digest(store_dir)
    try:
        rc = cli.main(argv)
    except SystemExit as exit_:
        rc = exit_.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert rc not in (0, None), err
    assert len(lines) == 1 and expect in lines[0], err
    assert "Traceback" not in err
    assert science_digest(store_dir) == before


def science_digest(work) -> dict[str, str]:
    """sha256 of every science result (experiment Parquet) under a build folder."""
    return {
        str(p.relative_to(work)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted((work / "results/experiments").rglob("*.parquet"))
    }


@pytest.fixture(scope="module")
def built(lean_build, tmp_path_factory):
    """A copy of the shared lean build (modification times kept, so nothing is out of date): each
    case starts Snakemake on it, and a smaller DAG starts sooner."""
    work, _ = lean_build
    dest = tmp_path_factory.mktemp("badinputs") / "w"
    shutil.copytree(work, dest, symlinks=True)
    return dest


def damage(path, how):
    data = path.read_bytes()
    if how == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif how == "last-line":  # a CSV cut at a line end: parses, one row short
        path.write_bytes(data[: data.rstrip(b"\n").rfind(b"\n") + 1])
    else:
        path.write_bytes(b"not the file any more\n")


# (id, damaged file or None, how, extra snakemake arguments, the one line's start, text in it)
SNAKEMAKE_CASES = [
    (
        "parquet-truncated",
        "results/experiments/matmul/growth.parquet",
        "truncate",
        [],
        "input error: results/experiments/matmul/growth.parquet is damaged",
        "--forcerun matmul",
    ),
    (
        "parquet-overwritten",
        "results/data/matrices.parquet",
        "garbage",
        [],
        "input error: results/data/matrices.parquet is damaged",
        "no Parquet footer",
    ),
    (
        "csv-row-lost",
        "results/tables/claims.csv",
        "last-line",
        [],
        "input error: results/tables/claims.csv is damaged",
        "changed after its step wrote it",
    ),
    (
        "manifest-truncated",
        "results/manifests/affine.json",
        "truncate",
        [],
        "input error: results/manifests/affine.json is damaged",
        "not the JSON record",
    ),
    (
        "override-nested-negative",
        None,
        None,
        ["--config", "matmul={steps: -1}"],
        "config error: matmul.steps: got -1; allowed: integer >= 2",
        "",
    ),
    (
        "override-misspelt-key",
        None,
        None,
        ["--config", "matmul={stepz: 3}"],
        "config error: matmul: unknown key 'stepz' (did you mean 'steps'?)",
        "",
    ),
    (
        "override-not-yaml",
        None,
        None,
        ["--config", "matmul=[1, 2"],
        "config error: --config matmul=[1, 2: not a valid YAML value",
        "",
    ),
    (
        "template-typo",
        "manuscript/paper.vi.md",
        "typo",
        [],
        "manuscript error: manuscript/paper.vi.md:",
        "unknown number {{num:MatmulStep}}",
    ),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "case, target, how, args, start, text", SNAKEMAKE_CASES, ids=[c[0] for c in SNAKEMAKE_CASES]
)
def test_snakemake_names_the_bad_input_in_one_line(built, case, target, how, args, start, text):
    before = science_digest(built)
    saved = None
    if target:
        path = built / target
        saved = path.read_bytes()
        if how == "typo":
            path.write_text(saved.decode().replace("{{num:MatmulSteps}}", "{{num:MatmulStep}}", 1))
        else:
            damage(path, how)
        if target.startswith("results/experiments"):
            before = science_digest(built)  # the damaged file itself stays as it was left
    try:
        proc = snakemake(built, "--configfile", "lean.yaml", *args, check=False, timeout=300)
        after = science_digest(built)
    finally:
        if saved is not None:  # the next case starts from the build as it was
            path.write_bytes(saved)
    check_one_line(proc, start, text)
    assert after == before


@pytest.mark.slow
def test_a_second_build_in_the_same_folder_is_refused_at_once(built):
    """A running build holds the folder's lock; another start says so in one line and leaves
    everything as it is. (The holder here is a process that takes the lock as a build does.)"""
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from lnpaper.pipeline import inputs, paths; "
            "assert inputs.acquire_build_lock(paths.BUILD_LOCK) is None; print('held', flush=True); "
            "time.sleep(600)",
        ],
        cwd=built,
        env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "held"
        before = science_digest(built)
        proc = snakemake(built, "--configfile", "lean.yaml", check=False, timeout=300)
        check_one_line(proc, "build error: a build is already running in this folder (pid ", "")
        assert science_digest(built) == before
        # a dry run reads only: it is not refused
        assert snakemake(built, "--configfile", "lean.yaml", "-n", check=False).returncode == 0
    finally:
        holder.kill()
        holder.wait()


def check_one_line(proc, start, text):
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert "Traceback" not in out, out
    ours = [
        line
        for line in proc.stderr.splitlines()
        if line.startswith(("input error", "config error", "build error", "manuscript error"))
    ]
    assert len(ours) == 1 and ours[0].startswith(start) and text in ours[0], out
    assert "Job stats" not in out and "localrule" not in out  # refused before any job
