"""``lnpaper diff --pdf``: latexdiff between two arXiv sources marks a changed number and a
changed word, and the marked paper compiles; without the tools it says so in one line."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from lnpaper.manuscript import arxiv, diff_pdf

PAPER = """# Kết quả

Độ lệch chuẩn đo được là {std} ± 0.02 với γ = 3, β = 5; {verdict}.

| γ | std |
|---|---|
| 1 | 0.99 |
| 3 | {std} |
"""


def _source(tmp_path, name, **kw):
    out = tmp_path / name / "manuscript" / "arxiv.tar.gz"
    arxiv.write_arxiv(PAPER.format(**kw), tmp_path, "vi", out)
    return out


def _tools_or_skip():
    missing = diff_pdf.tools_missing() + (["pdftotext"] if not shutil.which("pdftotext") else [])
    if missing and os.environ.get("LNPAPER_REQUIRE_TEX"):
        pytest.fail(f"{missing} not installed")
    if missing:
        pytest.skip(
            f"{', '.join(missing)} not installed (apt-get install latexdiff texlive-lang-other poppler-utils)"
        )


def test_changed_number_and_word_are_marked_and_the_pdf_compiles(tmp_path):
    _tools_or_skip()
    old = _source(tmp_path, "a", std="2.97", verdict="khẳng định đúng")
    new = _source(tmp_path, "b", std="3.05", verdict="khẳng định sai")
    counts = diff_pdf.write_pdf_diff(old, new, tmp_path / "diff.pdf", {"3.05", "7"})
    assert counts["added"] >= 2 and counts["removed"] >= 2  # the number (twice) and the word
    assert counts["highlighted"] == 2  # 3.05 beyond noise, in the text and the table; "7" is
    # a bare integer, which also spells LaTeX arguments: left to latexdiff's colour
    # both versions are on the page: removed in red, added in blue
    pdf = tmp_path / "diff.pdf"
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "2.97" in text and "3.05" in text


def test_same_paper_has_nothing_marked(tmp_path):
    _tools_or_skip()
    a = _source(tmp_path, "a", std="2.97", verdict="đúng")
    b = _source(tmp_path, "b", std="2.97", verdict="đúng")
    counts = diff_pdf.write_pdf_diff(a, b, tmp_path / "same.pdf")
    assert (counts["added"], counts["removed"]) == (0, 0)


def test_cli_says_in_one_line_what_is_missing(tmp_path):
    (tmp_path / "a/manuscript").mkdir(parents=True)
    (tmp_path / "b/manuscript").mkdir(parents=True)
    code = (
        "import sys; from lnpaper.tools.cli import _diff_pdf; "
        f"sys.exit(_diff_pdf([{str(tmp_path / 'a')!r}, {str(tmp_path / 'b')!r}], "
        f"__import__('pathlib').Path({str(tmp_path / 'd.pdf')!r})))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 1
    assert len(proc.stderr.strip().splitlines()) == 1
    assert "arxiv.tar.gz" in proc.stderr or "not installed" in proc.stderr


def test_highlight_wraps_whole_numbers_of_the_body_only():
    tex = "\\setlength{\\x}{3.05pt}\n\\begin{document}\n3.05 and 13.05 and 3.051, −3.05\n"
    out, n = diff_pdf._highlight(tex, {"3.05"})
    assert n == 2 and out.count(r"\lnsig{3.05}") == 2
    assert out.startswith("\\setlength{\\x}{3.05pt}")  # the preamble untouched
    assert "13.05" in out and "3.051" in out
