"""The arXiv source: every character pdfLaTeX cannot set is mapped, links to a local MLflow UI
lose their target, the tarball is the same bytes for the same input."""

from __future__ import annotations

import gzip
import io
import tarfile

import pytest

from lnpaper.manuscript import arxiv

# what pandoc's LaTeX of the filled Vietnamese paper stopped pdfLaTeX on, before the mapping
STOPPED_PDFLATEX = "− ✓ ✗ ⁻ ⁰ ⁵ ⁶ ⁷ ⁸ ⁹ ₁ ₂ ε σ β γ Γ Δ μ √ ≈ ∇ ∞ x\u0302"


def test_every_character_that_stopped_pdflatex_is_mapped():
    assert arxiv.unsettable(STOPPED_PDFLATEX)  # the check sees them before mapping
    mapped = arxiv.map_unicode(STOPPED_PDFLATEX)
    assert arxiv.unsettable(mapped) == []
    assert r"\ensuremath{\hat{x}}" in mapped
    assert r"\ensuremath{\sigma}" in mapped


def test_superscript_runs_become_one_exponent_and_letters_stay():
    assert arxiv.map_unicode("10⁻⁸ và 2₁₂") == r"10\ensuremath{^{-8}} và 2\ensuremath{_{12}}"
    vietnamese = "Chuẩn hoá lớp: độ lệch chuẩn ước lượng, Đ ơ ư"
    assert arxiv.map_unicode(vietnamese) == vietnamese
    assert arxiv.unsettable(vietnamese) == []


def test_unknown_symbols_are_reported_not_dropped():
    assert arxiv.unsettable("a ★ b ⊗ c") == ["⊗", "★"]


def test_links_to_a_local_ui_or_a_checkout_file_keep_their_text_only():
    tex = (
        r"see \href{http://127.0.0.1:5000/\#/runs/ab{c}}{\emph{0.5}} and "
        r"\href{https://arxiv.org/abs/1607.06450}{Ba} from \href{../../src/a.py}{a.py}"
    )
    out = arxiv._unlink_local(tex)
    assert out == r"see {\emph{0.5}} and \href{https://arxiv.org/abs/1607.06450}{Ba} from {a.py}"


def test_latex_source_is_a_whole_document_with_pdf_figures():
    md = (
        "---\ntitle: Tiêu đề\nabstract: |\n  Tóm tắt với [[42](http://127.0.0.1:5000/#/x)]{.num}"
        " và σ.\n\n  Đoạn hai.\n---\n\n"
        "# Kết quả\n\nĐộ lệch $\\sigma \\approx 1$, tức σ ≈ 1 (10⁻⁸).\n\n"
        "![Hình](figures/grad_norms.png){width=3.5in}\n\n"
        "| a | b |\n|---|---|\n| 1 | −2 |\n"
    )
    tex, files = arxiv.latex_source(md, "vi")
    assert files == {}  # no result table given: pandoc sets the small one
    assert tex.startswith("%") and tex.rstrip().endswith(r"\end{document}")
    assert r"\usepackage[vietnamese]{babel}" in tex
    assert arxiv.figure_names(tex) == ["figures/grad_norms.pdf"]
    assert r"\section{Kết quả}" in tex and r"\title{Tiêu đề}" in tex
    # the metadata block's abstract, set by LaTeX as one, after the title, its run link dropped
    abstract = tex[tex.index(r"\begin{abstract}") : tex.index(r"\end{abstract}")]
    assert "Tóm tắt với {{42}}" in abstract and "Đoạn hai." in abstract
    assert r"\ensuremath{\sigma}" in abstract and "127.0.0.1" not in tex
    assert tex.index(r"\maketitle") < tex.index(r"\begin{abstract}") < tex.index(r"\section")
    assert arxiv.unsettable(tex) == []
    assert "<<" not in tex  # every template field filled
    assert r"\usepackage[english]{babel}" in arxiv.latex_source(md, "en")[0]
    # a preamble without the abstract's field (made before it) still sets the abstract
    old = "\\begin{document}\n<<BODY>>\n\\end{document}\n"
    kept = arxiv.latex_source(md, "vi", preamble=old)[0]
    assert kept.index(r"\begin{abstract}") < kept.index(r"\section{Kết quả}")


def test_result_tables_are_set_from_their_own_latex_with_their_caption():
    import pandas as pd

    from lnpaper.report.formatting import to_latex, to_markdown

    df = pd.DataFrame({"gamma": [1.0, 2.0], "std": [0.99, 1.98]})
    table = {"md": to_markdown(df, "en"), "tex": to_latex(df, "en")}
    md = f"Before.\n\n{table['md'].rstrip()}\n\n: Output std per $\\gamma$ [trace]{{.trace}}\n\nAfter.\n"
    tex, files = arxiv.latex_source(md, "en", {"affine_grid": table, "absent": table})
    assert list(files) == ["tables/affine_grid.tex"]  # each table once, where the paper has it
    assert files["tables/affine_grid.tex"] == arxiv.map_unicode(table["tex"])
    assert r"\input{tables/affine_grid.tex}" in tex
    caption = tex[tex.index(r"\captionof{table}{") :].split("\n")[0]
    assert r"\(\gamma\)" in caption and "trace" in caption
    assert tex.index("Before.") < tex.index(r"\input{tables/affine_grid") < tex.index("After.")
    assert r"\begin{longtable}" not in tex.split(r"\begin{document}")[1]  # pandoc made none


def test_tarball_is_deterministic_and_holds_only_relative_names():
    files = {"main.tex": b"x", "figures/a.pdf": b"%PDF"}
    first, second = arxiv.tar_bytes(files), arxiv.tar_bytes(dict(reversed(files.items())))
    assert first == second
    with tarfile.open(fileobj=io.BytesIO(first)) as tar:
        members = tar.getmembers()
    assert [m.name for m in members] == ["figures/a.pdf", "main.tex"]
    assert {(m.mtime, m.uid, m.uname) for m in members} == {(0, 0, "")}
    assert gzip.decompress(first)  # a valid gzip stream


def test_write_arxiv_packs_the_figures_it_includes(tmp_path):
    (tmp_path / "figures").mkdir()
    (tmp_path / "figures/f.pdf").write_bytes(b"%PDF-1.5 f")
    (tmp_path / "figures/unused.pdf").write_bytes(b"%PDF-1.5 u")
    out = tmp_path / "arxiv.tar.gz"
    counts = arxiv.write_arxiv("![F](figures/f.png)\n", tmp_path / "figures", "en", out)
    assert (counts["figures"], counts["tables"]) == (1, 0)
    with tarfile.open(out) as tar:
        assert sorted(tar.getnames()) == ["figures/f.pdf", "main.tex"]
    with pytest.raises(ValueError, match="U\\+2605"):
        arxiv.write_arxiv("a ★ b\n", tmp_path / "figures", "en", out)
