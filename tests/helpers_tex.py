"""Reading back what the pipeline writes in TeX, for the tests."""

from __future__ import annotations

import re


def parse_tex(text: str) -> dict[str, list[str]]:
    """name -> list of definitions in a numbers.tex (each list must have length 1)."""
    found: dict[str, list[str]] = {}
    for m in re.finditer(r"\\newcommand\{\\([A-Za-z]+)\}\{(.*)\}\s*$", text, flags=re.M):
        found.setdefault(m.group(1), []).append(m.group(2))
    return found
