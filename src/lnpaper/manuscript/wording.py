"""The reader's wording of a filled paper: one term per concept (``manuscript/glossary.yaml``),
every abbreviation defined where it first appears, no raw identifier and no template artefact in
the main text, numbers in one format, and quotations of the article in its own words.

``scan(paper, language)`` returns what it finds in the main text (from the first section to the
bibliography or the supplement, whichever comes first) by category. The provenance the HTML
keeps in hover titles and the caption traces (``[Provenance: ...]{.trace}``) are removed first:
they name steps, hashes and runs on purpose. Math is removed before the identifier, term and
abbreviation scans (``$\\lambda_1$`` is notation, not code)."""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from lnpaper.report.labels import texts

ROOT = Path(__file__).resolve().parents[3]
GLOSSARY = ROOT / "manuscript/glossary.yaml"
ARTICLE = ROOT / "docs/original-article.vi.txt"

CATEGORIES = ("identifiers", "abbreviations", "terms", "artefacts", "numbers")
NOTES: dict = texts("manuscript_notes")  # report/text.yaml: the trace's and supplement's words
END = {
    lang: ("\n# " + heading, "\n# " + NOTES["supplement"][lang])
    for lang, heading in (("vi", "Tài liệu tham khảo"), ("en", "References"))
}
TRACE_HEADS = tuple(f"[{word}:" for word in NOTES["trace"].values())

IDENTIFIERS = {
    "claim id": r"\b\d+(?:\.\d+)*[a-z]?-[a-z][a-z0-9.]*(?:-[a-z0-9.]+)+",
    "snake_case": r"\b[A-Za-z][A-Za-z0-9]*_[A-Za-z0-9_]+\b",
    "path": r"[\w/.-]+\.(?:parquet|csv|json|yaml|py)\b|\bresults/[\w/.-]+",
    "hash": r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{12,40}\b",
    "code formula": r"\b(?:sqrt|exp|lambda|Gamma|sigma|eps|var)\(|\w\*\w|\^\d|<=|>=|>>",
}
ARTEFACTS = {
    "placeholder": r"\{\{|\}\}",
    "empty interval": r"–-–",
    "no seed": r"\b0/0 seed",
    "raw block": r"```\{=|\\begin\{|#pagebreak|#set page",
    "comment": r"<!--",
}
E_NUMBER = r"(?<![\w.])\d+(?:\.\d+)?[eE][+-]?\d+\b"
ABBREVIATION = r"(?<![\w\\])[A-ZĐ][A-ZĐ0-9]*[A-ZĐ][A-ZĐ0-9]*(?![\w])"
WINDOW = 120  # characters either side of an abbreviation's first use that may define it


@functools.cache
def glossary() -> dict:
    return yaml.safe_load(GLOSSARY.read_text(encoding="utf-8"))


def main_text(paper: str, language: str) -> str:
    """From the first section heading to the bibliography or the supplement (the first met)."""
    first = re.search(r"(?m)^# ", paper)
    start = first.start() if first else 0
    ends = [i for i in (paper.find(e, start) for e in END[language]) if i >= 0]
    return paper[start : min(ends) if ends else len(paper)]


def _drop_traces(text: str) -> str:
    """Remove each caption trace ``[Provenance: ...]{.trace ...}`` (nested links included)."""
    out, i = [], 0
    for m in re.finditer(r"\]\{\.trace[^}]*\}", text):
        head = max(text.rfind(word, i, m.start()) for word in TRACE_HEADS)
        if head < 0:
            continue
        out.append(text[i:head])
        i = m.end()
    return "".join(out) + text[i:]


def visible(text: str) -> str:
    """What a reader sees: attributes, hover titles, traces, link targets and citations gone."""
    text = re.sub(r"<!--.*?-->", "", text, flags=re.S)
    text = _drop_traces(text)
    text = re.sub(r"\{[#.][^{}]*\}", "", text)  # {.num title="..."}, {#fig:x width=...}
    text = re.sub(r"\]\((?:figures/|\.\./|https?://)[^)]*\)", "]", text)
    text = re.sub(r"\[-?@[\w:.-]+(?:;\s*-?@[\w:.-]+)*\]|(?<!\w)@[\w:-]*\w", "", text)
    return text


def without_math(text: str) -> str:
    text = re.sub(r"\$\$.*?\$\$", " ", text, flags=re.S)
    return re.sub(r"\$[^$\n]+\$", " ", text)


def without_code(text: str) -> str:
    return re.sub(r"`[^`\n]*`", " ", text)


def _line(text: str, at: int) -> str:
    start, end = text.rfind("\n", 0, at) + 1, text.find("\n", at)
    return text[start : end if end >= 0 else len(text)].strip()[:160]


def identifiers(text: str) -> list[str]:
    prose = without_math(text)
    return [
        f"{kind}: {m.group(0)!r} in {_line(prose, m.start())!r}"
        for kind, pattern in IDENTIFIERS.items()
        for m in re.finditer(pattern, prose)
    ]


def artefacts(text: str) -> list[str]:
    return [
        f"{kind}: {m.group(0)!r} in {_line(text, m.start())!r}"
        for kind, pattern in ARTEFACTS.items()
        for m in re.finditer(pattern, text)
    ]


def numbers(text: str) -> list[str]:
    prose = without_math(text)
    return [f"{m.group(0)!r} in {_line(prose, m.start())!r}" for m in re.finditer(E_NUMBER, prose)]


def abbreviations(text: str, language: str) -> list[str]:
    """An all-caps token (or a glossary abbreviation) whose first use has no definition beside it
    (the glossary's expansion within WINDOW characters); well-known ones need none."""
    gloss = glossary()
    known = gloss["abbreviations"]
    plain = without_code(without_math(text))
    tokens = {m.group(0) for m in re.finditer(ABBREVIATION, plain)}
    tokens |= {a for a in known if re.search(rf"(?<![\w]){re.escape(a)}(?![\w])", plain)}
    found = []
    for token in sorted(tokens - set(gloss["well_known"])):
        m = re.search(rf"(?<![\w]){re.escape(token)}(?![\w])", plain)
        expansion = (known.get(token) or {}).get(language)
        if expansion is None:
            found.append(f"{token}: not in the glossary, first in {_line(plain, m.start())!r}")
            continue
        near = plain[max(0, m.start() - WINDOW) : m.end() + WINDOW].lower()
        if expansion.lower() not in " ".join(near.split()):
            found.append(f"{token}: first use without '{expansion}': {_line(plain, m.start())!r}")
    return found


def terms(text: str, language: str) -> list[str]:
    """Words the glossary rules out in this language: another term for one of its concepts, or
    (in Vietnamese) an English word where the glossary chose a Vietnamese term. A word that is
    part of a code name (``torch.std``, ``F.layer_norm``) is not a term."""
    gloss = glossary()
    plain = " ".join(without_code(without_math(text)).split())
    found = []
    for concept, entry in gloss["terms"].items():
        for pattern in (entry.get("avoid") or {}).get(language, []):
            for m in re.finditer(pattern, plain, flags=re.I):
                found.append(f"{concept}: {m.group(0)!r} (use {entry[language]!r})")
    for word in gloss["english_words"].get(language, []):
        for m in re.finditer(rf"(?<![\w.-]){word}(?![\w(-])", plain, flags=re.I):
            around = plain[max(0, m.start() - 40) : m.end() + 40]
            found.append(f"English word {m.group(0)!r}: ...{around}...")
    return found


def scan(paper: str, language: str) -> dict[str, list[str]]:
    """Every finding in the main text of a filled paper, by category (CATEGORIES)."""
    raw = main_text(paper, language)
    text = visible(raw)
    return {
        "identifiers": identifiers(text),
        "abbreviations": abbreviations(text, language),
        "terms": terms(text, language),
        "artefacts": artefacts(without_math(_drop_traces(raw))),
        "numbers": numbers(text),
    }


def _normal(text: str) -> str:
    text = text.replace("\\approx", "≈").replace("\\gamma", "γ").replace("\\beta", "β")
    return re.sub(r"[\s$(){}\\,]", "", text).lower()


def misquotes(template: str, language: str, article: str | None = None) -> list[str]:
    """Quotations of the article in ``template`` that are not its words: every number of a
    ``{{#quote}}`` must occur in the article, and in the article's language (Vietnamese) so must
    a phrase in quotation marks inside it (spaces, math markup and case ignored). A translation
    quotes no phrase: it names the statement without quotation marks."""
    article = article if article is not None else ARTICLE.read_text(encoding="utf-8")
    source = _normal(article)
    found = []
    for m in re.finditer(r"\{\{#quote\}\}(.*?)\{\{/quote\}\}", template, flags=re.S):
        body = m.group(1)
        for phrase in re.findall(r"[\"“]([^\"”]+)[\"”]", body):
            if language != "vi" or _normal(phrase) not in source:
                found.append(f"quoted phrase not in the article: {phrase!r}")
        for number in re.findall(r"(?<![\w.])\d+(?:\.\d+)?", body):
            if not re.search(rf"(?<![\d.]){re.escape(number)}(?![\d])", article):
                found.append(f"number not in the article: {number!r} in {body!r}")
    return found
