"""Localized text of the claims table: the measured / theory / condition cells are composed from
the templates below (one per phrase, in Vietnamese and English), never typed as sentences in the
rules. A rule returns ``t(key, **values)``; ``render`` fills the template in the build's language.
Values: floats are formatted with ``numfmt.fmt``, ``Printed`` numbers (already written by
``numfmt``, e.g. an estimate at its interval's digits) pass unchanged, nested ``Text`` is
rendered, lists are joined with "; ", other strings are passed through ``labels.label`` (names
such as ``normal``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lnpaper.report.labels import label, texts
from lnpaper.report.numfmt import fmt

TEMPLATES: dict = texts("claim_templates")  # report/text.yaml

VERDICT_WORDS: dict = texts("verdict_words")  # report/text.yaml


class Printed(str):
    """A number already written by ``numfmt``: the claims text shows it as it is."""


@dataclass(frozen=True)
class Text:
    """A template key and the values that fill it."""

    key: str
    values: dict = field(default_factory=dict)

    def __post_init__(self):
        if self.key not in TEMPLATES:
            raise KeyError(f"no claim text template {self.key!r}")


def t(key: str, **values) -> Text:
    return Text(key, values)


def join(items, sep: str = "; ") -> Text:
    return Text("join", {"items": list(items), "_sep": sep})


def _value(v, language: str, sep: str = "; ") -> str:
    if isinstance(v, Text):
        return render(v, language)
    if isinstance(v, Printed):
        return str(v)
    if isinstance(v, (list, tuple)):
        return sep.join(_value(x, language) for x in v)
    if isinstance(v, str):
        return label(v, language)
    return fmt(v)


def render(text: Text | None, language: str) -> str:
    """The template of ``text`` in ``language`` (English if missing), filled."""
    if text is None:
        return ""
    tmpl = TEMPLATES[text.key]
    sep = text.values.get("_sep", "; ")
    values = {k: _value(v, language, sep) for k, v in text.values.items() if k != "_sep"}
    return tmpl.get(language, tmpl["en"]).format(**values)


def verdict_word(verdict: str, language: str) -> str:
    """The verdict as the claims table shows it (labels.py), else the word above."""
    shown = label(verdict, language)
    if shown != verdict or language == "en":
        return shown
    words = VERDICT_WORDS[verdict]
    return words.get(language, words["en"])
