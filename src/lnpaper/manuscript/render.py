"""Render the filled Markdown: HTML (pandoc, self-contained) and PDF (pandoc -> Typst).

The title, authors, date, abstract and keywords come from the metadata block at the top of the
filled Markdown (``lnpaper.manuscript.front``): pandoc's templates put them where each format
shows them (the HTML header and ``<title>``, the Typst title block, the docx title page)."""

from __future__ import annotations

import re
from pathlib import Path

from lnpaper.pipeline import io

HTML_STYLE = """<style>
body { max-width: 48em; }
table { font-size: 0.75em; }
.trace { font-size: 0.8em; color: #555; }
.num a, a .num, a.num { color: inherit; text-decoration: underline dotted; }
figure img { width: 3.5in; max-width: 100%; }
blockquote { color: #555; font-style: italic; }
</style>
"""

TYPST_HEADER = """#set text(font: ("Libertinus Serif", "DejaVu Serif"))
#show figure.where(kind: table): set text(size: 8pt)
#show figure.where(kind: table): set table(inset: (x: 4pt, y: 2.5pt))
#show figure.where(kind: table): set block(breakable: true)
#show table: set par(justify: false)
#show figure.caption: set text(size: 8pt)
#set figure(numbering: none)
#show math.equation: set text(font: ("New Computer Modern Math", "DejaVu Serif"))
"""


def pandoc_args(language: str, title: str = "") -> list[str]:
    """pandoc's options for a page of ``language``; ``title`` for a page whose Markdown has no
    title of its own (the paper's is in its metadata block)."""
    # --columns: pipe tables wider than this get fixed relative widths; we want natural widths.
    # --citeproc: [@key] citations and the reference list, from the references the paper's
    # metadata block carries (lnpaper.manuscript.front)
    args = ["--standalone", "--citeproc", "--columns=100000", "--metadata", f"lang={language}"]
    return args + (["--metadata", f"title={title}"] if title else [])


def _pandoc_to_file(markdown: str, to: str, path: Path, extra_args: list[str]) -> None:
    """Markdown -> ``to`` written atomically to ``path`` (a failed run leaves no file)."""
    import pypandoc

    with io.atomic_path(path) as tmp:
        pypandoc.convert_text(
            markdown, to, format="markdown", outputfile=str(tmp), extra_args=extra_args
        )


def pandoc_html(
    markdown: str, html_path: Path, style: str, resource_dir: Path, extra_args: list[str]
) -> None:
    """Self-contained HTML from Markdown with ``style`` in the head: images embedded, math as
    MathML, nothing fetched from the network. Shared by the paper and ``lnpaper diff``."""
    header = resource_dir / f".style-{html_path.stem}.html"
    header.write_text(style, encoding="utf-8")
    try:
        extra = ["--embed-resources", "--mathml", "--include-in-header", str(header)]
        _pandoc_to_file(markdown, "html5", html_path, extra_args + extra)
    finally:
        header.unlink(missing_ok=True)


def render_html(markdown: str, html_path: Path, resource_dir: Path, language: str) -> None:
    """The paper as one self-contained HTML page."""
    args = pandoc_args(language) + [f"--resource-path={resource_dir}"]
    pandoc_html(markdown, html_path, HTML_STYLE, resource_dir, args)


END_MARKER = "\n#context [#metadata(here().page()) <lnpaper-end>]\n"


def _typst_keywords(markdown: str) -> list[str]:
    """The keywords as Typst strings: pandoc's Typst template writes them unquoted, which Typst
    cannot parse ("expected comma") as soon as one has a space."""
    import json

    from lnpaper.manuscript.front import split_front

    words = split_front(markdown)[0].get("keywords") or []
    return [
        a for w in words for a in ("-V", f"keywords={json.dumps(str(w), ensure_ascii=False)}")
    ] or [
        "-V",
        "keywords=",
    ]


def typst_source(markdown: str, language: str) -> str:
    """The Typst source of the PDF, ending with a marker that holds the last page's number."""
    import pypandoc

    return (
        pypandoc.convert_text(
            markdown,
            "typst",
            format="markdown",
            extra_args=pandoc_args(language)
            + ["-V", "papersize=a4", "-V", f"header-includes={TYPST_HEADER}"]
            + _typst_keywords(markdown),
        )
        + END_MARKER
    )


def font_paths() -> list[str]:
    """DejaVu fonts shipped with matplotlib: full Vietnamese coverage without system packages."""
    import matplotlib

    return [str(Path(matplotlib.__file__).parent / "mpl-data/fonts/ttf")]


# Where the supplement starts (``{{supplement}}`` in the template): a page break, landscape pages
# with smaller table text so the full grids fit the width, and a marker holding the page number.
SUPPLEMENT_TYPST = """```{=typst}
#pagebreak(weak: true)
#set page(flipped: true)
#show figure.where(kind: table): set text(size: 6.5pt)
#context [#metadata(here().page()) <supplement>]
```"""


def render_pdf(markdown: str, pdf_path: Path, resource_dir: Path, language: str) -> dict[str, int]:
    """PDF through Typst (installed from PyPI by the project's own set-up); returns the page
    counts ``{"total": ..., "main": ...}`` (main: the pages before the supplement)."""
    import typst

    src = resource_dir / ".paper.typ"
    src.write_text(typst_source(markdown, language), encoding="utf-8")
    try:
        with io.atomic_path(pdf_path) as tmp:
            typst.compile(
                str(src), output=str(tmp), root=str(resource_dir), font_paths=font_paths()
            )
        return page_counts(src, resource_dir)
    finally:
        src.unlink(missing_ok=True)


def page_counts(src: Path, resource_dir: Path) -> dict[str, int]:
    """Total pages and pages before the supplement of a Typst source (queried from its layout)."""
    import json

    import typst

    def query(selector: str):
        return json.loads(
            typst.query(str(src), selector, root=str(resource_dir), font_paths=font_paths())
        )

    total = query("<lnpaper-end>")
    start = query("<supplement>")
    last = total[0]["value"] if total else 0
    return {"total": last, "main": (start[0]["value"] - 1) if start else last}


def render_docx(markdown: str, docx_path: Path, resource_dir: Path, language: str) -> None:
    """Word file for reviewers who comment in Word: the text, the figures (PNG), every table."""
    args = pandoc_args(language) + [f"--resource-path={resource_dir}"]
    _pandoc_to_file(markdown, "docx", docx_path, args)


def render_pages(
    markdown: str, out_pattern: str, resource_dir: Path, language: str, ppi: int = 80
) -> None:
    """PNG images of the PDF's pages (``out_pattern`` like 'page{p}.png'), to look at them."""
    import typst

    src = resource_dir / ".pages.typ"
    src.write_text(typst_source(markdown, language), encoding="utf-8")
    try:
        typst.compile(
            str(src),
            output=out_pattern,
            format="png",
            ppi=ppi,
            root=str(resource_dir),
            font_paths=font_paths(),
        )
    finally:
        src.unlink(missing_ok=True)


# The page geometry of pandoc's Typst template (A4, 1.25 in margins) and the table text sizes set
# above: what a table has to fit in, in points.
A4_PT = (595.28, 841.89)
MARGIN_PT = 1.25 * 72
CELL_INSET_PT = 4.0  # the table inset set in TYPST_HEADER, each side
TABLE_TEXT_PT = {"main": 8.0, "supplement": 6.5}


def _pipe_tables(markdown: str) -> list[tuple[str, list[list[str]]]]:
    """(part, rows of cells) of every pipe table; part is main or supplement."""
    out, rows, part = [], [], "main"
    for line in markdown.splitlines() + [""]:
        if "#set page(flipped: true)" in line:
            part = "supplement"
        if line.startswith("|"):
            if not re.fullmatch(r"\|(-+\|)+", line.strip()):
                rows.append([c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]])
        elif rows:
            out.append((part, rows))
            rows = []
    return out


def table_fit(markdown: str, resource_dir: Path) -> list[dict]:
    """For every table of the filled Markdown: the width it needs so that no column is narrower
    than its longest word (measured by Typst in the paper's font and size, plus the cell insets)
    and the text width of its page (portrait main text, landscape supplement), in points."""
    import json

    import typst

    tables = _pipe_tables(markdown)
    lines = ['#set text(font: ("Libertinus Serif", "DejaVu Serif"))']
    for i, (part, rows) in enumerate(tables):
        size = TABLE_TEXT_PT[part]
        cols = []
        for j in range(max(len(r) for r in rows)):
            # words as Typst breaks lines: at spaces, and after "/", ";" and "-" (UAX #14)
            words = {
                w
                for r in rows
                if j < len(r)
                for w in re.split(r"\s+|(?<=[/;-])", r[j].replace("`", ""))
                if w
            }
            longest = sorted(words, key=len, reverse=True)[:4] or [""]
            measures = ", ".join(
                f"measure(text(size: {size}pt, {json.dumps(w, ensure_ascii=False)})).width.pt()"
                for w in longest
            )
            cols.append(f"calc.max({measures}, 0)")
        lines.append(f"#context [#metadata(({', '.join(cols)},)) <col-{i}>]")
    src = resource_dir / ".fit.typ"
    src.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = []
    try:
        for i, (part, rows) in enumerate(tables):
            got = json.loads(
                typst.query(str(src), f"<col-{i}>", root=str(resource_dir), font_paths=font_paths())
            )
            widths = got[0]["value"]
            page_w = A4_PT[1] if part == "supplement" else A4_PT[0]
            out.append(
                {
                    "part": part,
                    "header": rows[0],
                    "needed": sum(w + 2 * CELL_INSET_PT for w in widths),
                    "available": page_w - 2 * MARGIN_PT,
                }
            )
    finally:
        src.unlink(missing_ok=True)
    return out


MEASURE_TABLES = """#show figure.where(kind: table): it => {
  layout(size => [#metadata((page: here().page(), height: measure(it, width: size.width).height.pt())) <table-height>])
  it
}
"""


def table_heights(markdown: str, resource_dir: Path, language: str = "vi") -> list[dict]:
    """Page and height (points, caption included, unbroken) of every table of the PDF, as Typst
    lays it out at the text width of its page."""
    import json

    import typst

    src = resource_dir / ".heights.typ"
    src.write_text(MEASURE_TABLES + typst_source(markdown, language), encoding="utf-8")
    try:
        got = typst.query(
            str(src), "<table-height>", root=str(resource_dir), font_paths=font_paths()
        )
    finally:
        src.unlink(missing_ok=True)
    return [m["value"] for m in json.loads(got)]


def text_height_pt() -> float:
    return A4_PT[1] - 2 * MARGIN_PT
