"""A corpus of bad configs, called through ``lnpaper.pipeline.config.validate`` directly: each
is refused with one line that names the key and what is allowed. The cases Snakemake itself
reads, and one of each path into ``validate``, run through Snakemake in
e2e/test_bad_configs_snakemake.py."""

from __future__ import annotations

import copy

import pytest

from conftest import ROOT
from lnpaper.pipeline.config import ConfigError, load_yaml, validate
from lnpaper.tools.config_sweep import variant

SCHEMA = load_yaml(ROOT / "workflow/schemas/config.schema.yaml")
BASE = load_yaml(ROOT / "config.yaml")


def patched(**changes):
    """The default config with dotted keys replaced."""
    return variant(BASE, **changes)


def section_renamed(old, new):
    cfg = copy.deepcopy(BASE)
    cfg[new] = cfg.pop(old)
    return cfg


# (case id, config, text the message must name (the key), text of what is allowed)
# One case per line: the corpus reads as a table (long strings stay whole).
# fmt: off
CASES = [
    # wrong types
    ("seed-string", patched(seed="abc"), "seed", "integer"),
    ("seed-float", patched(seed=1.5), "seed", "integer"),
    ("enabled-string", patched(**{"affine.enabled": "no"}), "affine.enabled", "boolean"),
    ("mlflow-enabled-string", patched(**{"mlflow.enabled": "yes"}), "mlflow.enabled", "boolean"),
    ("section-is-scalar", patched(matmul=3), "matmul", "a mapping with keys"),
    ("section-is-list", patched(affine=[1, 2]), "affine", "a mapping with keys"),
    ("list-is-scalar", patched(**{"matmul.scales": 1.0}), "matmul.scales", "a list of number"),
    ("moments-not-pairs", patched(**{"layernorm_stats.correlation_input_moments": [[0.0]]}), "layernorm_stats.correlation_input_moments[0]", "at least 2"),
    ("top-level-list", [1, 2], "<top level>", "a mapping"),
    # out of range / not in the allowed set
    ("seed-negative", patched(seed=-1), "seed", ">= 0"),
    ("device-unknown", patched(device="gpu"), "device", '"auto", "cpu", "cuda"'),
    ("language-unknown", patched(language="fr"), "language", '"vi", "en"'),
    ("scale-zero", patched(**{"matmul.scales": [0.5, 0.0]}), "matmul.scales[1]", "> 0"),
    ("scale-negative", patched(**{"matmul.scales": [-1.0]}), "matmul.scales[0]", "> 0"),
    ("steps-zero", patched(**{"matmul.steps": 0}), "matmul.steps", ">= 2"),
    ("eps-above-one", patched(**{"matmul.eps": 2.0}), "matmul.eps", "<= 1"),
    ("std-zero", patched(**{"data.std": 0}), "data.std", "> 0"),
    ("n-seeds-one", patched(**{"data.n_seeds": 1}), "data.n_seeds", ">= 2"),
    ("b-dist-unknown", patched(**{"matmul.b_dists": ["gaussian"]}), "matmul.b_dists[0]", '"normal"'),
    ("dtype-unknown", patched(**{"affine.dtype": "float16"}), "affine.dtype", '"float32", "float64"'),
    ("scope-unknown", patched(**{"layernorm_stats.normalized_over": ["diagonal"]}), "layernorm_stats.normalized_over[0]", '"row", "column", "all"'),
    ("shape-pattern", patched(**{"data.shapes": ["3by10"]}), "data.shapes[0]", "matching"),
    ("uri-scheme", patched(**{"mlflow.tracking_uri": "mlflow.db"}), "mlflow.tracking_uri", "sqlite:///"),
    ("experiment-empty", patched(**{"mlflow.experiment": ""}), "mlflow.experiment", "at least 1"),
    # empty lists and duplicates
    ("shapes-empty", patched(**{"data.shapes": []}), "data.shapes", "at least 1"),
    ("sizes-empty", patched(**{"matmul.sizes": []}), "matmul.sizes", "at least 1"),
    ("gamma-empty", patched(**{"affine.gamma": []}), "affine.gamma", "at least 1"),
    ("shapes-duplicate", patched(**{"data.shapes": ["3x10", "3x10"]}), "data.shapes", "no duplicates"),
    ("scales-duplicate", patched(**{"matmul.scales": [1.0, 1.0]}), "matmul.scales", "no duplicates"),
    ("beta-duplicate", patched(**{"affine.beta": [2.0, 2.0]}), "affine.beta", "no duplicates"),
    # unknown keys at every level, misspelt sections
    ("unknown-top", patched(sed=42), "<top level>", "did you mean 'seed'"),
    ("misspelt-section", section_renamed("matmul", "matmull"), "<top level>", "did you mean 'matmul'"),
    ("misspelt-section-2", section_renamed("layernorm_stats", "layernorm_stat"), "<top level>", "did you mean 'layernorm_stats'"),
    ("unknown-nested", patched(**{"matmul.scale": [1.0]}), "matmul", "did you mean 'scales'"),
    ("unknown-mlflow-key", patched(**{"mlflow.uri": "sqlite:///x.db"}), "mlflow", "allowed keys"),
    ("unknown-data-key", patched(**{"data.seeds": 3}), "data", "did you mean 'n_seeds'"),
    # non-finite numbers: JSON Schema range checks are true for NaN, YAML spells .nan and .inf
    ("gamma-nan", patched(**{"affine.gamma": [float("nan")]}), "affine.gamma[0]", "finite"),
    ("beta-inf", patched(**{"affine.beta": [float("inf")]}), "affine.beta[0]", "finite"),
    ("scale-nan", patched(**{"matmul.scales": [0.5, float("nan")]}), "matmul.scales[1]", "finite"),
    ("mean-minus-inf", patched(**{"data.mean": float("-inf")}), "data.mean", "finite"),
    ("eps-nan", patched(**{"layernorm_stats.eps": float("nan")}), "layernorm_stats.eps", "finite"),
    ("moment-nan", patched(**{"layernorm_stats.correlation_input_moments": [[0.0, 1.0], [float("nan"), 1.0]]}), "layernorm_stats.correlation_input_moments[1][0]", "finite"),
    ("offset-inf", patched(**{"precision.offsets": [0.0, float("inf")]}), "precision.offsets[1]", "finite"),
    ("seed-nan", patched(seed=float("nan")), "seed", "finite"),
    ("unknown-key-nan", patched(**{"matmul.scale": float("nan")}), "matmul.scale", "finite"),
    # well typed but meaningless combinations
    ("group-larger-than-matrix", patched(**{"layernorm_stats.group_sizes": [3, 5000]}), "layernorm_stats.group_sizes", "group sizes <= 3000"),
    ("burn-in-not-below-steps", patched(**{"matmul.burn_in": 50}), "matmul.burn_in", "< matmul.steps"),
    ("ln-shape-not-generated", patched(**{"layernorm_stats.shapes": ["5x5"]}), "layernorm_stats.shapes", "data.shapes"),
    ("affine-shape-not-generated", patched(**{"affine.shape": "7x7"}), "affine.shape", "data.shapes"),
]
# fmt: on

# configs under which an experiment runs but measures nothing its claims are about
# fmt: off
CASES += [
    ("gamma-zero", patched(**{"affine.gamma": [0.0, 1.0]}), "affine.gamma[0]", "> 0"),
    ("gamma-negative", patched(**{"affine.gamma": [-1.0]}), "affine.gamma[0]", "> 0"),
    ("test-split-below-one-per-class", patched(**{"training.test_fraction": 0.002}), "training.test_fraction", "at least 1 test sample per class"),
    ("batch-sizes-without-one", patched(**{"batch_dependence.batch_sizes": [2, 8]}), "batch_dependence.batch_sizes", "a list with 1"),
    ("batch-sizes-only-one", patched(**{"batch_dependence.batch_sizes": [1]}), "batch_dependence.batch_sizes", "a size >= 2"),
    ("shape-with-a-dimension-of-one", patched(**{"data.shapes": ["1x1", "3x10", "30x30"]}), "data.shapes[0]", "both >= 2"),
    ("row-vector-shape", patched(**{"data.shapes": ["3x10", "30x30", "1x30"]}), "data.shapes[2]", "both >= 2"),
    ("input-std-zero", patched(**{"layernorm_stats.correlation_input_moments": [[0.0, 1.0], [2.0, 0.0]]}), "layernorm_stats.correlation_input_moments[1][1]", "standard deviation > 0"),
    ("precision-without-float32", patched(**{"precision.dtypes": ["float16"]}), "precision.dtypes", "with float32"),
    ("precision-offsets-only-zero", patched(**{"precision.offsets": [0.0]}), "precision.offsets", "an offset > 0"),
    ("transformer-without-layernorm", patched(**{"transformer.archs": ["none"]}), "transformer.archs", "post_ln or pre_ln"),
    ("warmup-not-below-steps", patched(**{"transformer.warmup_steps": 150}), "transformer.warmup_steps", "< transformer.steps"),
    ("transformer-one-seed", patched(**{"transformer.n_seeds": 1}), "transformer.n_seeds", ">= 2"),
    ("transformer-one-grad-seed", patched(**{"transformer.grad_seeds": 1}), "transformer.grad_seeds", ">= 2"),
    ("batch-larger-than-data", patched(**{"training.batch_size": 5000}), "training.batch_size", "the training split"),
    ("training-steps-string", patched(**{"training.steps": "many"}), "training.steps", "integer"),
    ("heads-not-dividing-width", patched(**{"transformer.heads": 7}), "transformer.heads", "a divisor of transformer.d_model"),
]
# fmt: on


@pytest.mark.parametrize("case, cfg, key, allowed", CASES, ids=[c[0] for c in CASES])
def test_bad_config_is_refused_with_one_line(case, cfg, key, allowed):
    with pytest.raises(ConfigError) as info:
        validate(cfg, SCHEMA)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(key + ":") or message.startswith(key + "[") or f"{key}:" in message, (
        message
    )
    assert allowed in message, message
    assert "allowed" in message, message


def test_corpus_is_big_enough_and_the_defaults_pass():
    assert len(CASES) >= 25
    validate(BASE, SCHEMA)  # the corpus is bad because of its change, not because of the base


def test_load_yaml_errors_are_one_line(tmp_path):
    (tmp_path / "bad.yaml").write_text("matmul: [1, 2\n")
    (tmp_path / "bin.yaml").write_bytes(b"\x00\xff\xfe garbage")
    for name, expect in (
        ("bad.yaml", "not valid YAML (line 2"),
        ("missing.yaml", "cannot read"),
        ("bin.yaml", "not a text (UTF-8) YAML file"),
    ):
        with pytest.raises(ConfigError) as info:
            load_yaml(tmp_path / name)
        assert "\n" not in str(info.value) and expect in str(info.value)
