"""Replicate names and kernel paths (lnpaper.pipeline.kernels): one parser turns the wildcard
``replicate`` into a seed and an environment; the config refuses a kernel path this CPU cannot
run, in one line naming the paths it can."""

from __future__ import annotations

import pytest

from lnpaper.pipeline import kernels
from lnpaper.pipeline.config import ConfigError, validate


def test_a_replicate_name_gives_its_seed_and_its_kernel_variables():
    seed = kernels.parse_replicate("seed43", 42)
    assert (seed.seed, seed.kernel, seed.env) == (43, None, {})
    path = kernels.parse_replicate("kernel-default", 42)
    assert (path.seed, path.kernel) == (42, "default")  # a kernel replicate: the base seed
    assert path.env["ATEN_CPU_CAPABILITY"] == "default"
    assert path.env == kernels.PATHS["default"]
    assert kernels.parse_replicate(kernels.seed_replicate(7), 42).seed == 7
    assert kernels.parse_replicate(kernels.kernel_replicate("avx2"), 42).kernel == "avx2"
    # hashable: the claims step keys tables by replicate
    assert len({path, kernels.parse_replicate("kernel-default", 1)}) == 2


@pytest.mark.parametrize("name", ["seed", "seedx", "kernel-sse9", "avx2", "43"])
def test_a_name_that_is_neither_kind_is_refused(name):
    with pytest.raises(ValueError, match=f"replicate {name}"):
        kernels.parse_replicate(name, 42)


def test_the_config_lists_seeds_first_then_kernel_paths():
    cfg = {"replicate_seeds": [44, 43], "replicate_kernels": ["default"]}
    assert kernels.replicates(cfg) == ["seed44", "seed43", "kernel-default"]
    assert kernels.replicates({"replicate_seeds": [], "replicate_kernels": []}) == []


def test_a_kernel_path_must_be_known_and_run_on_this_cpu():
    assert kernels.kernels_problem(["default", "avx2"], ["default", "avx2"]) is None
    assert kernels.kernels_problem(["avx512"], ["default", "avx2"]) == (
        "replicate_kernels[0]: got avx512, which this CPU cannot run; "
        "this CPU's kernel paths: default, avx2"
    )
    assert kernels.kernels_problem(["default", "sse"], ["default"]) == (
        'replicate_kernels[1]: got "sse"; allowed: one of default, avx2, avx512'
    )
    assert kernels.kernel_paths({"sse4_2"}) == ["default"]
    assert kernels.kernel_paths({"avx2", "avx512f"}) == ["default", "avx2", "avx512"]


def test_the_config_check_refuses_a_path_the_cpu_lacks(default_config, schema, monkeypatch):
    assert validate(default_config, schema)["replicate_kernels"] == []
    monkeypatch.setattr(kernels, "cpu_flags", lambda: {"avx2"})
    cfg = validate({**default_config, "replicate_kernels": ["default", "avx2"]}, schema)
    assert cfg["replicate_kernels"] == ["default", "avx2"]
    with pytest.raises(ConfigError, match="this CPU's kernel paths: default, avx2$"):
        validate({**default_config, "replicate_kernels": ["avx512"]}, schema)
    with pytest.raises(ConfigError, match="replicate_kernels: duplicate entries"):
        validate({**default_config, "replicate_kernels": ["avx2", "avx2"]}, schema)


def test_a_remembered_config_check_is_not_reused_on_a_cpu_with_other_paths(
    default_config, schema, monkeypatch
):
    from lnpaper.pipeline.validated import validation_key

    cfg = {**default_config, "replicate_kernels": ["avx2"]}
    monkeypatch.setattr(kernels, "cpu_flags", lambda: {"avx2"})
    on_avx2 = validation_key(cfg, schema)
    assert validation_key(cfg, schema) == on_avx2
    monkeypatch.setattr(kernels, "cpu_flags", lambda: set())
    assert validation_key(cfg, schema) != on_avx2
