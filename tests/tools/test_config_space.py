"""The space of valid configs (lnpaper.tools.config_space): every claim sentence has a variant
for each verdict its rule can give, the capped schema keeps its types, and the edge cases that
measure nothing are refused in one line naming the key. Builds of drawn configs:
e2e/test_config_space_builds.py; ``make test-configs`` runs them through Snakemake."""

from __future__ import annotations

import pytest

from conftest import ROOT
from lnpaper.manuscript.fill import CLAIM_BLOCK, COMMENT
from lnpaper.manuscript.front import prose
from lnpaper.pipeline import registry
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
    groups = claim_groups(prose(ROOT, language))  # the abstract's claims and the template's
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


def test_refusal_problem_accepts_one_line_naming_the_key_only():
    cases = config_sweep.edge_cases()
    assert config_sweep.refusal_problem(cases["data-shape-1x1"]) is None
    assert config_sweep.refusal_problem(cases["tiny"]) == "accepted"


def test_drawn_sweep_configs_change_one_experiment_section_of_the_tiny_config():
    tiny = config_sweep.tiny_config()
    drawn = config_sweep.drawn_configs(4)
    assert len(drawn) == 4
    sections = []
    for cfg in drawn.values():
        changed = [k for k in set(cfg) | set(tiny) if cfg.get(k) != tiny.get(k)]
        assert len(changed) == 1 and changed[0] in registry.EXPERIMENTS, changed
        sections.append(changed[0])
    assert len(set(sections)) == 4  # one per section in turn


def test_placeholders_are_numbers_printed_as_a_dash_not_ranges_or_pages():
    paper = (
        'rate [–]{.num data-name="RateA" title="t"} and [0.2–0.5]{.num data-name="RangeB"}'
        ' and [[–](http://x)]{.num data-name="LinkedC" title="t"}\n'
        "- Newman (1986). Commun. Math. Phys. 103:121–126.\n"
        '| [–]{.num data-name="InTable"} |\n'
    )
    assert config_sweep.placeholders(paper) == ["RateA", "LinkedC"]
