"""The templates state no value of their own: every number or set in the prose comes from a
placeholder (a quoted number, a config list) or is marked as the article's own words
(``{{#quote}} ... {{/quote}}``); every sentence that draws a conclusion from the data is bound to
a claim's verdict or a computed comparison, and is listed in ``manuscript/conclusions.yaml``."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from lnpaper.manuscript.conditions import COMPARISONS, groups, outcomes_of
from lnpaper.manuscript.fill import COMMENT

LANGUAGES = ("vi", "en")
QUOTE_BLOCK = re.compile(r"\{\{#quote\}\}.*?\{\{/quote\}\}", re.S)
PLACEHOLDER = re.compile(r"\{\{[^{}\n]*\}\}")
MATH = re.compile(r"\$\$.*?\$\$|\$[^$\n]+\$", re.S)
# a value set in math: a config variable related to a number or a set ("s<1", "\gamma \in \{")
MATH_VALUE = re.compile(
    r"(?<![A-Za-z\\])(?:s|k|n|B|G|N|\\gamma|\\beta|\\sigma)\s*(?:=|<|>|\\in)\s*"
    r"(?:[-−]?\d|\\\{\s*[-−]?\d)"
)
# a number standing alone (not part of float32, arXiv:1607, \lambda_1 ...)
NUMBER = re.compile(r"(?<![\w.\-_^])\d+(?:[.,]\d+)?(?![\w])")
NUMBER_WORDS = {
    "en": r"\b(?:two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)\b(?!-)",
    # "cả hai" is "both", "thứ hai" "second", "hai lượt" the two-pass algorithm's name
    "vi": r"(?<!cả )(?<!thứ )\b(?:hai|bốn|năm|sáu|bảy|tám|chín|mười)\b(?!-)(?! lượt)",
}
END = {"en": "# References", "vi": "# Tài liệu tham khảo"}


def template(language: str) -> str:
    return (ROOT / f"manuscript/paper.{language}.md").read_text("utf-8")


def prose_of(text: str, language: str) -> str:
    """The template's own words: no comments, no bibliography and nothing after it, no quotation,
    no placeholder (offsets kept, so line numbers stay the file's)."""
    blank = lambda m: re.sub(r"[^\n]", " ", m.group(0))  # noqa: E731
    text = COMMENT.sub(blank, text)
    cut = text.find(END[language])
    assert cut > 0, f"no {END[language]!r} heading"
    text = text[:cut]
    return PLACEHOLDER.sub(blank, QUOTE_BLOCK.sub(blank, text))


def typed_values(text: str, language: str) -> list[str]:
    body = prose_of(text, language)
    line = lambda pos: body.count("\n", 0, pos) + 1  # noqa: E731
    found = [f"{line(m.start())}: {m.group(0)!r} in math" for m in MATH_VALUE.finditer(body)]
    words = MATH.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), body)
    found += [f"{line(m.start())}: {m.group(0)!r}" for m in NUMBER.finditer(words)]
    found += [
        f"{line(m.start())}: {m.group(0)!r}"
        for m in re.finditer(NUMBER_WORDS[language], words, re.I)
    ]
    return sorted(found, key=lambda s: int(s.split(":")[0]))


@pytest.mark.parametrize("language", LANGUAGES)
def test_no_value_typed_in_the_prose(language):
    assert typed_values(template(language), language) == []


def test_the_scan_finds_a_typed_value_a_set_and_a_relation():
    text = "# A\n\nWe ran 50 steps with four seeds; $\\gamma \\in \\{1,2\\}$ and $s<1$.\n# References\n"
    found = typed_values(text, "en")
    assert [f.split(": ", 1)[1] for f in found] == [
        "'\\\\gamma \\\\in \\\\{1' in math",
        "'s<1' in math",
        "'50'",
        "'four'",
    ]
    quoted = "# A\n\n{{#quote}}its std 1.02{{/quote}}, {{num:Seed}}, $\\sqrt{2/k}$.\n# References\n"
    assert typed_values(quoted, "en") == []


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_bound_sentence_has_a_variant_for_every_outcome(language):
    """A comparison can come out above, below, undecided or not measured, a number measured or
    not: each group of ``#when`` variants names every outcome (an empty variant drops the
    sentence), so no build falls on a case the text does not cover."""
    text = COMMENT.sub("", template(language))
    found = groups(text)
    assert {head for head, _, _ in found} >= set(COMPARISONS)
    missing = [
        f"{head}: {sorted(set(outcomes_of(head)) - said)}"
        for head, said, _ in found
        if set(outcomes_of(head)) - said
    ]
    assert missing == []


def test_a_comparison_is_decided_only_by_intervals_that_do_not_overlap():
    from lnpaper.manuscript.conditions import order

    assert order((0.8, 0.9), (0.1, 0.3)) == "above"
    assert order((0.1, 0.3), (0.8, 0.9)) == "below"
    assert order((0.2, 0.5), (0.4, 0.9)) == "undecided"
    assert order((0.1, 0.1), (0.1, 0.1)) == "undecided"  # a level equal to chance
    assert order((float("nan"), 0.3), (0.1, 0.1)) == "not_measured"


def _build(numbers: dict[str, float], language: str = "en"):
    import pandas as pd

    from lnpaper.manuscript import fill

    frame = pd.DataFrame(
        {
            "name": list(numbers),
            "value": list(numbers.values()),
            "text": [f"{v:g}" for v in numbers.values()],
            "step": "numbers",
            "file": "x",
        }
    )
    on = {e: {"enabled": True} for e in fill.registry.EXPERIMENTS}
    return fill.Build(
        {**on, "affine": {"enabled": True, "gamma": [1.0, 4.0], "beta": [0.0]}},
        language,
        frame,
        {},
        {},
        {},
    )


def test_a_number_without_value_stops_the_fill_naming_it_and_why():
    from lnpaper.manuscript import fill
    from lnpaper.manuscript.conditions import MissingNumber

    text = "For gamma 3 we measure {{num:AffineMeanGammaThreeBetaFive}}."
    with pytest.raises(MissingNumber, match=r"AffineMeanGammaThreeBetaFive.*no row for it"):
        fill.fill(text, _build({"AffineMeanGammaThreeBetaFive": float("nan")}))
    with pytest.raises(
        MissingNumber, match=r"AffineMeanGammaThreeBetaFive.*not part of this build"
    ):
        fill.fill(text, _build({}))
    bound = (
        "{{#when AffineMeanGammaThreeBetaFive measured}}We measure "
        "{{num:AffineMeanGammaThreeBetaFive}}.{{/when}}{{#when AffineMeanGammaThreeBetaFive "
        "not_measured}}Not measured.{{/when}}"
    )
    assert fill.fill(bound, _build({"AffineMeanGammaThreeBetaFive": float("nan")})) == (
        "Not measured."
    )
    out = fill.fill(bound, _build({"AffineMeanGammaThreeBetaFive": 5.0}))
    assert out.startswith("We measure [5]") and "Not measured" not in out


def test_a_comparison_keeps_the_variant_of_its_outcome_and_lists_print_the_config():
    from lnpaper.manuscript import fill
    from lnpaper.manuscript.conditions import NoVariant

    text = (
        "{{#when TrainLayerNormVsNone above}}LN higher.{{/when}}"
        "{{#when TrainLayerNormVsNone undecided}}Undecided.{{/when}}"
        "{{#when TrainLayerNormVsNone below|not_measured}}{{/when}} $\\gamma \\in \\{{{list:AffineGammas}}\\}$"
    )
    bounds = [
        "TrainAccLayerNormLow",
        "TrainAccLayerNormHigh",
        "TrainAccNoneLow",
        "TrainAccNoneHigh",
    ]
    higher = _build(dict(zip(bounds, [0.8, 0.9, 0.1, 0.3])))
    assert fill.fill(text, higher) == "LN higher. $\\gamma \\in \\{1, 4\\}$"
    overlap = _build(dict(zip(bounds, [0.2, 0.9, 0.1, 0.3])))
    assert fill.fill(text, overlap).startswith("Undecided.")
    assert fill.fill(text, _build({})).startswith(" $\\gamma")
    with pytest.raises(NoVariant, match="TrainLayerNormVsNone = below"):
        fill.fill(text.replace("below|", ""), _build(dict(zip(bounds, [0.1, 0.2, 0.5, 0.9]))))


def test_the_manuscript_steps_config_holds_every_list_the_templates_print():
    """The manuscript rule gets ``manuscript_config`` (not the whole config): every
    ``{{list:...}}`` of the templates must print from it."""
    from lnpaper.manuscript.conditions import LISTS, RESULT_LISTS, list_text, manuscript_config
    from lnpaper.pipeline import registry
    from lnpaper.pipeline.config import load_yaml, validate

    cfg = validate(
        load_yaml(ROOT / "config.yaml"), load_yaml(ROOT / "workflow/schemas/config.schema.yaml")
    )
    small = manuscript_config(cfg, registry.EXPERIMENTS)
    for language in LANGUAGES:
        for name in re.findall(r"\{\{list:([A-Za-z]+)\}\}", COMMENT.sub("", template(language))):
            if name in RESULT_LISTS:  # read from the claims table (tests/report/test_replication)
                continue
            assert list_text(name, small, language) == list_text(name, cfg, language)
    assert set(LISTS) | set(RESULT_LISTS) >= set(
        re.findall(r"\{\{list:([A-Za-z]+)\}\}", COMMENT.sub("", template("en")))
    )
    assert small["affine"] == {"enabled": True, "gamma": [1.0, 2.0, 3.0], "beta": [0.0, 2.0, 5.0]}
