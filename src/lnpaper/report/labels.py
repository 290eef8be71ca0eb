"""Human-readable names for columns and values, in Vietnamese (default) and English.

CSV files keep the machine names (``growth_rate_mean``); Markdown, LaTeX and figures use these.
Unknown keys fall back to the key itself, so a new column never breaks a table.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import yaml

from lnpaper.pipeline.inputs import InputError
from lnpaper.pipeline.yamlfile import safe_load

# the data file rules list as input with this module (lnpaper.pipeline.deps reads DATA_FILES)
DATA_FILES = ["text.yaml"]


@functools.cache
def _text_file() -> dict:
    path = Path(__file__).parent / DATA_FILES[0]
    try:
        return safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:  # lnpaper.manuscript.template checks it at the start
        mark = getattr(exc, "problem_mark", None)
        raise InputError(f"{path}:{mark.line + 1 if mark else 1}: not valid YAML") from None


def texts(section: str) -> dict:
    """One section of report/text.yaml: key -> {vi, en} (or a template / word per language)."""
    try:
        return _text_file()[section]
    except (KeyError, TypeError):
        raise InputError(f"src/lnpaper/report/text.yaml has no section '{section}'") from None


LABELS: dict = texts("labels")  # report/text.yaml


# keys built from a value ("beta=2" -> "β = 2": the column of one β in the 3 x 3 grid), or with a
# number inside ("output_std_b8_ci": the interval of the spread at batch size 8)
PATTERNS: dict = texts("label_patterns")  # report/text.yaml
# messages a library wrote (English) -> the reader's language; the message itself stays in the CSV
MESSAGES: dict = texts("label_messages")  # report/text.yaml


def label(key: object, language: str = "vi") -> str:
    text = str(key)
    entry = LABELS.get(text)
    if entry:
        return entry.get(language, entry["en"])
    for start, forms in MESSAGES.items():
        if text.startswith(start):
            return forms.get(language, forms["en"])
    for pattern, forms in PATTERNS.items():
        form = forms.get(language, forms["en"])
        if "{}" in pattern:  # a whole number inside the key: output_std_b{}_ci
            m = re.fullmatch(re.escape(pattern).replace(r"\{\}", r"(\d+)"), text)
            if m:
                return form.format(m.group(1))
        elif text.startswith(pattern):  # a prefix and the value after it: beta=2
            return form.format(text[len(pattern) :])
    return text
