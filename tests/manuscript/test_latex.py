"""The LaTeX bundle: table layout (never scaled), symbols as math, and main.tex listing every
table and macro (e2e/test_latex_compile.py compiles it with a real XeLaTeX)."""

from __future__ import annotations

import re

import pandas as pd

from lnpaper.manuscript.bundle import latex_main
from lnpaper.report import formatting
from lnpaper.report.formatting import table_layout, tex_escape, to_latex


def test_symbols_are_written_as_math_so_english_tables_are_ascii():
    assert tex_escape("‖∇W₁‖") == r"$\|\nabla W_{1}\|$"
    assert tex_escape("σ/√(σ²+ε)") == r"$\sigma$/$\surd$($\sigma^{2}$+$\varepsilon$)"
    assert tex_escape("x̂ = (x − μ)") == r"$\hat{x}$ = (x $-$ $\mu$)"
    assert tex_escape("a_b & 5% ≈ 1") == r"a\_b \& 5\% $\approx$ 1"
    assert tex_escape("Độ lệch") == "Độ lệch"  # letters stay for the text font
    for ch in formatting.TEX_MATH:
        assert tex_escape(f"a {ch} b").isascii(), ch


def _frame(rows: int, cols: int) -> pd.DataFrame:
    data = {"condition": [f"case {i}" for i in range(rows)]}
    data |= {
        f"metric_{j}": [1.234567e-5 * (i + 1) * (j + 1) for i in range(rows)] for j in range(cols)
    }
    return pd.DataFrame(data)


def test_small_table_is_a_tabular_on_a_portrait_page():
    tex = to_latex(_frame(5, 3), "en")
    assert table_layout(tex)["env"] == "tabular" and table_layout(tex)["page"] == "portrait"
    assert table_layout(tex)["width_em"] <= formatting.PAGE_WIDTH_EM["portrait"]
    assert tex.count(r"\begin{tabular}{lrrr}") == 1 and "resizebox" not in tex


def test_long_table_is_a_longtable_repeating_its_header():
    tex = to_latex(_frame(formatting.LONG_LINES + 10, 3), "en")
    assert table_layout(tex)["env"] == "longtable"
    header = tex.split(r"\toprule")[1].split(r"\midrule")[0]
    again = tex.split(r"\endfirsthead")[1].split(r"\endhead")[0]
    assert "0" in header and header in again  # the header, again, on every later page
    assert tex.count(r"\\") == (formatting.LONG_LINES + 10) + 2 + 1  # rows, 2 headers, the "..."


def test_too_wide_table_is_split_into_parts_that_repeat_the_key_column():
    df = _frame(4, 40)
    tex = to_latex(df, "en")
    layout = table_layout(tex)
    assert layout["page"] == "landscape"
    assert layout["width_em"] <= formatting.PAGE_WIDTH_EM["landscape"]
    parts = re.findall(r"\\begin\{tabular\}\{(\w+)\}", tex)
    assert len(parts) >= 2 and all(p.startswith("l") for p in parts)  # key column in each
    assert sum(len(p) - 1 for p in parts) == 40  # every metric column exactly once
    assert tex.count("case 3") == len(parts) and "resizebox" not in tex


def test_main_tex_puts_supplement_tables_after_the_appendix_and_lists_every_macro():
    tex = {t: to_latex(_frame(3, 2), "en") for t in ("a", "b")}
    main = latex_main(["a"], ["b"], [], {}, "en", table_tex=tex, numbers=["Seed", "LnEps"])
    body = main.split(r"\appendix")
    assert r"\input{tables/a.tex}" in body[0] and r"\input{tables/b.tex}" in body[1]
    assert r"\Seed{}" in body[0] and r"\LnEps{}" in body[0]  # the results paragraph
    assert r"& \Seed \\" in body[1] and r"& \LnEps \\" in body[1]
    assert "resizebox" not in main


def test_main_tex_sets_landscape_tables_after_the_figures_so_page_one_is_full():
    tex = {"wide": to_latex(_frame(4, 40), "en"), "small": to_latex(_frame(3, 2), "en")}
    main = latex_main(
        ["wide", "small"], [], ["f"], {}, "en", table_tex=tex, numbers=["Seed"]
    ).split(r"\appendix")[0]
    small, figure, wide = (
        main.index(s)
        for s in (r"\input{tables/small.tex}", "figures/f.pdf", r"\input{tables/wide.tex}")
    )
    assert small < figure < wide
    assert r"\begin{landscape}" in main[wide - 200 : wide]
