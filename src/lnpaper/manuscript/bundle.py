"""The attachable bundle: main.tex for a LaTeX editor and a reproducible zip."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from lnpaper.pipeline import io
from lnpaper.report.labels import texts

# Words main.tex writes itself, per language.
WORDS: dict = texts("latex_words")  # report/text.yaml


def latex_main(
    main_tables: list[str],
    supplement_tables: list[str],
    figures: list[str],
    captions: dict,
    language: str,
    *,
    table_tex: dict[str, str],
    numbers: list[str],
    title: str = "",
    numbering: dict[str, int] | None = None,
) -> str:
    """main.tex for XeLaTeX: the main-text tables and figures after a short results paragraph
    that uses the numbers.tex macros, then a supplement with the full tables and every macro.

    ``table_tex``: each table's .tex source (to_latex says there whether it is a longtable and
    which page it is set for); ``numbers``: the macro names numbers.tex defines; ``title``: the
    paper's, from its front file; ``numbering``: the paper's number of each table and figure
    (``fill.shown_numbering``), which the captions carry as the paper's do (LaTeX's own label
    is switched off: its order here is not the paper's).
    """
    if numbering is not None:
        captions = numbered_captions(captions, numbering, language)
    words = WORDS.get(language, WORDS["en"])
    head = _preamble(words, title, numbered=numbering is not None)
    lines = [*head, _results_paragraph(words, set(numbers)), ""]
    # tables set on a page of their own (landscape) after the others and the figures, so the
    # first page is not left mostly empty before one
    from lnpaper.report.formatting import table_layout

    def landscape(t: str) -> bool:
        return table_layout(table_tex[t])["page"] == "landscape"

    for t in [t for t in main_tables if not landscape(t)]:
        lines += _table(t, captions, language, table_tex[t])
    for f in figures:
        lines += [
            r"\begin{figure}[htbp]\centering",
            rf"\includegraphics[width=3.5in]{{figures/{f}.pdf}}",
            f"\\caption{{{_caption(captions, 'figure', f, language)}}}\\label{{fig:{f}}}",
            r"\end{figure}",
        ]
    for t in [t for t in main_tables if landscape(t)]:
        lines += _table(t, captions, language, table_tex[t])
    lines += [r"\clearpage", r"\appendix"]
    if supplement_tables:
        lines.append(f"\\section*{{{words['supplement']}}}")
        for t in supplement_tables:
            lines += _table(t, captions, language, table_tex[t])
    return "\n".join([*lines, *_macro_table(words, numbers)]) + "\n"


def _macro_table(words: dict, numbers: list[str]) -> list[str]:
    """The closing section of main.tex: every numbers.tex macro with its value."""
    return [
        f"\\section*{{{words['numbers']}}}\\label{{sec:numbers}}",
        r"\begin{longtable}{ll}",
        r"\toprule",
        f"{words['macro']} & {words['value']} \\\\",
        r"\midrule\endhead",
        r"\bottomrule\endfoot",
        *[f"\\texttt{{\\textbackslash {n}}} & \\{n} \\\\" for n in numbers],
        r"\end{longtable}",
        r"\end{document}",
    ]


def numbered_captions(captions: dict, numbering: dict[str, int], language: str) -> dict:
    """The captions with the paper's "Table 3: " / "Hình 2: " in front, in ``language``."""
    from lnpaper.manuscript.numbering import labelled

    out = {}
    for key, c in captions.items():
        kind, _, name = key.partition(":")
        text = c.get(language) or c.get("en") or name
        out[key] = {language: labelled(text, kind, name, numbering, language)}
    return out


def _caption(captions: dict, kind: str, name: str, language: str) -> str:
    """A caption for LaTeX: its $math$ passes through, the rest is escaped."""
    from lnpaper.report.formatting import tex_escape

    c = captions.get(f"{kind}:{name}", {})
    text = c.get(language) or c.get("en") or name
    parts = re.split(r"(\$[^$]+\$)", text)
    return "".join(p if p.startswith("$") else tex_escape(p) for p in parts)


def _table(name: str, captions: dict, language: str, tex: str) -> list[str]:
    """One table of main.tex: a float, a centred longtable, or a landscape page, as its .tex
    says it was laid out."""
    from lnpaper.report.formatting import PAGE_WIDTH_EM, TABLE_PT, table_layout

    layout = table_layout(tex)
    # \small (9 pt) where the table still fits the page at that size, else 8 pt
    roomy = layout["width_em"] * 9 / TABLE_PT <= PAGE_WIDTH_EM["portrait"]
    size = r"\small" if layout["page"] == "portrait" and roomy else r"\footnotesize"
    caption = f"\\captionof{{table}}{{{_caption(captions, 'table', name, language)}}}"
    body = [
        f"\\tablefont{size}",
        f"{caption}\\label{{tab:{name}}}",
        f"\\input{{tables/{name}.tex}}",
    ]
    if layout["page"] == "landscape":
        return [r"\begin{landscape}\centering", *body, r"\end{landscape}"]
    if layout["env"] == "longtable":
        return ["{\\centering", *body, r"\par}"]
    return [r"\begin{table}[htbp]\centering", *body, r"\end{table}"]


def _results_paragraph(words: dict, macros: set[str]) -> str:
    """The short paragraph before the tables: the seed and eps, as numbers.tex macros."""
    if "Seed" not in macros:
        return ""
    paragraph = words["seed"].format(Seed=r"\Seed{}")
    if "LnEps" in macros:
        paragraph += words["eps"].format(LnEps=r"\LnEps{}")
    return paragraph + words["list"].format()


def _preamble(words: dict, title: str, numbered: bool = False) -> list[str]:
    """main.tex up to the results heading: packages, fonts, numbers.tex, the title (the front
    file's, ``lnpaper.manuscript.front``)."""
    from lnpaper.report.formatting import tex_escape

    return [
        "% Compile with XeLaTeX: latexmk -xelatex main.tex (or xelatex main.tex, twice).",
        r"\documentclass[10pt]{article}",
        r"\usepackage[a4paper,margin=2.5cm]{geometry}",
        r"\usepackage{fontspec}",
        "% DejaVu Serif has every letter the captions and tables use (Vietnamese, Greek) and a",
        "% condensed cut for tables; symbols are written as math, so any Unicode font also works.",
        r"\IfFontExistsTF{DejaVu Serif}{\setmainfont{DejaVu Serif}}{}",
        r"\IfFontExistsTF{DejaVu Serif Condensed}"
        r"{\newfontfamily\tablefont{DejaVu Serif Condensed}}{\let\tablefont\relax}",
        r"\usepackage{amsmath}",
        r"\usepackage{array}",
        r"\usepackage{booktabs}",
        r"\usepackage{longtable}",
        r"\usepackage{pdflscape}",
        r"\usepackage{caption}",
        # the captions carry the paper's own "Table 3: " (numbered): no second label
        *([r"\captionsetup{labelformat=empty,labelsep=none}"] if numbered else []),
        r"\usepackage{graphicx}",
        f"\\renewcommand{{\\tablename}}{{{words['table']}}}",
        f"\\renewcommand{{\\figurename}}{{{words['figure']}}}",
        r"\input{numbers.tex}",
        f"\\title{{{tex_escape(title)}}}",
        r"\date{}",
        r"\begin{document}",
        r"\maketitle",
        f"\\section*{{{words['results']}}}",
    ]


def write_bundle(zip_path: Path, files: dict[str, Path | bytes]) -> None:
    """Zip with fixed timestamps and sorted names: same files, same bytes."""
    with io.atomic_path(zip_path) as tmp:
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
            for arcname in sorted(files):
                content = files[arcname]
                data = content if isinstance(content, bytes) else Path(content).read_bytes()
                info = zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0))
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, data)
