"""The arXiv source: the filled paper as one pdfLaTeX document, packed so that it compiles alone.

arXiv (and most journals' TeX pipelines) compile with pdfLaTeX, which reads UTF-8 through
inputenc and sets only the characters its font encodings declare. The filled Markdown is the
same text the HTML and Typst PDF are made from; pandoc turns it into LaTeX, and what pdfLaTeX
cannot set (Greek letters in text, superscript digits, the minus sign, check marks, a combining
circumflex) is mapped to LaTeX commands here, so no character is dropped or stops the build.
Both languages use the T5 font encoding (vntex's Type 1 Computer Modern): it carries every Latin
letter and the Vietnamese ones, so a Vietnamese title quoted in the English paper sets too, and
no font is drawn as a bitmap. babel sets each language's hyphenation and words.
"""

from __future__ import annotations

import gzip
import io as _io
import re
import tarfile
import unicodedata
from pathlib import Path

from lnpaper.pipeline import io
from lnpaper.report.labels import texts

# the document around the body, as the repository ships it (manuscript/arxiv.tex)
DEFAULT_PREAMBLE = Path(__file__).parents[3] / "manuscript" / "arxiv.tex"

# babel's name of each paper language
BABEL = {"vi": "vietnamese", "en": "english"}

_MATH = {
    "α": r"\alpha",
    "β": r"\beta",
    "γ": r"\gamma",
    "δ": r"\delta",
    "ε": r"\varepsilon",
    "ϵ": r"\epsilon",
    "η": r"\eta",
    "θ": r"\theta",
    "λ": r"\lambda",
    "μ": r"\mu",
    "ν": r"\nu",
    "π": r"\pi",
    "ρ": r"\rho",
    "σ": r"\sigma",
    "τ": r"\tau",
    "φ": r"\varphi",
    "χ": r"\chi",
    "ψ": r"\psi",
    "ω": r"\omega",
    "Γ": r"\Gamma",
    "Δ": r"\Delta",
    "Θ": r"\Theta",
    "Λ": r"\Lambda",
    "Σ": r"\Sigma",
    "Φ": r"\Phi",
    "Ω": r"\Omega",
    "−": "-",
    "√": r"\surd",
    "≈": r"\approx",
    "≠": r"\neq",
    "≤": r"\leq",
    "≥": r"\geq",
    "∇": r"\nabla",
    "∞": r"\infty",
    "∈": r"\in",
    "∉": r"\notin",
    "∑": r"\sum",
    "∏": r"\prod",
    "∂": r"\partial",
    "→": r"\to",
    "←": r"\leftarrow",
    "↔": r"\leftrightarrow",
    "⇒": r"\Rightarrow",
    "∝": r"\propto",
    "∼": r"\sim",
    "≪": r"\ll",
    "≫": r"\gg",
    "⋅": r"\cdot",
    "∣": r"\mid",
    "‖": r"\|",
    "∅": r"\emptyset",
    "∀": r"\forall",
    "∃": r"\exists",
    "ℝ": r"\mathbb{R}",
    "×": r"\times",
    "±": r"\pm",
    "·": r"\cdot",
    "⊙": r"\odot",
}
_TEXT = {
    "✓": r"\ensuremath{\checkmark}",
    "✔": r"\ensuremath{\checkmark}",
    "✗": r"\ensuremath{\times}",
    "✘": r"\ensuremath{\times}",
    "…": r"\dots{}",
    "\u00a0": "~",
    "\u2009": r"\,",
    "\u202f": r"\,",
    "\u200b": "",
    "′": r"\ensuremath{'}",
}
_SUPER = dict(zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺ⁿⁱ", "0123456789-+ni", strict=True))
_SUB = dict(zip("₀₁₂₃₄₅₆₇₈₉₋₊ₙᵢ", "0123456789-+ni", strict=True))
# accents pdfLaTeX composes from a base letter (Vietnamese tone and vowel marks among them)
_COMBINING = {"\u0302": r"\hat", "\u0303": r"\tilde", "\u0304": r"\bar", "\u0307": r"\dot"}


def _run(chars: str, table: dict[str, str], mark: str) -> str:
    return r"\ensuremath{" + mark + "{" + "".join(table[c] for c in chars) + "}}"


def map_unicode(tex: str) -> str:
    """LaTeX with every character pdfLaTeX cannot set replaced by a command that sets it.

    Runs of superscript or subscript characters become one ``^{..}`` / ``_{..}`` group
    (``10⁻⁸`` -> ``10\\ensuremath{^{-8}}``); a letter followed by a combining accent becomes the
    accented math letter; math symbols work inside and outside math through ``\\ensuremath``."""
    tex = re.sub(
        "([A-Za-z])([" + "".join(_COMBINING) + "])",
        lambda m: r"\ensuremath{" + _COMBINING[m.group(2)] + "{" + m.group(1) + "}}",
        tex,
    )
    tex = re.sub("[" + "".join(_SUPER) + "]+", lambda m: _run(m.group(0), _SUPER, "^"), tex)
    tex = re.sub("[" + "".join(_SUB) + "]+", lambda m: _run(m.group(0), _SUB, "_"), tex)
    out = []
    for c in tex:
        if c in _MATH:
            out.append(r"\ensuremath{" + _MATH[c] + "}")
        elif c in _TEXT:
            out.append(_TEXT[c])
        else:
            out.append(c)
    return "".join(out)


# punctuation inputenc declares for T1/T5 (LaTeX's utf8 definitions)
_SETTABLE_PUNCT = set("–—‘’“”«»§¶°©®¡¿£€")


def unsettable(tex: str) -> list[str]:
    """Characters of ``tex`` that pdfLaTeX with T1/T5 and utf8 inputenc cannot set: anything
    not ASCII that is neither a Latin letter (with the accents Vietnamese and Western European
    languages use) nor punctuation the encodings declare. Empty after ``map_unicode``."""
    bad = set()
    for c in set(tex):
        if ord(c) < 128 or c in _SETTABLE_PUNCT:
            continue
        base = unicodedata.normalize("NFD", c)
        if c in "đĐơƠưƯßæÆøØœŒåÅ" or (
            unicodedata.category(c).startswith("L") and base[0].isascii() and len(base) > 1
        ):
            continue
        bad.add(c)
    return sorted(bad)


_LOCAL = re.compile(r"https?://(?:127\.0\.0\.1|localhost|\[::1\])[:/]")


def _group(tex: str, start: int) -> int:
    """Index just past the brace group opening at ``tex[start]``."""
    depth, i = 0, start
    while i < len(tex):
        if tex[i] == "\\":
            i += 2
            continue
        depth += {"{": 1, "}": -1}.get(tex[i], 0)
        i += 1
        if depth == 0:
            return i
    return i


def _unlink_local(tex: str) -> str:
    """Links to a local MLflow UI or to a file of the checkout (``../../src/...``) lead nowhere
    from an arXiv page: keep their text only. Web links stay."""
    out, pos = [], 0
    while (at := tex.find("\\href{", pos)) >= 0:
        url_end = _group(tex, at + 5)
        text_end = _group(tex, url_end)
        out.append(tex[pos:at])
        url = tex[at + 6 : url_end - 1]
        if _LOCAL.match(url) or not re.match(r"https?://", url):
            out.append(tex[url_end:text_end])
        else:
            out.append(tex[at:text_end])
        pos = text_end
    out.append(tex[pos:])
    return "".join(out)


def _breakable_tables(tex: str) -> str:
    """Long file lists in table cells (``results/experiments/a/b.parquet;...``) may break after
    each ``/`` and ``;``: a cell's width is a fraction of the line, and a path has no spaces."""

    def breakable(m: re.Match) -> str:
        return re.sub(r"(?<=[^\s\\])([/;])(?=[^\s/])", r"\1\\allowbreak{}", m.group(0))

    return re.sub(r"\\begin\{longtable\}.*?\\end\{longtable\}", breakable, tex, flags=re.S)


_TABLE_MARK = "LNPAPERTABLE{}X"


def _lift_tables(markdown: str, tables: dict[str, dict[str, str]]) -> tuple[str, list]:
    """Each result table of the paper (its Markdown as filled in, then its ``: caption`` line)
    replaced by a marker paragraph; returns the text and, per marker, (name, caption Markdown).

    The tables then come from their own LaTeX (``to_latex``: widths, long tables and landscape
    pages chosen for print), not from pandoc's equal-width columns."""
    lifted = []
    for name, t in tables.items():
        pattern = re.escape(t["md"].rstrip()) + r"\n\n: ([^\n]*)"
        m = re.search(pattern, markdown)
        if m is None:  # a table the paper does not show (or shows as a note)
            continue
        lifted.append((name, m.group(1)))
        marker = _TABLE_MARK.format(len(lifted) - 1)
        markdown = markdown[: m.start()] + marker + markdown[m.end() :]
    return markdown, lifted


def _table_block(name: str, caption: str, tex: str) -> str:
    """A table of the paper as bundle.tex lays it out: a float, a long table across pages, or a
    landscape page, as to_latex decided."""
    from lnpaper.report.formatting import table_layout

    layout = table_layout(tex)
    body = [r"\footnotesize", f"\\captionof{{table}}{{{caption}}}\\label{{tab:{name}}}"]
    body.append(f"\\input{{tables/{name}.tex}}")
    if layout["page"] == "landscape":
        return "\n".join([r"\begin{landscape}\centering", *body, r"\end{landscape}"])
    if layout["env"] == "longtable":
        return "\n".join(["{\\centering", *body, r"\par}"])
    return "\n".join([r"\begin{table}[htbp]\centering", *body, r"\end{table}"])


def _to_latex(markdown: str, language: str | None = None) -> str:
    """Body LaTeX of Markdown; with a ``language``, citations and the reference list rendered
    in it from the references of its metadata block (no BibTeX run needed, as arXiv prefers)."""
    return _abstract_and_body(markdown, language)[1]


# pandoc's template for the paper's LaTeX: the metadata block's abstract, then the body
_ABSTRACT_END = "LNPAPERABSTRACTEND"
_TEMPLATE = f"$if(abstract)$$abstract$$endif$\n{_ABSTRACT_END}\n$body$\n"


def _abstract_and_body(markdown: str, language: str | None = None) -> tuple[str, str]:
    """(abstract, body) as LaTeX, from one pandoc run: the abstract of the metadata block is
    Markdown with citations like the body's (``_to_latex``)."""
    import tempfile

    import pypandoc

    # wide pipe tables that stay in the text get wrapping columns (pandoc's --columns default)
    args = ["--wrap=preserve"]
    if language:
        args += ["--citeproc", "--metadata", f"lang={language}"]
    with tempfile.TemporaryDirectory() as tmp:
        template = Path(tmp) / "abstract-body.latex"
        template.write_text(_TEMPLATE, encoding="utf-8")
        args += [f"--template={template}"]
        out = pypandoc.convert_text(markdown, "latex", format="markdown", extra_args=args)
    abstract, _, body = out.partition(f"{_ABSTRACT_END}\n")
    return abstract.strip(), body


def latex_source(
    markdown: str,
    language: str,
    tables: dict[str, dict[str, str]] | None = None,
    preamble: str | None = None,
) -> tuple[str, dict[str, str]]:
    """The whole filled paper as a standalone pdfLaTeX document, and the table files it inputs
    (``tables/<name>.tex``); figures are read from ``figures/<name>.pdf``. ``tables``: name ->
    {md, tex}, the Markdown the paper shows and the table's LaTeX; ``preamble``: the document
    around the body (``manuscript/arxiv.tex``, a user's to edit; its fields are ``<<BABEL>>``,
    ``<<TITLE>>``, ``<<AUTHOR>>``, ``<<DATE>>``, ``<<ABSTRACT>>``, ``<<KEYWORDS>>``,
    ``<<KEYWORDS_LINE>>`` and ``<<BODY>>``). The title, authors, date, abstract and keywords are
    those of the Markdown's metadata block (``lnpaper.manuscript.front``)."""
    markdown = re.sub(r"\(figures/([^)\s]+)\.png\)", r"(figures/\1.pdf)", markdown)
    markdown, lifted = _lift_tables(markdown, tables or {})
    abstract, body = _abstract_and_body(markdown, language)
    if lifted:  # the captions in one pandoc run, split again at a marker paragraph
        sep = "\n\nLNPAPERCAPTIONBREAK\n\n"
        captions = _to_latex(sep.join(c for _, c in lifted)).split("LNPAPERCAPTIONBREAK")
        for i, ((name, _), caption) in enumerate(zip(lifted, captions, strict=True)):
            block = _table_block(name, caption.strip(), tables[name]["tex"])
            body = body.replace(_TABLE_MARK.format(i), block, 1)
    body = map_unicode(_breakable_tables(_unlink_local(body)))
    preamble = preamble if preamble is not None else DEFAULT_PREAMBLE.read_text(encoding="utf-8")
    from lnpaper.manuscript.front import split_front
    from lnpaper.report.formatting import tex_escape

    meta = split_front(markdown)[0]
    authors = [map_unicode(tex_escape(str(a))) for a in meta.get("author") or []]
    fields = {
        "BABEL": BABEL[language],
        "TITLE": map_unicode(tex_escape(str(meta.get("title") or ""))),
        "AUTHOR": r" \and ".join(authors),
        "DATE": map_unicode(tex_escape(str(meta.get("date") or ""))),
        "KEYWORDS": map_unicode(tex_escape(", ".join(map(str, meta.get("keywords") or [])))),
    }
    label = texts("latex_words")[language]["keywords"]
    fields["KEYWORDS_LINE"] = (
        f"\\begin{{center}}\\small\\textit{{{label}}}: {fields['KEYWORDS']}\\end{{center}}"
        if fields["KEYWORDS"]
        else ""
    )
    fields["ABSTRACT"] = (
        f"\\begin{{abstract}}\n{map_unicode(_unlink_local(abstract))}\n\\end{{abstract}}"
        if abstract
        else ""
    )
    if "<<ABSTRACT>>" not in preamble:  # a preamble made before the field: the body's start
        body = fields["ABSTRACT"] + "\n\n" + body
    for key, value in fields.items():
        preamble = preamble.replace(f"<<{key}>>", value)
    files = {f"tables/{name}.tex": map_unicode(tables[name]["tex"]) for name, _ in lifted}
    return preamble.replace("<<BODY>>", body), files


def figure_names(tex: str) -> list[str]:
    """The figure files a LaTeX source includes, in order."""
    return re.findall(r"\\includegraphics(?:\[[^\]]*\])?\{(figures/[^}]+)\}", tex)


def tar_bytes(files: dict[str, bytes]) -> bytes:
    """A .tar.gz of ``files`` that is the same bytes for the same content: sorted names, no
    owner, time 0 (arXiv reads only the names and contents)."""
    raw = _io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for name in sorted(files):
            info = tarfile.TarInfo(name)
            info.size, info.mtime, info.mode = len(files[name]), 0, 0o644
            tar.addfile(info, _io.BytesIO(files[name]))
    out = _io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", mtime=0, filename="") as gz:
        gz.write(raw.getvalue())
    return out.getvalue()


def write_arxiv(
    markdown: str,
    figures_dir: Path,
    language: str,
    out_path: Path,
    tables: dict[str, dict[str, str]] | None = None,
    preamble: str | None = None,
) -> dict:
    """``out_path``: main.tex, the tables and the figures it includes. ``tables``: name ->
    {md, tex} file paths of the result tables. Returns counts for the log."""
    texts = {
        n: {k: Path(f).read_text(encoding="utf-8") for k, f in t.items() if k in ("md", "tex")}
        for n, t in (tables or {}).items()
    }
    tex, table_files = latex_source(markdown, language, texts, preamble)
    bad = unsettable(tex + "".join(table_files.values()))
    if bad:
        raise ValueError(
            "the LaTeX source has characters pdfLaTeX cannot set: "
            + " ".join(f"{c} (U+{ord(c):04X})" for c in bad)
            + "; map them in lnpaper.manuscript.arxiv"
        )
    files = {"main.tex": tex.encode("utf-8")}
    files.update({n: t.encode("utf-8") for n, t in table_files.items()})
    for name in figure_names(tex):
        files[name] = (figures_dir / Path(name).name).read_bytes()
    io.write_bytes(tar_bytes(files), out_path)
    return {
        "files": len(files),
        "tables": len(table_files),
        "figures": len(files) - 1 - len(table_files),
        "bytes": out_path.stat().st_size,
    }
