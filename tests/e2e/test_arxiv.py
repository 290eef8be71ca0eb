"""The arXiv source of the tiny build, unpacked alone and compiled with pdflatex (the English
build's is checked the same way in test_reruns.py, which builds it)."""

from __future__ import annotations

import pytest
from helpers_tex import check_arxiv


@pytest.mark.slow
def test_arxiv_source_compiles_alone_with_pdflatex_and_holds_the_whole_paper(tiny_build, tmp_path):
    out = tiny_build[0] / "results/manuscript"
    counts = check_arxiv(out / "arxiv.tar.gz", out, tmp_path)
    assert counts["arxiv"] >= counts["typst"] // 2  # the supplement's tables came along
