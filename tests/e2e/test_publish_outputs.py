"""What a preprint server and a journal receive from the tiny build: the arXiv source unpacked
alone and compiled with pdflatex (the English build's is checked the same way in test_reruns.py,
which builds it), and the JATS article in bundle.zip."""

from __future__ import annotations

import pytest
from helpers_tex import check_arxiv


@pytest.mark.slow
def test_arxiv_source_compiles_alone_with_pdflatex_and_holds_the_whole_paper(tiny_build, tmp_path):
    out = tiny_build[0] / "results/manuscript"
    counts = check_arxiv(out / "arxiv.tar.gz", out, tmp_path)
    assert counts["arxiv"] >= counts["typst"] // 2  # the supplement's tables came along


@pytest.mark.slow
def test_bundle_carries_the_article_as_jats_with_its_graphics(tiny_build):
    import zipfile

    from lnpaper.manuscript.jats import check

    with zipfile.ZipFile(tiny_build[0] / "results/manuscript/bundle.zip") as zf:
        names = set(zf.namelist())
        xml = zf.read("article.xml").decode("utf-8")
        manifest = zf.read("manifest.xml").decode("utf-8")
    assert check(xml, names) == []
    assert 'xlink:href="article.xml"' in manifest
    assert xml.count("<fig ") == len(
        [n for n in names if n.startswith("figures/") and n.endswith(".png")]
    )
