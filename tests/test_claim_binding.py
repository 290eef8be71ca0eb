"""Prose bound to verdicts: claim blocks keep the variant the claims table gives, inline verdicts
follow the table, and a sentence asserting a verdict the table does not give stops the build."""

from __future__ import annotations

import re

import pandas as pd
import pytest

from conftest import ROOT
from lnpaper.manuscript import fill
from lnpaper.manuscript.template import TemplateError
from lnpaper.pipeline import registry
from lnpaper.report import claims, verdicts  # claims registers the rules

TEMPLATES = {  # without the notes to authors (comments), which show the syntax
    lang: fill.COMMENT.sub("", (ROOT / f"manuscript/paper.{lang}.md").read_text(encoding="utf-8"))
    for lang in ("vi", "en")
}
ALL_ON = {e: {"enabled": True} for e in registry.EXPERIMENTS}


def build(claims: dict | None, language: str = "en") -> fill.Build:
    return fill.Build(
        config=ALL_ON,
        language=language,
        numbers=pd.DataFrame({"name": [], "value": [], "text": []}),
        tables={},
        captions={},
        traces={},
        claims=claims,
    )


A = "5.1-layernorm-stabilises"  # a registered claim: a template may bind only those
TPL = (
    f"Intro. {{{{#claim {A} holds}}}}A is true.{{{{/claim}}}}{{{{#claim {A} fails|inconclusive}}}}"
    f"A is not shown.{{{{/claim}}}} Verdict: {{{{claim:{A}}}}}."
)


def test_the_variant_of_the_table_verdict_is_kept_and_flipping_it_changes_the_text():
    held = fill.fill(TPL, build({A: "holds"}))
    assert "A is true." in held and "not shown" not in held
    assert 'data-verdict="holds"' in held and "[holds]" in held
    failed = fill.fill(TPL, build({A: "fails"}))
    assert "A is not shown." in failed and "A is true" not in failed
    assert fill.fill(TPL, build({A: "fails"}, "vi")).count("[sai]") == 1


def test_a_verdict_no_variant_covers_stops_with_one_line_naming_the_sentence():
    with pytest.raises(fill.ClaimMismatch) as err:
        fill.fill(TPL, build({A: "holds_only_if"}))
    msg = str(err.value)
    assert "\n" not in msg
    assert '"A is true."' in msg and f"claim {A}" in msg and "holds_only_if" in msg


def test_unknown_verdicts_in_the_text_are_rejected_and_absent_claims_dropped():
    with pytest.raises(TemplateError, match="template:1: unknown verdict 'maybe'"):
        fill.fill(f"{{{{#claim {A} maybe}}}}x{{{{/claim}}}}", build({A: "holds"}))
    out = fill.fill(TPL, build({}))  # claim not in this build: its sentences drop out
    assert "A is" not in out and "Intro." in out


@pytest.mark.parametrize("language", ["vi", "en"])
def test_manuscripts_bind_only_registered_claims_and_valid_verdicts(language):
    ids = {c.claim_id for c in verdicts.CLAIMS}
    assert ids and claims.CLAIMS is verdicts.CLAIMS
    blocks = fill.CLAIM_BLOCK.findall(TEMPLATES[language])
    inline = fill.CLAIM_INLINE.findall(TEMPLATES[language])
    assert blocks, "the manuscript binds sentences to claims"
    assert {cid for cid, _, _ in blocks} | set(inline) <= ids
    for _, said, _ in blocks:
        assert set(said.split("|")) <= set(verdicts.VERDICTS)


@pytest.mark.parametrize("language", ["vi", "en"])
def test_both_manuscripts_bind_the_same_claims_with_the_same_variants(language):
    def variants(text):
        return sorted((cid, said) for cid, said, _ in fill.CLAIM_BLOCK.findall(text))

    assert variants(TEMPLATES[language]) == variants(TEMPLATES["en"])


def test_the_precision_prose_follows_the_claim_not_a_fixed_statement():
    # the old text said "two-pass and Welford keep the error small" whatever was measured
    text = TEMPLATES["en"]
    assert "keep the error small" not in text
    section = text[text.index("## Numerical precision") : text.index("## Training")]
    assert "{{#claim 9-numerically-stable holds_only_if}}" in section


@pytest.mark.slow  # it reads the shared tiny build
def test_flipping_a_verdict_on_the_tiny_build_changes_the_text_or_stops_it(tiny_build):
    work, proc = tiny_build
    assert proc.returncode == 0, proc.stderr[-3000:]
    table = fill.read_claim_verdicts(work / "results/tables/claims.csv")
    paper = (work / "results/manuscript/paper.md").read_text(encoding="utf-8")
    # the built text carries exactly the table's verdicts
    inline = re.findall(r'data-claim="([^"]+)" data-verdict="([^"]*)"', paper)
    assert inline
    for cid, verdict in inline:
        assert table[cid] == verdict
    text = TEMPLATES["vi"]  # the tiny config builds the Vietnamese paper
    base = fill.bind_claims(text, table, "vi")
    flipped_any = False
    blocks = fill.CLAIM_BLOCK.findall(text)
    for cid in sorted({c for c, _, _ in blocks} & set(table)):
        for other in verdicts.VERDICTS:
            if other == table[cid]:
                continue
            try:
                out = fill.bind_claims(text, {**table, cid: other}, "vi")
            except fill.ClaimMismatch as err:
                assert cid in str(err) and other in str(err)
                continue
            variants = [set(said.split("|")) for c, said, _ in blocks if c == cid]
            # the text stays the same only if every block keeps or drops alike under both
            same_variant = all((table[cid] in v) == (other in v) for v in variants)
            assert (out == base) == same_variant, (cid, other)
            flipped_any |= not same_variant
    assert flipped_any
