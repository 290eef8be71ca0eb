import copy

import pytest

from lnpaper.pipeline.config import ConfigError, config_hash, flatten, validate


def test_default_config_is_valid_and_has_paper_values(default_config, schema):
    cfg = validate(default_config, schema)
    assert cfg["seed"] == 42
    assert cfg["matmul"]["scales"] == [0.5, 1.0, 1.5, 2.0]
    assert cfg["matmul"]["steps"] == 50
    assert cfg["affine"]["gamma"] == [1.0, 2.0, 3.0] and cfg["affine"]["beta"] == [0.0, 2.0, 5.0]
    assert "3x10" in cfg["data"]["shapes"] and "30x30" in cfg["data"]["shapes"]


def _walk(node, path=""):
    yield path, node
    for key, sub in node.get("properties", {}).items():
        yield from _walk(sub, f"{path}.{key}" if path else key)


def test_every_schema_key_is_documented_with_a_default(schema):
    for path, node in _walk(schema):
        if path:
            assert "description" in node, path
            assert "default" in node, path
        if node.get("type") == "object":
            assert node.get("additionalProperties") is False, path


def test_defaults_fill_a_missing_section(default_config, schema):
    cfg = copy.deepcopy(default_config)
    del cfg["affine"]
    assert validate(cfg, schema)["affine"]["gamma"] == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(
    "mutate, key, allowed",
    [
        (lambda c: c["matmul"].update(scales=[0.5, -1.0]), "matmul.scales[1]", "> 0"),
        (lambda c: c["matmul"].update(steps="fifty"), "matmul.steps", "integer"),
        (lambda c: c["matmul"].update(scale=[1.0]), "matmul", "did you mean 'scales'"),
        (lambda c: c.update(matmull={}), "<top level>", "did you mean 'matmul'"),
        (lambda c: c["affine"].update(gamma=[]), "affine.gamma", "at least 1"),
        (lambda c: c["affine"].update(beta=[2.0, 2.0]), "affine.beta", "no duplicates"),
        (lambda c: c.update(device="tpu"), "device", "one of"),
        (lambda c: c["matmul"].update(burn_in=60), "matmul.burn_in", "< matmul.steps"),
        (
            lambda c: c["layernorm_stats"].update(group_sizes=[3, 5000]),
            "layernorm_stats.group_sizes",
            "<= 3000",
        ),
        (lambda c: c["affine"].update(shape="7x7"), "affine.shape", "data.shapes"),
    ],
)
def test_bad_values_name_the_key_and_what_is_allowed(default_config, schema, mutate, key, allowed):
    cfg = copy.deepcopy(default_config)
    mutate(cfg)
    with pytest.raises(ConfigError) as exc:
        validate(cfg, schema)
    message = str(exc.value)
    assert message.startswith(key), message
    assert allowed in message, message
    assert "\n" not in message


def test_config_hash_is_stable_and_order_free():
    assert config_hash({"a": 1, "b": [1, 2]}) == config_hash({"b": [1, 2], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})


def test_flatten_gives_stable_dotted_keys():
    assert flatten({"m": {"s": [1, 2], "k": 3}, "x": "y"}) == {"m.k": 3, "m.s": "[1, 2]", "x": "y"}


def test_the_fast_yaml_loader_reads_every_yaml_file_as_pyyaml_safe_load_does():
    """libyaml's parser (where PyYAML has it) must give the very objects of the pure-Python
    one on every YAML file the pipeline reads: config, schemas, texts, captions, profiles."""

    import yaml

    from conftest import ROOT
    from lnpaper.pipeline import yamlfile

    files = [
        p
        for p in ROOT.rglob("*.y*ml")
        if not {".venv", "results", ".snakemake", ".git"} & set(p.relative_to(ROOT).parts)
    ]
    assert len(files) >= 5, files
    for path in files:
        text = path.read_text(encoding="utf-8")
        assert yamlfile.safe_load(text) == yaml.safe_load(text), path
    assert yamlfile.safe_load("a: 1e-5\nb: 1.0e-5\nc: on\nd: 2026-11-28\n") == yaml.safe_load(
        "a: 1e-5\nb: 1.0e-5\nc: on\nd: 2026-11-28\n"
    )


@pytest.mark.parametrize(
    "seeds, message",
    [
        ([43, 43], "replicate_seeds: duplicate entries in [43, 43]; allowed: a list of integer"),
        ([43, "x"], 'replicate_seeds[1]: got "x"; allowed: integer >= 0'),
        ([43, 1.5], "replicate_seeds[1]: got 1.5; allowed: integer >= 0"),
        ([True], "replicate_seeds[0]: got true; allowed: integer >= 0"),
        (43, "replicate_seeds: got 43; allowed: a list of integer >= 0, no duplicates"),
        ([44, 42], "replicate_seeds[1]: got 42, the base seed; allowed: distinct integers >= 0"),
    ],
)
def test_replicate_seeds_are_distinct_integers_other_than_the_seed(
    default_config, schema, seeds, message
):
    with pytest.raises(ConfigError) as err:
        validate({**default_config, "replicate_seeds": seeds}, schema)
    assert str(err.value).startswith(message)
    assert "\n" not in str(err.value)


def test_replicate_seeds_default_to_none_and_accept_other_seeds(default_config, schema):
    assert validate(default_config, schema)["replicate_seeds"] == []
    cfg = validate({**default_config, "seed": 7, "replicate_seeds": [42, 43]}, schema)
    assert cfg["replicate_seeds"] == [42, 43]
