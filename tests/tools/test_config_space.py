"""The space of valid configs: every config the validator accepts builds a paper with no
exception, no warning and no verdict on missing data; every other is refused in one line.

Configs are drawn from workflow/schemas/config.schema.yaml with its sizes capped
(lnpaper.tools.config_space), built in process as the rules build them
(lnpaper.tools.config_sweep.build_in_process). ``make test-configs`` runs the named edge cases
and drawn configs through Snakemake.
"""

from __future__ import annotations

import re

import pytest
from hypothesis import HealthCheck, given, settings

from conftest import ROOT
from lnpaper.manuscript.fill import CLAIM_BLOCK, COMMENT
from lnpaper.pipeline.config import ConfigError, load_yaml, validate
from lnpaper.report import claims  # noqa: F401  (registers the rules)
from lnpaper.report.verdicts import CLAIMS, VERDICTS
from lnpaper.tools import config_space, config_sweep

SCHEMA = load_yaml(ROOT / "workflow/schemas/config.schema.yaml")


def claim_groups(template: str) -> list[tuple[str, set[str]]]:
    """(claim id, verdicts) of each run of adjacent variant blocks of one claim."""
    text = COMMENT.sub("", template)
    groups: list[tuple[str, set[str]]] = []
    end = None
    for m in CLAIM_BLOCK.finditer(text):
        adjacent = groups and groups[-1][0] == m.group(1) and not text[end : m.start()].strip()
        if adjacent:
            groups[-1][1].update(m.group(2).split("|"))
        else:
            groups.append((m.group(1), set(m.group(2).split("|"))))
        end = m.end()
    return groups


@pytest.mark.parametrize("language", ["vi", "en"])
def test_every_claim_sentence_has_a_variant_for_every_verdict_its_rule_can_give(language):
    produces = {c.claim_id: set(c.produces) for c in CLAIMS}
    groups = claim_groups((ROOT / f"manuscript/paper.{language}.md").read_text("utf-8"))
    assert groups
    missing = [
        f"{cid}: {sorted(produces[cid] - said)}" for cid, said in groups if produces[cid] - said
    ]
    assert missing == []


def test_not_measured_is_a_verdict_with_words_in_both_languages():
    from lnpaper.report.claim_text import verdict_word

    assert "not_measured" in VERDICTS
    assert verdict_word("not_measured", "en") == "not measured"
    assert verdict_word("not_measured", "vi") != "not_measured"


def test_tiny_schema_keeps_types_and_caps_sizes():
    tiny = config_space.tiny_schema(SCHEMA)
    assert tiny["properties"]["matmul"]["properties"]["steps"]["maximum"] == 12
    assert tiny["properties"]["transformer"]["properties"]["n_seeds"]["minimum"] == 2
    assert "mlflow" not in tiny["properties"]
    validate(config_space.micro_config(), SCHEMA)  # the base of drawn configs is valid


REFUSED = {
    "precision-float16-only": "precision.dtypes",
    "training-test-fraction-tiny": "training.test_fraction",
    "transformer-archs-none": "transformer.archs",
    "transformer-one-seed": "transformer.n_seeds",
    "precision-offset-zero": "precision.offsets",
    "batch-sizes-one": "batch_dependence.batch_sizes",
    "batch-sizes-two": "batch_dependence.batch_sizes",
    "affine-gamma-negative": "affine.gamma[0]",
    "data-shape-1x1": "data.shapes[0]",
    "data-std-zero": "layernorm_stats.correlation_input_moments[0][1]",
    "transformer-warmup-too-long": "transformer.warmup_steps",
    "precision-no-float32": "precision.dtypes",
    "affine-gamma-zero": "affine.gamma[0]",
}


def test_edge_cases_that_measure_nothing_are_refused_in_one_line_naming_the_key():
    cases = config_sweep.edge_cases()
    assert len(cases) == 29
    for name, key in REFUSED.items():
        with pytest.raises(ConfigError) as err:
            validate(cases[name], SCHEMA)
        assert str(err.value).startswith(f"{key}: "), (name, str(err.value))
        assert "\n" not in str(err.value)
    accepted = [n for n in cases if n not in REFUSED]
    for name in accepted:
        validate(cases[name], SCHEMA)


@pytest.mark.slow
def test_any_number_of_scales_and_depths_and_claims_without_their_condition(one_torch_thread):
    """Six scales, five Transformer depths (more than the figures' named colours and styles), a
    gamma/beta grid without gamma = 3, beta = 5, no whole-tensor scope: builds, and the claims
    about what was not run say not_measured."""
    import warnings

    cfg = config_sweep.variant(
        config_space.micro_config(),
        language="en",
        **{
            "matmul.scales": [0.25, 0.5, 1.0, 1.5, 2.0, 3.0],
            "transformer.layers": [1, 2, 3, 4, 5],
            "affine.gamma": [1.0],
            "affine.beta": [0.0],
            "layernorm_stats.normalized_over": ["row", "column"],
        },
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        built = config_sweep.build_in_process(cfg)
    verdict = built.claims.set_index("claim_id")["verdict"]
    assert verdict["5.3-gamma3-beta5"] == "not_measured"
    assert verdict["4.1.2b-whole-tensor-r-1"] == "not_measured"
    row = built.claims.set_index("claim_id").loc["5.3-gamma3-beta5"]
    assert "not in this config's grid" in row["measured"]
    assert config_sweep.problems(built) == []
    counted = built.numbers.set_index("name").loc["ClaimsNotMeasured", "value"]
    assert counted == (verdict == "not_measured").sum() >= 2
    assert re.search(r"claims are not measured", built.paper)


# A few dozen drawn configs in about a minute: each is refused in one line, or builds with no
# exception, no warning (turned into errors) and no firm verdict on missing data. derandomize:
# the same examples on every run and machine; deadline off: the time of one build varies with the
# machine's load, the example count bounds the total.
@pytest.mark.slow
@settings(
    max_examples=24,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(config_space.tiny_configs())
def test_drawn_configs_are_refused_in_one_line_or_build_a_paper(config):
    import torch

    torch.set_num_threads(1)
    outcome = config_sweep.check_config(config)
    assert outcome.startswith(("refused: ", "built"))
