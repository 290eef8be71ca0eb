"""Front matter and references of the filled paper: one YAML metadata block at the top of
paper.md, so the Markdown carries everything pandoc needs to render it in any format.

The block holds the authors, date and keywords of ``manuscript/front.<language>.yaml`` and the
references of ``manuscript/references.bib`` as CSL data (pandoc's ``references:`` field); every
render runs pandoc with ``--citeproc``, which turns ``[@key]`` into a citation and lists the
cited works, in the paper's language, where the text has ``::: {#refs}``. Only cited works are
listed, and a citation without an entry is an error here, not a "???" in a PDF.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml


class CitationError(ValueError):
    """A citation whose key the bibliography does not have."""


def bibliography(bib_file: Path) -> list[dict]:
    """The BibTeX file as CSL JSON items (pandoc's own BibTeX reader)."""
    import pypandoc

    return json.loads(
        pypandoc.convert_text(
            Path(bib_file).read_text(encoding="utf-8"), "csljson", format="bibtex"
        )
    )


def cited_keys(markdown: str) -> list[str]:
    """Citation keys of pandoc's syntax (``[@a; @b]``, ``@a``), in order of first use; e-mail
    addresses and ``{@...}`` are not citations."""
    keys = re.findall(r"(?<![\w@.])@([A-Za-z][\w:.#$%&+?<>~/-]*[A-Za-z0-9])", markdown)
    return list(dict.fromkeys(keys))


def front_block(markdown: str, front_file: Path | None, bib_file: Path | None) -> str:
    """The YAML metadata block to put before the filled text: front matter and the references
    the text cites. Raises CitationError naming each key the bibliography lacks."""
    meta = dict(yaml.safe_load(Path(front_file).read_text(encoding="utf-8")) or {})
    if bib_file is not None:
        items = {item["id"]: item for item in bibliography(bib_file)}
        keys = cited_keys(markdown)
        unknown = [k for k in keys if k not in items]
        if unknown:
            raise CitationError(
                f"cited but not in {Path(bib_file).name}: {', '.join('@' + k for k in unknown)}"
            )
        meta["references"] = [items[k] for k in keys]
    if not meta:
        return ""
    dumped = yaml.safe_dump(meta, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{dumped}---\n\n"


def split_front(markdown: str) -> tuple[dict, str]:
    """(metadata, text) of a Markdown that may start with a YAML metadata block."""
    m = re.match(r"---\n(.*?\n)---\n\n?", markdown, flags=re.S)
    if not m:
        return {}, markdown
    return yaml.safe_load(m.group(1)) or {}, markdown[m.end() :]
