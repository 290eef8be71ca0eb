"""Front matter and references of the filled paper: one YAML metadata block at the top of
paper.md, so the Markdown carries everything pandoc needs to render it in any format.

``manuscript/front.<language>.yaml`` is the one place of the paper's title, authors, date,
abstract and keywords: pandoc reads them from the block for the HTML page, the Typst PDF and the
docx, and the arXiv source, the JATS article and the bundle's LaTeX and MECA manifest read them
from the same block or file. The abstract is written with the template's markup (``{{num:}}``,
``{{#claim}}``, ``{{#quote}}``, ...) and filled by the same fill step as the body, so a number it
lacks stops the build by name; the block carries the filled text as pandoc's ``abstract``.

The block also holds the references of ``manuscript/references.bib`` as CSL data (pandoc's
``references:`` field); every render runs pandoc with ``--citeproc``, which turns ``[@key]``
into a citation and lists the cited works, in the paper's language, where the text has
``::: {#refs}``. Only cited works are listed, and a citation without an entry is an error here,
not a "???" in a PDF.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import yaml


class CitationError(ValueError):
    """A citation whose key the bibliography does not have."""


def read_front(front_file: Path | None) -> dict:
    """The front file's fields ({} without one); the abstract still unfilled."""
    if front_file is None:
        return {}
    return dict(yaml.safe_load(Path(front_file).read_text(encoding="utf-8")) or {})


def abstract_markup(text: str) -> str:
    """The abstract of a front file's text, preceded by as many newlines as lines stand before
    it in the file, so that a template problem or a fill error names the file's line."""
    root = yaml.compose(text)
    for key, value in getattr(root, "value", None) or []:
        if key.value == "abstract" and isinstance(value.value, str):
            # a block scalar (|) starts on the line after its indicator
            lines = value.start_mark.line + (1 if value.style in ("|", ">") else 0)
            return "\n" * lines + value.value
    return ""


def prose(root: Path, language: str) -> str:
    """The paper's bound text of one language as written: the abstract of its front file, then
    its template (for checks that read every sentence the fill step binds)."""
    root = Path(root)
    front = (root / f"manuscript/front.{language}.yaml").read_text(encoding="utf-8")
    template = (root / f"manuscript/paper.{language}.md").read_text(encoding="utf-8")
    return abstract_markup(front).lstrip("\n") + "\n\n" + template


class _Dumper(yaml.SafeDumper):
    """YAML with every multi-line text as a literal block: the abstract stays Markdown a reader
    (and a regular expression over paper.md) sees as written."""


def _text(dumper: yaml.SafeDumper, data: str):
    # the emitter falls back to a quoted text where a literal block cannot hold it exactly
    style = "|" if "\n" in data else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


_Dumper.add_representer(str, _text)


def dump_block(meta: dict) -> str:
    """A pandoc metadata block of ``meta`` ("" when empty)."""
    if not meta:
        return ""
    dumped = yaml.dump(meta, Dumper=_Dumper, allow_unicode=True, sort_keys=False, width=1000)
    return f"---\n{dumped}---\n\n"


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


def front_block(
    markdown: str, front_file: Path | None, bib_file: Path | None, abstract: str = ""
) -> str:
    """The YAML metadata block to put before the filled text: front matter, the filled
    ``abstract`` (the file's markup never goes out unfilled) and the references the abstract and
    the text cite. Raises CitationError naming each key the bibliography lacks."""
    meta = read_front(front_file)
    meta.pop("abstract", None)
    if abstract.strip():
        meta["abstract"] = "\n".join(line.rstrip() for line in abstract.strip().splitlines())
    if bib_file is not None:
        items = {item["id"]: item for item in bibliography(bib_file)}
        keys = cited_keys(abstract + "\n\n" + markdown)
        unknown = [k for k in keys if k not in items]
        if unknown:
            raise CitationError(
                f"cited but not in {Path(bib_file).name}: {', '.join('@' + k for k in unknown)}"
            )
        meta["references"] = [items[k] for k in keys]
    return dump_block(meta)


def split_front(markdown: str) -> tuple[dict, str]:
    """(metadata, text) of a Markdown that may start with a YAML metadata block."""
    m = re.match(r"---\n(.*?\n)---\n\n?", markdown, flags=re.S)
    if not m:
        return {}, markdown
    return yaml.safe_load(m.group(1)) or {}, markdown[m.end() :]
