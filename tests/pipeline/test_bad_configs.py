"""A corpus of bad configs. Each must stop the run before any job with one line that
names the key and what is allowed (no traceback, nothing under results/ touched).

Most cases call ``lnpaper.config.validate`` directly (fast); through a real ``snakemake`` in a
temp copy go the ones Snakemake itself reads before our code runs (YAML syntax, unreadable file,
``--config`` parsing), one of each path into ``validate`` (config file, ``--config``), the NaN
case and the memory check; the other validate cases need no second Snakemake start.
"""

from __future__ import annotations

import copy
import hashlib
import re

import pytest
import yaml

from conftest import ROOT, copy_workflow, snakemake
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
CASES = [
    # wrong types
    ("seed-string", patched(seed="abc"), "seed", "integer"),
    ("seed-float", patched(seed=1.5), "seed", "integer"),
    ("enabled-string", patched(**{"affine.enabled": "no"}), "affine.enabled", "boolean"),
    ("mlflow-enabled-string", patched(**{"mlflow.enabled": "yes"}), "mlflow.enabled", "boolean"),
    ("section-is-scalar", patched(matmul=3), "matmul", "a mapping with keys"),
    ("section-is-list", patched(affine=[1, 2]), "affine", "a mapping with keys"),
    ("list-is-scalar", patched(**{"matmul.scales": 1.0}), "matmul.scales", "a list of number"),
    (
        "moments-not-pairs",
        patched(**{"layernorm_stats.correlation_input_moments": [[0.0]]}),
        "layernorm_stats.correlation_input_moments[0]",
        "at least 2",
    ),
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
    (
        "b-dist-unknown",
        patched(**{"matmul.b_dists": ["gaussian"]}),
        "matmul.b_dists[0]",
        '"normal"',
    ),
    (
        "dtype-unknown",
        patched(**{"affine.dtype": "float16"}),
        "affine.dtype",
        '"float32", "float64"',
    ),
    (
        "scope-unknown",
        patched(**{"layernorm_stats.normalized_over": ["diagonal"]}),
        "layernorm_stats.normalized_over[0]",
        '"row", "column", "all"',
    ),
    ("shape-pattern", patched(**{"data.shapes": ["3by10"]}), "data.shapes[0]", "matching"),
    (
        "uri-scheme",
        patched(**{"mlflow.tracking_uri": "mlflow.db"}),
        "mlflow.tracking_uri",
        "sqlite:///",
    ),
    ("experiment-empty", patched(**{"mlflow.experiment": ""}), "mlflow.experiment", "at least 1"),
    # empty lists and duplicates
    ("shapes-empty", patched(**{"data.shapes": []}), "data.shapes", "at least 1"),
    ("sizes-empty", patched(**{"matmul.sizes": []}), "matmul.sizes", "at least 1"),
    ("gamma-empty", patched(**{"affine.gamma": []}), "affine.gamma", "at least 1"),
    (
        "shapes-duplicate",
        patched(**{"data.shapes": ["3x10", "3x10"]}),
        "data.shapes",
        "no duplicates",
    ),
    (
        "scales-duplicate",
        patched(**{"matmul.scales": [1.0, 1.0]}),
        "matmul.scales",
        "no duplicates",
    ),
    ("beta-duplicate", patched(**{"affine.beta": [2.0, 2.0]}), "affine.beta", "no duplicates"),
    # unknown keys at every level, misspelt sections
    ("unknown-top", patched(sed=42), "<top level>", "did you mean 'seed'"),
    (
        "misspelt-section",
        section_renamed("matmul", "matmull"),
        "<top level>",
        "did you mean 'matmul'",
    ),
    (
        "misspelt-section-2",
        section_renamed("layernorm_stats", "layernorm_stat"),
        "<top level>",
        "did you mean 'layernorm_stats'",
    ),
    ("unknown-nested", patched(**{"matmul.scale": [1.0]}), "matmul", "did you mean 'scales'"),
    ("unknown-mlflow-key", patched(**{"mlflow.uri": "sqlite:///x.db"}), "mlflow", "allowed keys"),
    ("unknown-data-key", patched(**{"data.seeds": 3}), "data", "did you mean 'n_seeds'"),
    # non-finite numbers: JSON Schema range checks are true for NaN, YAML spells .nan and .inf
    ("gamma-nan", patched(**{"affine.gamma": [float("nan")]}), "affine.gamma[0]", "finite"),
    ("beta-inf", patched(**{"affine.beta": [float("inf")]}), "affine.beta[0]", "finite"),
    ("scale-nan", patched(**{"matmul.scales": [0.5, float("nan")]}), "matmul.scales[1]", "finite"),
    ("mean-minus-inf", patched(**{"data.mean": float("-inf")}), "data.mean", "finite"),
    ("eps-nan", patched(**{"layernorm_stats.eps": float("nan")}), "layernorm_stats.eps", "finite"),
    (
        "moment-nan",
        patched(**{"layernorm_stats.correlation_input_moments": [[0.0, 1.0], [float("nan"), 1.0]]}),
        "layernorm_stats.correlation_input_moments[1][0]",
        "finite",
    ),
    (
        "offset-inf",
        patched(**{"precision.offsets": [0.0, float("inf")]}),
        "precision.offsets[1]",
        "finite",
    ),
    ("seed-nan", patched(seed=float("nan")), "seed", "finite"),
    ("unknown-key-nan", patched(**{"matmul.scale": float("nan")}), "matmul.scale", "finite"),
    # well typed but meaningless combinations
    (
        "group-larger-than-matrix",
        patched(**{"layernorm_stats.group_sizes": [3, 5000]}),
        "layernorm_stats.group_sizes",
        "group sizes <= 3000",
    ),
    (
        "burn-in-not-below-steps",
        patched(**{"matmul.burn_in": 50}),
        "matmul.burn_in",
        "< matmul.steps",
    ),
    (
        "ln-shape-not-generated",
        patched(**{"layernorm_stats.shapes": ["5x5"]}),
        "layernorm_stats.shapes",
        "data.shapes",
    ),
    (
        "affine-shape-not-generated",
        patched(**{"affine.shape": "7x7"}),
        "affine.shape",
        "data.shapes",
    ),
]

# configs under which an experiment runs but measures nothing its claims are about
CASES += [
    ("gamma-zero", patched(**{"affine.gamma": [0.0, 1.0]}), "affine.gamma[0]", "> 0"),
    ("gamma-negative", patched(**{"affine.gamma": [-1.0]}), "affine.gamma[0]", "> 0"),
    (
        "test-split-below-one-per-class",
        patched(**{"training.test_fraction": 0.002}),
        "training.test_fraction",
        "at least 1 test sample per class",
    ),
    (
        "batch-sizes-without-one",
        patched(**{"batch_dependence.batch_sizes": [2, 8]}),
        "batch_dependence.batch_sizes",
        "a list with 1",
    ),
    (
        "batch-sizes-only-one",
        patched(**{"batch_dependence.batch_sizes": [1]}),
        "batch_dependence.batch_sizes",
        "a size >= 2",
    ),
    (
        "shape-with-a-dimension-of-one",
        patched(**{"data.shapes": ["1x1", "3x10", "30x30"]}),
        "data.shapes[0]",
        "both >= 2",
    ),
    (
        "row-vector-shape",
        patched(**{"data.shapes": ["3x10", "30x30", "1x30"]}),
        "data.shapes[2]",
        "both >= 2",
    ),
    (
        "input-std-zero",
        patched(**{"layernorm_stats.correlation_input_moments": [[0.0, 1.0], [2.0, 0.0]]}),
        "layernorm_stats.correlation_input_moments[1][1]",
        "standard deviation > 0",
    ),
    (
        "precision-without-float32",
        patched(**{"precision.dtypes": ["float16"]}),
        "precision.dtypes",
        "with float32",
    ),
    (
        "precision-offsets-only-zero",
        patched(**{"precision.offsets": [0.0]}),
        "precision.offsets",
        "an offset > 0",
    ),
    (
        "transformer-without-layernorm",
        patched(**{"transformer.archs": ["none"]}),
        "transformer.archs",
        "post_ln or pre_ln",
    ),
    (
        "warmup-not-below-steps",
        patched(**{"transformer.warmup_steps": 150}),
        "transformer.warmup_steps",
        "< transformer.steps",
    ),
    ("transformer-one-seed", patched(**{"transformer.n_seeds": 1}), "transformer.n_seeds", ">= 2"),
    (
        "transformer-one-grad-seed",
        patched(**{"transformer.grad_seeds": 1}),
        "transformer.grad_seeds",
        ">= 2",
    ),
]

# Experiments added later bring their own combinations; test them once their section exists.
_PROPS = SCHEMA["properties"]
if "batch_size" in _PROPS.get("training", {}).get("properties", {}):
    CASES.append(
        (
            "batch-larger-than-data",
            patched(**{"training.batch_size": 5000}),
            "training.batch_size",
            "the training split",
        )
    )
if "steps" in _PROPS.get("training", {}).get("properties", {}):
    CASES.append(
        (
            "training-steps-string",
            patched(**{"training.steps": "many"}),
            "training.steps",
            "integer",
        )
    )
if "heads" in _PROPS.get("transformer", {}).get("properties", {}):
    CASES.append(
        (
            "heads-not-dividing-width",
            patched(**{"transformer.heads": 7}),
            "transformer.heads",
            "a divisor of transformer.d_model",
        )
    )


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


# ---- through real snakemake -------------------------------------------------------------------


def tree_digest(root):
    """{relative path: sha256} of every file under root."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


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
