"""The tiny build's paper carries the claims table's verdicts, and flipping any verdict changes
the bound text exactly where a claim block's variant changes, or stops with the claim named."""

from __future__ import annotations

import re

from conftest import TEMPLATES as WRITTEN
from lnpaper.manuscript import fill
from lnpaper.report import claims, verdicts  # noqa: F401  (claims registers the rules)

TEMPLATES = {  # without the notes to authors (comments), which show the syntax
    lang: fill.COMMENT.sub("", text) for lang, text in WRITTEN.items()
}


def without_inline(text: str) -> str:
    """The text without its inline verdicts (``{{claim:ID}}`` as filled)."""
    return re.sub(r'\[[^\]]*\]\{\.claim data-claim="[^"]+" data-verdict="[^"]*"\}', "", text)


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
    # the tiny config builds the Vietnamese paper; its lists of the claims with one verdict
    # ({{claims:holds}}) change with every flip by construction and are left out
    text = re.sub(r"\{\{claims:[a-z_]+\}\}", "", TEMPLATES["vi"])
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
            # the text stays the same only if every block keeps or drops alike under both (the
            # inline verdicts, {{claim:ID}}, print the verdict itself and are left out here)
            same_variant = all((table[cid] in v) == (other in v) for v in variants)
            assert (without_inline(out) == without_inline(base)) == same_variant, (cid, other)
            flipped_any |= not same_variant
    assert flipped_any
