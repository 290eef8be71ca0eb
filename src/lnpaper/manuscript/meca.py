"""The MECA layout of bundle.zip: ``manifest.xml`` lists every file with its role and media type.

MECA (Manuscript Exchange Common Approach, NISO RP-30-2023) moves a manuscript between journals
and preprint servers as a zip whose ``manifest.xml`` names each item: the article in its
formats, figures, tables, supplementary material and data.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from xml.sax.saxutils import escape, quoteattr

MEDIA_TYPES = {
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".html": "text/html",
    ".md": "text/markdown",
    ".tex": "application/x-tex",
    ".csv": "text/csv",
    ".json": "application/json",
    ".png": "image/png",
    ".xml": "application/xml",
    # the files a rebuild needs (manuscript/reproduce.py)
    ".parquet": "application/vnd.apache.parquet",
    ".yaml": "application/yaml",
    ".gz": "application/gzip",
    ".lock": "text/plain",
}
# the article in its formats; article.xml is JATS, the XML journals read
ARTICLE = {"article.xml", "paper.pdf", "paper.docx", "paper.html", "paper.md", "main.tex"}


def media_type(name: str) -> str:
    return MEDIA_TYPES.get(PurePosixPath(name).suffix, "application/octet-stream")


def item_type(name: str, supplement: set[str]) -> str:
    """The MECA item type of one bundle file."""
    if name in ARTICLE:
        return "manuscript"
    if name.startswith("figures/"):
        return "figure"
    if name in supplement:
        return "supplementary-material"
    if name.startswith("tables/"):
        return "table"
    return "data"


def manifest_xml(names: list[str], title: str, supplement: set[str] = frozenset()) -> str:
    """``manifest.xml`` for the files ``names`` (paths inside the zip); one item per file, the
    article's formats first, same names -> same bytes."""
    order = {"manuscript": 0, "supplementary-material": 1, "table": 2, "figure": 3, "data": 4}
    names = sorted(
        (n for n in names if n != "manifest.xml"),
        key=lambda n: (order[item_type(n, supplement)], n),
    )
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<manifest xmlns="https://manuscriptexchange.org/schema/manifest"'
        ' xmlns:xlink="http://www.w3.org/1999/xlink" manifest-version="1">',
    ]
    for i, name in enumerate(names, 1):
        kind = item_type(name, supplement)
        lines += [
            f'  <item id="item-{i}" type="{kind}">',
            f"    <item-title>{escape(title if kind == 'manuscript' else name)}</item-title>",
            f"    <instance media-type={quoteattr(media_type(name))} xlink:href={quoteattr(name)}/>",
            "  </item>",
        ]
    lines.append("</manifest>")
    return "\n".join(lines) + "\n"
