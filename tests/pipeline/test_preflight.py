"""Start-of-build checks that need no Snakemake: file modes of atomic writes, the memory and
size estimates, and the config's non-finite numbers."""

from __future__ import annotations

import copy
import os
import stat

import pandas as pd
import pytest

from lnpaper.pipeline import io, preflight
from lnpaper.pipeline.config import ConfigError, validate


@pytest.fixture
def umask():
    """Set a umask for one test and restore the previous one."""
    old = os.umask(0o022)
    os.umask(old)
    yield os.umask
    os.umask(old)


@pytest.mark.parametrize("mask, mode", [(0o022, 0o644), (0o027, 0o640), (0o002, 0o664)])
def test_atomic_writes_respect_the_umask(tmp_path, umask, mask, mode):
    umask(mask)
    assert io.current_umask() == mask
    io.write_text("x\n", tmp_path / "a.txt")
    io.write_bytes(b"\x00", tmp_path / "b.bin")
    io.write_json({"a": 1}, tmp_path / "c.json")
    io.write_parquet(pd.DataFrame({"a": [1]}), tmp_path / "d.parquet")
    with io.atomic_path(tmp_path / "e.png") as tmp:
        tmp.unlink()  # a writer that replaces the file instead of reusing it
        tmp.write_bytes(b"png")
    for name in ("a.txt", "b.bin", "c.json", "d.parquet", "e.png"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == mode, name
    # the same mode as a file created the ordinary way
    (tmp_path / "plain").write_text("x")
    assert stat.S_IMODE((tmp_path / "plain").stat().st_mode) == mode


def test_the_default_build_fits_and_the_estimate_is_printed(default_config, schema):
    cfg = validate(default_config, schema)
    assert preflight.check_memory(cfg, memory=8 * 2**30) is None
    # 50 is Snakemake's job count for the default config (the target rule included)
    assert preflight.estimate_jobs(cfg) == 50
    line = preflight.build_summary(cfg, memory=8 * 2**30)
    assert "50 jobs" in line and "of 8.0 GB" in line and "\n" not in line
    # CPU time calibrated on the default build: about 190 s of compute + 2 s per job
    assert 150 < preflight.estimate_cpu_seconds(cfg) < 400


def test_a_config_that_cannot_fit_is_refused_with_the_estimate(default_config, schema):
    cfg = validate(default_config, schema)
    big = copy.deepcopy(cfg)
    big["matmul"]["sizes"] = [10, 30, 20000]  # one seed batch of 9 scales x n^2 float64: ~170 GB
    line = preflight.check_memory(big, memory=64 * 2**30)
    assert line.startswith("step matmul needs about ")
    assert "this machine has 64.0 GB" in line and "\n" not in line
    need = preflight.step_memory_bytes(big)["matmul"]
    assert need > 9 * 8 * 20000**2  # at least the float64 state of one seed at every scale
    # the estimate grows with what the config asks for: more steps, more seeds, larger n
    small = preflight.step_memory_bytes(cfg)["matmul"]
    more = copy.deepcopy(cfg)
    more["matmul"]["n_seeds"] *= 100
    assert preflight.step_memory_bytes(more)["matmul"] > small
    # the machine's memory can be overridden (planning for another machine, tests)
    os.environ["LNPAPER_MEMORY_MB"] = "100"
    try:
        assert preflight.machine_memory_bytes() == 100 * 2**20
        assert "this machine has 100 MB" in preflight.check_memory(cfg)
    finally:
        del os.environ["LNPAPER_MEMORY_MB"]


def test_machine_memory_is_detected():
    mem = preflight.machine_memory_bytes()
    assert mem is None or mem > 2**28


def test_nonfinite_numbers_anywhere_are_refused_and_finite_ones_pass(default_config, schema):
    nan, inf = float("nan"), float("inf")
    for value in (nan, inf, -inf):
        cfg = copy.deepcopy(default_config)
        cfg["training"]["synthetic"]["cluster_std"] = value
        with pytest.raises(ConfigError) as info:
            validate(cfg, schema)
        assert str(info.value).startswith("training.synthetic.cluster_std: got ")
        assert "allowed: a finite number" in str(info.value)
    cfg = copy.deepcopy(default_config)
    cfg["data"]["mean"] = -1e300  # large but finite: the schema's business, not this check
    validate(cfg, schema)


def test_each_replicate_seed_adds_its_data_experiments_and_claims_audit(default_config, schema):
    cfg = validate(default_config, schema)
    two = validate({**default_config, "replicate_seeds": [43, 44]}, schema)
    # the default build: 50 jobs; a seed's data, 19 experiment jobs (12 training parts and
    # their join among them) and its claims audit: 21 more each (snakemake -n counts 92)
    assert preflight.seed_jobs(cfg) == 20
    assert preflight.estimate_jobs(cfg) == 50
    assert preflight.estimate_jobs(two) == 50 + 2 * 21
    extra = preflight.estimate_cpu_seconds(two) - preflight.estimate_cpu_seconds(cfg)
    compute = preflight.estimate_cpu_seconds(cfg) - preflight.JOB_OVERHEAD_CPU_S * 50
    assert extra == pytest.approx(2 * (compute + 21 * preflight.JOB_OVERHEAD_CPU_S))
