"""Tables and figures numbered in the order the paper shows them, and references to them.

The fill step numbers every table and figure the build shows (``{{table:x}}`` and
``{{figure:x}}`` whose experiment is on; a left-out one becomes a note and gets no number), each
kind on its own, main text then supplement, and writes the label into the caption itself
("Table 3: ...", "Hình 2: ..."). ``{{ref:table:x}}`` / ``{{ref:figure:x}}`` in the prose print
"Table 3" / "Hình 2". Every output takes the caption as written: HTML and docx (pandoc numbers
nothing there), the PDF (Typst's own numbering is switched off, ``render.TYPST_HEADER``), the
arXiv source and main.tex (LaTeX's label is switched off, ``\\captionsetup{labelformat=empty}``),
so the numbers in the text and on the captions are the same everywhere.
"""

from __future__ import annotations

import re

from lnpaper.manuscript.template import TemplateError
from lnpaper.report.labels import texts

REF = re.compile(r"\{\{ref:(table|figure):([A-Za-z_]+)\}\}")
SHOWN = re.compile(r"^\{\{(table|figure):([A-Za-z_]+)\}\}$", re.M)
KINDS = ("table", "figure")


class UnnumberedReference(TemplateError):
    """The prose refers by number to a table or figure this build does not show."""


def numbering(text: str, shown) -> dict[str, int]:
    """``"table:x"`` / ``"figure:x"`` -> its number: the order of first appearance on a line of
    its own in ``text`` (blocks already resolved), counted per kind, of those ``shown(kind,
    name)`` says the build shows."""
    out: dict[str, int] = {}
    count = dict.fromkeys(KINDS, 0)
    for m in SHOWN.finditer(text):
        kind, name = m.groups()
        key = f"{kind}:{name}"
        if key in out or not shown(kind, name):
            continue
        count[kind] += 1
        out[key] = count[kind]
    return out


def label(kind: str, n: int, language: str) -> str:
    """``Table 3`` / ``Bảng 3``, ``Figure 2`` / ``Hình 2``."""
    words = texts("manuscript_notes")[f"{kind}_label"]
    return f"{words.get(language, words['en'])} {n}"


def labelled(caption: str, kind: str, name: str, numbers: dict[str, int], language: str) -> str:
    """The caption with its label in front, when the table or figure is numbered."""
    n = numbers.get(f"{kind}:{name}")
    return caption if n is None else f"{label(kind, n, language)}: {caption}"


def resolve_refs(text: str, numbers: dict[str, int], language: str) -> str:
    """Every ``{{ref:kind:name}}`` replaced by its label; ``UnnumberedReference`` naming the
    first one the build does not show (the sentence belongs in a ``{{#requires}}`` block)."""

    def ref(m: re.Match) -> str:
        key = f"{m.group(1)}:{m.group(2)}"
        if key not in numbers:
            raise UnnumberedReference(
                f"{m.group(0)} refers to a {m.group(1)} this build does not show; put the "
                f"sentence in a {{{{#requires {key}}}}} block"
            )
        return label(m.group(1), numbers[key], language)

    return REF.sub(ref, text)


def referenced_by_number(text: str) -> set[str]:
    """``"table:x"`` / ``"figure:x"`` of every ``{{ref:...}}`` in a template."""
    return {f"{k}:{n}" for k, n in REF.findall(text)}
