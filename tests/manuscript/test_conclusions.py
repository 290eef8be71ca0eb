"""Every sentence of the paper's prose (the abstract of the front file and the template) that
draws a conclusion from the data is bound to a claim's verdict or to a comparison of measured
intervals, and is listed in manuscript/conclusions.yaml: a conclusion typed as fixed text, or a
bound one missing from the inventory, fails here."""

from __future__ import annotations

import re

import pytest
import yaml

from conftest import ROOT
from lnpaper.manuscript.conditions import COMPARISONS, WHEN_BLOCK
from lnpaper.manuscript.fill import CLAIM_BLOCK, COMMENT
from lnpaper.manuscript.front import prose

LANGUAGES = ("vi", "en")
INVENTORY = yaml.safe_load((ROOT / "manuscript/conclusions.yaml").read_text("utf-8"))
QUOTE_BLOCK = re.compile(r"\{\{#quote\}\}.*?\{\{/quote\}\}", re.S)
END = {"en": "# References", "vi": "# Tài liệu tham khảo"}


def _blank(m: re.Match) -> str:
    return re.sub(r"[^\n]", " ", m.group(0))


def body(text: str, language: str) -> str:
    """The template's prose up to the bibliography: comments and quotations of the article
    blanked (offsets kept)."""
    text = QUOTE_BLOCK.sub(_blank, COMMENT.sub(_blank, text))
    return text[: text.index(END[language])]


def bound_blocks(text: str) -> list[tuple[int, int, str]]:
    """(start, end, binding) of each block that binds a conclusion: a claim's verdict variant
    ("claim ID") or a comparison's outcome variant ("when Comparison")."""
    out = [(m.start(), m.end(), f"claim {m.group(1)}") for m in CLAIM_BLOCK.finditer(text)]
    out += [
        (m.start(), m.end(), f"when {m.group(1)}")
        for m in WHEN_BLOCK.finditer(text)
        if m.group(1) in COMPARISONS
    ]
    return out


def conclusions(text: str, language: str) -> list[tuple[int, str, str | None, str]]:
    """(line, phrase, binding or None, the binding's text) of each conclusion phrase."""
    prose = body(text, language)
    words = " ".join(INVENTORY["vocabulary"][language].split())
    vocabulary = re.compile(words.replace(" ", r"\s+"), re.I)  # a phrase may span lines
    blocks = bound_blocks(prose)
    out = []
    for m in vocabulary.finditer(prose):
        inner = [b for b in blocks if b[0] <= m.start() < b[1]]
        binding = min(inner, key=lambda b: b[1] - b[0]) if inner else None
        texts = " ".join(prose[a:b] for a, b, name in blocks if binding and name == binding[2])
        line = prose.count("\n", 0, m.start()) + 1
        out.append((line, m.group(0), binding[2] if binding else None, texts))
    return out


def listed(language: str) -> dict[str, list[str]]:
    return {e["binds"]: e[language] for e in INVENTORY["sentences"]}


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_conclusion_is_bound_and_listed(language):
    found = conclusions(prose(ROOT, language), language)
    assert found, "the vocabulary finds the bound conclusions"
    unbound = [f"{line}: {phrase!r}" for line, phrase, binding, _ in found if binding is None]
    assert unbound == [], "conclusions typed as fixed text"
    inventory = listed(language)
    unlisted = sorted(
        {
            f"{binding} ({phrase!r}, line {line})"
            for line, phrase, binding, texts in found
            if binding not in inventory
            or not any(
                " ".join(p.split()).lower() in " ".join(texts.split()).lower()
                for p in inventory[binding]
            )
        }
    )
    assert unlisted == [], "bound conclusions missing from manuscript/conclusions.yaml"


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_inventory_lists_only_bindings_the_template_has(language):
    text = body(prose(ROOT, language), language)
    present = {name for _, _, name in bound_blocks(text)}
    assert set(listed(language)) - present == set()


def test_a_typed_conclusion_fails_and_a_bound_one_passes():
    typed = "# A\n\nAt this depth LayerNorm is indeed what makes the network trainable.\n"
    found = conclusions(typed + END["en"] + "\n", "en")
    assert [binding for _, _, binding, _ in found] == [None, None]
    bound = (
        "# A\n\n{{#when TrainLayerNormVsNone above}}LayerNorm makes the network train better"
        "{{/when}}{{#when TrainLayerNormVsNone undecided}}The runs do not decide.{{/when}}\n"
    )
    found = conclusions(bound + END["en"] + "\n", "en")
    assert {binding for _, _, binding, _ in found} == {"when TrainLayerNormVsNone"}
