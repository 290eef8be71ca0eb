"""Bad configs through a real ``snakemake`` in a temp copy: the ones Snakemake itself reads before
our code runs (YAML syntax, unreadable file, ``--config`` parsing), one of each path into
``validate`` (config file, ``--config``), the NaN case and the memory check. Each stops the run
before any job with one line, and nothing under results/ is touched."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import copy_workflow, snakemake
from reliability_kit import tree_digest


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    work = copy_workflow(tmp_path_factory.mktemp("badcfg"))
    # a results/ from an earlier build: a refused config must leave it exactly as it is
    (work / "results/tables").mkdir(parents=True)
    (work / "results/tables/old.csv").write_text("a,b\n1,2\n")
    (work / "bad_syntax.yaml").write_text("matmul:\n  scales: [0.5, 1.0\n")
    (work / "not_utf8.yaml").write_bytes(b"\x00\xff\xfe\x80 garbage")
    (work / "top_list.yaml").write_text("- 1\n- 2\n")
    (work / "a_folder.yaml").mkdir()
    (work / "nested_unknown.yaml").write_text(yaml.safe_dump({"affine": {"gama": [1.0]}}))
    (work / "nan_scale.yaml").write_text("matmul:\n  scales: [0.5, .nan]\n")
    return work


# (id, snakemake arguments, text the error must contain, raised by Snakemake's own CLI)
# Snakemake 9 reads --configfile and --config before the Snakefile runs. For a missing file, a
# folder, non-UTF-8 bytes or a --config item without "=" its CLI prints its own traceback that
# ends in a one-line cause (documented in README "When things go wrong"); the workflow cannot
# intercept that, so these cases assert the exit code, the cause line and untouched results.
SNAKEMAKE_CASES = [
    (
        "yaml-syntax",
        ["--configfile", "bad_syntax.yaml"],
        "Config file is not valid JSON or YAML",
        False,
    ),
    ("yaml-top-list", ["--configfile", "top_list.yaml"], "keys at top level", False),
    (
        "nested-unknown",
        ["--configfile", "nested_unknown.yaml"],
        "config error: affine: unknown key 'gama' (did you mean 'gamma'?)",
        False,
    ),
    (
        "nan-scale",
        ["--configfile", "nan_scale.yaml"],
        "config error: matmul.scales[1]: got NaN; allowed: a finite number",
        False,
    ),
    (
        "override-negative",
        ["--config", "seed=-3"],
        "config error: seed: got -3; allowed: integer >= 0",
        False,
    ),
    (
        "override-nan",
        ["--config", "seed=nan"],
        "config error: seed: got NaN; allowed: a finite number",
        False,
    ),
    (
        "missing-file",
        ["--configfile", "missing.yaml"],
        "No such file or directory: 'missing.yaml'",
        True,
    ),
    ("folder-as-file", ["--configfile", "a_folder.yaml"], "Is a directory: 'a_folder.yaml'", True),
    ("not-utf8", ["--configfile", "not_utf8.yaml"], "codec can't decode", True),
    ("override-no-equals", ["--config", "seed"], "name=value pairs", True),
]


@pytest.mark.slow
@pytest.mark.parametrize(
    "case, args, expect, from_cli", SNAKEMAKE_CASES, ids=[c[0] for c in SNAKEMAKE_CASES]
)
def test_snakemake_refuses_bad_config_before_any_job(workdir, case, args, expect, from_cli):
    before = tree_digest(workdir / "results")
    proc = snakemake(workdir, "--cores", "4", *args, check=False, timeout=120)
    check_refused(workdir, proc, before, expect, from_cli)


@pytest.mark.slow
def test_snakemake_refuses_a_build_that_cannot_fit_in_memory(workdir):
    """The default config on a machine with 200 MB: every step needs more (torch alone ~400 MB)."""
    before = tree_digest(workdir / "results")
    proc = snakemake(
        workdir, "--cores", "4", check=False, timeout=120, env={"LNPAPER_MEMORY_MB": "200"}
    )
    out = proc.stdout + proc.stderr
    ours = [line for line in proc.stderr.splitlines() if line.startswith("memory error")]
    assert len(ours) == 1, out
    assert re.match(r"memory error: step \w+ needs about [\d.]+ MB of memory at its peak", ours[0])
    assert "this machine has 200 MB" in ours[0] and "Nothing was changed" in ours[0]
    check_refused(workdir, proc, before, ours[0], False)


def check_refused(workdir, proc, before, expect, from_cli):
    out = proc.stdout + proc.stderr
    assert proc.returncode != 0, out
    assert tree_digest(workdir / "results") == before  # no output touched
    assert not (workdir / ".snakemake/incomplete").exists() or not any(
        (workdir / ".snakemake/incomplete").iterdir()
    )
    assert "Job stats" not in out and "localrule" not in out and "rule " not in out  # no job ran
    if from_cli:
        last = [line for line in proc.stderr.splitlines() if line.strip()][-1]
        assert expect in last, out
        return
    assert "Traceback" not in out, out
    ours = [line for line in proc.stderr.splitlines() if line.startswith(("config", "memory"))]
    if expect.startswith(("config error", "memory error")):
        assert len(ours) == 1 and ours[0].startswith(expect), out
    else:
        assert ours == [] and expect in out, out
