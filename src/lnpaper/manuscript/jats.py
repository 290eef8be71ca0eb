"""The article as JATS XML (Journal Article Tag Suite, the XML journals that take MECA packages
read), written by pandoc's JATS Archiving writer from the same filled text as every other format.

- front matter: the title, the authors (``contrib``), the abstract and the keywords
  (``kwd-group``) of the metadata block (``lnpaper.manuscript.front``);
- the body: sections, every table as ``table-wrap`` with its caption, every figure as ``fig``
  whose ``graphic`` names a file the bundle carries, equations as MathML;
- the cited references of the metadata block as the ``ref-list`` in ``back``, each a
  ``mixed-citation`` in the paper's citation style (citeproc), citations as text.
"""

from __future__ import annotations

from lnpaper.manuscript.front import dump_block, split_front


def _drop_traces(text: str) -> str:
    """Captions' provenance spans ``[...]{.trace title="..."}`` removed: their links lead to a
    local MLflow UI and to files of the checkout, nothing a journal's reader can open."""
    while (end := text.find("]{.trace")) >= 0:
        depth, start = 0, end
        while start > 0:  # back to the span's opening bracket
            start -= 1
            depth += {"]": 1, "[": -1}.get(text[start], 0)
            if depth < 0:
                break
        close = text.index("}", text.index('"', text.index('title="', end) + 7) + 1)
        text = text[:start].rstrip(" ") + text[close + 1 :]
    return text


def _plain_numbers(markdown: str) -> str:
    """A quoted number (``[[value](run link)]{.num ...}``, ``diff.NUMBER``) keeps its value."""
    from lnpaper.manuscript.diff import NUMBER, printed

    return _drop_traces(NUMBER.sub(printed, markdown))


def jats_xml(markdown: str, language: str) -> str:
    """The filled paper (with its metadata block) as a standalone JATS article."""
    import pypandoc

    meta, text = split_front(markdown)
    meta = {**meta, "lang": language, "tags": meta.get("keywords") or []}
    if meta.get("abstract"):
        meta["abstract"] = _plain_numbers(str(meta["abstract"]))
    # the metadata block again, its numbers plain, so pandoc's template fills <front>
    xml = pypandoc.convert_text(
        dump_block(meta) + _plain_numbers(text),
        "jats_archiving",
        format="markdown",
        extra_args=["--standalone", "--mathml", "--wrap=none", "--citeproc"],
    )
    return xml


def check(xml: str, files: set[str]) -> list[str]:
    """What a journal's reader would miss: problems with the article's structure, one per line
    (empty: well-formed, front matter complete, every graphic present in ``files``)."""
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(xml.encode("utf-8"))
    except ET.ParseError as err:
        return [f"not well-formed XML: {err}"]
    xlink = "{http://www.w3.org/1999/xlink}href"
    problems = []
    needs = {
        "article-title": ".//front//article-title",
        "contrib": ".//front//contrib",
        "abstract": ".//front//abstract",
        "kwd": ".//front//kwd-group/kwd",
        "sec": ".//body/sec",
    }
    if "<xref" in xml or root.find(".//back//ref") is not None or "[@" in xml:
        needs["ref-list"] = ".//back/ref-list/ref"
    problems += [f"no {name}" for name, path in needs.items() if root.find(path) is None]
    problems += [
        f"graphic {g.get(xlink)} is not in the bundle"
        for g in root.iter("graphic")
        if g.get(xlink) not in files
    ]
    problems += [
        "a table without table-wrap"
        for t in root.iter("table")
        if t not in {c for w in root.iter("table-wrap") for c in w.iter("table")}
    ]
    return problems
