"""A config check that passed is remembered (lnpaper.pipeline.validated): the same answer as
``validate``, from the cache when config, schema and checking code are the same, and checked again
when any of them changes; a failing config is never remembered."""

from __future__ import annotations

import copy
import shutil

import pytest

from conftest import ROOT
from lnpaper.pipeline import validated
from lnpaper.pipeline.config import ConfigError, validate


def never_called(*args):
    raise AssertionError("validate ran although this config passed before")


def test_a_config_that_passed_is_answered_from_the_cache(
    default_config, schema, tmp_path, monkeypatch
):
    cache = tmp_path / "validated.json"
    first = validated.validate_remembered(default_config, schema, cache)
    assert first == validate(default_config, schema) and cache.exists()
    monkeypatch.setattr(validated, "validate", never_called)
    assert validated.validate_remembered(default_config, schema, cache) == first


def test_a_changed_config_or_schema_is_checked_again(default_config, schema, tmp_path):
    cache = tmp_path / "validated.json"
    validated.validate_remembered(default_config, schema, cache)
    bad = copy.deepcopy(default_config)
    bad["matmul"]["steps"] = -1
    for _ in range(2):  # a failure is not remembered: the error comes each time
        with pytest.raises(ConfigError, match="matmul.steps"):
            validated.validate_remembered(bad, schema, cache)
    stricter = copy.deepcopy(schema)
    stricter["properties"]["matmul"]["properties"]["steps"]["minimum"] = 10**9
    with pytest.raises(ConfigError, match="matmul.steps"):
        validated.validate_remembered(default_config, stricter, cache)


def test_edited_checking_code_is_a_new_key(default_config, schema, tmp_path):
    shutil.copytree(ROOT / "src", tmp_path / "src")
    before = validated.validation_key(default_config, schema, root=tmp_path)
    assert validated.validation_key(default_config, schema, root=tmp_path) == before
    spec = tmp_path / "src/lnpaper/experiments/matmul_spec.py"  # a declaration's checks
    spec.write_text(spec.read_text() + "\n# edited\n")
    assert validated.validation_key(default_config, schema, root=tmp_path) != before


@pytest.mark.parametrize("broken", ["", "not json", "[1, 2]", '{"k": 3}'])
def test_a_broken_cache_counts_as_empty(default_config, schema, tmp_path, broken):
    cache = tmp_path / "validated.json"
    cache.write_text(broken)
    assert validated.validate_remembered(default_config, schema, cache) == validate(
        default_config, schema
    )
