"""Front matter and citations: the metadata block carries the cited references only, an unknown
key stops the build by name, and every format pandoc writes renders the citations."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import ROOT
from lnpaper.manuscript import arxiv
from lnpaper.manuscript.front import CitationError, cited_keys, front_block, split_front

BIB = ROOT / "manuscript/references.bib"
FRONT = ROOT / "manuscript/front.vi.yaml"


def test_cited_keys_in_order_without_email_addresses():
    text = "LayerNorm [@ba2016; @xiong2020], as @welford1962 showed; mail a.b@c.org; [@ba2016]."
    assert cited_keys(text) == ["ba2016", "xiong2020", "welford1962"]


def test_the_block_holds_front_matter_and_only_the_cited_references():
    block = front_block("See [@original] and @ba2016.", FRONT, BIB)
    meta, rest = split_front(block + "Body.")
    assert rest == "Body."
    assert [r["id"] for r in meta["references"]] == ["original", "ba2016"]
    assert meta["author"] and meta["keywords"] and meta["date"]


def test_an_unknown_citation_stops_the_build_by_name():
    with pytest.raises(CitationError, match="@nosuch2099"):
        front_block("See [@nosuch2099].", FRONT, BIB)


def test_every_bibliography_entry_is_readable_and_the_front_files_match():
    from lnpaper.manuscript.front import bibliography

    items = bibliography(BIB)
    assert {"original", "ba2016", "welford1962", "wilson1927", "wu2018", "zhu2025"} <= {
        i["id"] for i in items
    }
    assert all(i.get("title") for i in items)
    import yaml

    vi, en = (
        yaml.safe_load(Path(ROOT / f"manuscript/front.{x}.yaml").read_text()) for x in ("vi", "en")
    )
    assert set(vi) == set(en) == {"author", "date", "keywords"}


def test_arxiv_source_renders_citations_authors_and_keywords():
    md = "# Giới thiệu\n\nNhư [@ba2016] đã viết.\n\n# Tài liệu tham khảo\n\n::: {#refs}\n:::\n"
    tex, _ = arxiv.latex_source(front_block(md, FRONT, BIB) + md, "vi", "T")
    assert "(Ba và c.s. 2016)" in tex and r"\bibitem[\citeproctext]{ref-ba2016}" in tex
    assert r"\author{Tên tác giả thứ nhất" in tex and "Từ khóa" in tex
    assert "<<" not in tex and arxiv.unsettable(tex) == []
